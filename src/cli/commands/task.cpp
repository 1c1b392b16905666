#include "cli/commands/commands.h"
#include "cli/commands/not_implemented.h"

namespace sluice::cli {

void RegisterTask(CLI::App& app, int* exit_code) {
  RegisterNotImplemented(app, "task", "Internal: run one attempt of a task (used by the scheduler)",
                         exit_code);
}

}  // namespace sluice::cli
