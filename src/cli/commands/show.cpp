#include "cli/commands/commands.h"
#include "cli/commands/not_implemented.h"

namespace sluice::cli {

void RegisterShow(CLI::App& app, int* exit_code) {
  RegisterNotImplemented(app, "show", "Show every task instance of a run", exit_code);
}

}  // namespace sluice::cli
