// The source side of the safe reader: see archive/gzip_feeder.h.
#include "archive/gzip_feeder.h"

#include <cstring>
#include <string>

namespace sluice::archive::internal {

Result<bool> Feeder::Prime() {
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

void Feeder::EnableIsal() {
  gzip_ = true;
  out_.resize(kOutBufferSize);
  isal_inflate_init(&state_);
  state_.crc_flag = ISAL_GZIP;
  state_.next_in = reinterpret_cast<uint8_t*>(in_.data());
  state_.avail_in = static_cast<uint32_t>(avail_);
}

la_ssize_t Feeder::Next(const void** buf) {
  Result<size_t> n = gzip_ ? NextInflated(buf) : NextRaw(buf);
  if (!n.ok()) {
    error_ = n.status();
    return -1;
  }
  return static_cast<la_ssize_t>(*n);
}

Status Feeder::Refill(size_t keep) {
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

Result<size_t> Feeder::NextRaw(const void** buf) {
  if (primed_) {
    primed_ = false;
  } else {
    SLUICE_RETURN_IF_ERROR(Refill());
  }
  *buf = in_.data();
  return avail_;
}

Status Feeder::SkipZeroPadding() {
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

Result<size_t> Feeder::NextInflated(const void** buf) {
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

Status Feeder::TrailingBytes() const {
  return Status::Corrupt("archive " + archive_name_ + ": bytes at offset " +
                         std::to_string(UnreadAt()) +
                         " after the end of the gzip stream are neither another gzip member nor "
                         "zero padding (something appended to the file?); ask the partner to "
                         "deliver it again");
}

Status Feeder::InflateError(int rc) const {
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

}  // namespace sluice::archive::internal
