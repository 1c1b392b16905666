#include "cli/commands/commands.h"
#include "cli/commands/not_implemented.h"

namespace sluice::cli {

void RegisterRepair(CLI::App& app, int* exit_code) {
  RegisterNotImplemented(app, "repair", "Re-run what failed in a run, and what depends on it",
                         exit_code);
}

}  // namespace sluice::cli
