// archive/safe_reader_internal.h: what the files of the safe reader share (safe_reader.cpp
// reads the stream; member_names.cpp holds the name rules; zip_directory.cpp checks a zip's
// central directory). Not part of the archive module's interface: include safe_reader.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "archive/safe_reader.h"
#include "core/status.h"

namespace sluice::archive::internal {

// How much of a zip's end is kept to check its central directory.
inline constexpr size_t kZipTailBytes = size_t{16} << 20;

// ---- member names (member_names.cpp) -------------------------------------------------------

// InvalidArgument "archive A refused: entry "m" (#i): rule: why; advice".
Status Refuse(const ReadOptions& o, std::string_view member, int64_t index, std::string_view rule,
              std::string_view why);

// The member name every check and the sink see: `raw`, or, when it is not UTF-8 and the options
// can read its code page, the decoding. Decoded before any check: a code page's second byte may
// be '\' (0x5C in cp932), and only the decoded name says what the folders really are.
std::string DecodedName(const ReadOptions& options, std::string raw);

// CheckMemberName, with the invalid_utf8 rule only when `require_utf8`: the other rules work on
// bytes and hold for names in any encoding.
Result<std::string> CheckName(std::string_view raw, bool require_utf8);

// Zip tools on Windows (PowerShell 5's Compress-Archive, older .NET) write "dir\file.csv";
// unzip and Windows read the backslash as a folder separator, and so does sluice, before the
// name rules (so "..\x" is still a ".." component). Tar names keep the backslash rule.
std::string ZipSeparators(std::string_view name);

// True for a name that only names the archive's own top folder: ".", "./", ".//." and so on.
bool IsCurrentFolder(std::string_view name);

// ---- zip central directory (zip_directory.cpp) --------------------------------------------

// What the stream gave for one zip entry, to hold against its central directory record.
struct ZipEntrySeen {
  std::string member;
  bool is_file = false;
  uint32_t crc = 0;  // CRC-32 of the bytes read
  int64_t size = 0;  // bytes read
};

// The position of the zip end of central directory record in `tail` (the archive's last bytes),
// npos when there is none (the archive is cut short, or not a zip).
size_t FindEndRecord(std::string_view tail);

// Zip entry types (symlink, device...) live only in the central directory, which libarchive's
// streaming reader skips; a zip symlink would otherwise pass as a small regular file. This walks
// the directory in `tail` (the archive's last bytes; `total` is the archive's size) and applies
// the type and name rules to every record, holds each file's CRC-32 and uncompressed size
// against what the stream gave for the entry in the same position (`seen`), and checks it lists
// as many entries as were read.
Status CheckZipDirectory(std::string_view tail, int64_t total,
                         const std::vector<ZipEntrySeen>& seen, const ReadOptions& o);

}  // namespace sluice::archive::internal
