// The executor conformance suite (testing/executor_conformance.h), the one local and the fake
// pass, on the Slurm executor with a real cluster: each behaviour is a batch job running
// `sluice task exec` with the command in SLUICE_COMMAND, as the scheduler launches it.
#include <gtest/gtest.h>

#include <memory>

#include "slurm/slurm_cluster.h"
#include "testing/executor_conformance.h"
#include "workflow/slurm_executor.h"

namespace sluice::workflow {
namespace {

INSTANTIATE_TEST_SUITE_P(Backends, ExecutorConformance,
                         ::testing::Values(Backend{
                             "slurm",
                             [](FakeClock*) -> std::unique_ptr<Executor> {
                               EXPECT_TRUE(testing::SharedSlurmCluster().started())
                                   << testing::SharedSlurmCluster().output();
                               SlurmOptions o;
                               o.poll_interval = std::chrono::milliseconds(200);
                               return NewSlurmExecutor(o);
                             },
                             [](LaunchSpec& spec) {
                               spec.argv = {
                                   SLUICE_BINARY,     "task",        "exec",
                                   spec.cwd.string(), "--run",       spec.run_id,
                                   "--task",          spec.task_key, "--date",
                                   "2026-11-24",      "--attempt",   std::to_string(spec.attempt)};
                               spec.extra_env = {"SLUICE_COMMAND=" + CommandFor(spec.task_key),
                                                 "SLUICE_OUTCOME_FILE=" + spec.outcome.string()};
                             }}),
                         [](const ::testing::TestParamInfo<Backend>& p) { return p.param.name; });

}  // namespace
}  // namespace sluice::workflow
