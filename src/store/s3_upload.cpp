// The S3 store's writer: one PUT or a multipart upload with parts in flight. See s3_upload.h.
#include "store/s3_upload.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <future>
#include <utility>
#include <vector>

#include "store/s3_wire.h"

namespace sluice::store::s3 {

namespace {

// Bytes a writer keeps in memory before it spools to a file: small objects (manifests, the
// summary, a reject file) never touch the disk.
constexpr int64_t kMemoryBytes = int64_t{1} << 20;

// An unnamed file in `dir`: O_TMPFILE, else a named one unlinked at once. Either way the kernel
// frees it when the descriptor is closed or the process dies.
Result<int> OpenSpool(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
  std::string path = dir + "/sluice-s3-spool-XXXXXX";
  fd = ::mkostemp(path.data(), O_CLOEXEC);
  if (fd < 0) {
    return Status::IoError("s3: cannot create a spool file in " + dir + ": " +
                           std::strerror(errno) +
                           "; set TMPDIR to a writable folder with room for the uploads");
  }
  ::unlink(path.c_str());
  return fd;
}

class Upload final : public OutputStream {
 public:
  Upload(const UploadSettings* s, std::string key)
      : s_(s), key_(std::move(key)), object_(s->prefix + key_) {}
  ~Upload() override;
  Upload(const Upload&) = delete;
  Upload& operator=(const Upload&) = delete;
  Status Write(std::string_view data) override;
  Status Commit() override;
  void ExpectSize(int64_t bytes) override;

 private:
  Target Tgt(const std::string& op) const {
    return Target{op, "s3://" + s_->bucket + "/" + object_};
  }
  Status Spill();
  // A write to the spool file failed with `err`: what happened and what to do.
  Status SpoolFailed(int err) const {
    return Status::IoError("s3: write " + Tgt("write").url + ": spooling to " + s_->spool_dir +
                           " failed: " + std::strerror(err) +
                           "; free space there or set TMPDIR to a folder with room");
  }
  Status Initiate();
  // Starts every full part not started yet, and the shorter last one when `last`. Waits for a
  // free slot before each.
  Status StartParts(bool last);
  // Collects the parts that are done, in order (all of them when `all`, waiting); the first
  // failure.
  Status Reap(bool all);
  Result<std::string> PutPart(int number, int64_t offset, int64_t size);
  // The streamed PUT (ExpectSize): how far its body can be read from `from` on, waiting for the
  // writer; -1 once it is abandoned.
  int64_t WaitReadable(int64_t from);
  // Tells the streamed PUT how many bytes the spool holds, or (`abandon`) that it must stop.
  void Publish(bool abandon);
  // Ends the streamed PUT without storing anything and waits for it.
  void AbandonStream();

