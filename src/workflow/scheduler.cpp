// scheduler.cpp: the run loop (Driver), StartRun and RepairRun. See scheduler.h for the state
// machine.
#include "workflow/scheduler.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>

#include "alert/alert.h"
#include "core/logging.h"
#include "core/process.h"
#include "core/strings.h"
#include "workflow/attempt_files.h"
#include "workflow/dag.h"
#include "workflow/executor.h"

namespace sluice::workflow {

namespace {

using ledger::AttemptRecord;
using ledger::InstanceRecord;
using ledger::State;

volatile sig_atomic_t g_stop_signal = 0;

void OnStopSignal(int sig) {
  g_stop_signal = sig;
  WakeExecutor();
}

// While alive, SIGINT and SIGTERM set g_stop_signal instead of killing sluice (what was there
// before comes back at the end); inactive when `active` is false (tests drive the scheduler
// in-process).
class StopSignals {
 public:
  explicit StopSignals(bool active) : active_(active) {
    if (!active_) return;
    g_stop_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = &OnStopSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopSignals() {
    if (!active_) return;
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  bool active_;
  struct sigaction old_int_ {
  }, old_term_{};
};

int64_t WallMs(Clock* clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock->WallNow().time_since_epoch())
      .count();
}

std::string FormatSeconds(Clock::Duration d) {
  return fmt::format("{:.1f}s", std::chrono::duration<double>(d).count());
}

// The last non-empty line of a log, shortened, for one-line error summaries.
std::string LastLogLine(const std::filesystem::path& log) {
  std::string tail = alert::TailOfFile(log, 1, 512);
  tail = std::string(Trim(tail));
  if (tail.size() > 200) tail = tail.substr(0, 200) + "...";
  return tail;
}

// Whether `pid` is still a run's scheduler: alive, and (where /proc says) a sluice process. After
// a reboot the pid of a scheduler that died may belong to anything, which must not keep the
// date blocked or be suggested for kill -INT.
bool SchedulerAlive(int pid) {
  if (!ProcessRunning(pid)) return false;
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  if (!comm || !std::getline(comm, name)) return true;  // no /proc: trust kill()
  return name.find("sluice") != std::string::npos;
}

// The partners a run was created for (its --partners, or every enabled partner then), from the
// run's params.
std::vector<std::string> PartnersOfRun(const ledger::RunRecord& run) {
  std::vector<std::string> out;
  auto params = nlohmann::json::parse(run.params, nullptr, false);
  if (params.is_object() && params.contains("partners") && params["partners"].is_array()) {
    for (const auto& p : params["partners"]) {
      if (p.is_string()) out.push_back(p.get<std::string>());
    }
  }
  return out;
}

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
        not_before_(nodes_.size()),
        clock_(options.clock ? options.clock : SystemClock::Default()),
        logs_dir_(LogsDir(pipeline)),
        partners_env_(Join(PartnersOfRun(run_), ",")) {
    // A repair is a new round: each instance it runs again gets its max_retries afresh (one
    // whose retries were used up by a transient failure would otherwise get a single try).
    for (const InstanceRecord& rec : records_) attempts_before_.push_back(rec.attempts);
  }

  Result<RunOutcome> Drive() {
    SLUICE_ASSIGN_OR_RETURN(executor_, MakeExecutor(options_.executor));
    // Webhook URLs carry tokens, credentials sit in the environment: known to the log filter
    // before any task output is echoed or sent in an alert's log tail.
    log::RegisterSecretsFromEnvironment();
    if (!pipeline_.settings.alerts.empty()) MakeNotifier().RegisterSecrets();
    struct sigaction old_hup {};
    std::optional<StopSignals> stop_signals(std::in_place, options_.handle_signals);
    if (options_.handle_signals) {
      // (SIGPIPE is ignored by the whole CLI, main.cpp: `sluice run | head` must not kill it.)
      struct sigaction ignore {};
      ignore.sa_handler = SIG_IGN;
      sigemptyset(&ignore.sa_mask);
      // A closed terminal (an SSH session that ends) does not stop tonight's ingestion: the run
      // goes on as if started with nohup. SIGINT/SIGTERM still cancel it.
      sigaction(SIGHUP, &ignore, &old_hup);
    }
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
    int handle = 0;
    AttemptRecord attempt;
    AttemptPaths paths;
    Clock::TimePoint started;
    std::optional<Clock::TimePoint> deadline;
    std::optional<Clock::TimePoint> kill_at;
    bool killed = false;
    bool timed_out = false;
    bool cancelled = false;
  };

