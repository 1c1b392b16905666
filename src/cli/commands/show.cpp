#include <fmt/format.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/commands/commands.h"
#include "cli/commands/engine_common.h"
#include "cli/commands/run_report.h"
#include "core/strings.h"
#include "views/run_views.h"
#include "workflow/attempt_files.h"
#include "workflow/scheduler.h"

namespace sluice::cli {

namespace {
std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

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
  cmd->footer(
      "Examples:\n"
      "  sluice show ./pipeline                           # the newest run\n"
      "  sluice show ./pipeline 2026-11-24_142401_b842\n"
      "  sluice show ./pipeline 2026-11-24_142401_b842 --json | jq '.instances[] | select(.state "
      "!= \"success\")'");
  struct Args {
    std::string dir, run_id;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("DIR", args->dir, "Pipeline folder")->required();
  cmd->add_option("RUN_ID", args->run_id, "The run (default: the newest; see `sluice runs`)");
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
    if (auto id = RunIdOrNewest(*ledger, args->run_id, args->dir, "show"); id.ok()) {
      args->run_id = *id;
    } else {
      std::cerr << "sluice show: " << id.status().message() << "\n";
      *exit_code = ExitCodeFor(id.status());
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
      nlohmann::json out = views::ShowJson(*pipeline, *run, *instances, *attempts);
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
        const auto progress = i.error.empty() ? views::RunningProgress(*pipeline, i) : std::nullopt;
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
