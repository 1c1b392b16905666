#include "cli/commands/commands.h"
#include "cli/commands/not_implemented.h"

namespace sluice::cli {

void RegisterRun(CLI::App& app, int* exit_code) {
  RegisterNotImplemented(app, "run", "Run the workflow once", exit_code);
}

}  // namespace sluice::cli
