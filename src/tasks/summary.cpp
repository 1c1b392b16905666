// The summary builtin: collects the merge stats of each partner's tables for the run's date
// (manifests/<partner>/<date>/merge/<table>.json), writes manifests/<partner>/<date>/summary.json,
// sets ctx.result (stored in the ledger) and prints a table to stdout (the task's log).
// Per partner (for_each: partner) it summarises that partner; otherwise every enabled partner,
// and ctx.result holds {"partners": {id: summary}}.
//
// It also sends the `schema_drift` alert: one per run listing the tables whose files' headers
// differed from their schemas (an extra or missing column, a spelling to add as an alias), once
// per partner, table and date (manifests/<partner>/<date>/schema_drift_alert.json records what
// was sent, so a retry or a repair of the summary does not send it again).
#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "alert/alert.h"
#include "core/logging.h"
#include "core/strings.h"
#include "store/object_store.h"
#include "tasks/builtins.h"
#include "tasks/drift.h"
#include "tasks/manifests.h"

namespace sluice::tasks {

namespace {

Result<nlohmann::json> SummarisePartner(TaskContext& ctx, store::ObjectStore* base,
                                        const config::PartnerConfig& partner) {
  const std::string date = ctx.date.ToString();
  store::PartnerStore ps(base, partner.id);
  nlohmann::json tables = nlohmann::json::array();
  nlohmann::json totals = {{"rows_read", 0},    {"rows_loaded", 0},   {"rows_inserted", 0},
                           {"rows_updated", 0}, {"rows_rejected", 0}, {"bytes", 0}};
  int failed = 0;
  const std::vector<std::string> never = config::TablesNeverMerged(ctx.pipeline->workflow, partner);
  for (const auto& [name, schema] : partner.schemas) {
    SLUICE_ASSIGN_OR_RETURN(std::optional<nlohmann::json> read,
                            manifests::ReadMergeStats(base, partner.id, date, name));
    nlohmann::json row = {{"table", name}};
    if (!read) {
      row["status"] = std::find(never.begin(), never.end(), name) != never.end() ? "no_merge_task"
                                                                                 : "not_merged";
    } else {
      const nlohmann::json& stats = *read;
      // Stats an earlier run left for the date (this run's merge did not get to run: its
      // extract failed, say) are not this run's result.
      if (const std::string by = stats.value("run_id", ""); by != ctx.run_id) {
        row["status"] = "not_merged";
        row["note"] = "not merged by this run; the last merge of the table for " + date +
                      " was in run " + by + " (" + stats.value("status", "?") + ")";
        tables.push_back(row);
        continue;
      }
      for (const char* k : {"status", "mode", "rows_read", "rows_loaded", "rows_inserted",
                            "rows_updated", "rows_kept_newer", "rows_rejected", "columns_missing",
                            "columns_extra", "drift", "bytes", "seconds", "error"}) {
        if (stats.contains(k)) row[k] = stats[k];
      }
      for (auto& [k, v] : totals.items()) {
        if (stats.contains(k) && stats[k].is_number_integer()) {
          v = v.get<int64_t>() + stats[k].get<int64_t>();
        }
      }
      if (row.value("status", "") != "success") ++failed;
    }
    tables.push_back(row);
  }
  nlohmann::json summary = {{"partner", partner.id}, {"date", date},     {"run_id", ctx.run_id},
                            {"tables", tables},      {"totals", totals}, {"tables_failed", failed}};
  SLUICE_ASSIGN_OR_RETURN(std::string out_key,
                          ps.Key(manifests::kManifestsArea, manifests::SummaryPath(date)));
  SLUICE_RETURN_IF_ERROR(base->Put(out_key, summary.dump(2) + "\n"));
  return summary;
}

std::string Num(const nlohmann::json& row, const char* key) {
  if (!row.contains(key) || !row[key].is_number()) return "-";
  if (row[key].is_number_float()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", row[key].get<double>());
    return buf;
  }
  return std::to_string(row[key].get<int64_t>());
}

void PrintTable(const std::vector<nlohmann::json>& summaries) {
  std::printf("%-16s %-20s %-10s %10s %10s %10s %10s %10s %12s %8s  %s\n", "partner", "table",
              "status", "read", "loaded", "inserted", "updated", "rejected", "bytes", "seconds",
              "columns missing/extra");
  for (const auto& s : summaries) {
    for (const auto& row : s["tables"]) {
      std::string cols;
      auto list = [&](const char* k, const char* label) {
        if (row.contains(k) && row[k].is_array() && !row[k].empty()) {
          std::vector<std::string> names = row[k].get<std::vector<std::string>>();
          if (!cols.empty()) cols += "; ";
          cols += std::string(label) + ": " + Join(names, ",");
        }
      };
      list("columns_missing", "missing");
      list("columns_extra", "extra");
      std::printf("%-16s %-20s %-10s %10s %10s %10s %10s %10s %12s %8s  %s\n",
                  s["partner"].get<std::string>().c_str(), row["table"].get<std::string>().c_str(),
                  row.value("status", std::string("-")).c_str(), Num(row, "rows_read").c_str(),
                  Num(row, "rows_loaded").c_str(), Num(row, "rows_inserted").c_str(),
                  Num(row, "rows_updated").c_str(), Num(row, "rows_rejected").c_str(),
                  Num(row, "bytes").c_str(), Num(row, "seconds").c_str(), cols.c_str());
      if (row.contains("drift") && DriftIsNotable(row["drift"])) {
        std::printf("  %s\n", DescribeDriftJson(row["drift"], row.value("table", "")).c_str());
      }
    }
  }
  std::fflush(stdout);
}

constexpr const char* kDriftAlertMarker = "schema_drift_alert.json";

// Sends `schema_drift` for the notable drift of this run's merges that no earlier summary of the
// date alerted. An alert that cannot be delivered is logged and never fails the summary.
void AlertDrift(TaskContext& ctx, store::ObjectStore* base,
                const std::vector<nlohmann::json>& summaries) {
  const config::Pipeline& pipeline = *ctx.pipeline;
  if (pipeline.settings.alerts.empty()) return;
  alert::NotifierOptions options;
  options.working_dir = pipeline.dir;
  alert::Notifier notifier(pipeline.settings.alerts, options);
  if (!notifier.Wants("schema_drift")) return;
  const std::string date = ctx.date.ToString();
  const std::string marker = date + "/" + kDriftAlertMarker;
  alert::RunReport report;
  std::map<std::string, nlohmann::json> sent;  // partner -> its marker, with the new tables
  for (const nlohmann::json& s : summaries) {
    const std::string partner = s.value("partner", "");
    store::PartnerStore ps(base, partner);
    nlohmann::json before = nlohmann::json::object();
    Result<std::string> key = ps.Key(manifests::kManifestsArea, marker);
    if (!key.ok()) continue;
    if (Result<std::string> text = base->Get(*key); text.ok()) {
      before = nlohmann::json::parse(*text, nullptr, false);
      if (!before.is_object()) before = nlohmann::json::object();
    }
    nlohmann::json tables = before.value("tables", nlohmann::json::array());
    for (const nlohmann::json& row : s["tables"]) {
      if (!row.contains("drift") || !DriftIsNotable(row["drift"])) continue;
      const std::string table = row.value("table", "");
      if (std::find(tables.begin(), tables.end(), table) != tables.end()) continue;
      nlohmann::json entry = row["drift"];
      entry["partner"] = partner;
      entry["table"] = table;
      entry["description"] = DescribeDriftJson(row["drift"], table);
      report.drift.push_back(entry.dump());
      tables.push_back(table);
    }
    if (tables.size() != before.value("tables", nlohmann::json::array()).size()) {
      sent[partner] = {{"partner", partner}, {"date", date}, {"tables", tables}};
    }
  }
  if (report.drift.empty()) return;
  notifier.RegisterSecrets();
  report.run_id = ctx.run_id;
  report.workflow = pipeline.workflow.name;
  report.date = date;
  report.state = "running";
  notifier.Notify("schema_drift", report);
  // Recorded after sending: a kill in between sends it again rather than never.
  for (auto& [partner, record] : sent) {
    record["run_id"] = ctx.run_id;
    store::PartnerStore ps(base, partner);
    Result<std::string> key = ps.Key(manifests::kManifestsArea, marker);
    Status st = key.ok() ? base->Put(*key, record.dump(2) + "\n") : key.status();
    if (!st.ok()) log::Warn("summary: cannot record the schema_drift alert: {}", st.message());
  }
}

}  // namespace

Status RunSummary(TaskContext& ctx) {
  SLUICE_ASSIGN_OR_RETURN(
      auto base,
      store::OpenStore(ctx.pipeline->settings.store, ctx.pipeline->dir, ctx.pipeline->settings.s3));
  SLUICE_ASSIGN_OR_RETURN(auto partners, ctx.TargetPartners());
  std::vector<nlohmann::json> summaries;
  for (const config::PartnerConfig* p : partners) {
    auto s = SummarisePartner(ctx, base.get(), *p);
    if (!s.ok()) return std::move(s).status().WithPartner(p->id);
    summaries.push_back(std::move(*s));
  }
  PrintTable(summaries);
  AlertDrift(ctx, base.get(), summaries);
  if (!ctx.partner.empty()) {
    ctx.result = summaries.front();
  } else {
    nlohmann::json all = nlohmann::json::object();
    for (const auto& s : summaries) all[s["partner"].get<std::string>()] = s;
    ctx.result = {{"date", ctx.date.ToString()}, {"partners", all}};
  }
  return Status::Ok();
}

}  // namespace sluice::tasks
