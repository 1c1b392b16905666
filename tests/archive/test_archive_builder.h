// tests/archive/test_archive_builder.h: builds archives in memory with libarchive's writer, so
// hostile archives are made by the tests themselves instead of being committed as blobs.
#pragma once

#include <archive.h>
#include <archive_entry.h>

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

enum class Format { kTar, kTarGz, kTarBz2, kTarZst, kZip, kTarGzTwoMembers };

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

// The archive's bytes. Throws std::runtime_error when libarchive refuses to write something.
inline std::string BuildArchive(const std::vector<Member>& members, Format format) {
  using internal::Check;
  std::string out;
  struct archive* a = archive_write_new();
  if (format == Format::kZip) {
    Check(a, archive_write_set_format_zip(a), "zip");
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
  if (format == Format::kTarGzTwoMembers) {
    // pigz-style: the tar stream split in two, each half its own gzip member, concatenated.
    size_t half = out.size() / 2 + 7;
    return internal::Gzip(out.substr(0, half)) + internal::Gzip(out.substr(half));
  }
  return out;
}

}  // namespace sluice::testing
