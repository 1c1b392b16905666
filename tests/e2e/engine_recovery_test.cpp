// End-to-end tests of failure handling: per-partner isolation and repair, a SIGKILLed
// scheduler, SIGINT, one active run per date, and webhook alerts to a real HTTP server.
// Handshakes with running tasks go through FIFOs, never sleeps.
#include <gtest/gtest.h>

#include "alert/http_sink.h"
#include "e2e/engine_e2e_util.h"

namespace sluice {
namespace {

using namespace testing;  // NOLINT: test helpers

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    out.push_back(text.substr(start, nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(EngineRecovery, PartnerFailureIsIsolatedAndRepairRerunsOnlyItsChain) {
  TempDir dir;
  WriteEnginePipeline(dir, R"(name: iso
tasks:
  - task_key: extract
    for_each: partner
    command: 'if [ "$SLUICE_PARTNER" = globex ] && [ ! -e globex-fixed ]; then echo "bad archive" >&2; exit 1; fi; echo "extract $SLUICE_PARTNER" >> side.txt'
  - task_key: merge
    depends_on: [extract]
    for_each: partner
    command: 'echo "merge $SLUICE_PARTNER" >> side.txt'
  - task_key: summary
    depends_on: [merge]
    command: 'echo summary >> side.txt'
)");
  auto r = RunCommand(Sluice() + " run " + Q(dir.path()) + " --date 2026-11-24");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  std::string run_id = LatestRunId(dir);
  auto inst = InstancesByName(ShowJson(dir, run_id));
  EXPECT_EQ(inst["extract[acme]"]["state"], "success");
  EXPECT_EQ(inst["merge[acme]"]["state"], "success");
  EXPECT_EQ(inst["extract[globex]"]["state"], "failed");
  EXPECT_EQ(inst["merge[globex]"]["state"], "upstream_failed");
  EXPECT_EQ(inst["summary"]["state"], "upstream_failed");

  auto dry = RunCommand(Sluice() + " repair " + Q(dir.path()) + " " + run_id + " --dry-run");
  EXPECT_EQ(dry.exit_code, 0) << dry.output;
  EXPECT_NE(dry.output.find("would re-run 3 instance(s)"), std::string::npos) << dry.output;
  EXPECT_EQ(dry.output.find("acme"), std::string::npos) << dry.output;

  // While a config file is being fixed (here a broken workflow.yaml), past runs stay readable;
  // only the commands that start work refuse.
  const std::string workflow = ReadFile(dir / "workflow.yaml");
  dir.Write("workflow.yaml", workflow + "  - task_key: [broken\n");
  EXPECT_EQ(RunCommand(Sluice() + " runs " + Q(dir.path())).exit_code, 0);
  auto shown = RunCommand(Sluice() + " show " + Q(dir.path()) + " " + run_id);
  EXPECT_EQ(shown.exit_code, 0) << shown.output;
  EXPECT_NE(shown.output.find("extract[globex]"), std::string::npos) << shown.output;
  auto logs =
      RunCommand(Sluice() + " logs " + Q(dir.path()) + " " + run_id + " extract --partner globex");
  EXPECT_EQ(logs.exit_code, 0) << logs.output;
  EXPECT_NE(logs.output.find("bad archive"), std::string::npos) << logs.output;
  EXPECT_EQ(RunCommand(Sluice() + " repair " + Q(dir.path()) + " " + run_id).exit_code, 2);
  dir.Write("workflow.yaml", workflow);

  dir.Write("globex-fixed", "");
  auto repair = RunCommand(Sluice() + " repair " + Q(dir.path()) + " " + run_id);
  EXPECT_EQ(repair.exit_code, 0) << repair.output;
  auto show = ShowJson(dir, run_id);
  EXPECT_EQ(show["state"], "success");
  inst = InstancesByName(show);
  EXPECT_EQ(inst["extract[acme]"]["attempts"], 1);
  EXPECT_EQ(inst["merge[acme]"]["attempts"], 1);
  EXPECT_EQ(inst["extract[globex]"]["attempts"], 2);
  EXPECT_EQ(inst["merge[globex]"]["attempts"], 1);
  EXPECT_EQ(inst["summary"]["attempts"], 1);
  EXPECT_EQ(Lines(ReadFile(dir / "side.txt")),
            (std::vector<std::string>{"extract acme", "extract globex", "merge acme",
                                      "merge globex", "summary"}));
}

TEST(EngineRecovery, SchedulerKilledMidRunThenRepairDoesEverySuccessExactlyOnce) {
  TempDir dir;
  WriteEnginePipeline(dir, R"(name: crash
tasks:
  - task_key: a
    command: 'echo a >> side.txt'
  - task_key: b
    depends_on: [a]
    command: 'echo started > b.fifo; cat go.fifo > /dev/null; echo b >> side.txt'
  - task_key: c
    depends_on: [b]
    command: 'echo c >> side.txt'
)");
  MakeFifo(dir / "b.fifo");
  MakeFifo(dir / "go.fifo");
  pid_t pid = StartSluice({"run", dir.path().string(), "--date", "2026-11-24"}, dir / "run.log");
  ASSERT_EQ(ReadFifo(dir / "b.fifo"), "started");  // b is running now
  kill(pid, SIGKILL);
  EXPECT_EQ(WaitExit(pid), -SIGKILL);
  std::string run_id = LatestRunId(dir);
  auto before = InstancesByName(ShowJson(dir, run_id));
  EXPECT_EQ(before["b"]["state"], "running");
  EXPECT_EQ(before["c"]["state"], "pending");
  // `runs` says the run has nobody driving it, and how to finish it.
  auto listed = RunCommand(Sluice() + " runs " + Q(dir.path()));
  EXPECT_NE(listed.output.find("(its scheduler is gone: sluice run " + dir.path().string() +
                               " --date 2026-11-24 --resume)"),
            std::string::npos)
      << listed.output;
  auto listed_json = nlohmann::json::parse(
      RunCommand(Sluice() + " runs " + Q(dir.path()) + " --json").output, nullptr, false);
  ASSERT_TRUE(listed_json.is_array() && !listed_json.empty());
  EXPECT_EQ(listed_json[0]["scheduler_gone"], true);
  // b outlives its scheduler and finishes on its own; repair must not run it again.
  WriteFifo(dir / "go.fifo", "go");
  auto repair = RunCommand(Sluice() + " repair " + Q(dir.path()) + " " + run_id);
  EXPECT_EQ(repair.exit_code, 0) << repair.output << ReadFile(dir / "run.log");
  auto show = ShowJson(dir, run_id);
  EXPECT_EQ(show["state"], "success");
  auto inst = InstancesByName(show);
  EXPECT_EQ(inst["a"]["attempts"], 1);
  EXPECT_EQ(inst["b"]["attempts"], 1);
  EXPECT_EQ(inst["b"]["state"], "success");
  EXPECT_EQ(inst["c"]["attempts"], 1);
  EXPECT_EQ(ReadFile(dir / "side.txt"), "a\nb\nc\n");
}

TEST(EngineRecovery, RepairBelievesAFinishedAttemptsOutcomeEvenWhileItsDaemonLives) {
  // The task starts a daemon that leaves its process group (setsid) but keeps the attempt's log,
  // so the log's lock stays held; the attempt itself finishes and writes its outcome. A repair
  // after its scheduler died must take that outcome, not wait for the daemon.
  TempDir dir;
  WriteEnginePipeline(dir, R"(name: daemon
tasks:
  - task_key: a
    command: 'setsid sleep 300 & echo $! > daemon.pid; echo started > a.fifo; cat go.fifo > /dev/null; echo a >> side.txt'
  - task_key: b
    depends_on: [a]
    command: 'echo b >> side.txt'
)");
  MakeFifo(dir / "a.fifo");
  MakeFifo(dir / "go.fifo");
  pid_t pid = StartSluice({"run", dir.path().string(), "--date", "2026-11-24"}, dir / "run.log");
  ASSERT_EQ(ReadFifo(dir / "a.fifo"), "started");
  kill(pid, SIGKILL);
  WaitExit(pid);
  std::string run_id = LatestRunId(dir);
  WriteFifo(dir / "go.fifo", "go");
  const auto outcome = dir / ("logs/" + run_id + "/a/1.outcome.json");
  for (int i = 0; i < 4000 && !std::filesystem::exists(outcome); ++i) usleep(1000);
  ASSERT_TRUE(std::filesystem::exists(outcome));
  auto repair = RunCommand("timeout 60 " + Sluice() + " repair " + Q(dir.path()) + " " + run_id);
  pid_t daemon = ReadPid(dir / "daemon.pid");
  if (daemon > 0) kill(daemon, SIGKILL);
  EXPECT_EQ(repair.exit_code, 0) << repair.output;
  auto inst = InstancesByName(ShowJson(dir, run_id));
  EXPECT_EQ(inst["a"]["state"], "success");
  EXPECT_EQ(inst["a"]["attempts"], 1);
  EXPECT_EQ(ReadFile(dir / "side.txt"), "a\nb\n");
}

TEST(EngineRecovery, ARepairGivesEachInstanceItsRetriesAfresh) {
  // Two failures used up max_retries: 1 in the run; the repair's first try fails too (the
  // transient problem is not over yet) and its retry succeeds.
  TempDir dir;
  WriteEnginePipeline(dir, R"(name: again
tasks:
  - task_key: flaky
    command: 'n=$(cat n 2>/dev/null || echo 0); echo $((n + 1)) > n; [ $n -ge 3 ]'
    max_retries: 1
    min_retry_interval_millis: 1
)");
  auto r = RunCommand(Sluice() + " run " + Q(dir.path()) + " --date 2026-11-24");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  std::string run_id = LatestRunId(dir);
  EXPECT_EQ(InstancesByName(ShowJson(dir, run_id))["flaky"]["attempts"], 2);
  auto repair = RunCommand(Sluice() + " repair " + Q(dir.path()) + " " + run_id);
  EXPECT_EQ(repair.exit_code, 0) << repair.output;
  auto inst = InstancesByName(ShowJson(dir, run_id));
  EXPECT_EQ(inst["flaky"]["state"], "success");
  EXPECT_EQ(inst["flaky"]["attempts"], 4);  // attempt numbers continue
}

TEST(EngineRecovery, ATaskRemovedFromTheWorkflowIsNotLeftFailedInARepairedRun) {
  TempDir dir;
  WriteEnginePipeline(dir,
                      "name: edit\ntasks:\n  - task_key: a\n    command: 'true'\n"
                      "  - task_key: x\n    command: 'exit 1'\n");
  auto r = RunCommand(Sluice() + " run " + Q(dir.path()) + " --date 2026-11-24");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  std::string run_id = LatestRunId(dir);
  dir.Write("workflow.yaml", "name: edit\ntasks:\n  - task_key: a\n    command: 'true'\n");
  auto repair = RunCommand(Sluice() + " repair " + Q(dir.path()) + " " + run_id);
  EXPECT_EQ(repair.exit_code, 0) << repair.output;
  EXPECT_NE(repair.output.find("task x is no longer in workflow.yaml"), std::string::npos)
      << repair.output;
  auto show = ShowJson(dir, run_id);
  EXPECT_EQ(show["state"], "success");
  auto inst = InstancesByName(show);
  EXPECT_EQ(inst["x"]["state"], "skipped") << inst["x"].dump();
  EXPECT_NE(inst["x"]["error"].get<std::string>().find("removed from workflow.yaml"),
            std::string::npos);
}

TEST(EngineRecovery, ARunItsSchedulerCannotDriveIsNotLeftRunning) {
  // The log folder cannot be made (a file is in the way): the scheduler stops at the first
  // attempt. The run is recorded failed (it used to stay `running`, driven by nothing).
  TempDir dir;
  WriteEnginePipeline(dir, "name: nolog\ntasks:\n  - task_key: a\n    command: 'true'\n",
                      "logs: ./blocked/logs\n");
  dir.Write("blocked", "a file, not a folder");
  auto r = RunCommand(Sluice() + " run " + Q(dir.path()) + " --date 2026-11-24");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("cannot create log folder"), std::string::npos) << r.output;
  EXPECT_EQ(ShowJson(dir, LatestRunId(dir))["state"], "failed");
}

TEST(EngineRecovery, AnOrphanPastItsTimeoutIsKilledByRepairAndRecordedTimedOut) {
  TempDir dir;
  WriteEnginePipeline(dir, R"(name: orphan
tasks:
  - task_key: a
    command: 'echo started > a.fifo; exec sleep 300'
    timeout_seconds: 1
)");
  std::string run_id = RunUntilStartedThenKillScheduler(dir);
  auto repair = RunCommand("timeout 60 " + Sluice() + " repair " + Q(dir.path()) + " " + run_id);
  EXPECT_NE(repair.output.find("ran past its timeout_seconds (1s) while its scheduler was gone"),
            std::string::npos)
      << repair.output;
  auto inst = InstancesByName(ShowJson(dir, run_id));
  EXPECT_EQ(inst["a"]["history"][0]["state"], "timed_out") << inst["a"].dump();
}

TEST(EngineRecovery, CtrlCWhileARepairWaitsForAnOrphanStopsItSayingNothingChanged) {
  TempDir dir;
  WriteEnginePipeline(dir, R"(name: orphan
tasks:
  - task_key: a
    command: 'echo $$ > a.pid; echo started > a.fifo; exec sleep 300'
)");
  std::string run_id = RunUntilStartedThenKillScheduler(dir);
  pid_t repair = StartSluice({"repair", dir.path().string(), run_id}, dir / "repair.log");
  // The repair says it waits (its log is the handshake), then gets Ctrl-C.
  bool waiting = false;
  for (int i = 0; i < 20000 && !waiting; ++i) {
    waiting =
        ReadFile(dir / "repair.log").find("is still running; waiting for it") != std::string::npos;
    if (!waiting) usleep(1000);
  }
  ASSERT_TRUE(waiting) << ReadFile(dir / "repair.log");
  kill(repair, SIGINT);
  const int code = WaitExit(repair);
  pid_t orphan = ReadPid(dir / "a.pid");
  if (orphan > 0) kill(orphan, SIGKILL);
  EXPECT_EQ(code, 1) << ReadFile(dir / "repair.log");
  EXPECT_NE(ReadFile(dir / "repair.log")
                .find("stopped by Interrupt while waiting for attempt 1 of a (pid "),
            std::string::npos)
      << ReadFile(dir / "repair.log");
  EXPECT_NE(ReadFile(dir / "repair.log").find("nothing was changed"), std::string::npos);
  EXPECT_EQ(InstancesByName(ShowJson(dir, run_id))["a"]["state"], "running");
}

TEST(EngineRecovery, ALinkPlantedWhereAnAttemptLogGoesIsNotWrittenThrough) {
  TempDir dir;
  WriteEnginePipeline(dir,
                      "name: leak\ntasks:\n  - task_key: t\n    command: 'echo secret output'\n");
  auto r = RunCommand(Sluice() + " run " + Q(dir.path()) + " --date 2026-11-24");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string run_id = LatestRunId(dir);
  dir.Write("outside.txt", "");
  std::filesystem::create_symlink(dir / "outside.txt", dir / ("logs/" + run_id + "/t/2.log"));
  auto repair = RunCommand(Sluice() + " repair " + Q(dir.path()) + " " + run_id + " --tasks t");
  EXPECT_NE(repair.exit_code, 0) << repair.output;
  EXPECT_EQ(ReadFile(dir / "outside.txt"), "") << "the task's output went through the link";
}

TEST(EngineRecovery, AttemptKilledWithItsSchedulerIsRetriedByRepair) {
  TempDir dir;
  WriteEnginePipeline(dir, R"(name: crash2
tasks:
  - task_key: a
    command: 'if [ -e ok ]; then echo a >> side.txt; exit 0; fi; echo $$ > a.pid; echo started > a.fifo; exec sleep 300'
)");
  MakeFifo(dir / "a.fifo");
  pid_t pid = StartSluice({"run", dir.path().string(), "--date", "2026-11-24"}, dir / "run.log");
  ASSERT_EQ(ReadFifo(dir / "a.fifo"), "started");
  kill(pid, SIGKILL);
  WaitExit(pid);
  // The attempt dies too (as if the machine's OOM killer took both).
  pid_t a = ReadPid(dir / "a.pid");
  ASSERT_GT(a, 0);
  kill(a, SIGKILL);
  dir.Write("ok", "");
  std::string run_id = LatestRunId(dir);
  auto repair = RunCommand(Sluice() + " repair " + Q(dir.path()) + " " + run_id);
  EXPECT_EQ(repair.exit_code, 0) << repair.output;
  auto inst = InstancesByName(ShowJson(dir, run_id));
  EXPECT_EQ(inst["a"]["state"], "success");
  EXPECT_EQ(inst["a"]["attempts"], 2);
  EXPECT_EQ(inst["a"]["history"][0]["state"], "failed");
  EXPECT_EQ(ReadFile(dir / "side.txt"), "a\n");
}

TEST(EngineRecovery, SigintStopsTheRunRecordsItAndRepairFinishesIt) {
  TempDir dir;
  WriteEnginePipeline(
      dir, R"(name: stop
tasks:
  - task_key: a
    command: 'if [ -e ok ]; then exit 0; fi; echo $$ > a.pid; echo started > a.fifo; sleep 300'
  - task_key: b
    depends_on: [a]
    command: 'echo b >> side.txt'
)",
      "alerts:\n  - on: [failure]\n    command: 'echo \"$SLUICE_STATE\" > alerted'\n");
  MakeFifo(dir / "a.fifo");
  pid_t pid = StartSluice({"run", dir.path().string(), "--date", "2026-11-24"}, dir / "run.log");
  ASSERT_EQ(ReadFifo(dir / "a.fifo"), "started");
  kill(pid, SIGINT);
  EXPECT_EQ(WaitExit(pid), 1) << ReadFile(dir / "run.log");
  EXPECT_TRUE(ProcessGone(ReadPid(dir / "a.pid")));
  // The day was not loaded: whoever gets failure alerts hears of the cancelled run.
  EXPECT_EQ(ReadFile(dir / "alerted"), "cancelled\n");
  std::string run_id = LatestRunId(dir);
  auto show = ShowJson(dir, run_id);
  EXPECT_EQ(show["state"], "cancelled");
  auto inst = InstancesByName(show);
  EXPECT_EQ(inst["a"]["state"], "failed");
  EXPECT_NE(inst["a"]["error"].get<std::string>().find("cancelled"), std::string::npos);
  EXPECT_EQ(inst["b"]["state"], "pending");
  EXPECT_EQ(inst["b"]["error"],
            "not run: the run was cancelled first; `sluice repair` (or `sluice run --resume`) "
            "runs it");
  EXPECT_FALSE(std::filesystem::exists(dir / "side.txt"));
  dir.Write("ok", "");
  auto repair = RunCommand(Sluice() + " repair " + Q(dir.path()) + " " + run_id);
  EXPECT_EQ(repair.exit_code, 0) << repair.output;
  EXPECT_EQ(ReadFile(dir / "side.txt"), "b\n");
  EXPECT_EQ(InstancesByName(ShowJson(dir, run_id))["b"]["error"], "");
}

TEST(EngineRecovery, ACancelDuringARetrysBackoffEndsTheInstanceSayingSo) {
  TempDir dir;
  WriteEnginePipeline(dir, R"(name: backoff
tasks:
  - task_key: flaky
    command: 'echo "partner down" >&2; exit 1'
    max_retries: 3
    min_retry_interval_millis: 600000
)");
  pid_t pid = StartSluice({"run", dir.path().string(), "--date", "2026-11-24"}, dir / "run.log");
  // The scheduler's log says when it waits for the retry (the handshake), then Ctrl-C.
  bool waiting = false;
  for (int i = 0; i < 20000 && !waiting; ++i) {
    waiting = ReadFile(dir / "run.log").find("retrying in") != std::string::npos;
    if (!waiting) usleep(1000);
  }
  ASSERT_TRUE(waiting) << ReadFile(dir / "run.log");
  kill(pid, SIGINT);
  EXPECT_EQ(WaitExit(pid), 1) << ReadFile(dir / "run.log");
  std::string run_id = LatestRunId(dir);
  auto show = ShowJson(dir, run_id);
  EXPECT_EQ(show["state"], "cancelled");
  auto flaky = InstancesByName(show)["flaky"];
  EXPECT_EQ(flaky["state"], "pending");
  EXPECT_EQ(flaky["attempts"], 1);
  EXPECT_NE(flaky["error"].get<std::string>().find("exited with code 1"), std::string::npos)
      << flaky["error"];
  EXPECT_NE(flaky["error"].get<std::string>().find("the run was cancelled before the retry"),
            std::string::npos)
      << flaky["error"];
  // Its time ended with the run: show does not count on.
  EXPECT_GT(flaky["ended_ms"].get<int64_t>(), 0);
}

TEST(EngineRecovery, OnlyOneActiveRunPerPipelineAndDate) {
  TempDir dir;
  WriteEnginePipeline(dir, R"(name: single
tasks:
  - task_key: a
    command: 'echo started > a.fifo; cat go.fifo > /dev/null'
)");
  MakeFifo(dir / "a.fifo");
  MakeFifo(dir / "go.fifo");
  pid_t pid = StartSluice({"run", dir.path().string(), "--date", "2026-11-24"}, dir / "run.log");
  ASSERT_EQ(ReadFifo(dir / "a.fifo"), "started");
  std::string first = LatestRunId(dir);
  auto second = RunCommand(Sluice() + " run " + Q(dir.path()) + " --date 2026-11-24");
  EXPECT_EQ(second.exit_code, 2) << second.output;
  EXPECT_NE(second.output.find(first), std::string::npos) << second.output;
  EXPECT_NE(second.output.find("still active"), std::string::npos) << second.output;
  auto repair = RunCommand(Sluice() + " repair " + Q(dir.path()) + " " + first);
  EXPECT_EQ(repair.exit_code, 2) << repair.output;
  EXPECT_NE(repair.output.find("is active"), std::string::npos) << repair.output;
  WriteFifo(dir / "go.fifo", "go");
  EXPECT_EQ(WaitExit(pid), 0) << ReadFile(dir / "run.log");
  EXPECT_EQ(LatestRunId(dir), first) << "the refused run left nothing in the ledger";
}

TEST(EngineRecovery, FailureWebhookIsPostedOncePerRunWithTheFailedInstances) {
  HttpSink sink;
  TempDir dir;
  WriteEnginePipeline(dir, R"(name: alerting
tasks:
  - task_key: extract
    for_each: partner
    command: 'if [ "$SLUICE_PARTNER" = globex ]; then echo "globex archive truncated" >&2; exit 2; fi'
    max_retries: 2
    min_retry_interval_millis: 1
)",
                      "alerts:\n  - on: [failure]\n    webhook: ${SLUICE_TEST_WEBHOOK}\n");
  std::string secret_url = sink.Url("/services/T0KEN-s3cret");
  auto r = RunCommand("SLUICE_TEST_WEBHOOK='" + secret_url + "' " + Sluice() + " run " +
                      Q(dir.path()) + " --date 2026-11-24");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(r.output.find("T0KEN-s3cret"), std::string::npos) << "secrets never logged";
  auto reqs = sink.WaitFor(1);
  ASSERT_EQ(reqs.size(), 1u) << "one alert per run, not one per attempt";
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].path, "/services/T0KEN-s3cret");
  auto j = nlohmann::json::parse(reqs[0].body);
  EXPECT_EQ(j["event"], "failure");
  EXPECT_EQ(j["run_id"], LatestRunId(dir));
  EXPECT_EQ(j["workflow"], "alerting");
  EXPECT_EQ(j["date"], "2026-11-24");
  // Sent when globex's extract exhausted its retries, while the run was still going.
  EXPECT_EQ(j["state"], "running");
  ASSERT_EQ(j["failed"].size(), 1u);
  EXPECT_EQ(j["failed"][0]["task"], "extract");
  EXPECT_EQ(j["failed"][0]["partner"], "globex");
  EXPECT_EQ(j["failed"][0]["attempts"], 3);
  EXPECT_NE(j["failed"][0]["log_tail"].get<std::string>().find("globex archive truncated"),
            std::string::npos);
}

