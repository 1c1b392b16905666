#include "tasks/builtins.h"

namespace sluice::tasks {

// The run's logical date is fixed when the run is created (--date, or today in the pipeline's
// time zone); this task records it so downstream tasks and people can see it in the ledger.
Status RunSetDate(TaskContext& ctx) {
  ctx.result["date"] = ctx.date.ToString();
  return Status::Ok();
}

}  // namespace sluice::tasks
