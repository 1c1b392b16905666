// workflow/dag.h: the task-instance graph of one run and the run_if rule.
//
// A task instance is (task_key, partner) for `for_each: partner` tasks and (task_key, "") for
// the others. Between two per-partner tasks the dependency is per partner; a task that is not
// per-partner waits for every instance of its upstream tasks; a per-partner task with a
// non-per-partner upstream waits for that single instance. Instances come out in a topological
// order (file order among independent tasks), so one forward pass resolves them.
// Thread-safety: plain values.
#pragma once

#include <string>
#include <vector>

#include "config/pipeline_config.h"
#include "core/status.h"
#include "ledger/ledger.h"

namespace sluice::workflow {

// "merge_orders[acme]", or "pre_set_date" for a task that is not per partner: for messages.
std::string InstanceName(std::string_view task, std::string_view partner);

struct InstanceNode {
  const config::TaskConfig* task = nullptr;
  std::string partner;
  std::vector<int> deps;        // indices of upstream instances
  std::vector<int> dependents;  // indices of downstream instances
  // "merge_orders[acme]" or "pre_set_date", for messages.
  std::string Name() const;
};

// Builds the instances of `workflow` for `partners` (per-partner tasks get one each).
std::vector<InstanceNode> BuildInstances(const config::WorkflowConfig& workflow,
                                         const std::vector<std::string>& partners);

// What to do with an instance whose upstream instances have all finished.
enum class Decision { kRun, kUpstreamFailed, kSkip };

// Applies `run_if` to the upstream states (all terminal). No upstreams: kRun.
//   ALL_SUCCESS            run if all succeeded; upstream_failed if any failed; else skip
//   ALL_DONE               always run
//   NONE_FAILED            run unless one failed (skipped is fine); else upstream_failed
//   AT_LEAST_ONE_SUCCESS   run if one succeeded; else upstream_failed if any failed, else skip
//   AT_LEAST_ONE_FAILED    run if one failed; else skip
//   ALL_FAILED             run if all failed; else skip
// "failed" means failed, timed_out or upstream_failed.
Decision Decide(config::RunIf run_if, const std::vector<ledger::State>& upstream);

// The enabled partners named in `requested` (all enabled ones when empty), sorted. Partners set
// aside for configuration errors (Pipeline::broken_partners) count as enabled ones.
// InvalidArgument naming an unknown or disabled id, with a suggestion.
Result<std::vector<std::string>> ResolvePartners(const config::Pipeline& pipeline,
                                                 const std::vector<std::string>& requested);

// Ends the pending instances of partners with configuration errors (Pipeline::broken_partners)
// before anything runs: the first of each partner's chain `failed` with the errors (file:line),
// those downstream of it in the partner's chain `upstream_failed`. Instances that are not per
// partner are left to run_if. Returns how many were marked failed. `nodes` in BuildInstances'
// topological order, `records` one per node.
int FailBrokenPartners(const config::Pipeline& pipeline, const std::vector<InstanceNode>& nodes,
                       std::vector<ledger::InstanceRecord>* records, int64_t now_ms);

}  // namespace sluice::workflow
