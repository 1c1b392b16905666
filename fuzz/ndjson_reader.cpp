// fuzz/ndjson_reader.cpp: the JSON lines reader (`format: ndjson` tables), with nlohmann::json as
// an independent oracle.
//
// Input: [chunk byte][limit byte] then the file's bytes.
// Checked, besides "no crash, no sanitizer report":
//   - the records, their errors and the final status are the same whether the source hands the
//     bytes over in one piece into a large buffer, or a few bytes per read into a small one;
//   - every record has one field and one quoted flag per name of field_names(); names are
//     distinct; `raw` lies inside the input at byte_offset;
//   - differential: a line the reader accepts (and that is valid UTF-8: RowConverter rejects
//     the others as an encoding problem) is, for nlohmann::json too, one object without a
//     repeated key, and each field is what that object holds (a string unescaped, a number of
//     the same value, true/false, null or a missing key as NULL, an object or array as equal
//     JSON text); and a line nlohmann reads as such an object (plain, shallow, valid UTF-8) is
//     not rejected by the reader.
#include "csv/ndjson_reader.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "chunked_source.h"
#include "fuzz_input.h"

namespace {

using nlohmann::json;
using sluice::Result;
using sluice::csv::kFieldAbsent;
using sluice::csv::kFieldQuoted;
using sluice::csv::NdjsonOptions;
using sluice::csv::NdjsonReader;
using sluice::csv::Record;
using sluice::csv::RowError;

using sluice::fuzz::ChunkedSource;

struct Copy {
  int64_t line, offset;
  std::vector<std::string> names;  // field_names() at this record
  std::vector<std::string> fields;
  std::vector<uint8_t> quoted;
  std::string raw;
  RowError error;
  bool operator==(const Copy&) const = default;
};

struct Outcome {
  std::vector<Copy> records;
  std::string status;
};

constexpr size_t kMaxRecords = 2048;

// What nlohmann sees in one line: whether it is one object, with which top-level keys, whether
// one repeats, and how deep it nests.
class Shape : public json::json_sax_t {
 public:
  bool repeated = false;
  int max_depth = 0;
  bool top_is_object = false;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    if (depth_ == 0) top_is_object = true;
    max_depth = std::max(max_depth, ++depth_);
    return true;
  }
  bool key(string_t& k) override {
    if (depth_ == 1 && !keys_.insert(k).second) repeated = true;
    return true;
  }
  bool end_object() override {
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override {
    max_depth = std::max(max_depth, ++depth_);
    return true;
  }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const json::exception& e) override {
    // 406: a number past double's range ("2e308"), valid JSON that nlohmann cannot hold.
    beyond_oracle = e.id == 406;
    return false;
  }
  bool beyond_oracle = false;

 private:
  int depth_ = 0;
  std::set<std::string> keys_;
};

// The line parsed by nlohmann as a plain object (no repeated key), or null json when it is not.
json Oracle(std::string_view line, Shape* shape) {
  if (!json::sax_parse(line.begin(), line.end(), shape) || !shape->top_is_object ||
      shape->repeated) {
    return json();
  }
  return json::parse(line.begin(), line.end());
}

// The field the reader gave for `key`, checked against nlohmann's value.
void CheckField(const std::string& key, const json& want, std::string_view got, uint8_t quoted) {
  if (want.is_null()) {
    FUZZ_CHECK(quoted == kFieldAbsent, "key " + key + ": null is NULL");
    return;
  }
  FUZZ_CHECK(quoted != kFieldAbsent, "key " + key + ": a value is not NULL");
  if (want.is_string()) {
    FUZZ_CHECK(quoted == kFieldQuoted && got == want.get<std::string>(),
               "key " + key + ": the string unescaped");
  } else if (want.is_boolean()) {
    FUZZ_CHECK(got == (want.get<bool>() ? "true" : "false"), "key " + key + ": a boolean");
  } else if (want.is_number()) {
    json parsed = json::parse(got.begin(), got.end(), nullptr, false);
    FUZZ_CHECK(parsed.is_number(), "key " + key + ": a number's text is a JSON number");
    if (want.is_number_float() || parsed.is_number_float()) {
      FUZZ_CHECK(parsed.get<double>() == want.get<double>() ||
                     (std::isnan(parsed.get<double>()) && std::isnan(want.get<double>())),
                 "key " + key + ": the number's value");
    } else {
      FUZZ_CHECK(parsed == want, "key " + key + ": the integer's value");
    }
  } else {
    FUZZ_CHECK(quoted == kFieldQuoted, "key " + key + ": an object or array is quoted text");
    json parsed = json::parse(got.begin(), got.end(), nullptr, false);
    FUZZ_CHECK(!parsed.is_discarded() && parsed == want,
               "key " + key + ": an object or array as its JSON text");
  }
}

// Whether `s` is well-formed UTF-8 (no overlong forms, no surrogates, at most U+10FFFF).
bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? b : b & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c >> 6) != 0x2) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n;
  }
  return true;
}

