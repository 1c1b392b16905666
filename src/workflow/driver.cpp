// driver.cpp: the run loop. One Driver drives a run (or a repair) from its current instance
// states to the end: resolves what may run, launches attempts within the parallelism, times
// them out, retries with backoff, and records every change in the ledger first. See
// scheduler.h for the state machine.
#include "workflow/driver.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <set>

#include "core/logging.h"
#include "core/strings.h"
#include "workflow/attempt_files.h"
#include "workflow/executor.h"
#include "workflow/live_display.h"
#include "workflow/ready_queue.h"
#include "workflow/run_alerts.h"
#include "workflow/scheduler_internal.h"

namespace sluice::workflow {

namespace {

using internal::FormatSeconds;
using internal::g_stop_signal;
using internal::LastLogLine;
using internal::WallMs;
using ledger::AttemptRecord;
using ledger::InstanceRecord;
using ledger::State;

class Driver {
 public:
  Driver(const config::Pipeline& pipeline, ledger::Ledger& ledger, const SchedulerOptions& options,
         ledger::RunRecord run, std::vector<InstanceNode> nodes,
         std::vector<InstanceRecord> records)
      : pipeline_(pipeline),
        ledger_(ledger),
        options_(options),
        run_(std::move(run)),
        nodes_(std::move(nodes)),
        records_(std::move(records)),
        ready_(MakeReadyQueue(nodes_, &task_index_)),
        clock_(options.clock ? options.clock : SystemClock::Default()),
        logs_dir_(LogsDir(pipeline)),
        partners_env_(Join(internal::PartnersOfRun(run_), ",")),
        alerts_(pipeline, logs_dir_, run_.run_id, options.send_alerts) {
    // A repair is a new round: each instance it runs again gets its max_retries afresh (one
    // whose retries were used up by a transient failure would otherwise get a single try).
    for (const InstanceRecord& rec : records_) attempts_before_.push_back(rec.attempts);
    // Per instance: how many upstreams are not terminal yet. An instance is looked at again only
    // when that count reaches zero, and queued ones wait in `ready_` (ready_queue.h) until they may
    // start: no step of the loop walks every instance of the run.
    unfinished_deps_.assign(nodes_.size(), 0);
    LoadDurationHints();  // before anything is queued: the hints order the due instances
    for (size_t i = 0; i < nodes_.size(); ++i) {
      for (int d : nodes_[i].deps) unfinished_deps_[i] += !ledger::IsTerminal(records_[d].state);
      if (records_[i].state == State::kPending && unfinished_deps_[i] == 0) {
        resolvable_.push_back(static_cast<int>(i));
      }
      // A repair resumes instances left queued (their backoff is over by now).
      if (records_[i].state == State::kQueued) ready_.Push(static_cast<int>(i), Clock::TimePoint{});
      // Failed before any attempt: its partner's configuration is broken (FailBrokenPartners).
      if (records_[i].state == State::kFailed && records_[i].attempts == 0 &&
          pipeline_.broken_partners.count(records_[i].partner) > 0) {
        config_failures_.push_back(static_cast<int>(i));
      }
    }
  }

  // The ready queue of `nodes`: tasks numbered in order of first appearance, a task's
  // dependents from the instances' edges. Fills `task_index` (per instance).
  static ReadyQueue MakeReadyQueue(const std::vector<InstanceNode>& nodes,
                                   std::vector<int>* task_index) {
    std::map<const config::TaskConfig*, int> index;
    task_index->clear();
    for (const InstanceNode& n : nodes) {
      task_index->push_back(index.emplace(n.task, static_cast<int>(index.size())).first->second);
    }
    std::vector<std::set<int>> dependents(index.size());
    for (size_t i = 0; i < nodes.size(); ++i) {
      for (int d : nodes[i].deps) dependents[(*task_index)[d]].insert((*task_index)[i]);
    }
    std::vector<std::vector<int>> edges;
    for (const auto& d : dependents) edges.emplace_back(d.begin(), d.end());
    return ReadyQueue(*task_index, std::move(edges));
  }

