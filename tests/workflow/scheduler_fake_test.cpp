// The scheduler on the scripted FakeExecutor and a FakeClock: no process is started and nothing
// sleeps. Retries with backoff, timeouts, cancel requests, vanished attempts and the repair of
// orphans play out on the fake clock.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <map>

#include "testing/pipeline_fixture.h"
#include "workflow/attempt_files.h"
#include "workflow/scheduler.h"
#include "workflow/testing/fake_executor.h"

namespace sluice::workflow {
namespace {

using ledger::State;
using std::chrono::seconds;

class FakeSchedulerTest : public ::testing::Test {
 protected:
  void Write(const std::string& workflow_yaml) {
    testing::WriteSamplePipeline(dir_);
    dir_.Write("workflow.yaml", workflow_yaml);
    auto p = config::LoadPipeline(dir_.path());
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    pipeline_ = std::move(p).value();
    auto l = ledger::OpenLedger(pipeline_.settings.ledger, pipeline_.dir);
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    ledger_ = std::move(l).value();
  }
  SchedulerOptions Options() {
    SchedulerOptions o;
    o.parallelism = 2;
    o.sluice_binary = "/nonexistent/sluice";  // never started: the executor is fake
    o.clock = &clock_;
    o.executor = &executor_;
    o.handle_signals = false;
    o.send_alerts = false;
    o.kill_grace = seconds(10);
    return o;
  }
  RunRequest Request() {
    RunRequest r;
    r.date = Date{2026, 11, 24};
    return r;
  }
  std::map<std::string, ledger::InstanceRecord> Instances(const std::string& run_id) {
    std::map<std::string, ledger::InstanceRecord> out;
    auto instances = ledger_->ListInstances(run_id);
    EXPECT_TRUE(instances.ok());
    for (auto& i : *instances) {
      out[i.partner.empty() ? i.task_key : i.task_key + "[" + i.partner + "]"] = i;
    }
    return out;
  }
  std::vector<ledger::AttemptRecord> Attempts(const std::string& run_id, const std::string& task) {
    std::vector<ledger::AttemptRecord> out;
    auto attempts = ledger_->ListAttempts(run_id);
    EXPECT_TRUE(attempts.ok());
    for (auto& a : *attempts) {
      if (a.task_key == task) out.push_back(a);
    }
    return out;
  }
  double Seconds() const {
    return std::chrono::duration<double>(const_cast<FakeClock&>(clock_).Now().time_since_epoch())
        .count();
  }

  testing::TempDir dir_;
  config::Pipeline pipeline_;
  std::unique_ptr<ledger::Ledger> ledger_;
  FakeClock clock_;
  FakeExecutor executor_{&clock_};
};

TEST_F(FakeSchedulerTest, RetriesBackOffDoublingOnTheFakeClock) {
  Write(R"(name: retry
tasks:
  - task_key: flaky
    command: 'never run'
    max_retries: 3
    min_retry_interval_millis: 60000
)");
  std::vector<double> launched_at;
  executor_.SetScript([&](const LaunchSpec& spec) {
    launched_at.push_back(Seconds());
    FakeAttempt a;
    if (spec.attempt < 3) a.exit_code = 1;
    return a;
  });
  auto out = StartRun(pipeline_, *ledger_, Request(), Options());
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->state, "success");
  ASSERT_EQ(launched_at.size(), 3u);
  // One second of work, then 60 s of backoff; one second, then 120 s.
  EXPECT_NEAR(launched_at[1] - launched_at[0], 61.0, 0.5);
  EXPECT_NEAR(launched_at[2] - launched_at[1], 121.0, 0.5);
  auto attempts = Attempts(out->run_id, "flaky");
  ASSERT_EQ(attempts.size(), 3u);
  EXPECT_EQ(attempts[0].state, State::kFailed);
  EXPECT_EQ(attempts[0].executor, "fake");
  EXPECT_FALSE(attempts[0].executor_id.empty());
  EXPECT_EQ(attempts[2].state, State::kSuccess);
}

TEST_F(FakeSchedulerTest, APermanentFailureIsNotRetried) {
  Write(R"(name: permanent
tasks:
  - task_key: t
    command: 'x'
    max_retries: 3
)");
  executor_.SetScript([](const LaunchSpec&) {
    FakeAttempt a;
    a.exit_code = 1;
    a.error = "archive refused";
    a.permanent = true;
    return a;
  });
  auto out = StartRun(pipeline_, *ledger_, Request(), Options());
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->state, "failed");
  EXPECT_EQ(executor_.launches().size(), 1u);
  EXPECT_NE(Instances(out->run_id)["t"].error.find("not retried"), std::string::npos);
}