  const UploadSettings* s_;
  std::string key_;
  std::string object_;
  std::string mem_;  // the bytes so far, until they are spooled
  int fd_ = -1;      // the spool file, once there is one
  int64_t size_ = 0;
  int64_t next_ = 0;  // first byte not in a started part
  std::string upload_id_;
  struct Part {
    int number;
    std::future<Result<std::string>> etag;
  };
  std::deque<Part> pending_;
  std::vector<std::string> etags_;  // of parts 1..n, in order
  Status failed_;
  bool done_ = false;
  // Streaming (ExpectSize): one PUT of expected_ bytes sent while they are written, reading the
  // spool as it grows; its last byte waits for Commit(), so it can only complete there.
  int64_t expected_ = -1;
  std::future<Status> stream_;
  enum class StreamState { kOpen, kCommitted, kAbandoned };
  std::mutex stream_mu_;  // guards readable_ and state_
  std::condition_variable stream_cv_;
  int64_t readable_ = 0;  // bytes in the spool
  StreamState state_ = StreamState::kOpen;
};

Upload::~Upload() {
  AbandonStream();   // a streamed PUT dropped before Commit() never completes
  (void)Reap(true);  // a part still in flight reads the spool: it ends first
  if (!done_ && !upload_id_.empty()) {
    // Dropped without Commit(): abort so the parts do not linger (and cost) on the endpoint.
    Request req;
    req.method = "DELETE";
    req.key = object_;
    req.query = {{"uploadId", upload_id_}};
    (void)s_->client->Send(req, Tgt("abort upload of"));
  }
  if (fd_ >= 0) ::close(fd_);
}

Status Upload::Spill() {
  SLUICE_ASSIGN_OR_RETURN(fd_, OpenSpool(s_->spool_dir));
  size_t off = 0;
  while (off < mem_.size()) {
    ssize_t n = ::pwrite(fd_, mem_.data() + off, mem_.size() - off, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return SpoolFailed(errno);
    off += static_cast<size_t>(n);
  }
  std::string().swap(mem_);
  return Status::Ok();
}

Status Upload::Write(std::string_view data) {
  if (done_) return Status::Internal("write to " + Tgt("write").url + " after Commit()");
  if (!failed_.ok()) return failed_;
  if (fd_ < 0 &&
      size_ + static_cast<int64_t>(data.size()) <= std::min(kMemoryBytes, s_->threshold)) {
    mem_.append(data.data(), data.size());
    size_ += static_cast<int64_t>(data.size());
    return Status::Ok();
  }
  if (fd_ < 0) {
    failed_ = Spill();
    if (!failed_.ok()) return failed_;
  }
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd_, data.data(), data.size(), static_cast<off_t>(size_));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failed_ = SpoolFailed(errno);
    size_ += n;
    data.remove_prefix(static_cast<size_t>(n));
  }
  if (expected_ >= 0) {
    // More bytes than announced: the streamed PUT cannot carry them; Commit() stores the object
    // the ordinary way.
    Publish(size_ > expected_);
    if (stream_.valid() && stream_.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
      // The streamed PUT ended before Commit(): it failed (retries spent, refused), or it was
      // abandoned just above.
      Status st = stream_.get();
      std::lock_guard<std::mutex> lock(stream_mu_);
      if (state_ == StreamState::kOpen) {
        failed_ = st.ok() ? Status::Internal("s3: the PUT of " + Tgt("write").url +
                                             " ended before its last byte was sent")
                          : st;
        return failed_;
      }
    }
  }
  if (upload_id_.empty() && size_ > s_->threshold) {
    failed_ = Initiate();
    if (!failed_.ok()) return failed_;
  }
  if (!upload_id_.empty()) {
    failed_ = Reap(false);
    if (failed_.ok()) failed_ = StartParts(false);
  }
  return failed_;
}

Status Upload::Initiate() {
  Request req;
  req.method = "POST";
  req.key = object_;
  req.query = {{"uploads", ""}};
  Target t = Tgt("start upload of");
  SLUICE_ASSIGN_OR_RETURN(Response r, s_->client->Send(req, t));
  if (r.status != 200) return Unexpected(r, t, s_->bucket);
  SLUICE_RETURN_IF_ERROR(
      ParseXml(r.body, t.url, [&](const std::string& path, const std::string& text) {
        if (path == "/InitiateMultipartUploadResult/UploadId") upload_id_ = text;
      }));
  if (upload_id_.empty()) {
    return Status::Corrupt("s3: start upload of " + t.url + ": no UploadId in the answer");
  }
  return Status::Ok();
}

Result<std::string> Upload::PutPart(int number, int64_t offset, int64_t size) {
  Request req;
  req.method = "PUT";
  req.key = object_;
  req.query = {{"partNumber", std::to_string(number)}, {"uploadId", upload_id_}};
  req.body_fd = fd_;
  req.body_offset = offset;
  req.body_size = size;
  Target t = Tgt("write part " + std::to_string(number) + " of");
  Result<Response> r = s_->client->Send(req, t);
  s_->slots->Release();
  // The part's bytes are on the endpoint (or the upload failed and will be aborted): their
  // room in the spool goes back to the file system. Where holes cannot be punched the spool
  // keeps them until the writer ends.
  (void)::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                    static_cast<off_t>(size));
  if (!r.ok()) return r.status();
  if (r->status != 200) return Unexpected(*r, t, s_->bucket);
  std::string etag = r->Header("etag");
  if (etag.empty()) return Status::Corrupt("s3: " + t.operation + " " + t.url + ": no ETag");
  return etag;
}

Status Upload::StartParts(bool last) {
  while (size_ - next_ >= s_->part_size || (last && size_ > next_)) {
    const int64_t offset = next_;
    const int64_t size = std::min(s_->part_size, size_ - next_);
    const int number = static_cast<int>(etags_.size() + pending_.size()) + 1;
    s_->slots->Acquire();
    next_ += size;
    pending_.push_back(Part{number, std::async(std::launch::async, [this, number, offset, size] {
                              return PutPart(number, offset, size);
                            })});
    // Parts finished meanwhile are collected as we go, so a failure stops the writer early.
    SLUICE_RETURN_IF_ERROR(Reap(false));
  }
  return Status::Ok();
}

Status Upload::Reap(bool all) {
  Status first;
  while (!pending_.empty()) {
    Part& p = pending_.front();
    if (!all && p.etag.wait_for(std::chrono::seconds(0)) != std::future_status::ready) break;
    Result<std::string> etag = p.etag.get();
    pending_.pop_front();
    if (!etag.ok()) {
      if (first.ok()) first = etag.status();
      if (!all) return first;
      continue;
    }
    etags_.push_back(std::move(etag).value());
  }
  return first;
}

