// tests/chaos/attempt_processes.h: the live attempt processes of a pipeline, found from /proc
// for tests that kill or stop them (tests/chaos/chaos_harness.h, tests/pg/pg_chaos_test.cpp).
//
// An attempt is found by its log, not by its command line: the local executor runs a builtin's
// attempt in a fork of the scheduler, which keeps the scheduler's command line (`sluice run
// DIR`), so a search for `sluice task exec DIR` would find nothing and a test would quietly
// stop killing attempts. Every local attempt, forked or exec'd, has its log as stdout and holds
// the flock() the launch took on it (the lock `Probe` asks about, workflow/attempt_files.h):
// a process whose fd 1 is a `<n>.log` under the pipeline's folder whose inode /proc/locks shows
// locked is an attempt. Slurm's attempts hold no such lock; they are exec'd by slurmd as
// `sluice task exec DIR ...` and found by that command line.
//
// Read-only: /proc/locks is read rather than the lock tried, so a look never makes the product's
// own probe see a finished attempt as alive. Thread-safety: pure functions over /proc.
#pragma once

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "testing/proc_file.h"

namespace sluice::chaos {

// A live attempt process of a pipeline.
struct AttemptProcess {
  pid_t pid = 0;
  std::string name;     // "task[partner]"
  std::string task;     // the task key
  std::string partner;  // "" for a task without a partner
};

using ::sluice::testing::ReadProcFile;

inline bool IsZombieOrGone(pid_t pid) {
  const std::string s = ReadProcFile("/proc/" + std::to_string(pid) + "/stat");
  const size_t paren = s.rfind(')');
  return paren == std::string::npos || paren + 2 >= s.size() || s[paren + 2] == 'Z' ||
         s[paren + 2] == 'X';
}

// The parent pid of `pid` (field 4 of /proc/<pid>/stat), or 0.
inline pid_t ParentPid(pid_t pid) {
  const std::string s = ReadProcFile("/proc/" + std::to_string(pid) + "/stat");
  const size_t paren = s.rfind(')');
  if (paren == std::string::npos || paren + 4 >= s.size()) return 0;
  return static_cast<pid_t>(std::atol(s.c_str() + paren + 4));
}

// The files flock()ed right now, as "major:minor:inode" (hex device numbers, as /proc/locks
// writes them). Waiters ("-> ") are not holders and are skipped.
inline std::set<std::string> FlockedFiles() {
  std::set<std::string> out;
  std::istringstream in(ReadProcFile("/proc/locks"));
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string w; fields >> w;) f.push_back(w);
    // "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"
    if (f.size() < 6 || f[1] != "FLOCK") continue;
    out.insert(f[5]);
  }
  return out;
}

// "major:minor:inode" of `st` in /proc/locks' spelling.
inline std::string LockKey(const struct stat& st) {
  char key[64];
  std::snprintf(key, sizeof key, "%02x:%02x:%llu", major(st.st_dev), minor(st.st_dev),
                static_cast<unsigned long long>(st.st_ino));
  return key;
}

// The (task, partner) of an attempt log `<logs>/<run>/<task>[.<partner>]/<n>.log`, or false
// when `log` is not one under `dir`.
inline bool ParseAttemptLog(const std::filesystem::path& dir, const std::string& log,
                            std::string* task, std::string* partner) {
  const std::string prefix = dir.string() + "/";
  if (log.compare(0, prefix.size(), prefix) != 0) return false;
  const std::filesystem::path p(log);
  const std::string file = p.filename().string();
  if (file.size() <= 4 || !file.ends_with(".log") ||
      file.substr(0, file.size() - 4).find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  const std::string folder = p.parent_path().filename().string();
  const size_t dot = folder.find('.');
  *task = folder.substr(0, dot);
  *partner = dot == std::string::npos ? "" : folder.substr(dot + 1);
  return !task->empty();
}

// The live attempt processes of the pipeline in `dir` (local attempts by their locked log,
// Slurm's by `sluice task exec DIR`). A process whose parent is one of them is not an attempt
// but part of one (a command task's shell, or LeakSanitizer's tracer at exit, a clone with the
// same stdout and command line: killing it would hang its attempt, an artefact of the sanitizer
// build).
inline std::vector<AttemptProcess> AttemptProcesses(const std::filesystem::path& dir) {
  const std::set<std::string> locked = FlockedFiles();
  std::vector<AttemptProcess> found;
  std::set<pid_t> pids;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    AttemptProcess p;
    p.pid = static_cast<pid_t>(std::stol(name));
    bool attempt = false;
    // A local attempt: stdout is an attempt log of `dir`, and that log is locked.
    char target[4096];
    const ssize_t n = ::readlink((entry.path() / "fd" / "1").c_str(), target, sizeof target - 1);
    struct stat st {};
    if (n > 0 &&
        ParseAttemptLog(dir, std::string(target, static_cast<size_t>(n)), &p.task, &p.partner) &&
        ::stat((entry.path() / "fd" / "1").c_str(), &st) == 0 && locked.count(LockKey(st)) > 0) {
      attempt = true;
    }
    if (!attempt) {
      // A Slurm attempt: `sluice task exec DIR --task T [--partner P]`.
      std::vector<std::string> args;
      const std::string cmdline = ReadProcFile(entry.path() / "cmdline");
      for (size_t at = 0; at < cmdline.size();) {
        size_t end = cmdline.find('\0', at);
        if (end == std::string::npos) end = cmdline.size();
        args.push_back(cmdline.substr(at, end - at));
        at = end + 1;
      }
      if (args.size() < 4 || args[1] != "task" || args[2] != "exec" || args[3] != dir.string()) {
        continue;
      }
      for (size_t i = 4; i + 1 < args.size(); ++i) {
        if (args[i] == "--task") p.task = args[i + 1];
        if (args[i] == "--partner") p.partner = args[i + 1];
      }
    }
    if (IsZombieOrGone(p.pid)) continue;
    p.name = p.task + (p.partner.empty() ? "" : "[" + p.partner + "]");
    found.push_back(p);
    pids.insert(p.pid);
  }
  std::vector<AttemptProcess> out;
  for (const AttemptProcess& p : found) {
    if (pids.count(ParentPid(p.pid)) == 0) out.push_back(p);
  }
  return out;
}

}  // namespace sluice::chaos
