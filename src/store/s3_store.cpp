// The s3:// object store. See s3_store.h for the contract and s3_client.h for signing/retries.
#include "store/s3_store.h"

#include <curl/curl.h>  // curl_getdate

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <future>
#include <utility>

#include "core/strings.h"
#include "store/s3_client.h"
#include "store/s3_upload.h"
#include "store/s3_wire.h"

namespace sluice::store {

namespace {

using s3::Client;
using s3::ContentMd5;
using s3::ParseIsoTime;
using s3::ParseXml;
using s3::Request;
using s3::Response;
using s3::Target;
using s3::XmlEscape;

constexpr int64_t kMaxCopyBytes = int64_t{5} << 30;  // CopyObject's limit
constexpr size_t kDeleteBatch = 1000;                // DeleteObjects' limit
// Parts (and GET ranges) when neither multipart_part_size nor a smaller threshold says otherwise:
// the AWS CLI's size.
constexpr int64_t kDefaultPartSize = int64_t{8} << 20;

using s3::Unexpected;

class S3Store;

// ---- reading: ranged GETs -----------------------------------------------------------------

// The next range is fetched in the background while the reader consumes the current one, so a
// reader waits for the endpoint only for the first range (and when it reads faster than the
// endpoint sends). Two ranges of half a part each: the memory of one part, as before.
class S3InputStream final : public InputStream {
 public:
  S3InputStream(S3Store* store, std::string key, std::string etag, int64_t total, std::string first)
      : store_(store),
        key_(std::move(key)),
        etag_(std::move(etag)),
        total_(total),
        buf_(std::move(first)) {
    offset_ = static_cast<int64_t>(buf_.size());
    Prefetch();
  }
  ~S3InputStream() override {
    if (next_.valid()) next_.wait();  // it writes into next_buf_
  }
  S3InputStream(const S3InputStream&) = delete;
  S3InputStream& operator=(const S3InputStream&) = delete;
  Result<size_t> Read(char* buf, size_t n) override;

 private:
  void Prefetch();

  S3Store* store_;
  std::string key_;
  std::string etag_;
  int64_t total_;
  std::string buf_;
  size_t pos_ = 0;
  int64_t offset_ = 0;  // of the byte after buf_
  std::string next_buf_;
  std::future<Status> next_;  // the GET of the range at offset_ into next_buf_, when one runs
};

// ---- the store -----------------------------------------------------------------------------

class S3Store final : public ObjectStore {
 public:
  S3Store(S3Url url, s3::ClientOptions client, size_t part_size, int64_t threshold,
          int upload_concurrency, std::string spool_dir, int list_page_size)
      : url_(std::move(url)),
        client_(std::move(client)),
        part_size_(part_size),
        list_page_size_(list_page_size),
        slots_(upload_concurrency) {
    upload_.client = &client_;
    upload_.bucket = url_.bucket;
    upload_.prefix = url_.prefix;
    upload_.threshold = threshold;
    upload_.part_size = static_cast<int64_t>(part_size);
    upload_.spool_dir = std::move(spool_dir);
    upload_.slots = &slots_;
  }

  std::string Full(std::string_view key) const { return url_.prefix + std::string(key); }
  Target Tgt(std::string op, std::string_view key) const {
    return Target{std::move(op), "s3://" + url_.bucket + "/" + Full(key)};
  }
  Client& client() { return client_; }
  const std::string& bucket() const { return url_.bucket; }

  // GET bytes [from, from+n) of `key` into *out. total/etag of the object when asked.
  // Ranges of half a part: a stream holds two (S3InputStream).
  size_t range_size() const { return std::max<size_t>(part_size_ / 2, 1); }