TEST_F(FakeSchedulerTest, ATimeoutCancelsGracefullyThenForcesAfterTheGrace) {
  Write(R"(name: timeout
tasks:
  - task_key: slow
    command: 'x'
    timeout_seconds: 5
)");
  executor_.SetScript([](const LaunchSpec&) {
    FakeAttempt a;
    a.duration = std::chrono::hours(1);
    a.ignores_term = true;
    return a;
  });
  auto out = StartRun(pipeline_, *ledger_, Request(), Options());
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->state, "failed");
  ASSERT_EQ(executor_.cancels().size(), 2u);
  EXPECT_FALSE(executor_.cancels()[0].second);  // SIGTERM first
  EXPECT_TRUE(executor_.cancels()[1].second);   // SIGKILL after the grace
  auto inst = Instances(out->run_id)["slow"];
  EXPECT_EQ(inst.state, State::kTimedOut);
  EXPECT_NE(inst.error.find("then SIGKILL"), std::string::npos) << inst.error;
  // 5 s of timeout and 10 s of grace: no hour of waiting.
  EXPECT_NEAR(Seconds(), 15.0, 1.0);
}

TEST_F(FakeSchedulerTest, AVanishedAttemptIsRetriedAndItsErrorSaysWhy) {
  Write(R"(name: vanish
tasks:
  - task_key: t
    command: 'x'
    max_retries: 1
)");
  executor_.SetScript([](const LaunchSpec& spec) {
    FakeAttempt a;
    if (spec.attempt == 1) a.vanish = VanishReason::kNodeLost;
    return a;
  });
  auto out = StartRun(pipeline_, *ledger_, Request(), Options());
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->state, "success");
  auto attempts = Attempts(out->run_id, "t");
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0].state, State::kFailed);
  EXPECT_NE(attempts[0].error.find("vanished (node lost)"), std::string::npos) << attempts[0].error;
}

TEST_F(FakeSchedulerTest, AFailedLaunchIsAnOrdinaryFailedAttempt) {
  Write(R"(name: launch
tasks:
  - task_key: t
    command: 'x'
  - task_key: after
    command: 'x'
    depends_on: [t]
)");
  executor_.SetScript([](const LaunchSpec&) {
    FakeAttempt a;
    a.launch_fails = true;
    return a;
  });
  auto out = StartRun(pipeline_, *ledger_, Request(), Options());
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->state, "failed");
  auto inst = Instances(out->run_id);
  EXPECT_EQ(inst["t"].state, State::kFailed);
  EXPECT_NE(inst["t"].error.find("scripted launch failure"), std::string::npos);
  EXPECT_EQ(inst["after"].state, State::kUpstreamFailed);
}

TEST_F(FakeSchedulerTest, ParallelismBoundsTheAttemptsRunningAtOnce) {
  std::string wf = "name: wide\ntasks:\n";
  for (int i = 0; i < 12; ++i) wf += "  - task_key: t" + std::to_string(i) + "\n    command: x\n";
  Write(wf);
  SchedulerOptions o = Options();
  o.parallelism = 3;
  auto out = StartRun(pipeline_, *ledger_, Request(), o);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->state, "success");
  EXPECT_EQ(executor_.launches().size(), 12u);
  EXPECT_EQ(executor_.max_running(), 3);
  EXPECT_NEAR(Seconds(), 4.0, 0.5);  // 12 one-second attempts, three at a time
}

TEST_F(FakeSchedulerTest, AnAttemptThatReleasedItsSlotLetsTheNextStartWhileItFinishes) {
  // Eight two-second attempts that give their slot back after 1.5 s (a merge that committed,
  // left with closing its database); two slots. Each next attempt starts at the release, so
  // never more than two hold a slot, up to three run, and the run takes 4 x 1.5 s + 0.5 s.
  std::string wf = "name: release\ntasks:\n";
  for (int i = 0; i < 8; ++i) wf += "  - task_key: t" + std::to_string(i) + "\n    command: x\n";
  Write(wf);
  executor_.SetScript([](const LaunchSpec&) {
    FakeAttempt a;
    a.duration = seconds(2);
    a.releases_after = std::chrono::milliseconds(1500);
    return a;
  });
  SchedulerOptions o = Options();
  o.parallelism = 2;
  const double t0 = Seconds();
  auto out = StartRun(pipeline_, *ledger_, Request(), o);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->state, "success");
  EXPECT_EQ(executor_.launches().size(), 8u);
  EXPECT_EQ(executor_.max_holding(), 2);
  EXPECT_EQ(executor_.max_running(), 4);
  EXPECT_NEAR(Seconds() - t0, 6.5, 0.25);
  for (const auto& [key, inst] : Instances(out->run_id)) EXPECT_EQ(inst.state, State::kSuccess);
}

