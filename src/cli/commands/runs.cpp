#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands/commands.h"
#include "cli/commands/engine_common.h"
#include "core/date.h"
#include "views/run_views.h"

namespace sluice::cli {

void RegisterRuns(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("runs", "List runs, newest first");
  cmd->footer(
      "Examples:\n"
      "  sluice runs ./pipeline\n"
      "  sluice runs ./pipeline --state failed --limit 5\n"
      "  sluice runs ./pipeline --date 2026-11-24 --json | jq -r '.[0].run_id'");
  struct Args {
    std::string dir, state, date;
    bool json = false;
    int limit = 50;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("DIR", args->dir, "Pipeline folder")->required();
  cmd->add_flag("--json", args->json, "Machine-readable output (docs/cli.md)");
  cmd->add_option("--limit", args->limit, "At most this many runs (default 50)")
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--state", args->state, "Only runs in this state")
      ->check(CLI::IsMember({"running", "success", "failed", "cancelled"}));
  cmd->add_option("--date", args->date, "Only runs of this logical date, YYYY-MM-DD")
      ->check(NotEmptyDate());
  cmd->callback([args, exit_code] {
    if (!args->date.empty()) {
      if (Result<Date> d = ParseDate(args->date); !d.ok()) {
        std::cerr << "sluice runs: --date: " << d.status().message() << "\n";
        *exit_code = kExitUsage;
        return;
      }
    }
    auto pipeline = LoadPipelineOrReport(args->dir, "runs", false, /*settings_only=*/true);
    if (!pipeline) {
      *exit_code = kExitUsage;
      return;
    }
    auto ledger = OpenLedgerOrReport(*pipeline, "runs");
    if (!ledger) {
      *exit_code = kExitUsage;
      return;
    }
    const bool filtered = !args->state.empty() || !args->date.empty();
    auto runs = ledger->ListRuns(filtered ? 1000000000 : args->limit);
    if (!runs.ok()) {
      std::cerr << "sluice runs: " << runs.status().ToString() << "\n";
      *exit_code = kExitFailures;
      return;
    }
    if (filtered) {
      std::vector<ledger::RunRecord> kept;
      for (ledger::RunRecord& r : *runs) {
        if (!args->state.empty() && r.state != args->state) continue;
        if (!args->date.empty() && r.logical_date != args->date) continue;
        if (static_cast<int>(kept.size()) >= args->limit) break;
        kept.push_back(std::move(r));
      }
      *runs = std::move(kept);
    }
    if (args->json) {
      nlohmann::json out = views::RunsJson(*runs);
      std::cout << out.dump(2) << "\n";
    } else {
      std::printf("%-28s %-10s %-10s %-19s %10s\n", "RUN", "DATE", "STATE", "STARTED (UTC)",
                  "DURATION");
      for (const auto& r : *runs) {
        std::printf("%-28s %-10s %-10s %-19s %9.1fs%s\n", r.run_id.c_str(), r.logical_date.c_str(),
                    r.state.c_str(), FormatMs(r.created_ms).c_str(),
                    DurationSeconds(r.created_ms, r.ended_ms),
                    workflow::SchedulerGone(r)
                        ? ("  (its scheduler is gone: sluice run " + args->dir + " --date " +
                           r.logical_date + " --resume)")
                              .c_str()
                        : "");
      }
      if (runs->empty() && filtered) {
        std::printf("(no runs match)\n");
      } else if (runs->empty()) {
        std::printf("(no runs yet: start one with `sluice run %s`)\n", args->dir.c_str());
      }
    }
    *exit_code = kExitOk;
  });
}

}  // namespace sluice::cli
