// The instance graph (per-partner fan-out and fan-in) and the run_if table.
#include "workflow/dag.h"

#include <gtest/gtest.h>

#include "testing/pipeline_fixture.h"

namespace sluice::workflow {
namespace {

using ledger::State;

config::TaskConfig Task(const std::string& key, std::vector<std::string> deps, bool per_partner) {
  config::TaskConfig t;
  t.task_key = key;
  t.depends_on = std::move(deps);
  t.command = "true";
  t.for_each_partner = per_partner;
  return t;
}

std::vector<std::string> Names(const std::vector<InstanceNode>& nodes,
                               const std::vector<int>& idx) {
  std::vector<std::string> out;
  for (int i : idx) out.push_back(nodes[i].Name());
  return out;
}

TEST(Dag, PerPartnerDependenciesStayWithinThePartnerAndFanIn) {
  config::WorkflowConfig wf;
  // File order deliberately not topological: summary is listed first.
  wf.tasks = {Task("summary", {"merge"}, false), Task("set_date", {}, false),
              Task("extract", {"set_date"}, true), Task("merge", {"extract"}, true)};
  auto nodes = BuildInstances(wf, {"acme", "globex"});
  ASSERT_EQ(nodes.size(), 6u);
  std::vector<std::string> order;
  for (const auto& n : nodes) order.push_back(n.Name());
  EXPECT_EQ(order, (std::vector<std::string>{"set_date", "extract[acme]", "extract[globex]",
                                             "merge[acme]", "merge[globex]", "summary"}));
  EXPECT_EQ(Names(nodes, nodes[1].deps), std::vector<std::string>{"set_date"});
  EXPECT_EQ(Names(nodes, nodes[4].deps), std::vector<std::string>{"extract[globex]"});
  EXPECT_EQ(Names(nodes, nodes[5].deps),
            (std::vector<std::string>{"merge[acme]", "merge[globex]"}));
  EXPECT_EQ(Names(nodes, nodes[0].dependents),
            (std::vector<std::string>{"extract[acme]", "extract[globex]"}));
}

TEST(Dag, PerPartnerTasksWithoutPartnersHaveNoInstances) {
  config::WorkflowConfig wf;
  wf.tasks = {Task("extract", {}, true), Task("report", {"extract"}, false)};
  auto nodes = BuildInstances(wf, {});
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].Name(), "report");
  EXPECT_TRUE(nodes[0].deps.empty());
}

TEST(Dag, RunIfTable) {
  using config::RunIf;
  const std::vector<State> ok = {State::kSuccess, State::kSuccess};
  const std::vector<State> mixed = {State::kSuccess, State::kFailed};
  const std::vector<State> all_failed = {State::kTimedOut, State::kUpstreamFailed};
  const std::vector<State> skipped = {State::kSuccess, State::kSkipped};
  EXPECT_EQ(Decide(RunIf::kAllSuccess, ok), Decision::kRun);
  EXPECT_EQ(Decide(RunIf::kAllSuccess, mixed), Decision::kUpstreamFailed);
  EXPECT_EQ(Decide(RunIf::kAllSuccess, skipped), Decision::kSkip);
  EXPECT_EQ(Decide(RunIf::kAllDone, all_failed), Decision::kRun);
  EXPECT_EQ(Decide(RunIf::kNoneFailed, skipped), Decision::kRun);
  EXPECT_EQ(Decide(RunIf::kNoneFailed, mixed), Decision::kUpstreamFailed);
  EXPECT_EQ(Decide(RunIf::kAtLeastOneSuccess, mixed), Decision::kRun);
  EXPECT_EQ(Decide(RunIf::kAtLeastOneSuccess, all_failed), Decision::kUpstreamFailed);
  EXPECT_EQ(Decide(RunIf::kAtLeastOneFailed, mixed), Decision::kRun);
  EXPECT_EQ(Decide(RunIf::kAtLeastOneFailed, ok), Decision::kSkip);
  EXPECT_EQ(Decide(RunIf::kAllFailed, all_failed), Decision::kRun);
  EXPECT_EQ(Decide(RunIf::kAllFailed, mixed), Decision::kSkip);
  EXPECT_EQ(Decide(RunIf::kAllSuccess, {}), Decision::kRun);
}

TEST(Dag, ResolvePartnersRejectsUnknownIdsWithASuggestion) {
  testing::TempDir dir;
  testing::WriteSamplePipeline(dir);
  auto pipeline = config::LoadPipeline(dir.path());
  ASSERT_TRUE(pipeline.ok()) << pipeline.status().ToString();
  auto all = ResolvePartners(*pipeline, {});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, (std::vector<std::string>{"acme", "globex"}));
  auto some = ResolvePartners(*pipeline, {"globex", " globex"});
  ASSERT_TRUE(some.ok());
  EXPECT_EQ(*some, std::vector<std::string>{"globex"});
  auto bad = ResolvePartners(*pipeline, {"acmee"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("did you mean \"acme\""), std::string::npos)
      << bad.status().message();
}

}  // namespace
}  // namespace sluice::workflow
