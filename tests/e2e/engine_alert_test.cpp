// End-to-end: command alerts for success and duration_warning, fired by `sluice run`.
#include <gtest/gtest.h>

#include "e2e/engine_e2e_util.h"

namespace sluice {
namespace {

using namespace testing;  // NOLINT: test helpers

TEST(EngineAlert, DurationWarningFiresWhileTheRunIsStillGoing) {
  TempDir dir;
  // The task only finishes once the warning has been delivered, which proves it was sent
  // during the run (and the run fails if it never comes).
  WriteEnginePipeline(dir, R"(name: long
tasks:
  - task_key: long
    command: 'for i in $(seq 1 400); do [ -e warned ] && exit 0; sleep 0.05; done; exit 1'
)",
                      "alerts:\n"
                      "  - on: [duration_warning]\n    threshold_seconds: 1\n"
                      "    command: 'echo \"$SLUICE_ALERT_EVENT $SLUICE_STATE\" > warned'\n"
                      "  - on: [success]\n"
                      "    command: 'echo \"$SLUICE_RUN_ID $SLUICE_STATE\" > succeeded'\n");
  auto r = RunCommand(Sluice() + " run " + Q(dir.path()) + " --date 2026-11-24");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(ReadFile(dir / "warned"), "duration_warning running\n");
  EXPECT_EQ(ReadFile(dir / "succeeded"), LatestRunId(dir) + " success\n");
}

TEST(EngineAlert, NoFailureAlertForASuccessfulRunAfterRetries) {
  TempDir dir;
  WriteEnginePipeline(dir, R"(name: retry
tasks:
  - task_key: flaky
    command: 'if [ -e once ]; then exit 0; fi; touch once; exit 1'
    max_retries: 1
    min_retry_interval_millis: 1
)",
                      "alerts:\n  - on: [failure]\n    command: 'touch alerted'\n");
  auto r = RunCommand(Sluice() + " run " + Q(dir.path()) + " --date 2026-11-24");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "alerted")) << "a retried failure is not an alert";
}

}  // namespace
}  // namespace sluice