  Status GetRange(std::string_view key, int64_t from, const std::string& if_match, std::string* out,
                  int64_t* total, std::string* etag) {
    Request req;
    req.key = Full(key);
    req.headers.push_back("Range: bytes=" + std::to_string(from) + "-" +
                          std::to_string(from + static_cast<int64_t>(range_size()) - 1));
    if (!if_match.empty()) req.headers.push_back("If-Match: " + if_match);
    // Room for the whole range up front: no reallocation copies as the body arrives (the
    // pages of an object smaller than that are never touched, so never resident).
    out->reserve(range_size());
    req.sink = out;
    Target t = Tgt("read", key);
    SLUICE_ASSIGN_OR_RETURN(Response r, client_.Send(req, t));
    if (r.status == 416 && from == 0) {  // an empty object has no byte 0
      out->clear();
      if (total != nullptr) *total = 0;
      if (etag != nullptr) *etag = r.Header("etag");
      return Status::Ok();
    }
    if (r.status == 412) {
      return Status::Unavailable("s3: read " + t.url +
                                 ": the object was replaced while being read; run the task again");
    }
    if (r.status != 200 && r.status != 206) return Unexpected(r, t, url_.bucket);
    if (total != nullptr) {
      *total = static_cast<int64_t>(out->size());
      const std::string range = r.Header("content-range");  // "bytes 0-99/1234"
      size_t slash = range.rfind('/');
      if (r.status == 206 && slash != std::string::npos) {
        *total = std::strtoll(range.c_str() + slash + 1, nullptr, 10);
      }
    }
    if (etag != nullptr) *etag = r.Header("etag");
    return Status::Ok();
  }

  Result<std::unique_ptr<InputStream>> Open(std::string_view key) override {
    SLUICE_RETURN_IF_ERROR(ValidateKey(key));
    std::string first;
    int64_t total = 0;
    std::string etag;
    SLUICE_RETURN_IF_ERROR(GetRange(key, 0, "", &first, &total, &etag));
    return std::unique_ptr<InputStream>(std::make_unique<S3InputStream>(
        this, std::string(key), std::move(etag), total, std::move(first)));
  }

  Result<std::unique_ptr<OutputStream>> Create(std::string_view key) override {
    SLUICE_RETURN_IF_ERROR(ValidateKey(key));
    return s3::NewUpload(&upload_, std::string(key));
  }

  Result<ObjectInfo> Head(std::string_view key) override {
    SLUICE_RETURN_IF_ERROR(ValidateKey(key));
    Request req;
    req.method = "HEAD";
    req.key = Full(key);
    Target t = Tgt("stat", key);
    SLUICE_ASSIGN_OR_RETURN(Response r, client_.Send(req, t));
    if (r.status == 404) return Status::NotFound("s3: stat " + t.url + ": no such key");
    if (r.status != 200) return Unexpected(r, t, url_.bucket);
    ObjectInfo info;
    info.key = std::string(key);
    info.size = std::strtoll(r.Header("content-length").c_str(), nullptr, 10);
    time_t when = curl_getdate(r.Header("last-modified").c_str(), nullptr);
    info.mtime_ms = when > 0 ? int64_t{when} * 1000 : 0;
    return info;
  }

  // One ListObjectsV2 walk. ListFolders() is the generic one, derived from this listing: a
  // delimiter listing would be cheaper, but s3rver (the test endpoint) drops common prefixes
  // that hold only deeper folders, and a folder missed is a stale staging area never removed.
  Status ListPages(std::string_view prefix, std::vector<ObjectInfo>* objects) {
    std::string token;
    const std::string full_prefix = Full(prefix);
    Target t{"list", "s3://" + url_.bucket + "/" + full_prefix};
    for (;;) {
      Request req;
      req.query = {{"list-type", "2"}, {"prefix", full_prefix}};
      if (list_page_size_ > 0) req.query.emplace_back("max-keys", std::to_string(list_page_size_));
      if (!token.empty()) req.query.emplace_back("continuation-token", token);
      SLUICE_ASSIGN_OR_RETURN(Response r, client_.Send(req, t));
      if (r.status != 200) return Unexpected(r, t, url_.bucket);
      bool truncated = false;
      std::string next;
      ObjectInfo cur;
      SLUICE_RETURN_IF_ERROR(ParseXml(r.body, t.operation + " " + t.url,
                                      [&](const std::string& path, const std::string& text) {
                                        if (path == "/ListBucketResult/IsTruncated")
                                          truncated = text == "true";
                                        if (path == "/ListBucketResult/NextContinuationToken")
                                          next = text;
                                        if (path == "/ListBucketResult/Contents/Key")
                                          cur.key = text;
                                        if (path == "/ListBucketResult/Contents/Size")
                                          cur.size = std::strtoll(text.c_str(), nullptr, 10);
                                        if (path == "/ListBucketResult/Contents/LastModified")
                                          cur.mtime_ms = ParseIsoTime(text);
                                        if (path == "/ListBucketResult/Contents") {
                                          if (StartsWith(cur.key, url_.prefix)) {
                                            cur.key = cur.key.substr(url_.prefix.size());
                                            if (ValidateKey(cur.key).ok()) objects->push_back(cur);
                                          }
                                          cur = ObjectInfo();
                                        }
                                      }));
      if (!truncated) break;
      if (next.empty() || next == token) {
        return Status::Corrupt("s3: " + t.operation + " " + t.url +
                               ": the endpoint said the listing goes on but gave no new "
                               "continuation token");
      }
      token = next;
    }
    return Status::Ok();
  }

