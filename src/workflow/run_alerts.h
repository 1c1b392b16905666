// workflow/run_alerts.h: the alerts one run (or repair) sends: the first failure at once, a
// duration warning once, and at the end success or (if not sent yet) failure. Commands and
// webhooks go out on threads of their own so a slow endpoint never holds up the scheduler;
// WaitForInFlight() waits for them. Thread-safety: called from the scheduler's thread only.
#pragma once

#include <filesystem>
#include <future>
#include <string>
#include <string_view>
#include <vector>

#include "alert/alert.h"
#include "config/pipeline_config.h"
#include "ledger/ledger.h"

namespace sluice::workflow {

// The report an alert carries: the run, its state, and every failed instance with its log tail.
alert::RunReport BuildRunReport(const ledger::RunRecord& run,
                                const std::vector<ledger::InstanceRecord>& records,
                                const std::filesystem::path& logs_dir, const std::string& state,
                                int64_t duration_ms);

class RunAlerts {
 public:
  // `enabled` false (tests, benches) sends nothing.
  RunAlerts(const config::Pipeline& pipeline, std::filesystem::path logs_dir, std::string run_id,
            bool enabled);

  alert::Notifier MakeNotifier() const;
  // Whether any alert is configured and enabled.
  bool Active() const;
  // The configured duration_warning threshold in seconds (<= 0: none).
  int64_t DurationThresholdSeconds() const;
  // Sends duration_warning once (when `report` is called the first time).
  template <typename ReportFn>
  void MaybeWarnDuration(bool over_threshold, ReportFn&& report) {
    if (duration_warned_ || !Active() || !over_threshold) return;
    duration_warned_ = true;
    Send("duration_warning", report());
  }
  // The first instance to exhaust its retries pages people at once (a failed extract at 02:00
  // should not wait for the rest of a two-hour run); the run sends no second failure alert.
  template <typename ReportFn>
  void FailureNow(ReportFn&& report) {
    if (failure_alerted_ || !Active()) return;
    if (!MakeNotifier().Wants("failure")) return;
    failure_alerted_ = true;
    Send("failure", report());
  }
  bool FailureSent() const { return failure_alerted_; }
  // Commands and webhooks on a thread of their own (see the header comment).
  void Send(std::string_view event, const alert::RunReport& report);
  void WaitForInFlight();

 private:
  const config::Pipeline& pipeline_;
  std::filesystem::path logs_dir_;
  std::string run_id_;
  bool enabled_;
  bool duration_warned_ = false;
  bool failure_alerted_ = false;
  std::vector<std::future<void>> in_flight_;
};

}  // namespace sluice::workflow
