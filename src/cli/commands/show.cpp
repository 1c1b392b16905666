#include <fmt/format.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/commands/commands.h"
#include "cli/commands/engine_common.h"
#include "core/strings.h"
#include "workflow/attempt_files.h"
#include "workflow/scheduler.h"

namespace sluice::cli {

namespace {
std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

// What a running attempt last reported through its progress file, if anything.
std::optional<workflow::ProgressSnapshot> RunningProgress(const config::Pipeline& pipeline,
                                                          const ledger::InstanceRecord& i) {
  if (i.state != ledger::State::kRunning || i.attempts <= 0) return std::nullopt;
  return workflow::ReadProgress(
      workflow::PathsFor(workflow::LogsDir(pipeline), i.run_id, i.task_key, i.partner, i.attempts)
          .progress);
}

std::string Describe(const workflow::ProgressSnapshot& p) {
  std::string out = "progress: " + FormatBytes(p.bytes_done);
  if (p.bytes_total > 0) out += " / " + FormatBytes(p.bytes_total);
  if (p.rows_done > 0) out += ", " + std::to_string(p.rows_done) + " rows";
  if (!p.note.empty()) out += " (" + p.note + ")";
  return out;
}
}  // namespace

void RegisterShow(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("show", "Show every task instance of a run");
  struct Args {
    std::string dir, run_id;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("DIR", args->dir, "Pipeline folder")->required();
  cmd->add_option("RUN_ID", args->run_id, "The run (see `sluice runs`)")->required();
  cmd->add_flag("--json", args->json, "Machine-readable output (docs/cli.md)");
  cmd->callback([args, exit_code] {
    auto pipeline = LoadPipelineOrReport(args->dir, "show", false, /*settings_only=*/true);
    if (!pipeline) {
      *exit_code = kExitUsage;
      return;
    }
    auto ledger = OpenLedgerOrReport(*pipeline, "show");
    if (!ledger) {
      *exit_code = kExitUsage;
      return;
    }
    auto run = ledger->GetRun(args->run_id);
    if (!run.ok()) {
      std::cerr << "sluice show: " << run.status().ToString() << "\n";
      *exit_code = kExitUsage;
      return;
    }
    auto instances = ledger->ListInstances(args->run_id);
    auto attempts = ledger->ListAttempts(args->run_id);
    if (!instances.ok() || !attempts.ok()) {
      std::cerr << "sluice show: "
                << (instances.ok() ? attempts.status() : instances.status()).ToString() << "\n";
      *exit_code = kExitFailures;
      return;
    }
    std::map<std::pair<std::string, std::string>, std::vector<const ledger::AttemptRecord*>> by;
    for (const auto& a : *attempts) by[{a.task_key, a.partner}].push_back(&a);
    if (args->json) {
      nlohmann::json list = nlohmann::json::array();
      for (const auto& i : *instances) {
        nlohmann::json history = nlohmann::json::array();
        nlohmann::json result = nlohmann::json::object();
        for (const ledger::AttemptRecord* a : by[{i.task_key, i.partner}]) {
          auto r = nlohmann::json::parse(a->result, nullptr, false);
          if (r.is_discarded()) r = nlohmann::json::object();
          if (a->state == ledger::State::kSuccess) result = r;
          history.push_back({{"attempt", a->attempt},
                             {"pid", a->pid},
                             {"state", ledger::StateName(a->state)},
                             {"started_ms", a->started_ms},
                             {"ended_ms", a->ended_ms},
                             {"exit_code", a->exit_code},
                             {"signal", a->signal},
                             {"log", a->log_path},
                             {"error", a->error},
                             {"result", r}});
        }
        nlohmann::json progress = nullptr;
        if (auto p = RunningProgress(*pipeline, i)) {
          progress = {{"bytes_done", p->bytes_done},
                      {"bytes_total", p->bytes_total},
                      {"rows_done", p->rows_done},
                      {"note", p->note}};
        }
        list.push_back({{"task", i.task_key},
                        {"progress", progress},
                        {"partner", i.partner},
                        {"state", ledger::StateName(i.state)},
                        {"attempts", i.attempts},
                        {"started_ms", i.started_ms},
                        {"ended_ms", i.ended_ms},
                        {"duration_seconds", DurationSeconds(i.started_ms, i.ended_ms)},
                        {"error", i.error},
                        {"result", result},
                        {"history", history}});
      }
      nlohmann::json out = {{"run_id", run->run_id},
                            {"workflow", run->workflow},
                            {"date", run->logical_date},
                            {"state", run->state},
                            {"started_ms", run->created_ms},
                            {"ended_ms", run->ended_ms},
                            {"duration_seconds", DurationSeconds(run->created_ms, run->ended_ms)},
                            {"instances", list}};
      std::cout << out.dump(2) << "\n";
    } else {
      std::printf("run %s  workflow %s  date %s  state %s  %.1fs\n", run->run_id.c_str(),
                  run->workflow.c_str(), run->logical_date.c_str(), run->state.c_str(),
                  DurationSeconds(run->created_ms, run->ended_ms));
      std::printf("%-28s %-12s %-16s %8s %9s  %s\n", "TASK", "PARTNER", "STATE", "ATTEMPTS",
                  "DURATION", "ERROR");
      for (const auto& i : *instances) {
        std::string dur = i.started_ms > 0
                              ? fmt::format("{:.1f}s", DurationSeconds(i.started_ms, i.ended_ms))
                              : "-";
        std::string note = FirstLine(i.error);
        const auto progress = i.error.empty() ? RunningProgress(*pipeline, i) : std::nullopt;
        if (progress) {
          note = Describe(*progress);
        } else if (i.error.empty() && i.state == ledger::State::kSuccess) {
          // A check task that passed with failed warn checks says so here, not only in its log.
          for (const ledger::AttemptRecord* a : by[{i.task_key, i.partner}]) {
            if (a->state != ledger::State::kSuccess) continue;
            auto r = nlohmann::json::parse(a->result, nullptr, false);
            const int64_t warnings =
                r.is_object() && r.contains("warnings") && r["warnings"].is_number_integer()
                    ? r["warnings"].get<int64_t>()
                    : 0;
            if (warnings > 0) {
              note = std::to_string(warnings) + " warn check(s) failed: sluice logs " + args->dir +
                     " " + run->run_id + " " + i.task_key +
                     (i.partner.empty() ? std::string() : " --partner " + i.partner);
            }
          }
        }
        std::printf("%-28s %-12s %-16s %8d %9s  %s\n", i.task_key.c_str(),
                    i.partner.empty() ? "-" : i.partner.c_str(),
                    std::string(ledger::StateName(i.state)).c_str(), i.attempts, dur.c_str(),
                    note.c_str());
      }
    }
    *exit_code = kExitOk;
  });
}

}  // namespace sluice::cli