  Status Loop() {
    run_started_ = clock_->Now();
    const int parallelism = std::max(1, options_.parallelism);
    while (true) {
      Clock::TimePoint now = clock_->Now();
      if (g_stop_signal != 0 && !stopping_) {
        stopping_ = true;
        Say(fmt::format("run {}: received {}; stopping: no new attempts, terminating {} running",
                        run_.run_id, strsignal(g_stop_signal), slots_.size()));
        for (Slot& s : slots_) {
          s.cancelled = true;
          executor_->Signal(s.handle, SIGTERM);
          s.kill_at = now + options_.kill_grace;
        }
      }
      for (Slot& s : slots_) {
        if (!s.kill_at && s.deadline && now >= *s.deadline) {
          s.timed_out = true;
          Say(fmt::format("run {}: {} attempt {} timed out after {}s; sending SIGTERM", run_.run_id,
                          nodes_[s.idx].Name(), s.attempt.attempt,
                          nodes_[s.idx].task->timeout_seconds));
          executor_->Signal(s.handle, SIGTERM);
          s.kill_at = now + options_.kill_grace;
        } else if (s.kill_at && !s.killed && now >= *s.kill_at) {
          executor_->Signal(s.handle, SIGKILL);
          s.killed = true;
        }
      }
      if (!stopping_) SLUICE_RETURN_IF_ERROR(Resolve(now));
      if (!stopping_) {
        for (size_t i = 0; i < nodes_.size() && static_cast<int>(slots_.size()) < parallelism;
             ++i) {
          if (records_[i].state == State::kQueued && not_before_[i] <= now) {
            SLUICE_RETURN_IF_ERROR(StartAttempt(static_cast<int>(i)));
          }
        }
      }
      MaybeWarnDuration(now);
      if (slots_.empty()) {
        if (stopping_) break;
        std::optional<Clock::TimePoint> next;
        for (size_t i = 0; i < nodes_.size(); ++i) {
          if (records_[i].state == State::kQueued && (!next || not_before_[i] < *next)) {
            next = not_before_[i];
          }
        }
        if (!next) break;  // nothing running, nothing waiting: the run is over
        // Only backoff remains: let the clock pass. A FakeClock advances instantly; on the real
        // clock we wait in the executor, which SIGINT/SIGTERM interrupt (a sleep would not).
        if (dynamic_cast<SystemClock*>(clock_) != nullptr) {
          (void)executor_->Wait(std::min<Clock::Duration>(*next - now, std::chrono::seconds(1)));
        } else {
          clock_->SleepFor(*next - now);
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
      if (static_cast<int>(slots_.size()) < parallelism) {
        for (size_t i = 0; i < nodes_.size(); ++i) {
          if (records_[i].state == State::kQueued) consider(not_before_[i]);
        }
      }
      for (const ExitInfo& exit : executor_->Wait(wait)) {
        auto it = std::find_if(slots_.begin(), slots_.end(),
                               [&](const Slot& s) { return s.handle == exit.handle; });
        if (it == slots_.end()) continue;
        Slot slot = std::move(*it);
        slots_.erase(it);
        SLUICE_RETURN_IF_ERROR(FinishAttempt(slot, exit));
      }
      if (options_.live_display) DrawLive();
    }
    ClearLive();
    return Status::Ok();
  }

  // Moves pending instances whose upstreams are all done to queued, upstream_failed or skipped.
  Status Resolve(Clock::TimePoint now) {
    std::vector<InstanceRecord> changed;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      InstanceRecord& rec = records_[i];
      if (rec.state != State::kPending) continue;
      std::vector<State> upstream;
      bool all_done = true;
      std::string failed_up;
      for (int d : nodes_[i].deps) {
        all_done &= ledger::IsTerminal(records_[d].state);
        upstream.push_back(records_[d].state);
        if (failed_up.empty() && ledger::IsFailure(records_[d].state)) {
          failed_up = nodes_[d].Name();
        }
      }
      if (!all_done) continue;
      switch (Decide(nodes_[i].task->run_if, upstream)) {
        case Decision::kRun:
          rec.state = State::kQueued;
          not_before_[i] = now;
          break;
        case Decision::kUpstreamFailed:
          rec.state = State::kUpstreamFailed;
          rec.error = "not run: upstream " + failed_up + " did not succeed (run_if " +
                      std::string(config::RunIfName(nodes_[i].task->run_if)) + ")";
          rec.ended_ms = WallMs(clock_);
          break;
        case Decision::kSkip:
          rec.state = State::kSkipped;
          rec.error = "skipped: run_if " + std::string(config::RunIfName(nodes_[i].task->run_if)) +
                      " is not met";
          rec.ended_ms = WallMs(clock_);
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
    rec.state = State::kRunning;
    rec.attempts = n;
    if (rec.started_ms == 0) rec.started_ms = a.started_ms;
    rec.ended_ms = 0;
    rec.error.clear();
    // Recorded before the process exists: a crash from here on leaves a row repair resolves.
    SLUICE_RETURN_IF_ERROR(ledger_.RecordAttempt(rec, a));

    LaunchSpec spec;
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
    if (!node.task->command.empty()) {
      spec.shell_command = node.task->command;
      spec.outcome = slot.paths.outcome;
    }
    spec.cwd = pipeline_.dir;
    spec.log = slot.paths.log;
    spec.lock = slot.paths.lock;
    slot.started = clock_->Now();
    if (node.task->timeout_seconds > 0) {
      slot.deadline = slot.started + std::chrono::seconds(node.task->timeout_seconds);
    }
    auto handle = executor_->Launch(spec);
    if (!handle.ok()) {
      // Could not start (binary missing, fd limit): an ordinary failed attempt.
      return FinishAttempt(slot, ExitInfo{0, -1, 0}, handle.status().ToString());
    }
    slot.handle = *handle;
    a.pid = *handle;
    SLUICE_RETURN_IF_ERROR(ledger_.RecordAttempt(rec, a));
    Say(fmt::format("run {}: {} attempt {} started (pid {})", run_.run_id, node.Name(), n, a.pid));
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
    // Whatever the leader left behind in its group goes with it.
    if (slot.handle > 0) executor_->Signal(slot.handle, SIGKILL);
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
    } else if (slot.timed_out) {
      a.state = State::kTimedOut;
      a.error = fmt::format(
          "timed out after {}s (timeout_seconds); the process group got "
          "SIGTERM{}",
          node.task->timeout_seconds, slot.killed ? ", then SIGKILL" : "");
    } else if (slot.cancelled) {
      a.state = State::kFailed;
      a.error = "cancelled: sluice was asked to stop (signal); run `sluice repair` to finish";
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
    bool permanent = outcome.has_value() && outcome->permanent && a.state == State::kFailed;
    const int tries = a.attempt - attempts_before_[slot.idx];  // in this run or repair
    bool retry = a.state != State::kSuccess && !slot.cancelled && !stopping_ && !permanent &&
                 tries < task.max_retries + 1 &&
                 (a.state != State::kTimedOut || task.retry_on_timeout);
    if (permanent && tries < task.max_retries + 1) {
      a.error +=
          "; not retried: the same input would fail the same way (fix it, then `sluice "
          "repair`)";
    }
    rec.error = a.error;
    if (a.state == State::kSuccess) {
      rec.state = State::kSuccess;
      rec.ended_ms = a.ended_ms;
      Say(fmt::format("run {}: {} attempt {} succeeded in {}", run_.run_id, node.Name(), a.attempt,
                      FormatSeconds(took)));
    } else if (retry) {
      rec.state = State::kQueued;
      Clock::Duration backoff = Backoff(task, tries);
      not_before_[slot.idx] = clock_->Now() + backoff;
      Say(fmt::format("run {}: {} attempt {} {}: {}; retrying in {} ({} of {} retries left)",
                      run_.run_id, node.Name(), a.attempt, ledger::StateName(a.state),
                      FirstLine(a.error), FormatSeconds(backoff), task.max_retries + 1 - tries,
                      task.max_retries));
    } else {
      rec.state = a.state;
      rec.ended_ms = a.ended_ms;
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
    alert::RunReport r;
    r.run_id = run_.run_id;
    r.workflow = run_.workflow;
    r.date = run_.logical_date;
    r.state = state;
    // The run's whole time, across repairs (as `runs` and `show` give it), not this drive's.
    r.duration_ms =
        run_.created_ms > 0
            ? WallMs(clock_) - run_.created_ms
            : std::chrono::duration_cast<std::chrono::milliseconds>(clock_->Now() - run_started_)
                  .count();
    for (size_t i = 0; i < nodes_.size(); ++i) {
      const InstanceRecord& rec = records_[i];
      if (!ledger::IsFailure(rec.state)) continue;
      alert::FailedInstance f;
      f.task = rec.task_key;
      f.partner = rec.partner;
      f.state = std::string(ledger::StateName(rec.state));
      f.attempts = rec.attempts;
      f.error = rec.error;
      if (rec.attempts > 0) {
        f.log_tail = log::Redact(alert::TailOfFile(
            PathsFor(logs_dir_, run_.run_id, rec.task_key, rec.partner, rec.attempts).log));
      }
      r.failed.push_back(std::move(f));
    }
    return r;
  }

  alert::Notifier MakeNotifier() {
    alert::NotifierOptions o;
    o.working_dir = pipeline_.dir;
    o.command_output = logs_dir_ / run_.run_id / "alerts.log";
    return alert::Notifier(pipeline_.settings.alerts, o);
  }

  // Commands and webhooks on a thread of their own, so a slow command or a silent endpoint (up
  // to its timeout_seconds, three tries for a webhook) never holds up launching, reaping or
  // timing out tasks. The executor reaps every child with waitpid(-1); an alert command is
  // forked watched (core/process.h), so its status reaches the alert thread whoever reaps it.
  // Finish() waits for those still in flight.
  void SendAlert(std::string_view event, const alert::RunReport& report) {
    alert::Notifier notifier = MakeNotifier();
    webhooks_in_flight_.push_back(
        std::async(std::launch::async, [notifier, event = std::string(event), report]() mutable {
          try {
            notifier.Notify(event, report, alert::Channel::kCommands);
            notifier.Notify(event, report, alert::Channel::kWebhooks);
          } catch (const std::exception& e) {
            log::Warn("alert {} for run {} was not delivered: {}", event, report.run_id, e.what());
          }
        }));
  }

  void MaybeWarnDuration(Clock::TimePoint now) {
    if (duration_warned_ || !options_.send_alerts || pipeline_.settings.alerts.empty()) return;
    alert::Notifier notifier = MakeNotifier();
    int64_t threshold = notifier.DurationThresholdSeconds();
    if (threshold <= 0 || now - run_started_ < std::chrono::seconds(threshold)) return;
    duration_warned_ = true;
    SendAlert("duration_warning", Report("running"));
  }

  // The first instance to exhaust its retries pages people at once (a failed extract at 02:00
  // should not wait for the rest of a two-hour run); the run sends no second failure alert.
  // Sent from a thread of its own (SendAlert): tasks go on being launched, reaped and timed
  // out meanwhile.
  void AlertFailureNow() {
    if (failure_alerted_ || !options_.send_alerts || pipeline_.settings.alerts.empty()) return;
    alert::Notifier notifier = MakeNotifier();
    if (!notifier.Wants("failure")) return;
    failure_alerted_ = true;
    SendAlert("failure", Report("running"));
  }

  Result<RunOutcome> Finish() {
    if (stopping_) {
      // Instances that were waiting for a slot or a backoff go back to pending for repair, and
      // every instance left pending says why it did not run.
      std::vector<InstanceRecord> waiting;
      for (InstanceRecord& rec : records_) {
        if (rec.state != State::kQueued && rec.state != State::kPending) continue;
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
    if (options_.send_alerts && !pipeline_.settings.alerts.empty()) {
      // One failure alert per run: sent already when the first instance exhausted its retries;
      // here only when the run failed without that (e.g. every failure was upstream_failed).
      // A cancelled run did not load the day either: its failure alert says "cancelled".
      if ((out.state == "failed" || out.state == "cancelled") && !failure_alerted_) {
        SendAlert("failure", Report(out.state));
      }
      if (out.state == "success") SendAlert("success", Report(out.state));
    }
    for (auto& in_flight : webhooks_in_flight_) in_flight.wait();
    return out;
  }

  void Say(const std::string& line) {
    ClearLive();
    log::Info("{}", line);
    if (options_.on_event) options_.on_event(line);
  }

  // One line per running instance, redrawn in place (only when stderr is a terminal).
  void DrawLive() {
    Clock::TimePoint now = clock_->Now();
    if (live_lines_ > 0 && now - last_draw_ < std::chrono::milliseconds(250)) return;
    ClearLive();
    last_draw_ = now;
    std::string out;
    for (const Slot& s : slots_) {
      std::string detail;
      if (auto p = ReadProgress(s.paths.progress)) {
        if (p->bytes_total > 0) {
          detail = FormatBytes(p->bytes_done) + " / " + FormatBytes(p->bytes_total);
        } else if (p->bytes_done > 0) {
          detail = FormatBytes(p->bytes_done);
        }
        if (p->rows_done > 0)
          detail += (detail.empty() ? "" : ", ") + std::to_string(p->rows_done) + " rows";
        if (!p->note.empty()) detail += "  " + p->note;
      }
      out +=
          fmt::format("  {:<32} {:<9} {:>8}  {}\n", nodes_[s.idx].Name(),
                      s.kill_at ? "stopping" : "running", FormatSeconds(now - s.started), detail);
    }
    fputs(out.c_str(), stderr);
    live_lines_ = static_cast<int>(slots_.size());
  }

  void ClearLive() {
    if (live_lines_ == 0) return;
    std::string out;
    for (int i = 0; i < live_lines_; ++i) out += "\x1b[1A\x1b[2K";
    fputs(out.c_str(), stderr);
    live_lines_ = 0;
  }

  const config::Pipeline& pipeline_;
  ledger::Ledger& ledger_;
  SchedulerOptions options_;
  ledger::RunRecord run_;
  std::vector<InstanceNode> nodes_;
  std::vector<InstanceRecord> records_;
  std::vector<Clock::TimePoint> not_before_;
  Clock* clock_;
  std::filesystem::path logs_dir_;
  // The run's partners, comma-separated, for SLUICE_PARTNERS: what tasks that are not per
  // partner work on.
  std::string partners_env_;
  std::unique_ptr<Executor> executor_;
  std::vector<Slot> slots_;
  bool stopping_ = false;
  bool duration_warned_ = false;
  bool failure_alerted_ = false;
  std::vector<int> attempts_before_;  // per instance: attempts made before this drive
  std::vector<std::future<void>> webhooks_in_flight_;
  Clock::TimePoint run_started_;
  Clock::TimePoint last_draw_;
  int live_lines_ = 0;
};

std::string MakeRunId(const Date& date, Clock* clock) {
  std::time_t t = std::chrono::system_clock::to_time_t(clock->WallNow());
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::random_device rd;
  return fmt::format("{}_{:02}{:02}{:02}_{:04x}", date.ToString(), tm.tm_hour, tm.tm_min, tm.tm_sec,
                     rd() & 0xffff);
}

std::string WorkflowName(const config::Pipeline& pipeline) {
  if (!pipeline.workflow.name.empty()) return pipeline.workflow.name;
  if (!pipeline.settings.name.empty()) return pipeline.settings.name;
  return pipeline.dir.filename().string();
}

std::string Hostname() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

}  // namespace

Result<std::optional<ledger::RunRecord>> FindResumableRun(
    const config::Pipeline& pipeline, ledger::Ledger& ledger, const Date& date,
    const std::vector<std::string>& partners) {
  SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> wanted, ResolvePartners(pipeline, partners));
  std::sort(wanted.begin(), wanted.end());
  SLUICE_ASSIGN_OR_RETURN(std::vector<ledger::RunRecord> runs, ledger.ListRuns(1000));
  const std::string workflow = WorkflowName(pipeline);
  for (const ledger::RunRecord& r : runs) {  // newest first
    if (r.workflow != workflow || r.logical_date != date.ToString()) continue;
    std::vector<std::string> covered = PartnersOfRun(r);
    std::sort(covered.begin(), covered.end());
    if (covered == wanted) return std::optional<ledger::RunRecord>(r);
  }
  return std::optional<ledger::RunRecord>();
}

std::filesystem::path LogsDir(const config::Pipeline& pipeline) {
  return pipeline.Resolve(pipeline.settings.logs.empty() ? "./logs" : pipeline.settings.logs);
}

Result<RunOutcome> StartRun(const config::Pipeline& pipeline, ledger::Ledger& ledger,
                            const RunRequest& request, const SchedulerOptions& options) {
  if (options.sluice_binary.empty()) return Status::InvalidArgument("scheduler: no sluice binary");
  if (!options.executor.empty() && options.executor != "local") {
    // Refused before anything is written, so no run is left behind.
    return MakeExecutor(options.executor).status();
  }
  SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> partners,
                          ResolvePartners(pipeline, request.partners));
  Clock* clock = options.clock ? options.clock : SystemClock::Default();
  ledger::RunRecord run;
  run.run_id = MakeRunId(request.date, clock);
  run.workflow = WorkflowName(pipeline);
  run.pipeline_dir = pipeline.dir.string();
  run.logical_date = request.date.ToString();
  run.params = nlohmann::json{{"partners", partners}, {"parallelism", options.parallelism}}.dump();
  run.state = "running";
  run.created_ms = WallMs(clock);
  run.scheduler_pid = getpid();
  run.host = Hostname();
  std::vector<InstanceNode> nodes = BuildInstances(pipeline.workflow, partners);
  std::vector<InstanceRecord> records;
  for (const InstanceNode& n : nodes) {
    InstanceRecord r;
    r.run_id = run.run_id;
    r.task_key = n.task->task_key;
    r.partner = n.partner;
    records.push_back(std::move(r));
  }
  Status created = ledger.CreateRun(run, records);
  if (created.code() == StatusCode::kAlreadyExists) {
    // Name the active run and whether its scheduler still lives (a killed `sluice run` leaves
    // its run `running` until repaired).
    std::string advice =
        "wait for it to finish, or if its scheduler is gone, continue it with "
        "`sluice run " +
        pipeline.dir.string() + " --date " + run.logical_date + " --resume`";
    if (auto runs = ledger.ListRuns(1000); runs.ok()) {
      for (const ledger::RunRecord& r : *runs) {
        if (r.state != "running" || r.workflow != run.workflow ||
            r.logical_date != run.logical_date) {
          continue;
        }
        const bool here = r.host == Hostname();
        if (here && SchedulerAlive(r.scheduler_pid)) {
          advice = "its scheduler (pid " + std::to_string(r.scheduler_pid) +
                   ") is running it: wait for it to finish, or stop it (kill -INT " +
                   std::to_string(r.scheduler_pid) + ")";
        } else if (here) {
          advice = "its scheduler (pid " + std::to_string(r.scheduler_pid) +
                   ") is gone: continue the run with `sluice run " + pipeline.dir.string() +
                   " --date " + run.logical_date + " --resume` (or `sluice repair " +
                   pipeline.dir.string() + " " + r.run_id + "`)";
        }
        break;
      }
    }
    return Status::AlreadyExists("refusing to start a second run: " + created.message() + "; " +
                                 advice);
  }
  SLUICE_RETURN_IF_ERROR(created);
  log::Info("run {}: workflow {} for {}, {} instances, {} partners, parallelism {}", run.run_id,
            run.workflow, run.logical_date, nodes.size(), partners.size(), options.parallelism);
  Driver driver(pipeline, ledger, options, std::move(run), std::move(nodes), std::move(records));
  return driver.Drive();
}

bool SchedulerGone(const ledger::RunRecord& run) {
  return run.state == "running" && run.host == Hostname() && !SchedulerAlive(run.scheduler_pid);
}

Result<RunOutcome> RepairRun(const config::Pipeline& pipeline, ledger::Ledger& ledger,
                             const RepairRequest& request, const SchedulerOptions& options,
                             RepairPlan* plan) {
  RepairPlan local_plan;
  if (plan == nullptr) plan = &local_plan;
  SLUICE_ASSIGN_OR_RETURN(ledger::RunRecord run, ledger.GetRun(request.run_id));
  if (run.state == "running" && run.scheduler_pid != getpid() && run.host == Hostname() &&
      SchedulerAlive(run.scheduler_pid)) {
    return Status::AlreadyExists("run " + run.run_id + " is active: scheduler pid " +
                                 std::to_string(run.scheduler_pid) +
                                 " is still running it; wait for it to finish or stop it "
                                 "(kill -INT " +
                                 std::to_string(run.scheduler_pid) + ")");
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
    if (pipeline.FindPartner(p)) partners.push_back(std::move(p));
  }
  SLUICE_ASSIGN_OR_RETURN(Date date, ParseDate(run.logical_date));
  (void)date;
  std::vector<InstanceNode> nodes = BuildInstances(pipeline.workflow, partners);
  SLUICE_ASSIGN_OR_RETURN(std::vector<InstanceRecord> existing, ledger.ListInstances(run.run_id));
  SLUICE_ASSIGN_OR_RETURN(std::vector<AttemptRecord> attempts, ledger.ListAttempts(run.run_id));
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

  // Attempts a dead scheduler left "running": wait while their processes live (they hold the
  // flock on the attempt's log), then believe their outcome file.
  std::filesystem::path logs_dir = LogsDir(pipeline);
  std::vector<std::pair<InstanceRecord, AttemptRecord>> resolved;
  for (AttemptRecord& a : attempts) {
    if (a.state != State::kRunning && a.state != State::kQueued) continue;
    AttemptPaths paths = PathsFor(logs_dir, run.run_id, a.task_key, a.partner, a.attempt);
    int fd = open(paths.lock.c_str(), O_RDWR | O_CLOEXEC);
    bool still_running = false;
    bool killed_for_timeout = false;
    if (fd >= 0) {
      const config::TaskConfig* task = pipeline.workflow.Find(a.task_key);
      bool warned = false;
      // Ctrl-C while waiting stops the repair before it changed anything, saying so.
      StopSignals stop_signals(options.handle_signals && !request.dry_run);
      while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (g_stop_signal != 0) {
          close(fd);
          return Status::Cancelled(
              std::string("repair of run ") + run.run_id + " stopped by " +
              strsignal(g_stop_signal) + " while waiting for attempt " + std::to_string(a.attempt) +
              " of " + InstanceName(a.task_key, a.partner) + " (pid " + std::to_string(a.pid) +
              ") left running by its scheduler; nothing was changed. Run the repair again to "
              "wait for it, or stop that process first");
        }
        // The attempt writes its outcome last: once it is there, whatever still holds the lock
        // is something the attempt left running (a daemon it started), not the attempt.
        if (ReadOutcome(paths.outcome)) break;
        if (request.dry_run) {
          still_running = true;
          break;
        }
        if (!warned) {
          log::Info("repair: attempt {} of {} (pid {}) is still running; waiting for it", a.attempt,
                    InstanceName(a.task_key, a.partner), a.pid);
          warned = true;
        }
        int64_t now_ms = WallMs(SystemClock::Default());
        if (task && task->timeout_seconds > 0 && a.pid > 0 &&
            now_ms - a.started_ms > task->timeout_seconds * 1000) {
          if (!killed_for_timeout) {
            log::Warn(
                "repair: attempt {} of {} ran past its timeout_seconds ({}s) while its "
                "scheduler was gone; killing it",
                a.attempt, InstanceName(a.task_key, a.partner), task->timeout_seconds);
          }
          killed_for_timeout = true;
          kill(-a.pid, SIGKILL);
        }
        SystemClock::Default()->SleepFor(std::chrono::milliseconds(50));
      }
      close(fd);
    }
    if (still_running) {
      plan->recovered.push_back(InstanceName(a.task_key, a.partner) + " attempt " +
                                std::to_string(a.attempt) +
                                ": still running (repair would wait for it, then read its "
                                "outcome)");
      continue;
    }
    std::optional<Outcome> outcome = ReadOutcome(paths.outcome);
    a.ended_ms = WallMs(SystemClock::Default());
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
      } else {
        a.error = "the scheduler died and the attempt's process is gone without an outcome";
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
  if (!options.executor.empty() && options.executor != "local") {
    return MakeExecutor(options.executor).status();
  }
  // Nothing is written before the run is claimed (a repair stopped while it waited for an
  // orphan leaves the ledger as it found it).
  SLUICE_RETURN_IF_ERROR(ledger.ClaimRun(run.run_id, run.scheduler_pid, getpid()));
  if (!removed.empty()) SLUICE_RETURN_IF_ERROR(ledger.PutInstances(removed));
  for (const auto& [rec, a] : resolved) SLUICE_RETURN_IF_ERROR(ledger.RecordAttempt(rec, a));
  SLUICE_RETURN_IF_ERROR(ledger.PutInstances(records));
  run.scheduler_pid = getpid();
  run.state = "running";
  log::Info("repair of run {}: {} instances to run again, {} orphaned attempts resolved",
            run.run_id, plan->rerun.size(), plan->recovered.size());
  Driver driver(pipeline, ledger, options, std::move(run), std::move(nodes), std::move(records));
  return driver.Drive();
}

}  // namespace sluice::workflow