  // Estimates for the ready queue from the newest other run in the ledger: each (task, partner)
  // successful attempt's duration there. Best effort: without history (a first run, a ledger
  // that cannot answer) instances start in workflow order until this run's attempts end.
  void LoadDurationHints() {
    auto runs = ledger_.ListRuns(2);
    if (!runs.ok()) return;
    const ledger::RunRecord* previous = nullptr;
    for (const ledger::RunRecord& r : *runs) {
      if (r.run_id != run_.run_id) {
        previous = &r;
        break;
      }
    }
    if (previous == nullptr) return;
    auto attempts = ledger_.ListAttempts(previous->run_id);
    if (!attempts.ok()) return;
    std::map<std::pair<std::string_view, std::string_view>, int> instance;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      instance[{nodes_[i].task->task_key, nodes_[i].partner}] = static_cast<int>(i);
    }
    for (const AttemptRecord& a : *attempts) {
      if (a.state != State::kSuccess || a.ended_ms < a.started_ms) continue;
      auto it = instance.find({a.task_key, a.partner});
      if (it == instance.end()) continue;
      const Clock::Duration took = std::chrono::milliseconds(a.ended_ms - a.started_ms);
      ready_.SetInstanceHint(it->second, took);
      ready_.Observe(task_index_[it->second], took);
    }
  }

  Result<RunOutcome> Drive() {
    executor_ = options_.executor;
    if (executor_ == nullptr) {
      SLUICE_ASSIGN_OR_RETURN(owned_executor_, MakeExecutor("local"));
      executor_ = owned_executor_.get();
    }
    // Webhook URLs carry tokens, credentials sit in the environment: known to the log filter
    // before any task output is echoed or sent in an alert's log tail.
    log::RegisterSecretsFromEnvironment();
    log::RegisterSecretsFromEnvironment(pipeline_.settings.redact_env);
    // The variables named by redact_env: and by webhook URLs (${SLACK_WEBHOOK_URL}), for
    // attempts that start afresh (`task exec`) rather than as a fork of this process.
    std::vector<std::string> names = pipeline_.settings.redact_env;
    for (const config::AlertConfig& a : pipeline_.settings.alerts) {
      for (size_t at = a.webhook.find("${"); at != std::string::npos;
           at = a.webhook.find("${", at + 2)) {
        size_t end = a.webhook.find('}', at);
        if (end != std::string::npos) names.push_back(a.webhook.substr(at + 2, end - at - 2));
      }
    }
    redact_env_ = Join(names, ",");
    if (!pipeline_.settings.alerts.empty()) alerts_.MakeNotifier().RegisterSecrets();
    struct sigaction old_hup {};
    std::optional<internal::StopSignals> stop_signals(std::in_place, options_.handle_signals);
    if (options_.handle_signals) {
      // (SIGPIPE is ignored by the whole CLI, main.cpp: `sluice run | head` must not kill it.)
      struct sigaction ignore {};
      ignore.sa_handler = SIG_IGN;
      sigemptyset(&ignore.sa_mask);
      // A closed terminal (an SSH session that ends) does not stop tonight's ingestion: the run
      // goes on as if started with nohup. SIGINT/SIGTERM still cancel it.
      sigaction(SIGHUP, &ignore, &old_hup);
    }
    for (int i : config_failures_) {
      Say(fmt::format("run {}: {} failed: {}", run_.run_id, nodes_[i].Name(),
                      FirstLine(records_[i].error)));
    }
    if (!config_failures_.empty()) AlertFailureNow();  // names the partner and its errors
    Status st = Loop();
    stop_signals.reset();
    if (options_.handle_signals) sigaction(SIGHUP, &old_hup, nullptr);
    if (!st.ok()) {
      // The scheduler cannot go on (no log folder, a ledger write failed): the run is over, so
      // it must not stay `running` with nothing driving it. When the ledger itself is what
      // failed this write fails too, and `--resume` later takes the run over.
      (void)ledger_.FinishRun(run_.run_id, "failed", WallMs(clock_));
      return st;
    }
    return Finish();
  }

 private:
  struct Slot {
    int idx = 0;
    std::string id;  // the executor's attempt id; "" until launched
    AttemptRecord attempt;
    AttemptPaths paths;
    Clock::TimePoint started;
    std::optional<Clock::TimePoint> deadline;
    std::optional<Clock::TimePoint> kill_at;
    bool killed = false;
    bool timed_out = false;
    bool cancelled = false;
    // The attempt gave its slot back (Executor::TakeReleased): it is still running and tracked
    // as before, but no longer counts against the parallelism.
    bool released = false;
  };

