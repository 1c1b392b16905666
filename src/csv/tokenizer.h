// csv/tokenizer.h: a streaming RFC 4180 tokenizer over any byte source.
//
// Splits bytes into records of fields: quoted fields may hold delimiters, doubled quotes and
// newlines; records end at LF, CRLF or CR; a UTF-8 BOM at the start is skipped; blank lines are
// skipped. Memory is bounded by the largest record (max_record_bytes), never by the file size.
// Row-level problems (a field over max_field_bytes, a NUL byte, text after a closing quote) are
// data: the record carries a RowError and the caller rejects it. File-level problems (an
// unterminated quote at the end of input, a record over max_record_bytes, a read error) are a
// Status naming the line.
// Ownership: the tokenizer borrows its ByteSource. Record views stay valid until the next Next().
// Thread-safety: one tokenizer per thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "csv/record_source.h"

namespace sluice::csv {

// Where bytes come from (a store stream, a file, a string, an encoding converter).
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to `n` bytes; 0 means end of input.
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
};

// A ByteSource over a string held by the caller (tests, benchmarks).
class StringSource : public ByteSource {
 public:
  explicit StringSource(std::string_view data) : data_(data) {}
  Result<size_t> Read(char* buf, size_t n) override;

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

struct TokenizerOptions {
  char delimiter = ',';
  char quote = '"';
  bool quoting = true;  // false: `quote` is plain text; no field is quoted
  // A longer field rejects its row (the merge sets it to max_record_bytes).
  size_t max_field_bytes = size_t{1} << 20;
  size_t max_record_bytes = size_t{16} << 20;  // a longer record is a file-level error
  size_t buffer_bytes = size_t{1} << 20;       // read size
};

class Tokenizer : public RecordSource {
 public:
  Tokenizer(ByteSource* source, TokenizerOptions options);

  // Fills `record` with the next record and returns true, or false at the end of input.
  // Corrupt for an unterminated quote at EOF or a record over max_record_bytes; the source's
  // error otherwise. Messages name the line; callers add file, partner and table.
  Result<bool> Next(Record* record) override;

  // Bytes consumed so far.
  int64_t bytes_consumed() const override { return base_offset_ + static_cast<int64_t>(pos_); }
  // The delimiter an Excel "sep=X" first line declared ('\0' without one); that line is
  // skipped, not a record. Known after the first Next().
  char declared_delimiter() const { return declared_delimiter_; }

 private:
  // Tries to parse one record starting at pos_. Returns 1 when parsed, 0 when more input is
  // needed, and sets *status for file-level errors.
  int Parse(Record* record, Status* status);
  Status Fill();
  Status TooLong() const;  // the error for a record over max_record_bytes

  ByteSource* source_;
  TokenizerOptions options_;
  std::string buf_;  // buffered input; [pos_, end_) not yet consumed
  size_t pos_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
  bool started_ = false;     // BOM checked
  int64_t base_offset_ = 0;  // input offset of buf_[0]
  int64_t line_ = 1;
  char declared_delimiter_ = '\0';
  std::string unescaped_;         // holds fields whose doubled quotes were collapsed
  std::array<bool, 256> stop_{};  // stop bytes of an unquoted field: delimiter, CR, LF, NUL
  bool stop_ready_ = false;
};

}  // namespace sluice::csv
