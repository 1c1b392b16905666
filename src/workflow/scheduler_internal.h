// workflow/scheduler_internal.h: what the scheduler's files (driver, repair, display, alerts)
// share and nothing outside workflow/ should use: the stop-signal flag, run-id and workflow
// naming, whether a run's scheduler process is alive, and small time helpers.
// Thread-safety: pure functions, except StopSignals (one per process at a time).
#pragma once

#include <signal.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/pipeline_config.h"
#include "core/clock.h"
#include "core/date.h"
#include "ledger/ledger.h"
#include "workflow/executor.h"

namespace sluice::workflow::internal {

// The signal (SIGINT/SIGTERM) that asked this process to stop, or 0.
extern volatile sig_atomic_t g_stop_signal;

// While alive, SIGINT and SIGTERM set g_stop_signal instead of killing sluice (what was there
// before comes back at the end); inactive when `active` is false (tests drive the scheduler
// in-process).
class StopSignals {
 public:
  explicit StopSignals(bool active);
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  bool active_;
  struct sigaction old_int_ {
  }, old_term_{};
};

int64_t WallMs(Clock* clock);
std::string FormatSeconds(Clock::Duration d);
// The last non-empty line of a log, shortened, for one-line error summaries.
std::string LastLogLine(const std::filesystem::path& log);
// Whether `pid` is still a run's scheduler: alive, and (where /proc says) a sluice process.
bool SchedulerAlive(int pid);
// The partners a run was created for (its --partners, or every enabled partner then), from the
// run's params.
std::vector<std::string> PartnersOfRun(const ledger::RunRecord& run);
std::string MakeRunId(const Date& date, Clock* clock);
std::string WorkflowName(const config::Pipeline& pipeline);
std::string Hostname();
// This process as a run owner: host, pid and start token (ledger::RunOwner).
ledger::RunOwner SelfOwner();
// "its scheduler (pid 12)" / "its scheduler (pid 12 on host b)".
std::string DescribeOwner(const ledger::RunRecord& run);
// How to stop a running run: `sluice cancel ...` (and kill -INT on the owner's host).
std::string HowToStop(const ledger::RunRecord& run);

// The executor that launched `a` (repair and cancel of a run whose scheduler is gone): `mine`
// when the names match, else one made (and kept in `made`) for that name.
Result<Executor*> ExecutorFor(const ledger::AttemptRecord& a, Executor* mine,
                              std::map<std::string, std::unique_ptr<Executor>>& made);
// Probe results for attempts of possibly several executors, in their order: one ProbeAll per
// executor (a cluster answers all its attempts with one query).
std::vector<ProbeResult> ProbeEach(const std::vector<std::pair<Executor*, ProbeTarget>>& attempts);

}  // namespace sluice::workflow::internal
