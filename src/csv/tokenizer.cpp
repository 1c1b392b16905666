#include "csv/tokenizer.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "core/strings.h"

namespace sluice::csv {

Result<size_t> StringSource::Read(char* buf, size_t n) {
  size_t k = std::min(n, data_.size() - pos_);
  std::memcpy(buf, data_.data() + pos_, k);
  pos_ += k;
  return k;
}

Tokenizer::Tokenizer(ByteSource* source, TokenizerOptions options)
    : source_(source), options_(options) {
  buf_.resize(std::max<size_t>(options_.buffer_bytes, 4096));
}

Status Tokenizer::Fill() {
  // Keep the unconsumed tail, then read after it. The buffer grows only when one record does
  // not fit, so memory stays bounded by max_record_bytes.
  size_t tail = end_ - pos_;
  if (tail >= options_.max_record_bytes) {
    return Status::Corrupt("line " + std::to_string(line_) + ": a record is longer than " +
                           FormatBytes(static_cast<int64_t>(options_.max_record_bytes)) +
                           "; a quote is probably not closed (or raise max_record_bytes)");
  }
  if (pos_ > 0) {
    std::memmove(buf_.data(), buf_.data() + pos_, tail);
    base_offset_ += static_cast<int64_t>(pos_);
    pos_ = 0;
    end_ = tail;
  }
  if (end_ == buf_.size()) buf_.resize(std::min(buf_.size() * 2, options_.max_record_bytes + 1));
  SLUICE_ASSIGN_OR_RETURN(size_t n, source_->Read(buf_.data() + end_, buf_.size() - end_));
  if (n == 0) eof_ = true;
  end_ += n;
  return Status::Ok();
}

Result<bool> Tokenizer::Next(Record* record) {
  if (!started_) {
    started_ = true;
    while (!eof_ && end_ < 3) SLUICE_RETURN_IF_ERROR(Fill());
    if (end_ >= 3 && std::memcmp(buf_.data(), "\xEF\xBB\xBF", 3) == 0) pos_ = 3;
  }
  while (true) {
    if (pos_ == end_) {
      if (eof_) return false;
      SLUICE_RETURN_IF_ERROR(Fill());
      continue;
    }
    Status status;
    int r = Parse(record, &status);
    if (!status.ok()) return status;
    if (r == 1) return true;
    if (r == 2) continue;  // a blank line was skipped
    SLUICE_RETURN_IF_ERROR(Fill());
  }
}

namespace {

// Stop bytes of an unquoted field: delimiter, CR, LF and NUL.
struct StopTable {
  std::array<bool, 256> stop{};
};

}  // namespace

// State table (per field):
//   FIELD_START --quote--> QUOTED --quote--> QUOTE_SEEN --quote--> QUOTED (a doubled quote)
//                                            QUOTE_SEEN --delim/CR/LF/EOF--> field ends
//                                            QUOTE_SEEN --other--> TEXT_AFTER_QUOTE (row error)
//   FIELD_START --other--> UNQUOTED --delim--> FIELD_START; --CR/LF/EOF--> record ends
// QUOTED scans with memchr for the next quote, so long quoted runs cost little.
int Tokenizer::Parse(Record* record, Status* status) {
  const char* b = buf_.data();
  const size_t end = end_;
  const char delim = options_.delimiter;
  const char quote = options_.quote;
  size_t p = pos_;

  // A blank line is skipped, not a record.
  if (b[p] == '\n' || b[p] == '\r') {
    if (b[p] == '\r') {
      if (p + 1 == end && !eof_) return 0;
      p += (p + 1 < end && b[p + 1] == '\n') ? 2 : 1;
    } else {
      ++p;
    }
    pos_ = p;
    ++line_;
    return 2;
  }

  static const StopTable kNoTable;
  thread_local StopTable table;
  thread_local char table_delim = 0;
  if (table_delim != delim || !table.stop['\n']) {
    table = kNoTable;
    table.stop[static_cast<unsigned char>(delim)] = true;
    table.stop['\r'] = true;
    table.stop['\n'] = true;
    table.stop[0] = true;
    table_delim = delim;
  }

  spans_.clear();
  unescaped_.clear();
  record->quoted.clear();
  record->error = RowError::kNone;
  record->error_field = -1;
  record->error_message.clear();
  int64_t extra_lines = 0;
  auto set_error = [&](RowError code, std::string message) {
    if (record->error != RowError::kNone) return;
    record->error = code;
    record->error_field = static_cast<int>(spans_.size());
    record->error_message = std::move(message);
  };

  size_t raw_end = 0;
  while (true) {
    Span span{false, 0, 0};
    bool quoted = false;
    if (p < end && b[p] == quote) {
      quoted = true;
      ++p;
      size_t start = p;
      bool escaped = false;
      size_t close = 0;
      while (true) {
        const void* q = std::memchr(b + p, quote, end - p);
        if (q == nullptr) {
          if (!eof_) return 0;
          *status = Status::Corrupt("line " + std::to_string(line_) +
                                    ": a quoted field is not closed before the end of the file");
          return -1;
        }
        size_t qi = static_cast<const char*>(q) - b;
        for (size_t i = p; i < qi; ++i) {
          if (b[i] == '\n' || (b[i] == '\r' && (i + 1 >= end || b[i + 1] != '\n'))) ++extra_lines;
          if (b[i] == '\0') set_error(RowError::kNulByte, "NUL byte in a quoted field");
        }
        p = qi + 1;
        if (p == end && !eof_) return 0;
        if (p < end && b[p] == quote) {
          escaped = true;
          ++p;
          continue;
        }
        close = qi;
        break;
      }
      if (escaped) {
        span.in_scratch = true;
        span.offset = unescaped_.size();
        for (size_t i = start; i < close; ++i) {
          unescaped_.push_back(b[i]);
          if (b[i] == quote) ++i;  // the second of a doubled quote
        }
        span.size = unescaped_.size() - span.offset;
      } else {
        span.offset = start;
        span.size = close - start;
      }
      // Anything between the closing quote and the next delimiter is malformed.
      if (p < end && b[p] != delim && b[p] != '\r' && b[p] != '\n') {
        set_error(RowError::kTextAfterQuote,
                  "text after the closing quote; quote the whole field and double inner quotes");
        while (p < end && b[p] != delim && b[p] != '\r' && b[p] != '\n') ++p;
        if (p == end && !eof_) return 0;
      }
    } else {
      size_t start = p;
      while (true) {
        while (p < end && !table.stop[static_cast<unsigned char>(b[p])]) ++p;
        if (p < end && b[p] == '\0') {
          set_error(RowError::kNulByte, "NUL byte in a field");
          ++p;
          continue;
        }
        break;
      }
      if (p == end && !eof_) return 0;
      span.offset = start;
      span.size = p - start;
    }
    if (span.size > options_.max_field_bytes) {
      set_error(RowError::kFieldTooLong, "field of " + std::to_string(span.size) +
                                             " bytes is longer than the limit of " +
                                             std::to_string(options_.max_field_bytes));
    }
    spans_.push_back(span);
    record->quoted.push_back(quoted);
    if (p == end) {  // end of input without a final line break
      raw_end = p;
      break;
    }
    if (b[p] == delim) {
      ++p;
      if (p == end && eof_) {  // "a,b," at EOF: one more empty field
        spans_.push_back({false, p, 0});
        record->quoted.push_back(false);
        raw_end = p;
        break;
      }
      continue;
    }
    raw_end = p;
    if (b[p] == '\r') {
      if (p + 1 == end && !eof_) return 0;
      p += (p + 1 < end && b[p + 1] == '\n') ? 2 : 1;
    } else {
      ++p;  // '\n'
    }
    break;
  }

  if (p - pos_ > options_.max_record_bytes) {
    *status = Status::Corrupt("line " + std::to_string(line_) + ": a record is longer than " +
                              FormatBytes(static_cast<int64_t>(options_.max_record_bytes)) +
                              "; a quote is probably not closed (or raise max_record_bytes)");
    return -1;
  }
  record->line = line_;
  record->byte_offset = base_offset_ + static_cast<int64_t>(pos_);
  record->raw = std::string_view(b + pos_, raw_end - pos_);
  record->fields.resize(spans_.size());
  for (size_t i = 0; i < spans_.size(); ++i) {
    const Span& s = spans_[i];
    record->fields[i] = std::string_view((s.in_scratch ? unescaped_.data() : b) + s.offset, s.size);
  }
  line_ += 1 + extra_lines;
  pos_ = p;
  return 1;
}

}  // namespace sluice::csv
