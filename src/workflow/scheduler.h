// workflow/scheduler.h: runs a workflow's task instances as a DAG, records everything in the
// ledger, and repairs runs that failed or whose scheduler died.
//
// Instance states (in the ledger):
//   pending --deps done, run_if says run--> queued --slot free, backoff over--> running
//   running --exit 0--> success
//   running --fails, retries left--> queued (not before now + base * 2^(attempt-1))
//   running --fails, none left--> failed | timed_out
//   pending --run_if says no--> upstream_failed | skipped
//   running|queued|pending --`sluice cancel`--> cancelled
// Each attempt: the ledger row is written (running) before the attempt starts, so a crash at
// any point leaves either nothing started or a row `sluice repair` resolves by asking the
// executor (Executor::Probe) and reading the attempt's outcome file (workflow/attempt_files.h).
// Attempts run on the injected Executor (executor.h); the scheduler knows only attempt ids.
// Timeouts: a graceful Cancel (SIGTERM to the group), a forced one (SIGKILL) after `kill_grace`.
// SIGINT/SIGTERM to the scheduler: no new launches, running attempts terminated and recorded as
// failed, run state "cancelled". A cancel request in the ledger (`sluice cancel`, seen within
// half a second): the same, but attempts and every instance that did not finish end
// `cancelled`. While it drives a run the scheduler renews its lease in the ledger.
// Time for backoff, deadlines, leases and repair's waiting comes from the injected Clock; a
// scheduler's per-event work does not grow with the number of instances in the run.
// Thread-safety: one scheduler call per process at a time (it owns SIGCHLD while it runs).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/pipeline_config.h"
#include "core/clock.h"
#include "core/date.h"
#include "core/status.h"
#include "ledger/ledger.h"

namespace sluice::workflow {

class Executor;  // executor.h

struct SchedulerOptions {
  int parallelism = 1;        // concurrent attempts, >= 1 (not counting released ones)
  std::string sluice_binary;  // path of the sluice executable (runs `task exec`)
  // What `sluice task exec` does, callable in this process: builtin attempts may then run in a
  // fork of it instead of a fresh sluice (executor.h LaunchSpec::in_process). Empty: always exec.
  std::function<int(const std::vector<std::string>& argv)> run_task_in_process;
  // Where attempts run; not owned, must outlive the call. nullptr: a local executor made for
  // the call (workflow/executor.h MakeExecutor).
  Executor* executor = nullptr;
  Clock* clock = nullptr;                                 // nullptr: the system clock
  Clock::Duration kill_grace = std::chrono::seconds(10);  // SIGTERM -> SIGKILL
  bool handle_signals = true;                             // SIGINT/SIGTERM stop the run gracefully
  bool send_alerts = true;
  // Called with each finished attempt and each progress poll; may be empty. For displays.
  std::function<void(const std::string& line)> on_event;
  bool live_display = false;  // redraw one line per running instance on stderr
  // Without live_display: log a running instance's progress note (the sensor's "waiting for")
  // each time it changes.
  bool log_progress_notes = false;
};

struct RunRequest {
  Date date;
  std::vector<std::string> partners;  // empty: every enabled partner
};

struct RunOutcome {
  std::string run_id;
  std::string state;  // success | failed | cancelled
  int failed_instances = 0;
};

// Creates a run in the ledger and drives it to the end. AlreadyExists when a run of this
// workflow and date is active (the message names it); InvalidArgument for unknown partners.
// A run that ends with failures is a normal outcome (state "failed"), not an error.
Result<RunOutcome> StartRun(const config::Pipeline& pipeline, ledger::Ledger& ledger,
                            const RunRequest& request, const SchedulerOptions& options);

struct RepairRequest {
  std::string run_id;
  std::vector<std::string> tasks;  // empty: every instance that did not succeed
  bool downstream = false;         // with tasks: also what depends on them
  // Only these partners' instances run again (whole-run tasks downstream of them too); empty:
  // every partner's. A partner not in the run is InvalidArgument.
  std::vector<std::string> partners;
  bool dry_run = false;
};

struct RepairPlan {
  std::vector<std::string> rerun;      // instance names ("merge[acme]") that will run again
  std::vector<std::string> recovered;  // orphaned attempts resolved from their outcome files
};

// Whether the run's owner (ledger::RunOwner) is alive: on its host, that pid runs and started
// when recorded (an owner recorded without a start time: that pid is a sluice process); from
// another host, its lease (heartbeat) is younger than ledger::kOwnerLeaseMs at `now_ms`.
bool OwnerAlive(const ledger::RunRecord& run, int64_t now_ms);

// Whether `run` is recorded `running` while no sluice process drives it (its scheduler was
// killed, or its lease ran out): `sluice run --resume` or `sluice repair` finishes it.
bool SchedulerGone(const ledger::RunRecord& run);

// Resolves attempts left "running" by a dead scheduler (waiting for live ones, reading outcome
// files), then re-runs the chosen instances and what depends on them, keeping successes.
// With dry_run, only `plan` is filled and nothing is written. AlreadyExists when the run's
// scheduler is still alive; NotFound for an unknown run; InvalidArgument for unknown tasks.
Result<RunOutcome> RepairRun(const config::Pipeline& pipeline, ledger::Ledger& ledger,
                             const RepairRequest& request, const SchedulerOptions& options,
                             RepairPlan* plan);

struct CancelOutcome {
  std::string run_id;
  std::string state;                 // the run's state afterwards: "cancelled" (or how it ended)
  bool scheduler_was_alive = false;  // its scheduler stopped it; else this call did
  int attempts_stopped = 0;          // attempts this call cancelled (scheduler gone)
};

// `sluice cancel`: stops a running run. Records a cancel request in the ledger; when the run's
// scheduler is alive (OwnerAlive) it notices within half a second, cancels its attempts
// (gracefully, then forced after its grace) and marks what did not finish `cancelled`; this
// waits up to `wait` for that (Timeout, naming the scheduler, if it has not). When the scheduler
// is gone, this takes the run over and does the same through the executor that launched each
// attempt (Probe, Cancel, forced after options.kill_grace), on the injected clock. NotFound for
// an unknown run; InvalidArgument when the run is not running.
Result<CancelOutcome> CancelRun(const config::Pipeline& pipeline, ledger::Ledger& ledger,
                                const std::string& run_id, const SchedulerOptions& options,
                                Clock::Duration wait);

// The newest run of this pipeline's workflow for `date` over the same partners as `partners`
// would give (`--partners`, or every enabled partner when empty), in any state, or nullopt
// when there is none: what `sluice run --resume` looks at (success: nothing to do; otherwise
// repair it). InvalidArgument for an unknown partner.
Result<std::optional<ledger::RunRecord>> FindResumableRun(const config::Pipeline& pipeline,
                                                          ledger::Ledger& ledger, const Date& date,
                                                          const std::vector<std::string>& partners);

// The logs folder of the pipeline (settings.logs resolved against the folder).
std::filesystem::path LogsDir(const config::Pipeline& pipeline);

}  // namespace sluice::workflow
