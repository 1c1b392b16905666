// archive/checksum.h: streaming checksums named by algorithm, rendered "algo:hex".
//
// "sha256" (OpenSSL, SHA-NI accelerated) and "xxh128" (xxHash XXH3-128, non-cryptographic, many
// GB/s). The value names its algorithm so readers can tell them apart ("sha256:9f86...").
// Thread-safety: one Checksum per stream, used by one thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice::archive {

class Checksum {
 public:
  virtual ~Checksum() = default;
  virtual void Update(const void* data, size_t n) = 0;
  // "algo:lowercase-hex"; call once, at the end.
  virtual std::string Finish() = 0;
};

// A fresh checksum for `algorithm` ("sha256" or "xxh128"); InvalidArgument otherwise.
Result<std::unique_ptr<Checksum>> MakeChecksum(std::string_view algorithm);

}  // namespace sluice::archive
