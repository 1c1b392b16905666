#include "workflow/dag.h"

#include <algorithm>
#include <map>

#include "core/strings.h"

namespace sluice::workflow {

std::string InstanceName(std::string_view task, std::string_view partner) {
  std::string name(task);
  if (!partner.empty()) name += "[" + std::string(partner) + "]";
  return name;
}

std::string InstanceNode::Name() const { return InstanceName(task->task_key, partner); }

std::vector<InstanceNode> BuildInstances(const config::WorkflowConfig& workflow,
                                         const std::vector<std::string>& partners) {
  // Kahn's algorithm, always taking the earliest task in file order that is ready, so the
  // order is stable and readable. The config loader has already rejected cycles and unknown keys.
  const size_t n = workflow.tasks.size();
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < n; ++i) index[workflow.tasks[i].task_key] = i;
  std::vector<bool> placed(n, false);
  std::vector<size_t> order;
  while (order.size() < n) {
    bool progressed = false;
    for (size_t i = 0; i < n; ++i) {
      if (placed[i]) continue;
      bool ready = true;
      for (const std::string& d : workflow.tasks[i].depends_on) {
        auto it = index.find(d);
        if (it != index.end() && !placed[it->second]) ready = false;
      }
      if (!ready) continue;
      placed[i] = true;
      order.push_back(i);
      progressed = true;
      break;
    }
    if (!progressed) break;  // a cycle slipped through validation: drop the rest
  }

  std::vector<InstanceNode> nodes;
  // task index -> instance indices (one per partner, or one)
  std::map<size_t, std::vector<int>> by_task;
  // (task index, partner) -> instance index, so a per-partner edge is found without walking
  // every partner's instance of the upstream task (which made building quadratic in partners).
  std::map<std::pair<size_t, std::string>, int> by_task_partner;
  for (size_t ti : order) {
    const config::TaskConfig& task = workflow.tasks[ti];
    std::vector<std::string> instance_partners =
        task.for_each_partner ? partners : std::vector<std::string>{""};
    for (const std::string& partner : instance_partners) {
      InstanceNode node;
      node.task = &task;
      node.partner = partner;
      for (const std::string& d : task.depends_on) {
        auto it = index.find(d);
        if (it == index.end()) continue;
        const config::TaskConfig& up = workflow.tasks[it->second];
        if (task.for_each_partner && up.for_each_partner) {
          // Per-partner to per-partner: only the same partner's instance.
          auto same = by_task_partner.find({it->second, partner});
          if (same != by_task_partner.end()) node.deps.push_back(same->second);
          continue;
        }
        for (int ui : by_task[it->second]) node.deps.push_back(ui);
      }
      int me = static_cast<int>(nodes.size());
      for (int ui : node.deps) nodes[ui].dependents.push_back(me);
      nodes.push_back(std::move(node));
      by_task[ti].push_back(me);
      by_task_partner[{ti, partner}] = me;
    }
  }
  return nodes;
}

Decision Decide(config::RunIf run_if, const std::vector<ledger::State>& upstream) {
  if (upstream.empty()) return Decision::kRun;
  size_t success = 0, failed = 0;
  for (ledger::State s : upstream) {
    if (s == ledger::State::kSuccess) ++success;
    if (ledger::IsFailure(s)) ++failed;
  }
  const size_t total = upstream.size();
  switch (run_if) {
    case config::RunIf::kAllSuccess:
      if (success == total) return Decision::kRun;
      return failed > 0 ? Decision::kUpstreamFailed : Decision::kSkip;
    case config::RunIf::kAllDone:
      return Decision::kRun;
    case config::RunIf::kNoneFailed:
      return failed == 0 ? Decision::kRun : Decision::kUpstreamFailed;
    case config::RunIf::kAtLeastOneSuccess:
      if (success > 0) return Decision::kRun;
      return failed > 0 ? Decision::kUpstreamFailed : Decision::kSkip;
    case config::RunIf::kAtLeastOneFailed:
      return failed > 0 ? Decision::kRun : Decision::kSkip;
    case config::RunIf::kAllFailed:
      return failed == total ? Decision::kRun : Decision::kSkip;
  }
  return Decision::kRun;
}

Result<std::vector<std::string>> ResolvePartners(const config::Pipeline& pipeline,
                                                 const std::vector<std::string>& requested) {
  std::vector<std::string> enabled;
  for (const config::PartnerConfig* p : pipeline.EnabledPartners()) enabled.push_back(p->id);
  // A partner set aside for its configuration errors is still in the run: its chain fails
  // there at once (FailBrokenPartners), where `show`, the alerts and the exit code see it.
  for (const auto& [id, broken] : pipeline.broken_partners) {
    if (broken.enabled) enabled.push_back(id);
  }
  std::sort(enabled.begin(), enabled.end());
  if (requested.empty()) return enabled;
  std::vector<std::string> out;
  for (const std::string& raw : requested) {
    std::string id(Trim(raw));
    if (id.empty()) continue;
    if (std::find(enabled.begin(), enabled.end(), id) == enabled.end()) {
      const config::PartnerConfig* p = pipeline.FindPartner(id);
      if (p != nullptr) {
        return Status::InvalidArgument("--partners: partner \"" + id +
                                       "\" is disabled (enabled: false in partners/" + id +
                                       "/partner.yaml)");
      }
      return Status::InvalidArgument("--partners: unknown partner \"" + id + "\"" +
                                     DidYouMean(id, enabled) +
                                     "; enabled partners: " + Join(enabled, ", "));
    }
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

int FailBrokenPartners(const config::Pipeline& pipeline, const std::vector<InstanceNode>& nodes,
                       std::vector<ledger::InstanceRecord>* records, int64_t now_ms) {
  if (pipeline.broken_partners.empty()) return 0;
  int failed = 0;
  std::vector<bool> ended(nodes.size(), false);  // ended here, for this partner's config
  for (size_t i = 0; i < nodes.size(); ++i) {    // topological order: upstreams come first
    const InstanceNode& node = nodes[i];
    ledger::InstanceRecord& rec = (*records)[i];
    auto broken = pipeline.broken_partners.find(node.partner);
    if (node.partner.empty() || broken == pipeline.broken_partners.end() ||
        rec.state != ledger::State::kPending) {
      continue;
    }
    ended[i] = true;
    rec.ended_ms = now_ms;
    int up = -1;
    for (int d : node.deps) {
      if (ended[static_cast<size_t>(d)]) up = d;
    }
    if (up >= 0) {
      rec.state = ledger::State::kUpstreamFailed;
      rec.error = "not run: upstream " + nodes[static_cast<size_t>(up)].Name() +
                  " did not succeed (partner " + node.partner + " has configuration errors)";
      continue;
    }
    rec.state = ledger::State::kFailed;
    rec.error = "not run: partner " + node.partner +
                " has configuration errors, so none of its tasks run (the other partners do): " +
                Join(broken->second.errors, "; ") + "; fix them (`sluice validate " +
                pipeline.dir.string() + "` lists them), then `sluice repair` the run";
    ++failed;
  }
  return failed;
}

}  // namespace sluice::workflow
