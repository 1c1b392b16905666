// workflow/executor.h: where attempts run. The scheduler is handed an Executor (injected through
// SchedulerOptions) and knows nothing of processes, signals or cluster jobs: it launches an
// attempt, gets back an opaque attempt id (a pid for `local`, a job id for a cluster), waits
// for attempts to end, cancels them (gracefully, then forced after its grace period), and — from
// a fresh process, as `repair` and `run --resume` need — probes whether an attempt it did not
// launch is still alive, ended (with the outcome the attempt recorded), or vanished (and why).
// Executors are chosen by name from one table (ExecutorBackends(), in executor.cpp).
//
// The attempt protocol every executor honours (attempt_protocol.h): the attempt runs
// `sluice task exec` (or, for a command task, `/bin/sh -c COMMAND` under a shim), its output
// goes to LaunchSpec::log, and it writes LaunchSpec::outcome last. The outcome file is the
// attempt's own word on how it ended; an executor adds only what the attempt cannot say
// itself (it vanished: its node was lost, it was preempted, it ran out of memory).
//
// Implementations: `local` (local_executor.cpp: child processes in their own process groups;
// the scheduler becomes a child subreaper; the log is flock()ed while the attempt lives) and a
// scripted fake for tests and benches (testing/fake_executor.h).
// Ownership: whoever creates the executor owns it and outlives every run that uses it.
// Thread-safety: one thread; WakeExecutor() is async-signal-safe.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/node.h"
#include "core/backend_registry.h"
#include "core/clock.h"
#include "core/status.h"

namespace sluice::workflow {

struct LaunchSpec {
  // Which attempt this is (for job names, scripted fakes and messages).
  std::string run_id;
  std::string task_key;
  std::string partner;  // "" for tasks that are not per partner
  int attempt = 1;

