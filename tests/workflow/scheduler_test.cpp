// The scheduler in-process, with a FakeClock for backoff: attempts are real child processes
// (`sluice task exec` of SLUICE_BINARY), waiting between retries is the fake clock's.
#include "workflow/scheduler.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "testing/pipeline_fixture.h"
#include "workflow/attempt_files.h"

namespace sluice::workflow {
namespace {

using ledger::State;

class SchedulerTest : public ::testing::Test {
 protected:
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
};

TEST_F(SchedulerTest, FailingTwiceThenSucceedingTakesThreeAttemptsWithDoublingBackoff) {
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

TEST_F(SchedulerTest, ExhaustedRetriesFailTheInstanceAndDownstreamIsUpstreamFailed) {
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

TEST_F(SchedulerTest, CommandsSeeTheirRunInTheEnvironmentAndRunInThePipelineFolder) {
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

TEST_F(SchedulerTest, BuiltinResultsReachTheLedger) {
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

TEST_F(SchedulerTest, AFailingBuiltinRecordsItsStatusMessage) {
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

TEST_F(SchedulerTest, SecondRunOfTheSameDateIsRefusedWhileOneIsActive) {
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

TEST_F(SchedulerTest, RepairWithTasksAndDownstreamRerunsOnlyThose) {
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

TEST_F(SchedulerTest, RepairForSomePartnersLeavesTheOthersAlone) {
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