  // Attempts that hold a slot: running and not released.
  int Busy() const {
    return static_cast<int>(
        std::count_if(slots_.begin(), slots_.end(), [](const Slot& s) { return !s.released; }));
  }

  // Stops the run: no new attempts; running ones are cancelled gracefully now and forced after
  // the grace period.
  void Stop(Clock::TimePoint now, const std::string& why) {
    stopping_ = true;
    Say(fmt::format("run {}: {}; stopping: no new attempts, terminating {} running", run_.run_id,
                    why, slots_.size()));
    for (Slot& s : slots_) {
      s.cancelled = true;
      executor_->Cancel(s.id, /*force=*/false);
      s.kill_at = now + options_.kill_grace;
    }
  }

  // Renews the run's lease and looks for a cancel request (`sluice cancel`), at most every
  // kOwnerCheck of the clock: one indexed read and one write, whatever the run's size.
  void CheckOwnership(Clock::TimePoint now) {
    if (checked_once_ && now - last_owner_check_ < kOwnerCheck) return;
    checked_once_ = true;
    last_owner_check_ = now;
    const int64_t wall = WallMs(clock_);
    if (wall - last_heartbeat_ms_ >= ledger::kOwnerHeartbeatMs) {
      last_heartbeat_ms_ = wall;
      Status hb = ledger_.Heartbeat(run_.run_id, run_.Owner(), wall);
      if (!hb.ok()) log::Warn("run {}: cannot renew its lease: {}", run_.run_id, hb.ToString());
    }
    if (stopping_) return;
    auto run = ledger_.GetRun(run_.run_id);
    if (run.ok() && run->cancel_requested_ms > 0) {
      cancel_requested_ = true;
      Stop(now, "cancel requested (sluice cancel)");
    }
  }

  Status Loop() {
    run_started_ = clock_->Now();
    const int parallelism = std::max(1, options_.parallelism);
    while (true) {
      Clock::TimePoint now = clock_->Now();
      if (g_stop_signal != 0 && !stopping_) {
        Stop(now, std::string("received ") + strsignal(g_stop_signal));
      }
      CheckOwnership(now);
      for (Slot& s : slots_) {
        if (!s.kill_at && s.deadline && now >= *s.deadline) {
          s.timed_out = true;
          Say(fmt::format("run {}: {} attempt {} timed out after {}s; sending SIGTERM", run_.run_id,
                          nodes_[s.idx].Name(), s.attempt.attempt,
                          nodes_[s.idx].task->timeout_seconds));
          executor_->Cancel(s.id, /*force=*/false);
          s.kill_at = now + options_.kill_grace;
        } else if (s.kill_at && !s.killed && now >= *s.kill_at) {
          executor_->Cancel(s.id, /*force=*/true);
          s.killed = true;
        }
      }
      if (!stopping_) SLUICE_RETURN_IF_ERROR(Resolve(now));
      if (!stopping_) {
        // The due instance with the longest estimated remaining work first (ready_queue.h).
        while (Busy() < parallelism) {
          const int i = ready_.PopDue(now);
          if (i < 0) break;
          SLUICE_RETURN_IF_ERROR(StartAttempt(i));
          // A launch that failed finishes at once and may have resolved or queued others.
          if (!resolvable_.empty()) SLUICE_RETURN_IF_ERROR(Resolve(now));
        }
      }
      MaybeWarnDuration(now);
      if (slots_.empty()) {
        if (stopping_) break;
        if (ready_.empty()) break;  // nothing running, nothing waiting: the run is over
        const Clock::TimePoint next = *ready_.Soonest();
        // Only backoff remains: let the clock pass. A FakeClock advances instantly; on the real
        // clock we wait in the executor, which SIGINT/SIGTERM interrupt (a sleep would not), at
        // most a second at a time so a cancel request is seen.
        if (executor_->WaitsInRealTime() && dynamic_cast<SystemClock*>(clock_) != nullptr) {
          (void)executor_->Wait(std::min<Clock::Duration>(next - now, std::chrono::seconds(1)));
        } else {
          clock_->SleepFor(std::min<Clock::Duration>(next - now, kOwnerCheck));
        }
        continue;
      }
      Clock::Duration wait = std::chrono::milliseconds(200);
      auto consider = [&](Clock::TimePoint t) {
        wait = std::min(wait, std::max(t - now, Clock::Duration(0)));
      };
      for (const Slot& s : slots_) {
        if (s.kill_at && !s.killed) consider(*s.kill_at);
        if (!s.kill_at && s.deadline) consider(*s.deadline);
      }
      if (Busy() < parallelism && !ready_.empty() && !stopping_) {
        consider(*ready_.Soonest());
      }
      for (const ExitInfo& exit : executor_->Wait(wait)) {
        auto it = std::find_if(slots_.begin(), slots_.end(),
                               [&](const Slot& s) { return s.id == exit.id; });
        if (it == slots_.end()) continue;
        Slot slot = std::move(*it);
        slots_.erase(it);
        SLUICE_RETURN_IF_ERROR(FinishAttempt(slot, exit));
      }
      for (const std::string& id : executor_->TakeReleased()) {
        for (Slot& s : slots_) {
          if (s.id == id) s.released = true;
        }
      }
      DrawLive();
    }
    live_.Clear();
    return Status::Ok();
  }

