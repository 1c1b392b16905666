// `sluice summary DIR [RUN_ID | --date D] [--json]`: the report `sluice run` ends with, later:
// rows loaded and rejected per partner and table, failed and warned checks, failed instances
// and the command to repair. Without RUN_ID: the newest run (of --date, when given).
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands/commands.h"
#include "cli/commands/engine_common.h"
#include "cli/commands/run_report.h"
#include "cli/commands/terminal.h"
#include "core/date.h"

namespace sluice::cli {

void RegisterSummary(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "summary", "Results of a run: rows loaded and rejected, checks, failures, how to repair");
  cmd->footer(
      "Examples:\n"
      "  sluice summary ./pipeline                        # the newest run\n"
      "  sluice summary ./pipeline --date 2026-11-24 --json\n"
      "  sluice summary ./pipeline 2026-11-24_142401_b842");
  struct Args {
    std::string dir, run_id, date;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("DIR", args->dir, "Pipeline folder")->required();
  cmd->add_option("RUN_ID", args->run_id, "The run (default: the newest, of --date if given)");
  cmd->add_option("--date", args->date, "The newest run of this logical date, YYYY-MM-DD")
      ->check(NotEmptyDate());
  cmd->add_flag("--json", args->json, "Machine-readable output (docs/cli.md)");
  cmd->callback([args, exit_code] {
    if (!args->run_id.empty() && !args->date.empty()) {
      std::cerr << "sluice summary: give RUN_ID or --date, not both\n";
      *exit_code = kExitUsage;
      return;
    }
    if (!args->date.empty()) {
      if (Result<Date> d = ParseDate(args->date); !d.ok()) {
        std::cerr << "sluice summary: --date: " << d.status().message() << "\n";
        *exit_code = kExitUsage;
        return;
      }
    }
    auto pipeline = LoadPipelineOrReport(args->dir, "summary", false, /*settings_only=*/true);
    if (!pipeline) {
      *exit_code = kExitUsage;
      return;
    }
    auto ledger = OpenLedgerOrReport(*pipeline, "summary");
    if (!ledger) {
      *exit_code = kExitUsage;
      return;
    }
    std::string run_id = args->run_id;
    if (run_id.empty()) {
      auto newest = NewestRunId(*ledger, args->date, args->dir);
      if (!newest.ok()) {
        std::cerr << "sluice summary: " << newest.status().message() << "\n";
        *exit_code = ExitCodeFor(newest.status());
        return;
      }
      run_id = *newest;
    }
    auto report = BuildRunReport(*pipeline, *ledger, run_id, args->dir);
    if (!report.ok()) {
      std::cerr << "sluice summary: " << report.status().ToString() << "\n";
      *exit_code = ExitCodeFor(report.status());
      return;
    }
    if (args->json) {
      std::cout << report->dump(2) << "\n";
    } else {
      PrintRunReport(*report, std::cout, {.color = ColorAllowed(STDOUT_FILENO)});
    }
    *exit_code = kExitOk;
  });
}

}  // namespace sluice::cli
