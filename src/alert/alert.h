// alert/alert.h: notifications about runs (sluice.yaml `alerts:`): webhooks and commands.
//
// The scheduler builds a RunReport and calls Notifier::Notify(event, report) for "failure",
// "success" and "duration_warning". A webhook gets the report as JSON in a POST (libcurl, with
// the alert's timeout and a few retries with backoff); a command runs under /bin/sh -c with the
// report in SLUICE_ALERT_JSON and SLUICE_* variables. Alerts never fail a run: problems are
// logged (without the URL, which often holds a token) and Notify returns how many were sent.
// Ownership: Notifier copies its configs. Thread-safety: one thread at a time per Notifier.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "config/pipeline_config.h"
#include "core/clock.h"
#include "core/status.h"

namespace sluice::alert {

struct FailedInstance {
  std::string task;
  std::string partner;  // "" when not per-partner
  std::string state;    // failed | timed_out | upstream_failed
  int attempts = 0;
  std::string error;
  std::string log_tail;  // last lines of the last attempt's log
};

struct RunReport {
  std::string run_id;
  std::string workflow;
  std::string date;
  std::string state;  // running | success | failed | cancelled
  int64_t duration_ms = 0;
  std::vector<FailedInstance> failed;
  // late_partner: the partner whose delivery is not complete by its expected_by, and why.
  std::string partner;
  std::string expected_by;
  std::string missing;
  // schema_drift: the tables whose files' headers differed from their schemas, each
  // {"partner", "table", "description", "extra", "missing", "renamed", "patch", "schema_file"}
  // as JSON text (the merge result's "drift" document plus partner, table and description).
  std::vector<std::string> drift;
};

// The JSON document sent for `event`: {"event", "run_id", "workflow", "date", "state",
// "duration_seconds", "failed": [{"task", "partner", "state", "attempts", "error", "log_tail"}]},
// for late_partner also "partner", "expected_by" and "missing", and for schema_drift "drift": the
// drifted tables.
std::string RenderJson(std::string_view event, const RunReport& report);

// The last `max_lines` lines (at most `max_bytes`) of a log file; "" when unreadable.
std::string TailOfFile(const std::filesystem::path& path, int max_lines = 20,
                       size_t max_bytes = 4096);

// POSTs `json` to `url` once. Unavailable for connection errors and 5xx (retryable),
// InvalidArgument for other non-2xx answers. The message never contains the URL.
Status PostJson(const std::string& url, const std::string& json, int64_t timeout_seconds);

struct NotifierOptions {
  Clock* clock = nullptr;  // for backoff between webhook tries; nullptr: the system clock
  int webhook_tries = 3;
  Clock::Duration retry_base = std::chrono::milliseconds(500);  // doubled per try
  std::filesystem::path working_dir;                            // for command alerts
  // Where command alerts' stdout and stderr go (appended); empty: /dev/null. Never the
  // scheduler's own: a command's background child would hold a `sluice run | ...` pipe open.
  std::filesystem::path command_output;
};

enum class Channel { kAll, kWebhooks, kCommands };

class Notifier {
 public:
  Notifier(std::vector<config::AlertConfig> alerts, NotifierOptions options);
  // Sends every alert subscribed to `event`. Returns how many were delivered; failures are
  // logged as warnings naming the alert's place in sluice.yaml.
  int Notify(std::string_view event, const RunReport& report, Channel channel = Channel::kAll);
  // Registers every webhook URL (after ${VAR} expansion) as a secret for the logs, so none is
  // printed before its first alert is sent.
  void RegisterSecrets() const;
  // True when some alert listens for `event`.
  bool Wants(std::string_view event) const;
  // The smallest duration_warning threshold in seconds (0 when none).
  int64_t DurationThresholdSeconds() const;

 private:
  Status SendWebhook(const config::AlertConfig& alert, const std::string& json);
  Status RunCommand(const config::AlertConfig& alert, std::string_view event,
                    const RunReport& report, const std::string& json);

  std::vector<config::AlertConfig> alerts_;
  NotifierOptions options_;
};

}  // namespace sluice::alert