  // Records that instance `i` reached a terminal state: its dependents whose upstreams are now
  // all done become resolvable.
  void Terminated(int i) {
    for (int d : nodes_[i].dependents) {
      if (--unfinished_deps_[d] == 0 && records_[d].state == State::kPending) {
        resolvable_.push_back(d);
      }
    }
  }

  void Enqueue(int i, Clock::TimePoint not_before) { ready_.Push(i, not_before); }

  // Moves pending instances whose upstreams are all done (the resolvable ones) to queued,
  // upstream_failed or skipped; what that ends may make more instances resolvable.
  Status Resolve(Clock::TimePoint now) {
    std::vector<InstanceRecord> changed;
    while (!resolvable_.empty()) {
      const int i = resolvable_.back();
      resolvable_.pop_back();
      InstanceRecord& rec = records_[i];
      if (rec.state != State::kPending) continue;
      std::vector<State> upstream;
      std::string failed_up;
      for (int d : nodes_[i].deps) {
        upstream.push_back(records_[d].state);
        if (failed_up.empty() && ledger::IsFailure(records_[d].state)) {
          failed_up = nodes_[d].Name();
        }
      }
      switch (Decide(nodes_[i].task->run_if, upstream)) {
        case Decision::kRun:
          rec.state = State::kQueued;
          Enqueue(i, now);
          break;
        case Decision::kUpstreamFailed:
          rec.state = State::kUpstreamFailed;
          rec.error = "not run: upstream " + failed_up + " did not succeed (run_if " +
                      std::string(config::RunIfName(nodes_[i].task->run_if)) + ")";
          rec.ended_ms = WallMs(clock_);
          Terminated(i);
          break;
        case Decision::kSkip:
          rec.state = State::kSkipped;
          rec.error = "skipped: run_if " + std::string(config::RunIfName(nodes_[i].task->run_if)) +
                      " is not met";
          rec.ended_ms = WallMs(clock_);
          Terminated(i);
          break;
      }
      changed.push_back(rec);
    }
    if (changed.empty()) return Status::Ok();
    return ledger_.PutInstances(changed);
  }

