// The `wait_for_sources` sensor. See wait_for_sources.h.
#include "tasks/wait_for_sources.h"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "alert/alert.h"
#include "config/reader.h"
#include "core/logging.h"
#include "core/strings.h"
#include "store/object_store.h"
#include "tasks/builtins.h"
#include "tasks/manifests.h"

namespace sluice::tasks {

namespace {

Result<config::SensorParams> ReadParams(const TaskContext& ctx) {
  if (ctx.task == nullptr) return config::SensorParams{};
  config::Diagnostics diags;
  config::SensorParams p = config::ReadSensorParams(
      ctx.task->params, "task \"" + ctx.task->task_key + "\" params", &diags);
  SLUICE_RETURN_IF_ERROR(diags.ToStatus());
  return p;
}

// What the sensor remembers about one partner between pokes.
struct Watch {
  const config::PartnerConfig* partner = nullptr;
  bool ready = false;
  bool seen = false;  // stable rule: last size/mtime observed
  int64_t size = -1;
  int64_t mtime_ms = -1;
  Clock::TimePoint unchanged_since{};
  std::string waiting_for;    // why it is not ready yet, for the timeout message
  std::string problem;        // a landing folder waiting cannot fix (its extract will say so)
  Status refused;             // the store's PermissionDenied for this partner, if any
  bool late_checked = false;  // its late_partner alert was sent (or was not needed)
};

// Problems in one partner's landing folder that no amount of waiting fixes: a link stands where
// the archive should be, a pattern that cannot be expanded. They are that partner's, so
// they must not stop the others: the sensor lets the partner through and its extract, which
// looks at the same folder, fails with the same message.
bool IsPartnersOwnProblem(const Status& st) {
  return st.code() == StatusCode::kInvalidArgument || st.code() == StatusCode::kPermissionDenied;
}

// One poke: updates `w.ready`. Store errors other than NotFound are returned. *answered is set
// when the store answered for this partner (whatever the answer), not when it refused.
Status Poke(store::ObjectStore* base, Watch& w, Clock* clock, const Date& date, bool* answered) {
  Result<SourceCheck> checked = CheckSourceOnce(base, *w.partner, date, clock->WallNow());
  if (!checked.ok() && checked.status().code() == StatusCode::kPermissionDenied) {
    w.refused = checked.status();
  } else {
    *answered = true;
  }
  if (!checked.ok() && IsPartnersOwnProblem(checked.status())) {
    w.ready = true;
    w.problem = checked.status().message();
    // (The problem's message already names the partner and date.)
    log::Warn(
        "wait_for_sources: {} (partner {}: its extract fails with this until it is fixed; the "
        "other partners go on)",
        w.problem, w.partner->id);
    return Status::Ok();
  }
  if (!checked.ok()) return checked.status();
  SourceCheck& check = *checked;
  if (!check.present) {
    w.seen = false;
    w.waiting_for = check.missing;
    return Status::Ok();
  }
  const config::CompletionRule& rule = w.partner->complete;
  if (!rule.marker.empty() || rule.stable_seconds <= 0) {
    w.ready = check.complete;
    w.waiting_for = check.missing;
    return Status::Ok();
  }
  // Stable rule. The store's modification time already says how long the archive has not
  // changed: one that landed well before the sensor started is complete at the first poke
  // instead of after another stable_seconds of polling. An unknown (0) or future time (clock
  // skew between the store and this machine) proves nothing here; polling then decides.
  const store::ObjectInfo& head = check.archive;
  if (head.mtime_ms > 0 && check.complete) {
    w.ready = true;
    return Status::Ok();
  }
  Clock::TimePoint now = clock->Now();
  if (!w.seen || head.size != w.size || head.mtime_ms != w.mtime_ms) {
    w.seen = true;
    w.size = head.size;
    w.mtime_ms = head.mtime_ms;
    w.unchanged_since = now;
  }
  if (now - w.unchanged_since >= std::chrono::seconds(rule.stable_seconds)) {
    w.ready = true;
  } else {
    w.waiting_for = "archive " + check.archive_key + " still changing (needs " +
                    std::to_string(rule.stable_seconds) + "s without a change in size or time)";
  }
  return Status::Ok();
}

// " (the folder holds: a.tgz, notes.txt)": what did land, when the archive did not — a name
// that differs from the pattern (.tgz for .tar.gz, another date format) is then plain to see.
std::string DescribeLandingFolder(store::ObjectStore* base, const config::PartnerConfig& partner,
                                  const Date& date) {
  store::PartnerStore ps(base, partner.id);
  const std::string folder = date.ToString() + "/";
  Result<std::string> folder_key = ps.Prefix("landing", folder);
  Result<std::vector<store::ObjectInfo>> listed = ps.List("landing", folder);
  if (!folder_key.ok() || !listed.ok()) return "";
  std::vector<std::string> names;
  for (const store::ObjectInfo& info : *listed) {
    if (info.key.starts_with(*folder_key)) names.push_back(info.key.substr(folder_key->size()));
  }
  // A folder is no archive, even under the archive's name: shown with its "/", it is plain why.
  if (Result<std::vector<std::string>> folders = base->ListFolders(*folder_key); folders.ok()) {
    for (const std::string& f : *folders) names.push_back(f + "/");
  }
  if (names.empty()) return " (the folder " + *folder_key + " is empty or missing)";
  std::sort(names.begin(), names.end());
  const size_t total = names.size();
  if (total > 10) names.resize(10);
  std::string list;
  for (const std::string& n : names) list += (list.empty() ? "" : ", ") + Printable(n, 80);
  if (total > 10) list += ", ... " + std::to_string(total - 10) + " more";
  return " (the folder holds: " + list + ")";
}

}  // namespace

Result<std::vector<std::string>> ListDeliveries(store::ObjectStore* base,
                                                const config::PartnerConfig& partner,
                                                const Date& date) {
  SLUICE_ASSIGN_OR_RETURN(std::string pattern, partner.ArchiveName(date));
  store::PartnerStore ps(base, partner.id);
  const std::string folder = date.ToString() + "/";
  std::vector<std::string> matches;
  if (pattern.find_first_of("*?[") == std::string::npos) {
    // A plain name: one look at it (a link or a folder there is for the caller's Head to judge).
    Result<store::ObjectInfo> head = ps.Head("landing", folder + pattern);
    if (head.ok()) {
      matches.push_back(pattern);
    } else if (head.status().code() != StatusCode::kNotFound) {
      return head.status();
    }
    return matches;
  }
  SLUICE_ASSIGN_OR_RETURN(std::string folder_key, ps.Prefix("landing", folder));
  Result<std::vector<store::ObjectInfo>> listed = ps.List("landing", folder);
  if (!listed.ok()) {
    if (listed.status().code() == StatusCode::kNotFound) return matches;
    return listed.status();
  }
  for (const store::ObjectInfo& info : *listed) {
    if (!info.key.starts_with(folder_key)) continue;
    const std::string name = info.key.substr(folder_key.size());
    if (name.empty() || name.find('/') != std::string::npos || name[0] == '.' ||
        name == partner.complete.marker) {
      continue;
    }
    if (fnmatch(pattern.c_str(), name.c_str(), 0) == 0) matches.push_back(name);
  }
  std::sort(matches.begin(), matches.end());
  return matches;
}

bool IsBareTableFile(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::string_view codec : {".gz", ".zst"}) {
    if (lower.ends_with(codec)) {
      lower.resize(lower.size() - codec.size());
      break;
    }
  }
  for (std::string_view ext : {".csv", ".tsv", ".txt", ".jsonl", ".ndjson", ".xlsx"}) {
    if (lower.ends_with(ext)) return true;
  }
  return false;
}

