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
#include <string_view>
#include <vector>

#include "config/pipeline_config.h"
#include "core/clock.h"
#include "core/date.h"
#include "store/object_store.h"
#include "tasks/task_context.h"

namespace sluice::tasks {

// One delivery: a file in landing/<partner>/<date>/ that matches the partner's `archive`.
struct Delivery {
  std::string name;        // the file name, e.g. "acme_20261124_0900.tar.gz"
  std::string key;         // "landing/<partner>/<date>/<name>"
  store::ObjectInfo info;  // size and mtime when listed
  bool complete = false;   // its completion rule holds
  std::string missing;     // when not complete, why
};

// What one look at the store says about a partner's deliveries for a date.
struct SourceCheck {
  std::string archive_key;  // the first delivery's key, or the pattern's when none landed
  bool present = false;     // at least one delivery exists
  // When present: the deliveries' total size and latest mtime (the sensor watches them change).
  store::ObjectInfo archive;
  // Every delivery's completion rule holds: no rule, or the marker exists in the folder, or
  // (stable rule) each delivery's mtime is unknown (0) or at least stable_seconds before the
  // wall clock.
  bool complete = false;
  // When not complete, what is missing: "no archive landing/acme/...", "no marker ...",
  // "archive ... changed 5s ago; its completion rule needs 30s without a change".
  std::string missing;
  std::vector<Delivery> deliveries;  // in name order
};

// The files in landing/<partner>/<date>/ that are deliveries, in name order: those matching
// partner.yaml's `archive` expanded for the date (a glob when it holds `*`, `?` or `[`:
// hourly exports "acme_{date:%Y%m%d}_*.tar.gz"), never the marker or a hidden file. Several a
// day are all loaded, in name order; an absent folder lists none.
Result<std::vector<std::string>> ListDeliveries(store::ObjectStore* store,
                                                const config::PartnerConfig& partner,
                                                const Date& date);

// True for a delivery that is a single table's file rather than an archive: a bare .csv,
// .csv.gz or .csv.zst (also .jsonl/.ndjson/.xlsx, possibly compressed).
bool IsBareTableFile(std::string_view name);

// Checks `partner`'s completion rule for `date` once, remembering nothing: at least one
// delivery must be present and, with complete: {marker: F}, F must exist in the folder; with
// {stable_seconds: N}, each delivery's mtime must be N seconds older than `wall_now` (an
// unknown mtime, 0, passes; one in the future does not). Store errors other than NotFound are
// returned.
Result<SourceCheck> CheckSourceOnce(store::ObjectStore* store, const config::PartnerConfig& partner,
                                    const Date& date,
                                    std::chrono::system_clock::time_point wall_now);

// Ok once every expected partner is complete (mode all) or at the deadline with at least one
// (mode each); Timeout naming the missing partners and why; InvalidArgument for bad params.
// `store` is the pipeline's store when null.
Status WaitForSources(TaskContext& ctx, Clock* clock, store::ObjectStore* store = nullptr);

}  // namespace sluice::tasks
