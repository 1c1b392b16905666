// The scheduler's suite, run on every executor (tests/workflow/scheduler_test.cpp: local;
// tests/slurm/slurm_scheduler_test.cpp: a real Slurm cluster), so retries with their backoff,
// run_if, per-partner chains, the one-active-run rule and repair behave the same wherever the
// attempts run. The scheduler runs in-process with a FakeClock for backoff; attempts are real
// `sluice task exec` processes of SLUICE_BINARY launched by the executor under test.
// A test binary includes this header once and instantiates the suite with
// INSTANTIATE_TEST_SUITE_P(..., SchedulerSuite, ::testing::Values(SchedulerBackend{...})).
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "testing/pipeline_fixture.h"
#include "workflow/executor.h"
#include "workflow/scheduler.h"

namespace sluice::workflow {

struct SchedulerBackend {
  std::string name;
  std::function<std::unique_ptr<Executor>()> make;
};
// gtest prints a parameter in test names and failures: its name, not its bytes.
inline void PrintTo(const SchedulerBackend& b, std::ostream* os) { *os << b.name; }

namespace scheduler_suite {

using ledger::State;

class SchedulerSuite : public ::testing::TestWithParam<SchedulerBackend> {
 protected:
  void SetUp() override { executor_ = GetParam().make(); }
  void Write(const std::string& workflow_yaml, const std::string& extra_settings = "") {
    testing::WriteSamplePipeline(dir_);
    dir_.Write("sluice.yaml", std::string(testing::kSluiceYaml) + extra_settings);
    dir_.Write("workflow.yaml", workflow_yaml);
    auto p = config::LoadPipeline(dir_.path());
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    pipeline_ = std::move(p).value();
    auto l = ledger::OpenLedger(pipeline_.settings.ledger, pipeline_.dir);
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    ledger_ = std::move(l).value();
  }
  // Runs the workflow; a repair request for that run (run_id empty when it did not succeed).
  RepairRequest RepairOfASucceededRun() {
    RepairRequest req;
    auto out = StartRun(pipeline_, *ledger_, Request(), Options());
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    if (out.ok() && out->state == "success") req.run_id = out->run_id;
    return req;
  }
  SchedulerOptions Options() {
    SchedulerOptions o;
    o.parallelism = 2;
    o.sluice_binary = SLUICE_BINARY;
    o.clock = &clock_;
    o.handle_signals = false;
    o.executor = executor_.get();
    return o;
  }
  RunRequest Request() {
    RunRequest r;
    r.date = Date{2026, 11, 24};
    return r;
  }
  std::map<std::string, std::vector<ledger::AttemptRecord>> AttemptsByInstance(
      const std::string& run_id) {
    std::map<std::string, std::vector<ledger::AttemptRecord>> out;
    auto attempts = ledger_->ListAttempts(run_id);
    EXPECT_TRUE(attempts.ok());
    for (auto& a : *attempts) {
      out[a.partner.empty() ? a.task_key : a.task_key + "[" + a.partner + "]"].push_back(a);
    }
    return out;
  }
  std::map<std::string, ledger::InstanceRecord> Instances(const std::string& run_id) {
    std::map<std::string, ledger::InstanceRecord> out;
    auto inst = ledger_->ListInstances(run_id);
    EXPECT_TRUE(inst.ok());
    for (auto& i : *inst)
      out[i.partner.empty() ? i.task_key : i.task_key + "[" + i.partner + "]"] = i;
    return out;
  }

