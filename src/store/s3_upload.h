// store/s3_upload.h: the S3 store's writer (an OutputStream), internal to s3_store.cpp.
//
// An object up to `threshold` bytes goes up as one PUT at Commit(); a larger one as a multipart
// upload whose parts (exactly `part_size` bytes, the last one shorter) are sent as soon as they
// are written, several at once, and completed at Commit(). A writer dropped without Commit()
// aborts its upload. Either way the object appears whole or not at all.
// Streaming: an object announced with ExpectSize(n) before its first byte, 1 MiB < n <=
// `threshold`, goes up as one PUT of n bytes started at once, whose body is read from the spool
// as Write() fills it; its last byte is held back until Commit(), so the endpoint cannot store
// it before, and a writer dropped before Commit() ends it unfinished (stored: nothing). An object
// that turns out to have another length is stored as if nothing had been announced.
//
// Memory: the first min(1 MiB, threshold) bytes are held in memory; past that the bytes go to a
// spool file (unnamed, O_TMPFILE in $TMPDIR or /tmp, so nothing is left behind whatever kills
// the process) and every request reads its body from there with pread. So a writer holds at most
// 1 MiB of memory whatever the object's size; requests keep their retries (a retry reads the
// same bytes again); and a part's bytes are released from the spool (a punched hole) once the
// part is stored. The spool of one writer holds at most max(threshold, (in-flight parts + 1) x
// part_size) bytes.
//
// Concurrency: every PUT (a whole object or a part) takes a slot of the store's UploadSlots for
// as long as it is in flight; a writer whose next part finds no free slot waits in Write(), so
// the bound holds for all the store's writers together, and it is the back-pressure that keeps
// the spool bounded.
// Thread-safety: UploadSlots is; a writer is used by one thread at a time (Commit() may run on
// another thread than the Write() calls, not at the same time).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "store/object_store.h"
#include "store/s3_client.h"

namespace sluice::store::s3 {

// A counting semaphore that remembers the most slots ever taken at once (tests check the bound).
class UploadSlots {
 public:
  explicit UploadSlots(int slots) : free_(slots > 0 ? slots : 1) {}
  void Acquire() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return free_ > 0; });
    --free_;
    ++taken_;
    if (taken_ > peak_) peak_ = taken_;
  }
  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++free_;
      --taken_;
    }
    cv_.notify_one();
  }
  int peak() const {
    std::lock_guard<std::mutex> lock(mu_);
    return peak_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int free_;
  int taken_ = 0;
  int peak_ = 0;
};

// What a writer needs of its store; owned by the store, which outlives its writers.
struct UploadSettings {
  Client* client = nullptr;
  std::string bucket;
  std::string prefix;     // object name = prefix + store key
  int64_t threshold = 0;  // larger objects go up in parts
  int64_t part_size = 0;  // bytes per part (the last one shorter)
  std::string spool_dir;  // where spool files are made ($TMPDIR, else /tmp)
  UploadSlots* slots = nullptr;
};

// A writer of store key `key` (validated by the caller).
std::unique_ptr<OutputStream> NewUpload(const UploadSettings* settings, std::string key);

// The Status for a response nobody expected (the client already turned 403 and wrong regions into
// clear errors and retried what could be retried): NotFound for 404 and a missing bucket,
// InvalidArgument for 400, IoError otherwise.
Status Unexpected(const Response& r, const Target& t, const std::string& bucket);

}  // namespace sluice::store::s3
