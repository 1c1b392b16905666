// One conformance suite for every executor (tests/workflow/executor_conformance_test.cpp runs it
// on local and the scripted fake; tests/slurm/slurm_conformance_test.cpp on Slurm): launch gives
// an id, Wait reports how each attempt ended, Cancel is graceful then forced, and Probe — as a
// fresh process would use it — tells alive from ended from vanished.
//
// Each back-end plays the same four scripted behaviours, named by task key: "ok" (exits 0),
// "fail" (exits 3), "long" (runs until cancelled), "stubborn" (ignores the graceful cancel).
// Real executors run real shell commands (CommandFor); waiting is on their reported ends,
// never a sleep. A test binary includes this header once and instantiates the suite with
// INSTANTIATE_TEST_SUITE_P(..., ExecutorConformance, ::testing::Values(Backend{...}, ...)).
#pragma once

#include <gtest/gtest.h>
#include <signal.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/clock.h"
#include "testing/temp_dir.h"
#include "workflow/attempt_files.h"
#include "workflow/executor.h"

namespace sluice::workflow {
namespace conformance {

struct Backend {
  std::string name;
  // The executor, and a LaunchSpec filled in for the behaviour named by spec.task_key.
  std::function<std::unique_ptr<Executor>(FakeClock*)> make;
  std::function<void(LaunchSpec&)> script;
};

inline std::string CommandFor(const std::string& behaviour) {
  if (behaviour == "ok") return "echo hello";
  if (behaviour == "fail") return "exit 3";
  if (behaviour == "long") return "echo started; exec sleep 300";
  return "trap '' TERM; echo started; sleep 300 & wait; wait";  // stubborn
}

}  // namespace conformance

using conformance::Backend;
using conformance::CommandFor;

class ExecutorConformance : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { executor_ = GetParam().make(&clock_); }
  LaunchSpec Spec(const std::string& behaviour, int n = 1) {
    LaunchSpec spec;
    spec.run_id = "r";
    spec.task_key = behaviour;
    spec.attempt = n;
    AttemptPaths paths = PathsFor(dir_.path() / "logs", "r", behaviour, "", n);
    std::filesystem::create_directories(paths.dir);
    spec.log = paths.log;
    spec.lock = paths.lock;
    spec.outcome = paths.outcome;
    spec.cwd = dir_.path();
    spec.argv = {"/bin/false"};
    GetParam().script(spec);
    return spec;
  }
  // Waits (bounded) until the attempt's command has started: its log says so.
  bool WaitStarted(const LaunchSpec& spec) {
    for (int i = 0; i < 3000; ++i) {
      if (testing::ReadFile(spec.log).find("started") != std::string::npos) return true;
      (void)executor_->Wait(std::chrono::milliseconds(10));
    }
    return false;
  }
  // Waits until `id` ends (bounded: the executor reports it or the test fails).
  std::optional<ExitInfo> WaitFor(const std::string& id) {
    for (int i = 0; i < 600; ++i) {
      for (const ExitInfo& e : executor_->Wait(std::chrono::milliseconds(500))) {
        if (e.id == id) return e;
      }
    }
    return std::nullopt;
  }
  testing::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Executor> executor_;
};

TEST_P(ExecutorConformance, ASuccessfulAttemptIsReportedWithItsIdAndWritesItsLogAndOutcome) {
  LaunchSpec spec = Spec("ok");
  auto id = executor_->Launch(spec);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_FALSE(id->empty());
  auto exit = WaitFor(*id);
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code, 0);
  EXPECT_EQ(exit->vanished, VanishReason::kNone);
  EXPECT_EQ(testing::ReadFile(spec.log), "hello\n");
  auto outcome = ReadOutcome(spec.outcome);
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->exit_code, 0);
  EXPECT_EQ(executor_->Probe(*id, spec.lock, spec.outcome).state, ProbeResult::State::kEnded);
}

TEST_P(ExecutorConformance, AFailingAttemptReportsItsExitCode) {
  LaunchSpec spec = Spec("fail");
  auto id = executor_->Launch(spec);
  ASSERT_TRUE(id.ok());
  auto exit = WaitFor(*id);
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code, 3);
  auto outcome = ReadOutcome(spec.outcome);
  ASSERT_TRUE(outcome);
  EXPECT_NE(outcome->error.find("code 3"), std::string::npos) << outcome->error;
}

