// infer/encoding_sniff.h: guesses the text encoding of a sample CSV from its bytes.
//
// Order: a byte order mark decides (UTF-8, UTF-16LE/BE, as csv/encoding.h reads them); then
// UTF-16 without a mark (NUL bytes on every other position); then valid UTF-8; otherwise each
// legacy candidate (cp949, shift_jis, windows-1252) is decoded with csv/encoding's own tables and
// scored by how plausible its text is: the share of double-byte pairs in the KS X 1001 rows
// (Korean), in the kana/kanji rows of JIS X 0208 (Japanese), or of non-ASCII characters that are
// Latin letters standing alone or in pairs inside words and common punctuation (Western Europe).
// Bytes a candidate cannot decode rule it out before any score is compared.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice::infer {

struct EncodingGuess {
  std::string encoding;     // a csv.encoding label: utf-8, utf-16, utf-16le, cp949, shift_jis, ...
  double confidence = 1.0;  // 0..1
  std::string reason;       // one line: what decided it
};

// The encoding `bytes` (the start of a file, or all of it) is most likely in.
EncodingGuess GuessEncoding(std::string_view bytes);

// `bytes` decoded to UTF-8 through csv/encoding (the decoder a merge uses); `*undecodable` (when
// given) gets the number of bytes the encoding could not decode. InvalidArgument for an unknown
// encoding.
Result<std::string> DecodeToUtf8(std::string_view bytes, const std::string& encoding,
                                 int64_t* undecodable = nullptr);

}  // namespace sluice::infer