  testing::TempDir dir_;
  config::Pipeline pipeline_;
  std::unique_ptr<ledger::Ledger> ledger_;
  FakeClock clock_;
  std::unique_ptr<Executor> executor_;
};

TEST_P(SchedulerSuite, FailingTwiceThenSucceedingTakesThreeAttemptsWithDoublingBackoff) {
  // A minute of backoff base: the test only finishes quickly because the clock is fake.
  Write(R"(name: retry
tasks:
  - task_key: flaky
    command: 'n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; echo "try $n"; test $n -ge 3'
    max_retries: 3
    min_retry_interval_millis: 60000
)");
  auto out = StartRun(pipeline_, *ledger_, Request(), Options());
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->state, "success");
  auto attempts = AttemptsByInstance(out->run_id)["flaky"];
  ASSERT_EQ(attempts.size(), 3u);
  EXPECT_EQ(attempts[0].state, State::kFailed);
  EXPECT_EQ(attempts[1].state, State::kFailed);
  EXPECT_EQ(attempts[2].state, State::kSuccess);
  EXPECT_NE(attempts[0].error.find("exited with code 1"), std::string::npos) << attempts[0].error;
  EXPECT_GE(attempts[1].started_ms - attempts[0].ended_ms, 60000);
  EXPECT_LT(attempts[1].started_ms - attempts[0].ended_ms, 120000);
  EXPECT_GE(attempts[2].started_ms - attempts[1].ended_ms, 120000);
  EXPECT_EQ(Instances(out->run_id)["flaky"].attempts, 3);
  EXPECT_EQ(testing::ReadFile(attempts[2].log_path), "try 3\n");
}

TEST_P(SchedulerSuite, ExhaustedRetriesFailTheInstanceAndDownstreamIsUpstreamFailed) {
  Write(R"(name: exhaust
tasks:
  - task_key: broken
    command: 'echo "cannot reach the partner" >&2; exit 4'
    max_retries: 2
    min_retry_interval_millis: 10
  - task_key: after
    depends_on: [broken]
    command: 'touch after-ran'
  - task_key: cleanup
    depends_on: [broken]
    run_if: ALL_DONE
    command: 'true'
  - task_key: on_failure
    depends_on: [broken]
    run_if: AT_LEAST_ONE_FAILED
    command: 'true'
  - task_key: only_if_ok
    depends_on: [after]
    run_if: NONE_FAILED
    command: 'true'
)");
  auto out = StartRun(pipeline_, *ledger_, Request(), Options());
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->state, "failed");
  auto inst = Instances(out->run_id);
  EXPECT_EQ(inst["broken"].state, State::kFailed);
  EXPECT_EQ(inst["broken"].attempts, 3);
  EXPECT_NE(inst["broken"].error.find("cannot reach the partner"), std::string::npos)
      << inst["broken"].error;
  EXPECT_EQ(inst["after"].state, State::kUpstreamFailed);
  EXPECT_EQ(inst["after"].attempts, 0);
  EXPECT_EQ(inst["only_if_ok"].state, State::kUpstreamFailed);
  EXPECT_EQ(inst["cleanup"].state, State::kSuccess);
  EXPECT_EQ(inst["on_failure"].state, State::kSuccess);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "after-ran"));
  EXPECT_EQ(ledger_->GetRun(out->run_id)->state, "failed");
}

TEST_P(SchedulerSuite, CommandsSeeTheirRunInTheEnvironmentAndRunInThePipelineFolder) {
  Write(R"(name: env
tasks:
  - task_key: per_partner
    for_each: partner
    command: 'echo "$SLUICE_RUN_ID|$SLUICE_DATE|$SLUICE_PARTNER|$SLUICE_TASK|$SLUICE_ATTEMPT|$SLUICE_PARALLELISM" > "env-$SLUICE_PARTNER.txt"'
)");
  auto options = Options();
  options.parallelism = 3;
  auto out = StartRun(pipeline_, *ledger_, Request(), options);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(testing::ReadFile(dir_ / "env-acme.txt"),
            out->run_id + "|2026-11-24|acme|per_partner|1|3\n");
  EXPECT_EQ(testing::ReadFile(dir_ / "env-globex.txt"),
            out->run_id + "|2026-11-24|globex|per_partner|1|3\n");
}

TEST_P(SchedulerSuite, BuiltinResultsReachTheLedger) {
  Write(R"(name: builtin
tasks:
  - task_key: pre_set_date
    builtin: set_date
)");
  auto out = StartRun(pipeline_, *ledger_, Request(), Options());
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->state, "success");
  auto attempts = AttemptsByInstance(out->run_id)["pre_set_date"];
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(attempts[0].result)["date"], "2026-11-24");
}

TEST_P(SchedulerSuite, AFailingBuiltinRecordsItsStatusMessage) {
  Write(R"(name: builtin
tasks:
  - task_key: extract
    builtin: extract
    for_each: partner
)");
  auto request = Request();
  request.partners = {"acme"};
  auto out = StartRun(pipeline_, *ledger_, request, Options());
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  auto inst = Instances(out->run_id);
  ASSERT_EQ(inst.size(), 1u) << "--partners acme: one instance";
  // Whatever the builtin's state of implementation, the outcome is recorded with a message.
  if (inst["extract[acme]"].state != State::kSuccess) {
    EXPECT_FALSE(inst["extract[acme]"].error.empty());
  }
}