  Result<std::vector<ObjectInfo>> List(std::string_view prefix) override {
    SLUICE_RETURN_IF_ERROR(ValidateKeyPrefix(prefix));
    std::vector<ObjectInfo> out;
    SLUICE_RETURN_IF_ERROR(ListPages(prefix, &out));
    std::sort(out.begin(), out.end(),
              [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
    return out;
  }

  Status Delete(std::string_view key) override {
    SLUICE_RETURN_IF_ERROR(ValidateKey(key));
    Request req;
    req.method = "DELETE";
    req.key = Full(key);
    Target t = Tgt("delete", key);
    SLUICE_ASSIGN_OR_RETURN(Response r, client_.Send(req, t));
    if (r.status == 204 || r.status == 200 || r.status == 404) return Status::Ok();
    return Unexpected(r, t, url_.bucket);
  }

  // DeleteObjects in batches of 1,000 keys (store keys, validated).
  Status DeleteKeys(const std::vector<std::string>& keys, const std::string& what) {
    for (size_t i = 0; i < keys.size(); i += kDeleteBatch) {
      std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete><Quiet>true</Quiet>";
      for (size_t j = i; j < std::min(keys.size(), i + kDeleteBatch); ++j) {
        xml += "<Object><Key>" + XmlEscape(Full(keys[j])) + "</Key></Object>";
      }
      xml += "</Delete>";
      Request req;
      req.method = "POST";
      req.query = {{"delete", ""}};
      req.body = xml;
      req.headers = {"Content-Type: application/xml", "Content-MD5: " + ContentMd5(xml)};
      Target t = Tgt("delete", what);
      SLUICE_ASSIGN_OR_RETURN(Response r, client_.Send(req, t));
      if (r.status != 200) return Unexpected(r, t, url_.bucket);
      std::string failed;
      std::string failed_code;
      SLUICE_RETURN_IF_ERROR(ParseXml(
          r.body, "delete " + t.url, [&](const std::string& path, const std::string& text) {
            if (path == "/DeleteResult/Error/Key" && failed.empty()) failed = text;
            if (path == "/DeleteResult/Error/Code" && failed_code.empty()) failed_code = text;
          }));
      if (!failed.empty()) {
        return Status::IoError("s3: delete s3://" + url_.bucket + "/" + failed + ": " +
                               failed_code);
      }
    }
    return Status::Ok();
  }

  Status DeletePrefix(std::string_view prefix) override {
    SLUICE_RETURN_IF_ERROR(ValidateKeyPrefix(prefix));
    SLUICE_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects, List(prefix));
    std::vector<std::string> keys;
    for (ObjectInfo& o : objects) keys.push_back(std::move(o.key));
    return DeleteKeys(keys, std::string(prefix));
  }

  Status Copy(const ObjectInfo& from, const std::string& to) {
    if (from.size >= kMaxCopyBytes) {
      // Past CopyObject's limit: stream it through (rare: one member over 5 GiB).
      SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<InputStream> in, Open(from.key));
      SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<OutputStream> out, Create(to));
      std::string buf(1 << 20, '\0');
      for (;;) {
        SLUICE_ASSIGN_OR_RETURN(size_t n, in->Read(buf.data(), buf.size()));
        if (n == 0) break;
        SLUICE_RETURN_IF_ERROR(out->Write(std::string_view(buf.data(), n)));
      }
      return out->Commit();
    }
    Request req;
    req.method = "PUT";
    req.key = Full(to);
    req.headers = {"x-amz-copy-source: /" + url_.bucket + "/" +
                   s3::UriEncode(Full(from.key), true)};
    Target t = Tgt("copy " + from.key + " to", to);
    SLUICE_ASSIGN_OR_RETURN(Response r, client_.Send(req, t));
    // A copy can fail after its 200 has been sent: the body then holds an <Error>.
    if (r.status != 200 || !s3::ParseError(r.body).code.empty()) {
      if (r.status == 200) r.status = 500;
      return Unexpected(r, t, url_.bucket);
    }
    return Status::Ok();
  }

