// tasks/gc.h: retention (`retention:` in sluice.yaml), applied by `sluice gc DIR [--dry-run]`
// and at the end of each run.
//
// What goes, each when its duration is set (unset: kept forever):
//   raw      raw/<partner>/<date>/ of dates more than `raw` before today (the pipeline's time
//            zone), with the date's extract manifests (so a later merge asks for an extract
//            instead of reading files that are gone)
//   rejects  rejects/<partner>/<date>/ likewise
//   logs     logs/<run>/ of runs that ended more than `logs` ago
//   runs     runs that ended more than `runs` ago: their ledger records and logs
// Never touched: landing/ (the partners' deliveries), the warehouse, merge and summary
// manifests, staging folders, and whatever a run still needs: every date with a running run,
// or whose newest run failed or was cancelled (it can be repaired), keeps its raw files and
// rejects, and those runs keep their records and logs.
// PlanGc only looks; ApplyGc removes exactly what the plan lists, so `--dry-run` shows what gc
// removes. Thread-safety: plain functions; do not run two gc at once on one pipeline.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "config/pipeline_config.h"
#include "core/status.h"
#include "ledger/ledger.h"
#include "store/object_store.h"

namespace sluice::tasks {

struct GcItem {
  enum class Kind { kStorePrefix, kStoreKey, kLogFolder, kLedgerRun };
  Kind kind;
  std::string area;    // raw | rejects | logs | runs
  std::string target;  // store key or prefix, log folder path, or run id
  std::string reason;  // "date 2026-10-01 is 66 days old (retention raw: 30d)"
};

struct GcPlan {
  std::vector<GcItem> items;
  std::vector<std::string> protected_dates;  // kept for a running or repairable run
};

// Lists what retention removes at `now`. The store's and the ledger's errors.
Result<GcPlan> PlanGc(const config::Pipeline& pipeline, store::ObjectStore* store,
                      ledger::Ledger* ledger, std::chrono::system_clock::time_point now);

// Removes every item of `plan`; `removed` gets those it removed (all of them when Ok). Stops at
// the first error, naming the item.
Status ApplyGc(const GcPlan& plan, store::ObjectStore* store, ledger::Ledger* ledger,
               std::vector<GcItem>* removed);

// "raw  raw/acme/2026-10-01/  (date 2026-10-01 is 66 days old; retention raw: 30d)".
std::string DescribeGcItem(const GcItem& item);

// Opens the pipeline's store and ledger, plans and (unless `dry_run`) applies; returns the
// items (to remove, or removed). Used by `sluice gc` and the end of `sluice run`.
Result<std::vector<GcItem>> RunGc(const config::Pipeline& pipeline, bool dry_run);

}  // namespace sluice::tasks
