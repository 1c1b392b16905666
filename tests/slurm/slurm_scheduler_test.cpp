// The scheduler's suite (testing/scheduler_suite.h), the one the local executor passes, through
// a real Slurm cluster: every attempt of every test is a batch job running `sluice task exec`,
// so retries and backoff, run_if, per-partner chains and repair are checked on Slurm as they are
// locally.
#include <gtest/gtest.h>

#include <memory>

#include "slurm/slurm_cluster.h"
#include "testing/scheduler_suite.h"
#include "workflow/slurm_executor.h"

namespace sluice::workflow {
namespace {

INSTANTIATE_TEST_SUITE_P(
    Executors, SchedulerSuite,
    ::testing::Values(SchedulerBackend{"slurm",
                                       []() -> std::unique_ptr<Executor> {
                                         EXPECT_TRUE(testing::SharedSlurmCluster().started())
                                             << testing::SharedSlurmCluster().output();
                                         SlurmOptions o;
                                         o.poll_interval = std::chrono::milliseconds(200);
                                         return NewSlurmExecutor(o);
                                       }}),
    [](const ::testing::TestParamInfo<SchedulerBackend>& p) { return p.param.name; });

}  // namespace
}  // namespace sluice::workflow
