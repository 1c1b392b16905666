#include "tasks/builtins.h"

namespace sluice::tasks {

// Placeholder until its issue lands: fails clearly instead of pretending.
Status RunWaitForSources(TaskContext& ctx) {
  return Status::Internal("builtin \"" + ctx.task->builtin + "\" is not implemented yet");
}

}  // namespace sluice::tasks
