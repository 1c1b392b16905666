// csv/record_source.h: the seam between a table file's format and RowConverter (conform.h).
//
// A RecordSource yields records of text fields, whatever the file's format: the CSV tokenizer
// (tokenizer.h), whose first record is the header line, or the JSON lines reader
// (ndjson_reader.h), whose fields are named by the objects' keys (field_names()). The merge
// (tasks/merge_table.cpp) maps the names onto the schema with RowConverter::Create and converts
// every record with RowConverter::Convert, so header mapping, types, NULLs and rejects are one
// code path for every format.
// Ownership: record views stay valid until the next Next(). Thread-safety: one source per
// thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sluice::csv {

// Codes of row-level problems; the message is in Record::error_message.
enum class RowError {
  kNone = 0,
  kFieldTooLong,
  kNulByte,
  kTextAfterQuote,
  kBadJson,  // a JSON line that does not parse, or is no object (reject code "json")
};

// Record::quoted values: how a field was written.
inline constexpr uint8_t kFieldPlain = 0;   // as is: csv.null_values apply
inline constexpr uint8_t kFieldQuoted = 1;  // quoted (a CSV "" or a JSON string): never NULL
inline constexpr uint8_t kFieldAbsent = 2;  // JSON null, or a key the line does not have: NULL
// A spreadsheet number cell: as kFieldPlain, except that a date or timestamp column reads it as a
// serial day number (Record::date1904 says which epoch).
inline constexpr uint8_t kFieldSerial = 3;

struct Record {
  int64_t line = 0;         // 1-based physical line where the record starts
  int64_t byte_offset = 0;  // offset of its first byte in the (UTF-8) input
  std::vector<std::string_view> fields;
  std::vector<uint8_t> quoted;  // per field: kFieldPlain, kFieldQuoted or kFieldAbsent
  std::string_view raw;         // the record's bytes without its line terminator
  RowError error = RowError::kNone;
  int error_field = -1;  // 0-based field index of the error
  std::string error_message;
  // kFieldSerial fields count days from 1904-01-01 (a workbook's 1904 date system), not Excel's
  // 1900 system.
  bool date1904 = false;
};

class RecordSource {
 public:
  virtual ~RecordSource() = default;
  // Fills `record` with the next record and returns true, or false at the end of input.
  // File-level problems (a read error, a record over the size limit) are a Status naming the
  // line; row-level ones are in Record::error.
  virtual Result<bool> Next(Record* record) = 0;
  // Bytes consumed so far.
  virtual int64_t bytes_consumed() const = 0;
  // For sources whose records name their fields (JSON keys): the names, in the order of
  // Record::fields, growing as records bring new ones; nullptr for CSV, whose header is its
  // first record.
  virtual const std::vector<std::string_view>* field_names() const { return nullptr; }
  // Changes each time field_names() grows (a converter made for the old names is stale).
  virtual int64_t field_names_version() const { return 0; }
};

}  // namespace sluice::csv