TEST_F(FakeSchedulerTest, TheLongestReadyTaskStartsFirstByThePreviousRunsDurations) {
  // Three independent tasks, two slots. Without history they start in workflow order, so the
  // long one starts last and runs alone at the end; the next run knows the durations and starts
  // it first.
  Write(R"(name: lpt
tasks:
  - task_key: a
    command: x
  - task_key: b
    command: x
  - task_key: long
    command: x
)");
  std::vector<std::string> order;
  executor_.SetScript([&](const LaunchSpec& spec) {
    order.push_back(spec.task_key);
    FakeAttempt a;
    a.duration = spec.task_key == "long" ? seconds(4) : seconds(1);
    return a;
  });
  const double t0 = Seconds();
  auto first = StartRun(pipeline_, *ledger_, Request(), Options());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->state, "success");
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "long"}));
  EXPECT_NEAR(Seconds() - t0, 5.0, 0.5);  // a and b, then long alone

  order.clear();
  clock_.Advance(seconds(60));
  const double t1 = Seconds();
  auto second = StartRun(pipeline_, *ledger_, Request(), Options());
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->state, "success");
  EXPECT_EQ(order, (std::vector<std::string>{"long", "a", "b"}));
  EXPECT_NEAR(Seconds() - t1, 4.0, 0.5);  // a then b beside long
}

TEST_F(FakeSchedulerTest, ACancelRequestStopsTheRunAndEveryUnfinishedInstanceIsCancelled) {
  Write(R"(name: cancel
tasks:
  - task_key: long
    command: 'x'
  - task_key: after
    command: 'x'
    depends_on: [long]
)");
  std::string run_id;
  executor_.SetScript([&](const LaunchSpec& spec) {
    run_id = spec.run_id;
    // Another terminal's `sluice cancel` while the attempt runs.
    EXPECT_TRUE(ledger_->RequestCancel(spec.run_id, 1).ok());
    FakeAttempt a;
    a.duration = std::chrono::hours(1);
    return a;
  });
  auto out = StartRun(pipeline_, *ledger_, Request(), Options());
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->state, "cancelled");
  EXPECT_EQ(ledger_->GetRun(out->run_id)->state, "cancelled");
  ASSERT_GE(executor_.cancels().size(), 1u);
  EXPECT_FALSE(executor_.cancels()[0].second);  // graceful first
  auto inst = Instances(out->run_id);
  EXPECT_EQ(inst["long"].state, State::kCancelled);
  EXPECT_NE(inst["long"].error.find("sluice cancel"), std::string::npos) << inst["long"].error;
  EXPECT_EQ(inst["after"].state, State::kCancelled);
  EXPECT_EQ(Attempts(out->run_id, "long")[0].state, State::kCancelled);
  EXPECT_LT(Seconds(), 5.0);  // noticed within the loop, not after the hour
}

TEST_F(FakeSchedulerTest, ACancelWhoseAttemptIgnoresSigtermIsForcedAfterTheGrace) {
  Write(R"(name: cancel
tasks:
  - task_key: stubborn
    command: 'x'
)");
  executor_.SetScript([&](const LaunchSpec& spec) {
    EXPECT_TRUE(ledger_->RequestCancel(spec.run_id, 1).ok());
    FakeAttempt a;
    a.duration = std::chrono::hours(1);
    a.ignores_term = true;
    return a;
  });
  auto out = StartRun(pipeline_, *ledger_, Request(), Options());
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->state, "cancelled");
  ASSERT_EQ(executor_.cancels().size(), 2u);
  EXPECT_TRUE(executor_.cancels()[1].second);
  EXPECT_NE(Instances(out->run_id)["stubborn"].error.find("then SIGKILL"), std::string::npos);
}

// A run whose scheduler died (another host, lease expired) with one attempt still "running".
class FakeRepairTest : public FakeSchedulerTest {
 protected:
  std::string MakeOrphanedRun(const std::string& task, int64_t started_ms) {
    ledger::RunRecord run;
    run.run_id = "2026-11-24_000000_dead";
    run.workflow = pipeline_.workflow.name;
    run.pipeline_dir = pipeline_.dir.string();
    run.logical_date = "2026-11-24";
    run.params = R"({"partners":[]})";
    run.host = "a-host-that-is-gone";
    run.scheduler_pid = 4242;
    run.scheduler_start = "boot/1";
    run.heartbeat_ms = 0;  // its lease ran out long ago
    ledger::InstanceRecord inst;
    inst.run_id = run.run_id;
    inst.task_key = task;
    inst.state = State::kRunning;
    inst.attempts = 1;
    EXPECT_TRUE(ledger_->CreateRun(run, {inst}).ok());
    ledger::AttemptRecord a;
    a.run_id = run.run_id;
    a.task_key = task;
    a.attempt = 1;
    a.state = State::kRunning;
    a.executor = "fake";
    a.executor_id = "orphan-1";
    a.started_ms = started_ms;
    EXPECT_TRUE(ledger_->RecordAttempt(inst, a).ok());
    return run.run_id;
  }
  std::filesystem::path OutcomeOf(const std::string& run_id, const std::string& task) {
    return PathsFor(LogsDir(pipeline_), run_id, task, "", 1).outcome;
  }
  int64_t WallMsNow() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               clock_.WallNow().time_since_epoch())
        .count();
  }
};

