// tasks/gc.cpp: see gc.h.
#include "tasks/gc.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "core/date.h"
#include "core/logging.h"
#include "tasks/manifests.h"

namespace sluice::tasks {

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t DayNumber(const Date& d) {
  const int64_t y = d.year - (d.month <= 2 ? 1 : 0);
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (d.month + (d.month > 2 ? -3 : 9)) + 2) / 5 + d.day - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

std::string Duration(int64_t seconds) {
  if (seconds % 86400 == 0) return std::to_string(seconds / 86400) + "d";
  if (seconds % 3600 == 0) return std::to_string(seconds / 3600) + "h";
  return std::to_string(seconds) + "s";
}

// Date folders under `area`/<partner>/ older than the retention: their prefixes.
Status PlanDates(store::ObjectStore* store, const std::string& area, int64_t seconds,
                 const Date& today, const std::set<std::string>& protected_dates,
                 std::vector<GcItem>* items) {
  if (seconds <= 0) return Status::Ok();
  Result<std::vector<std::string>> partners = store->ListFolders(area + "/");
  if (!partners.ok()) {
    if (partners.status().code() == StatusCode::kNotFound) return Status::Ok();
    return partners.status();
  }
  for (const std::string& partner : *partners) {
    SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> dates,
                            store->ListFolders(area + "/" + partner + "/"));
    for (const std::string& name : dates) {
      Result<Date> date = ParseDate(name);
      if (!date.ok()) continue;  // .staging and anything not a date folder stay
      const int64_t age_days = DayNumber(today) - DayNumber(*date);
      if (age_days * 86400 <= seconds || protected_dates.contains(name)) continue;
      const std::string reason = "date " + name + " is " + std::to_string(age_days) +
                                 " days old (retention " + area + ": " + Duration(seconds) + ")";
      items->push_back(
          {GcItem::Kind::kStorePrefix, area, area + "/" + partner + "/" + name + "/", reason});
      if (area != "raw") continue;
      // The date's extract manifests go with its raw files: its commit point names them.
      store::PartnerStore ps(store, partner);
      SLUICE_ASSIGN_OR_RETURN(std::string extract,
                              ps.Key(manifests::kManifestsArea, manifests::ExtractPath(name)));
      if (store->Head(extract).ok()) {
        items->push_back({GcItem::Kind::kStoreKey, area, extract, reason});
      }
      SLUICE_ASSIGN_OR_RETURN(std::string deliveries, ps.Prefix(manifests::kManifestsArea,
                                                                manifests::DeliveriesPrefix(name)));
      if (auto listed = store->List(deliveries); listed.ok() && !listed->empty()) {
        items->push_back({GcItem::Kind::kStorePrefix, area, deliveries, reason});
      }
    }
  }
  return Status::Ok();
}

}  // namespace

