// tests/alert/http_sink.h: a tiny real HTTP server on 127.0.0.1 (ephemeral port) that records
// the requests it receives. Answers each request with the next status from `statuses` (200
// when they run out). Used by the alert tests and the engine's end-to-end tests.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sluice::testing {

struct HttpRequest {
  std::string method;
  std::string path;
  std::string headers;
  std::string body;
};

class HttpSink {
 public:
  explicit HttpSink(std::vector<int> statuses = {}) : statuses_(statuses.begin(), statuses.end()) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(fd_, 16);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~HttpSink() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  std::string Url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  // Waits (on a condition variable, signalled by the server thread) for `n` requests.
  std::vector<HttpRequest> WaitFor(size_t n, int timeout_seconds = 30) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(timeout_seconds),
                 [&] { return requests_.size() >= n; });
    return requests_;
  }
  std::vector<HttpRequest> Requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::string data;
      char buf[4096];
      size_t header_end = std::string::npos;
      size_t content_length = 0;
      while (true) {
        ssize_t n = recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        data.append(buf, static_cast<size_t>(n));
        if (header_end == std::string::npos) {
          header_end = data.find("\r\n\r\n");
          if (header_end != std::string::npos) {
            std::string lower;
            for (char ch : data.substr(0, header_end)) lower += static_cast<char>(tolower(ch));
            size_t cl = lower.find("content-length:");
            if (cl != std::string::npos) content_length = std::stoul(lower.substr(cl + 15));
          }
        }
        if (header_end != std::string::npos && data.size() >= header_end + 4 + content_length) {
          break;
        }
      }
      HttpRequest req;
      if (header_end != std::string::npos) {
        std::string first = data.substr(0, data.find("\r\n"));
        req.method = first.substr(0, first.find(' '));
        size_t s1 = first.find(' ');
        size_t s2 = first.find(' ', s1 + 1);
        req.path = first.substr(s1 + 1, s2 - s1 - 1);
        req.headers = data.substr(0, header_end);
        req.body = data.substr(header_end + 4, content_length);
      }
      int status = 200;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (!statuses_.empty()) {
          status = statuses_.front();
          statuses_.pop_front();
        }
      }
      // Recorded before answering, so a client that got its answer sees its request here.
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(std::move(req));
      }
      cv_.notify_all();
      std::string reply = "HTTP/1.1 " + std::to_string(status) +
                          " X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
      send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
      close(c);
    }
  }

  int fd_ = -1;
  int port_ = 0;
  bool stop_ = false;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<int> statuses_;
  std::vector<HttpRequest> requests_;
};

}  // namespace sluice::testing
