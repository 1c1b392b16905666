// cli/commands/app.cpp: the whole command line (every subcommand on one CLI11 app), for main
// and for builtin attempts that run in a fork of the scheduler (RunTaskInProcess).
#include <signal.h>

#include <exception>
#include <iostream>

#include "cli/commands/commands.h"
#include "core/logging.h"
#include "warehouse/warehouse.h"

namespace sluice::cli {

int Main(int argc, char** argv) {
  // Before anything opens a database: process-wide SQLite settings must precede its first use,
  // and a builtin attempt forked from this process (a scheduler) inherits them.
  warehouse::PrepareProcessForBulkWrites();
  // `sluice run ... | head`: a reader that goes away must not kill a scheduler mid-run (its run
  // would stay `running`) nor a task between its commit and its outcome; writes to the closed
  // pipe fail instead. Every command a task or alert starts gets the default back.
  signal(SIGPIPE, SIG_IGN);
  int exit_code = kExitOk;
  try {
    CLI::App app{"sluice: ingest partners' daily archives into their own tables"};
    app.set_version_flag("--version", std::string("sluice ") + SLUICE_VERSION);
    app.require_subcommand(1);
    RegisterInit(app, &exit_code);
    RegisterValidate(app, &exit_code);
    RegisterRun(app, &exit_code);
    RegisterRepair(app, &exit_code);
    RegisterRuns(app, &exit_code);
    RegisterShow(app, &exit_code);
    RegisterLogs(app, &exit_code);
    RegisterSummary(app, &exit_code);
    RegisterBackfill(app, &exit_code);
    RegisterGc(app, &exit_code);
    RegisterTask(app, &exit_code);
    RegisterServe(app, &exit_code);
    RegisterReport(app, &exit_code);
    RegisterDag(app, &exit_code);
    RegisterCancel(app, &exit_code);
    RegisterInfer(app, &exit_code);
    RegisterExport(app, &exit_code);
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
      return code == 0 ? 0 : kExitUsage;
    }
  } catch (const std::exception& e) {
    std::cerr << "sluice: internal error: " << e.what()
              << "\n(a bug in sluice: please report it with the command that hit it)\n";
    return kExitInternal;
  }
  return exit_code;
}

int RunTaskInProcess(const std::vector<std::string>& argv) {
  // As a fresh `sluice task exec` would start: the default log settings, not the scheduler's
  // (--quiet, --verbose, its format).
  log::Init(log::Options{});
  std::vector<std::string> storage = argv;
  std::vector<char*> args;
  for (std::string& a : storage) args.push_back(a.data());
  args.push_back(nullptr);
  return Main(static_cast<int>(storage.size()), args.data());
}

}  // namespace sluice::cli
