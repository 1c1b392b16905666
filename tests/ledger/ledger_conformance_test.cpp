// One conformance suite for every ledger back-end: SQLite, and PostgreSQL on the test server
// (tests/pg/pg_test_server.h). The SQLite-only migration test is in
// sqlite_ledger_migration_test.cpp.
#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "ledger/ledger.h"
#include "pg/pg_test_server.h"
#include "testing/temp_dir.h"

namespace sluice::ledger {
namespace {

struct Backend {
  std::string name;
  std::function<std::string(const testing::TempDir&)> url;
};

class LedgerConformance : public ::testing::TestWithParam<Backend> {
 protected:
  std::unique_ptr<Ledger> Open() {
    auto l = OpenLedger(GetParam().url(dir_), dir_.path());
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    return l.ok() ? std::move(l).value() : nullptr;
  }
  static RunRecord Run(const std::string& id, const std::string& date, int64_t created) {
    RunRecord r;
    r.run_id = id;
    r.workflow = "wf";
    r.pipeline_dir = "/p";
    r.logical_date = date;
    r.params = R"({"partners":["a","b"]})";
    r.created_ms = created;
    r.scheduler_pid = 100;
    r.host = "h";
    return r;
  }
  static InstanceRecord Inst(const std::string& run, const std::string& task,
                             const std::string& partner) {
    InstanceRecord i;
    i.run_id = run;
    i.task_key = task;
    i.partner = partner;
    return i;
  }
  testing::TempDir dir_;
};

TEST_P(LedgerConformance, CreatedRunAndInstancesReadBackInOrder) {
  auto l = Open();
  ASSERT_TRUE(l);
  ASSERT_TRUE(l->CreateRun(Run("r1", "2026-11-24", 1000),
                           {Inst("r1", "z_first", ""), Inst("r1", "a_second", "acme"),
                            Inst("r1", "a_second", "globex")})
                  .ok());
  auto run = l->GetRun("r1");
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->workflow, "wf");
  EXPECT_EQ(run->logical_date, "2026-11-24");
  EXPECT_EQ(run->params, R"({"partners":["a","b"]})");
  EXPECT_EQ(run->state, "running");
  EXPECT_EQ(run->scheduler_pid, 100);
  auto inst = l->ListInstances("r1");
  ASSERT_TRUE(inst.ok());
  ASSERT_EQ(inst->size(), 3u);
  EXPECT_EQ((*inst)[0].task_key, "z_first");
  EXPECT_EQ((*inst)[1].partner, "acme");
  EXPECT_EQ((*inst)[2].partner, "globex");
  EXPECT_EQ((*inst)[2].state, State::kPending);
}

TEST_P(LedgerConformance, SecondActiveRunOfTheSameDateIsRefusedNamingTheFirst) {
  auto l = Open();
  ASSERT_TRUE(l->CreateRun(Run("r1", "2026-11-24", 1000), {}).ok());
  Status st = l->CreateRun(Run("r2", "2026-11-24", 2000), {});
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(st.message().find("r1"), std::string::npos) << st.message();
  EXPECT_TRUE(l->CreateRun(Run("r3", "2026-11-25", 3000), {}).ok()) << "other dates may run";
  EXPECT_EQ(l->GetRun("r2").status().code(), StatusCode::kNotFound) << "nothing half-written";
  ASSERT_TRUE(l->FinishRun("r1", "failed", 5000).ok());
  EXPECT_TRUE(l->CreateRun(Run("r2", "2026-11-24", 6000), {}).ok());
}

TEST_P(LedgerConformance, ListRunsIsNewestFirstAndLimited) {
  auto l = Open();
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(
        l->CreateRun(Run("r" + std::to_string(i), "2026-11-2" + std::to_string(i), i * 1000), {})
            .ok());
  }
  auto runs = l->ListRuns(2);
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[0].run_id, "r3");
  EXPECT_EQ((*runs)[1].run_id, "r2");
}

TEST_P(LedgerConformance, RecordAttemptStoresAttemptResultAndInstanceTogether) {
  auto l = Open();
  ASSERT_TRUE(l->CreateRun(Run("r1", "2026-11-24", 1000), {Inst("r1", "t", "acme")}).ok());
  InstanceRecord i = Inst("r1", "t", "acme");
  i.state = State::kSuccess;
  i.attempts = 2;
  AttemptRecord a;
  a.run_id = "r1";
  a.task_key = "t";
  a.partner = "acme";
  a.attempt = 2;
  a.executor_id = "4242";
  a.pid = 4242;
  a.state = State::kSuccess;
  a.exit_code = 0;
  a.log_path = "/logs/2.log";
  a.result = R"({"rows":17})";
  ASSERT_TRUE(l->RecordAttempt(i, a).ok());
  a.attempt = 1;
  a.state = State::kFailed;
  a.exit_code = 1;
  a.signal = 0;
  a.error = "boom";
  a.result = "";
  i.state = State::kSuccess;
  ASSERT_TRUE(l->RecordAttempt(i, a).ok());
  auto attempts = l->ListAttempts("r1");
  ASSERT_TRUE(attempts.ok());
  ASSERT_EQ(attempts->size(), 2u);
  EXPECT_EQ((*attempts)[0].attempt, 1);
  EXPECT_EQ((*attempts)[0].error, "boom");
  EXPECT_EQ((*attempts)[0].result, "{}");
  EXPECT_EQ((*attempts)[1].result, R"({"rows":17})");
  EXPECT_EQ((*attempts)[1].executor_id, "4242");
  EXPECT_EQ((*attempts)[1].executor, "local");
  EXPECT_EQ((*attempts)[1].pid, 4242);
  auto inst = l->ListInstances("r1");
  ASSERT_EQ(inst->size(), 1u);
  EXPECT_EQ((*inst)[0].state, State::kSuccess);
  EXPECT_EQ((*inst)[0].attempts, 2);
}

