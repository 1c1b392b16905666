#include "cli/commands/commands.h"
#include "cli/commands/not_implemented.h"

namespace sluice::cli {

void RegisterLogs(CLI::App& app, int* exit_code) {
  RegisterNotImplemented(app, "logs", "Print an attempt's log", exit_code);
}

}  // namespace sluice::cli
