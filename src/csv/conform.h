// csv/conform.h: conforms tokenized CSV records to a partner's table schema.
//
// Header mapping, in order: exact name, then case- and space-insensitive, then aliases (exact,
// then insensitive), and last, for columns still unmatched, ignoring _ - . / as well when exactly
// one column fits. A header that maps to a column already mapped is an error (duplicate
// header); so is a header repeated exactly, unless the schema does not know it and
// on_extra_columns is ignore (then it is dropped like any extra column). Missing columns: a
// non-nullable one always fails; nullable ones become NULL under on_missing_columns: null and fail
// under on_missing_columns: fail. Extra columns: ignored, kept as a JSON object in `_rescued`
// (rescue), or an error (fail). Typed conversion (per cell, no binary floating point for decimals):
//   int64      [+-]digits, surrounding spaces allowed; grouped by the column's
//              thousands_separator when it has one
//   float64    fast_float; nan/inf rejected; the column's decimal_separator/thousands_separator
//   decimal    [+-]digits[.digits], at most p-s integer digits and s fraction digits (trailing
//              zeros beyond s are dropped); stored as canonical text "-12.30"
//   bool       true/false, yes/no, y/n, t/f, 1/0 in any case, plus the column's
//              true_values/false_values; 1 or 0
//   date       ISO YYYY-MM-DD, or the first of the column's strptime-style formats that reads
//              it; stored "YYYY-MM-DD"
//   timestamp  ISO with 'T' or ' ', optional .fraction (up to 9 digits), optional Z or +hh:mm;
//              or the column's formats (%Y %m %d %H %M %S %y %f %z %I %p %b %B %s %%).
//              Seconds 0..59 (no leap second). Stored as "YYYY-MM-DD HH:MM:SS[.fraction]", the
//              fraction without trailing zeros (and no '.' when it is all zeros) so one instant
//              has one text; with an offset (or %s, Unix time) it is converted to UTC.
//   string     valid UTF-8, at most max_length bytes
// A field equal to one of the dialect's null_values (and not quoted) is NULL; a NULL in a
// non-nullable column rejects the row. Rows are data: Convert() returns a Diagnostic.
// Thread-safety: one converter per thread. Cells view the record or the converter's buffers and
// stay valid until the next Convert().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/pipeline_config.h"
#include "core/status.h"
#include "csv/record_source.h"

namespace sluice::csv {

enum class CellKind : uint8_t { kNull, kInt, kReal, kText };

struct Cell {
  CellKind kind = CellKind::kNull;
  int64_t i = 0;       // kInt (int64, bool)
  double d = 0;        // kReal
  std::string_view s;  // kText (string, decimal, date, timestamp)
};

// A row-level problem; becomes one line of the rejects file.
struct Diagnostic {
  int64_t line = 0;
  int64_t byte_offset = 0;
  std::string column;  // schema column (or header) name; "" for whole-row problems
  std::string code;    // stable: field_count, null, type, too_long, encoding, csv
  std::string message;
};

// --- single-value conversions (exposed for tests and benchmarks) ----------------------------
bool ParseInt64(std::string_view text, int64_t* out);
bool ParseFloat64(std::string_view text, double* out);
// Canonical text of a decimal(p,s) value into *out, or false with *error set.
bool CanonicalDecimal(std::string_view text, int precision, int scale, std::string* out,
                      std::string* error);
// A number written with `column`'s thousands_separator and decimal_separator ("1.234,56") as
// the plain "[+-]digits[.digits]..." the parsers above read ("1234.56"), into *out. False, with
// *error, when the digit groups are not 1 to 3 digits then groups of exactly 3, or when '.'
// stands where ',' is the decimal mark: "1.5" or "1,50" are never guessed at.
bool PlainNumber(std::string_view text, const config::ColumnSchema& column, std::string* out,
                 std::string* error);
// 1 for true, 0 for false, -1 when not a bool spelling of `column`.
int ParseBool(std::string_view text, const config::ColumnSchema& column);
// A date or timestamp `column`'s value, read by the first of its `formats` that reads it whole
// (ISO 8601 without formats), as ParseDateValue/ParseTimestampValue write it.
bool ParseTimeValue(std::string_view text, const config::ColumnSchema& column, std::string* out);
// "YYYY-MM-DD" into *out; `format` "" means ISO.
bool ParseDateValue(std::string_view text, const std::string& format, std::string* out);
// "YYYY-MM-DD HH:MM:SS[.f]" (UTC when the input had an offset; f without trailing zeros) into
// *out.
bool ParseTimestampValue(std::string_view text, const std::string& format, std::string* out);

// A spreadsheet serial day number ("45620.5") as a date ("2024-11-24"; false when it has a time
// of day) or, with `with_time`, a timestamp ("2024-11-24 12:00:00[.fff]"), into *out. Days count
// from 1900-01-01 = 1 in Excel's 1900 system (60, the 29th of February 1900 that never was, is
// refused), from 1904-01-01 = 0 with `date1904`. False for text that is no number in range.
bool SerialToTimeValue(std::string_view text, bool date1904, bool with_time, std::string* out);

// Folds a header for matching: lower case (Latin, Greek, Cyrillic letters, not just ASCII), and
// spaces of every kind (tab, no-break space, ...) removed.
std::string FoldHeader(std::string_view header);
// FoldHeader without '_', '-', '.', '/' and accents as well ("Quantite" = "Quantité", composed
// or not): the last, loosest header match.
std::string LooseHeader(std::string_view header);

class RowConverter {
 public:
  // Maps `header` (the file's first record; nullptr when the dialect has no header, then the
  // columns are taken in schema order) onto `schema`. InvalidArgument for a duplicate header
  // (except a repeated header the schema does not know under on_extra_columns: ignore, which is
  // listed once in extra_columns()), a missing non-nullable column, or a missing/extra column the
  // schema's policy refuses; the message names the columns and the fix. Callers add file,
  // partner and table.
  // `named_fields`: the header is the keys of JSON lines (RecordSource::field_names()), not a
  // header line: a key a line lacks is NULL in that line, so columns missing from the keys so
  // far are not an error here (a NULL in a non-nullable column rejects its row).
  static Result<std::unique_ptr<RowConverter>> Create(const config::TableSchema& schema,
                                                      const config::CsvDialect& dialect,
                                                      const std::vector<std::string_view>* header,
                                                      bool named_fields = false);