  Status PublishPrefix(std::string_view staging_prefix, std::string_view final_prefix) override {
    SLUICE_RETURN_IF_ERROR(ValidateKeyPrefix(staging_prefix));
    SLUICE_RETURN_IF_ERROR(ValidateKeyPrefix(final_prefix));
    if (staging_prefix.empty() || staging_prefix.back() != '/' || final_prefix.empty() ||
        final_prefix.back() != '/') {
      return Status::InvalidArgument("PublishPrefix takes two folder prefixes ending in \"/\"");
    }
    SLUICE_ASSIGN_OR_RETURN(std::vector<ObjectInfo> staged, List(staging_prefix));
    SLUICE_ASSIGN_OR_RETURN(std::vector<ObjectInfo> old, List(final_prefix));
    std::vector<std::string> fresh;
    for (const ObjectInfo& o : staged) {
      std::string dest = std::string(final_prefix) + o.key.substr(staging_prefix.size());
      SLUICE_RETURN_IF_ERROR(Copy(o, dest));
      fresh.push_back(std::move(dest));
    }
    std::sort(fresh.begin(), fresh.end());
    std::vector<std::string> gone;
    for (ObjectInfo& o : old) {
      if (!std::binary_search(fresh.begin(), fresh.end(), o.key)) gone.push_back(std::move(o.key));
    }
    SLUICE_RETURN_IF_ERROR(DeleteKeys(gone, std::string(final_prefix)));
    std::vector<std::string> staged_keys;
    for (ObjectInfo& o : staged) staged_keys.push_back(std::move(o.key));
    return DeleteKeys(staged_keys, std::string(staging_prefix));
  }

  std::string Describe() const override {
    std::string p = url_.prefix;
    if (!p.empty()) p.pop_back();
    return "s3://" + url_.bucket + (p.empty() ? "" : "/" + p);
  }

 private:
  S3Url url_;
  Client client_;
  size_t part_size_;  // of ranged GETs and upload parts
  int list_page_size_;
  s3::UploadSlots slots_;
  s3::UploadSettings upload_;

