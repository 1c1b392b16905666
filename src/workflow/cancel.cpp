// cancel.cpp: CancelRun (scheduler.h), what `sluice cancel` does.
#include <signal.h>

#include <algorithm>
#include <map>
#include <memory>

#include "core/logging.h"
#include "workflow/attempt_files.h"
#include "workflow/executor.h"
#include "workflow/scheduler.h"
#include "workflow/scheduler_internal.h"

namespace sluice::workflow {

namespace internal {

Result<Executor*> ExecutorFor(const ledger::AttemptRecord& a, Executor* mine,
                              std::map<std::string, std::unique_ptr<Executor>>& made) {
  if (mine != nullptr && mine->Name() == a.executor) return mine;
  auto it = made.find(a.executor);
  if (it == made.end()) {
    SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<Executor> e, MakeExecutor(a.executor));
    it = made.emplace(a.executor, std::move(e)).first;
  }
  return it->second.get();
}

std::vector<ProbeResult> ProbeEach(const std::vector<std::pair<Executor*, ProbeTarget>>& attempts) {
  std::vector<ProbeResult> out(attempts.size());
  std::map<Executor*, std::vector<size_t>> by_executor;
  for (size_t i = 0; i < attempts.size(); ++i) by_executor[attempts[i].first].push_back(i);
  for (auto& [executor, members] : by_executor) {
    std::vector<ProbeTarget> targets;
    for (size_t i : members) targets.push_back(attempts[i].second);
    std::vector<ProbeResult> results = executor->ProbeAll(targets);
    for (size_t k = 0; k < members.size(); ++k) out[members[k]] = std::move(results[k]);
  }
  return out;
}

}  // namespace internal

namespace {

using internal::ExecutorFor;
using internal::ProbeEach;
using internal::WallMs;
using ledger::AttemptRecord;
using ledger::InstanceRecord;
using ledger::State;

// The run's scheduler is gone: take the run over and stop what it left running.
Result<CancelOutcome> CancelOrphanedRun(const config::Pipeline& pipeline, ledger::Ledger& ledger,
                                        const ledger::RunRecord& run,
                                        const SchedulerOptions& options) {
  Clock* clock = options.clock ? options.clock : SystemClock::Default();
  const ledger::RunOwner me = internal::SelfOwner();
  SLUICE_RETURN_IF_ERROR(ledger.ClaimRun(run.run_id, run.Owner(), me, WallMs(clock)));
  CancelOutcome out;
  out.run_id = run.run_id;
  std::map<std::string, std::unique_ptr<Executor>> made;
  const std::filesystem::path logs_dir = LogsDir(pipeline);
  SLUICE_ASSIGN_OR_RETURN(std::vector<AttemptRecord> unfinished,
                          ledger.ListUnfinishedAttempts(run.run_id));
  struct Live {
    AttemptRecord* attempt;
    Executor* executor;
    AttemptPaths paths;
  };
  std::vector<Live> live;
  for (AttemptRecord& a : unfinished) {
    SLUICE_ASSIGN_OR_RETURN(Executor * executor, ExecutorFor(a, options.executor, made));
    live.push_back(
        {&a, executor, PathsFor(logs_dir, run.run_id, a.task_key, a.partner, a.attempt)});
  }
  // Which attempts live now: one probe per executor for all of them.
  auto alive_now = [&] {
    std::vector<std::pair<Executor*, ProbeTarget>> targets;
    for (const Live& l : live) {
      targets.push_back({l.executor, {l.attempt->executor_id, l.paths.lock, l.paths.outcome}});
    }
    std::vector<bool> alive;
    for (const ProbeResult& r : ProbeEach(targets)) {
      alive.push_back(r.state == ProbeResult::State::kAlive);
    }
    return alive;
  };
  auto any = [](const std::vector<bool>& v) {
    return std::find(v.begin(), v.end(), true) != v.end();
  };
  std::vector<bool> alive = alive_now();
  for (size_t i = 0; i < live.size(); ++i) {
    if (!alive[i]) continue;
    live[i].executor->Cancel(live[i].attempt->executor_id, /*force=*/false);
    ++out.attempts_stopped;
  }
  // Graceful first; whatever still lives after the grace is forced, then waited for (bounded).
  const Clock::TimePoint forced_at = clock->Now() + options.kill_grace;
  while (any(alive = alive_now()) && clock->Now() < forced_at) {
    clock->SleepFor(std::chrono::milliseconds(50));
  }
  bool forced = false;
  for (size_t i = 0; i < live.size(); ++i) {
    if (!alive[i]) continue;
    live[i].executor->Cancel(live[i].attempt->executor_id, /*force=*/true);
    forced = true;
  }
  const Clock::TimePoint give_up = clock->Now() + std::chrono::seconds(10);
  while (forced && any(alive_now()) && clock->Now() < give_up) {
    clock->SleepFor(std::chrono::milliseconds(50));
  }
  // Record: an attempt that finished on its own keeps its outcome; the others are cancelled.
  SLUICE_ASSIGN_OR_RETURN(std::vector<InstanceRecord> instances, ledger.ListInstances(run.run_id));
  std::map<std::pair<std::string, std::string>, InstanceRecord*> by_key;
  for (InstanceRecord& i : instances) by_key[{i.task_key, i.partner}] = &i;
  const int64_t now_ms = WallMs(clock);
  for (const Live& l : live) {
    AttemptRecord& a = *l.attempt;
    std::optional<Outcome> outcome = ReadOutcome(l.paths.outcome);
    a.ended_ms = now_ms;
    if (outcome && outcome->exit_code == 0 && outcome->signal == 0) {
      a.state = State::kSuccess;
      a.exit_code = 0;
      a.result = outcome->result;
    } else {
      a.state = State::kCancelled;
      if (outcome) a.signal = outcome->signal;
      a.error = "cancelled by `sluice cancel` while its scheduler was gone";
    }
    auto it = by_key.find({a.task_key, a.partner});
    if (it == by_key.end()) continue;
    InstanceRecord& rec = *it->second;
    rec.state = a.state;
    rec.error = a.error;
    rec.ended_ms = now_ms;
    SLUICE_RETURN_IF_ERROR(ledger.RecordAttempt(rec, a));
  }
  std::vector<InstanceRecord> rest;
  for (InstanceRecord& i : instances) {
    if (ledger::IsTerminal(i.state)) continue;
    i.state = State::kCancelled;
    i.ended_ms = now_ms;
    i.error = (i.error.empty() ? "" : i.error + "; ") +
              "cancelled by `sluice cancel` before it ran; `sluice repair` runs it";
    rest.push_back(i);
  }
  if (!rest.empty()) SLUICE_RETURN_IF_ERROR(ledger.PutInstances(rest));
  SLUICE_RETURN_IF_ERROR(ledger.FinishRun(run.run_id, "cancelled", now_ms));
  log::Info("run {}: cancelled; its scheduler was gone, {} attempt(s) stopped", run.run_id,
            out.attempts_stopped);
  out.state = "cancelled";
  return out;
}

}  // namespace

