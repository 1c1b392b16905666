// sluice: a multi-partner data ingestion pipeline. main only parses arguments and dispatches.
#include <signal.h>

#include <exception>
#include <iostream>

#include "cli/commands/commands.h"

int main(int argc, char** argv) {
  // `sluice run ... | head`: a reader that goes away must not kill a scheduler mid-run (its run
  // would stay `running`) nor a task between its commit and its outcome; writes to the closed
  // pipe fail instead. Every command a task or alert starts gets the default back.
  signal(SIGPIPE, SIG_IGN);
  int exit_code = sluice::cli::kExitOk;
  try {
    CLI::App app{"sluice: ingest partners' daily archives into their own tables"};
    app.set_version_flag("--version", std::string("sluice ") + SLUICE_VERSION);
    app.require_subcommand(1);
    sluice::cli::RegisterInit(app, &exit_code);
    sluice::cli::RegisterValidate(app, &exit_code);
    sluice::cli::RegisterRun(app, &exit_code);
    sluice::cli::RegisterRepair(app, &exit_code);
    sluice::cli::RegisterRuns(app, &exit_code);
    sluice::cli::RegisterShow(app, &exit_code);
    sluice::cli::RegisterLogs(app, &exit_code);
    sluice::cli::RegisterSummary(app, &exit_code);
    sluice::cli::RegisterBackfill(app, &exit_code);
    sluice::cli::RegisterGc(app, &exit_code);
    sluice::cli::RegisterTask(app, &exit_code);
    sluice::cli::RegisterServe(app, &exit_code);
    sluice::cli::RegisterReport(app, &exit_code);
    sluice::cli::RegisterDag(app, &exit_code);
    sluice::cli::RegisterCancel(app, &exit_code);
    sluice::cli::RegisterInfer(app, &exit_code);
    sluice::cli::RegisterExport(app, &exit_code);
    // `sluice task exec` is how the scheduler starts an attempt, not a command for people.
    app.get_subcommand("task")->group("");
    app.footer(
        "Start here:\n"
        "  sluice init ./pipeline --sample-data     # an example folder, with a day of data\n"
        "  sluice validate ./pipeline\n"
        "  sluice run ./pipeline                    # today's run; ends with its results\n"
        "  sluice summary ./pipeline                # the newest run's results again\n"
        "`sluice COMMAND --help` explains a command, with examples. Exit codes: 0 success, 1 the "
        "run finished with failures, 2 bad usage or configuration, 3 internal error.\n"
        "Docs: README.md, docs/cli.md, docs/config.md (man sluice when installed).");
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      int code = app.exit(e);
      return code == 0 ? 0 : sluice::cli::kExitUsage;
    }
  } catch (const std::exception& e) {
    std::cerr << "sluice: internal error: " << e.what()
              << "\n(a bug in sluice: please report it with the command that hit it)\n";
    return sluice::cli::kExitInternal;
  }
  return exit_code;
}
