// Subcommands whose issues have not landed yet: each exits 2 with a clear message.
#include <iostream>

#include "cli/commands/commands.h"

namespace sluice::cli {

namespace {
CLI::App* NotYet(CLI::App& app, const char* name, const char* help, int* exit_code) {
  auto* cmd = app.add_subcommand(name, help);
  cmd->allow_extras();
  cmd->callback([name, exit_code] {
    std::cerr << "sluice " << name << ": not implemented yet\n";
    *exit_code = kExitUsage;
  });
  return cmd;
}
}  // namespace

void RegisterInit(CLI::App& app, int* exit_code) {
  NotYet(app, "init", "Write an example pipeline folder", exit_code);
}
void RegisterRun(CLI::App& app, int* exit_code) {
  NotYet(app, "run", "Run the workflow once", exit_code);
}
void RegisterRepair(CLI::App& app, int* exit_code) {
  NotYet(app, "repair", "Re-run what failed in a run, and what depends on it", exit_code);
}
void RegisterRuns(CLI::App& app, int* exit_code) {
  NotYet(app, "runs", "List runs, newest first", exit_code);
}
void RegisterShow(CLI::App& app, int* exit_code) {
  NotYet(app, "show", "Show every task instance of a run", exit_code);
}
void RegisterLogs(CLI::App& app, int* exit_code) {
  NotYet(app, "logs", "Print an attempt's log", exit_code);
}
void RegisterTask(CLI::App& app, int* exit_code) {
  NotYet(app, "task", "Internal: run one attempt of a task (used by the scheduler)", exit_code);
}

}  // namespace sluice::cli
