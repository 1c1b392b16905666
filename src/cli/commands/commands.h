// cli/commands/commands.h: each subcommand registers itself on the CLI11 app.
//
// A command's callback stores its exit code in *exit_code: 0 success, 1 the run finished with
// failures, 2 bad usage or config, 3 internal error (a bug in sluice). Commands parse arguments
// and call the library, nothing more.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace sluice::cli {

// The whole command line: parses argv, runs the command, returns the process's exit code.
int Main(int argc, char** argv);
// `sluice task exec ...` (argv[0] the program) in this process, as a fork of a scheduler runs a
// builtin attempt (workflow::SchedulerOptions::run_task_in_process); returns its exit code.
int RunTaskInProcess(const std::vector<std::string>& argv);

void RegisterInit(CLI::App& app, int* exit_code);
void RegisterValidate(CLI::App& app, int* exit_code);
void RegisterRun(CLI::App& app, int* exit_code);
void RegisterRepair(CLI::App& app, int* exit_code);
void RegisterRuns(CLI::App& app, int* exit_code);
void RegisterShow(CLI::App& app, int* exit_code);
void RegisterLogs(CLI::App& app, int* exit_code);
void RegisterTask(CLI::App& app, int* exit_code);
void RegisterServe(CLI::App& app, int* exit_code);
void RegisterReport(CLI::App& app, int* exit_code);
void RegisterDag(CLI::App& app, int* exit_code);
void RegisterCancel(CLI::App& app, int* exit_code);
void RegisterInfer(CLI::App& app, int* exit_code);
void RegisterSummary(CLI::App& app, int* exit_code);
void RegisterBackfill(CLI::App& app, int* exit_code);
void RegisterExport(CLI::App& app, int* exit_code);
void RegisterGc(CLI::App& app, int* exit_code);

// For --date: an empty value ("--date \"$D\"" with D unset) is refused, not taken for today.
inline CLI::Validator NotEmptyDate() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        return value.empty() ? "--date is empty; give YYYY-MM-DD, or leave --date out for today"
                             : std::string();
      },
      "DATE");
}

// Exit codes shared by every command.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailures = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInternal = 3;

}  // namespace sluice::cli
