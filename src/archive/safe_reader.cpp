// Streaming, checking archive reader. See safe_reader.h for the rules.
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
#include "core/strings.h"

namespace sluice::archive {

namespace {

constexpr size_t kInBufferSize = size_t{1} << 20;
constexpr size_t kOutBufferSize = size_t{1} << 20;
constexpr int64_t kProgressEvery = int64_t{64} << 20;
constexpr size_t kSniffBytes = 262;
constexpr size_t kTarBlock = 512;
constexpr size_t kZipTailBytes = size_t{16} << 20;  // "ustar" sits at offset 257 of a tar header

// What the partner can change, for the rules about names and entry types (the others say it
// in `why`).
std::string_view RuleAdvice(std::string_view rule) {
  if (rule == "dotdot" || rule == "absolute_path" || rule == "backslash" || rule == "empty_name" ||
      rule == "control_char") {
    return "; only plain relative names are extracted: ask the partner to build the archive "
           "from inside the export folder (tar czf out.tar.gz -C export .)";
  }
  if (rule == "symlink" || rule == "hardlink" || rule == "device" || rule == "fifo" ||
      rule == "socket") {
    return "; only regular files are extracted: ask the partner for an archive of plain files "
           "(tar --dereference --hard-dereference)";
  }
  return "";
}

Status Refuse(const ReadOptions& o, std::string_view member, int64_t index, std::string_view rule,
              std::string_view why) {
  return Status::InvalidArgument("archive " + o.archive_name + " refused: entry \"" +
                                 Printable(member) + "\" (#" + std::to_string(index + 1) +
                                 "): " + std::string(rule) + ": " + std::string(why) +
                                 std::string(RuleAdvice(rule)));
}

// Unicode characters that NFKC-normalise (or that tools commonly fold) to '.', '/' or '\'.
// A name using them "escapes only after normalisation", so they are folded before the checks.
std::string FoldConfusables(std::string_view s) {
  struct Fold {
    std::string_view from;
    char to;
  };
  static constexpr Fold kFolds[] = {
      {"\xEF\xBC\x8E", '.'},  {"\xE2\x80\xA4", '.'},  {"\xEF\xB9\x92", '.'},   // ．․﹒
      {"\xEF\xBC\x8F", '/'},  {"\xE2\x88\x95", '/'},  {"\xE2\x81\x84", '/'},   // ／∕⁄
      {"\xEF\xBC\xBC", '\\'}, {"\xE2\x88\x96", '\\'}, {"\xEF\xB9\xA8", '\\'},  // ＼∖﹨
  };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    bool folded = false;
    for (const Fold& f : kFolds) {
      if (s.substr(i, f.from.size()) == f.from) {
        out += f.to;
        i += f.from.size();
        folded = true;
        break;
      }
    }
    if (!folded) out += s[i++];
  }
  return out;
}

// The first bytes of other archive or compressed formats: a partner's CSV never starts so.
std::string FormatRatio(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", r);
  return buf;
}

const char* NestedArchiveKind(std::string_view head) {
  auto starts = [&](std::string_view magic) { return head.substr(0, magic.size()) == magic; };
  if (starts("\x1f\x8b")) return "gzip";
  if (starts("PK\x03\x04") || starts("PK\x05\x06") || starts("PK\x07\x08")) return "zip";
  if (starts("BZh")) return "bzip2";
  if (starts("\x28\xb5\x2f\xfd")) return "zstd";
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

// The member name every check and the sink see: `raw`, or, when it is not UTF-8 and the options
// can read its code page, the decoding. Decoded before any check: a code page's second byte may
// be '\' (0x5C in cp932), and only the decoded name says what the folders really are.
std::string DecodedName(const ReadOptions& options, std::string raw) {
  if (!options.decode_name || IsValidUtf8(raw)) return raw;
  std::optional<std::string> decoded = options.decode_name(raw);
  return decoded ? std::move(*decoded) : std::move(raw);
}

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

// Feeds libarchive: reads the source, checksums and counts the raw bytes, and (for gzip)
// inflates with ISA-L so libarchive only parses the tar stream.
class Feeder {
 public:
  Feeder(const ReadFn& read, Checksum* sum, const std::string& archive_name)
      : read_(read), sum_(sum), archive_name_(archive_name), in_(kInBufferSize) {}

  // Reads the first block so the compression can be sniffed. Returns true for gzip.
  Result<bool> Prime() {
    SLUICE_RETURN_IF_ERROR(Refill());
    // A source may hand over fewer bytes than the magic numbers take (a pipe, a slow stream).
    while (avail_ > 0 && avail_ < 4 && !eof_) SLUICE_RETURN_IF_ERROR(Refill(avail_));
    primed_ = true;
    if (avail_ >= 4 && std::string_view(in_.data(), 4) == std::string_view("PK\x03\x04", 4)) {
      // Zip keeps entry types in its central directory at the end, which the streaming reader
      // never parses: keep the tail so CheckZipDirectory() can.
      keep_tail_ = true;
      tail_.assign(in_.data(), avail_);
    }
    return avail_ >= 2 && static_cast<unsigned char>(in_[0]) == 0x1f &&
           static_cast<unsigned char>(in_[1]) == 0x8b;
  }

  void EnableIsal() {
    gzip_ = true;
    out_.resize(kOutBufferSize);
    isal_inflate_init(&state_);
    state_.crc_flag = ISAL_GZIP;
    state_.next_in = reinterpret_cast<uint8_t*>(in_.data());
    state_.avail_in = static_cast<uint32_t>(avail_);
  }

  // libarchive's read callback: the next block of (decompressed, for gzip) bytes, 0 at the end.
  la_ssize_t Next(const void** buf) {
    Result<size_t> n = gzip_ ? NextInflated(buf) : NextRaw(buf);
    if (!n.ok()) {
      error_ = n.status();
      return -1;
    }
    return static_cast<la_ssize_t>(*n);
  }

  int64_t compressed_bytes() const { return compressed_; }
  const Status& error() const { return error_; }
  bool is_zip() const { return keep_tail_; }
  // True once the source has reported its end.
  bool at_eof() const { return eof_; }
  // The last bytes of a zip archive (at least kZipTailBytes, or all of it when shorter).
  std::string_view tail() const { return tail_; }

 private:
  // Reads the next block into the input buffer from `keep` on (the bytes before it stay).
  Status Refill(size_t keep = 0) {
    if (eof_) {
      avail_ = keep;
      return Status::Ok();
    }
    char* at = in_.data() + keep;
    SLUICE_ASSIGN_OR_RETURN(size_t n, read_(at, in_.size() - keep));
    avail_ = keep + n;
    if (n == 0) {
      eof_ = true;
      return Status::Ok();
    }
    sum_->Update(at, n);
    compressed_ += static_cast<int64_t>(n);
    if (keep_tail_ && compressed_ > static_cast<int64_t>(n)) {
      tail_.append(at, n);
      if (tail_.size() > 2 * kZipTailBytes) tail_.erase(0, tail_.size() - kZipTailBytes);
    }
    return Status::Ok();
  }

  Result<size_t> NextRaw(const void** buf) {
    if (primed_) {
      primed_ = false;
    } else {
      SLUICE_RETURN_IF_ERROR(Refill());
    }
    *buf = in_.data();
    return avail_;
  }

  // Reads the rest of the source, which must be all zeros; Corrupt naming the first other byte.
  Status SkipZeroPadding() {
    while (true) {
      for (uint32_t i = 0; i < state_.avail_in; ++i) {
        if (state_.next_in[i] != 0) {
          int64_t at = compressed_ - static_cast<int64_t>(state_.avail_in) + i;
          return Status::Corrupt("archive " + archive_name_ +
                                 ": damaged gzip stream: zero padding after the last gzip member "
                                 "is followed by other bytes at byte " +
                                 std::to_string(at) + "; ask the partner to deliver it again");
        }
      }
      state_.avail_in = 0;
      SLUICE_RETURN_IF_ERROR(Refill());
      if (avail_ == 0) return Status::Ok();
      state_.next_in = reinterpret_cast<uint8_t*>(in_.data());
      state_.avail_in = static_cast<uint32_t>(avail_);
    }
  }

  Result<size_t> NextInflated(const void** buf) {
    state_.next_out = out_.data();
    state_.avail_out = static_cast<uint32_t>(out_.size());
    while (state_.avail_out == out_.size()) {
      if (state_.avail_in == 0) {
        if (eof_) break;
        SLUICE_RETURN_IF_ERROR(Refill());
        state_.next_in = reinterpret_cast<uint8_t*>(in_.data());
        state_.avail_in = static_cast<uint32_t>(avail_);
        if (avail_ == 0) break;
      }
      if (member_done_) {
        // Zero bytes after a member are padding (tape blocks, some upload tools); gzip -t and
        // GNU tar accept them, so do we, as long as nothing but zeros follows.
        if (*state_.next_in == 0) {
          SLUICE_RETURN_IF_ERROR(SkipZeroPadding());
          break;
        }
        // Another gzip member follows (pigz, concatenated files): start afresh on the same input.
        // Anything else (a second file appended, a stray byte) is not part of the archive.
        if (state_.next_in[0] != 0x1f || (state_.avail_in >= 2 && state_.next_in[1] != 0x8b) ||
            (state_.avail_in == 1 && eof_)) {
          return TrailingBytes();
        }
        later_member_at_ = compressed_ - static_cast<int64_t>(state_.avail_in);
        uint8_t* next_in = state_.next_in;
        uint32_t avail_in = state_.avail_in;
        isal_inflate_reset(&state_);
        state_.crc_flag = ISAL_GZIP;
        state_.next_in = next_in;
        state_.avail_in = avail_in;
        state_.next_out = out_.data();
        state_.avail_out = static_cast<uint32_t>(out_.size());
        member_done_ = false;
      }
      int rc = isal_inflate(&state_);
      if (rc < 0) return InflateError(rc);
      if (state_.block_state == ISAL_BLOCK_FINISH) member_done_ = true;
    }
    size_t produced = out_.size() - state_.avail_out;
    if (produced == 0 && eof_ && !member_done_) {
      return Status::Corrupt("archive " + archive_name_ + ": gzip stream is truncated after " +
                             std::to_string(compressed_) + " bytes" +
                             (later_member_at_ >= 0 ? " (in the gzip member that starts at byte " +
                                                          std::to_string(later_member_at_) + ")"
                                                    : std::string()) +
                             "; the upload may be incomplete: ask the partner to deliver it again");
    }
    if (produced == 0 && member_done_ && inflated_ % kTarBlock != 0) {
      // Reading on past a tar's end marker (concatenated archives) needs whole 512-byte blocks;
      // a tar padded with a few zeros more (complete: the gzip trailer vouched for every byte)
      // gets the rest of its last block, so zeros read as zeros and anything else as damage.
      produced = kTarBlock - static_cast<size_t>(inflated_ % kTarBlock);
      std::memset(out_.data(), 0, produced);
    }
    inflated_ += static_cast<int64_t>(produced);
    *buf = out_.data();
    return produced;
  }

  // Where in the file the bytes libarchive has not consumed begin.
  int64_t UnreadAt() const { return compressed_ - static_cast<int64_t>(state_.avail_in); }

  Status TrailingBytes() const {
    return Status::Corrupt("archive " + archive_name_ + ": bytes at offset " +
                           std::to_string(UnreadAt()) +
                           " after the end of the gzip stream are neither another gzip member nor "
                           "zero padding (something appended to the file?); ask the partner to "
                           "deliver it again");
  }

  Status InflateError(int rc) const {
    std::string what;
    switch (rc) {
      case ISAL_INVALID_BLOCK:
      case ISAL_INVALID_SYMBOL:
      case ISAL_INVALID_LOOKBACK:
        what = "the compressed data is damaged (invalid deflate data)";
        break;
      case ISAL_INVALID_WRAPPER:
        if (later_member_at_ >= 0) {
          return Status::Corrupt(
              "archive " + archive_name_ + ": bytes at offset " + std::to_string(later_member_at_) +
              " after the end of the gzip stream start like a gzip member but are not one; ask "
              "the partner to deliver it again");
        }
        what = "the gzip header is damaged";
        break;
      case ISAL_UNSUPPORTED_METHOD:
        what = "the gzip header names a compression method other than deflate";
        break;
      case ISAL_INCORRECT_CHECKSUM:
        what = "the CRC-32 or length in a gzip trailer does not match the data (damaged data)";
        break;
      default:
        what = "damaged gzip stream (isa-l error " + std::to_string(rc) + ")";
        break;
    }
    return Status::Corrupt("archive " + archive_name_ + ": " + what + ", near byte " +
                           std::to_string(UnreadAt()) + "; ask the partner to deliver it again");
  }

  const ReadFn& read_;
  Checksum* sum_;
  const std::string& archive_name_;
  std::vector<char> in_;
  size_t avail_ = 0;
  bool eof_ = false;
  bool primed_ = false;
  int64_t compressed_ = 0;
  Status error_;
  bool gzip_ = false;
  bool member_done_ = false;
  int64_t later_member_at_ = -1;  // where the last member after the first began
  int64_t inflated_ = 0;          // bytes handed to libarchive
  inflate_state state_{};
  std::vector<uint8_t> out_;
  bool keep_tail_ = false;
  std::string tail_;
};

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

uint64_t Le(std::string_view s, size_t pos, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[pos + i]);
  return v;
}

std::string Hex32(uint64_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08llx", static_cast<unsigned long long>(v & 0xffffffffu));
  return buf;
}

// CheckMemberName, with the invalid_utf8 rule only when `require_utf8`: the other rules work on
// bytes and hold for names in any encoding.
Result<std::string> CheckName(std::string_view raw, bool require_utf8);
// Zip tools on Windows (PowerShell 5's Compress-Archive, older .NET) write "dir\file.csv";
// unzip and Windows read the backslash as a folder separator, and so does sluice, before the
// name rules (so "..\x" is still a ".." component). Tar names keep the backslash rule.
std::string ZipSeparators(std::string_view name) {
  std::string out(name);
  std::replace(out.begin(), out.end(), '\\', '/');
  return out;
}

// True for a name that only names the archive's own top folder: ".", "./", ".//." and so on.
bool IsCurrentFolder(std::string_view name) {
  if (name.empty() || name.front() == '/') return false;
  bool dot = false;
  for (char c : name) {
    if (c != '.' && c != '/') return false;
    dot = dot || c == '.';
  }
  return dot && name.find("..") == std::string_view::npos;
}

// The position of the zip end of central directory record in `tail` (the archive's last bytes),
// npos when there is none (the archive is cut short, or not a zip).
size_t FindEndRecord(std::string_view tail) {
  if (tail.size() < 22) return std::string_view::npos;
  size_t lowest = tail.size() > 22 + 65535 ? tail.size() - 22 - 65535 : 0;
  for (size_t i = tail.size() - 22 + 1; i-- > lowest;) {
    if (tail.substr(i, 4) == std::string_view("PK\x05\x06", 4)) return i;
  }
  return std::string_view::npos;
}

// What the stream gave for one zip entry, to hold against its central directory record.
struct ZipEntrySeen {
  std::string member;
  bool is_file = false;
  uint32_t crc = 0;  // CRC-32 of the bytes read
  int64_t size = 0;  // bytes read
};

// The uncompressed size of central directory record `rec` (46 fixed bytes, then name, extra):
// the 32-bit field, or the zip64 extra field's when the field is 0xffffffff. -1 when the zip64
// value is missing.
int64_t CentralUncompressedSize(std::string_view tail, size_t rec) {
  uint64_t size = Le(tail, rec + 24, 4);
  if (size != 0xffffffff) return static_cast<int64_t>(size);
  const size_t name_len = Le(tail, rec + 28, 2);
  const size_t extra_len = Le(tail, rec + 30, 2);
  size_t x = rec + 46 + name_len;
  const size_t end = std::min(tail.size(), x + extra_len);
  while (x + 4 <= end) {
    const uint64_t id = Le(tail, x, 2);
    const size_t len = Le(tail, x + 2, 2);
    // Zip64 extended information: the uncompressed size comes first when it is present.
    if (id == 0x0001 && len >= 8 && x + 4 + 8 <= end)
      return static_cast<int64_t>(Le(tail, x + 4, 8));
    x += 4 + len;
  }
  return -1;
}

}  // namespace

