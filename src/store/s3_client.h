// store/s3_client.h: signed HTTP requests to an S3 endpoint, with retries. Internal to the S3
// store (s3_store.cpp); libcurl stays inside s3_client.cpp.
//
// Requests are signed by libcurl itself (CURLOPT_AWS_SIGV4). libcurl 7.88 signs the query string
// exactly as sent and does not add x-amz-content-sha256, so this client builds every query in
// canonical form (sorted, RFC 3986 encoding with uppercase hex, "key=" for empty values) and sends
// x-amz-content-sha256: UNSIGNED-PAYLOAD. Connections are kept alive and shared by every request
// of the process (one curl share handle). Retries: 5xx, 429, SlowDown and connection failures,
// with exponential backoff and full jitter, bounded in attempts and in time; never 400/403/404.
// Credentials are registered with the log redactor and travel only in memory (never in URLs or
// process arguments).
// Thread-safety: a Client is safe to share between threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace sluice::store::s3 {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  std::string source;  // "environment" or "profile default in /root/.aws/credentials", for messages
};

// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, else the profile AWS_PROFILE
// ("default") of the shared credentials file (AWS_SHARED_CREDENTIALS_FILE, ~/.aws/credentials).
// The secret and token are registered with log::RegisterSecret. PermissionDenied saying where it
// looked when none is found.
Result<Credentials> LoadCredentials();

// RFC 3986 percent-encoding with uppercase hex; '/' kept when `keep_slash`.
std::string UriEncode(std::string_view s, bool keep_slash);

struct ClientOptions {
  std::string endpoint;  // "https://host[:port]", no trailing slash
  std::string region;
  std::string bucket;
  bool path_style = false;
  Credentials credentials;
  int max_attempts = 6;             // per request, the first one included
  int64_t retry_budget_ms = 60000;  // no new attempt once this much time has passed
  int64_t base_backoff_ms = 100;
  int64_t max_backoff_ms = 5000;
  long connect_timeout_ms = 10000;
  long stall_timeout_s = 60;  // a transfer under 1 byte/s for this long fails (and is retried)
  // Waits between attempts; std::this_thread::sleep_for when empty (tests pass a fake, which is
  // called under the client's lock: requests run on several threads at once).
  std::function<void(int64_t ms)> sleep_ms;
};

struct Request {
  std::string method = "GET";
  std::string key;  // object key within the bucket (unencoded); "" for the bucket itself
  std::vector<std::pair<std::string, std::string>> query;  // unencoded; order does not matter
  std::vector<std::string> headers;                        // "Name: value"
  std::string_view body;                                   // PUT/POST payload
  // A PUT payload read from a file instead (body_size bytes at body_offset of body_fd, read
  // with pread, so a retry re-reads it); used when body_fd >= 0.
  int body_fd = -1;
  int64_t body_offset = 0;
  int64_t body_size = 0;
  // For a body still being written to body_fd: called before each read with the offset (within
  // the body) of the first byte wanted; waits until there are bytes past it and returns how far
  // the body can be read now, or -1 to abort the request (the writer was dropped or failed).
  std::function<int64_t(int64_t from)> body_ready;
  bool no_body = false;  // HEAD
  // Where the response body goes when the status is 2xx; the response's body otherwise.
  std::string* sink = nullptr;
};

struct Response {
  long status = 0;
  std::string body;                            // error bodies and bodies without a sink
  std::map<std::string, std::string> headers;  // lower-case names
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// What a request is about, for messages: "GET s3://bucket/prefix/key".
struct Target {
  std::string operation;  // "read", "write", "list", ...
  std::string url;        // s3://bucket/key
};

class Client {
 public:
  explicit Client(ClientOptions options);
  // Sends `req`, retrying what may succeed later. Returns the response of any status that is not
  // retried (the caller maps 404 and friends) — except 403 and a wrong region, which become
  // PermissionDenied / InvalidArgument naming the target and what to do. Unavailable or Timeout
  // once retries are exhausted.
  Result<Response> Send(const Request& req, const Target& target);
  // Requests sent so far by this client (every attempt counts).
  int64_t requests() const { return requests_.load(); }
  const ClientOptions& options() const { return options_; }

 private:
  std::string Url(const Request& req) const;
  ClientOptions options_;
  std::atomic<int64_t> requests_{0};
  std::mutex sleep_mu_;  // serialises calls to options_.sleep_ms
};

// Handles (each with its connections) idle in this process's pool; for tests.
size_t PooledHandlesForTest();

// An S3 error body: <Error><Code>..</Code><Message>..</Message><Region>..</Region></Error>.
struct ErrorBody {
  std::string code;
  std::string message;
  std::string region;
};
ErrorBody ParseError(std::string_view xml);

}  // namespace sluice::store::s3
