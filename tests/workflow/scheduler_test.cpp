// The scheduler's suite (testing/scheduler_suite.h) on the local executor: attempts are real
// child processes (`sluice task exec` of SLUICE_BINARY), waiting between retries is the fake
// clock's. tests/slurm/slurm_scheduler_test.cpp runs the same suite through Slurm.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "testing/scheduler_suite.h"
#include "workflow/attempt_files.h"

namespace sluice::workflow {
namespace {

INSTANTIATE_TEST_SUITE_P(Executors, SchedulerSuite,
                         ::testing::Values(SchedulerBackend{"local",
                                                            [] {
                                                              auto e = MakeExecutor("local");
                                                              EXPECT_TRUE(e.ok());
                                                              return std::move(e).value();
                                                            }}),
                         [](const ::testing::TestParamInfo<SchedulerBackend>& p) {
                           return p.param.name;
                         });

TEST(AttemptFiles, OutcomeAndProgressRoundTrip) {
  testing::TempDir dir;
  auto paths = PathsFor(dir.path(), "r1", "merge", "acme", 2);
  EXPECT_EQ(paths.log, dir.path() / "r1" / "merge.acme" / "2.log");
  std::filesystem::create_directories(paths.dir);
  EXPECT_FALSE(ReadOutcome(paths.outcome).has_value());
  ASSERT_TRUE(WriteOutcome(paths.outcome, {0, 0, "", R"({"rows":3})"}).ok());
  auto o = ReadOutcome(paths.outcome);
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(o->result)["rows"], 3);
  ASSERT_TRUE(WriteProgress(paths.progress, {10, 100, 5, "orders.csv"}).ok());
  auto p = ReadProgress(paths.progress);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->bytes_total, 100);
  EXPECT_EQ(p->note, "orders.csv");
  testing::TempDir other;
  other.Write("bad.json", "{not json");
  EXPECT_FALSE(ReadOutcome(other / "bad.json").has_value());
}

}  // namespace
}  // namespace sluice::workflow
