#include "csv/tokenizer.h"

#include <strings.h>

#include <algorithm>
#include <array>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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
  buf_.resize(std::max<size_t>(options_.buffer_bytes, 1));
}

Status Tokenizer::TooLong() const {
  return Status::Corrupt("line " + std::to_string(line_) +
                         ": a record starting here is longer than " +
                         FormatBytes(static_cast<int64_t>(options_.max_record_bytes)) +
                         ": a quote that is never closed, or a field really that long (then raise "
                         "csv.max_record_bytes in partner.yaml, up to 1GiB)");
}

Status Tokenizer::Fill() {
  // Keep the unconsumed tail, then read after it. The buffer grows only when one record does
  // not fit, so memory stays bounded by max_record_bytes (+1 byte of lookahead: a record of
  // exactly max_record_bytes that ends in a lone CR needs the next byte to know it is not CRLF;
  // refusing it here, as `>=` did, made the verdict depend on where reads split the file).
  size_t tail = end_ - pos_;
  if (tail > options_.max_record_bytes) {
    return TooLong();
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
    // Excel's delimiter line, "sep=;", before the header: not a record. The caller compares
    // the delimiter it declares with its own (declared_delimiter()).
    while (!eof_ && end_ - pos_ < 7) SLUICE_RETURN_IF_ERROR(Fill());
    const char* b = buf_.data() + pos_;
    const size_t n = end_ - pos_;
    if (n >= 5 && strncasecmp(b, "sep=", 4) == 0 && b[4] != '\r' && b[4] != '\n') {
      size_t eol = 0;
      if (n == 5) {
        eol = 5;  // the whole file
      } else if (b[5] == '\n') {
        eol = 6;
      } else if (b[5] == '\r') {
        eol = n >= 7 && b[6] == '\n' ? 7 : 6;
      }
      if (eol != 0) {
        declared_delimiter_ = b[4];
        pos_ += eol;
        ++line_;
      }
    }
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

// Bytes of `w` equal to the byte broadcast in `pattern` get their high bit set (exact: no
// false positives in the lowest matching byte, which is the one we use).
[[maybe_unused]] inline uint64_t MatchBytes(uint64_t w, uint64_t pattern) {
  uint64_t x = w ^ pattern;
  return (x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL;
}

// The first index >= p of a stop byte (delimiter, CR, LF, NUL), or `end`. Sixteen bytes at a
// time with SSE2 (every x86-64 has it): most fields are shorter than one block, so the loop
// branch is predictable and each field costs one load and four compares.
inline size_t ScanUnquoted(const char* b, size_t p, size_t end, char delim, const bool* stop) {
#if defined(__SSE2__)
  const __m128i vd = _mm_set1_epi8(delim);
  const __m128i vcr = _mm_set1_epi8('\r');
  const __m128i vlf = _mm_set1_epi8('\n');
  const __m128i vz = _mm_setzero_si128();
  while (p + 16 <= end) {
    __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + p));
    __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, vd), _mm_cmpeq_epi8(x, vcr)),
                             _mm_or_si128(_mm_cmpeq_epi8(x, vlf), _mm_cmpeq_epi8(x, vz)));
    int mask = _mm_movemask_epi8(m);
    if (mask != 0) return p + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    p += 16;
  }
#else
  const uint64_t kOnes = 0x0101010101010101ULL;
  const uint64_t d = kOnes * static_cast<unsigned char>(delim);
  const uint64_t cr = kOnes * '\r';
  const uint64_t lf = kOnes * '\n';
  while (p + 8 <= end) {
    uint64_t w;
    std::memcpy(&w, b + p, 8);
    uint64_t m = MatchBytes(w, d) | MatchBytes(w, cr) | MatchBytes(w, lf) | MatchBytes(w, 0);
    if (m != 0) return p + static_cast<size_t>(__builtin_ctzll(m) >> 3);
    p += 8;
  }
#endif
  while (p < end && !stop[static_cast<unsigned char>(b[p])]) ++p;
  return p;
}

}  // namespace