Status Upload::Commit() {
  if (done_) return Status::Internal("Commit() twice on " + Tgt("write").url);
  if (!failed_.ok()) return failed_;
  Target t = Tgt("write");
  if (expected_ >= 0 && stream_.valid()) {
    bool whole = false;
    {
      std::lock_guard<std::mutex> lock(stream_mu_);
      whole = state_ == StreamState::kOpen && size_ == expected_;
      state_ = whole ? StreamState::kCommitted : StreamState::kAbandoned;
    }
    stream_cv_.notify_all();
    Status st = stream_.get();
    if (whole) {
      if (!st.ok()) return failed_ = st;
      done_ = true;
      return Status::Ok();
    }
    // Fewer or more bytes than announced: stored below as if nothing had been announced.
  }
  if (upload_id_.empty()) {
    Request req;
    req.method = "PUT";
    req.key = object_;
    if (fd_ >= 0) {
      req.body_fd = fd_;
      req.body_size = size_;
    } else {
      req.body = mem_;
    }
    s_->slots->Acquire();
    Result<Response> r = s_->client->Send(req, t);
    s_->slots->Release();
    if (!r.ok()) return r.status();
    if (r->status != 200) return Unexpected(*r, t, s_->bucket);
    done_ = true;
    return Status::Ok();
  }
  failed_ = StartParts(true);
  Status reaped = Reap(true);
  if (failed_.ok()) failed_ = reaped;
  if (!failed_.ok()) return failed_;
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><CompleteMultipartUpload>";
  for (size_t i = 0; i < etags_.size(); ++i) {
    xml += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" +
           XmlEscape(etags_[i]) + "</ETag></Part>";
  }
  xml += "</CompleteMultipartUpload>";
  Request req;
  req.method = "POST";
  req.key = object_;
  req.query = {{"uploadId", upload_id_}};
  req.body = xml;
  req.headers = {"Content-Type: application/xml"};
  SLUICE_ASSIGN_OR_RETURN(Response r, s_->client->Send(req, t));
  // CompleteMultipartUpload can fail after its 200 has been sent: the body then holds an <Error>.
  if (r.status != 200 || !ParseError(r.body).code.empty()) {
    if (r.status == 200) r.status = 500;
    return Unexpected(r, t, s_->bucket);
  }
  done_ = true;
  return Status::Ok();
}

void Upload::ExpectSize(int64_t bytes) {
  // Small objects go up from memory at Commit() and large ones in parts as they are written:
  // only a single PUT past the memory bound gains from starting early.
  if (bytes <= kMemoryBytes || bytes > s_->threshold) return;
  if (size_ != 0 || fd_ >= 0 || expected_ >= 0 || done_ || !failed_.ok()) return;
  Result<int> fd = OpenSpool(s_->spool_dir);
  if (!fd.ok()) {
    failed_ = fd.status();  // what Write() would have met when spilling
    return;
  }
  fd_ = *fd;
  expected_ = bytes;
  s_->slots->Acquire();
  stream_ = std::async(std::launch::async, [this]() -> Status {
    Request req;
    req.method = "PUT";
    req.key = object_;
    req.body_fd = fd_;
    req.body_size = expected_;
    req.body_ready = [this](int64_t from) { return WaitReadable(from); };
    Target t = Tgt("write");
    Result<Response> r = s_->client->Send(req, t);
    s_->slots->Release();
    if (!r.ok()) return r.status();
    if (r->status != 200) return Unexpected(*r, t, s_->bucket);
    return Status::Ok();
  });
}

int64_t Upload::WaitReadable(int64_t from) {
  std::unique_lock<std::mutex> lock(stream_mu_);
  for (;;) {
    if (state_ == StreamState::kAbandoned) return -1;
    // Until Commit() the last byte stays back: the endpoint cannot store the object before.
    const int64_t limit = state_ == StreamState::kCommitted ? expected_ : expected_ - 1;
    const int64_t ready = std::min(readable_, limit);
    if (ready > from) return ready;
    stream_cv_.wait(lock);
  }
}

void Upload::Publish(bool abandon) {
  {
    std::lock_guard<std::mutex> lock(stream_mu_);
    readable_ = size_;
    if (abandon && state_ == StreamState::kOpen) state_ = StreamState::kAbandoned;
  }
  stream_cv_.notify_all();
}

void Upload::AbandonStream() {
  if (!stream_.valid()) return;
  {
    std::lock_guard<std::mutex> lock(stream_mu_);
    if (state_ == StreamState::kOpen) state_ = StreamState::kAbandoned;
  }
  stream_cv_.notify_all();
  stream_.wait();
}

}  // namespace

std::unique_ptr<OutputStream> NewUpload(const UploadSettings* settings, std::string key) {
  return std::make_unique<Upload>(settings, std::move(key));
}

Status Unexpected(const Response& r, const Target& t, const std::string& bucket) {
  ErrorBody err = ParseError(r.body);
  std::string what = "s3: " + t.operation + " " + t.url + ": ";
  std::string detail = "HTTP " + std::to_string(r.status) +
                       (err.code.empty() ? "" : " " + err.code) +
                       (err.message.empty() ? "" : ": " + err.message);
  if (err.code == "NoSuchBucket") {
    return Status::NotFound(what + "bucket " + bucket +
                            " does not exist; create it or correct the store URL in sluice.yaml");
  }
  if (r.status == 404) return Status::NotFound(what + "no such key (" + detail + ")");
  if (r.status == 400) return Status::InvalidArgument(what + detail);
  return Status::IoError(what + detail);
}

}  // namespace sluice::store::s3
