// csv/xlsx_reader.h: one sheet of an Excel workbook (`format: xlsx` tables) as a RecordSource.
//
// The workbook is a zip read as a stream with libarchive, its XML with expat (SAX), in two
// passes over the file (so the members may come in any order): the first reads the small parts
// (xl/workbook.xml: sheet names and the 1900/1904 date system; its relationships: which member
// is the sheet) and the shared strings table, the one structure held in memory, bounded by
// max_shared_strings_bytes; the second streams the sheet's rows. Memory is bounded by that table
// and the widest row, never by the sheet's size.
// The first row with a value is the header (matched to the schema as a CSV header is); each
// later row with a value is a record, its line the sheet's row number; empty rows are skipped.
// A cell is: a shared or inline string, or a formula's cached string, as text (kFieldPlain:
// csv.null_values apply); a number as its text (kFieldSerial: a date or timestamp column reads it
// as a serial day number, in the workbook's date system); a boolean "true"/"false"; an error
// ("#N/A") as its text; an empty cell, or one a row leaves out, NULL (kFieldAbsent). A formula
// cell gives its cached value. Record::raw is the row written as CSV, for the rejects file.
// File-level problems (not a zip, no such sheet, broken XML, a shared string index out of range,
// the table over its bound) are a Status naming the sheet and row.
// Ownership: calls `open` once per pass; record views stay valid until the next Next().
// Thread-safety: one reader per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "csv/record_source.h"
#include "csv/tokenizer.h"

namespace sluice::csv {

struct XlsxOptions {
  std::string sheet;                                      // "" for the first sheet
  int64_t max_shared_strings_bytes = int64_t{256} << 20;  // text of the shared strings table
  size_t max_record_bytes = size_t{16} << 20;             // the text of one row
};

class XlsxReader : public RecordSource {
 public:
  using Opener = std::function<Result<std::unique_ptr<ByteSource>>()>;

  // Reads the workbook's parts and positions the reader at the sheet's first row. InvalidArgument
  // when the sheet does not exist (naming the sheets there are); Corrupt when the file is no
  // xlsx workbook or its XML is broken; the shared strings over their bound are InvalidArgument
  // naming the setting.
  static Result<std::unique_ptr<XlsxReader>> Open(Opener open, XlsxOptions options);
  ~XlsxReader() override;
  XlsxReader(const XlsxReader&) = delete;
  XlsxReader& operator=(const XlsxReader&) = delete;

  Result<bool> Next(Record* record) override;
  // Bytes of the sheet's XML read so far.
  int64_t bytes_consumed() const override;
  // The sheet being read ("Stores"): for messages.
  const std::string& sheet_name() const;

 private:
  struct Impl;  // libarchive and expat stay in the .cpp
  explicit XlsxReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::csv
