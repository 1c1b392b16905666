// workflow/executor.h: where attempts run. One small abstract class; `local` (child processes on
// this machine) is the only back-end today, chosen by name in MakeExecutor().
//
// Every attempt is a process group: the leader is `sluice task exec`, and whatever it starts
// stays in the group, so Signal() reaches all of it. The local executor makes the scheduler a
// child subreaper, so grandchildren orphaned by a killed leader are reaped here too.
// Ownership: the scheduler owns its executor. Thread-safety: one thread; Wake() is
// async-signal-safe and may be called from a signal handler.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace sluice::workflow {

struct LaunchSpec {
  std::vector<std::string> argv;       // argv[0] is the program path
  std::vector<std::string> extra_env;  // "KEY=VALUE", added to (and overriding) ours
  std::filesystem::path cwd;           // working folder
  std::filesystem::path log;           // stdout and stderr, appended
  std::filesystem::path lock;          // flock()ed before launch, held by the attempt
  // When set, argv is ignored: a forked copy of this process (no exec of sluice, which would
  // cost more than a trivial task) runs `/bin/sh -c shell_command`, waits for it and writes
  // `outcome` exactly as `sluice task exec` would.
  std::string shell_command;
  std::filesystem::path outcome;
};

struct ExitInfo {
  int handle = 0;
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
};

class Executor {
 public:
  virtual ~Executor() = default;
  // Starts an attempt; returns its handle (the pid and process group id of the leader).
  // IoError when the log cannot be opened or the process cannot start.
  virtual Result<int> Launch(const LaunchSpec& spec) = 0;
  // Sends `sig` to the attempt's whole process group. Harmless when it is gone.
  virtual void Signal(int handle, int sig) = 0;
  // Blocks until some attempt ends, Wake() is called, or `timeout` (real time) passes.
  // Returns the attempts that ended (possibly none).
  virtual std::vector<ExitInfo> Wait(Clock::Duration timeout) = 0;
};

// "local" -> the local executor. InvalidArgument for other names ("slurm" is not built yet).
Result<std::unique_ptr<Executor>> MakeExecutor(const std::string& name);

// Async-signal-safe: makes the current or next Wait() return early.
void WakeExecutor();

}  // namespace sluice::workflow