// State table (per field):
//   FIELD_START --quote--> QUOTED --quote--> QUOTE_SEEN --quote--> QUOTED (a doubled quote)
//                                            QUOTE_SEEN --delim/CR/LF/EOF--> field ends
//                                            QUOTE_SEEN --other--> TEXT_AFTER_QUOTE (row error)
//   FIELD_START --other--> UNQUOTED --delim--> FIELD_START; --CR/LF/EOF--> record ends
// QUOTED scans with memchr for the next quote, UNQUOTED eight bytes at a time, so long runs
// cost little. Fields view the buffer, or unescaped_ for fields with doubled quotes; unescaped_
// is sized to the buffer so it never reallocates while a record's views point into it.
int Tokenizer::Parse(Record* record, Status* status) {
  const char* b = buf_.data();
  const size_t end = end_;
  const char delim = options_.delimiter;
  const bool quoting = options_.quoting;
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

  if (!stop_ready_) {
    stop_.fill(false);
    stop_[static_cast<unsigned char>(delim)] = true;
    stop_['\r'] = true;
    stop_['\n'] = true;
    stop_[0] = true;
    stop_ready_ = true;
  }

  auto& fields = record->fields;
  auto& quoted_flags = record->quoted;
  fields.clear();
  quoted_flags.clear();
  size_t scratch_used = 0;
  // Unescaped text is never longer than the buffer; size it now so views never move.
  if (unescaped_.size() < buf_.size()) unescaped_.resize(buf_.size());
  record->error = RowError::kNone;
  int64_t extra_lines = 0;
  auto set_error = [&](RowError code, std::string message) {
    if (record->error != RowError::kNone) return;
    record->error = code;
    record->error_field = static_cast<int>(fields.size());
    record->error_message = std::move(message);
  };

  size_t raw_end = 0;
  bool complete = false;
#if defined(__SSE2__)
  // Fast path for runs of plain unquoted fields: one 16-byte mask of stop bytes (delimiter, CR,
  // LF, quote, NUL) serves every field ending inside the block. Anything unusual (a quote, a
  // NUL, a long field, the end of the buffer) hands over to the general loop below at the start
  // of the current field, with the fields found so far kept. Without quoting a quote still
  // hands over: only the general loop decides what it means.
  {
    const __m128i vd = _mm_set1_epi8(delim);
    const __m128i vq = _mm_set1_epi8(quote);
    const __m128i vcr = _mm_set1_epi8('\r');
    const __m128i vlf = _mm_set1_epi8('\n');
    const __m128i vz = _mm_setzero_si128();
    auto mask_at = [&](size_t at) {
      __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + at));
      __m128i m =
          _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, vd), _mm_cmpeq_epi8(x, vcr)),
                       _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, vlf), _mm_cmpeq_epi8(x, vz)),
                                    _mm_cmpeq_epi8(x, vq)));
      return static_cast<uint32_t>(_mm_movemask_epi8(m));
    };
    size_t field_start = p;
    size_t block = p;
    if (block + 16 <= end && b[p] != quote) {
      uint32_t mask = mask_at(block);
      while (true) {
        if (mask == 0) {
          block += 16;
          if (block + 16 > end || block - field_start > options_.max_field_bytes) break;
          mask = mask_at(block);
          continue;
        }
        size_t k = block + static_cast<size_t>(__builtin_ctz(mask));
        mask &= mask - 1;
        char c = b[k];
        if (c == delim) {
          if (k - field_start > options_.max_field_bytes) break;
          fields.push_back(std::string_view(b + field_start, k - field_start));
          quoted_flags.push_back(0);
          field_start = k + 1;
          // The next field must start plainly and have a full block after it.
          if (k + 17 > end || b[k + 1] == quote) break;
          continue;
        }
        if (c == '\n' || (c == '\r' && k + 1 < end)) {
          if (k - field_start > options_.max_field_bytes) break;
          fields.push_back(std::string_view(b + field_start, k - field_start));
          quoted_flags.push_back(0);
          raw_end = k;
          p = k + 1;
          if (c == '\r' && b[k + 1] == '\n') ++p;
          field_start = p;
          complete = true;
          break;
        }
        break;  // a quote or NUL inside a field, or CR at the buffer's end: the general loop
      }
    }
    if (!complete) p = field_start;
  }
#endif
  while (!complete) {
    std::string_view field;
    uint8_t quoted = 0;
    if (quoting && p < end && b[p] == quote) {
      quoted = 1;
      ++p;
      size_t start = p;
      bool escaped = false;
      size_t close = 0;
      while (true) {
        const void* q = std::memchr(b + p, quote, end - p);
        if (q == nullptr) {
          if (!eof_) return 0;
          *status = Status::Corrupt(
              "line " + std::to_string(line_) +
              ": a quoted field is not closed before the end of the file (the file is cut short, "
              "or a field has a stray quote); ask the partner to send it again, or set csv.quote: "
              "none in partner.yaml if quotes in these files are plain text");
          return -1;
        }
        size_t qi = static_cast<const char*>(q) - b;
        for (size_t i = p; i < qi; ++i) {
          char c = b[i];
          if (c == '\n' || (c == '\r' && (i + 1 >= end || b[i + 1] != '\n'))) ++extra_lines;
          if (c == '\0') set_error(RowError::kNulByte, "NUL byte in a quoted field");
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
        char* out = unescaped_.data() + scratch_used;
        size_t n = 0;
        for (size_t i = start; i < close; ++i) {
          out[n++] = b[i];
          if (b[i] == quote) ++i;  // the second of a doubled quote
        }
        field = std::string_view(out, n);
        scratch_used += n;
      } else {
        field = std::string_view(b + start, close - start);
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
        p = ScanUnquoted(b, p, end, delim, stop_.data());
        if (p < end && b[p] == '\0') {
          set_error(RowError::kNulByte, "NUL byte in a field");
          ++p;
          continue;
        }
        break;
      }
      if (p == end && !eof_) return 0;
      field = std::string_view(b + start, p - start);
    }
    if (field.size() > options_.max_field_bytes) {
      set_error(RowError::kFieldTooLong, "field of " + std::to_string(field.size()) +
                                             " bytes is longer than the limit of " +
                                             std::to_string(options_.max_field_bytes));
    }
    fields.push_back(field);
    quoted_flags.push_back(quoted);
    if (p == end) {  // end of input without a final line break
      raw_end = p;
      break;
    }
    char c = b[p];
    if (c == delim) {
      ++p;
      if (p == end && eof_) {  // "a,b," at EOF: one more empty field
        fields.push_back(std::string_view(b + p, 0));
        quoted_flags.push_back(0);
        raw_end = p;
        break;
      }
      continue;
    }
    raw_end = p;
    if (c == '\r') {
      if (p + 1 == end && !eof_) return 0;
      p += (p + 1 < end && b[p + 1] == '\n') ? 2 : 1;
    } else {
      ++p;  // '\n'
    }
    break;
  }

  if (p - pos_ > options_.max_record_bytes) {
    *status = TooLong();
    return -1;
  }
  if (record->error == RowError::kNone) {
    record->error_field = -1;
    if (!record->error_message.empty()) record->error_message.clear();
  }
  record->line = line_;
  record->byte_offset = base_offset_ + static_cast<int64_t>(pos_);
  record->raw = std::string_view(b + pos_, raw_end - pos_);
  line_ += 1 + extra_lines;
  pos_ = p;
  return 1;
}

}  // namespace sluice::csv
