// run_alerts.cpp: see run_alerts.h.
#include "workflow/run_alerts.h"

#include "core/logging.h"
#include "workflow/attempt_files.h"

namespace sluice::workflow {

alert::RunReport BuildRunReport(const ledger::RunRecord& run,
                                const std::vector<ledger::InstanceRecord>& records,
                                const std::filesystem::path& logs_dir, const std::string& state,
                                int64_t duration_ms) {
  alert::RunReport r;
  r.run_id = run.run_id;
  r.workflow = run.workflow;
  r.date = run.logical_date;
  r.state = state;
  r.duration_ms = duration_ms;
  for (const ledger::InstanceRecord& rec : records) {
    if (!ledger::IsFailure(rec.state)) continue;
    alert::FailedInstance f;
    f.task = rec.task_key;
    f.partner = rec.partner;
    f.state = std::string(ledger::StateName(rec.state));
    f.attempts = rec.attempts;
    f.error = rec.error;
    if (rec.attempts > 0) {
      f.log_tail = log::Redact(alert::TailOfFile(
          PathsFor(logs_dir, run.run_id, rec.task_key, rec.partner, rec.attempts).log));
    }
    r.failed.push_back(std::move(f));
  }
  return r;
}

RunAlerts::RunAlerts(const config::Pipeline& pipeline, std::filesystem::path logs_dir,
                     std::string run_id, bool enabled)
    : pipeline_(pipeline),
      logs_dir_(std::move(logs_dir)),
      run_id_(std::move(run_id)),
      enabled_(enabled) {}

alert::Notifier RunAlerts::MakeNotifier() const {
  alert::NotifierOptions o;
  o.working_dir = pipeline_.dir;
  o.command_output = logs_dir_ / run_id_ / "alerts.log";
  return alert::Notifier(pipeline_.settings.alerts, o);
}

bool RunAlerts::Active() const { return enabled_ && !pipeline_.settings.alerts.empty(); }

int64_t RunAlerts::DurationThresholdSeconds() const {
  if (!Active()) return 0;
  return MakeNotifier().DurationThresholdSeconds();
}

// The executor reaps every child with waitpid(-1); an alert command is forked watched
// (core/process.h), so its status reaches the alert thread whoever reaps it.
void RunAlerts::Send(std::string_view event, const alert::RunReport& report) {
  alert::Notifier notifier = MakeNotifier();
  in_flight_.push_back(
      std::async(std::launch::async, [notifier, event = std::string(event), report]() mutable {
        try {
          notifier.Notify(event, report, alert::Channel::kCommands);
          notifier.Notify(event, report, alert::Channel::kWebhooks);
        } catch (const std::exception& e) {
          log::Warn("alert {} for run {} was not delivered: {}", event, report.run_id, e.what());
        }
      }));
}

void RunAlerts::WaitForInFlight() {
  for (auto& f : in_flight_) f.wait();
  in_flight_.clear();
}

}  // namespace sluice::workflow