  // Converts `record`. True when every cell converted (cells() holds them); false with `diag`
  // describing the first problem.
  bool Convert(const Record& record, Diagnostic* diag);

  // One cell per schema column, in schema order.
  const std::vector<Cell>& cells() const { return cells_; }
  // With on_extra_columns: rescue, a JSON object of the extra columns (or "" when none).
  std::string_view rescued() const { return rescued_; }
  bool rescue() const { return rescue_; }
  const std::vector<std::string>& missing_columns() const { return missing_; }
  const std::vector<std::string>& extra_columns() const { return extra_; }
  // Per schema column: the header field it is read from, or -1 (missing). For drift reports.
  const std::vector<int>& source_fields() const { return source_of_; }

 private:
  RowConverter(const config::TableSchema& schema, const config::CsvDialect& dialect);
  // `how`: Record::quoted's kFieldPlain, kFieldQuoted or kFieldAbsent.
  bool IsNull(std::string_view field, uint8_t how) const;

  const config::TableSchema& schema_;
  config::CsvDialect dialect_;
  size_t expected_fields_ = 0;
  std::string number_;                         // a cell's number in plain notation
  std::vector<int> source_of_;                 // per schema column: field index or -1
  std::vector<std::string> field_names_;       // per field: its column, or "field N"
  std::vector<int> extra_fields_;              // field indexes of extra columns
  std::vector<std::string> extra_names_json_;  // their header names, JSON-escaped
  // Fields whose header is blank (a delimiter at the end of every line): not extra columns, but
  // a value a row puts there is rescued as "column N", ignored, or rejects the row under fail.
  std::vector<int> unnamed_fields_;
  std::vector<std::pair<std::string, size_t>> unnamed_values_;  // this row's: JSON name, field
  bool ConvertUnnamed(const Record& record, Diagnostic* diag);
  std::vector<std::string> missing_;
  std::vector<std::string> extra_;
  bool rescue_ = false;
  bool named_fields_ = false;  // JSON keys (Create's named_fields)
  bool empty_is_null_ = false;
  std::vector<std::string> null_values_;
  std::vector<Cell> cells_;
  std::vector<std::string> text_;  // per column: converted text (decimal, date, timestamp)
  std::string rescued_;
};

// Appends `s` to *out as a JSON string literal (quotes included).
void AppendJsonString(std::string_view s, std::string* out);
// Appends one CSV field (quoted when needed) to *out.
void AppendCsvField(std::string_view s, std::string* out);

}  // namespace sluice::csv
