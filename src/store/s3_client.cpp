// Signed S3 requests over libcurl. See s3_client.h.
#include "store/s3_client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <new>
#include <random>
#include <thread>

#include "core/logging.h"
#include "core/strings.h"
#include "store/s3_wire.h"

namespace sluice::store::s3 {

namespace {

// ---- one connection pool per process ------------------------------------------------------

struct Shared {
  CURLSH* share = nullptr;
  std::mutex locks[CURL_LOCK_DATA_LAST];
  std::mutex pool_mu;
  std::vector<CURL*> idle;  // easy handles keep their connection cache between requests
};

void LockShared(CURL*, curl_lock_data data, curl_lock_access, void* user) {
  static_cast<Shared*>(user)->locks[data].lock();
}
void UnlockShared(CURL*, curl_lock_data data, void* user) {
  static_cast<Shared*>(user)->locks[data].unlock();
}

// One pool per process, and a fork is another process: the local executor runs builtins in
// forks of the scheduler, and a child must neither use the connections it inherited (its
// parent's too: two processes on one socket garble both) nor the pool's mutexes, which another
// of the parent's threads may have held at the fork. So the child forgets the inherited pool
// (leaked, never closed: closing could end the parent's TLS sessions) and builds its own on
// first use.
Shared* g_shared = nullptr;
std::mutex g_shared_mu;

void ForgetTheParentsPool() {
  g_shared = nullptr;
  new (&g_shared_mu) std::mutex;  // the child's only thread holds nothing
}

Shared& GetShared() {
  std::lock_guard<std::mutex> lock(g_shared_mu);
  if (g_shared == nullptr) {
    static const bool initialised = [] {
      curl_global_init(CURL_GLOBAL_DEFAULT);
      pthread_atfork(nullptr, nullptr, ForgetTheParentsPool);
      return true;
    }();
    (void)initialised;
    auto* s = new Shared;  // lives as long as the process: handles may be in use at exit
    s->share = curl_share_init();
    curl_share_setopt(s->share, CURLSHOPT_LOCKFUNC, LockShared);
    curl_share_setopt(s->share, CURLSHOPT_UNLOCKFUNC, UnlockShared);
    curl_share_setopt(s->share, CURLSHOPT_USERDATA, s);
    curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    g_shared = s;
  }
  return *g_shared;
}

class EasyLease {
 public:
  EasyLease() {
    Shared& s = GetShared();
    std::lock_guard<std::mutex> lock(s.pool_mu);
    if (!s.idle.empty()) {
      h_ = s.idle.back();
      s.idle.pop_back();
    }
    if (h_ == nullptr) h_ = curl_easy_init();
  }
  ~EasyLease() {
    if (h_ == nullptr) return;
    curl_easy_reset(h_);
    Shared& s = GetShared();
    std::lock_guard<std::mutex> lock(s.pool_mu);
    s.idle.push_back(h_);
  }
  EasyLease(const EasyLease&) = delete;
  EasyLease& operator=(const EasyLease&) = delete;
  CURL* get() const { return h_; }

