// alert.cpp: webhook (libcurl) and command notifications.
#include "alert/alert.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <utility>

#include "core/logging.h"
#include "core/process.h"
#include "core/strings.h"

namespace sluice::alert {

std::string RenderJson(std::string_view event, const RunReport& report) {
  nlohmann::json j;
  j["event"] = std::string(event);
  j["run_id"] = report.run_id;
  j["workflow"] = report.workflow;
  j["date"] = report.date;
  j["state"] = report.state;
  j["duration_seconds"] = static_cast<double>(report.duration_ms) / 1000.0;
  nlohmann::json failed = nlohmann::json::array();
  for (const FailedInstance& f : report.failed) {
    failed.push_back({{"task", f.task},
                      {"partner", f.partner},
                      {"state", f.state},
                      {"attempts", f.attempts},
                      {"error", f.error},
                      {"log_tail", f.log_tail}});
  }
  j["failed"] = std::move(failed);
  if (!report.partner.empty()) {
    j["partner"] = report.partner;
    j["expected_by"] = report.expected_by;
    j["missing"] = report.missing;
  }
  if (!report.drift.empty()) {
    nlohmann::json drift = nlohmann::json::array();
    for (const std::string& table : report.drift) {
      nlohmann::json parsed = nlohmann::json::parse(table, nullptr, false);
      drift.push_back(parsed.is_discarded() ? nlohmann::json(table) : std::move(parsed));
    }
    j["drift"] = std::move(drift);
  }
  // Replace invalid UTF-8 (a binary log tail) instead of throwing.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string TailOfFile(const std::filesystem::path& path, int max_lines, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return "";
  std::streamoff size = in.tellg();
  std::streamoff start = std::max<std::streamoff>(0, size - static_cast<std::streamoff>(max_bytes));
  in.seekg(start);
  std::string text(static_cast<size_t>(size - start), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  while (!text.empty() && text.back() == '\n') text.pop_back();
  size_t pos = text.size();
  for (int lines = 0; lines < max_lines && pos != std::string::npos && pos > 0; ++lines) {
    pos = text.rfind('\n', pos - 1);
  }
  if (pos != std::string::npos && pos < text.size() && text[pos] == '\n') ++pos;
  if (pos == std::string::npos) pos = 0;
  return text.substr(pos);
}

namespace {

size_t DiscardBody(char*, size_t size, size_t nmemb, void*) { return size * nmemb; }

void GlobalInitCurl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

Status PostJson(const std::string& url, const std::string& json, int64_t timeout_seconds) {
  GlobalInitCurl();
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return Status::Internal("webhook: curl_easy_init failed");
  struct curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(json.size()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, static_cast<long>(std::max<int64_t>(1, timeout_seconds)));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT,
                   static_cast<long>(std::max<int64_t>(1, timeout_seconds)));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &DiscardBody);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "sluice/" SLUICE_VERSION);
  // Only web protocols: a ${VAR} URL must not turn into file:// or similar.
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  CURLcode rc = curl_easy_perform(curl);
  long http_code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http_code);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) {
    return Status::Unavailable(std::string("webhook: ") + curl_easy_strerror(rc));
  }
  if (http_code >= 200 && http_code < 300) return Status::Ok();
  std::string msg = "webhook: the server answered HTTP " + std::to_string(http_code);
  if (http_code >= 500 || http_code == 429) return Status::Unavailable(msg);
  return Status::InvalidArgument(msg);
}

Notifier::Notifier(std::vector<config::AlertConfig> alerts, NotifierOptions options)
    : alerts_(std::move(alerts)), options_(std::move(options)) {
  if (options_.clock == nullptr) options_.clock = SystemClock::Default();
}

bool Notifier::Wants(std::string_view event) const {
  for (const auto& a : alerts_) {
    if (std::find(a.on.begin(), a.on.end(), event) != a.on.end()) return true;
  }
  return false;
}

int64_t Notifier::DurationThresholdSeconds() const {
  int64_t best = 0;
  for (const auto& a : alerts_) {
    if (std::find(a.on.begin(), a.on.end(), "duration_warning") == a.on.end()) continue;
    if (a.threshold_seconds > 0 && (best == 0 || a.threshold_seconds < best)) {
      best = a.threshold_seconds;
    }
  }
  return best;
}

void Notifier::RegisterSecrets() const {
  for (const auto& a : alerts_) {
    if (a.webhook.empty()) continue;
    if (auto url = ExpandEnv(a.webhook); url.ok()) log::RegisterSecret(*url);
  }
}