TEST_P(SchedulerSuite, SecondRunOfTheSameDateIsRefusedWhileOneIsActive) {
  Write(R"(name: one
tasks:
  - task_key: t
    command: 'true'
)");
  ledger::RunRecord other;
  other.run_id = "other-run";
  other.workflow = "one";
  other.pipeline_dir = pipeline_.dir.string();
  other.logical_date = "2026-11-24";
  other.params = "{}";
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  other.host = host;
  // Its scheduler was killed: a process that has exited.
  const pid_t gone = fork();
  if (gone == 0) _exit(0);
  ASSERT_GT(gone, 0);
  ASSERT_EQ(waitpid(gone, nullptr, 0), gone);
  other.scheduler_pid = gone;
  ASSERT_TRUE(ledger_->CreateRun(other, {}).ok());
  auto out = StartRun(pipeline_, *ledger_, Request(), Options());
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kAlreadyExists);
  const std::string m = out.status().message();
  EXPECT_NE(m.find("run other-run of workflow \"one\" for 2026-11-24 is still active"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("its scheduler (pid " + std::to_string(gone) +
                   ") is gone: continue the run with `sluice run " + pipeline_.dir.string() +
                   " --date 2026-11-24 --resume` (or `sluice repair " + pipeline_.dir.string() +
                   " other-run`)"),
            std::string::npos)
      << m;
  // While its scheduler lives, the advice is to wait (or stop it), not to resume.
  const ledger::RunOwner dead{host, gone, ""};
  const ledger::RunOwner alive{host, getpid(), ""};
  ASSERT_TRUE(ledger_->ClaimRun("other-run", dead, alive, 1).ok());
  out = StartRun(pipeline_, *ledger_, Request(), Options());
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("is running it: wait for it to finish"), std::string::npos)
      << out.status().message();
  EXPECT_EQ(out.status().message().find("--resume"), std::string::npos);
  // A pid that now belongs to another program (reused after a reboot) is no scheduler.
  const pid_t other_program = fork();
  if (other_program == 0) {
    execlp("sleep", "sleep", "30", static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_GT(other_program, 0);
  // Wait until it is `sleep` (the exec is done), not our forked copy.
  for (int i = 0; i < 2000; ++i) {
    std::ifstream comm("/proc/" + std::to_string(other_program) + "/comm");
    std::string name;
    if (std::getline(comm, name) && name == "sleep") break;
    usleep(1000);
  }
  ASSERT_TRUE(
      ledger_->ClaimRun("other-run", alive, ledger::RunOwner{host, other_program, ""}, 1).ok());
  out = StartRun(pipeline_, *ledger_, Request(), Options());
  kill(other_program, SIGKILL);
  waitpid(other_program, nullptr, 0);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("is gone: continue the run"), std::string::npos)
      << out.status().message();
  // Recorded with a start time: a live pid that started at another moment is not the owner.
  ASSERT_TRUE(ledger_
                  ->ClaimRun("other-run", ledger::RunOwner{host, other_program, ""},
                             ledger::RunOwner{host, getpid(), "another-boot/1"}, 1)
                  .ok());
  out = StartRun(pipeline_, *ledger_, Request(), Options());
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("is gone: continue the run"), std::string::npos)
      << out.status().message();
}