  Status StartAttempt(int idx) {
    const InstanceNode& node = nodes_[idx];
    InstanceRecord& rec = records_[idx];
    Slot slot;
    slot.idx = idx;
    const int n = rec.attempts + 1;
    slot.paths = PathsFor(logs_dir_, run_.run_id, node.task->task_key, node.partner, n);
    std::error_code ec;
    std::filesystem::create_directories(slot.paths.dir, ec);
    if (ec) {
      return Status::IoError("cannot create log folder " + slot.paths.dir.string() + ": " +
                             ec.message() + "; check the logs: setting and permissions");
    }
    AttemptRecord& a = slot.attempt;
    a.run_id = run_.run_id;
    a.task_key = node.task->task_key;
    a.partner = node.partner;
    a.attempt = n;
    a.state = State::kRunning;
    a.started_ms = WallMs(clock_);
    a.log_path = slot.paths.log.string();
    a.executor = std::string(executor_->Name());
    rec.state = State::kRunning;
    rec.attempts = n;
    if (rec.started_ms == 0) rec.started_ms = a.started_ms;
    rec.ended_ms = 0;
    rec.error.clear();
    // Recorded before the process exists: a crash from here on leaves a row repair resolves.
    SLUICE_RETURN_IF_ERROR(ledger_.RecordAttempt(rec, a));

    LaunchSpec spec;
    spec.run_id = run_.run_id;
    spec.task_key = node.task->task_key;
    spec.partner = node.partner;
    spec.attempt = n;
    spec.argv = {options_.sluice_binary,
                 "task",
                 "exec",
                 pipeline_.dir.string(),
                 "--run",
                 run_.run_id,
                 "--task",
                 node.task->task_key,
                 "--attempt",
                 std::to_string(n),
                 "--date",
                 run_.logical_date};
    if (!node.partner.empty()) {
      spec.argv.push_back("--partner");
      spec.argv.push_back(node.partner);
    }
    spec.extra_env = {"SLUICE_RUN_ID=" + run_.run_id,
                      "SLUICE_DATE=" + run_.logical_date,
                      "SLUICE_PARTNER=" + node.partner,
                      "SLUICE_PARTNERS=" + partners_env_,
                      "SLUICE_TASK=" + node.task->task_key,
                      "SLUICE_ATTEMPT=" + std::to_string(n),
                      "SLUICE_PIPELINE_DIR=" + pipeline_.dir.string(),
                      "SLUICE_OUTCOME_FILE=" + slot.paths.outcome.string(),
                      "SLUICE_PROGRESS_FILE=" + slot.paths.progress.string(),
                      "SLUICE_PARALLELISM=" + std::to_string(std::max(1, options_.parallelism))};
    // Set for builtins too (empty), so a value inherited from a parent sluice never leaks in.
    spec.extra_env.push_back("SLUICE_COMMAND=" + node.task->command);
    // `task exec` masks these variables' values in the attempt's output (redact_env:).
    spec.extra_env.push_back("SLUICE_REDACT_ENV=" + redact_env_);
    if (!node.task->command.empty()) {
      spec.shell_command = node.task->command;
    } else {
      spec.in_process = options_.run_task_in_process;
    }
    spec.outcome = slot.paths.outcome;
    spec.timeout_seconds = node.task->timeout_seconds;
    spec.cpus = node.task->resources.cpus;
    spec.memory_bytes = node.task->resources.memory_bytes;
    spec.time_limit_seconds = node.task->resources.time_limit_seconds;
    spec.cwd = pipeline_.dir;
    spec.log = slot.paths.log;
    spec.lock = slot.paths.lock;
    slot.started = clock_->Now();
    if (node.task->timeout_seconds > 0) {
      slot.deadline = slot.started + std::chrono::seconds(node.task->timeout_seconds);
    }
    auto id = executor_->Launch(spec);
    if (!id.ok()) {
      // Could not start (binary missing, fd limit): an ordinary failed attempt.
      return FinishAttempt(slot, ExitInfo{}, id.status().ToString());
    }
    slot.id = *id;
    a.executor_id = *id;
    // For `show`: the local executor's id is the pid of the attempt's process group leader.
    if (executor_->Name() == "local") a.pid = std::atoi(id->c_str());
    SLUICE_RETURN_IF_ERROR(ledger_.RecordAttempt(rec, a));
    Say(fmt::format("run {}: {} attempt {} started ({} {})", run_.run_id, node.Name(), n,
                    executor_->Name() == "local" ? "pid" : "id", a.executor_id));
    slots_.push_back(std::move(slot));
    return Status::Ok();
  }

  Clock::Duration Backoff(const config::TaskConfig& task, int attempt) const {
    int shift = std::min(attempt - 1, 16);
    int64_t ms = task.min_retry_interval_millis * (int64_t{1} << shift);
    ms = std::min<int64_t>(ms, 3600 * 1000);
    return std::chrono::milliseconds(ms);
  }

