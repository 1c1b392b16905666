// tests/archive/test_archive_builder.h: builds archives in memory with libarchive's writer, so
// hostile archives are made by the tests themselves instead of being committed as blobs.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace sluice::testing {

struct Member {
  enum Type { kFile, kDir, kSymlink, kHardlink, kCharDevice, kBlockDevice, kFifo };
  Member(std::string n, std::string d = "", Type t = kFile, std::string l = "", bool u = false)
      : name(std::move(n)), data(std::move(d)), type(t), link(std::move(l)), utf8_name(u) {}
  std::string name;
  std::string data;
  Type type = kFile;
  std::string link;        // symlink target or hardlink source
  bool utf8_name = false;  // set the name as UTF-8 (zip writes the UTF-8 flag)
};

// kZip deflates and writes each entry's CRC-32 and sizes in a data descriptor after its data
// (libarchive's streaming writer); kZipStored does the same without compression.
enum class Format { kTar, kTarGz, kTarBz2, kTarZst, kZip, kTarGzTwoMembers, kZipStored };

inline const char* FormatName(Format f) {
  switch (f) {
    case Format::kTar:
      return "tar";
    case Format::kTarGz:
      return "tar_gz";
    case Format::kTarBz2:
      return "tar_bz2";
    case Format::kTarZst:
      return "tar_zst";
    case Format::kZip:
      return "zip";
    case Format::kTarGzTwoMembers:
      return "tar_gz_two_members";
    case Format::kZipStored:
      return "zip_stored";
  }
  return "?";
}

