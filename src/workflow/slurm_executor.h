// workflow/slurm_executor.h: attempts as Slurm jobs (`executor: slurm`, `--executor slurm`).
//
// Each attempt is one batch job: Launch writes a small script beside the attempt's log
// (`<log>.sbatch`: the attempt's environment, then `exec sluice task exec ...`) and submits it
// with `sbatch --parsable --no-requeue --kill-on-invalid-dep=yes --output=<log> --open-mode=append
// [--time=...] [--partition/--account/--qos] [extra_args]`. The attempt id is the job id.
// The job writes the attempt's outcome file last, as every attempt does (attempt_protocol.h), so
// the file says how it ended; Slurm adds only what the attempt cannot say itself:
//
//   Slurm state                      sluice
//   PENDING RUNNING CONFIGURING      alive
//   COMPLETING SUSPENDED REQUEUED…   alive
//   COMPLETED / FAILED               ended: exit status from Slurm, the outcome file decides
//   TIMEOUT (the job's --time)       timed_out (ExitInfo::timed_out)
//   NODE_FAIL BOOT_FAIL              vanished: node lost (a failure a retry may cure)
//   PREEMPTED                        vanished: preempted
//   OUT_OF_MEMORY                    vanished: out of memory
//   CANCELLED (not by sluice)        vanished: unknown, naming who cancelled it
//   DEADLINE                         vanished: unknown
//
// Polling is batched: Wait() asks `squeue` once for every job it launched that has not ended
// (squeue keeps finished jobs for MinJobAge); jobs squeue no longer knows are asked of `sacct`
// (`sacct -c`, the job-completion log, when there is no accounting database), again in one call.
// Submissions are paced (SlurmOptions::max_submits_per_second) and polls spaced
// (SlurmOptions::poll_interval), so a 1,000-partner run never floods the controller: at most
// one squeue per poll interval and a bounded submission rate, whatever the run's size.
// Cancel: graceful is `scancel --signal=TERM --full` (the whole batch job, as SIGTERM reaches a
// local process group); forced is `scancel --signal=KILL --full` then `scancel`.
// Probe (repair, run --resume, cancel from a fresh process): the outcome file, else squeue/sacct.
// The Slurm commands find their cluster as usual (SLURM_CONF, /etc/slurm/slurm.conf).
// Thread-safety: one thread, like every executor; WakeExecutor() interrupts Wait().
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/node.h"
#include "core/status.h"
#include "workflow/executor.h"

namespace sluice::workflow {

struct SlurmOptions {
  std::string partition;                // sbatch --partition (empty: the cluster's default)
  std::string account;                  // --account
  std::string qos;                      // --qos
  std::vector<std::string> extra_args;  // more sbatch arguments, as written
  std::chrono::milliseconds poll_interval{1000};  // at most one squeue per interval
  double max_submits_per_second = 20;             // sbatch pacing
  // Slurm's own --time for a task with timeout_seconds: that plus this margin (sluice cancels
  // the job at its timeout first; Slurm's limit is the backstop if sluice is gone).
  std::chrono::seconds time_margin{120};
  // The commands (tests point them at wrappers); found on PATH.
  std::string sbatch = "sbatch", squeue = "squeue", sacct = "sacct", scancel = "scancel";
};

// Reads `executor: {type: slurm, partition, account, qos, extra_args: [...], poll_seconds,
// max_submits_per_second}` from sluice.yaml's executor map (a null node: defaults).
// InvalidArgument naming the key and what it must be.
Result<SlurmOptions> ReadSlurmOptions(const config::Node& executor_options);

// One job's state as Slurm reports it.
struct SlurmJobState {
  std::string state;   // "RUNNING", "COMPLETED", "NODE_FAIL", ... (suffixes like "+" dropped)
  std::string reason;  // squeue's reason, or sacct's "by <uid>" for CANCELLED
  int exit_code = -1;  // for ended jobs: the batch script's exit code (-1 unknown)
  int signal = 0;      // the signal that ended it (0 none)
};

// True while the job may still run (pending, running, completing, suspended, requeued...).
bool SlurmStateAlive(std::string_view state);

// How an ended job looks to the scheduler: exit status, timed out, or vanished and why.
ExitInfo SlurmExitInfo(const std::string& id, const SlurmJobState& job);

// Parses `squeue -h -t all -O JobID:|,State:|,Reason:|,exit_code:|` output (raw wait status).
std::map<std::string, SlurmJobState> ParseSqueue(std::string_view out);
// Parses `sacct -n -P -X -o JobID,State,ExitCode` output ("3:0": exit code, signal).
std::map<std::string, SlurmJobState> ParseSacct(std::string_view out);

// The Slurm executor with `options`.
std::unique_ptr<Executor> NewSlurmExecutor(SlurmOptions options);

// The registry's factory (executor.cpp): options from sluice.yaml's executor map.
Result<std::unique_ptr<Executor>> MakeSlurmExecutor(const config::Node& executor_options);

}  // namespace sluice::workflow