  std::vector<std::string> argv;       // argv[0] is the program path
  std::vector<std::string> extra_env;  // "KEY=VALUE", added to (and overriding) ours
  std::filesystem::path cwd;           // working folder
  std::filesystem::path log;           // stdout and stderr, appended
  std::filesystem::path lock;          // held by the attempt while it lives (local: flock)
  std::filesystem::path outcome;       // written last by the attempt (attempt_files.h)
  // The task's timeout_seconds (0: none). The scheduler enforces it through Cancel(); a cluster
  // executor may also give the job a limit of its own as a backstop.
  int64_t timeout_seconds = 0;
  // Per-task requests for a cluster executor (workflow.yaml `resources:`; 0: its default).
  // The local executor ignores them.
  int cpus = 0;
  int64_t memory_bytes = 0;
  int64_t time_limit_seconds = 0;  // the job's own limit, instead of timeout_seconds + a margin
  // When set, a command task: the executor may run it without starting sluice
  // (RunShellAttempt in attempt_protocol.h), which must write `outcome` as `task exec` would.
  std::string shell_command;
  // When set, a builtin: the executor may run the attempt in a forked copy of this process that
  // calls in_process(argv) and exits with what it returns, instead of exec'ing argv[0] (starting
  // a fresh sluice, mapping and relocating its shared libraries, is most of a small attempt's
  // cost). It must do what exec'ing argv would. The local executor uses it when this process has
  // a single thread (forking one with more could copy a lock another thread holds); others
  // ignore it.
  std::function<int(const std::vector<std::string>& argv)> in_process;
};

// Why an attempt ended without recording its own outcome.
enum class VanishReason {
  kNone,         // it did not vanish
  kNodeLost,     // the machine running it went away
  kPreempted,    // the cluster took its resources back
  kOutOfMemory,  // killed for using too much memory
  kUnknown,      // gone, no outcome, and nothing says why (e.g. killed with its scheduler)
};

// "node lost", "preempted", "out of memory", "unknown"; "" for kNone.
std::string_view VanishReasonName(VanishReason reason);

// How an attempt ended, as the executor saw it.
struct ExitInfo {
  std::string id;
  int exit_code = -1;  // -1 when killed by a signal or unknown
  int signal = 0;
  VanishReason vanished = VanishReason::kNone;
  // The executor's own time limit ended it (Slurm's TIMEOUT), not a Cancel() from sluice.
  bool timed_out = false;
  // Not to be retried: someone outside sluice stopped it (Slurm's CANCELLED by a user); `sluice
  // repair` runs it again when wanted.
  bool stopped_outside = false;
  std::string detail;  // with a vanish or timeout: what the executor knows ("job 812 NODE_FAIL")
};

// What Probe() found.
struct ProbeResult {
  enum class State { kAlive, kEnded, kVanished };
  State state = State::kVanished;
  VanishReason reason = VanishReason::kUnknown;  // with kVanished
  std::string detail;
};

// One attempt to probe, as Probe() takes it.
struct ProbeTarget {
  std::string id;
  std::filesystem::path lock;
  std::filesystem::path outcome;
};

class Executor {
 public:
  virtual ~Executor() = default;
  // Starts an attempt; returns its opaque id. IoError when the log cannot be opened or the
  // attempt cannot start (an ordinary failed attempt for the scheduler).
  virtual Result<std::string> Launch(const LaunchSpec& spec) = 0;
  // Blocks until some attempt launched here ends, WakeExecutor() is called, or `timeout`
  // passes; returns the attempts that ended (possibly none). Poll is Wait(0).
  virtual std::vector<ExitInfo> Wait(Clock::Duration timeout) = 0;
  std::vector<ExitInfo> Poll() { return Wait(Clock::Duration(0)); }
  // Asks the attempt (and everything it started) to stop: gracefully (SIGTERM; a cluster's
  // scancel) or forced (SIGKILL; scancel --signal=KILL). The scheduler sends the forced one
  // after its grace period. Harmless when the attempt is gone. Works on an id from another
  // process's Launch (repair, cancel).
  virtual void Cancel(const std::string& id, bool force) = 0;
  // Whether an attempt (possibly launched by another, dead, process) is alive, ended (its
  // outcome file is at `outcome`), or vanished. `lock` is LaunchSpec::lock of that attempt.
  virtual ProbeResult Probe(const std::string& id, const std::filesystem::path& lock,
                            const std::filesystem::path& outcome) = 0;
  // Probe for several attempts at once, the results in their order: what a repair or a cancel
  // of a large run asks. The default calls Probe for each; a cluster executor answers them all
  // with one query, so a repair after a 1,000-partner run costs the controller one query per
  // poll, not one per orphan.
  virtual std::vector<ProbeResult> ProbeAll(const std::vector<ProbeTarget>& targets);
  // Attempts that said they hold their slot no longer since the last call (each id once): a
  // builtin left mostly waiting on the disk (a large merge whose rows are all added: its commit,
  // its stats and closing its database). The scheduler starts the next ready attempt in its
  // place; the attempt still runs, and ends, is cancelled and is recorded as before. The local
  // executor gives a builtin's attempt a socket for it (kReleaseFdEnv, ReleaseAttemptSlot() in
  // attempt_protocol.h); executors that do not return nothing, so their attempts keep their
  // slot to the end. Call after Wait(), which also returns early when an attempt releases.
  virtual std::vector<std::string> TakeReleased() { return {}; }
  // The executor's name, as in sluice.yaml and --executor.
  virtual std::string_view Name() const = 0;
  // Whether Wait() measures real time (a scheduler on a fake clock then sleeps on the clock
  // for backoff instead); a scripted executor drives the clock itself.
  virtual bool WaitsInRealTime() const { return true; }
};

// "local" -> the local executor (creating it makes this process a child subreaper and installs
// a SIGCHLD handler until it is destroyed); "" means local. Names come from ExecutorBackends().
// InvalidArgument for an unknown name or one not built into this version ("slurm").
// `options`: the map form of `executor:` in sluice.yaml (null: the executor's defaults).
Result<std::unique_ptr<Executor>> MakeExecutor(const std::string& name,
                                               const config::Node& options = config::Node());

// An executor back-end's factory.
using ExecutorFactory = Result<std::unique_ptr<Executor>> (*)(const config::Node& options);
// The executors by name: MakeExecutor and `sluice validate` (tasks/load_pipeline.h) both read this
// table. Add an executor as one row in executor.cpp.
const BackendRegistry<ExecutorFactory>& ExecutorBackends();

// Child processes on this machine (local_executor.cpp).
Result<std::unique_ptr<Executor>> MakeLocalExecutor(const config::Node& options);

// Async-signal-safe: makes the current or next Wait() of the local executor return early.
void WakeExecutor();
// Whether WakeExecutor() was called since the last call (and forgets it): for executors that
// wait by polling (Slurm).
bool TakeExecutorWake();

}  // namespace sluice::workflow
