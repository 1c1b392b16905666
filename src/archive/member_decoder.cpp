// archive/member_decoder.cpp: see member_decoder.h.
#include "archive/member_decoder.h"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cctype>
#include <vector>

namespace sluice::archive {

namespace {

constexpr size_t kOutChunk = size_t{256} << 10;

bool EndsWithNoCase(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  for (size_t i = 0; i < suffix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[s.size() - suffix.size() + i])) != suffix[i]) {
      return false;
    }
  }
  return true;
}

class GzipDecoder final : public MemberDecoder {
 public:
  explicit GzipDecoder(std::string name) : name_(std::move(name)), out_(kOutChunk) {}
  ~GzipDecoder() override {
    if (init_) inflateEnd(&z_);
  }

  Status Init() {
    // 16 + MAX_WBITS: a gzip header and trailer (CRC-32 and size checked by zlib).
    if (inflateInit2(&z_, 16 + MAX_WBITS) != Z_OK) {
      return Status::Internal("cannot start a gzip decoder for " + name_);
    }
    init_ = true;
    return Status::Ok();
  }

  Status Feed(std::string_view chunk, const ExpandedSink& out) override {
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(chunk.data()));
    z_.avail_in = static_cast<uInt>(chunk.size());
    // Until the input is used up and the last call left room in the output (else zlib may
    // hold more expanded bytes).
    do {
      if (member_ended_) {
        if (z_.avail_in == 0) break;
        // Another gzip member follows (`cat a.gz b.gz`), as gzip -d reads it.
        inflateReset(&z_);
        member_ended_ = false;
      }
      started_ = true;
      z_.next_out = reinterpret_cast<Bytef*>(out_.data());
      z_.avail_out = static_cast<uInt>(out_.size());
      int rc = inflate(&z_, Z_NO_FLUSH);
      const size_t produced = out_.size() - z_.avail_out;
      if (produced > 0) SLUICE_RETURN_IF_ERROR(out(std::string_view(out_.data(), produced)));
      if (rc == Z_STREAM_END) {
        member_ended_ = true;
      } else if (rc == Z_BUF_ERROR && produced == 0) {
        break;  // needs more input
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        return Status::Corrupt(name_ + " is not a valid gzip stream (" +
                               std::string(z_.msg ? z_.msg : "inflate failed") +
                               "); ask the partner to compress it again");
      }
    } while (z_.avail_in > 0 || z_.avail_out == 0);
    return Status::Ok();
  }

  Status Finish(const ExpandedSink& out) override {
    // Flush what inflate still holds (nothing is buffered past a member's end).
    while (started_ && !member_ended_) {
      z_.next_in = nullptr;
      z_.avail_in = 0;
      z_.next_out = reinterpret_cast<Bytef*>(out_.data());
      z_.avail_out = static_cast<uInt>(out_.size());
      int rc = inflate(&z_, Z_FINISH);
      const size_t produced = out_.size() - z_.avail_out;
      if (produced > 0) SLUICE_RETURN_IF_ERROR(out(std::string_view(out_.data(), produced)));
      if (rc == Z_STREAM_END) {
        member_ended_ = true;
      } else if (produced == 0) {
        break;
      }
    }
    if (!started_ || !member_ended_) {
      return Status::Corrupt(
          name_ +
          (started_ ? " ends in the middle of its gzip stream" : " is empty, not a gzip stream") +
          "; the file was cut short: ask the partner to deliver it again");
    }
    return Status::Ok();
  }

 private:
  std::string name_;
  z_stream z_{};
  bool init_ = false;
  bool started_ = false;
  bool member_ended_ = false;
  std::vector<char> out_;
};

class ZstdDecoder final : public MemberDecoder {
 public:
  explicit ZstdDecoder(std::string name)
      : name_(std::move(name)), dctx_(ZSTD_createDCtx()), out_(kOutChunk) {}
  ~ZstdDecoder() override { ZSTD_freeDCtx(dctx_); }

  Status Feed(std::string_view chunk, const ExpandedSink& out) override {
    if (dctx_ == nullptr) return Status::Internal("cannot start a zstd decoder for " + name_);
    ZSTD_inBuffer in{chunk.data(), chunk.size(), 0};
    bool full = false;  // the last call filled the output: more may be waiting
    while (in.pos < in.size || full) {
      started_ = true;
      ZSTD_outBuffer o{out_.data(), out_.size(), 0};
      size_t rc = ZSTD_decompressStream(dctx_, &o, &in);
      if (ZSTD_isError(rc)) {
        return Status::Corrupt(name_ + " is not a valid zstd stream (" +
                               std::string(ZSTD_getErrorName(rc)) +
                               "); ask the partner to compress it again");
      }
      if (o.pos > 0) SLUICE_RETURN_IF_ERROR(out(std::string_view(out_.data(), o.pos)));
      frame_done_ = rc == 0;
      full = o.pos == o.size;
    }
    return Status::Ok();
  }

  Status Finish(const ExpandedSink& out) override {
    if (dctx_ == nullptr) return Status::Internal("cannot start a zstd decoder for " + name_);
    // Output the decoder holds back (its window) comes out with further calls on no input.
    while (started_ && !frame_done_) {
      ZSTD_inBuffer in{nullptr, 0, 0};
      ZSTD_outBuffer o{out_.data(), out_.size(), 0};
      size_t rc = ZSTD_decompressStream(dctx_, &o, &in);
      if (ZSTD_isError(rc)) break;
      if (o.pos > 0) SLUICE_RETURN_IF_ERROR(out(std::string_view(out_.data(), o.pos)));
      frame_done_ = rc == 0;
      if (o.pos == 0) break;
    }
    if (!started_ || !frame_done_) {
      return Status::Corrupt(
          name_ +
          (started_ ? " ends in the middle of its zstd frame" : " is empty, not a zstd stream") +
          "; the file was cut short: ask the partner to deliver it again");
    }
    return Status::Ok();
  }

 private:
  std::string name_;
  ZSTD_DCtx* dctx_;
  bool started_ = false;
  bool frame_done_ = false;
  std::vector<char> out_;
};

}  // namespace

MemberCodec CodecForName(std::string_view name) {
  if (EndsWithNoCase(name, ".gz")) return MemberCodec::kGzip;
  if (EndsWithNoCase(name, ".zst")) return MemberCodec::kZstd;
  return MemberCodec::kNone;
}

std::string_view StripCodecSuffix(std::string_view name) {
  switch (CodecForName(name)) {
    case MemberCodec::kGzip:
      return name.substr(0, name.size() - 3);
    case MemberCodec::kZstd:
      return name.substr(0, name.size() - 4);
    case MemberCodec::kNone:
      break;
  }
  return name;
}

std::string_view CodecName(MemberCodec codec) {
  switch (codec) {
    case MemberCodec::kGzip:
      return "gzip";
    case MemberCodec::kZstd:
      return "zstd";
    case MemberCodec::kNone:
      break;
  }
  return "none";
}

Result<std::unique_ptr<MemberDecoder>> MakeMemberDecoder(MemberCodec codec, std::string name) {
  switch (codec) {
    case MemberCodec::kGzip: {
      auto d = std::make_unique<GzipDecoder>(std::move(name));
      SLUICE_RETURN_IF_ERROR(d->Init());
      return std::unique_ptr<MemberDecoder>(std::move(d));
    }
    case MemberCodec::kZstd:
      return std::unique_ptr<MemberDecoder>(new ZstdDecoder(std::move(name)));
    case MemberCodec::kNone:
      break;
  }
  return Status::InvalidArgument(name + " is not compressed: no decoder needed");
}

}  // namespace sluice::archive