 public:
  int upload_peak() const { return slots_.peak(); }
};

void S3InputStream::Prefetch() {
  if (offset_ >= total_) return;
  next_buf_.clear();
  next_ = std::async(std::launch::async, [this, from = offset_] {
    return store_->GetRange(key_, from, etag_, &next_buf_, nullptr, nullptr);
  });
}

Result<size_t> S3InputStream::Read(char* buf, size_t n) {
  if (pos_ == buf_.size()) {
    if (offset_ >= total_) return size_t{0};
    if (!next_.valid()) Prefetch();  // a read after a failed one asks for the range again
    SLUICE_RETURN_IF_ERROR(next_.get());
    buf_.swap(next_buf_);
    pos_ = 0;
    if (buf_.empty()) {
      return Status::IoError("s3: read " + store_->Tgt("read", key_).url + ": got no bytes at " +
                             std::to_string(offset_) + " of " + std::to_string(total_));
    }
    offset_ += static_cast<int64_t>(buf_.size());
    Prefetch();
  }
  size_t take = std::min(n, buf_.size() - pos_);
  std::memcpy(buf, buf_.data() + pos_, take);
  pos_ += take;
  return take;
}

std::string EnvOr(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

}  // namespace

Result<S3Url> ParseS3Url(std::string_view url) {
  if (!StartsWith(url, "s3://")) {
    return Status::InvalidArgument("store URL \"" + Printable(url) +
                                   "\" is not s3://bucket/prefix");
  }
  std::string_view rest = url.substr(5);
  size_t slash = rest.find('/');
  S3Url out;
  out.bucket = std::string(rest.substr(0, slash));
  if (slash != std::string_view::npos) out.prefix = std::string(rest.substr(slash + 1));
  while (!out.prefix.empty() && out.prefix.back() == '/') out.prefix.pop_back();
  bool bucket_ok = out.bucket.size() >= 3 && out.bucket.size() <= 63;
  for (char c : out.bucket) {
    bucket_ok =
        bucket_ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.');
  }
  if (!bucket_ok) {
    return Status::InvalidArgument("store URL \"" + Printable(url) + "\": \"" +
                                   Printable(out.bucket) +
                                   "\" is not a bucket name (3-63 characters: a-z, 0-9, '-', '.')");
  }
  if (!out.prefix.empty()) {
    Status st = ValidateKey(out.prefix);
    if (!st.ok())
      return Status::InvalidArgument("store URL \"" + Printable(url) + "\": prefix " +
                                     st.message());
    out.prefix += "/";
  }
  return out;
}

Result<std::unique_ptr<ObjectStore>> OpenS3Store(std::string_view url, const config::S3Config& s3,
                                                 const S3StoreOptions& options) {
  SLUICE_ASSIGN_OR_RETURN(S3Url parsed, ParseS3Url(url));
  s3::ClientOptions c;
  c.region =
      EnvOr("AWS_REGION", EnvOr("AWS_DEFAULT_REGION", s3.region.empty() ? "us-east-1" : s3.region));
  c.endpoint = EnvOr("AWS_ENDPOINT_URL_S3", EnvOr("AWS_ENDPOINT_URL", s3.endpoint));
  c.path_style = s3.path_style;
  if (c.endpoint.empty()) c.endpoint = "https://s3." + c.region + ".amazonaws.com";
  if (!StartsWith(c.endpoint, "http://") && !StartsWith(c.endpoint, "https://")) {
    return Status::InvalidArgument(
        "s3 endpoint \"" + Printable(c.endpoint) +
        "\" must start with http:// or https:// (sluice.yaml s3.endpoint or "
        "AWS_ENDPOINT_URL)");
  }
  // Bucket names with dots break TLS for virtual-hosted addresses.
  if (parsed.bucket.find('.') != std::string::npos) c.path_style = true;
  c.bucket = parsed.bucket;
  SLUICE_ASSIGN_OR_RETURN(c.credentials, s3::LoadCredentials());
  if (options.max_attempts > 0) c.max_attempts = options.max_attempts;
  if (options.retry_budget_ms > 0) c.retry_budget_ms = options.retry_budget_ms;
  if (options.sleep_ms) c.sleep_ms = options.sleep_ms;
  // Tests' part_size sets both the threshold and the part size, as the key alone used to.
  int64_t threshold = options.part_size > 0 ? options.part_size : s3.multipart_threshold;
  if (options.threshold > 0) threshold = options.threshold;
  if (threshold <= 0) threshold = config::S3Config().multipart_threshold;
  int64_t part = options.part_size > 0 ? options.part_size : s3.multipart_part_size;
  if (part <= 0) part = std::min(threshold, kDefaultPartSize);
  const int concurrency =
      options.upload_concurrency > 0 ? options.upload_concurrency : s3.upload_concurrency;
  std::string spool_dir = EnvOr("TMPDIR", "/tmp");
  while (spool_dir.size() > 1 && spool_dir.back() == '/') spool_dir.pop_back();
  return std::unique_ptr<ObjectStore>(std::make_unique<S3Store>(
      std::move(parsed), std::move(c), static_cast<size_t>(part), threshold,
      concurrency > 0 ? concurrency : 1, std::move(spool_dir), options.list_page_size));
}

int S3UploadPeak(const ObjectStore& store) {
  const auto* s = dynamic_cast<const S3Store*>(&store);
  return s == nullptr ? -1 : s->upload_peak();
}

int64_t S3RequestCount(const ObjectStore& store) {
  const auto* s = dynamic_cast<const S3Store*>(&store);
  return s == nullptr ? -1 : const_cast<S3Store*>(s)->client().requests();
}

}  // namespace sluice::store