TEST_P(ExecutorConformance, ARunningAttemptProbesAliveAndAGracefulCancelEndsIt) {
  LaunchSpec spec = Spec("long");
  auto id = executor_->Launch(spec);
  ASSERT_TRUE(id.ok());
  EXPECT_TRUE(executor_->Poll().empty());
  ASSERT_TRUE(WaitStarted(spec));
  EXPECT_EQ(executor_->Probe(*id, spec.lock, spec.outcome).state, ProbeResult::State::kAlive);
  executor_->Cancel(*id, /*force=*/false);
  auto exit = WaitFor(*id);
  ASSERT_TRUE(exit);
  // The attempt's leader stays to record that its command died of SIGTERM.
  auto outcome = ReadOutcome(spec.outcome);
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->signal, SIGTERM);
  EXPECT_EQ(executor_->Probe(*id, spec.lock, spec.outcome).state, ProbeResult::State::kEnded);
}

TEST_P(ExecutorConformance, AnAttemptIgnoringTheGracefulCancelEndsOnTheForcedOne) {
  LaunchSpec spec = Spec("stubborn");
  auto id = executor_->Launch(spec);
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(WaitStarted(spec));
  executor_->Cancel(*id, /*force=*/false);
  EXPECT_TRUE(executor_->Wait(std::chrono::milliseconds(200)).empty());
  EXPECT_EQ(executor_->Probe(*id, spec.lock, spec.outcome).state, ProbeResult::State::kAlive);
  executor_->Cancel(*id, /*force=*/true);
  auto exit = WaitFor(*id);
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->signal, SIGKILL);
  // Killed with its leader: no outcome, so a fresh process finds it vanished (once the rest of
  // its process group, killed too, has let go of the lock: bounded wait on that condition).
  // A cluster kills a job's processes one by one (Slurm's scancel --signal=KILL): the leader may
  // then outlive its command just long enough to record that SIGKILL, and the attempt ended.
  ProbeResult probe = executor_->Probe(*id, spec.lock, spec.outcome);
  for (int i = 0; i < 3000 && probe.state == ProbeResult::State::kAlive; ++i) {
    (void)executor_->Wait(std::chrono::milliseconds(10));
    probe = executor_->Probe(*id, spec.lock, spec.outcome);
  }
  if (probe.state == ProbeResult::State::kEnded && GetParam().name != "local") {
    auto outcome = ReadOutcome(spec.outcome);
    ASSERT_TRUE(outcome);
    EXPECT_EQ(outcome->signal, SIGKILL);
    return;
  }
  EXPECT_EQ(probe.state, ProbeResult::State::kVanished);
  EXPECT_NE(probe.reason, VanishReason::kNone);
}

TEST_P(ExecutorConformance, AnUnknownAttemptWithoutOutcomeProbesVanished) {
  LaunchSpec spec = Spec("ok", 7);  // never launched
  ProbeResult probe = executor_->Probe("", spec.lock, spec.outcome);
  EXPECT_EQ(probe.state, ProbeResult::State::kVanished);
  EXPECT_EQ(probe.reason, VanishReason::kUnknown);
  EXPECT_FALSE(probe.detail.empty());
}

TEST_P(ExecutorConformance, ProbeAllAnswersForEveryAttemptInItsOrder) {
  // What repair and cancel ask after a large run: several attempts at once, alive, ended and
  // unknown mixed, each answered as Probe answers it alone.
  LaunchSpec done = Spec("ok");
  auto done_id = executor_->Launch(done);
  ASSERT_TRUE(done_id.ok());
  ASSERT_TRUE(WaitFor(*done_id));
  LaunchSpec running = Spec("long");
  auto running_id = executor_->Launch(running);
  ASSERT_TRUE(running_id.ok());
  ASSERT_TRUE(WaitStarted(running));
  LaunchSpec never = Spec("fail", 9);  // never launched
  std::vector<ProbeResult> r = executor_->ProbeAll({{*running_id, running.lock, running.outcome},
                                                    {"", never.lock, never.outcome},
                                                    {*done_id, done.lock, done.outcome},
                                                    {*running_id, running.lock, running.outcome}});
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].state, ProbeResult::State::kAlive);
  EXPECT_EQ(r[1].state, ProbeResult::State::kVanished);
  EXPECT_EQ(r[2].state, ProbeResult::State::kEnded);
  EXPECT_EQ(r[3].state, ProbeResult::State::kAlive);
  EXPECT_TRUE(executor_->ProbeAll({}).empty());
  executor_->Cancel(*running_id, /*force=*/true);
  ASSERT_TRUE(WaitFor(*running_id));
}

TEST_P(ExecutorConformance, CancellingAnEndedAttemptIsHarmless) {
  LaunchSpec spec = Spec("ok");
  auto id = executor_->Launch(spec);
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(WaitFor(*id));
  executor_->Cancel(*id, true);
  executor_->Cancel(*id, false);
  EXPECT_EQ(executor_->Probe(*id, spec.lock, spec.outcome).state, ProbeResult::State::kEnded);
}

}  // namespace sluice::workflow
