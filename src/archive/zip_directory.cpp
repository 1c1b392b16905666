// The zip central directory check of the safe reader (archive/safe_reader.h): entry types,
// names, CRC-32s and sizes as the directory states them, held against what the stream gave.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "archive/safe_reader_internal.h"
#include "core/strings.h"

namespace sluice::archive::internal {

namespace {

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

size_t FindEndRecord(std::string_view tail) {
  if (tail.size() < 22) return std::string_view::npos;
  size_t lowest = tail.size() > 22 + 65535 ? tail.size() - 22 - 65535 : 0;
  for (size_t i = tail.size() - 22 + 1; i-- > lowest;) {
    if (tail.substr(i, 4) == std::string_view("PK\x05\x06", 4)) return i;
  }
  return std::string_view::npos;
}

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

}  // namespace sluice::archive::internal