TEST(EngineRecovery, UnreachableWebhookNeverFailsASuccessfulRun) {
  int port;
  {
    HttpSink probe;
    port = probe.port();
  }
  TempDir dir;
  WriteEnginePipeline(dir, "name: ok\ntasks:\n  - task_key: a\n    command: 'true'\n",
                      "alerts:\n  - on: [success]\n    webhook: http://127.0.0.1:" +
                          std::to_string(port) + "/x\n    timeout_seconds: 2\n");
  auto r = RunCommand(Sluice() + " run " + Q(dir.path()) + " --date 2026-11-24");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("was not delivered"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

using namespace testing;  // NOLINT: test helpers

TEST(EngineRecovery, RunResumeRepairsTheUnfinishedRunOfThatDate) {
  TempDir dir;
  WriteEnginePipeline(dir, R"(name: resume
tasks:
  - task_key: a
    command: 'echo a >> side.txt'
  - task_key: b
    depends_on: [a]
    command: 'test -e fixed && echo b >> side.txt'
)");
  auto first = RunCommand(Sluice() + " run " + Q(dir.path()) + " --date 2026-11-24");
  EXPECT_EQ(first.exit_code, 1) << first.output;
  std::string run_id = LatestRunId(dir);
  dir.Write("fixed", "");
  auto resumed = RunCommand(Sluice() + " run " + Q(dir.path()) + " --date 2026-11-24 --resume");
  EXPECT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("run " + run_id + ": success"), std::string::npos)
      << resumed.output;
  EXPECT_EQ(LatestRunId(dir), run_id) << "no new run was created";
  EXPECT_EQ(ReadFile(dir / "side.txt"), "a\nb\n");
  // Done: a second --resume (cron making sure the date is loaded) repeats nothing.
  auto again = RunCommand(Sluice() + " run " + Q(dir.path()) + " --date 2026-11-24 --resume");
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("run " + run_id + " of 2026-11-24 already succeeded; nothing to do"),
            std::string::npos)
      << again.output;
  EXPECT_EQ(LatestRunId(dir), run_id);
  EXPECT_EQ(ReadFile(dir / "side.txt"), "a\nb\n");
  // Another set of partners is another run: --resume starts it instead of touching this one.
  auto other = RunCommand(Sluice() + " run " + Q(dir.path()) +
                          " --date 2026-11-24 --partners globex --resume");
  EXPECT_EQ(other.exit_code, 0) << other.output;
  EXPECT_NE(LatestRunId(dir), run_id);
  EXPECT_EQ(ReadFile(dir / "side.txt"), "a\nb\na\nb\n");
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

using namespace testing;  // NOLINT: test helpers

TEST(EngineRecovery, SigtermStopsTheRunLikeSigint) {
  TempDir dir;
  WriteEnginePipeline(dir, R"(name: term
tasks:
  - task_key: a
    for_each: partner
    command: 'echo $$ > "$SLUICE_PARTNER.pid"; echo started > "$SLUICE_PARTNER.fifo"; sleep 300'
)");
  MakeFifo(dir / "acme.fifo");
  MakeFifo(dir / "globex.fifo");
  pid_t pid = StartSluice(
      {"run", dir.path().string(), "--date", "2026-11-24", "--parallelism", "2"}, dir / "run.log");
  ASSERT_EQ(ReadFifo(dir / "acme.fifo"), "started");
  ASSERT_EQ(ReadFifo(dir / "globex.fifo"), "started");
  kill(pid, SIGTERM);
  EXPECT_EQ(WaitExit(pid), 1) << ReadFile(dir / "run.log");
  EXPECT_TRUE(ProcessGone(ReadPid(dir / "acme.pid")));
  EXPECT_TRUE(ProcessGone(ReadPid(dir / "globex.pid")));
  auto show = ShowJson(dir, LatestRunId(dir));
  EXPECT_EQ(show["state"], "cancelled");
  for (const auto& [name, inst] : InstancesByName(show)) {
    EXPECT_EQ(inst["state"], "failed") << name;
    EXPECT_EQ(inst["history"].size(), 1u) << name;
    EXPECT_EQ(inst["history"][0]["state"], "failed") << name;
  }
}

TEST(EngineRecovery, AnUnknownExecutorIsRefusedBeforeAnyRunStarts) {
  TempDir dir;
  WriteEnginePipeline(dir, "name: x\ntasks:\n  - task_key: a\n    command: 'true'\n");
  auto r = RunCommand(Sluice() + " run " + Q(dir.path()) + " --executor kubernetes");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("unknown executor \"kubernetes\"; use one of local, slurm"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(LatestRunId(dir), "") << "nothing half-written in the ledger";
}

TEST(EngineRecovery, WithoutTheFlagTheExecutorComesFromSluiceYaml) {
  TempDir dir;
  WriteEnginePipeline(dir, "name: x\ntasks:\n  - task_key: a\n    command: 'true'\n",
                      "executor: {type: slurm, partition: etl}\n");
  // No cluster here: an sbatch that refuses everything comes first on PATH. sluice.yaml's slurm
  // is used, so the attempt fails saying so; the flag chooses local instead and the run succeeds.
  dir.Write("bin/sbatch", "#!/bin/sh\necho 'sbatch: error: no cluster here' >&2\nexit 1\n");
  std::filesystem::permissions(dir / "bin/sbatch", std::filesystem::perms::owner_all);
  const std::string env = "PATH=" + (dir / "bin").string() + ":$PATH ";
  auto r = RunCommand(env + Sluice() + " run " + Q(dir.path()) + " --date 2026-11-24");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  auto show = ShowJson(dir, LatestRunId(dir));
  EXPECT_NE(InstancesByName(show).at("a")["error"].get<std::string>().find("no cluster here"),
            std::string::npos)
      << show.dump(1);
  r = RunCommand(env + Sluice() + " run " + Q(dir.path()) + " --date 2026-11-25 --executor local");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST(EngineRecovery, ShowJsonNamesEachAttemptsExecutorAndItsOpaqueId) {
  TempDir dir;
  WriteEnginePipeline(dir, "name: x\ntasks:\n  - task_key: a\n    command: 'true'\n",
                      "executor: {type: local}\n");
  auto r = RunCommand(Sluice() + " run " + Q(dir.path()) + " --date 2026-11-24");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto show = ShowJson(dir, LatestRunId(dir));
  const nlohmann::json attempt = InstancesByName(show).at("a")["history"][0];
  EXPECT_EQ(attempt["executor"], "local");
  ASSERT_TRUE(attempt["pid"].get<int>() > 0) << attempt.dump();
  EXPECT_EQ(attempt["executor_id"], std::to_string(attempt["pid"].get<int>())) << attempt.dump();
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

using namespace testing;  // NOLINT: test helpers

TEST(EngineRecovery, SigintDuringALongBackoffStopsTheRunAtOnce) {
  TempDir dir;
  WriteEnginePipeline(dir, R"(name: backoff
tasks:
  - task_key: a
    command: 'echo failing > a.fifo; exit 1'
    max_retries: 3
    min_retry_interval_millis: 600000
)");
  MakeFifo(dir / "a.fifo");
  pid_t pid = StartSluice({"run", dir.path().string(), "--date", "2026-11-24"}, dir / "run.log");
  ASSERT_EQ(ReadFifo(dir / "a.fifo"), "failing");
  kill(pid, SIGINT);
  // Without an interruptible wait this would block for the ten-minute backoff (ctest timeout).
  EXPECT_EQ(WaitExit(pid), 1) << ReadFile(dir / "run.log");
  auto show = ShowJson(dir, LatestRunId(dir));
  EXPECT_EQ(show["state"], "cancelled");
  EXPECT_EQ(InstancesByName(show)["a"]["attempts"], 1);
}

}  // namespace
}  // namespace sluice
