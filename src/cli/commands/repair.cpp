#include <unistd.h>

#include "cli/commands/commands.h"
#include "cli/commands/engine_common.h"
#include "cli/commands/run_report.h"
#include "core/strings.h"
#include "workflow/scheduler.h"

namespace sluice::cli {

void RegisterRepair(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "repair", "Re-run what failed in a run (and what depends on it), keeping successes");
  cmd->footer(
      "Examples:\n"
      "  sluice repair ./pipeline                      # the newest run\n"
      "  sluice repair ./pipeline 2026-11-24_142401_b842 --dry-run\n"
      "  sluice repair ./pipeline 2026-11-24_142401_b842\n"
      "  sluice repair ./pipeline 2026-11-24_142401_b842 --tasks batch_extract --downstream "
      "--partners acme   # a re-delivered archive");
  struct Args {
    std::string dir, run_id, tasks, partners, executor;
    bool downstream = false, dry_run = false, strict_config = false;
    int parallelism = 0;
    double grace_seconds = 10;
    Verbosity verbosity;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("DIR", args->dir, "Pipeline folder")->required();
  cmd->add_option("RUN_ID", args->run_id,
                  "The run to repair (default: the newest; see `sluice runs`)");
  cmd->add_option("--tasks", args->tasks, "Re-run these tasks (comma-separated) instead");
  cmd->add_flag("--downstream", args->downstream, "With --tasks: also what depends on them");
  auto* partners_option = cmd->add_option(
      "--partners", args->partners,
      "Only these partners' instances (comma-separated); whole-run tasks downstream "
      "of them run again too");
  cmd->add_flag("--dry-run", args->dry_run, "Print the plan without running it");
  cmd->add_option("--parallelism", args->parallelism, "Concurrent attempts (default: cores)")
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--executor", args->executor,
                  "local or slurm (default: executor: in sluice.yaml, else local)");
  cmd->add_option("--kill-grace-seconds", args->grace_seconds,
                  "After a timeout's SIGTERM, seconds before SIGKILL (default 10)")
      ->check(CLI::Range(0.0, 86400.0));
  cmd->add_flag("--strict-config", args->strict_config,
                "Refuse the repair (exit 2) when any partner's configuration has errors; "
                "without it that partner's tasks fail again at once and the others run");
  AddVerbosityFlags(cmd, &args->verbosity);
  cmd->callback([args, exit_code, partners_option] {
    auto pipeline = LoadPipelineOrReport(args->dir, "repair", /*warnings=*/true,
                                         /*settings_only=*/false, std::nullopt,
                                         /*isolate_partners=*/!args->strict_config);
    if (!pipeline) {
      *exit_code = kExitUsage;
      return;
    }
    auto ledger = OpenLedgerOrReport(*pipeline, "repair");
    if (!ledger) {
      *exit_code = kExitUsage;
      return;
    }
    if (auto id = RunIdOrNewest(*ledger, args->run_id, args->dir, "repair"); id.ok()) {
      args->run_id = *id;
    } else {
      std::cerr << "sluice repair: " << id.status().message() << "\n";
      *exit_code = ExitCodeFor(id.status());
      return;
    }
    auto executor = MakeExecutorOrReport(*pipeline, args->executor, "repair");
    if (!executor) {
      *exit_code = kExitUsage;
      return;
    }
    workflow::SchedulerOptions options =
        MakeSchedulerOptions(*pipeline, args->parallelism, executor.get(), args->grace_seconds);
    ApplyVerbosity(args->verbosity, &options);
    workflow::RepairRequest request;
    request.run_id = args->run_id;
    if (!args->tasks.empty()) {
      for (const std::string& t : Split(args->tasks, ',')) {
        std::string key(Trim(t));
        if (!key.empty()) request.tasks.push_back(key);
      }
    }
    request.downstream = args->downstream;
    auto partners = PartnersOrReport(args->partners, partners_option, "repair",
                                     "repair every partner's instances");
    if (!partners) {
      *exit_code = kExitUsage;
      return;
    }
    request.partners = std::move(*partners);
    request.dry_run = args->dry_run;
    workflow::RepairPlan plan;
    auto outcome = workflow::RepairRun(*pipeline, *ledger, request, options, &plan);
    if (!outcome.ok()) {
      std::cerr << "sluice repair: " << outcome.status().ToString() << "\n";
      *exit_code = ExitCodeFor(outcome.status());
      return;
    }
    if (args->dry_run) {
      for (const std::string& r : plan.recovered) std::cout << "would resolve " << r << "\n";
      std::cout << "repair of run " << args->run_id << " would re-run " << plan.rerun.size()
                << " instance(s):\n";
      for (const std::string& r : plan.rerun) std::cout << "  " << r << "\n";
      *exit_code = kExitOk;
      return;
    }
    if (!args->verbosity.quiet || outcome->state != "success") {
      std::cout << "run " << outcome->run_id << ": " << outcome->state << " (re-ran "
                << plan.rerun.size() << " instance(s))\n";
      PrintRunReportOrSay(*pipeline, *ledger, outcome->run_id, args->dir);
    }
    *exit_code = outcome->state == "success" ? kExitOk : kExitFailures;
  });
}

}  // namespace sluice::cli
