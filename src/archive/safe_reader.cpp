// Streaming, checking archive reader. See safe_reader.h for the rules. The source side (gzip
// through ISA-L) is gzip_feeder.cpp, the name rules member_names.cpp, the zip central directory
// check zip_directory.cpp.
#include "archive/safe_reader.h"

#include <archive.h>
#include <archive_entry.h>
#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#include <locale.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "archive/checksum.h"
#include "archive/gzip_feeder.h"
#include "archive/member_decoder.h"
#include "archive/safe_reader_internal.h"
#include "core/strings.h"

namespace sluice::archive {

using internal::CheckName;
using internal::CheckZipDirectory;
using internal::DecodedName;
using internal::Feeder;
using internal::FindEndRecord;
using internal::IsCurrentFolder;
using internal::Refuse;
using internal::ZipEntrySeen;
using internal::ZipSeparators;

namespace {

constexpr int64_t kProgressEvery = int64_t{64} << 20;
constexpr size_t kSniffBytes = 262;  // "ustar" sits at offset 257 of a tar header

std::string FormatRatio(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", r);
  return buf;
}

// The first bytes of other archive or compressed formats: a partner's CSV never starts so.
// `name`: the entry's base name. A gzip or zstd stream named for it ("orders.csv.gz",
// "orders.csv.zst") is one compressed file, which the sink expands (member_decoder.h), not an
// archive.
const char* NestedArchiveKind(std::string_view head, std::string_view name) {
  auto starts = [&](std::string_view magic) { return head.substr(0, magic.size()) == magic; };
  const MemberCodec codec = CodecForName(name);
  if (starts("\x1f\x8b")) return codec == MemberCodec::kGzip ? nullptr : "gzip";
  if (starts("\x28\xb5\x2f\xfd")) return codec == MemberCodec::kZstd ? nullptr : "zstd";
  if (starts("PK\x03\x04") || starts("PK\x05\x06") || starts("PK\x07\x08")) return "zip";
  if (starts("BZh")) return "bzip2";
  if (starts(std::string_view("\xfd"
                              "7zXZ\x00",
                              6)))
    return "xz";
  if (starts("7z\xbc\xaf\x27\x1c")) return "7z";
  if (starts("Rar!\x1a\x07")) return "rar";
  if (head.size() >= 262 && head.substr(257, 5) == "ustar") return "tar";
  return nullptr;
}

constexpr const char* kNestedAdvice =
    " archive; nested archives are not extracted: ask the partner to put the CSV files in the "
    "archive itself";

// libarchive's last error on one line (some span lines; `sluice show` prints the first).
std::string LibMessage(struct archive* a) {
  const char* msg = archive_error_string(a);
  std::string out = msg ? msg : "unknown error";
  for (char& c : out) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return Printable(out, 400);
}

// What to do about an archive libarchive cannot read, from what it said.
std::string LibErrorAdvice(std::string_view msg) {
  auto has = [&](std::string_view word) { return msg.find(word) != std::string_view::npos; };
  if (has("assphrase") || has("ncrypt")) {
    return "encrypted archives are not supported: ask the partner to send it without a password";
  }
  if (has("nsupported") || has("not supported")) {
    return "the archive uses a feature sluice cannot read: ask the partner to send a standard "
           "tar.gz, or a zip with Deflate (or no) compression";
  }
  return "the archive is damaged or truncated: ask the partner to deliver it again";
}

// Makes this thread's LC_CTYPE UTF-8 while it lives. libarchive converts a zip name flagged
// UTF-8 (bit 11: Python, Java, 7-Zip, Windows) into the current locale's charset, and in the
// "C" locale a program starts in, every non-ASCII name fails to convert and is lost. Only the
// calling thread changes, only around libarchive's header parsing; the sink still runs in the
// caller's locale (fnmatch there matches names byte by byte).
class ScopedUtf8Ctype {
 public:
  ScopedUtf8Ctype() {
    static const locale_t utf8 = [] {
      locale_t l = ::newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
      if (l == static_cast<locale_t>(nullptr)) {
        l = ::newlocale(LC_CTYPE_MASK, "en_US.UTF-8", static_cast<locale_t>(nullptr));
      }
      return l;
    }();
    if (utf8 != static_cast<locale_t>(nullptr)) previous_ = ::uselocale(utf8);
  }
  ~ScopedUtf8Ctype() {
    if (previous_ != static_cast<locale_t>(nullptr)) ::uselocale(previous_);
  }
  ScopedUtf8Ctype(const ScopedUtf8Ctype&) = delete;
  ScopedUtf8Ctype& operator=(const ScopedUtf8Ctype&) = delete;

