// repair.cpp: RepairRun. Resolves the attempts a dead scheduler left running (waiting while
// they live, then reading their outcome files), chooses what runs again, claims the run and
// drives it (driver.h).
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <optional>

#include "core/logging.h"
#include "core/strings.h"
#include "workflow/attempt_files.h"
#include "workflow/dag.h"
#include "workflow/driver.h"
#include "workflow/executor.h"
#include "workflow/scheduler.h"
#include "workflow/scheduler_internal.h"

namespace sluice::workflow {

using internal::ExecutorFor;
using internal::g_stop_signal;
using internal::PartnersOfRun;
using internal::ProbeEach;
using internal::StopSignals;
using internal::WallMs;
using ledger::AttemptRecord;
using ledger::InstanceRecord;
using ledger::State;

Result<RunOutcome> RepairRun(const config::Pipeline& pipeline, ledger::Ledger& ledger,
                             const RepairRequest& request, const SchedulerOptions& options,
                             RepairPlan* plan) {
  RepairPlan local_plan;
  if (plan == nullptr) plan = &local_plan;
  SLUICE_ASSIGN_OR_RETURN(ledger::RunRecord run, ledger.GetRun(request.run_id));
  Clock* clock = options.clock ? options.clock : SystemClock::Default();
  const ledger::RunOwner me = internal::SelfOwner();
  if (run.state == "running" && run.Owner() != me && OwnerAlive(run, WallMs(clock))) {
    return Status::AlreadyExists("run " + run.run_id +
                                 " is active: " + internal::DescribeOwner(run) +
                                 " is still running it; wait for it to finish or stop it (" +
                                 internal::HowToStop(run) + ")");
  }
  for (const std::string& t : request.tasks) {
    if (pipeline.workflow.Find(t) == nullptr) {
      std::vector<std::string> keys;
      for (const auto& task : pipeline.workflow.tasks) keys.push_back(task.task_key);
      return Status::InvalidArgument("--tasks: no task \"" + t + "\" in workflow.yaml" +
                                     DidYouMean(t, keys));
    }
  }
  std::vector<std::string> partners;
  for (std::string& p : PartnersOfRun(run)) {
    if (pipeline.FindPartner(p) || pipeline.broken_partners.count(p)) {
      partners.push_back(std::move(p));
    }
  }
  SLUICE_ASSIGN_OR_RETURN(Date date, ParseDate(run.logical_date));
  (void)date;
  std::vector<InstanceNode> nodes = BuildInstances(pipeline.workflow, partners);
  SLUICE_ASSIGN_OR_RETURN(std::vector<InstanceRecord> existing, ledger.ListInstances(run.run_id));
  std::map<std::pair<std::string, std::string>, InstanceRecord> by_key;
  for (InstanceRecord& r : existing) by_key[{r.task_key, r.partner}] = std::move(r);
  std::vector<InstanceRecord> records;
  std::map<std::pair<std::string, std::string>, int> index;
  for (size_t i = 0; i < nodes.size(); ++i) {
    auto key = std::make_pair(nodes[i].task->task_key, nodes[i].partner);
    index[key] = static_cast<int>(i);
    auto it = by_key.find(key);
    if (it != by_key.end()) {
      records.push_back(it->second);
    } else {
      InstanceRecord r;
      r.run_id = run.run_id;
      r.task_key = key.first;
      r.partner = key.second;
      records.push_back(std::move(r));
    }
  }
  // Instances of tasks workflow.yaml no longer has: not run again, and not left `failed` in a
  // run the repair may call a success.
  std::vector<InstanceRecord> removed;
  for (auto& [key, r] : by_key) {
    if (index.count(key) || r.state == State::kSuccess || r.state == State::kSkipped) continue;
    log::Warn(
        "repair: task {} is no longer in workflow.yaml; its {} instance is marked skipped, not "
        "run again",
        InstanceName(key.first, key.second), ledger::StateName(r.state));
    r.state = State::kSkipped;
    r.error = "task removed from workflow.yaml after this run started; not run again";
    removed.push_back(r);
  }

  // Attempts a dead scheduler left "running": ask their executors about all of them at once
  // (ProbeAll works from a fresh process; a cluster answers in one query), wait while any
  // lives, then believe each one's outcome file. Waiting and an orphan's timeout use the
  // injected clock.
  std::map<std::string, std::unique_ptr<Executor>> owned_executors;
  std::filesystem::path logs_dir = LogsDir(pipeline);
  std::vector<std::pair<InstanceRecord, AttemptRecord>> resolved;
  SLUICE_ASSIGN_OR_RETURN(std::vector<AttemptRecord> unfinished,
                          ledger.ListUnfinishedAttempts(run.run_id));
  struct Orphan {
    Executor* executor = nullptr;
    AttemptPaths paths;
    ProbeResult probe;
    bool still_running = false;
    bool killed_for_timeout = false;
    bool warned = false;
  };
  std::vector<Orphan> orphans(unfinished.size());
  for (size_t i = 0; i < unfinished.size(); ++i) {
    const AttemptRecord& a = unfinished[i];
    // The executor that launched it, which may be another than this repair's.
    SLUICE_ASSIGN_OR_RETURN(orphans[i].executor, ExecutorFor(a, options.executor, owned_executors));
    orphans[i].paths = PathsFor(logs_dir, run.run_id, a.task_key, a.partner, a.attempt);
  }
  {
    // Ctrl-C while waiting stops the repair before it changed anything, saying so.
    StopSignals stop_signals(options.handle_signals && !request.dry_run);
    std::vector<size_t> alive(orphans.size());
    for (size_t i = 0; i < alive.size(); ++i) alive[i] = i;
    while (!alive.empty()) {
      // One probe per executor for every attempt still alive.
      std::vector<std::pair<Executor*, ProbeTarget>> targets;
      for (size_t i : alive) {
        targets.push_back(
            {orphans[i].executor,
             {unfinished[i].executor_id, orphans[i].paths.lock, orphans[i].paths.outcome}});
      }
      std::vector<ProbeResult> results = ProbeEach(targets);
      for (size_t k = 0; k < alive.size(); ++k) orphans[alive[k]].probe = std::move(results[k]);
      std::vector<size_t> still;
      for (size_t i : alive) {
        if (orphans[i].probe.state == ProbeResult::State::kAlive) still.push_back(i);
      }
      alive = std::move(still);
      if (alive.empty()) break;
      if (g_stop_signal != 0) {
        const AttemptRecord& a = unfinished[alive.front()];
        return Status::Cancelled(
            std::string("repair of run ") + run.run_id + " stopped by " + strsignal(g_stop_signal) +
            " while waiting for attempt " + std::to_string(a.attempt) + " of " +
            InstanceName(a.task_key, a.partner) + " (" +
            (a.executor == "local" ? std::string("pid") : a.executor + " id") + " " +
            a.executor_id + ")" +
            (alive.size() > 1 ? " and " + std::to_string(alive.size() - 1) + " more attempts"
                              : std::string()) +
            " left running by its scheduler; nothing was changed. Run the repair again to "
            "wait for them, or stop those processes first");
      }
      if (request.dry_run) {
        for (size_t i : alive) orphans[i].still_running = true;
        break;
      }
      const int64_t now_ms = WallMs(clock);
      for (size_t i : alive) {
        const AttemptRecord& a = unfinished[i];
        Orphan& o = orphans[i];
        if (!o.warned) {
          log::Info("repair: attempt {} of {} ({} {}) is still running; waiting for it", a.attempt,
                    InstanceName(a.task_key, a.partner),
                    a.executor == "local" ? std::string("pid") : a.executor + " id", a.executor_id);
          o.warned = true;
        }
        const config::TaskConfig* task = pipeline.workflow.Find(a.task_key);
        if (task && task->timeout_seconds > 0 && !a.executor_id.empty() &&
            now_ms - a.started_ms > task->timeout_seconds * 1000) {
          if (!o.killed_for_timeout) {
            log::Warn(
                "repair: attempt {} of {} ran past its timeout_seconds ({}s) while its "
                "scheduler was gone; killing it",
                a.attempt, InstanceName(a.task_key, a.partner), task->timeout_seconds);
          }
          o.killed_for_timeout = true;
          o.executor->Cancel(a.executor_id, /*force=*/true);
        }
      }
      clock->SleepFor(std::chrono::milliseconds(50));
    }
  }
  for (size_t i = 0; i < unfinished.size(); ++i) {
    AttemptRecord& a = unfinished[i];
    const AttemptPaths& paths = orphans[i].paths;
    const ProbeResult& probe = orphans[i].probe;
    const bool killed_for_timeout = orphans[i].killed_for_timeout;
    if (orphans[i].still_running) {
      plan->recovered.push_back(InstanceName(a.task_key, a.partner) + " attempt " +
                                std::to_string(a.attempt) +
                                ": still running (repair would wait for it, then read its "
                                "outcome)");
      continue;
    }
    std::optional<Outcome> outcome = ReadOutcome(paths.outcome);
    a.ended_ms = WallMs(clock);
    if (outcome && outcome->exit_code == 0 && outcome->signal == 0) {
      a.state = State::kSuccess;
      a.exit_code = 0;
      a.result = outcome->result;
    } else {
      a.state = State::kFailed;
      if (outcome) {
        a.exit_code = outcome->exit_code;
        a.signal = outcome->signal;
        a.error = outcome->error.empty() ? "exited with code " + std::to_string(a.exit_code)
                                         : outcome->error;
      } else if (killed_for_timeout) {
        a.state = State::kTimedOut;
        a.error = "timed out (timeout_seconds) while its scheduler was gone; repair killed it";
      } else if (probe.reason == VanishReason::kUnknown) {
        a.error = "the scheduler died and the attempt's process is gone without an outcome";
      } else {
        a.error = "attempt vanished (" + std::string(VanishReasonName(probe.reason)) + ")" +
                  (probe.detail.empty() ? "" : ": " + probe.detail);
      }
    }
    auto it = index.find({a.task_key, a.partner});
    if (it == index.end()) continue;
    InstanceRecord& rec = records[it->second];
    rec.state = a.state;
    rec.attempts = std::max(rec.attempts, a.attempt);
    rec.error = a.error;
    rec.ended_ms = a.ended_ms;
    plan->recovered.push_back(nodes[it->second].Name() + " attempt " + std::to_string(a.attempt) +
                              ": " + std::string(ledger::StateName(a.state)));
    resolved.emplace_back(rec, a);
  }

  // What runs again.
  for (const std::string& p : request.partners) {
    if (std::none_of(nodes.begin(), nodes.end(),
                     [&](const InstanceNode& n) { return n.partner == p; })) {
      return Status::InvalidArgument("--partners: partner \"" + p + "\" has no task in run " +
                                     run.run_id + " (see `sluice show`)");
    }
  }
  // Another partner's instance is left as it is (a whole-run one is not another partner's).
  auto outside = [&](const InstanceNode& n) {
    return !request.partners.empty() && !n.partner.empty() &&
           std::find(request.partners.begin(), request.partners.end(), n.partner) ==
               request.partners.end();
  };
  std::vector<bool> rerun(nodes.size(), false);
  std::vector<int> seeds;
  for (size_t i = 0; i < nodes.size(); ++i) {
    bool chosen = request.tasks.empty() ? records[i].state != State::kSuccess
                                        : std::find(request.tasks.begin(), request.tasks.end(),
                                                    nodes[i].task->task_key) != request.tasks.end();
    if (chosen && !outside(nodes[i])) seeds.push_back(static_cast<int>(i));
  }
  bool follow = request.tasks.empty() || request.downstream;
  while (!seeds.empty()) {
    int i = seeds.back();
    seeds.pop_back();
    if (rerun[i] || outside(nodes[i])) continue;
    rerun[i] = true;
    if (follow) {
      for (int d : nodes[i].dependents) seeds.push_back(d);
    }
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!rerun[i]) continue;
    plan->rerun.push_back(nodes[i].Name());
    records[i].state = State::kPending;
    records[i].error.clear();
    records[i].ended_ms = 0;
  }
  if (request.dry_run) {
    return RunOutcome{run.run_id, "dry_run", 0};
  }
  // A partner still broken fails again at once, with its errors as they are now.
  FailBrokenPartners(pipeline, nodes, &records, WallMs(clock));
  // Nothing is written before the run is claimed (a repair stopped while it waited for an
  // orphan leaves the ledger as it found it).
  SLUICE_RETURN_IF_ERROR(ledger.ClaimRun(run.run_id, run.Owner(), me, WallMs(clock)));
  if (!removed.empty()) SLUICE_RETURN_IF_ERROR(ledger.PutInstances(removed));
  for (const auto& [rec, a] : resolved) SLUICE_RETURN_IF_ERROR(ledger.RecordAttempt(rec, a));
  SLUICE_RETURN_IF_ERROR(ledger.PutInstances(records));
  run.host = me.host;
  run.scheduler_pid = me.pid;
  run.scheduler_start = me.start;
  run.heartbeat_ms = WallMs(clock);
  run.cancel_requested_ms = 0;
  run.state = "running";
  log::Info("repair of run {}: {} instances to run again, {} orphaned attempts resolved",
            run.run_id, plan->rerun.size(), plan->recovered.size());
  return DriveRun(pipeline, ledger, options, std::move(run), std::move(nodes), std::move(records));
}

}  // namespace sluice::workflow
