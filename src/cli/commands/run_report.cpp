#include "cli/commands/run_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>

#include "cli/commands/terminal.h"
#include "tasks/drift.h"
#include "workflow/scheduler.h"

namespace sluice::cli {

namespace {

using nlohmann::json;

std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

// `sluice logs DIR RUN TASK [--partner P]`.
std::string LogsCommand(const std::string& dir, const std::string& run_id, const std::string& task,
                        const std::string& partner) {
  return "sluice logs " + dir + " " + run_id + " " + task +
         (partner.empty() ? std::string() : " --partner " + partner);
}

// Where the rejects of a table are: a path (relative to the current folder when the pipeline
// is under it) for a file:// store, else the store URL and key.
std::string RejectsLocation(const config::Pipeline& pipeline, const std::string& partner,
                            const std::string& date, const std::string& table) {
  const std::string key = "rejects/" + partner + "/" + date + "/" + table + ".csv";
  const std::string& url = pipeline.settings.store;
  constexpr std::string_view kFile = "file://";
  if (!url.starts_with(kFile)) return url + (url.ends_with("/") ? "" : "/") + key;
  std::filesystem::path path = pipeline.Resolve(url.substr(kFile.size())) / key;
  std::error_code ec;
  std::filesystem::path rel =
      path.lexically_normal().lexically_proximate(std::filesystem::current_path(ec));
  if (!ec && !rel.empty() && !rel.string().starts_with("..")) return rel.string();
  return path.lexically_normal().string();
}

int64_t Int(const json& o, const char* key) {
  return o.is_object() && o.contains(key) && o[key].is_number_integer() ? o[key].get<int64_t>() : 0;
}

std::string Str(const json& o, const char* key) {
  return o.is_object() && o.contains(key) && o[key].is_string() ? o[key].get<std::string>() : "";
}

// The outcome class of an instance: PASS, WARN, ERROR, SKIP, or RUNNING while not terminal.
std::string OutcomeOf(std::string_view state, int64_t warnings) {
  if (state == "success") return warnings > 0 ? "WARN" : "PASS";
  if (state == "failed" || state == "timed_out" || state == "cancelled") return "ERROR";
  if (state == "upstream_failed" || state == "skipped") return "SKIP";
  return "RUNNING";
}

}  // namespace

Result<json> BuildRunReport(const config::Pipeline& pipeline, ledger::Ledger& ledger,
                            const std::string& run_id, const std::string& dir) {
  SLUICE_ASSIGN_OR_RETURN(ledger::RunRecord run, ledger.GetRun(run_id));
  SLUICE_ASSIGN_OR_RETURN(std::vector<ledger::InstanceRecord> instances,
                          ledger.ListInstances(run_id));
  SLUICE_ASSIGN_OR_RETURN(std::vector<ledger::AttemptRecord> attempts, ledger.ListAttempts(run_id));
  // Each instance's last attempt that reported a result.
  std::map<std::pair<std::string, std::string>, const ledger::AttemptRecord*> last;
  for (const auto& a : attempts) {
    const ledger::AttemptRecord*& slot = last[{a.task_key, a.partner}];
    if (slot == nullptr || a.attempt > slot->attempt) slot = &a;
  }

  std::map<std::string, int64_t> counts = {{"PASS", 0}, {"WARN", 0}, {"ERROR", 0}, {"SKIP", 0}};
  json tables = json::array(), checks = json::array(), failed = json::array();
  int64_t rows_loaded = 0, rows_rejected = 0;
  for (const auto& i : instances) {
    const std::string state(ledger::StateName(i.state));
    json result = json::object();
    if (auto it = last.find({i.task_key, i.partner}); it != last.end()) {
      result = json::parse(it->second->result, nullptr, false);
      if (result.is_discarded() || !result.is_object()) result = json::object();
    }
    const std::string logs = LogsCommand(dir, run_id, i.task_key, i.partner);
    // A merge reports one table's stats, or {"tables": {name: stats}} for `table: "*"`.
    auto add_table = [&](const std::string& table, const json& stats) {
      if (!stats.is_object() || !stats.contains("rows_loaded")) return;
      json row = {{"partner", i.partner},
                  {"table", table},
                  {"task", i.task_key},
                  {"status", Str(stats, "status").empty() ? state : Str(stats, "status")},
                  {"rows_read", Int(stats, "rows_read")},
                  {"rows_loaded", Int(stats, "rows_loaded")},
                  {"rows_rejected", Int(stats, "rows_rejected")},
                  {"rejects", nullptr},
                  {"drift", nullptr},
                  {"logs", logs}};
      // Only drift worth a look (an extra or missing column, something to patch); columns
      // read through their aliases are what aliases are for.
      if (stats.contains("drift") && tasks::DriftIsNotable(stats["drift"])) {
        row["drift"] = stats["drift"];
      }
      if (Int(stats, "rows_rejected") > 0) {
        row["rejects"] = RejectsLocation(pipeline, i.partner, run.logical_date, table);
      }
      rows_loaded += Int(stats, "rows_loaded");
      rows_rejected += Int(stats, "rows_rejected");
      tables.push_back(std::move(row));
    };
    if (result.contains("tables") && result["tables"].is_object()) {
      for (const auto& [name, stats] : result["tables"].items()) add_table(name, stats);
    } else if (result.contains("rows_loaded")) {
      add_table(Str(result, "table"), result);
    }
    int64_t warnings = 0;
    if (result.contains("checks") && result["checks"].is_array()) {
      for (const json& c : result["checks"]) {
        if (!c.is_object() || c.value("passed", true)) continue;
        const std::string severity = Str(c, "severity");
        if (severity == "warn") ++warnings;
        checks.push_back({{"partner", Str(c, "partner")},
                          {"table", Str(c, "table")},
                          {"check", Str(c, "check")},
                          {"type", Str(c, "type")},
                          {"severity", severity.empty() ? "error" : severity},
                          {"message", Str(c, "message")},
                          {"task", i.task_key},
                          {"logs", logs}});
      }
    }
    const std::string outcome = OutcomeOf(state, warnings);
    ++counts[outcome];
    if (outcome == "ERROR") {
      failed.push_back({{"task", i.task_key},
                        {"partner", i.partner},
                        {"state", state},
                        {"attempts", i.attempts},
                        {"error", FirstLine(i.error)},
                        {"logs", logs}});
    }
  }
  std::sort(tables.begin(), tables.end(), [](const json& a, const json& b) {
    return std::tie(a["partner"].get_ref<const std::string&>(),
                    a["table"].get_ref<const std::string&>()) <
           std::tie(b["partner"].get_ref<const std::string&>(),
                    b["table"].get_ref<const std::string&>());
  });

  json next = nullptr;
  const bool gone = run.state == "running" && workflow::SchedulerGone(run);
  if (gone) {
    next = "sluice run " + dir + " --date " + run.logical_date + " --resume";
  } else if (run.state != "success" && run.state != "running") {
    next = "sluice repair " + dir + " " + run_id;
  }
  json count_json = json::object();
  for (const auto& [k, v] : counts) count_json[k] = v;
  return json{{"schema_version", kJsonSchemaVersion},
              {"run_id", run.run_id},
              {"workflow", run.workflow},
              {"date", run.logical_date},
              {"state", run.state},
              {"partners", RunPartners(run, instances)},
              {"started_ms", run.created_ms},
              {"ended_ms", run.ended_ms},
              {"counts", count_json},
              {"rows_loaded", rows_loaded},
              {"rows_rejected", rows_rejected},
              {"tables", tables},
              {"checks", checks},
              {"failed", failed},
              {"repair", next}};
}

Result<std::string> NewestRunId(ledger::Ledger& ledger, const std::string& date,
                                const std::string& dir) {
  SLUICE_ASSIGN_OR_RETURN(std::vector<ledger::RunRecord> runs, ledger.ListRuns(1000000));
  for (const ledger::RunRecord& r : runs) {
    if (date.empty() || r.logical_date == date) return r.run_id;
  }
  if (date.empty()) {
    return Status::NotFound("no runs yet in " + dir + "; start one with `sluice run " + dir + "`");
  }
  return Status::NotFound("no run of " + date + " in " + dir + "; start one with `sluice run " +
                          dir + " --date " + date + "`");
}

Result<std::string> OnlyRunningRunId(ledger::Ledger& ledger, const std::string& dir) {
  SLUICE_ASSIGN_OR_RETURN(std::vector<ledger::RunRecord> runs, ledger.ListRuns(1000000));
  std::vector<std::string> running;
  for (const ledger::RunRecord& r : runs) {
    if (r.state == "running") running.push_back(r.run_id);
  }
  if (running.empty()) {
    return Status::NotFound("no run is running in " + dir + " (`sluice runs " + dir +
                            "` lists them)");
  }
  if (running.size() > 1) {
    std::string list;
    for (const std::string& id : running) list += (list.empty() ? "" : ", ") + id;
    return Status::InvalidArgument(std::to_string(running.size()) + " runs are running in " + dir +
                                   " (" + list + "); name the one to act on: RUN_ID");
  }
  return running.front();
}

Result<std::string> RunIdOrNewest(ledger::Ledger& ledger, const std::string& run_id,
                                  const std::string& dir, const std::string& command) {
  if (!run_id.empty()) return run_id;
  SLUICE_ASSIGN_OR_RETURN(std::string newest, NewestRunId(ledger, "", dir));
  std::cerr << "sluice " << command << ": the newest run, " << newest << "\n";
  return newest;
}

void PrintRunReportOrSay(const config::Pipeline& pipeline, ledger::Ledger& ledger,
                         const std::string& run_id, const std::string& dir) {
  auto report = BuildRunReport(pipeline, ledger, run_id, dir);
  if (!report.ok()) {
    std::cerr << "sluice: cannot build the results of run " << run_id << ": "
              << report.status().ToString() << "\n";
    return;
  }
  PrintRunReport(*report, std::cout, {.color = ColorAllowed(STDOUT_FILENO)});
}

void PrintRunReport(const json& report, std::ostream& out, const ReportStyle& style) {
  const bool color = style.color;
  const std::string state = Str(report, "state");
  double seconds = 0;
  if (Int(report, "ended_ms") > 0) {
    seconds = static_cast<double>(Int(report, "ended_ms") - Int(report, "started_ms")) / 1000.0;
  }
  std::vector<std::string> partners = report.value("partners", std::vector<std::string>{});
  out << "results of run " << Str(report, "run_id") << " (" << Str(report, "date") << ", "
      << partners.size() << (partners.size() == 1 ? " partner" : " partners")
      << "): " << PaintState(state, state, color);
  if (seconds > 0) out << fmt::format(" in {:.1f}s", seconds);
  out << "\n";
  const json& counts = report["counts"];
  out << "  " << PaintState("PASS", fmt::format("PASS={}", Int(counts, "PASS")), color) << " "
      << PaintState(Int(counts, "WARN") > 0 ? "WARN" : "",
                    fmt::format("WARN={}", Int(counts, "WARN")), color)
      << " "
      << PaintState(Int(counts, "ERROR") > 0 ? "ERROR" : "",
                    fmt::format("ERROR={}", Int(counts, "ERROR")), color)
      << " " << fmt::format("SKIP={}", Int(counts, "SKIP"));
  if (Int(counts, "RUNNING") > 0) out << fmt::format(" NOT_DONE={}", Int(counts, "RUNNING"));
  out << fmt::format("  rows loaded {}, rejected {}\n", Int(report, "rows_loaded"),
                     Int(report, "rows_rejected"));

  const json& tables = report["tables"];
  const bool all = static_cast<int>(tables.size()) <= style.max_table_lines;
  int hidden = 0;
  for (const json& t : tables) {
    const std::string status = Str(t, "status");
    const bool drifted = t.contains("drift") && t["drift"].is_object();
    if (!all && Int(t, "rows_rejected") == 0 && status == "success" && !drifted) {
      ++hidden;
      continue;
    }
    out << fmt::format("  {:<14} {:<20} {:>10} loaded {:>8} rejected", Str(t, "partner"),
                       Str(t, "table"), Int(t, "rows_loaded"), Int(t, "rows_rejected"));
    if (status != "success") out << "  " << PaintState("failed", status, color);
    if (t["rejects"].is_string()) out << "  " << t["rejects"].get<std::string>();
    out << "\n";
    if (drifted) {
      out << "    " << PaintState("warn", "drift", color) << ": "
          << tasks::DriftDifferences(t["drift"])
          << "; the schema patch that accepts it: " << Str(t, "logs") << "\n";
    }
  }
  if (hidden > 0) out << "  (" << hidden << " more tables loaded with no rejects or drift)\n";

  for (const char* severity : {"error", "warn"}) {
    std::vector<const json*> list;
    for (const json& c : report["checks"]) {
      if (Str(c, "severity") == severity) list.push_back(&c);
    }
    if (list.empty()) continue;
    out << "  " << (std::string_view(severity) == "error" ? "failed checks" : "warned checks")
        << " (" << list.size() << "):\n";
    std::string last_logs;
    for (const json* c : list) {
      out << "    "
          << PaintState(std::string_view(severity) == "error" ? "failed" : "warn",
                        std::string_view(severity) == "error" ? "FAIL" : "WARN", color)
          << " " << Str(*c, "partner") << " " << Str(*c, "table") << " " << Str(*c, "check") << ": "
          << FirstLine(Str(*c, "message")) << "\n";
      if (Str(*c, "logs") != last_logs) {
        last_logs = Str(*c, "logs");
        out << "      read: " << last_logs << "\n";
      }
    }
  }
  const json& failed = report["failed"];
  if (!failed.empty()) out << "  failed (" << failed.size() << "):\n";
  for (const json& f : failed) {
    const std::string fstate = Str(f, "state");
    out << "    " << Str(f, "task") << (Str(f, "partner").empty() ? "" : " " + Str(f, "partner"))
        << ": " << PaintState(fstate, fstate, color) << " after " << Int(f, "attempts")
        << (Int(f, "attempts") == 1 ? " attempt" : " attempts");
    if (!Str(f, "error").empty()) out << ": " << Str(f, "error");
    out << "\n";
    // No attempt, no log (a partner whose configuration is broken fails before any runs).
    if (Int(f, "attempts") > 0) out << "      log: " << Str(f, "logs") << "\n";
  }
  if (report["repair"].is_string()) {
    out << "  to repair: " << report["repair"].get<std::string>() << "\n";
  }
  out.flush();
}

}  // namespace sluice::cli