Result<SourceCheck> CheckSourceOnce(store::ObjectStore* base, const config::PartnerConfig& partner,
                                    const Date& date,
                                    std::chrono::system_clock::time_point wall_now) {
  store::PartnerStore ps(base, partner.id);
  const std::string day = date.ToString();
  SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDeliveries(base, partner, date));
  SourceCheck check;
  SLUICE_ASSIGN_OR_RETURN(std::string pattern, partner.ArchiveName(date));
  SLUICE_ASSIGN_OR_RETURN(check.archive_key,
                          ps.Key("landing", day + "/" + (names.empty() ? pattern : names[0])));
  const int64_t wall_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(wall_now.time_since_epoch()).count();
  const config::CompletionRule& rule = partner.complete;
  std::vector<std::string> missing;
  check.archive.size = 0;
  for (const std::string& name : names) {
    Delivery d;
    d.name = name;
    SLUICE_ASSIGN_OR_RETURN(d.key, ps.Key("landing", day + "/" + name));
    Result<store::ObjectInfo> head = ps.Head("landing", day + "/" + name);
    if (!head.ok()) {
      if (head.status().code() != StatusCode::kNotFound) return head.status();
      continue;  // removed since it was listed
    }
    d.info = *head;
    d.complete = true;
    if (rule.marker.empty() && rule.stable_seconds > 0 && head->mtime_ms > 0) {
      const int64_t age_ms = wall_ms - head->mtime_ms;
      if (age_ms < rule.stable_seconds * 1000) {
        d.complete = false;
        d.missing = "archive " + d.key +
                    (age_ms < 0 ? " has a modification time " + std::to_string(-age_ms / 1000) +
                                      "s in the future"
                                : " changed " + std::to_string(age_ms / 1000) + "s ago") +
                    "; its completion rule needs " + std::to_string(rule.stable_seconds) +
                    "s without a change";
        missing.push_back(d.missing);
      }
    }
    check.archive.key = d.key;
    check.archive.size += head->size;
    check.archive.mtime_ms = std::max(check.archive.mtime_ms, head->mtime_ms);
    check.deliveries.push_back(std::move(d));
  }
  if (check.deliveries.empty()) {
    check.missing = "no archive " + check.archive_key;
    return check;
  }
  check.present = true;
  if (!rule.marker.empty()) {
    // One marker in the folder says the partner has finished the day's deliveries so far.
    SLUICE_ASSIGN_OR_RETURN(std::string marker_key, ps.Key("landing", day + "/" + rule.marker));
    Result<store::ObjectInfo> marker = ps.Head("landing", day + "/" + rule.marker);
    if (!marker.ok()) {
      if (marker.status().code() != StatusCode::kNotFound) return marker.status();
      check.missing = "archive present but no marker " + marker_key;
      for (Delivery& d : check.deliveries) {
        d.complete = false;
        d.missing = check.missing;
      }
      return check;
    }
  }
  if (!missing.empty()) {
    check.missing = Join(missing, "; ");
    return check;
  }
  check.complete = true;
  return check;
}

