// fuzz/csv_tokenizer.cpp: the CSV tokenizer with every dialect a partner.yaml can declare.
//
// Input: [dialect byte][delimiter byte][quote byte][chunk byte][limit byte] then the CSV bytes.
// The dialect is one config/partner_config.cpp accepts: a delimiter and quote of one ASCII byte
// other than NUL, CR and LF, differing when quoting is on, or quoting off (`quote: none`).
// Checked, besides "no crash, no sanitizer report":
//   - the records, their errors and the final status are the same whether the source hands
//     the bytes over in one piece into a large buffer, or a few bytes per read into a small
//     buffer (store streams and decoders return short reads);
//   - every record has one quoted flag per field; a record without a row error holds no NUL;
//     an unquoted field of a clean record holds no delimiter, CR or LF; `raw` lies inside the
//     input at byte_offset.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "chunked_source.h"
#include "csv/tokenizer.h"
#include "fuzz_input.h"

namespace {

using sluice::Result;
using sluice::csv::Record;
using sluice::csv::RowError;
using sluice::csv::Tokenizer;
using sluice::csv::TokenizerOptions;

using sluice::fuzz::ChunkedSource;

struct Copy {
  int64_t line, offset;
  std::vector<std::string> fields;
  std::vector<uint8_t> quoted;
  std::string raw;
  RowError error;
  int error_field;
  bool operator==(const Copy&) const = default;
};

struct Outcome {
  std::vector<Copy> records;
  std::string status;  // "" when the input ended cleanly
  int64_t consumed = 0;
};

constexpr size_t kMaxRecords = 4096;

Outcome Tokenize(std::string_view csv, const TokenizerOptions& options, size_t chunk) {
  ChunkedSource source(csv, chunk);
  Tokenizer tokenizer(&source, options);
  Outcome out;
  Record rec;
  while (out.records.size() < kMaxRecords) {
    auto has = tokenizer.Next(&rec);
    if (!has.ok()) {
      out.status = has.status().ToString();
      break;
    }
    if (!*has) break;
    FUZZ_CHECK(rec.fields.size() == rec.quoted.size(), "one quoted flag per field");
    FUZZ_CHECK(!rec.fields.empty(), "a record has at least one field");
    FUZZ_CHECK(
        rec.byte_offset >= 0 && static_cast<size_t>(rec.byte_offset) + rec.raw.size() <= csv.size(),
        "raw lies inside the input");
    FUZZ_CHECK(csv.substr(static_cast<size_t>(rec.byte_offset), rec.raw.size()) == rec.raw,
               "raw is the input's bytes at byte_offset");
    Copy c{rec.line,  rec.byte_offset, {}, rec.quoted, std::string(rec.raw),
           rec.error, rec.error_field};
    for (size_t i = 0; i < rec.fields.size(); ++i) {
      std::string_view f = rec.fields[i];
      if (rec.error == RowError::kNone) {
        FUZZ_CHECK(f.find('\0') == std::string_view::npos, "a clean record holds no NUL");
        FUZZ_CHECK(f.size() <= options.max_field_bytes, "a clean field is within the limit");
        if (!rec.quoted[i]) {
          FUZZ_CHECK(
              f.find_first_of(std::string{options.delimiter, '\r', '\n'}) == std::string_view::npos,
              "an unquoted field holds no delimiter or line break");
        }
      }
      c.fields.emplace_back(f);
    }
    if (rec.error != RowError::kNone) {
      FUZZ_CHECK(rec.error_field >= 0 && static_cast<size_t>(rec.error_field) <= rec.fields.size(),
                 "a row error names a field");
      FUZZ_CHECK(!rec.error_message.empty(), "a row error has a message");
    }
    out.records.push_back(std::move(c));
  }
  out.consumed = tokenizer.bytes_consumed();
  FUZZ_CHECK(out.consumed >= 0 && static_cast<size_t>(out.consumed) <= csv.size(),
             "bytes consumed within the input");
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sluice::fuzz::FuzzInput in(data, size);
  const uint8_t dialect = in.Byte();
  const uint8_t delim_byte = in.Byte();
  const uint8_t quote_byte = in.Byte();
  const size_t chunk = 1 + in.Pick(16);
  const uint8_t limit = in.Byte();
  TokenizerOptions o;
  static constexpr char kDelims[] = {',', ';', '\t', '|', ' ', ':', '"', '\''};
  static constexpr char kQuotes[] = {'"', '\'', '`', '~'};
  // Odd dialect bytes take the delimiter and quote from the next bytes: any ASCII but NUL/CR/LF.
  auto ascii = [](uint8_t b) {
    char c = static_cast<char>(b & 0x7F);
    return c == '\r' || c == '\n' || c == '\0' ? ',' : c;
  };
  o.delimiter = (dialect & 1) ? ascii(delim_byte) : kDelims[delim_byte % sizeof kDelims];
  o.quote = (dialect & 2) ? ascii(quote_byte) : kQuotes[quote_byte % sizeof kQuotes];
  o.quoting = (dialect & 4) == 0;
  if (o.quoting && o.delimiter == o.quote) return 0;  // partner.yaml refuses this dialect
  // Small limits so long fields and records are reached; the merge sets both equal.
  o.max_record_bytes = 16 + (limit & 0x3F) * 16;
  o.max_field_bytes = (limit & 0x40) ? o.max_record_bytes : 8 + (limit & 0x3F) * 4;
  std::string_view csv = in.Rest();

  TokenizerOptions big = o;
  big.buffer_bytes = 1 << 16;
  Outcome whole = Tokenize(csv, big, csv.size() + 1);
  TokenizerOptions small = o;
  small.buffer_bytes = chunk;
  Outcome pieces = Tokenize(csv, small, chunk);
  sluice::fuzz::ExpectSameOutcome(whole, pieces);
  return 0;
}