  Status FinishAttempt(Slot& slot, const ExitInfo& exit, const std::string& launch_error = "") {
    const InstanceNode& node = nodes_[slot.idx];
    InstanceRecord& rec = records_[slot.idx];
    AttemptRecord& a = slot.attempt;
    // Whatever the attempt left behind (its process group) goes with it.
    if (!slot.id.empty()) executor_->Cancel(slot.id, /*force=*/true);
    a.ended_ms = WallMs(clock_);
    a.exit_code = exit.exit_code;
    a.signal = exit.signal;
    // A command task's outcome file says nothing its exit status does not, unless it failed;
    // skipping the read keeps trivial tasks cheap.
    std::optional<Outcome> outcome;
    if (node.task->command.empty() || exit.exit_code != 0 || exit.signal != 0) {
      outcome = ReadOutcome(slot.paths.outcome);
    }
    if (outcome) a.result = outcome->result;
    // The shim of a command task exits 128+N when its command died of signal N; the outcome it
    // wrote says which signal it was.
    if (outcome && outcome->signal != 0 && exit.signal == 0) {
      a.exit_code = outcome->exit_code;
      a.signal = outcome->signal;
    }
    if (!launch_error.empty()) {
      a.state = State::kFailed;
      a.error = launch_error;
    } else if (slot.cancelled && cancel_requested_) {
      a.state = State::kCancelled;
      a.error = "cancelled by `sluice cancel`: the attempt got SIGTERM" +
                std::string(slot.killed ? ", then SIGKILL" : "");
    } else if (slot.timed_out) {
      a.state = State::kTimedOut;
      a.error = fmt::format(
          "timed out after {}s (timeout_seconds); the process group got "
          "SIGTERM{}",
          node.task->timeout_seconds, slot.killed ? ", then SIGKILL" : "");
    } else if (exit.timed_out) {
      // The executor's own limit (Slurm's --time) ended it before sluice's timeout did.
      a.state = State::kTimedOut;
      a.error = "timed out: " +
                (exit.detail.empty() ? std::string("the executor's time limit") : exit.detail);
    } else if (slot.cancelled) {
      a.state = State::kFailed;
      a.error = "cancelled: sluice was asked to stop (signal); run `sluice repair` to finish";
    } else if (exit.vanished != VanishReason::kNone &&
               !(outcome && outcome->exit_code == 0 && outcome->signal == 0)) {
      // The executor took it away (its node went away, it was preempted, killed for memory or
      // cancelled by someone): a failure a retry may cure. What the attempt recorded as it was
      // killed ("command killed by signal 15") is the consequence, kept after the cause.
      a.state = State::kFailed;
      a.error = fmt::format(
          "attempt vanished ({}){}{}", VanishReasonName(exit.vanished),
          exit.detail.empty() ? "" : ": " + exit.detail,
          outcome && !outcome->error.empty() ? "; the attempt recorded: " + outcome->error : "");
    } else if (exit.exit_code == 0 && exit.signal == 0) {
      a.state = State::kSuccess;
    } else {
      a.state = State::kFailed;
      if (outcome && !outcome->error.empty()) {
        a.error = outcome->error;
      } else if (exit.signal != 0) {
        a.error = fmt::format("killed by signal {} ({})", exit.signal, strsignal(exit.signal));
      } else {
        a.error = fmt::format("exited with code {}", exit.exit_code);
      }
      std::string last = LastLogLine(slot.paths.log);
      // Not when the line only repeats the error ("task t failed: <error>").
      if (!last.empty() && a.error.find(last) == std::string::npos &&
          last.find(a.error.substr(0, std::min<size_t>(a.error.size(), 80))) == std::string::npos) {
        a.error += "; last log line: " + last;
      }
      // What a task printed may hold a secret (an alert's webhook URL, a registered password):
      // the ledger, `sluice show` and alerts get the error as the logs would.
      a.error = log::Redact(std::move(a.error));
    }
    Clock::Duration took = clock_->Now() - slot.started;
    const config::TaskConfig& task = *node.task;
    bool permanent = outcome.has_value() && outcome->permanent && a.state == State::kFailed &&
                     exit.vanished == VanishReason::kNone;
    const int tries = a.attempt - attempts_before_[slot.idx];  // in this run or repair
    const bool stopped_outside = exit.stopped_outside && a.state == State::kFailed;
    bool retry = a.state != State::kSuccess && !slot.cancelled && !stopping_ && !permanent &&
                 !stopped_outside && tries < task.max_retries + 1 &&
                 (a.state != State::kTimedOut || task.retry_on_timeout);
    if (stopped_outside && tries < task.max_retries + 1) {
      a.error += "; not retried: it was stopped outside sluice (`sluice repair` runs it again)";
    }
    if (permanent && tries < task.max_retries + 1) {
      a.error +=
          "; not retried: the same input would fail the same way (fix it, then `sluice "
          "repair`)";
    }
    rec.error = a.error;
    if (a.state == State::kSuccess) {
      ready_.Observe(task_index_[slot.idx], took);
      rec.state = State::kSuccess;
      rec.ended_ms = a.ended_ms;
      Terminated(slot.idx);
      Say(fmt::format("run {}: {} attempt {} succeeded in {}", run_.run_id, node.Name(), a.attempt,
                      FormatSeconds(took)));
    } else if (retry) {
      rec.state = State::kQueued;
      Clock::Duration backoff = Backoff(task, tries);
      Enqueue(slot.idx, clock_->Now() + backoff);
      Say(fmt::format("run {}: {} attempt {} {}: {}; retrying in {} ({} of {} retries left)",
                      run_.run_id, node.Name(), a.attempt, ledger::StateName(a.state),
                      FirstLine(a.error), FormatSeconds(backoff), task.max_retries + 1 - tries,
                      task.max_retries));
    } else {
      rec.state = a.state;
      rec.ended_ms = a.ended_ms;
      Terminated(slot.idx);
      Say(fmt::format("run {}: {} attempt {} {}: {}; see `sluice logs {} {} {}{}`", run_.run_id,
                      node.Name(), a.attempt, ledger::StateName(a.state), FirstLine(a.error),
                      pipeline_.dir.string(), run_.run_id, task.task_key,
                      node.partner.empty() ? "" : " --partner " + node.partner));
      if (!slot.cancelled && !stopping_) AlertFailureNow();
    }
    return ledger_.RecordAttempt(rec, a);
  }

