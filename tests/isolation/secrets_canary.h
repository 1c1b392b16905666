// tests/isolation/secrets_canary.h: the pieces of the secrets canary tests (docs/reliability.md
// "Secrets"): credentials set to unique canary values in this process's environment (spawned
// sluice processes inherit them), a sampler of every process's command line on the machine
// while a run goes on, and searches of texts and folders for any canary.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "testing/proc_file.h"

namespace sluice::testing {

struct CanaryValue {
  std::string env;    // the variable
  std::string value;  // its canary value (unique, 8+ bytes so the redactor registers it)
};

// Sets each canary in the environment for the object's life; restores what was there.
class CanaryEnv {
 public:
  explicit CanaryEnv(std::vector<CanaryValue> canaries) : canaries_(std::move(canaries)) {
    for (const CanaryValue& c : canaries_) {
      const char* old = ::getenv(c.env.c_str());
      saved_.emplace_back(c.env, old ? std::optional<std::string>(old) : std::nullopt);
      ::setenv(c.env.c_str(), c.value.c_str(), 1);
    }
  }
  ~CanaryEnv() {
    for (const auto& [name, old] : saved_) {
      if (old) {
        ::setenv(name.c_str(), old->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
  }
  CanaryEnv(const CanaryEnv&) = delete;
  CanaryEnv& operator=(const CanaryEnv&) = delete;

  const std::vector<CanaryValue>& canaries() const { return canaries_; }

  // The variables whose canary (or `extra` value: a token inside a URL) `text` holds.
  std::vector<std::string> Found(const std::string& text) const {
    std::vector<std::string> found;
    for (const CanaryValue& c : canaries_) {
      if (text.find(c.value) != std::string::npos) found.push_back(c.env);
    }
    for (const auto& [name, value] : extra_) {
      if (text.find(value) != std::string::npos) found.push_back(name);
    }
    return found;
  }
  // A secret searched for without being a variable of its own (the token in a webhook URL).
  void AlsoSearch(std::string name, std::string value) {
    extra_.emplace_back(std::move(name), std::move(value));
  }

 private:
  std::vector<CanaryValue> canaries_;
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
  std::vector<std::pair<std::string, std::string>> extra_;
};

// Reads /proc/*/cmdline of every process on the machine every few milliseconds on a thread of
// its own, until Stop(): the distinct command lines seen (arguments joined by spaces).
class CmdlineSampler {
 public:
  CmdlineSampler() : thread_([this] { Loop(); }) {}
  ~CmdlineSampler() { Stop(); }
  CmdlineSampler(const CmdlineSampler&) = delete;
  CmdlineSampler& operator=(const CmdlineSampler&) = delete;

  // Stops sampling; every distinct command line seen, one a line.
  std::string Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    std::string all;
    for (const std::string& line : seen_) all += line + "\n";
    return all;
  }
  // Distinct command lines seen so far that contain `needle`.
  int CountContaining(const std::string& needle) {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (const std::string& line : seen_) n += line.find(needle) != std::string::npos;
    return n;
  }

 private:
  void Loop() {
    while (!stop_) {
      std::error_code ec;
      for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
        const std::string name = e.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::string line = ReadProcFile(e.path() / "cmdline");
        for (char& c : line) {
          if (c == '\0') c = ' ';
        }
        if (line.empty()) continue;
        std::lock_guard<std::mutex> lock(mu_);
        seen_.insert(line);
      }
      ::usleep(5000);  // between two samples
    }
  }

  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::set<std::string> seen_;
  std::thread thread_;
};

inline std::string SlurpFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Calls `check(relative path, content)` for every regular file under `root` that `skip` does
// not exclude; the number of files checked.
inline int ForEachFile(const std::filesystem::path& root,
                       const std::function<bool(const std::string& rel)>& skip,
                       const std::function<void(const std::string&, const std::string&)>& check) {
  int files = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(
           root, std::filesystem::directory_options::skip_permission_denied, ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
    const std::string rel = it->path().lexically_relative(root).string();
    if (skip && skip(rel)) continue;
    ++files;
    check(rel, SlurpFile(it->path()));
  }
  return files;
}

}  // namespace sluice::testing
