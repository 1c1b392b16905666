// JSON lines reader of csv/ndjson_reader.h, over simdjson's On Demand parser: one parse per
// line, in the reader's own buffer (padded as simdjson requires), so no line is copied.
#include "csv/ndjson_reader.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <string>
#include <unordered_map>

#include "core/strings.h"

namespace sluice::csv {

namespace {

namespace od = simdjson::ondemand;

std::string_view TrimJsonSpace(std::string_view s) {
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

bool IsBlank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t'; });
}

// Bytes of a line that are not its text: a UTF-8 BOM before the first line, a CR before the LF.
constexpr size_t kLineSlack = 4;

// Whether `t` is a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
bool JsonNumber(std::string_view t) {
  size_t i = 0;
  auto digits = [&] {
    const size_t from = i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
    return i > from;
  };
  if (i < t.size() && t[i] == '-') ++i;
  if (i < t.size() && t[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < t.size() && t[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == t.size();
}

}  // namespace

struct NdjsonReader::Impl {
  ByteSource* source;
  NdjsonOptions options;
  std::unique_ptr<char[]> buf;  // capacity + SIMDJSON_PADDING bytes
  size_t capacity = 0;
  size_t pos = 0;  // [pos, end) not consumed yet
  size_t end = 0;
  bool eof = false;
  bool started = false;     // BOM checked
  int64_t base_offset = 0;  // input offset of buf[0]
  int64_t line = 1;         // line number of buf[pos]
  od::parser parser;
  simdjson::dom::parser nested_parser;  // validates nested objects and arrays whole
  // Keys of the line being parsed that the file has not had yet, with their values.
  struct FreshField {
    std::string_view key;
    std::string_view text;
    uint8_t how;
  };
  std::vector<FreshField> fresh;
  std::deque<std::string> names;  // stable storage of the keys
  std::vector<std::string_view> name_views;
  std::unordered_map<std::string_view, size_t> index;  // key -> field
  std::vector<uint8_t> seen;                           // this line's keys, for duplicates
  int64_t version = 0;

  Impl(ByteSource* s, NdjsonOptions o) : source(s), options(o) {
    capacity = std::max<size_t>(options.buffer_bytes, 4096);
    buf = std::make_unique_for_overwrite<char[]>(capacity + simdjson::SIMDJSON_PADDING);
  }

  Status TooLong(int64_t at_line) const {
    return Status::Corrupt("line " + std::to_string(at_line) + " is longer than " +
                           std::to_string(options.max_record_bytes) +
                           " bytes (csv.max_record_bytes); raise it in partner.yaml if lines "
                           "that long are expected");
  }

  // Moves what is left to the front and reads more, growing the buffer (up to the longest line
  // allowed) when a line fills it.
  Status Fill() {
    if (pos > 0) {
      std::memmove(buf.get(), buf.get() + pos, end - pos);
      base_offset += static_cast<int64_t>(pos);
      end -= pos;
      pos = 0;
    }
    if (end == capacity) {
      if (capacity > options.max_record_bytes + kLineSlack) return TooLong(line);
      size_t grown = std::min(capacity * 2, options.max_record_bytes + kLineSlack + 1);
      auto bigger = std::make_unique_for_overwrite<char[]>(grown + simdjson::SIMDJSON_PADDING);
      std::memcpy(bigger.get(), buf.get(), end);
      buf = std::move(bigger);
      capacity = grown;
    }
    SLUICE_ASSIGN_OR_RETURN(size_t n, source->Read(buf.get() + end, capacity - end));
    if (n == 0) eof = true;
    end += n;
    return Status::Ok();
  }

  // The field of `key`, a new one when the file had no such key yet.
  Result<size_t> FieldOf(std::string_view key, Record* record, int64_t at_line) {
    if (auto it = index.find(key); it != index.end()) return it->second;
    if (names.size() >= options.max_keys) {
      return Status::Corrupt("line " + std::to_string(at_line) + ": more than " +
                             std::to_string(options.max_keys) +
                             " distinct keys in one file; JSON lines tables map keys to columns, "
                             "so the objects must share their keys");
    }
    names.emplace_back(key);
    name_views.push_back(names.back());
    index.emplace(names.back(), names.size() - 1);
    record->fields.emplace_back();
    record->quoted.push_back(kFieldAbsent);
    seen.push_back(0);
    ++version;
    return names.size() - 1;
  }

  // The line is rejected for `message` (a row problem: the file goes on).
  static Status Bad(Record* record, std::string message) {
    ClearFields(record);
    record->error = RowError::kBadJson;
    record->error_message = std::move(message);
    return Status::Ok();
  }

  // A line that is not used holds no values: how far the parser got into it before failing
  // depends on the bytes after it in the buffer, and must show nowhere.
  static void ClearFields(Record* record) {
    std::fill(record->fields.begin(), record->fields.end(), std::string_view());
    std::fill(record->quoted.begin(), record->quoted.end(), kFieldAbsent);
  }

  static Status BadJson(Record* record, simdjson::error_code err) {
    if (err == simdjson::UTF8_ERROR) {
      ClearFields(record);
      // Not JSON's problem but the encoding's: RowConverter rejects the line as "encoding", as
      // it does a CSV line, which the merge counts towards a wrong csv.encoding.
      return Status::Ok();
    }
    return Bad(record, std::string("invalid JSON: ") + simdjson::error_message(err));
  }

  // Parses `text` (one line) into `record`. A row problem is in record->error; a Status only
  // for file-level problems.
  Status Parse(std::string_view text, size_t readable, Record* record) {
    const size_t n = names.size();
    record->fields.assign(n, std::string_view());
    record->quoted.assign(n, kFieldAbsent);
    seen.assign(n, 0);
    fresh.clear();
    od::document doc;
    auto err = parser.iterate(text.data(), text.size(), readable).get(doc);
    if (err) return BadJson(record, err);
    od::object object;
    err = doc.get_object().get(object);
    if (err == simdjson::INCORRECT_TYPE) {
      return Bad(record,
                 "the line is not a JSON object (a JSON lines table has one object per line)");
    }
    if (err) return BadJson(record, err);
    for (auto field : object) {
      std::string_view key;
      if ((err = field.unescaped_key().get(key))) return BadJson(record, err);
      // A key the file has not had yet becomes a field only once the whole line is good: a bad
      // line adds no name (how far On Demand reads into a bad line before failing must not
      // change the file's fields).
      constexpr size_t kFresh = static_cast<size_t>(-1);
      size_t f = kFresh;
      bool twice = false;
      if (auto it = index.find(key); it != index.end()) {
        f = it->second;
        twice = seen[f] != 0;
        seen[f] = 1;
      } else {
        for (const FreshField& p : fresh) twice = twice || p.key == key;
      }
      if (twice) {
        return Bad(record, "the key \"" + std::string(key.substr(0, 60)) +
                               "\" appears twice in the object");
      }
      od::value value;
      if ((err = field.value().get(value))) return BadJson(record, err);
      od::json_type type;
      if ((err = value.type().get(type))) return BadJson(record, err);
      std::string_view text_of;
      uint8_t how = kFieldPlain;
      switch (type) {
        case od::json_type::string:
          if ((err = value.get_string().get(text_of))) return BadJson(record, err);
          how = kFieldQuoted;
          break;
        case od::json_type::number:
          // On Demand types a value by its first byte and parses numbers only when asked: the
          // token is checked here, so "2===" or "1.2.3" is a bad line, not a number's text.
          text_of = TrimJsonSpace(value.raw_json_token());
          if (!JsonNumber(text_of)) {
            return Bad(record, "invalid JSON: " + Printable(text_of, 40) + " is not a number");
          }
          break;
        case od::json_type::boolean: {
          bool b = false;
          if ((err = value.get_bool().get(b))) return BadJson(record, err);
          text_of = b ? "true" : "false";
          break;
        }
        case od::json_type::null: {
          bool is_null = false;
          if ((err = value.is_null().get(is_null)) || !is_null) {
            return BadJson(record, err ? err : simdjson::N_ATOM_ERROR);
          }
          how = kFieldAbsent;
          break;
        }
        case od::json_type::object: {
          od::object nested;
          if ((err = value.get_object().get(nested)) || (err = nested.raw_json().get(text_of))) {
            return BadJson(record, err);
          }
          text_of = TrimJsonSpace(text_of);
          // raw_json() skips a nested value by its brackets without reading what is inside:
          // the DOM parser reads it whole, so "[1bbb]" is a bad line, not a value's text.
          if ((err = nested_parser.parse(text_of.data(), text_of.size()).error())) {
            return BadJson(record, err);
          }
          how = kFieldQuoted;
          break;
        }
        case od::json_type::array: {
          od::array nested;
          if ((err = value.get_array().get(nested)) || (err = nested.raw_json().get(text_of))) {
            return BadJson(record, err);
          }
          text_of = TrimJsonSpace(text_of);
          // raw_json() skips a nested value by its brackets without reading what is inside:
          // the DOM parser reads it whole, so "[1bbb]" is a bad line, not a value's text.
          if ((err = nested_parser.parse(text_of.data(), text_of.size()).error())) {
            return BadJson(record, err);
          }
          how = kFieldQuoted;
          break;
        }
      }
      if (f == kFresh) {
        fresh.push_back({key, text_of, how});
      } else {
        record->fields[f] = text_of;
        record->quoted[f] = how;
      }
    }
    const char* after = nullptr;
    if (doc.current_location().get(after) == simdjson::SUCCESS) {
      return Bad(record, "text after the JSON object (one object per line)");
    }
    for (const FreshField& p : fresh) {
      SLUICE_ASSIGN_OR_RETURN(size_t f, FieldOf(p.key, record, record->line));
      record->fields[f] = p.text;
      record->quoted[f] = p.how;
    }
    return Status::Ok();
  }

  Result<bool> Next(Record* record) {
    while (true) {
      const char* nl = pos < end
                           ? static_cast<const char*>(std::memchr(buf.get() + pos, '\n', end - pos))
                           : nullptr;
      if (nl == nullptr && !eof) {
        // Not yet a verdict while a BOM and a CR might still come off the line: the limit is on
        // the line's own text, checked below once the line is whole.
        if (end - pos > options.max_record_bytes + kLineSlack) return TooLong(line);
        SLUICE_RETURN_IF_ERROR(Fill());
        continue;
      }
      if (nl == nullptr && pos == end) return false;
      const size_t line_end = nl ? static_cast<size_t>(nl - buf.get()) : end;
      std::string_view text(buf.get() + pos, line_end - pos);
      record->line = line;
      record->byte_offset = base_offset + static_cast<int64_t>(pos);
      pos = nl ? line_end + 1 : end;
      if (nl) ++line;
      if (!started) {
        started = true;
        if (text.starts_with("\xEF\xBB\xBF")) {
          text.remove_prefix(3);
          record->byte_offset += 3;  // the record starts after the BOM, as raw does
        }
      }
      if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
      if (text.size() > options.max_record_bytes) return TooLong(record->line);
      if (IsBlank(text)) continue;
      record->raw = text;
      record->error = RowError::kNone;
      record->error_field = -1;
      record->error_message.clear();
      // Readable from the line on: the rest of the buffer and its padding.
      const size_t readable =
          static_cast<size_t>(buf.get() + capacity + simdjson::SIMDJSON_PADDING - text.data());
      SLUICE_RETURN_IF_ERROR(Parse(text, readable, record));
      return true;
    }
  }
};

NdjsonReader::NdjsonReader(ByteSource* source, NdjsonOptions options)
    : impl_(std::make_unique<Impl>(source, options)) {}

NdjsonReader::~NdjsonReader() = default;

Result<bool> NdjsonReader::Next(Record* record) { return impl_->Next(record); }

int64_t NdjsonReader::bytes_consumed() const {
  return impl_->base_offset + static_cast<int64_t>(impl_->pos);
}

const std::vector<std::string_view>* NdjsonReader::field_names() const {
  return &impl_->name_views;
}

int64_t NdjsonReader::field_names_version() const { return impl_->version; }

}  // namespace sluice::csv
