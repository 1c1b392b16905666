// `sluice cancel` end to end: from a second process while the run's scheduler lives, and after
// the scheduler was killed. Handshakes with the blocked task go through FIFOs; waiting is on
// processes and ledger states, never a fixed sleep.
#include <gtest/gtest.h>

#include "e2e/engine_e2e_util.h"

namespace sluice {
namespace {

using namespace testing;  // NOLINT: test helpers

constexpr const char* kBlockingWorkflow = R"(name: cancel
tasks:
  - task_key: a
    command: 'echo $$ > a.pid; sleep 300 & echo $! > child.pid; echo started > a.fifo; wait'
  - task_key: b
    depends_on: [a]
    command: 'echo b >> side.txt'
)";

TEST(CancelCommand, StopsARunningRunFromASecondProcessAndItsProcessGroupIsGone) {
  TempDir dir;
  WriteEnginePipeline(dir, kBlockingWorkflow);
  MakeFifo(dir / "a.fifo");
  pid_t run = StartSluice({"run", dir.path().string(), "--date", "2026-11-24"}, dir / "run.log");
  ASSERT_EQ(ReadFifo(dir / "a.fifo"), "started");
  const std::string run_id = LatestRunId(dir);
  ASSERT_FALSE(run_id.empty());
  auto cancel = RunCommand(Sluice() + " cancel " + Q(dir.path()) + " " + run_id);
  EXPECT_EQ(cancel.exit_code, 0) << cancel.output;
  EXPECT_NE(cancel.output.find("cancelled (stopped by its scheduler)"), std::string::npos)
      << cancel.output;
  // The scheduler ends the run as cancelled (exit 1: the day was not loaded).
  EXPECT_EQ(WaitExit(run), 1) << ReadFile(dir / "run.log");
  EXPECT_TRUE(ProcessGone(ReadPid(dir / "a.pid")));
  EXPECT_TRUE(ProcessGone(ReadPid(dir / "child.pid")));  // the whole group, not just the leader
  auto show = ShowJson(dir, run_id);
  EXPECT_EQ(show["state"], "cancelled");
  auto inst = InstancesByName(show);
  EXPECT_EQ(inst["a"]["state"], "cancelled");
  EXPECT_NE(inst["a"]["error"].get<std::string>().find("sluice cancel"), std::string::npos);
  EXPECT_EQ(inst["b"]["state"], "cancelled");
  EXPECT_FALSE(std::filesystem::exists(dir / "side.txt"));
  // `runs --json` shows it too.
  auto runs = RunCommand(Sluice() + " runs " + Q(dir.path()) + " --json");
  EXPECT_NE(runs.output.find("\"cancelled\""), std::string::npos) << runs.output;
  // And repair finishes what was cancelled.
  dir.Write("workflow.yaml", R"(name: cancel
tasks:
  - task_key: a
    command: 'true'
  - task_key: b
    depends_on: [a]
    command: 'echo b >> side.txt'
)");
  auto repair = RunCommand(Sluice() + " repair " + Q(dir.path()) + " " + run_id);
  EXPECT_EQ(repair.exit_code, 0) << repair.output;
  EXPECT_EQ(ReadFile(dir / "side.txt"), "b\n");
}

TEST(CancelCommand, StopsTheAttemptsOfARunWhoseSchedulerIsGone) {
  TempDir dir;
  WriteEnginePipeline(dir, kBlockingWorkflow);
  const std::string run_id = RunUntilStartedThenKillScheduler(dir);
  ASSERT_FALSE(run_id.empty());
  const pid_t orphan = ReadPid(dir / "a.pid");
  ASSERT_FALSE(ProcessGone(orphan));
  auto cancel =
      RunCommand(Sluice() + " cancel " + Q(dir.path()) + " " + run_id + " --kill-grace-seconds 5");
  EXPECT_EQ(cancel.exit_code, 0) << cancel.output;
  EXPECT_NE(cancel.output.find("its scheduler was gone; 1 attempt(s) stopped"), std::string::npos)
      << cancel.output;
  EXPECT_TRUE(ProcessGone(orphan));
  EXPECT_TRUE(ProcessGone(ReadPid(dir / "child.pid")));
  auto show = ShowJson(dir, run_id);
  EXPECT_EQ(show["state"], "cancelled");
  auto inst = InstancesByName(show);
  EXPECT_EQ(inst["a"]["state"], "cancelled");
  EXPECT_EQ(inst["b"]["state"], "cancelled");
}

TEST(CancelCommand, AnUnknownOrFinishedRunIsExit2) {
  TempDir dir;
  WriteEnginePipeline(dir, "name: x\ntasks:\n  - task_key: a\n    command: 'true'\n");
  auto unknown = RunCommand(Sluice() + " cancel " + Q(dir.path()) + " no-such-run");
  EXPECT_EQ(unknown.exit_code, 2) << unknown.output;
  EXPECT_NE(unknown.output.find("no run \"no-such-run\""), std::string::npos) << unknown.output;
  auto run = RunCommand(Sluice() + " run " + Q(dir.path()) + " --date 2026-11-24");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto done = RunCommand(Sluice() + " cancel " + Q(dir.path()) + " " + LatestRunId(dir));
  EXPECT_EQ(done.exit_code, 2) << done.output;
  EXPECT_NE(done.output.find("is not running (it is success)"), std::string::npos) << done.output;
}

TEST(CancelCommand, WithoutARunIdStopsTheOneRunningRunAndRefusesWhenNoneOrSeveralAre) {
  TempDir dir;
  WriteEnginePipeline(dir, kBlockingWorkflow);
  MakeFifo(dir / "a.fifo");
  auto none = RunCommand(Sluice() + " cancel " + Q(dir.path()));
  EXPECT_EQ(none.exit_code, 2) << none.output;
  EXPECT_NE(none.output.find("no run is running in"), std::string::npos) << none.output;
  // Two dates at once: the cancel cannot guess which, and lists both.
  pid_t first = StartSluice({"run", dir.path().string(), "--date", "2026-11-24"}, dir / "1.log");
  ASSERT_EQ(ReadFifo(dir / "a.fifo"), "started");
  const std::string first_id = LatestRunId(dir);
  pid_t second = StartSluice({"run", dir.path().string(), "--date", "2026-11-25"}, dir / "2.log");
  ASSERT_EQ(ReadFifo(dir / "a.fifo"), "started");
  const std::string second_id = LatestRunId(dir);
  ASSERT_NE(first_id, second_id);
  auto several = RunCommand(Sluice() + " cancel " + Q(dir.path()));
  EXPECT_EQ(several.exit_code, 2) << several.output;
  EXPECT_NE(several.output.find("2 runs are running"), std::string::npos) << several.output;
  EXPECT_NE(several.output.find(first_id), std::string::npos) << several.output;
  EXPECT_NE(several.output.find(second_id), std::string::npos) << several.output;
  EXPECT_EQ(ShowJson(dir, first_id)["state"], "running");
  EXPECT_EQ(ShowJson(dir, second_id)["state"], "running");
  // Named, the first stops; then the second is the one running, and a bare cancel stops it.
  auto named = RunCommand(Sluice() + " cancel " + Q(dir.path()) + " " + first_id);
  EXPECT_EQ(named.exit_code, 0) << named.output;
  EXPECT_EQ(WaitExit(first), 1);
  auto bare = RunCommand(Sluice() + " cancel " + Q(dir.path()));
  EXPECT_EQ(bare.exit_code, 0) << bare.output;
  EXPECT_NE(bare.output.find("run " + second_id + ": cancelled"), std::string::npos) << bare.output;
  EXPECT_EQ(WaitExit(second), 1);
  EXPECT_EQ(ShowJson(dir, second_id)["state"], "cancelled");
}

TEST(RepairAndShow, WithoutARunIdActOnTheNewestRunAndSayWhichOnStderr) {
  TempDir dir;
  WriteEnginePipeline(dir, "name: x\ntasks:\n  - task_key: a\n    command: 'true'\n");
  auto no_runs = RunCommand(Sluice() + " show " + Q(dir.path()));
  EXPECT_EQ(no_runs.exit_code, 2) << no_runs.output;
  EXPECT_NE(no_runs.output.find("no runs yet"), std::string::npos) << no_runs.output;
  ASSERT_EQ(RunCommand(Sluice() + " run " + Q(dir.path()) + " --date 2026-11-23").exit_code, 0);
  dir.Write("workflow.yaml",
            "name: x\ntasks:\n  - task_key: a\n    command: 'test -f fixed'\n"
            "  - task_key: b\n    depends_on: [a]\n    command: 'echo b >> side.txt'\n");
  auto failed = RunCommand(Sluice() + " run " + Q(dir.path()) + " --date 2026-11-24");
  ASSERT_EQ(failed.exit_code, 1) << failed.output;
  const std::string newest = LatestRunId(dir);
  auto show = RunCommand("(" + Sluice() + " show " + Q(dir.path()) + " --json 2>/dev/null)");
  ASSERT_EQ(show.exit_code, 0) << show.output;
  auto shown = nlohmann::json::parse(show.output, nullptr, false);
  ASSERT_FALSE(shown.is_discarded()) << show.output;  // stdout stays JSON
  EXPECT_EQ(shown["run_id"], newest);
  EXPECT_EQ(shown["state"], "failed");
  dir.Write("fixed", "");
  auto repair = RunCommand(Sluice() + " repair " + Q(dir.path()));
  EXPECT_EQ(repair.exit_code, 0) << repair.output;
  EXPECT_NE(repair.output.find("the newest run, " + newest), std::string::npos) << repair.output;
  EXPECT_EQ(ShowJson(dir, newest)["state"], "success");
  EXPECT_EQ(ReadFile(dir / "side.txt"), "b\n");
}

TEST(LogsCommand, APerPartnerTaskWithoutPartnerPointsAtThePartnerWhoseAttemptFailed) {
  TempDir dir;
  // acme sorts first; only globex fails, so the hint must not just name the first partner.
  WriteEnginePipeline(dir,
                      "name: x\ntasks:\n  - task_key: load\n    for_each: partner\n"
                      "    command: 'test $SLUICE_PARTNER != globex'\n");
  auto run = RunCommand(Sluice() + " run " + Q(dir.path()) + " --date 2026-11-24");
  ASSERT_EQ(run.exit_code, 1) << run.output;
  auto logs = RunCommand(Sluice() + " logs " + Q(dir.path()) + " " + LatestRunId(dir) + " load");
  EXPECT_EQ(logs.exit_code, 2) << logs.output;
  EXPECT_NE(logs.output.find("add --partner globex (failed: globex)"), std::string::npos)
      << logs.output;
}

}  // namespace
}  // namespace sluice