  static std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

  alert::RunReport Report(const std::string& state) {
    // The run's whole time, across repairs (as `runs` and `show` give it), not this drive's.
    int64_t duration_ms =
        run_.created_ms > 0
            ? WallMs(clock_) - run_.created_ms
            : std::chrono::duration_cast<std::chrono::milliseconds>(clock_->Now() - run_started_)
                  .count();
    return BuildRunReport(run_, records_, logs_dir_, state, duration_ms);
  }

  void MaybeWarnDuration(Clock::TimePoint now) {
    if (!alerts_.Active()) return;
    if (duration_threshold_s_ < 0) duration_threshold_s_ = alerts_.DurationThresholdSeconds();
    alerts_.MaybeWarnDuration(duration_threshold_s_ > 0 &&
                                  now - run_started_ >= std::chrono::seconds(duration_threshold_s_),
                              [&] { return Report("running"); });
  }

  void AlertFailureNow() {
    alerts_.FailureNow([&] { return Report("running"); });
  }

  Result<RunOutcome> Finish() {
    if (stopping_) {
      // Instances that were waiting for a slot or a backoff go back to pending for repair, and
      // every instance left pending says why it did not run.
      std::vector<InstanceRecord> waiting;
      for (InstanceRecord& rec : records_) {
        if (rec.state != State::kQueued && rec.state != State::kPending) continue;
        if (cancel_requested_) {
          // `sluice cancel`: everything that did not run is cancelled, and says so.
          rec.state = State::kCancelled;
          rec.ended_ms = WallMs(clock_);
          rec.error = (rec.error.empty() ? "" : rec.error + "; ") +
                      "cancelled by `sluice cancel` before it ran; `sluice repair` runs it";
          waiting.push_back(rec);
          continue;
        }
        rec.state = State::kPending;
        constexpr std::string_view kFinish = "`sluice repair` (or `sluice run --resume`) runs it";
        if (rec.error.empty()) {  // never started (in this run or repair)
          rec.error = "not run: the run was cancelled first; " + std::string(kFinish);
        } else {
          // Waiting for a retry: its time ends here (show would count on), its last error stays.
          rec.ended_ms = WallMs(clock_);
          rec.error += "; the run was cancelled before the retry: " + std::string(kFinish);
        }
        waiting.push_back(rec);
      }
      if (!waiting.empty()) SLUICE_RETURN_IF_ERROR(ledger_.PutInstances(waiting));
    }
    RunOutcome out;
    out.run_id = run_.run_id;
    for (const InstanceRecord& rec : records_) out.failed_instances += ledger::IsFailure(rec.state);
    out.state = stopping_ ? "cancelled" : out.failed_instances > 0 ? "failed" : "success";
    SLUICE_RETURN_IF_ERROR(ledger_.FinishRun(run_.run_id, out.state, WallMs(clock_)));
    Say(fmt::format("run {}: {} ({} instances, {} failed) in {}", run_.run_id, out.state,
                    records_.size(), out.failed_instances,
                    FormatSeconds(clock_->Now() - run_started_)));
    if (alerts_.Active()) {
      // One failure alert per run: sent already when the first instance exhausted its retries;
      // here only when the run failed without that (e.g. every failure was upstream_failed).
      // A cancelled run did not load the day either: its failure alert says "cancelled".
      if ((out.state == "failed" || out.state == "cancelled") && !alerts_.FailureSent()) {
        alerts_.Send("failure", Report(out.state));
      }
      if (out.state == "success") alerts_.Send("success", Report(out.state));
    }
    alerts_.WaitForInFlight();
    return out;
  }

