// archive/safe_reader.h: reads a partner archive in one streaming pass and hands each safe
// regular file to a sink, refusing the whole archive at the first unsafe entry.
//
// Formats: tar (ustar, pax, GNU) and zip, sniffed from the bytes, never from the name; inside
// gzip (inflated by ISA-L, multi-member streams and trailing zero padding handled), bzip2, zstd or
// xz (libarchive's own filters). Nothing is written to disk here and the archive is never held in
// memory: the caller supplies a read function and a sink, and builds object keys itself.
//
// Names are read as UTF-8 (zip's UTF-8 flag included, whatever the process locale); a name that
// is not UTF-8 (a legacy code page) is refused only when the sink wants the entry.
// Every entry, wanted or not, is checked (nested_archive only applies to wanted entries: an
// archive inside is never opened, and a skipped one is never written); folders are never handed
// over, so the archive's own folder ("./", ".") is skipped and a folder listed twice is no
// duplicate. Rules (the `rule` names appear in messages):
//   empty_name, absolute_path, dotdot, backslash, control_char, invalid_utf8, duplicate_name,
//   symlink, hardlink, device, fifo, socket, unsupported_type, nested_archive,
//   max_entries, max_entry_bytes, max_total_bytes, max_ratio,
//   crc_mismatch, size_mismatch (zip: every entry's CRC-32 and size, computed as its bytes flow,
//   against its local header or data descriptor and against the central directory).
// Compressed and expanded sizes are tracked as the bytes flow, so a bomb is stopped after at most
// one extra read block, never after expanding.
// Thread-safety: ReadArchive is reentrant; a sink is used by the calling thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "config/pipeline_config.h"
#include "core/status.h"

namespace sluice::archive {

// Reads up to n bytes of the archive into buf; 0 at its end.
using ReadFn = std::function<Result<size_t>(char* buf, size_t n)>;

struct EntryInfo {
  std::string member;      // the name as stored in the archive
  std::string normalized;  // "." and empty segments dropped: "./export//a.csv" -> "export/a.csv"
  std::string base_name;   // last segment of `normalized`
  int64_t declared_size = -1;  // from the header, -1 when unknown
  int64_t index = 0;           // 0-based position among the archive's entries
  // false: `member` is not valid UTF-8 (a legacy code page); the sink should skip the entry and
  // show the name escaped: wanting it refuses the archive (invalid_utf8).
  bool name_is_utf8 = true;
};

class EntrySink {
 public:
  virtual ~EntrySink() = default;
  // A checked regular file starts. true: its bytes follow through Data() then End(); false: it
  // is skipped (its bytes are still read, checked and counted against the limits). true for an
  // entry whose name is not UTF-8 refuses the archive instead: create nothing for it.
  virtual Result<bool> Begin(const EntryInfo& entry) = 0;
  virtual Status Data(std::string_view chunk) = 0;
  virtual Status End() = 0;
};

struct ReadOptions {
  config::ExtractLimits limits;
  std::string archive_name;         // for messages: the archive's store key
  std::string checksum = "sha256";  // over the archive's bytes as read
  // The ratio rule applies once this many bytes have been expanded, so tiny archives whose tar
  // padding compresses to nothing are not refused.
  int64_t ratio_floor_bytes = int64_t{1} << 20;
  bool use_isal = true;  // false: libarchive's zlib filter for gzip (benchmark baseline)
  // Called about every 64 MiB of output with (uncompressed bytes so far, compressed bytes so far).
  std::function<void(int64_t, int64_t)> progress;
  // Reads a member name that is not UTF-8 (a zip from Korean or Japanese Windows names its files
  // in the code page) as UTF-8, or nullopt when it cannot. The decoded name is the one checked,
  // offered to the sink and extracted; without it such names are offered as they are and refused
  // when the sink wants them.
  std::function<std::optional<std::string>(std::string_view)> decode_name;
};

struct ReadStats {
  int64_t entries = 0;             // every header read, folders included
  int64_t files = 0;               // regular files
  int64_t uncompressed_bytes = 0;  // bytes of every regular file
  int64_t compressed_bytes = 0;    // bytes of the archive read
  std::string checksum;            // of the archive's bytes, "sha256:..."
  std::string format;              // libarchive's format name, e.g. "GNU tar format"
  std::string filter;              // "gzip (isa-l)", "bzip2", "zstd", "none", ...
};

// Reads the whole archive. A broken rule gives InvalidArgument "archive <name> refused: entry
// "<member>" (#<index>): <rule>: <why>"; a damaged stream or an empty (0-byte) file gives Corrupt
// naming the archive; sink and read errors are returned as they are.
Result<ReadStats> ReadArchive(const ReadFn& read, const ReadOptions& options, EntrySink* sink);

// Checks one member name against the name rules. Returns the normalized name, or
// InvalidArgument "<rule>: <why>".
Result<std::string> CheckMemberName(std::string_view name);

}  // namespace sluice::archive