int Notifier::Notify(std::string_view event, const RunReport& report, Channel channel) {
  std::string json = RenderJson(event, report);
  int sent = 0;
  for (const auto& a : alerts_) {
    if (std::find(a.on.begin(), a.on.end(), event) == a.on.end()) continue;
    if ((channel == Channel::kWebhooks && a.webhook.empty()) ||
        (channel == Channel::kCommands && !a.webhook.empty())) {
      continue;
    }
    std::string where = a.loc.file.empty() ? std::string("sluice.yaml")
                                           : a.loc.file + ":" + std::to_string(a.loc.line);
    Status st = a.webhook.empty() ? RunCommand(a, event, report, json) : SendWebhook(a, json);
    if (st.ok()) {
      ++sent;
      log::Info("alert {} ({}) sent for run {}", event, where, report.run_id);
    } else {
      log::Warn("alert {} ({}) for run {} was not delivered: {}; the run is not affected", event,
                where, report.run_id, log::Redact(st.message()));
    }
  }
  return sent;
}

Status Notifier::SendWebhook(const config::AlertConfig& alert, const std::string& json) {
  auto url = ExpandEnv(alert.webhook);
  if (!url.ok()) return url.status();
  // The URL is a secret (Slack and most services put the token in it).
  log::RegisterSecret(*url);
  Status st;
  for (int t = 0; t < std::max(1, options_.webhook_tries); ++t) {
    if (t > 0) options_.clock->SleepFor(options_.retry_base * (1 << (t - 1)));
    st = PostJson(*url, json, alert.timeout_seconds);
    if (st.ok() || !st.IsRetryable()) return st;
  }
  return std::move(st).Prefix("after " + std::to_string(options_.webhook_tries) + " tries");
}

Status Notifier::RunCommand(const config::AlertConfig& alert, std::string_view event,
                            const RunReport& report, const std::string& json) {
  // Forked from a thread of its own while the task executor reaps every child: watched, so the
  // executor hands its exit status over if it reaps it first.
  pid_t pid = ForkWatched();
  if (pid < 0) return Status::FromErrno(errno, "alert: fork");
  if (pid == 0) {
    setpgid(0, 0);
    signal(SIGPIPE, SIG_DFL);  // ignored by the scheduler, not by the alert's command
    signal(SIGHUP, SIG_DFL);
    const int out = options_.command_output.empty()
                        ? open("/dev/null", O_WRONLY)
                        : open(options_.command_output.c_str(),
                               O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out >= 0) {
      dup2(out, 1);
      dup2(out, 2);
    }
    const int in = open("/dev/null", O_RDONLY);
    if (in >= 0) dup2(in, 0);
    if (!options_.working_dir.empty() && chdir(options_.working_dir.c_str()) != 0) _exit(127);
    setenv("SLUICE_ALERT_EVENT", std::string(event).c_str(), 1);
    setenv("SLUICE_ALERT_JSON", json.c_str(), 1);
    setenv("SLUICE_RUN_ID", report.run_id.c_str(), 1);
    setenv("SLUICE_WORKFLOW", report.workflow.c_str(), 1);
    setenv("SLUICE_DATE", report.date.c_str(), 1);
    setenv("SLUICE_STATE", report.state.c_str(), 1);
    execl("/bin/sh", "sh", "-c", alert.command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  setpgid(pid, pid);
  Clock* clock = SystemClock::Default();
  auto deadline = clock->Now() + std::chrono::seconds(std::max<int64_t>(1, alert.timeout_seconds));
  int status = 0;
  while (true) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      ForgetWatchedChild(pid);
      break;
    }
    if (r < 0 && errno == ECHILD && TakeReapedChild(pid, &status)) break;
    if (r < 0 && errno != EINTR && errno != ECHILD) {
      ForgetWatchedChild(pid);
      return Status::FromErrno(errno, "alert: waitpid");
    }
    if (clock->Now() >= deadline) {
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);  // or the executor reaps it: either way it is not watched now
      ForgetWatchedChild(pid);
      return Status::Timeout("alert command timed out after " +
                             std::to_string(alert.timeout_seconds) + "s and was killed");
    }
    clock->SleepFor(std::chrono::milliseconds(20));  // polling a child we cannot select() on
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::Ok();
  if (WIFEXITED(status)) {
    return Status::Unavailable("alert command exited with " + std::to_string(WEXITSTATUS(status)));
  }
  return Status::Unavailable("alert command was killed by signal " +
                             std::to_string(WTERMSIG(status)));
}

}  // namespace sluice::alert
