// archive/member_decoder.h: streaming decompression of one compressed file (a member
// "orders.csv.gz" or "orders.csv.zst" inside an archive, or such a file delivered bare), pushed
// through in chunks as its bytes are read, so nothing is held whole in memory. gzip through
// zlib (concatenated members included), zstd through libzstd (several frames included).
// The caller counts the expanded bytes it receives and applies its limits to them.
// Thread-safety: one decoder per stream, used by one thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice::archive {

enum class MemberCodec { kNone, kGzip, kZstd };

// The codec a file name says (".gz", ".zst", case-insensitive), kNone otherwise.
MemberCodec CodecForName(std::string_view name);
// `name` without its ".gz"/".zst" suffix ("orders.csv.gz" -> "orders.csv"); as is otherwise.
std::string_view StripCodecSuffix(std::string_view name);
// "gzip", "zstd" or "none".
std::string_view CodecName(MemberCodec codec);

// Receives expanded bytes; an error stops the decoding and is returned by Feed/Finish.
using ExpandedSink = std::function<Status(std::string_view)>;

class MemberDecoder {
 public:
  virtual ~MemberDecoder() = default;
  // Decompresses `chunk` and hands the expanded bytes to `out` (in pieces of at most 256 KiB).
  // Corrupt naming `name` (given to Make) when the bytes are not a valid stream.
  virtual Status Feed(std::string_view chunk, const ExpandedSink& out) = 0;
  // The input has ended: Corrupt when the stream was cut short (or never started).
  virtual Status Finish(const ExpandedSink& out) = 0;
};

// A decoder for `codec` (not kNone); `name` is used in messages.
Result<std::unique_ptr<MemberDecoder>> MakeMemberDecoder(MemberCodec codec, std::string name);

}  // namespace sluice::archive