TEST_P(SchedulerSuite, RepairWithTasksAndDownstreamRerunsOnlyThose) {
  Write(R"(name: pick
tasks:
  - task_key: a
    command: 'echo a >> side.txt'
  - task_key: b
    depends_on: [a]
    command: 'echo b >> side.txt'
  - task_key: c
    depends_on: [b]
    command: 'echo c >> side.txt'
)");
  RepairRequest req = RepairOfASucceededRun();
  ASSERT_FALSE(req.run_id.empty());
  req.tasks = {"b"};
  RepairPlan plan;
  auto only_b = RepairRun(pipeline_, *ledger_, req, Options(), &plan);
  ASSERT_TRUE(only_b.ok()) << only_b.status().ToString();
  EXPECT_EQ(plan.rerun, std::vector<std::string>{"b"});
  req.downstream = true;
  req.dry_run = true;
  RepairPlan dry;
  ASSERT_TRUE(RepairRun(pipeline_, *ledger_, req, Options(), &dry).ok());
  EXPECT_EQ(dry.rerun, (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(testing::ReadFile(dir_ / "side.txt"), "a\nb\nc\nb\n") << "dry run ran nothing";
  req.tasks = {"bb"};
  req.dry_run = false;
  auto unknown = RepairRun(pipeline_, *ledger_, req, Options(), nullptr);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("did you mean \"b\""), std::string::npos);
}

TEST_P(SchedulerSuite, RepairForSomePartnersLeavesTheOthersAlone) {
  // A re-delivery by one partner: its chain and the whole-run tasks after it run again.
  Write(R"(name: partners
tasks:
  - task_key: ex
    for_each: partner
    command: 'echo "ex $SLUICE_PARTNER" >> side.txt'
  - task_key: me
    for_each: partner
    depends_on: [ex]
    command: 'true'
  - task_key: sum
    depends_on: [me]
    command: 'true'
  - task_key: chk
    for_each: partner
    depends_on: [sum]
    command: 'true'
)");
  RepairRequest req = RepairOfASucceededRun();
  ASSERT_FALSE(req.run_id.empty());
  req.tasks = {"ex"};
  req.downstream = true;
  req.partners = {"acme"};
  RepairPlan plan;
  auto repaired = RepairRun(pipeline_, *ledger_, req, Options(), &plan);
  ASSERT_TRUE(repaired.ok()) << repaired.status().ToString();
  std::vector<std::string> rerun = plan.rerun;
  std::sort(rerun.begin(), rerun.end());
  EXPECT_EQ(rerun, (std::vector<std::string>{"chk[acme]", "ex[acme]", "me[acme]", "sum"}));
  std::string side = testing::ReadFile(dir_ / "side.txt");
  EXPECT_EQ(std::count(side.begin(), side.end(), '\n'), 3) << side;  // two, then acme again
  EXPECT_TRUE(side.ends_with("ex acme\n")) << side;
  req.partners = {"initech"};
  auto unknown = RepairRun(pipeline_, *ledger_, req, Options(), nullptr);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("partner \"initech\" has no task in run"),
            std::string::npos)
      << unknown.status().message();
}

TEST_P(SchedulerSuite, ResumingAFailedRunRunsOnlyWhatDidNotSucceed) {
  // `sluice run --resume`: the newest run of the date, repaired. b fails until its input exists.
  Write(R"(name: resume
tasks:
  - task_key: a
    command: 'echo a >> side.txt'
  - task_key: b
    depends_on: [a]
    command: 'test -f input-ready && echo b >> side.txt'
  - task_key: c
    depends_on: [b]
    command: 'echo c >> side.txt'
  - task_key: per_partner
    for_each: partner
    depends_on: [a]
    command: 'echo "p $SLUICE_PARTNER" >> side.txt'
)");
  auto first = StartRun(pipeline_, *ledger_, Request(), Options());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->state, "failed");
  EXPECT_EQ(Instances(first->run_id)["c"].state, State::kUpstreamFailed);
  dir_.Write("input-ready", "");
  auto found = FindResumableRun(pipeline_, *ledger_, Request().date, {});
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->run_id, first->run_id);
  RepairRequest req;
  req.run_id = first->run_id;
  RepairPlan plan;
  auto resumed = RepairRun(pipeline_, *ledger_, req, Options(), &plan);
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_EQ(resumed->state, "success");
  std::vector<std::string> rerun = plan.rerun;
  std::sort(rerun.begin(), rerun.end());
  EXPECT_EQ(rerun, (std::vector<std::string>{"b", "c"}));
  // a and the partners' tasks ran once, in the first run; b and c once, in the resumed one.
  std::string side = testing::ReadFile(dir_ / "side.txt");
  std::vector<std::string> lines;
  for (size_t at = 0, nl; (nl = side.find('\n', at)) != std::string::npos; at = nl + 1) {
    lines.push_back(side.substr(at, nl - at));
  }
  std::sort(lines.begin(), lines.end());
  EXPECT_EQ(lines, (std::vector<std::string>{"a", "b", "c", "p acme", "p globex"})) << side;
  auto inst = Instances(first->run_id);
  EXPECT_EQ(inst["b"].attempts, 2);
  EXPECT_EQ(inst["a"].attempts, 1);
  EXPECT_EQ(ledger_->GetRun(first->run_id)->state, "success");
}

}  // namespace scheduler_suite

using scheduler_suite::SchedulerSuite;

}  // namespace sluice::workflow