namespace internal {

inline la_ssize_t AppendCb(struct archive*, void* client, const void* buf, size_t n) {
  static_cast<std::string*>(client)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

inline void Check(struct archive* a, int rc, const char* what) {
  if (rc < ARCHIVE_WARN) {
    throw std::runtime_error(std::string(what) + ": " +
                             (archive_error_string(a) ? archive_error_string(a) : "?"));
  }
}

// `data` compressed as one gzip member.
inline std::string Gzip(const std::string& data) {
  std::string out;
  struct archive* a = archive_write_new();
  Check(a, archive_write_set_format_raw(a), "raw");
  Check(a, archive_write_add_filter_gzip(a), "gzip");
  archive_write_set_bytes_in_last_block(a, 1);
  Check(a, archive_write_open(a, &out, nullptr, AppendCb, nullptr), "open");
  struct archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, "x");
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
  Check(a, archive_write_header(a, e), "header");
  archive_write_data(a, data.data(), data.size());
  archive_entry_free(e);
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

}  // namespace internal

// ---- zip surgery: for damaged and unusual zips ------------------------------------------------

namespace internal {

inline uint32_t Crc32(const std::string& data) {
  uint32_t crc = 0xffffffffu;
  for (unsigned char c : data) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

inline void PutLe(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

inline uint64_t GetLe(const std::string& s, size_t pos, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s.at(pos + i));
  return v;
}

}  // namespace internal

// Where one zip entry's records sit in the archive's bytes.
struct ZipEntryLayout {
  size_t local = 0;    // local file header ("PK\3\4")
  size_t data = 0;     // first byte of the (compressed) data
  size_t central = 0;  // central directory record ("PK\1\2")
  uint16_t flags = 0;  // general purpose flags of the local header
};

// Walks the end record and the central directory; throws std::runtime_error on a broken zip.
inline std::vector<ZipEntryLayout> ZipLayout(const std::string& zip) {
  using internal::GetLe;
  size_t eocd = zip.rfind(std::string("PK\x05\x06", 4));
  if (eocd == std::string::npos) throw std::runtime_error("no end of central directory");
  uint64_t count = GetLe(zip, eocd + 10, 2);
  size_t p = GetLe(zip, eocd + 16, 4);
  std::vector<ZipEntryLayout> out;
  for (uint64_t k = 0; k < count; ++k) {
    ZipEntryLayout e;
    e.central = p;
    e.local = GetLe(zip, p + 42, 4);
    e.flags = static_cast<uint16_t>(GetLe(zip, e.local + 6, 2));
    e.data = e.local + 30 + GetLe(zip, e.local + 26, 2) + GetLe(zip, e.local + 28, 2);
    out.push_back(e);
    p += 46 + GetLe(zip, p + 28, 2) + GetLe(zip, p + 30, 2) + GetLe(zip, p + 32, 2);
  }
  return out;
}

// A zip as Python's zipfile, Java and 7-Zip write it to a file: every entry stored, its CRC-32
// and sizes in the local header (no data descriptor), and with `utf8_flag` the UTF-8 name flag
// (bit 11) set on every entry. Names are written as given, byte for byte.
// `windows`: "made by" MS-DOS with DOS attributes, as Windows tools write it.
inline std::string BuildPlainZip(const std::vector<Member>& members, bool utf8_flag,
                                 bool windows = false) {
  using internal::PutLe;
  std::string out, central;
  const uint16_t flags = utf8_flag ? 0x0800 : 0;
  for (const Member& m : members) {
    bool dir = m.type == Member::kDir;
    uint32_t crc = internal::Crc32(m.data);
    size_t offset = out.size();
    PutLe(&out, 0x04034b50, 4);
    PutLe(&out, 20, 2);     // version needed
    PutLe(&out, flags, 2);  // flags
    PutLe(&out, 0, 2);      // stored
    PutLe(&out, 0, 4);      // DOS time and date
    PutLe(&out, crc, 4);
    PutLe(&out, m.data.size(), 4);
    PutLe(&out, m.data.size(), 4);
    PutLe(&out, m.name.size(), 2);
    PutLe(&out, 0, 2);  // extra length
    out += m.name;
    out += m.data;
    PutLe(&central, 0x02014b50, 4);
    PutLe(&central, windows ? 0x0014 : 0x0314, 2);  // made by: MS-DOS or Unix, 2.0
    PutLe(&central, 20, 2);
    PutLe(&central, flags, 2);
    PutLe(&central, 0, 2);
    PutLe(&central, 0, 4);
    PutLe(&central, crc, 4);
    PutLe(&central, m.data.size(), 4);
    PutLe(&central, m.data.size(), 4);
    PutLe(&central, m.name.size(), 2);
    PutLe(&central, 0, 2);  // extra
    PutLe(&central, 0, 2);  // comment
    PutLe(&central, 0, 2);  // disk
    PutLe(&central, 0, 2);  // internal attributes
    PutLe(
        &central,
        windows ? (dir ? 0x10u : 0x20u) : ((dir ? 0040755u : 0100644u) << 16 | (dir ? 0x10u : 0u)),
        4);
    PutLe(&central, offset, 4);
    central += m.name;
  }
  size_t cd_offset = out.size();
  out += central;
  PutLe(&out, 0x06054b50, 4);
  PutLe(&out, 0, 4);
  PutLe(&out, members.size(), 2);
  PutLe(&out, members.size(), 2);
  PutLe(&out, central.size(), 4);
  PutLe(&out, cd_offset, 4);
  PutLe(&out, 0, 2);
  return out;
}

// The archive's bytes. Throws std::runtime_error when libarchive refuses to write something.
inline std::string BuildArchive(const std::vector<Member>& members, Format format) {
  using internal::Check;
  std::string out;
  struct archive* a = archive_write_new();
  if (format == Format::kZip || format == Format::kZipStored) {
    Check(a, archive_write_set_format_zip(a), "zip");
    if (format == Format::kZipStored) Check(a, archive_write_zip_set_compression_store(a), "store");
  } else {
    Check(a, archive_write_set_format_gnutar(a), "gnutar");
  }
  if (format == Format::kTarGz) Check(a, archive_write_add_filter_gzip(a), "gzip");
  if (format == Format::kTarBz2) Check(a, archive_write_add_filter_bzip2(a), "bzip2");
  if (format == Format::kTarZst) Check(a, archive_write_add_filter_zstd(a), "zstd");
  archive_write_set_bytes_in_last_block(a, 1);
  Check(a, archive_write_open(a, &out, nullptr, internal::AppendCb, nullptr), "open");
  for (const Member& m : members) {
    struct archive_entry* e = archive_entry_new();
    if (m.utf8_name) {
      archive_entry_set_pathname_utf8(e, m.name.c_str());
    } else {
      archive_entry_copy_pathname(e, m.name.c_str());
    }
    archive_entry_set_perm(e, 0644);
    archive_entry_set_mtime(e, 1'790'000'000, 0);
    switch (m.type) {
      case Member::kFile:
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_size(e, static_cast<la_int64_t>(m.data.size()));
        break;
      case Member::kDir:
        archive_entry_set_filetype(e, AE_IFDIR);
        archive_entry_set_perm(e, 0755);
        break;
      case Member::kSymlink:
        archive_entry_set_filetype(e, AE_IFLNK);
        archive_entry_copy_symlink(e, m.link.c_str());
        break;
      case Member::kHardlink:
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_copy_hardlink(e, m.link.c_str());
        archive_entry_set_size(e, 0);
        break;
      case Member::kCharDevice:
        archive_entry_set_filetype(e, AE_IFCHR);
        archive_entry_set_rdev(e, 0x0103);
        break;
      case Member::kBlockDevice:
        archive_entry_set_filetype(e, AE_IFBLK);
        archive_entry_set_rdev(e, 0x0800);
        break;
      case Member::kFifo:
        archive_entry_set_filetype(e, AE_IFIFO);
        break;
    }
    Check(a, archive_write_header(a, e), ("header " + m.name).c_str());
    if (m.type == Member::kFile && !m.data.empty()) {
      if (archive_write_data(a, m.data.data(), m.data.size()) < 0) {
        Check(a, ARCHIVE_FATAL, "data");
      }
    }
    archive_entry_free(e);
  }
  Check(a, archive_write_close(a), "close");
  archive_write_free(a);
  if (format == Format::kZip || format == Format::kZipStored) {
    // libarchive writes the UTF-8 flag only in a UTF-8 locale; set bit 11 on the members that
    // asked for it, as Python, Java and 7-Zip do.
    std::vector<ZipEntryLayout> layout = ZipLayout(out);
    for (size_t i = 0; i < layout.size() && i < members.size(); ++i) {
      if (!members[i].utf8_name) continue;
      out[layout[i].local + 7] = static_cast<char>(out[layout[i].local + 7] | 0x08);
      out[layout[i].central + 9] = static_cast<char>(out[layout[i].central + 9] | 0x08);
    }
  }
  if (format == Format::kTarGzTwoMembers) {
    // pigz-style: the tar stream split in two, each half its own gzip member, concatenated.
    size_t half = out.size() / 2 + 7;
    return internal::Gzip(out.substr(0, half)) + internal::Gzip(out.substr(half));
  }
  return out;
}

}  // namespace sluice::testing