TEST_P(LedgerConformance, ClaimRunIsACompareAndSetOnTheWholeOwnerAndMovesTheHost) {
  auto l = Open();
  RunRecord run = Run("r1", "2026-11-24", 1000);
  run.scheduler_start = "boot/17";
  ASSERT_TRUE(l->CreateRun(run, {}).ok());
  ASSERT_TRUE(l->FinishRun("r1", "failed", 2000).ok());
  const RunOwner first{"h", 100, "boot/17"};
  const RunOwner second{"other-host", 200, "boot2/5"};
  EXPECT_EQ(l->GetRun("r1")->Owner(), first);
  // Same pid and host but another start time: a recycled pid is not the owner.
  EXPECT_EQ(l->ClaimRun("r1", RunOwner{"h", 100, "boot/99"}, second, 3000).code(),
            StatusCode::kAlreadyExists);
  EXPECT_TRUE(l->ClaimRun("r1", first, second, 3000).ok());
  auto claimed = l->GetRun("r1");
  EXPECT_EQ(claimed->state, "running");
  EXPECT_EQ(claimed->Owner(), second);
  EXPECT_EQ(claimed->host, "other-host");
  EXPECT_EQ(claimed->heartbeat_ms, 3000);
  EXPECT_EQ(claimed->ended_ms, 0);
  EXPECT_EQ(l->ClaimRun("r1", first, RunOwner{"h", 300, "x"}, 4000).code(),
            StatusCode::kAlreadyExists);
}