 private:
  locale_t previous_ = static_cast<locale_t>(nullptr);
};

la_ssize_t ReadCallback(struct archive*, void* client, const void** buf) {
  return static_cast<Feeder*>(client)->Next(buf);
}

struct ArchiveDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};

// The entry's name: UTF-8 when libarchive can give it so, else the bytes as stored (a tar or
// unflagged zip name in a legacy code page). Called under ScopedUtf8Ctype.
Result<std::string> EntryName(struct archive_entry* e) {
  if (const char* u = archive_entry_pathname_utf8(e)) return std::string(u);
  if (const char* m = archive_entry_pathname(e)) return std::string(m);
  return Status::InvalidArgument(
      "the name cannot be decoded (a zip entry flagged UTF-8 whose name is not UTF-8)");
}

}  // namespace

Result<ReadStats> ReadArchive(const ReadFn& read, const ReadOptions& options, EntrySink* sink) {
  const config::ExtractLimits& limits = options.limits;
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<Checksum> sum, MakeChecksum(options.checksum));
  Feeder feeder(read, sum.get(), options.archive_name);
  SLUICE_ASSIGN_OR_RETURN(bool is_gzip, feeder.Prime());
  if (feeder.compressed_bytes() == 0) {
    // libarchive would call it an unrecognized format; the fix is a new delivery, not a format.
    return Status::Corrupt("archive " + options.archive_name +
                           " is empty (0 bytes); ask the partner to deliver it again");
  }

  ReadStats stats;
  std::unique_ptr<struct archive, ArchiveDeleter> a(archive_read_new());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_zip(a.get());
  if (is_gzip && options.use_isal) {
    feeder.EnableIsal();
    stats.filter = "gzip (isa-l)";
  } else {
    archive_read_support_filter_gzip(a.get());
    archive_read_support_filter_bzip2(a.get());
    archive_read_support_filter_zstd(a.get());
    archive_read_support_filter_xz(a.get());
  }

  // `cat a.tar b.tar` (or two .tar.gz files): tar readers stop at the first end-of-archive
  // marker and silently drop the rest; read on instead, so every member is seen and checked.
  archive_read_set_format_option(a.get(), "tar", "read_concatenated_archives", "1");

  auto lib_error = [&](std::string_view what) -> Status {
    if (!feeder.error().ok()) return feeder.error();
    const std::string msg = LibMessage(a.get());
    return Status::Corrupt("archive " + options.archive_name + ": " + std::string(what) + ": " +
                           msg + "; " + LibErrorAdvice(msg));
  };

  {
    ScopedUtf8Ctype utf8;  // libarchive takes the archive's charset from the first call
    if (archive_read_open(a.get(), &feeder, nullptr, ReadCallback, nullptr) != ARCHIVE_OK) {
      if (!feeder.error().ok()) return feeder.error();
      return Status::Corrupt("archive " + options.archive_name +
                             ": cannot be opened: " + LibMessage(a.get()) +
                             "; expected a tar (.tar, .tar.gz/.tgz, .tar.bz2, .tar.xz, .tar.zst) "
                             "or a zip file");
    }
  }

  std::unordered_map<std::string, std::string> seen;  // normalized name -> as the archive has it
  std::vector<ZipEntrySeen> zip_seen;                 // zip only: every entry in archive order
  int64_t next_progress = kProgressEvery;
  std::string head;
  std::string last_shown;  // the previous entry's name: a damaged header is found after it
  while (true) {
    struct archive_entry* e = nullptr;
    std::optional<ScopedUtf8Ctype> utf8(std::in_place);
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      // A size in a header that differs from the data puts the next header in the wrong place:
      // the entry before it is the likely culprit.
      return lib_error(stats.entries == 0
                           ? std::string("cannot read the first entry")
                           : "cannot read the entry after entry " + std::to_string(stats.entries) +
                                 " \"" + Printable(last_shown, 120) +
                                 "\" (whose header may give a wrong size)");
    }
    if (stats.entries == 0) {
      const char* fmt = archive_format_name(a.get());
      stats.format = fmt ? fmt : "";
      if (stats.filter.empty()) {
        const char* f = archive_filter_name(a.get(), 0);
        stats.filter = f ? f : "none";
      }
    }
    if (archive_format(a.get()) == ARCHIVE_FORMAT_ZIP ||
        (archive_format(a.get()) & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_ZIP) {
      if (!feeder.is_zip()) {
        return Status::InvalidArgument("archive " + options.archive_name +
                                       " refused: zip_directory: a zip inside a compressed "
                                       "stream cannot have its central directory verified");
      }
    }
    const int64_t index = stats.entries++;
    Result<std::string> member = EntryName(e);
    utf8.reset();
    if (member.ok()) *member = DecodedName(options, std::move(*member));
    std::string shown = member.ok() ? *member : std::string("?");
    last_shown = shown;
    if (feeder.is_zip()) zip_seen.push_back({shown, false, 0, 0});
    if (!member.ok())
      return Refuse(options, shown, index, "invalid_utf8", member.status().message());
    if (stats.entries > limits.max_entries) {
      return Refuse(options, shown, index, "max_entries",
                    "more than " + std::to_string(limits.max_entries) +
                        " entries; raise limits.max_entries in partner.yaml if this is expected");
    }
    // `tar czf x.tar.gz -C dir .` stores the folder itself as "./" (or "."): nothing to check,
    // nothing to extract.
    if (archive_entry_filetype(e) == AE_IFDIR && archive_entry_hardlink(e) == nullptr &&
        archive_entry_symlink(e) == nullptr && IsCurrentFolder(*member)) {
      continue;
    }
    Result<std::string> normalized =
        CheckName(feeder.is_zip() ? ZipSeparators(*member) : *member, /*require_utf8=*/false);
    if (!normalized.ok()) {
      std::string msg = normalized.status().message();
      size_t colon = msg.find(": ");
      return Refuse(options, shown, index, msg.substr(0, colon), msg.substr(colon + 2));
    }
    if (archive_entry_hardlink(e) != nullptr) {
      return Refuse(options, shown, index, "hardlink",
                    std::string("hard link to \"") + Printable(archive_entry_hardlink(e)) + "\"");
    }
    mode_t type = archive_entry_filetype(e);
    if (type == AE_IFLNK || archive_entry_symlink(e) != nullptr) {
      const char* target = archive_entry_symlink(e);
      return Refuse(options, shown, index, "symlink",
                    "symbolic link to \"" + Printable(target ? target : "") + "\"");
    }
    if (type == AE_IFCHR || type == AE_IFBLK) {
      return Refuse(options, shown, index, "device", "device file");
    }
    if (type == AE_IFIFO) return Refuse(options, shown, index, "fifo", "named pipe (FIFO)");
    if (type == AE_IFSOCK) return Refuse(options, shown, index, "socket", "socket");
    // Folders are never extracted, so one listed twice (tar -T lists, some zip tools) is harmless.
    if (type == AE_IFDIR) continue;
    if (auto [it, added] = seen.emplace(*normalized, shown); !added) {
      return Refuse(options, shown, index, "duplicate_name",
                    "an earlier entry, \"" + Printable(it->second) + "\", has the same name" +
                        (it->second == *normalized && shown == *normalized
                             ? std::string()
                             : " (both are \"" + Printable(*normalized) + "\")") +
                        "; ask the partner to send each file once");
    }
    if (type != AE_IFREG) {
      return Refuse(options, shown, index, "unsupported_type", "not a regular file or folder");
    }
    ++stats.files;
    EntryInfo info;
    info.member = *member;
    info.normalized = *normalized;
    size_t slash = normalized->rfind('/');
    info.base_name = slash == std::string::npos ? *normalized : normalized->substr(slash + 1);
    info.declared_size = archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;
    info.index = index;
    info.name_is_utf8 = IsValidUtf8(*member);
    if (info.declared_size > limits.max_entry_bytes) {
      return Refuse(options, shown, index, "max_entry_bytes",
                    "declares " + FormatBytes(info.declared_size) + ", more than " +
                        FormatBytes(limits.max_entry_bytes) +
                        "; raise limits.max_entry_bytes in partner.yaml if this is expected");
    }
    SLUICE_ASSIGN_OR_RETURN(bool want, sink->Begin(info));
    if (want && !info.name_is_utf8) {
      return Refuse(options, shown, index, "invalid_utf8",
                    "the name is not valid UTF-8 and the entry would be extracted; ask the partner "
                    "for UTF-8 or ASCII file names (in zip tools: Unicode names)");
    }
    const bool zip_entry = feeder.is_zip();
    uint32_t crc = 0;

    int64_t entry_bytes = 0;
    head.clear();
    bool head_checked = false;
    // Checks what the bytes so far reveal; called for every chunk before it goes to the sink.
    auto account = [&](std::string_view chunk) -> Status {
      entry_bytes += static_cast<int64_t>(chunk.size());
      stats.uncompressed_bytes += static_cast<int64_t>(chunk.size());
      if (entry_bytes > limits.max_entry_bytes) {
        return Refuse(options, shown, index, "max_entry_bytes",
                      "expands past " + FormatBytes(limits.max_entry_bytes) +
                          "; raise limits.max_entry_bytes in partner.yaml if this is expected");
      }
      if (stats.uncompressed_bytes > limits.max_total_bytes) {
        return Refuse(options, shown, index, "max_total_bytes",
                      "the archive expands past " + FormatBytes(limits.max_total_bytes) +
                          "; raise limits.max_total_bytes in partner.yaml if this is expected");
      }
      if (zip_entry) {
        crc = crc32_gzip_refl(crc, reinterpret_cast<const unsigned char*>(chunk.data()),
                              chunk.size());
      }
      int64_t in = std::max<int64_t>(feeder.compressed_bytes(), 1);
      if (stats.uncompressed_bytes > options.ratio_floor_bytes &&
          static_cast<double>(stats.uncompressed_bytes) >
              limits.max_ratio * static_cast<double>(in)) {
        return Refuse(options, shown, index, "max_ratio",
                      FormatBytes(stats.uncompressed_bytes) + " expanded from " + FormatBytes(in) +
                          ", a compression ratio above " + FormatRatio(limits.max_ratio) +
                          " (a decompression bomb?); raise limits.max_ratio if this is expected");
      }
      // Only entries that would be extracted are sniffed: a compressed attachment that matches
      // no table (notes.txt.gz) is skipped like any other unmatched member.
      if (want && !head_checked) {
        head.append(chunk.substr(0, kSniffBytes - std::min(head.size(), kSniffBytes)));
        if (head.size() >= kSniffBytes) {
          head_checked = true;
          if (const char* kind = NestedArchiveKind(head, info.base_name)) {
            return Refuse(options, shown, index, "nested_archive",
                          std::string("the entry is itself a ") + kind + kNestedAdvice);
          }
        }
      }
      if (options.progress && stats.uncompressed_bytes >= next_progress) {
        next_progress += kProgressEvery;
        options.progress(stats.uncompressed_bytes, feeder.compressed_bytes());
      }
      return Status::Ok();
    };

    static const std::string kZeros(64 * 1024, '\0');
    while (true) {
      const void* buf = nullptr;
      size_t size = 0;
      la_int64_t offset = 0;
      int dr = archive_read_data_block(a.get(), &buf, &size, &offset);
      if (dr == ARCHIVE_EOF) break;
      if (zip_entry && dr != ARCHIVE_OK) {
        // libarchive checks each zip entry's CRC-32 and sizes against its local header or data
        // descriptor at the entry's end, and reports a difference only as a warning.
        std::string why = LibMessage(a.get());
        if (dr == ARCHIVE_WARN) {
          bool crc_rule = why.find("CRC") != std::string::npos;
          return Refuse(options, shown, index, crc_rule ? "crc_mismatch" : "size_mismatch",
                        why +
                            " (local header); the archive is damaged, ask the partner to "
                            "deliver it again");
        }
        // An entry whose size follows its data (a data descriptor) ends where a descriptor
        // carrying the CRC-32 of the data read so far appears; damaged data or a damaged CRC
        // means none ever does.
        // libarchive then reads to the end of the file and calls it truncated; it is not when
        // the archive's end record is there.
        if (why.find("Truncated ZIP file data") == 0 && feeder.at_eof() &&
            FindEndRecord(feeder.tail()) != std::string_view::npos) {
          return Refuse(options, shown, index, "crc_mismatch",
                        "no data descriptor with the CRC-32 of the entry's data follows it: the "
                        "data or its CRC is damaged; ask the partner to deliver it again");
        }
      }
      if (dr != ARCHIVE_OK && dr != ARCHIVE_WARN) {
        return lib_error("cannot read entry \"" + Printable(shown) + "\"");
      }
      // Sparse entries: the holes are zeros, written out and counted like any byte.
      while (offset > entry_bytes) {
        std::string_view zeros(kZeros.data(), static_cast<size_t>(std::min<int64_t>(
                                                  offset - entry_bytes, kZeros.size())));
        SLUICE_RETURN_IF_ERROR(account(zeros));
        if (want) SLUICE_RETURN_IF_ERROR(sink->Data(zeros));
      }
      std::string_view chunk(static_cast<const char*>(buf), size);
      if (chunk.empty()) continue;
      SLUICE_RETURN_IF_ERROR(account(chunk));
      if (want) SLUICE_RETURN_IF_ERROR(sink->Data(chunk));
    }
    if (want && !head_checked) {
      if (const char* kind = NestedArchiveKind(head, info.base_name)) {
        return Refuse(options, shown, index, "nested_archive",
                      std::string("the entry is itself a ") + kind + kNestedAdvice);
      }
    }
    if (zip_entry) {
      zip_seen.back().is_file = true;
      zip_seen.back().crc = crc;
      zip_seen.back().size = entry_bytes;
    }
    if (want) SLUICE_RETURN_IF_ERROR(sink->End());
  }
  // Drain what follows the last entry so the checksum covers the whole file.
  if (!feeder.error().ok()) return feeder.error();
  const void* rest = nullptr;
  while (true) {
    la_ssize_t n = feeder.Next(&rest);
    if (n < 0) return feeder.error();
    if (n == 0) break;
  }
  stats.compressed_bytes = feeder.compressed_bytes();
  if (feeder.is_zip()) {
    SLUICE_RETURN_IF_ERROR(
        CheckZipDirectory(feeder.tail(), stats.compressed_bytes, zip_seen, options));
  }
  stats.checksum = sum->Finish();
  return stats;
}

}  // namespace sluice::archive