 private:
  CURL* h_ = nullptr;
};

}  // namespace

size_t PooledHandlesForTest() {
  Shared& s = GetShared();
  std::lock_guard<std::mutex> lock(s.pool_mu);
  return s.idle.size();
}

namespace {

// ---- transfer callbacks ---------------------------------------------------------------------

struct Transfer {
  std::string_view upload;
  size_t upload_pos = 0;
  int fd = -1;  // the upload comes from bytes [fd_offset, fd_offset + fd_size) of fd instead
  int64_t fd_offset = 0;
  int64_t fd_size = 0;
  const std::function<int64_t(int64_t)>* fd_ready = nullptr;  // Request::body_ready, when set
  std::string* out = nullptr;
  Response* resp = nullptr;
};

size_t OnWrite(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  t->out->append(data, size * n);
  return size * n;
}

size_t OnRead(char* buf, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  if (t->fd >= 0) {
    size_t left = static_cast<size_t>(t->fd_size) - t->upload_pos;
    if (left > 0 && t->fd_ready != nullptr && *t->fd_ready) {
      const int64_t ready = (*t->fd_ready)(static_cast<int64_t>(t->upload_pos));
      if (ready < 0 || static_cast<size_t>(ready) <= t->upload_pos) return CURL_READFUNC_ABORT;
      left = std::min(left, static_cast<size_t>(ready) - t->upload_pos);
    }
    const size_t want = std::min(size * n, left);
    if (want == 0) return 0;
    for (;;) {
      const ssize_t got = ::pread(
          t->fd, buf, want, static_cast<off_t>(t->fd_offset + static_cast<int64_t>(t->upload_pos)));
      if (got < 0 && errno == EINTR) continue;
      // A short file (got == 0 before the end) is an error too: curl would send a short body.
      if (got <= 0) return CURL_READFUNC_ABORT;
      t->upload_pos += static_cast<size_t>(got);
      return static_cast<size_t>(got);
    }
  }
  size_t take = std::min(size * n, t->upload.size() - t->upload_pos);
  std::memcpy(buf, t->upload.data() + t->upload_pos, take);
  t->upload_pos += take;
  return take;
}

int OnSeek(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  const size_t size = t->fd >= 0 ? static_cast<size_t>(t->fd_size) : t->upload.size();
  if (origin != SEEK_SET || offset < 0 || static_cast<size_t>(offset) > size) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  t->upload_pos = static_cast<size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (StartsWith(line, "HTTP/")) {
    t->resp->headers.clear();  // a new response (after 100 Continue)
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name(line.substr(0, colon));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
    value.remove_suffix(1);
  }
  t->resp->headers[name] = std::string(value);
  return size * n;
}

bool RetryableStatus(long status, const ErrorBody& err) {
  if (status >= 500 || status == 429) return true;
  // S3 asks for a retry with these codes on a 400.
  return status == 400 && (err.code == "RequestTimeout" || err.code == "SlowDown");
}

bool RetryableCurl(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

std::string Trimmed(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

std::string EnvOr(const char* name, std::string fallback = "") {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

}  // namespace

ErrorBody ParseError(std::string_view xml) {
  ErrorBody out;
  if (xml.empty()) return out;
  (void)ParseXml(xml, "error", [&](const std::string& path, const std::string& text) {
    if (path == "/Error/Code") out.code = text;
    if (path == "/Error/Message") out.message = text;
    if (path == "/Error/Region") out.region = text;
  });
  return out;
}

std::string UriEncode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3 / 2);
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

Result<Credentials> LoadCredentials() {
  Credentials c;
  c.access_key_id = EnvOr("AWS_ACCESS_KEY_ID");
  c.secret_access_key = EnvOr("AWS_SECRET_ACCESS_KEY");
  c.session_token = EnvOr("AWS_SESSION_TOKEN");
  c.source = "the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)";
  std::string file;
  std::string profile = EnvOr("AWS_PROFILE", "default");
  if (c.access_key_id.empty() || c.secret_access_key.empty()) {
    c = Credentials();
    file = EnvOr("AWS_SHARED_CREDENTIALS_FILE");
    if (file.empty()) {
      std::string home = EnvOr("HOME");
      if (!home.empty()) file = home + "/.aws/credentials";
    }
    std::ifstream in(file);
    std::string line;
    std::string section;
    while (in && std::getline(in, line)) {
      line = Trimmed(line);
      if (line.empty() || line[0] == '#' || line[0] == ';') continue;
      if (line.front() == '[' && line.back() == ']') {
        section = Trimmed(line.substr(1, line.size() - 2));
        continue;
      }
      if (section != profile) continue;
      size_t eq = line.find('=');
      if (eq == std::string::npos) continue;
      std::string k = Trimmed(line.substr(0, eq));
      std::string v = Trimmed(line.substr(eq + 1));
      if (k == "aws_access_key_id") c.access_key_id = v;
      if (k == "aws_secret_access_key") c.secret_access_key = v;
      if (k == "aws_session_token") c.session_token = v;
    }
    c.source = "profile \"" + profile + "\" of " + file;
  }
  if (c.access_key_id.empty() || c.secret_access_key.empty()) {
    return Status::PermissionDenied(
        "s3: no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and "
        "AWS_SESSION_TOKEN for temporary ones), or give profile \"" +
        profile + "\" aws_access_key_id and aws_secret_access_key in " +
        (file.empty() ? std::string("~/.aws/credentials") : file) +
        " (AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE); sluice.yaml never holds credentials");
  }
  log::RegisterSecret(c.secret_access_key);
  log::RegisterSecret(c.session_token);
  return c;
}

Client::Client(ClientOptions options) : options_(std::move(options)) {
  while (!options_.endpoint.empty() && options_.endpoint.back() == '/')
    options_.endpoint.pop_back();
}

std::string Client::Url(const Request& req) const {
  std::string url;
  if (options_.path_style) {
    url = options_.endpoint + "/" + UriEncode(options_.bucket, false);
  } else {
    size_t scheme = options_.endpoint.find("://");
    size_t host = scheme == std::string::npos ? 0 : scheme + 3;
    url =
        options_.endpoint.substr(0, host) + options_.bucket + "." + options_.endpoint.substr(host);
  }
  if (!req.key.empty())
    url += "/" + UriEncode(req.key, true);
  else if (!options_.path_style)
    url += "/";
  // The canonical query: sorted by encoded name, then value; "name=" for empty values.
  std::vector<std::pair<std::string, std::string>> q;
  for (const auto& [k, v] : req.query) q.emplace_back(UriEncode(k, false), UriEncode(v, false));
  std::sort(q.begin(), q.end());
  for (size_t i = 0; i < q.size(); ++i) {
    url += (i == 0 ? "?" : "&") + q[i].first + "=" + q[i].second;
  }
  return url;
}

Result<Response> Client::Send(const Request& req, const Target& target) {
  const std::string url = Url(req);
  const std::string sigv4 = "aws:amz:" + options_.region + ":s3";
  const auto start = std::chrono::steady_clock::now();
  static thread_local std::mt19937_64 rng(std::random_device{}());
  std::string last_error;
  int attempt = 0;
  for (;;) {
    ++attempt;
    Response resp;
    std::string body;
    std::string* out = req.sink != nullptr ? req.sink : &body;
    out->clear();
    Transfer t{req.body,        0,   req.body_fd, req.body_offset, req.body_size,
               &req.body_ready, out, &resp};
    EasyLease lease;
    CURL* h = lease.get();
    if (h == nullptr) return Status::Internal("s3: curl_easy_init failed");
    curl_slist* headers = nullptr;
    for (const std::string& hdr : req.headers) headers = curl_slist_append(headers, hdr.c_str());
    headers = curl_slist_append(headers, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
    std::string token_header;
    if (!options_.credentials.session_token.empty()) {
      token_header = "x-amz-security-token: " + options_.credentials.session_token;
      headers = curl_slist_append(headers, token_header.c_str());
    }
    curl_easy_setopt(h, CURLOPT_SHARE, GetShared().share);
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4.c_str());
    curl_easy_setopt(h, CURLOPT_USERNAME, options_.credentials.access_key_id.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, options_.credentials.secret_access_key.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, options_.stall_timeout_s);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnWrite);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (req.method == "HEAD" || req.no_body) {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (req.method == "PUT") {
      curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(h, CURLOPT_READFUNCTION, OnRead);
      curl_easy_setopt(h, CURLOPT_READDATA, &t);
      curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, OnSeek);
      curl_easy_setopt(h, CURLOPT_SEEKDATA, &t);
      curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
                       static_cast<curl_off_t>(req.body_fd >= 0 ? req.body_size : req.body.size()));
    } else if (req.method == "POST") {
      curl_easy_setopt(h, CURLOPT_POST, 1L);
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    } else if (req.method != "GET") {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    }
    ++requests_;
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(headers);
    bool retry = false;
    if (rc != CURLE_OK) {
      last_error = std::string(curl_easy_strerror(rc));
      if (!RetryableCurl(rc)) {
        return Status::IoError("s3: " + target.operation + " " + target.url + ": " + last_error +
                               " (" + options_.endpoint + ")");
      }
      retry = true;
    } else {
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
      if (resp.status < 200 || resp.status >= 300) {
        if (req.sink != nullptr) {
          resp.body = std::move(*req.sink);
          req.sink->clear();
        } else {
          resp.body = std::move(body);
        }
      } else if (req.sink == nullptr) {
        resp.body = std::move(body);
      }
      ErrorBody err;
      if (resp.status >= 300) err = ParseError(resp.body);
      if (RetryableStatus(resp.status, err)) {
        retry = true;
        last_error = "HTTP " + std::to_string(resp.status) +
                     (err.code.empty() ? "" : " " + err.code) +
                     (err.message.empty() ? "" : ": " + err.message);
      } else if (resp.status == 403) {
        return Status::PermissionDenied(
            "s3: " + target.operation + " " + target.url + " refused (403 " +
            (err.code.empty() ? std::string("AccessDenied") : err.code) +
            "): the credentials from " + options_.credentials.source + " were refused for bucket " +
            options_.bucket + " at " + options_.endpoint +
            "; check the key pair, its policy for this bucket and prefix, and the clock");
      } else if (!err.region.empty() && err.region != options_.region) {
        return Status::InvalidArgument(
            "s3: bucket " + options_.bucket + " is in region " + err.region + ", not " +
            options_.region + " (" + target.operation + " " + target.url +
            "); set s3.region: " + err.region + " in sluice.yaml or AWS_REGION=" + err.region);
      } else if ((resp.status == 301 || resp.status == 400) &&
                 !resp.Header("x-amz-bucket-region").empty() &&
                 resp.Header("x-amz-bucket-region") != options_.region) {
        // A HEAD has no body: S3 names the bucket's region in a header.
        const std::string region = resp.Header("x-amz-bucket-region");
        return Status::InvalidArgument("s3: bucket " + options_.bucket + " is in region " + region +
                                       ", not " + options_.region + "; set s3.region: " + region +
                                       " in sluice.yaml or AWS_REGION=" + region);
      } else {
        return resp;
      }
    }
    (void)retry;
    const int64_t elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - start)
                                .count();
    int64_t cap = options_.base_backoff_ms << std::min(attempt - 1, 20);
    cap = std::min(cap, options_.max_backoff_ms);
    const int64_t wait = std::uniform_int_distribution<int64_t>(cap / 2, cap)(rng);
    if (attempt >= options_.max_attempts || elapsed + wait > options_.retry_budget_ms) {
      return Status::Unavailable("s3: " + target.operation + " " + target.url + " failed after " +
                                 std::to_string(attempt) + " attempt(s) in " +
                                 std::to_string(elapsed / 1000) + "s: " + last_error + " (" +
                                 options_.endpoint +
                                 "); the endpoint is down or overloaded, try "
                                 "again later");
    }
    log::Debug("s3: {} {}: {}; retrying in {} ms", target.operation, target.url, last_error, wait);
    if (options_.sleep_ms) {
      std::lock_guard<std::mutex> lock(sleep_mu_);
      options_.sleep_ms(wait);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(wait));
    }
  }
}

}  // namespace sluice::store::s3
