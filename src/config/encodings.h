// config/encodings.h: the text encodings `csv.encoding` accepts, and the one table of their
// names that the config reader (validation, did-you-mean) and the csv decoder both use.
//
// Every encoding but UTF-8 and UTF-16 is decoded through glibc's iconv mapping (csv/encoding.h):
// single-byte code pages and the double-byte ones whose characters are one or two bytes
// (cp949, shift_jis, gbk, big5). Encodings with three- or four-byte sequences (euc-jp, gb18030)
// are not among them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::config {

struct Encoding {
  std::string name;             // canonical: "utf-8", "utf-16le", "cp949", "windows-1252", ...
  const char* iconv = nullptr;  // glibc's name when decoded through iconv's mapping, else null
};

// The encoding a `csv.encoding` label names; case, '_' for '-' and surrounding spaces do not
// matter ("UTF_8", "Shift_JIS", "CP1252"). nullopt when it names none.
std::optional<Encoding> FindEncoding(std::string_view label);

// Every accepted label (for did-you-mean suggestions).
const std::vector<std::string>& EncodingLabels();

// The canonical names, for messages: "utf-8, utf-16, utf-16le, ...".
const std::string& SupportedEncodingsText();

}  // namespace sluice::config