// Zip entry types (symlink, device...) live only in the central directory, which libarchive's
// streaming reader skips; a zip symlink would otherwise pass as a small regular file. This walks
// the directory in `tail` (the archive's last bytes; `total` is the archive's size) and applies
// the type and name rules to every record, holds each file's CRC-32 and uncompressed size
// against what the stream gave for the entry in the same position (`seen`), and checks it lists
// as many entries as were read.
Status CheckZipDirectory(std::string_view tail, int64_t total,
                         const std::vector<ZipEntrySeen>& seen, const ReadOptions& o) {
  const auto entries_seen = static_cast<int64_t>(seen.size());
  auto refuse = [&](std::string_view why) {
    return Status::InvalidArgument("archive " + o.archive_name +
                                   " refused: zip_directory: " + std::string(why));
  };
  const size_t eocd = FindEndRecord(tail);
  if (eocd == std::string_view::npos) return refuse("no end of central directory record");
  uint64_t count = Le(tail, eocd + 10, 2);
  uint64_t cd_offset = Le(tail, eocd + 16, 4);
  const uint64_t tail_start = static_cast<uint64_t>(total) - tail.size();
  if (count == 0xffff || cd_offset == 0xffffffff) {
    if (eocd < 20 || tail.substr(eocd - 20, 4) != std::string_view("PK\x06\x07", 4)) {
      return refuse("zip64 end of central directory locator missing");
    }
    uint64_t rec = Le(tail, eocd - 20 + 8, 8);
    if (rec < tail_start || rec - tail_start + 56 > tail.size() ||
        tail.substr(rec - tail_start, 4) != std::string_view("PK\x06\x06", 4)) {
      return refuse("zip64 end of central directory record missing");
    }
    count = Le(tail, rec - tail_start + 32, 8);
    cd_offset = Le(tail, rec - tail_start + 48, 8);
  }
  if (cd_offset < tail_start) {
    return refuse("central directory larger than " + FormatBytes(kZipTailBytes) +
                  "; too many entries to verify");
  }
  size_t p = cd_offset - tail_start;
  for (uint64_t k = 0; k < count; ++k) {
    if (p + 46 > tail.size() || tail.substr(p, 4) != std::string_view("PK\x01\x02", 4)) {
      return refuse("central directory record " + std::to_string(k + 1) + " is damaged");
    }
    uint64_t host = Le(tail, p + 5, 1);
    uint64_t name_len = Le(tail, p + 28, 2);
    uint64_t extra_len = Le(tail, p + 30, 2);
    uint64_t comment_len = Le(tail, p + 32, 2);
    uint64_t attrs = Le(tail, p + 38, 4);
    if (p + 46 + name_len > tail.size()) {
      return refuse("central directory record " + std::to_string(k + 1) + " is damaged");
    }
    std::string name = ZipSeparators(DecodedName(o, std::string(tail.substr(p + 46, name_len))));
    auto index = static_cast<int64_t>(k);
    const bool is_dir = (!name.empty() && name.back() == '/') ||
                        ((host == 3 || host == 19) && ((attrs >> 16) & 0170000) == 0040000);
    if (host == 3 || host == 19) {  // Unix, macOS: st_mode in the high 16 bits
      uint64_t type = (attrs >> 16) & 0170000;
      if (type == 0120000) return Refuse(o, name, index, "symlink", "symbolic link (zip)");
      if (type == 0020000 || type == 0060000)
        return Refuse(o, name, index, "device", "device file");
      if (type == 0010000) return Refuse(o, name, index, "fifo", "named pipe (FIFO)");
      if (type == 0140000) return Refuse(o, name, index, "socket", "socket");
    }
    // A name that is not UTF-8 is skipped or refused by the streaming pass, depending on
    // whether the sink wants it; every other rule applies here too.
    Result<std::string> checked = CheckName(name, /*require_utf8=*/false);
    if (!checked.ok() && !(is_dir && IsCurrentFolder(name))) {
      std::string msg = checked.status().message();
      size_t colon = msg.find(": ");
      return Refuse(o, name, index, msg.substr(0, colon),
                    msg.substr(colon + 2) + " (central directory)");
    }
    if (k < seen.size() && seen[k].is_file) {
      // The streaming reader checked the data against the local header or data descriptor;
      // the central directory is what `unzip` and most tools trust, so it must agree too.
      const ZipEntrySeen& got = seen[k];
      const uint64_t crc = Le(tail, p + 16, 4);
      if (crc != got.crc) {
        return Refuse(o, got.member, index, "crc_mismatch",
                      "the data's CRC-32 is " + Hex32(got.crc) +
                          " but the central directory says " + Hex32(crc) +
                          "; the archive is damaged, ask the partner to deliver it again");
      }
      const int64_t size = CentralUncompressedSize(tail, p);
      if (size != got.size) {
        return Refuse(o, got.member, index, "size_mismatch",
                      "the entry holds " + std::to_string(got.size) +
                          " bytes but the central directory says " + std::to_string(size) +
                          "; the archive is damaged, ask the partner to deliver it again");
      }
    }
    p += 46 + name_len + extra_len + comment_len;
  }
  if (static_cast<int64_t>(count) != entries_seen) {
    return refuse("the central directory lists " + std::to_string(count) +
                  " entries but the archive holds " + std::to_string(entries_seen));
  }
  return Status::Ok();
}

