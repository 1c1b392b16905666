// csv/encoding.h: converts a partner's text encoding to UTF-8 while streaming, through a table
// read off glibc's iconv once per process (so the mapping is glibc's, without a call per
// character).
//
// Supported: the encodings of config/encodings.h. UTF-8 is passed through untouched, UTF-16 is
// decoded here, and the rest through their DecodeTable. A byte order mark at the start of the
// input (UTF-8, UTF-16LE, UTF-16BE) decides the encoding whatever the label says, as browsers
// do; UTF-16's mark is dropped, UTF-8's is left to the tokenizer.
// A byte sequence that is invalid in the source encoding becomes the byte 0xFF in the output:
// 0xFF never occurs in valid UTF-8, so the row holding it fails UTF-8 validation later and is
// rejected with its line number instead of being silently altered or stopping the file.
// Ownership: borrows the inner source. Thread-safety: one converter per thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "csv/tokenizer.h"

namespace sluice::csv {

// The canonical name of a supported encoding ("utf-8", "cp949", "windows-1252", ...), or
// InvalidArgument naming the supported ones.
Result<std::string> CanonicalEncoding(std::string_view name);

// A ByteSource yielding UTF-8. Reads the first bytes of `inner` to look for a byte order mark;
// `*decoded_as`, when given, is set to the encoding the input is decoded as: the label's
// canonical name, or the one its byte order mark names ("utf-16" becomes "utf-16le" or
// "utf-16be").
Result<std::unique_ptr<ByteSource>> MakeUtf8Source(ByteSource* inner, std::string_view encoding,
                                                   std::string* decoded_as = nullptr);

// An input byte the encoding cannot decode becomes three bytes: this marker (never valid UTF-8,
// so its row is rejected) and the byte's two hex digits as 0x80 | nibble (no delimiter, quote
// or line break can appear), so the rejects file can show the byte the file really had.
inline constexpr char kInvalidByteMarker = '\xFF';

// Writes the marker sequence for each of `n` undecodable bytes at `out`; returns the new end.
inline char* MarkUndecodable(const unsigned char* bytes, size_t n, char* out) {
  for (size_t k = 0; k < n; ++k) {
    *out++ = kInvalidByteMarker;
    *out++ = static_cast<char>(0x80 | (bytes[k] >> 4));
    *out++ = static_cast<char>(0x80 | (bytes[k] & 0x0F));
  }
  return out;
}

// `decoded` (a line of a decoded file) for a message or the rejects file: each undecodable byte
// as \xHH of the byte the file had, other invalid bytes and control characters as Printable does.
std::string ShowUndecodable(std::string_view decoded);

}  // namespace sluice::csv
