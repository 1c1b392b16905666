// tasks/wait_for_sources.h: the `wait_for_sources` sensor with an injectable clock.
//
// Polls landing/<partner>/<date>/ for each expected partner (every enabled partner, or only
// ctx.partner for a for_each: partner task) until its archive is complete: present, and
//   - with complete: {marker: F}, F exists beside it;
//   - with complete: {stable_seconds: N}, its size and mtime did not change for N seconds of
//     polling (measured on `clock`), or its mtime is already N seconds older than the clock's
//     wall time (an archive that landed earlier is complete at the first poke);
//   - with no complete: rule, present is enough.
// Params (task params in workflow.yaml): poke_interval_seconds (default 30), timeout_seconds
// (default 21600, the sensor's own deadline), mode: all (default: every partner must arrive) |
// each (return at the deadline with whoever arrived; fails only when nobody did). On timeout
// the error names every partner still missing. ctx.result gets "ready" and "missing" lists.
// Thread-safety: one call per task attempt.
#pragma once

#include "core/clock.h"
#include "store/object_store.h"
#include "tasks/task_context.h"

namespace sluice::tasks {

// Ok once every expected partner is complete (mode all) or at the deadline with at least one
// (mode each); Timeout naming the missing partners and why; InvalidArgument for bad params.
// `store` is the pipeline's store when null.
Status WaitForSources(TaskContext& ctx, Clock* clock, store::ObjectStore* store = nullptr);

}  // namespace sluice::tasks
