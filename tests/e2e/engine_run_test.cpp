// End-to-end tests of `sluice run`, `show`, `runs` and `logs` with command-task workflows.
#include <gtest/gtest.h>
#include <signal.h>

#include "e2e/engine_e2e_util.h"

namespace sluice {
namespace {

using namespace testing;  // NOLINT: test helpers

// The seed pipeline's DAG with command stand-ins. The three merges of one partner meet at a
// barrier that only opens when all three are running, so they must be concurrent to succeed.
constexpr const char* kSeedWorkflow = R"(name: partner_ingestion
tasks:
  - task_key: pre_set_date
    builtin: set_date
  - task_key: wait_for_all_sources
    depends_on: [pre_set_date]
    command: 'echo waited'
  - task_key: batch_extract
    depends_on: [{task_key: wait_for_all_sources}]
    for_each: partner
    command: 'echo "extract $SLUICE_PARTNER"'
  - task_key: merge_table_1
    depends_on: [batch_extract]
    for_each: partner
    command: &merge 'mkdir -p barrier; touch "barrier/$SLUICE_PARTNER.$SLUICE_TASK"; for i in $(seq 1 600); do [ $(ls barrier | grep -c "^$SLUICE_PARTNER[.]") -ge 3 ] && exit 0; sleep 0.05; done; echo "barrier never opened" >&2; exit 1'
  - task_key: merge_table_2
    depends_on: [batch_extract]
    for_each: partner
    command: *merge
  - task_key: merge_table_3
    depends_on: [batch_extract]
    for_each: partner
    command: *merge
  - task_key: merge_summary
    depends_on: [merge_table_1, merge_table_2, merge_table_3]
    command: 'echo summary'
  - task_key: post_merge_check
    depends_on: [merge_summary]
    command: 'echo checked'
)";

TEST(EngineRun, SeedDagRunsInDependencyOrderWithMergesConcurrent) {
  TempDir dir;
  WriteEnginePipeline(dir, kSeedWorkflow);
  auto r = RunCommand(Sluice() + " run " + Q(dir.path()) + " --date 2026-11-24 --parallelism 6");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string run_id = LatestRunId(dir);
  ASSERT_FALSE(run_id.empty());
  EXPECT_NE(r.output.find("run " + run_id + ": success"), std::string::npos) << r.output;
  auto show = ShowJson(dir, run_id);
  EXPECT_EQ(show["state"], "success");
  EXPECT_EQ(show["date"], "2026-11-24");
  auto inst = InstancesByName(show);
  ASSERT_EQ(inst.size(), 12u);  // 3 single + 2 partners x (extract + 3 merges) + 0
  for (const auto& [name, i] : inst) {
    EXPECT_EQ(i["state"], "success") << name;
    EXPECT_EQ(i["attempts"], 1) << name;
  }
  auto start = [&](const std::string& n) { return inst[n]["started_ms"].get<int64_t>(); };
  auto end = [&](const std::string& n) { return inst[n]["ended_ms"].get<int64_t>(); };
  EXPECT_GE(start("wait_for_all_sources"), end("pre_set_date"));
  for (const std::string p : {"acme", "globex"}) {
    EXPECT_GE(start("batch_extract[" + p + "]"), end("wait_for_all_sources"));
    int64_t latest_start = 0, earliest_end = INT64_MAX;
    for (int m = 1; m <= 3; ++m) {
      std::string name = "merge_table_" + std::to_string(m) + "[" + p + "]";
      EXPECT_GE(start(name), end("batch_extract[" + p + "]")) << name;
      EXPECT_GE(start("merge_summary"), end(name)) << name;
      latest_start = std::max(latest_start, start(name));
      earliest_end = std::min(earliest_end, end(name));
    }
    // All three intervals share a moment: the ledger's times show them concurrent.
    EXPECT_LT(latest_start, earliest_end) << p;
  }
  EXPECT_GE(start("post_merge_check"), end("merge_summary"));
  EXPECT_EQ(inst["pre_set_date"]["result"]["date"], "2026-11-24");

  // The human views.
  auto table = RunCommand(Sluice() + " show " + Q(dir.path()) + " " + run_id);
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_NE(table.output.find("merge_table_2"), std::string::npos) << table.output;
  auto runs = RunCommand(Sluice() + " runs " + Q(dir.path()));
  EXPECT_NE(runs.output.find(run_id), std::string::npos) << runs.output;
  auto logs = RunCommand(Sluice() + " logs " + Q(dir.path()) + " " + run_id +
                         " batch_extract --partner globex");
  EXPECT_EQ(logs.exit_code, 0);
  EXPECT_EQ(logs.output, "extract globex\n");
  auto no_partner =
      RunCommand(Sluice() + " logs " + Q(dir.path()) + " " + run_id + " batch_extract");
  EXPECT_EQ(no_partner.exit_code, 2);
  EXPECT_NE(no_partner.output.find("--partner"), std::string::npos) << no_partner.output;
}

TEST(EngineRun, ParallelismTwoIsReachedAndNeverExceeded) {
  std::string wf = "name: par\ntasks:\n";
  for (int i = 1; i <= 6; ++i) {
    // Each task waits (bounded) for a peer to have arrived, so pairs overlap when allowed to.
    wf += "  - task_key: t" + std::to_string(i) +
          "\n    command: 'mkdir -p arrived; touch arrived/$SLUICE_TASK; for i in $(seq 1 100); "
          "do [ $(ls arrived | wc -l) -ge 2 ] && break; sleep 0.02; done'\n";
  }
  TempDir dir;
  WriteEnginePipeline(dir, wf);
  auto r = RunCommand(Sluice() + " run " + Q(dir.path()) + " --date 2026-11-24 --parallelism 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto show = ShowJson(dir, LatestRunId(dir));
  EXPECT_EQ(MaxConcurrentAttempts(show), 2);
}

TEST(EngineRun, AClosedOutputPipeDoesNotKillTheScheduler) {
  // `sluice run ... | head -1`: the reader goes away after one line. The scheduler used to die
  // of SIGPIPE and leave the run `running`; it must finish the run (and tasks still get their
  // own default SIGPIPE: `yes | head` ends).
  TempDir dir;
  WriteEnginePipeline(dir, R"(name: piped
tasks:
  - task_key: a
    command: 'yes | head -3 > /dev/null; echo a'
  - task_key: b
    depends_on: [a]
    command: 'echo b'
  - task_key: c
    depends_on: [b]
    command: 'echo c'
)");
  auto r = RunCommand("(" + Sluice() + " run " + Q(dir.path()) + " --date 2026-11-24; echo $? > " +
                      Q(dir.path() / "rc") + ") 2>&1 | head -c 1");
  EXPECT_EQ(ReadFile(dir.path() / "rc"), "0\n");
  auto show = ShowJson(dir, LatestRunId(dir));
  EXPECT_EQ(show["state"], "success") << show.dump();
}

TEST(EngineRun, ACommandKilledByASignalIsRecordedWithThatSignal) {
  TempDir dir;
  WriteEnginePipeline(dir,
                      "name: sig\ntasks:\n  - task_key: crash\n    command: 'kill -SEGV $$'\n");
  auto r = RunCommand(Sluice() + " run " + Q(dir.path()) + " --date 2026-11-24");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  auto inst = InstancesByName(ShowJson(dir, LatestRunId(dir)));
  const auto& h = inst["crash"]["history"][0];
  EXPECT_EQ(h["signal"], SIGSEGV) << h.dump();  // not "exit code 139, signal 0"
  EXPECT_NE(h["error"].get<std::string>().find("signal 11"), std::string::npos) << h.dump();
}

TEST(EngineRun, ExhaustedRetriesExitOneAndShowTheError) {
  TempDir dir;
  WriteEnginePipeline(dir, R"(name: fail
tasks:
  - task_key: extract
    for_each: partner
    command: 'echo "archive for $SLUICE_PARTNER is corrupt" >&2; exit 3'
    max_retries: 1
    min_retry_interval_millis: 1
  - task_key: merge
    depends_on: [extract]
    for_each: partner
    command: 'true'
)");
  auto r = RunCommand(Sluice() + " run " + Q(dir.path()) + " --date 2026-11-24 --partners acme");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  std::string run_id = LatestRunId(dir);
  auto inst = InstancesByName(ShowJson(dir, run_id));
  ASSERT_EQ(inst.size(), 2u) << "--partners acme keeps globex out";
  EXPECT_EQ(inst["extract[acme]"]["state"], "failed");
  EXPECT_EQ(inst["extract[acme]"]["attempts"], 2);
  EXPECT_EQ(inst["merge[acme]"]["state"], "upstream_failed");
  auto table = RunCommand(Sluice() + " show " + Q(dir.path()) + " " + run_id);
  EXPECT_NE(table.output.find("archive for acme is corrupt"), std::string::npos) << table.output;
  auto first = RunCommand(Sluice() + " logs " + Q(dir.path()) + " " + run_id +
                          " extract --partner acme --attempt 1");
  EXPECT_EQ(first.output, "archive for acme is corrupt\n");
}

TEST(EngineRun, PermanentBuiltinFailuresAreNotRetried) {
  // A builtin that fails with a code no retry can cure (here: SQL naming a table that does not
  // exist, InvalidArgument) ends after one attempt; a command's failure is still retried.
  TempDir dir;
  WriteEnginePipeline(dir, R"(name: permanent
tasks:
  - task_key: transform
    builtin: sql
    params: {sql: "UPDATE no_such_table SET x = 1"}
    max_retries: 3
    min_retry_interval_millis: 1
  - task_key: flaky
    command: 'exit 1'
    max_retries: 1
    min_retry_interval_millis: 1
)");
  auto r = RunCommand(Sluice() + " run " + Q(dir.path()) + " --date 2026-11-24");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  auto inst = InstancesByName(ShowJson(dir, LatestRunId(dir)));
  EXPECT_EQ(inst["transform"]["state"], "failed");
  EXPECT_EQ(inst["transform"]["attempts"], 1) << inst["transform"].dump();
  EXPECT_NE(inst["transform"]["error"].get<std::string>().find("not retried"), std::string::npos)
      << inst["transform"].dump();
  EXPECT_EQ(inst["flaky"]["attempts"], 2);
}

TEST(EngineRun, TimeoutKillsTheWholeProcessGroupEvenWhenSigtermIsIgnored) {
  TempDir dir;
  WriteEnginePipeline(dir, R"(name: slow
tasks:
  - task_key: stubborn
    command: 'trap "" TERM; echo $$ > sh.pid; sleep 300 & echo $! > child.pid; wait; wait; wait'
    timeout_seconds: 1
)");
  auto r = RunCommand(Sluice() + " run " + Q(dir.path()) +
                      " --date 2026-11-24 --kill-grace-seconds 0.5");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  auto inst = InstancesByName(ShowJson(dir, LatestRunId(dir)));
  EXPECT_EQ(inst["stubborn"]["state"], "timed_out");
  EXPECT_EQ(inst["stubborn"]["attempts"], 1) << "retry_on_timeout is false";
  EXPECT_NE(inst["stubborn"]["error"].get<std::string>().find("SIGKILL"), std::string::npos)
      << inst["stubborn"]["error"];
  pid_t sh = ReadPid(dir / "sh.pid");
  pid_t child = ReadPid(dir / "child.pid");
  ASSERT_GT(sh, 0);
  ASSERT_GT(child, 0);
  EXPECT_TRUE(ProcessGone(sh)) << sh;
  EXPECT_TRUE(ProcessGone(child)) << "the sleep ignoring SIGTERM must be killed too: " << child;
}

TEST(EngineRun, TimedOutAttemptsAreRetriedWhenAsked) {
  TempDir dir;
  WriteEnginePipeline(dir, R"(name: slow
tasks:
  - task_key: slow
    command: 'if [ -e second ]; then exit 0; fi; touch second; exec sleep 300'
    timeout_seconds: 1
    retry_on_timeout: true
    max_retries: 1
    min_retry_interval_millis: 1
)");
  auto r = RunCommand(Sluice() + " run " + Q(dir.path()) +
                      " --date 2026-11-24 --kill-grace-seconds 0.2");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  auto inst = InstancesByName(ShowJson(dir, LatestRunId(dir)));
  EXPECT_EQ(inst["slow"]["attempts"], 2);
  EXPECT_EQ(inst["slow"]["history"][0]["state"], "timed_out");
  EXPECT_EQ(inst["slow"]["history"][1]["state"], "success");
}

TEST(EngineRun, UsageAndConfigErrorsExitTwo) {
  TempDir dir;
  WriteEnginePipeline(dir, "name: x\ntasks:\n  - task_key: a\n    command: 'true'\n");
  auto unknown = RunCommand(Sluice() + " run " + Q(dir.path()) + " --partners acme,globx");
  EXPECT_EQ(unknown.exit_code, 2) << unknown.output;
  EXPECT_NE(unknown.output.find("did you mean \"globex\""), std::string::npos) << unknown.output;
  auto bad_date = RunCommand(Sluice() + " run " + Q(dir.path()) + " --date 2026-02-30");
  EXPECT_EQ(bad_date.exit_code, 2) << bad_date.output;
  // An empty --partners (a script's empty variable) is not "every partner".
  auto none = RunCommand(Sluice() + " run " + Q(dir.path()) + " --partners ''");
  EXPECT_EQ(none.exit_code, 2) << none.output;
  EXPECT_NE(none.output.find("--partners names no partner"), std::string::npos) << none.output;
  auto zero = RunCommand(Sluice() + " run " + Q(dir.path()) + " --parallelism 0");
  EXPECT_EQ(zero.exit_code, 2) << zero.output;
  EXPECT_EQ(zero.output.find("1797693"), std::string::npos) << zero.output;
  dir.Write("workflow.yaml",
            "name: x\ntasks:\n  - task_key: a\n    depends_on: [b]\n    command: 'true'\n");
  auto bad = RunCommand(Sluice() + " run " + Q(dir.path()));
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("workflow.yaml:"), std::string::npos) << bad.output;
  auto no_run = RunCommand(Sluice() + " show " + Q(dir.path()) + " nope");
  EXPECT_EQ(no_run.exit_code, 2);
  EXPECT_EQ(RunCommand(Sluice() + " runs /nonexistent/pipeline").exit_code, 2);
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

using namespace testing;  // NOLINT: test helpers

TEST(EngineRun, ShowReportsTheProgressOfRunningAttempts) {
  TempDir dir;
  WriteEnginePipeline(dir, R"(name: progress
tasks:
  - task_key: loading
    command: 'printf "{\"bytes_done\":5,\"bytes_total\":10,\"rows_done\":3,\"note\":\"orders.csv\"}" > "$SLUICE_PROGRESS_FILE"; echo started > a.fifo; cat go.fifo > /dev/null'
)");
  MakeFifo(dir / "a.fifo");
  MakeFifo(dir / "go.fifo");
  pid_t pid = StartSluice({"run", dir.path().string(), "--date", "2026-11-24"}, dir / "run.log");
  ASSERT_EQ(ReadFifo(dir / "a.fifo"), "started");
  std::string run_id = LatestRunId(dir);
  auto inst = InstancesByName(ShowJson(dir, run_id));
  EXPECT_EQ(inst["loading"]["state"], "running");
  EXPECT_EQ(inst["loading"]["progress"]["rows_done"], 3);
  EXPECT_EQ(inst["loading"]["progress"]["bytes_total"], 10);
  auto table = RunCommand(Sluice() + " show " + Q(dir.path()) + " " + run_id);
  EXPECT_NE(table.output.find("3 rows (orders.csv)"), std::string::npos) << table.output;
  WriteFifo(dir / "go.fifo", "go");
  EXPECT_EQ(WaitExit(pid), 0) << ReadFile(dir / "run.log");
  inst = InstancesByName(ShowJson(dir, run_id));
  EXPECT_TRUE(inst["loading"]["progress"].is_null());
}

}  // namespace
}  // namespace sluice
