// Builtins whose issues have not landed yet: each fails clearly instead of pretending.
#include "tasks/builtins.h"

namespace sluice::tasks {

namespace {
Status NotYet(const TaskContext& ctx) {
  return Status::Internal("builtin \"" + ctx.task->builtin + "\" is not implemented yet");
}
}  // namespace

Status RunWaitForSources(TaskContext& ctx) { return NotYet(ctx); }
Status RunExtract(TaskContext& ctx) { return NotYet(ctx); }
Status RunMerge(TaskContext& ctx) { return NotYet(ctx); }
Status RunSummary(TaskContext& ctx) { return NotYet(ctx); }
Status RunCheck(TaskContext& ctx) { return NotYet(ctx); }
Status RunSql(TaskContext& ctx) { return NotYet(ctx); }

}  // namespace sluice::tasks