// A line both parsers must accept: nlohmann's plain object, shallow, no \u escapes (surrogate
// handling differs between parsers and is not the reader's to define), valid UTF-8 throughout
// (nlohmann checks strings only) and no byte the reader treats as a line break.
bool PlainLine(std::string_view line, const Shape& shape) {
  if (shape.max_depth > 32 || line.find("\\u") != std::string_view::npos) return false;
  // nlohmann skips a byte order mark at the start of what it parses; a JSON lines file may have
  // one only before its first line (the reader strips that one).
  if (line.starts_with("\xEF\xBB\xBF")) return false;
  if (line.find('\r') != std::string_view::npos || line.find('\0') != std::string_view::npos) {
    return false;
  }
  return ValidUtf8(line);
}

Outcome Read(std::string_view input, const NdjsonOptions& options, size_t chunk, bool oracle) {
  ChunkedSource source(input, chunk);
  NdjsonReader reader(&source, options);
  Outcome out;
  Record rec;
  while (out.records.size() < kMaxRecords) {
    auto has = reader.Next(&rec);
    if (!has.ok()) {
      out.status = has.status().ToString();
      break;
    }
    if (!*has) break;
    const std::vector<std::string_view>* names = reader.field_names();
    FUZZ_CHECK(names != nullptr, "JSON lines name their fields");
    FUZZ_CHECK(rec.fields.size() == names->size() && rec.quoted.size() == names->size(),
               "one field and one quoted flag per name");
    FUZZ_CHECK(std::set<std::string_view>(names->begin(), names->end()).size() == names->size(),
               "field names are distinct");
    FUZZ_CHECK(rec.byte_offset >= 0 &&
                   static_cast<size_t>(rec.byte_offset) + rec.raw.size() <= input.size(),
               "raw lies inside the input");
    FUZZ_CHECK(input.substr(static_cast<size_t>(rec.byte_offset), rec.raw.size()) == rec.raw,
               "raw is the input's bytes at byte_offset");
    Copy c{rec.line, rec.byte_offset, {}, {}, rec.quoted, std::string(rec.raw), rec.error};
    for (std::string_view n : *names) c.names.emplace_back(n);
    for (std::string_view f : rec.fields) c.fields.emplace_back(f);
    if (oracle) {
      Shape shape;
      json want = Oracle(rec.raw, &shape);
      if (rec.error == RowError::kNone && !ValidUtf8(rec.raw)) {
        // Not the reader's to reject: RowConverter rejects the line's encoding, as for CSV.
      } else if (rec.error == RowError::kNone && shape.beyond_oracle) {
        // JSON the oracle cannot represent: nothing to compare with.
      } else if (rec.error == RowError::kNone) {
        FUZZ_CHECK(want.is_object(), "line " + std::to_string(rec.line) +
                                         ": accepted, but nlohmann reads no plain object");
        for (size_t i = 0; i < names->size(); ++i) {
          const std::string key((*names)[i]);
          auto it = want.find(key);
          if (it == want.end()) {
            FUZZ_CHECK(rec.quoted[i] == kFieldAbsent, "key " + key + ": missing is NULL");
          } else {
            CheckField(key, *it, rec.fields[i], rec.quoted[i]);
          }
        }
        for (const auto& [key, value] : want.items()) {
          FUZZ_CHECK(std::find(names->begin(), names->end(), key) != names->end(),
                     "key " + key + " of the line is a field");
        }
      } else {
        FUZZ_CHECK(rec.error == RowError::kBadJson && !rec.error_message.empty(),
                   "a rejected line says why");
        FUZZ_CHECK(!want.is_object() || !PlainLine(rec.raw, shape),
                   "line " + std::to_string(rec.line) +
                       ": a plain object nlohmann reads was rejected: " + rec.error_message);
      }
    }
    out.records.push_back(std::move(c));
  }
  FUZZ_CHECK(
      reader.bytes_consumed() >= 0 && static_cast<size_t>(reader.bytes_consumed()) <= input.size(),
      "bytes consumed within the input");
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sluice::fuzz::FuzzInput in(data, size);
  const size_t chunk = 1 + in.Pick(16);
  const uint8_t limit = in.Byte();
  NdjsonOptions o;
  // Small limits so long lines and many keys are reached.
  o.max_record_bytes = 32 + (limit & 0x3F) * 32;
  o.max_keys = 1 + ((limit >> 6) & 3) * 8;
  std::string_view input = in.Rest();

  NdjsonOptions big = o;
  big.buffer_bytes = 1 << 16;
  Outcome whole = Read(input, big, input.size() + 1, /*oracle=*/true);
  NdjsonOptions small = o;
  small.buffer_bytes = chunk;
  Outcome pieces = Read(input, small, chunk, /*oracle=*/false);
  sluice::fuzz::ExpectSameOutcome(whole, pieces);
  return 0;
}
