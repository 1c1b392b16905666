// The executor conformance suite (testing/executor_conformance.h) on the local executor and the
// scripted fake. The local executor runs real shell commands; waiting is on its exits (SIGCHLD).
#include "testing/executor_conformance.h"

#include <gtest/gtest.h>

#include <memory>

#include "workflow/testing/fake_executor.h"

namespace sluice::workflow {
namespace {

FakeAttempt FakeFor(const std::string& behaviour) {
  FakeAttempt a;
  a.log = behaviour == "long" || behaviour == "stubborn" ? "started\n" : "hello\n";
  if (behaviour == "fail") a.exit_code = 3;
  if (behaviour == "long" || behaviour == "stubborn") a.duration = std::chrono::hours(1);
  if (behaviour == "stubborn") a.ignores_term = true;
  return a;
}

INSTANTIATE_TEST_SUITE_P(
    Backends, ExecutorConformance,
    ::testing::Values(Backend{
                          "local",
                          [](FakeClock*) {
                            auto e = MakeExecutor("local");
                            EXPECT_TRUE(e.ok());
                            return std::move(e).value();
                          },
                          [](LaunchSpec& spec) { spec.shell_command = CommandFor(spec.task_key); }},
                      Backend{"fake",
                              [](FakeClock* clock) -> std::unique_ptr<Executor> {
                                return std::make_unique<FakeExecutor>(
                                    clock, [](const LaunchSpec& s) { return FakeFor(s.task_key); });
                              },
                              [](LaunchSpec&) {}}),
    [](const ::testing::TestParamInfo<Backend>& p) { return p.param.name; });

TEST(VanishReasons, HaveNamesForMessages) {
  EXPECT_EQ(VanishReasonName(VanishReason::kNodeLost), "node lost");
  EXPECT_EQ(VanishReasonName(VanishReason::kPreempted), "preempted");
  EXPECT_EQ(VanishReasonName(VanishReason::kOutOfMemory), "out of memory");
  EXPECT_EQ(VanishReasonName(VanishReason::kUnknown), "unknown");
  EXPECT_EQ(VanishReasonName(VanishReason::kNone), "");
}

}  // namespace
}  // namespace sluice::workflow