TEST_F(FakeRepairTest, RepairWaitsForAnOrphanOnTheInjectedClockAndBelievesItsOutcome) {
  Write(R"(name: orphan
tasks:
  - task_key: t
    command: 'x'
)");
  std::string run_id = MakeOrphanedRun("t", WallMsNow());
  std::filesystem::create_directories(OutcomeOf(run_id, "t").parent_path());
  FakeAttempt finishes;
  finishes.result = R"({"rows":3})";
  executor_.AddOrphan("orphan-1", finishes, clock_.Now() + seconds(30), OutcomeOf(run_id, "t"));
  RepairRequest req;
  req.run_id = run_id;
  RepairPlan plan;
  auto out = RepairRun(pipeline_, *ledger_, req, Options(), &plan);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->state, "success");
  EXPECT_GE(Seconds(), 30.0);                 // it waited for the orphan, on the fake clock
  EXPECT_TRUE(executor_.launches().empty());  // and did not run the task again
  auto attempts = Attempts(run_id, "t");
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].state, State::kSuccess);
  EXPECT_EQ(attempts[0].result, R"({"rows":3})");
  // The repair owns the run now, on this host.
  auto run = ledger_->GetRun(run_id);
  EXPECT_EQ(run->scheduler_pid, getpid());
  EXPECT_NE(run->host, "a-host-that-is-gone");
}

TEST_F(FakeRepairTest, AnOrphanPastItsTimeoutIsForcedAndRecordedTimedOutThenRunAgain) {
  Write(R"(name: orphan
tasks:
  - task_key: t
    command: 'x'
    timeout_seconds: 60
)");
  std::string run_id = MakeOrphanedRun("t", WallMsNow() - 120'000);
  FakeAttempt hangs;
  hangs.duration = std::chrono::hours(10);
  executor_.AddOrphan("orphan-1", hangs, clock_.Now() + std::chrono::hours(10),
                      OutcomeOf(run_id, "t"));
  RepairRequest req;
  req.run_id = run_id;
  auto out = RepairRun(pipeline_, *ledger_, req, Options(), nullptr);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_GE(executor_.cancels().size(), 1u);
  EXPECT_EQ(executor_.cancels()[0].first, "orphan-1");
  EXPECT_TRUE(executor_.cancels()[0].second);
  auto attempts = Attempts(run_id, "t");
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0].state, State::kTimedOut);
  EXPECT_EQ(attempts[1].state, State::kSuccess);  // run again by the repair
  EXPECT_EQ(out->state, "success");
}

TEST_F(FakeRepairTest, AVanishedOrphanIsAFailureNamingTheReasonAndRunsAgain) {
  Write(R"(name: orphan
tasks:
  - task_key: t
    command: 'x'
)");
  std::string run_id = MakeOrphanedRun("t", WallMsNow());
  FakeAttempt preempted;
  preempted.vanish = VanishReason::kPreempted;
  executor_.AddOrphan("orphan-1", preempted, clock_.Now() + seconds(5), OutcomeOf(run_id, "t"));
  RepairRequest req;
  req.run_id = run_id;
  RepairPlan plan;
  auto out = RepairRun(pipeline_, *ledger_, req, Options(), &plan);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  auto attempts = Attempts(run_id, "t");
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_NE(attempts[0].error.find("vanished (preempted)"), std::string::npos) << attempts[0].error;
  EXPECT_EQ(out->state, "success");
}

TEST_F(FakeRepairTest, ARunWhoseOwnerRenewsItsLeaseIsNotTakenOverFromAnotherHost) {
  Write(R"(name: orphan
tasks:
  - task_key: t
    command: 'x'
)");
  std::string run_id = MakeOrphanedRun("t", WallMsNow());
  auto run = *ledger_->GetRun(run_id);
  ASSERT_TRUE(ledger_->Heartbeat(run_id, run.Owner(), WallMsNow()).ok());
  RepairRequest req;
  req.run_id = run_id;
  auto out = RepairRun(pipeline_, *ledger_, req, Options(), nullptr);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(out.status().message().find("on host a-host-that-is-gone"), std::string::npos)
      << out.status().message();
  // Once the lease is older than kOwnerLeaseMs, it may.
  clock_.Advance(std::chrono::milliseconds(ledger::kOwnerLeaseMs + 1000));
  run = *ledger_->GetRun(run_id);
  EXPECT_FALSE(OwnerAlive(run, WallMsNow()));
}

}  // namespace
}  // namespace sluice::workflow