Result<CancelOutcome> CancelRun(const config::Pipeline& pipeline, ledger::Ledger& ledger,
                                const std::string& run_id, const SchedulerOptions& options,
                                Clock::Duration wait) {
  Clock* clock = options.clock ? options.clock : SystemClock::Default();
  SLUICE_ASSIGN_OR_RETURN(ledger::RunRecord run, ledger.GetRun(run_id));
  SLUICE_RETURN_IF_ERROR(ledger.RequestCancel(run_id, WallMs(clock)));
  if (!OwnerAlive(run, WallMs(clock))) return CancelOrphanedRun(pipeline, ledger, run, options);
  // Its scheduler stops it: wait (bounded) until the run is no longer running.
  CancelOutcome out;
  out.run_id = run_id;
  out.scheduler_was_alive = true;
  const Clock::TimePoint deadline = clock->Now() + wait;
  while (true) {
    SLUICE_ASSIGN_OR_RETURN(run, ledger.GetRun(run_id));
    if (run.state != "running") {
      out.state = run.state;
      return out;
    }
    if (!OwnerAlive(run, WallMs(clock))) {
      // It died before finishing the cancel: finish it here.
      return CancelOrphanedRun(pipeline, ledger, run, options);
    }
    if (clock->Now() >= deadline) {
      return Status::Timeout(
          "cancel of run " + run_id + " requested, but " + internal::DescribeOwner(run) +
          " has not stopped it after " +
          std::to_string(std::chrono::duration_cast<std::chrono::seconds>(wait).count()) +
          "s; it will once its attempts end (see `sluice show`)");
    }
    clock->SleepFor(std::chrono::milliseconds(100));
  }
}

}  // namespace sluice::workflow