Result<std::string> CheckMemberName(std::string_view raw) {
  return CheckName(raw, /*require_utf8=*/true);
}

namespace {

Result<std::string> CheckName(std::string_view raw, bool require_utf8) {
  auto bad = [](std::string_view rule, std::string_view why) {
    return Status::InvalidArgument(std::string(rule) + ": " + std::string(why));
  };
  if (raw.empty()) return bad("empty_name", "the entry has no name");
  for (unsigned char c : raw) {
    if (c < 0x20 || c == 0x7f) return bad("control_char", "the name contains a control character");
  }
  const bool utf8 = IsValidUtf8(raw);
  if (utf8 && HasC1Control(raw)) {
    return bad("control_char", "the name contains a control character (U+0080..U+009F)");
  }
  if (require_utf8 && !utf8) return bad("invalid_utf8", "the name is not valid UTF-8");
  std::string name = FoldConfusables(raw);
  bool folded = name != raw;
  const char* after = folded ? " after Unicode normalisation" : "";
  if (name.find('\\') != std::string::npos) {
    return bad("backslash", std::string("the name contains a backslash") + after);
  }
  if (name.front() == '/' ||
      (name.size() >= 2 && name[1] == ':' && std::isalpha(static_cast<unsigned char>(name[0])))) {
    return bad("absolute_path", std::string("the name is an absolute path") + after);
  }
  std::string normalized;
  for (const std::string& seg : Split(name, '/')) {
    if (seg == "..") return bad("dotdot", std::string("the name has a \"..\" component") + after);
    if (seg.empty() || seg == ".") continue;
    if (!normalized.empty()) normalized += '/';
    normalized += seg;
  }
  if (normalized.empty()) return bad("empty_name", "the name has no file part");
  if (folded) {
    // Keep the partner's spelling, but never a name that differs only by confusables from
    // something that the checks above would have refused.
    normalized.clear();
    for (const std::string& seg : Split(raw, '/')) {
      if (seg.empty() || seg == ".") continue;
      if (!normalized.empty()) normalized += '/';
      normalized += seg;
    }
  }
  return normalized;
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
          if (const char* kind = NestedArchiveKind(head)) {
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
      if (const char* kind = NestedArchiveKind(head)) {
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
