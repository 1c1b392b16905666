#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands/commands.h"
#include "cli/commands/engine_common.h"
#include "views/run_views.h"

namespace sluice::cli {

void RegisterRuns(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("runs", "List runs, newest first");
  struct Args {
    std::string dir;
    bool json = false;
    int limit = 50;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("DIR", args->dir, "Pipeline folder")->required();
  cmd->add_flag("--json", args->json, "Machine-readable output (docs/cli.md)");
  cmd->add_option("--limit", args->limit, "At most this many runs (default 50)")
      ->check(CLI::Range(1, 1000000));
  cmd->callback([args, exit_code] {
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
    auto runs = ledger->ListRuns(args->limit);
    if (!runs.ok()) {
      std::cerr << "sluice runs: " << runs.status().ToString() << "\n";
      *exit_code = kExitFailures;
      return;
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
      if (runs->empty())
        std::printf("(no runs yet: start one with `sluice run %s`)\n", args->dir.c_str());
    }
    *exit_code = kExitOk;
  });
}

}  // namespace sluice::cli
