#include "cli/commands/commands.h"
#include "cli/commands/not_implemented.h"

namespace sluice::cli {

void RegisterInit(CLI::App& app, int* exit_code) {
  RegisterNotImplemented(app, "init", "Write an example pipeline folder", exit_code);
}

}  // namespace sluice::cli