  void Say(const std::string& line) {
    live_.Clear();
    log::Info("{}", line);
    if (options_.on_event) options_.on_event(line);
  }

  // One line per running instance, redrawn in place (only when stderr is a terminal); without
  // one, progress notes as log lines when they change.
  void DrawLive() {
    if (!options_.live_display && !options_.log_progress_notes) return;
    Clock::TimePoint now = clock_->Now();
    if (options_.live_display && !live_.Due(now)) return;
    std::vector<LiveRow> rows;
    for (const Slot& s : slots_) {
      rows.push_back(
          {nodes_[s.idx].Name(), s.kill_at.has_value(), now - s.started, s.paths.progress});
    }
    if (options_.live_display) {
      live_.Draw(now, rows);
    } else if (options_.log_progress_notes) {
      live_.LogNotes(now, rows);
    }
  }

  const config::Pipeline& pipeline_;
  ledger::Ledger& ledger_;
  SchedulerOptions options_;
  ledger::RunRecord run_;
  std::vector<InstanceNode> nodes_;
  std::vector<InstanceRecord> records_;
  std::vector<int> task_index_;  // per instance: its task's index in ready_
  ReadyQueue ready_;             // queued instances, in the order they start
  Clock* clock_;
  std::filesystem::path logs_dir_;
  // The run's partners, comma-separated, for SLUICE_PARTNERS: what tasks that are not per
  // partner work on.
  std::string partners_env_;
  std::string redact_env_;  // SLUICE_REDACT_ENV: names whose values attempts mask
  Executor* executor_ = nullptr;
  std::unique_ptr<Executor> owned_executor_;  // when the options named none
  std::vector<Slot> slots_;
  bool stopping_ = false;
  std::vector<int> attempts_before_;  // per instance: attempts made before this drive
  std::vector<int> unfinished_deps_;  // per instance: upstreams not terminal yet
  std::vector<int> resolvable_;       // pending instances whose upstreams are all terminal
  std::vector<int> config_failures_;  // failed at the start: their partner's config is broken
  bool cancel_requested_ = false;     // `sluice cancel` asked (not a signal)
  static constexpr Clock::Duration kOwnerCheck = std::chrono::milliseconds(500);
  bool checked_once_ = false;
  Clock::TimePoint last_owner_check_{};
  int64_t last_heartbeat_ms_ = 0;
  RunAlerts alerts_;
  int64_t duration_threshold_s_ = -1;  // -1: not read yet
  LiveDisplay live_;
  Clock::TimePoint run_started_;
};

}  // namespace

Result<RunOutcome> DriveRun(const config::Pipeline& pipeline, ledger::Ledger& ledger,
                            const SchedulerOptions& options, ledger::RunRecord run,
                            std::vector<InstanceNode> nodes,
                            std::vector<ledger::InstanceRecord> records) {
  Driver driver(pipeline, ledger, options, std::move(run), std::move(nodes), std::move(records));
  return driver.Drive();
}

}  // namespace sluice::workflow
