// csv/encoding.h: converts a partner's text encoding to UTF-8 while streaming, through a table
// read off glibc's iconv once per process (so the mapping is glibc's, without a call per
// character).
//
// Supported: utf-8 (passed through untouched), cp949, euc-kr, latin-1 (iso-8859-1). euc-kr is
// decoded as cp949, its superset, as the WHATWG Encoding Standard (browsers) does.
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

// The canonical name of a supported encoding ("utf-8", "cp949", "euc-kr", "latin-1"), or
// InvalidArgument naming the supported ones.
Result<std::string> CanonicalEncoding(std::string_view name);

// A ByteSource yielding UTF-8. For utf-8 input returns a pass-through wrapper.
Result<std::unique_ptr<ByteSource>> MakeUtf8Source(ByteSource* inner, std::string_view encoding);

// The marker byte that replaces invalid input bytes.
inline constexpr char kInvalidByteMarker = '\xFF';

}  // namespace sluice::csv
