#include "cli/commands/commands.h"
#include "cli/commands/not_implemented.h"

namespace sluice::cli {

void RegisterRuns(CLI::App& app, int* exit_code) {
  RegisterNotImplemented(app, "runs", "List runs, newest first", exit_code);
}

}  // namespace sluice::cli
