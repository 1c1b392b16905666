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
// CheckSourceOnce is the stateless part of the rule, shared with the extract builtin, which
// checks it again before reading an archive (the sensor's mode: each lets a run go on without
// some partners).
#pragma once

#include <chrono>
#include <string>

#include "config/pipeline_config.h"
#include "core/clock.h"
#include "core/date.h"
#include "store/object_store.h"
#include "tasks/task_context.h"

namespace sluice::tasks {

// What one look at the store says about a partner's delivery for a date.
struct SourceCheck {
  std::string archive_key;    // "landing/<partner>/<date>/<archive name>"
  bool present = false;       // the archive exists
  store::ObjectInfo archive;  // when present
  // The completion rule holds: no rule, or the marker exists beside the archive, or (stable
  // rule) the archive's mtime is unknown (0) or at least stable_seconds before the wall clock.
  bool complete = false;
  // When not complete, what is missing: "no archive landing/acme/...", "no marker ...",
  // "archive ... changed 5s ago; its completion rule needs 30s without a change".
  std::string missing;
};

// The name of `partner`'s archive for `date` in landing/<partner>/<date>/: partner.yaml's
// `archive` expanded for the date; when that holds a glob (`*`, `?`, `[`: names with a time of
// export, "export_{date:%Y%m%d}_*.zip"), the one file there it matches (neither the marker nor
// a hidden file), or the pattern itself when none does yet. InvalidArgument naming them when
// several match: sluice loads one archive per partner and day and never guesses which.
Result<std::string> FindArchiveName(store::ObjectStore* store, const config::PartnerConfig& partner,
                                    const Date& date);

// Checks `partner`'s completion rule for `date` once, remembering nothing: the archive must be
// present and, with complete: {marker: F}, F must exist beside it; with {stable_seconds: N}, its
// mtime must be N seconds older than `wall_now` (an unknown mtime, 0, passes; one in the future
// does not). Store errors other than NotFound are returned.
Result<SourceCheck> CheckSourceOnce(store::ObjectStore* store, const config::PartnerConfig& partner,
                                    const Date& date,
                                    std::chrono::system_clock::time_point wall_now);

// Ok once every expected partner is complete (mode all) or at the deadline with at least one
// (mode each); Timeout naming the missing partners and why; InvalidArgument for bad params.
// `store` is the pipeline's store when null.
Status WaitForSources(TaskContext& ctx, Clock* clock, store::ObjectStore* store = nullptr);

}  // namespace sluice::tasks