namespace {

// The late_partner alert: once `w`'s partner has an expected_by that has passed (in the
// pipeline's time zone, on the run's date or any later day) while its delivery is still not
// complete, send it once per partner and date. A marker in the partner's manifests area
// (late_partner.json) remembers it across the sensor's retries and later runs of the date.
void AlertIfLate(TaskContext& ctx, store::ObjectStore* base, Watch& w, Clock* clock) {
  const config::PartnerConfig& p = *w.partner;
  if (w.late_checked || p.expected_by_minute < 0) return;
  const config::Pipeline& pipeline = *ctx.pipeline;
  const int64_t wall_s =
      std::chrono::duration_cast<std::chrono::seconds>(clock->WallNow().time_since_epoch()).count();
  Result<LocalTime> now = LocalTimeAt(wall_s, pipeline.settings.timezone);
  if (!now.ok()) return;
  const bool late =
      now->date > ctx.date || (now->date == ctx.date && now->minute_of_day >= p.expected_by_minute);
  if (!late) return;
  w.late_checked = true;
  store::PartnerStore ps(base, p.id);
  const std::string marker = ctx.date.ToString() + "/late_partner.json";
  if (ps.Head(manifests::kManifestsArea, marker).ok()) return;  // sent before
  const std::string missing = w.waiting_for.empty() ? "no complete delivery" : w.waiting_for;
  log::Warn("wait_for_sources: partner {} is late: expected by {} ({}) on {}, still missing: {}",
            p.id, p.expected_by, pipeline.settings.timezone, ctx.date.ToString(), missing);
  nlohmann::json record = {{"partner", p.id},
                           {"date", ctx.date.ToString()},
                           {"run_id", ctx.run_id},
                           {"expected_by", p.expected_by},
                           {"missing", missing}};
  if (Result<std::string> key = ps.Key(manifests::kManifestsArea, marker); key.ok()) {
    Status st = base->Put(*key, record.dump(2) + "\n");
    if (!st.ok()) log::Warn("wait_for_sources: cannot record {}: {}", *key, st.message());
  }
  if (pipeline.settings.alerts.empty()) return;
  alert::NotifierOptions options;
  options.clock = clock;
  options.working_dir = pipeline.dir;
  alert::Notifier notifier(pipeline.settings.alerts, options);
  if (!notifier.Wants("late_partner")) return;
  notifier.RegisterSecrets();
  alert::RunReport report;
  report.run_id = ctx.run_id;
  report.workflow = pipeline.workflow.name;
  report.date = ctx.date.ToString();
  report.state = "running";
  report.partner = p.id;
  report.expected_by = p.expected_by;
  report.missing = missing;
  notifier.Notify("late_partner", report);
}

}  // namespace

