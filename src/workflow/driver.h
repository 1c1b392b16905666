// workflow/driver.h: the run loop shared by StartRun and RepairRun (scheduler.h). Internal to
// workflow/. Thread-safety: one drive per process at a time (it owns SIGCHLD while it runs).
#pragma once

#include <vector>

#include "config/pipeline_config.h"
#include "core/status.h"
#include "ledger/ledger.h"
#include "workflow/dag.h"
#include "workflow/scheduler.h"

namespace sluice::workflow {

// Drives `run` (already in the ledger, owned by this process) from the states in `records`
// (one per node, same order) to the end, and records the run's final state. Errors only when
// the scheduler cannot go on (a ledger write or the log folder failed); the run is then marked
// failed if the ledger allows.
Result<RunOutcome> DriveRun(const config::Pipeline& pipeline, ledger::Ledger& ledger,
                            const SchedulerOptions& options, ledger::RunRecord run,
                            std::vector<InstanceNode> nodes,
                            std::vector<ledger::InstanceRecord> records);

}  // namespace sluice::workflow
