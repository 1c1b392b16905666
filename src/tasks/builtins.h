// tasks/builtins.h: the builtin tasks, one file each. Each returns Ok on success and a Status
// naming partner, table and file otherwise.
#pragma once

#include "tasks/task_context.h"

namespace sluice::tasks {

Status RunSetDate(TaskContext& ctx);
Status RunWaitForSources(TaskContext& ctx);
Status RunExtract(TaskContext& ctx);
Status RunMerge(TaskContext& ctx);
Status RunSummary(TaskContext& ctx);
Status RunCheck(TaskContext& ctx);
Status RunSql(TaskContext& ctx);

}  // namespace sluice::tasks