Status WaitForSources(TaskContext& ctx, Clock* clock, store::ObjectStore* store) {
  SLUICE_ASSIGN_OR_RETURN(config::SensorParams params, ReadParams(ctx));
  const config::Pipeline& pipeline = *ctx.pipeline;
  // Its own partner, or the run's partners (`sluice run --partners`).
  auto targets = ctx.TargetPartners();
  if (!targets.ok()) return Status::InvalidArgument(targets.status().message());
  std::vector<const config::PartnerConfig*> partners = std::move(*targets);
  std::unique_ptr<store::ObjectStore> owned;
  if (store == nullptr) {
    SLUICE_ASSIGN_OR_RETURN(
        owned, store::OpenStore(pipeline.settings.store, pipeline.dir, pipeline.settings.s3));
    store = owned.get();
  }
  const std::string date = ctx.date.ToString();
  std::vector<Watch> watches;
  for (const config::PartnerConfig* p : partners) {
    SLUICE_RETURN_IF_ERROR(p->ArchiveName(ctx.date).status());  // a bad pattern fails at once
    Watch w;
    w.partner = p;
    watches.push_back(std::move(w));
  }

  const Clock::TimePoint deadline = clock->Now() + std::chrono::seconds(params.timeout_seconds);
  // Whether the store ever answered for any partner. A refusal (S3's 403, a link on a local
  // path) is one partner's problem when the store answers for the others; when it refuses every
  // partner from the first poke on, the credentials or their policy are wrong and no partner is
  // present: the sensor fails with the store's message (bucket, key, what to check).
  bool answered = false;
  while (true) {
    std::vector<std::string> ready, missing;
    nlohmann::json problems = nlohmann::json::object();
    for (Watch& w : watches) {
      if (!w.ready) SLUICE_RETURN_IF_ERROR(Poke(store, w, clock, ctx.date, &answered));
      if (!w.ready) AlertIfLate(ctx, store, w, clock);
      (w.ready ? ready : missing).push_back(w.partner->id);
      if (!w.problem.empty()) problems[w.partner->id] = w.problem;
    }
    if (!answered && !watches.empty()) {
      Status st = watches.front().refused;
      st.Prefix("wait_for_sources: the store " + store->Describe() + " refused to show " +
                (watches.size() == 1 ? "the landing area" : "every partner's landing area") +
                " for " + date + " (" + std::to_string(watches.size()) +
                " partner(s)), so no delivery can be seen");
      return st;
    }
    ctx.result["ready"] = ready;
    ctx.result["missing"] = missing;
    if (!problems.empty()) ctx.result["problems"] = problems;
    if (missing.empty()) return Status::Ok();
    Progress progress;
    progress.note = "waiting for " + Join(missing, ", ");
    ctx.ReportProgress(progress);
    // Each look in the attempt's log, with what it expects where: without a terminal (cron,
    // CI) this is how one sees why a run waits.
    std::string expected;
    for (const Watch& w : watches) {
      if (!w.ready)
        expected += (expected.empty() ? "" : "; ") + w.partner->id + ": " + w.waiting_for;
    }
    log::Info("wait_for_sources: {} ready, waiting for {} ({})", ready.size(), Join(missing, ", "),
              expected);
    if (clock->Now() >= deadline) {
      std::string why;
      for (const Watch& w : watches) {
        if (!w.ready) {
          why += "\n  " + w.partner->id + ": " + w.waiting_for +
                 DescribeLandingFolder(store, *w.partner, ctx.date);
        }
      }
      if (params.each && !ready.empty()) {
        log::Warn("wait_for_sources: {} not complete for {} after {}s; continuing with {}",
                  Join(missing, ", "), date, params.timeout_seconds, Join(ready, ", "));
        return Status::Ok();
      }
      return Status::Timeout("wait_for_sources: after " + std::to_string(params.timeout_seconds) +
                             "s, still missing for " + date + ": " + Join(missing, ", ") + why +
                             "\nCheck with the partners, or raise timeout_seconds in the task's "
                             "params in workflow.yaml");
    }
    Clock::Duration left = deadline - clock->Now();
    Clock::Duration poke = std::chrono::seconds(std::max<int64_t>(params.poke_interval_seconds, 1));
    clock->SleepFor(std::min(left, poke));
  }
}

Status RunWaitForSources(TaskContext& ctx) {
  Status st = WaitForSources(ctx, SystemClock::Default());
  if (!st.ok() && ctx.task) st.WithTask(ctx.task->task_key);
  return st;
}

}  // namespace sluice::tasks
