// archive/gzip_feeder.h: the source side of the safe reader (archive/safe_reader.h). Feeds
// libarchive from a ReadFn: checksums and counts the raw bytes, keeps a zip's tail for its
// central directory check, and (for gzip) inflates with ISA-L so libarchive only parses the tar
// stream. Internal to the archive module (it names ISA-L and libarchive types): only its .cpp
// files include it.
// Thread-safety: one Feeder per archive being read.
#pragma once

#include <archive.h>
#include <isa-l/igzip_lib.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "archive/checksum.h"
#include "archive/safe_reader.h"
#include "archive/safe_reader_internal.h"
#include "core/status.h"

namespace sluice::archive::internal {

constexpr size_t kInBufferSize = size_t{1} << 20;
constexpr size_t kOutBufferSize = size_t{1} << 20;
constexpr size_t kTarBlock = 512;

class Feeder {
 public:
  Feeder(const ReadFn& read, Checksum* sum, const std::string& archive_name)
      : read_(read), sum_(sum), archive_name_(archive_name), in_(kInBufferSize) {}

  // Reads the first block so the compression can be sniffed. Returns true for gzip.
  Result<bool> Prime();

  void EnableIsal();

  // libarchive's read callback: the next block of (decompressed, for gzip) bytes, 0 at the end.
  la_ssize_t Next(const void** buf);

  int64_t compressed_bytes() const { return compressed_; }
  const Status& error() const { return error_; }
  bool is_zip() const { return keep_tail_; }
  // True once the source has reported its end.
  bool at_eof() const { return eof_; }
  // The last bytes of a zip archive (at least kZipTailBytes, or all of it when shorter).
  std::string_view tail() const { return tail_; }

 private:
  // Reads the next block into the input buffer from `keep` on (the bytes before it stay).
  Status Refill(size_t keep = 0);

  Result<size_t> NextRaw(const void** buf);

  // Reads the rest of the source, which must be all zeros; Corrupt naming the first other byte.
  Status SkipZeroPadding();

  Result<size_t> NextInflated(const void** buf);

  // Where in the file the bytes libarchive has not consumed begin.
  int64_t UnreadAt() const { return compressed_ - static_cast<int64_t>(state_.avail_in); }

  Status TrailingBytes() const;

  Status InflateError(int rc) const;

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

}  // namespace sluice::archive::internal