TEST_P(LedgerConformance, HeartbeatRenewsTheLeaseOnlyForTheCurrentOwner) {
  auto l = Open();
  RunRecord run = Run("r1", "2026-11-24", 1000);
  run.heartbeat_ms = 1000;
  ASSERT_TRUE(l->CreateRun(run, {}).ok());
  EXPECT_TRUE(l->Heartbeat("r1", run.Owner(), 5000).ok());
  EXPECT_EQ(l->GetRun("r1")->heartbeat_ms, 5000);
  EXPECT_EQ(l->Heartbeat("r1", RunOwner{"h", 999, ""}, 9000).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(l->GetRun("r1")->heartbeat_ms, 5000);
}

TEST_P(LedgerConformance, CancelRequestIsRecordedOnARunningRunOnlyAndClearedByAClaim) {
  auto l = Open();
  ASSERT_TRUE(l->CreateRun(Run("r1", "2026-11-24", 1000), {}).ok());
  EXPECT_EQ(l->GetRun("r1")->cancel_requested_ms, 0);
  ASSERT_TRUE(l->RequestCancel("r1", 7000).ok());
  EXPECT_EQ(l->GetRun("r1")->cancel_requested_ms, 7000);
  ASSERT_TRUE(l->RequestCancel("r1", 8000).ok());  // a second request keeps the first time
  EXPECT_EQ(l->GetRun("r1")->cancel_requested_ms, 7000);
  EXPECT_EQ(l->RequestCancel("nope", 1).code(), StatusCode::kNotFound);
  ASSERT_TRUE(l->FinishRun("r1", "cancelled", 9000).ok());
  Status again = l->RequestCancel("r1", 9500);
  EXPECT_EQ(again.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(again.message().find("cancelled"), std::string::npos) << again.message();
  // A repair claims the run again: the old request must not stop it.
  RunRecord r = *l->GetRun("r1");
  ASSERT_TRUE(l->ClaimRun("r1", r.Owner(), RunOwner{"h", 2, ""}, 10000).ok());
  EXPECT_EQ(l->GetRun("r1")->cancel_requested_ms, 0);
}

TEST_P(LedgerConformance, UnfinishedAttemptsAreTheRunningAndQueuedOnesOfThatRun) {
  auto l = Open();
  ASSERT_TRUE(l->CreateRun(Run("r1", "2026-11-24", 1000), {Inst("r1", "t", "a")}).ok());
  ASSERT_TRUE(l->CreateRun(Run("r2", "2026-11-25", 1000), {Inst("r2", "t", "a")}).ok());
  auto record = [&](const std::string& run, int n, State state) {
    AttemptRecord a;
    a.run_id = run;
    a.task_key = "t";
    a.partner = "a";
    a.attempt = n;
    a.state = state;
    a.executor_id = "job-" + std::to_string(n);
    a.executor = "fake";
    ASSERT_TRUE(l->RecordAttempt(Inst(run, "t", "a"), a).ok());
  };
  record("r1", 1, State::kFailed);
  record("r1", 2, State::kRunning);
  record("r2", 1, State::kRunning);
  auto unfinished = l->ListUnfinishedAttempts("r1");
  ASSERT_TRUE(unfinished.ok());
  ASSERT_EQ(unfinished->size(), 1u);
  EXPECT_EQ((*unfinished)[0].attempt, 2);
  EXPECT_EQ((*unfinished)[0].executor_id, "job-2");
  EXPECT_EQ((*unfinished)[0].executor, "fake");
}

TEST_P(LedgerConformance, ANewLedgerIsAtTheCurrentSchemaVersion) {
  auto l = Open();
  auto v = l->SchemaVersion();
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, kLedgerSchemaVersion);
}

TEST_P(LedgerConformance, DataSurvivesReopening) {
  {
    auto l = Open();
    ASSERT_TRUE(l->CreateRun(Run("r1", "2026-11-24", 1000), {Inst("r1", "t", "")}).ok());
  }
  auto l = Open();
  EXPECT_TRUE(l->GetRun("r1").ok());
  EXPECT_EQ(l->ListInstances("r1")->size(), 1u);
}

TEST_P(LedgerConformance, UnknownRunIsNotFound) {
  auto l = Open();
  auto r = l->GetRun("nope");
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("sluice runs"), std::string::npos);
  EXPECT_TRUE(l->ListInstances("nope")->empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, LedgerConformance,
                         ::testing::Values(Backend{"sqlite",
                                                   [](const testing::TempDir&) {
                                                     return std::string(
                                                         "sqlite://./state/ledger.db");
                                                   }},
                                           // A fresh database on the test server per test.
                                           Backend{"postgresql",
                                                   [](const testing::TempDir& dir) {
                                                     return testing::PgDatabaseFor(dir.path());
                                                   }}),
                         [](const ::testing::TestParamInfo<Backend>& p) { return p.param.name; });

TEST(LedgerFactory, UnknownSchemesAndPasswordsInPostgresUrlsAreClearErrors) {
  testing::TempDir dir;
  auto bad = OpenLedger("mysql://x", dir.path());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("sqlite://"), std::string::npos);
  auto pg = OpenLedger("postgresql://u:s3cret@h/db", dir.path());
  EXPECT_EQ(pg.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(pg.status().message().find("PGPASSWORD"), std::string::npos);
  EXPECT_EQ(pg.status().message().find("s3cret"), std::string::npos);
  EXPECT_EQ(OpenLedger("sqlite://", dir.path()).status().code(), StatusCode::kInvalidArgument);
}

TEST(LedgerFactory, UnwritableLocationIsAnIoErrorNamingTheFile) {
  auto l = OpenLedger("sqlite:///proc/sluice-no/ledger.db", "/");
  EXPECT_FALSE(l.ok());
  EXPECT_NE(l.status().message().find("/proc/sluice-no/ledger.db"), std::string::npos)
      << l.status().ToString();
}

TEST(LedgerStates, NamesRoundTrip) {
  for (State s : {State::kPending, State::kQueued, State::kRunning, State::kSuccess, State::kFailed,
                  State::kTimedOut, State::kUpstreamFailed, State::kSkipped, State::kCancelled}) {
    auto back = ParseState(StateName(s));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, s);
  }
  EXPECT_FALSE(ParseState("done").ok());
  EXPECT_TRUE(IsFailure(State::kUpstreamFailed));
  EXPECT_FALSE(IsTerminal(State::kQueued));
  EXPECT_TRUE(IsTerminal(State::kCancelled));
  EXPECT_TRUE(IsFailure(State::kCancelled));
  EXPECT_EQ(StateName(State::kCancelled), "cancelled");
}

}  // namespace
TEST(LedgerFactory, ADamagedLedgerIsCorruptAndSaysWhatMovingItAsideCosts) {
  testing::TempDir dir;
  dir.Write("state/ledger.db",
            std::string("SQLite format 3") + std::string(1, '\0') + std::string(4000, '\x5a'));
  auto l = OpenLedger("sqlite://./state/ledger.db", dir.path());
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), StatusCode::kCorrupt) << l.status().ToString();
  EXPECT_NE(l.status().message().find("state/ledger.db"), std::string::npos);
  EXPECT_NE(l.status().message().find("the warehouse and the store are not affected"),
            std::string::npos)
      << l.status().message();
}

}  // namespace sluice::ledger
