// tests/e2e/engine_e2e_util.h: helpers for the engine's end-to-end tests: pipelines with
// command-task workflows, the binary started in the background (so tests can signal it), FIFOs
// for handshakes with running tasks (no sleeps), and ledger reads through `sluice show --json`.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "testing/pipeline_fixture.h"
#include "testing/run_command.h"

namespace sluice::testing {

inline std::string Q(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

// A pipeline folder (partners acme and globex) with `workflow` as its workflow.yaml.
inline void WriteEnginePipeline(const TempDir& dir, const std::string& workflow,
                                const std::string& extra_settings = "") {
  WriteSamplePipeline(dir);
  dir.Write("sluice.yaml", std::string(kSluiceYaml) + extra_settings);
  dir.Write("workflow.yaml", workflow);
}

// Starts the sluice binary with `args`, stdout+stderr to `log`. Returns its pid.
inline pid_t StartSluice(const std::vector<std::string>& args, const std::filesystem::path& log) {
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<std::string> storage = {SLUICE_BINARY};
    storage.insert(storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : storage) argv.push_back(s.data());
    argv.push_back(nullptr);
    execv(SLUICE_BINARY, argv.data());
    _exit(127);
  }
  return pid;
}

// Waits for `pid`; its exit code, or -signal when killed.
inline int WaitExit(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return -WTERMSIG(status);
}

inline void MakeFifo(const std::filesystem::path& p) { mkfifo(p.c_str(), 0600); }

// Blocks until a task writes a line into the FIFO; returns it.
inline std::string ReadFifo(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::string line;
  std::getline(in, line);
  return line;
}

// Blocks until a task opens the FIFO for reading, then writes `text` and closes it.
inline void WriteFifo(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p);
  out << text << "\n";
}

inline nlohmann::json ShowJson(const TempDir& dir, const std::string& run_id) {
  auto r = RunCommand(Sluice() + " show " + Q(dir.path()) + " " + run_id + " --json 2>/dev/null");
  auto j = nlohmann::json::parse(r.output, nullptr, false);
  return j.is_discarded() ? nlohmann::json::object() : j;
}

inline std::string LatestRunId(const TempDir& dir) {
  auto r = RunCommand(Sluice() + " runs " + Q(dir.path()) + " --json 2>/dev/null");
  auto j = nlohmann::json::parse(r.output, nullptr, false);
  if (j.is_discarded() || !j.is_array() || j.empty()) return "";
  return j[0]["run_id"].get<std::string>();
}

// "task" or "task[partner]" -> instance JSON from `sluice show --json`.
inline std::map<std::string, nlohmann::json> InstancesByName(const nlohmann::json& show) {
  std::map<std::string, nlohmann::json> out;
  if (!show.contains("instances")) return out;
  for (const auto& i : show["instances"]) {
    std::string partner = i["partner"];
    std::string name = i["task"].get<std::string>() + (partner.empty() ? "" : "[" + partner + "]");
    out[name] = i;
  }
  return out;
}

// The largest number of attempts whose [started, ended] intervals overlap, from the ledger.
inline int MaxConcurrentAttempts(const nlohmann::json& show) {
  std::vector<std::pair<int64_t, int>> events;
  for (const auto& i : show["instances"]) {
    for (const auto& a : i["history"]) {
      events.push_back({a["started_ms"].get<int64_t>(), +1});
      events.push_back({a["ended_ms"].get<int64_t>(), -1});
    }
  }
  // Ends sort before starts at the same millisecond: the scheduler records an end before it
  // launches the next attempt.
  std::sort(events.begin(), events.end());
  int now = 0, best = 0;
  for (const auto& [t, d] : events) {
    now += d;
    best = std::max(best, now);
  }
  return best;
}

// True when no process `pid` exists any more (or only its zombie awaits a reaper).
inline bool ProcessGone(pid_t pid) {
  if (pid <= 0) return false;
  if (kill(pid, 0) != 0 && errno == ESRCH) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  size_t paren = content.rfind(')');
  return paren != std::string::npos && paren + 2 < content.size() && content[paren + 2] == 'Z';
}

inline pid_t ReadPid(const std::filesystem::path& p) {
  std::ifstream in(p);
  pid_t pid = 0;
  in >> pid;
  return pid;
}

// Starts `sluice run` of `dir` for 2026-11-24, waits until its task writes "started" to a.fifo
// (made here), then SIGKILLs the scheduler, leaving the task running. The run's id.
inline std::string RunUntilStartedThenKillScheduler(const TempDir& dir) {
  MakeFifo(dir / "a.fifo");
  pid_t pid = StartSluice({"run", dir.path().string(), "--date", "2026-11-24"}, dir / "run.log");
  EXPECT_EQ(ReadFifo(dir / "a.fifo"), "started");
  kill(pid, SIGKILL);
  WaitExit(pid);
  return LatestRunId(dir);
}

}  // namespace sluice::testing
