// csv/ndjson_reader.h: JSON lines (`format: ndjson` tables) as a RecordSource.
//
// One JSON object per line (LF or CRLF; blank lines skipped; a UTF-8 BOM at the start skipped),
// parsed with simdjson (On Demand). Each distinct key becomes a field, named in field_names() in
// the order first seen, so RowConverter maps keys onto the schema exactly as it maps a CSV
// header (names, case/space folding, aliases). Per line, a field is:
//   string          its unescaped text, kFieldQuoted (never NULL, as a quoted CSV field)
//   number          its JSON text ("12.50", "-3", "1e3"), converted by the column's type
//   true / false    "true" / "false"
//   null, or a key the line lacks     kFieldAbsent (NULL)
//   object / array  its JSON text, kFieldQuoted: a string column or `_rescued` keeps it as JSON
// A line that is not valid JSON, not an object, has text after the object or repeats a key is
// a row problem (Record::error kBadJson, with the reason): the merge rejects it with its line.
// A line longer than max_record_bytes, more than max_keys distinct keys, or a read error is a
// file-level Status naming the line.
// Memory: bounded by the longest line (one buffer, plus simdjson's parser for that size).
// Ownership: borrows its ByteSource; record views stay valid until the next Next().
// Thread-safety: one reader per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "csv/record_source.h"
#include "csv/tokenizer.h"

namespace sluice::csv {

struct NdjsonOptions {
  size_t max_record_bytes = size_t{16} << 20;  // csv.max_record_bytes: the longest line
  size_t buffer_bytes = size_t{1} << 20;       // read size
  size_t max_keys = 4096;                      // distinct keys in one file
};

class NdjsonReader : public RecordSource {
 public:
  NdjsonReader(ByteSource* source, NdjsonOptions options);
  ~NdjsonReader() override;
  NdjsonReader(const NdjsonReader&) = delete;
  NdjsonReader& operator=(const NdjsonReader&) = delete;

  // The next object as a record (every field of field_names(), absent ones kFieldAbsent), or
  // false at the end. Corrupt for a line over max_record_bytes or too many keys (naming the
  // line); the source's error otherwise.
  Result<bool> Next(Record* record) override;
  int64_t bytes_consumed() const override;
  const std::vector<std::string_view>* field_names() const override;
  int64_t field_names_version() const override;

 private:
  struct Impl;  // simdjson stays in the .cpp
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::csv
