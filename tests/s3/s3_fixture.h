// A real S3 endpoint for tests: tests/s3/server.js (s3rver behind a SigV4 signature check)
// started on 127.0.0.1 and stopped by pid. The npm packages are installed on first use by
// tests/s3/install.sh into <build>/s3-node (pinned by package-lock.json).
//
// Credentials: the server accepts kAccessKey/kSecretKey only; UseCredentials() puts them in this
// process's environment (the S3 store and a spawned sluice read them from there).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "testing/temp_dir.h"

namespace sluice::testing {

inline constexpr const char* kS3AccessKey = "SLUICETESTACCESSKEY";
inline constexpr const char* kS3SecretKey = "sluice-test-secret-key-0123456789";
inline constexpr const char* kS3Bucket = "sluice-test";

struct S3ServerOptions {
  int port = 0;      // 0: a free port
  int slowdown = 0;  // every Nth request answered 503 SlowDown
  std::string region = "us-east-1";
  // The server kills itself at the die_nth request whose "METHOD URL" contains die_on, after
  // the work is done and before answering (server.js --die-on); "" never.
  std::string die_on;
  int die_nth = 1;
};

class S3TestServer {
 public:
  // `dir` holds the server's objects, its request log and its output; it survives Stop(), so a
  // server started again on it (same port) serves the same objects.
  explicit S3TestServer(std::filesystem::path dir) : dir_(std::move(dir)) {}
  ~S3TestServer() { Stop(); }
  S3TestServer(const S3TestServer&) = delete;
  S3TestServer& operator=(const S3TestServer&) = delete;

  // Installs the harness if needed and starts the server; "" on success, else what went wrong.
  std::string Start(const S3ServerOptions& options = {}) {
    std::string node_dir = InstallHarness();
    if (node_dir.empty()) return "npm install of tests/s3 failed; see the output above";
    std::filesystem::create_directories(dir_ / "objects");
    const std::filesystem::path ready = dir_ / "ready.json";
    std::filesystem::remove(ready);
    std::vector<std::string> args = {"node",       node_dir + "/server.js",
                                     "--dir",      (dir_ / "objects").string(),
                                     "--ready",    ready.string(),
                                     "--port",     std::to_string(options.port),
                                     "--bucket",   kS3Bucket,
                                     "--log",      log_path().string(),
                                     "--slowdown", std::to_string(options.slowdown),
                                     "--region",   options.region,
                                     "--die-on",   options.die_on,
                                     "--die-nth",  std::to_string(options.die_nth)};
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::open((dir_ / "server.out").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      ::setenv("NODE_OPTIONS", "--openssl-legacy-provider", 1);  // s3rver's paging on Node 20
      ::setenv("SLUICE_TEST_S3_KEY", kS3AccessKey, 1);
      ::setenv("SLUICE_TEST_S3_SECRET", kS3SecretKey, 1);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execvp("node", argv.data());
      ::_exit(127);
    }
    // Wait for the server to say it listens (an external process: there is nothing to inject).
    for (int i = 0; i < 600; ++i) {
      if (std::filesystem::exists(ready)) {
        std::ifstream in(ready);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        size_t p = text.find("\"port\":");
        if (p != std::string::npos) {
          port_ = std::atoi(text.c_str() + p + 7);
          return "";
        }
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return "the S3 test server exited at start: " + Output();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    Stop();
    return "the S3 test server did not start within 30 s: " + Output();
  }

  // Waits until the server has ended by itself (die_on); false when it still runs after `ms`.
  bool WaitForExit(int ms) {
    for (int waited = 0; pid_ > 0; waited += 10) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
      } else if (waited >= ms) {
        return false;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    return true;
  }

  // Kills the server (SIGKILL when `hard`, as a crash would) and reaps it.
  void Stop(bool hard = false) {
    if (pid_ <= 0) return;
    ::kill(pid_, hard ? SIGKILL : SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  std::filesystem::path log_path() const { return dir_ / "requests.log"; }
  // Lines of the request log: "METHOD URL STATUS".
  std::vector<std::string> Requests() const {
    std::ifstream in(log_path());
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }
  std::string Output() const {
    std::ifstream in(dir_ / "server.out");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  // Sets the test credentials and unsets what would send the store elsewhere.
  static void UseCredentials() {
    ::setenv("AWS_ACCESS_KEY_ID", kS3AccessKey, 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", kS3SecretKey, 1);
    ::unsetenv("AWS_SESSION_TOKEN");
    ::unsetenv("AWS_ENDPOINT_URL");
    ::unsetenv("AWS_ENDPOINT_URL_S3");
    ::unsetenv("AWS_REGION");
    ::unsetenv("AWS_DEFAULT_REGION");
    ::unsetenv("AWS_PROFILE");
  }

 private:
  // <build>/s3-node, installed (once, under a lock) by tests/s3/install.sh; "" on failure.
  static std::string InstallHarness() {
    const std::filesystem::path dest =
        std::filesystem::path(SLUICE_BINARY).parent_path() / "s3-node";
    const std::string cmd =
        std::string(SLUICE_SOURCE_DIR) + "/tests/s3/install.sh '" + dest.string() + "' >/dev/null";
    if (std::system(cmd.c_str()) != 0) return "";
    return dest.string();
  }

  std::filesystem::path dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace sluice::testing