Result<GcPlan> PlanGc(const config::Pipeline& pipeline, store::ObjectStore* store,
                      ledger::Ledger* ledger, std::chrono::system_clock::time_point now) {
  GcPlan plan;
  const config::RetentionConfig& retention = pipeline.settings.retention;
  if (!retention.Any()) return plan;
  const int64_t now_s =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  SLUICE_ASSIGN_OR_RETURN(LocalTime local, LocalTimeAt(now_s, pipeline.settings.timezone));
  SLUICE_ASSIGN_OR_RETURN(std::vector<ledger::RunRecord> runs, ledger->ListRuns(1000000));

  // What runs still need: a running run, and a date's newest run when it failed or was
  // cancelled (sluice repair re-runs it from its raw files and logs).
  std::set<std::string> protected_runs;
  std::set<std::string> protected_dates;
  std::map<std::string, const ledger::RunRecord*> newest;  // by workflow and date
  for (const ledger::RunRecord& r : runs) {                // newest first
    newest.try_emplace(r.workflow + "\n" + r.logical_date, &r);
    if (r.state == "running") {
      protected_runs.insert(r.run_id);
      protected_dates.insert(r.logical_date);
    }
  }
  for (const auto& [key, r] : newest) {
    if (r->state == "failed" || r->state == "cancelled") {
      protected_runs.insert(r->run_id);
      protected_dates.insert(r->logical_date);
    }
  }
  plan.protected_dates.assign(protected_dates.begin(), protected_dates.end());

  SLUICE_RETURN_IF_ERROR(
      PlanDates(store, "raw", retention.raw_seconds, local.date, protected_dates, &plan.items));
  SLUICE_RETURN_IF_ERROR(PlanDates(store, "rejects", retention.rejects_seconds, local.date,
                                   protected_dates, &plan.items));

  const std::filesystem::path logs = pipeline.Resolve(pipeline.settings.logs);
  for (auto it = runs.rbegin(); it != runs.rend(); ++it) {  // oldest first
    const ledger::RunRecord& r = *it;
    if (r.state == "running" || r.ended_ms <= 0 || protected_runs.contains(r.run_id)) continue;
    const int64_t age_s = now_s - r.ended_ms / 1000;
    const bool drop_run = retention.runs_seconds > 0 && age_s > retention.runs_seconds;
    const bool drop_logs =
        drop_run || (retention.logs_seconds > 0 && age_s > retention.logs_seconds);
    const std::string age =
        "run " + r.run_id + " ended " + std::to_string(age_s / 86400) + " days ago (retention ";
    std::error_code ec;
    if (drop_logs && std::filesystem::is_directory(logs / r.run_id, ec)) {
      plan.items.push_back({GcItem::Kind::kLogFolder, "logs", (logs / r.run_id).string(),
                            age +
                                (drop_run ? "runs: " + Duration(retention.runs_seconds)
                                          : "logs: " + Duration(retention.logs_seconds)) +
                                ")"});
    }
    if (drop_run) {
      plan.items.push_back({GcItem::Kind::kLedgerRun, "runs", r.run_id,
                            age + "runs: " + Duration(retention.runs_seconds) + ")"});
    }
  }
  return plan;
}

Status ApplyGc(const GcPlan& plan, store::ObjectStore* store, ledger::Ledger* ledger,
               std::vector<GcItem>* removed) {
  for (const GcItem& item : plan.items) {
    Status st;
    switch (item.kind) {
      case GcItem::Kind::kStorePrefix:
        st = store->DeletePrefix(item.target);
        break;
      case GcItem::Kind::kStoreKey:
        st = store->Delete(item.target);
        break;
      case GcItem::Kind::kLogFolder: {
        std::error_code ec;
        std::filesystem::remove_all(item.target, ec);
        if (ec) st = Status::IoError("cannot remove " + item.target + ": " + ec.message());
        break;
      }
      case GcItem::Kind::kLedgerRun:
        st = ledger->DeleteRun(item.target);
        break;
    }
    if (!st.ok()) {
      st.Prefix("gc: removing " + item.target);
      return st;
    }
    if (removed) removed->push_back(item);
  }
  return Status::Ok();
}

std::string DescribeGcItem(const GcItem& item) {
  return item.area + "  " + item.target + "  (" + item.reason + ")";
}

Result<std::vector<GcItem>> RunGc(const config::Pipeline& pipeline, bool dry_run) {
  SLUICE_ASSIGN_OR_RETURN(
      auto store, store::OpenStore(pipeline.settings.store, pipeline.dir, pipeline.settings.s3));
  SLUICE_ASSIGN_OR_RETURN(auto ledger, ledger::OpenLedger(pipeline.settings.ledger, pipeline.dir));
  SLUICE_ASSIGN_OR_RETURN(
      GcPlan plan, PlanGc(pipeline, store.get(), ledger.get(), std::chrono::system_clock::now()));
  if (dry_run) return plan.items;
  std::vector<GcItem> removed;
  SLUICE_RETURN_IF_ERROR(ApplyGc(plan, store.get(), ledger.get(), &removed));
  return removed;
}

}  // namespace sluice::tasks
