// `sluice cancel DIR [RUN_ID]`: stops a running run from another terminal (or host); without
// RUN_ID, the one run that is running. Exit codes: 0 cancelled, 1 the scheduler did not stop it
// in time, 2 unknown run, not running, or (without RUN_ID) none or several running.
#include "cli/commands/commands.h"
#include "cli/commands/engine_common.h"
#include "cli/commands/run_report.h"
#include "workflow/scheduler.h"

namespace sluice::cli {

void RegisterCancel(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "cancel", "Stop a running run: its attempts get SIGTERM, then SIGKILL after the grace");
  struct Args {
    std::string dir, run_id;
    double grace_seconds = 10;
    double wait_seconds = 60;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("DIR", args->dir, "Pipeline folder")->required();
  cmd->add_option("RUN_ID", args->run_id,
                  "The run to stop (default: the one running; see `sluice runs`)");
  cmd->add_option("--kill-grace-seconds", args->grace_seconds,
                  "When its scheduler is gone: seconds between SIGTERM and SIGKILL (default 10)")
      ->check(CLI::Range(0.0, 86400.0));
  cmd->add_option("--wait-seconds", args->wait_seconds,
                  "How long to wait for a live scheduler to stop the run (default 60)")
      ->check(CLI::Range(0.0, 86400.0));
  cmd->footer(
      "Examples:\n"
      "  sluice cancel ./pipeline                           # the one run that is running\n"
      "  sluice cancel ./pipeline 2026-11-24_020000_ab12");
  cmd->callback([args, exit_code] {
    // sluice.yaml alone: a cancel must work while workflow or partner files are being edited.
    auto pipeline = LoadPipelineOrReport(args->dir, "cancel", false, /*settings_only=*/true);
    if (!pipeline) {
      *exit_code = kExitUsage;
      return;
    }
    auto ledger = OpenLedgerOrReport(*pipeline, "cancel");
    if (!ledger) {
      *exit_code = kExitUsage;
      return;
    }
    if (args->run_id.empty()) {
      auto running = OnlyRunningRunId(*ledger, args->dir);
      if (!running.ok()) {
        std::cerr << "sluice cancel: " << running.status().message() << "\n";
        *exit_code = ExitCodeFor(running.status());
        return;
      }
      args->run_id = *running;
    }
    workflow::SchedulerOptions options;
    options.kill_grace =
        std::chrono::milliseconds(static_cast<int64_t>(args->grace_seconds * 1000));
    auto outcome = workflow::CancelRun(
        *pipeline, *ledger, args->run_id, options,
        std::chrono::milliseconds(static_cast<int64_t>(args->wait_seconds * 1000)));
    if (!outcome.ok()) {
      std::cerr << "sluice cancel: " << outcome.status().ToString() << "\n";
      *exit_code = ExitCodeFor(outcome.status());
      return;
    }
    if (outcome->scheduler_was_alive) {
      std::cout << "run " << outcome->run_id << ": " << outcome->state
                << " (stopped by its scheduler)\n";
    } else {
      std::cout << "run " << outcome->run_id << ": " << outcome->state
                << " (its scheduler was gone; " << outcome->attempts_stopped
                << " attempt(s) stopped)\n";
    }
    std::cout << "`sluice repair " << args->dir << " " << outcome->run_id
              << "` runs what did not finish\n";
    // A run that finished on its own before the cancel reached it is not an error either.
    *exit_code = kExitOk;
  });
}

}  // namespace sluice::cli
