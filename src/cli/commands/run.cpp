#include <unistd.h>

#include "cli/commands/commands.h"
#include "cli/commands/engine_common.h"
#include "cli/commands/run_report.h"
#include "core/date.h"
#include "core/logging.h"
#include "core/strings.h"
#include "tasks/gc.h"
#include "workflow/scheduler.h"

namespace sluice::cli {

namespace {

// retention: (tasks/gc.h) after each run; a problem is a warning, never the run's outcome.
void ApplyRetentionAfterRun(const config::Pipeline& pipeline) {
  if (!pipeline.settings.retention.Any()) return;
  auto removed = tasks::RunGc(pipeline, /*dry_run=*/false);
  if (!removed.ok()) {
    log::Warn("retention: {} (the run's outcome stands; `sluice gc` retries)",
              removed.status().ToString());
  } else if (!removed->empty()) {
    log::Info("retention: removed {} old item(s) (`sluice gc --dry-run` lists what is due)",
              removed->size());
  }
}

}  // namespace

void RegisterRun(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("run", "Run the workflow once for a date");
  cmd->footer(
      "Examples:\n"
      "  sluice run ./pipeline                          # today, every partner\n"
      "  sluice run ./pipeline --date 2026-11-24 --partners acme,globex\n"
      "  sluice run ./pipeline --date 2026-11-24 --resume   # for cron: finish or skip the date\n"
      "A partner whose partner.yaml or schemas have errors fails alone (its tasks fail at once,\n"
      "the others run, exit 1); --strict-config refuses the whole run instead (exit 2).\n"
      "Ends with the run's results (sluice summary prints them again).");
  struct Args {
    std::string dir, date, partners, executor;
    int parallelism = 0;
    double grace_seconds = 10;
    Verbosity verbosity;
    bool resume = false;
    bool strict_config = false;
    CLI::Option* partners_option = nullptr;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("DIR", args->dir, "Pipeline folder")->required();
  cmd->add_option("--date", args->date, "Logical date YYYY-MM-DD (default: today in the timezone)")
      ->check(NotEmptyDate());
  args->partners_option =
      cmd->add_option("--partners", args->partners, "Only these partners, comma-separated");
  cmd->add_option("--parallelism", args->parallelism, "Concurrent attempts (default: cores)")
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--executor", args->executor,
                  "local or slurm (default: executor: in sluice.yaml, else local)");
  cmd->add_option("--kill-grace-seconds", args->grace_seconds,
                  "After a timeout's SIGTERM, seconds before SIGKILL (default 10)")
      ->check(CLI::Range(0.0, 86400.0));
  cmd->add_flag("--resume", args->resume,
                "Repair the newest unfinished run of this date instead of starting a new one");
  cmd->add_flag("--strict-config", args->strict_config,
                "Refuse the whole run (exit 2) when any partner's configuration has errors; "
                "without it that partner's tasks fail at once and the others run");
  AddVerbosityFlags(cmd, &args->verbosity);
  cmd->callback([args, exit_code] {
    auto pipeline = LoadPipelineOrReport(args->dir, "run", /*warnings=*/true,
                                         /*settings_only=*/false, std::nullopt,
                                         /*isolate_partners=*/!args->strict_config);
    if (!pipeline) {
      *exit_code = kExitUsage;
      return;
    }
    Result<Date> date =
        args->date.empty() ? Today(pipeline->settings.timezone) : ParseDate(args->date);
    if (!date.ok()) {
      std::cerr << "sluice run: --date: " << date.status().message() << "\n";
      *exit_code = kExitUsage;
      return;
    }
    auto ledger = OpenLedgerOrReport(*pipeline, "run");
    if (!ledger) {
      *exit_code = kExitUsage;
      return;
    }
    auto executor = MakeExecutorOrReport(*pipeline, args->executor, "run");
    if (!executor) {
      *exit_code = kExitUsage;
      return;
    }
    workflow::SchedulerOptions options =
        MakeSchedulerOptions(*pipeline, args->parallelism, executor.get(), args->grace_seconds);
    ApplyVerbosity(args->verbosity, &options);
    workflow::RunRequest request;
    request.date = *date;
    auto partners =
        PartnersOrReport(args->partners, args->partners_option, "run", "run every enabled partner");
    if (!partners) {
      *exit_code = kExitUsage;
      return;
    }
    request.partners = std::move(*partners);
    if (args->resume) {
      auto resumable = workflow::FindResumableRun(*pipeline, *ledger, *date, request.partners);
      if (!resumable.ok()) {
        std::cerr << "sluice run: " << resumable.status().ToString() << "\n";
        *exit_code = ExitCodeFor(resumable.status());
        return;
      }
      if (resumable->has_value() && (*resumable)->state == "success" && args->verbosity.quiet) {
        *exit_code = kExitOk;
        return;
      }
      if (resumable->has_value() && (*resumable)->state == "success") {
        // "Make sure this date is done": a second --resume repeats nothing.
        std::cout << "run " << (*resumable)->run_id << " of " << date->ToString()
                  << " already succeeded; nothing to do (without --resume, sluice run loads "
                     "the date again)\n";
        *exit_code = kExitOk;
        return;
      }
      if (resumable->has_value()) {
        workflow::RepairRequest repair;
        repair.run_id = (*resumable)->run_id;
        std::cerr << "sluice run --resume: repairing run " << repair.run_id << "\n";
        auto repaired = workflow::RepairRun(*pipeline, *ledger, repair, options, nullptr);
        if (!repaired.ok()) {
          std::cerr << "sluice run: " << repaired.status().ToString() << "\n";
          *exit_code = ExitCodeFor(repaired.status());
          return;
        }
        if (!args->verbosity.quiet || repaired->state != "success") {
          std::cout << "run " << repaired->run_id << ": " << repaired->state << "\n";
          PrintRunReportOrSay(*pipeline, *ledger, repaired->run_id, args->dir);
        }
        *exit_code = repaired->state == "success" ? kExitOk : kExitFailures;
        return;
      }
    }
    auto outcome = workflow::StartRun(*pipeline, *ledger, request, options);
    if (!outcome.ok()) {
      std::cerr << "sluice run: " << outcome.status().ToString() << "\n";
      *exit_code = ExitCodeFor(outcome.status());
      if (*exit_code != kExitUsage) {
        // The scheduler stopped mid-run (the ledger could not be written: a full disk, a lost
        // mount); whatever it started is recorded as far as the ledger got.
        std::cerr << "fix that, then `sluice run " << args->dir << " --date " << date->ToString()
                  << " --resume` finishes the run (only what did not succeed runs again)\n";
      }
      return;
    }
    if (!args->verbosity.quiet || outcome->state != "success") {
      std::cout << "run " << outcome->run_id << ": " << outcome->state << "\n";
      PrintRunReportOrSay(*pipeline, *ledger, outcome->run_id, args->dir);
    }
    *exit_code = outcome->state == "success" ? kExitOk : kExitFailures;
    ApplyRetentionAfterRun(*pipeline);
  });
}

}  // namespace sluice::cli
