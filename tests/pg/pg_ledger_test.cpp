// What only the PostgreSQL ledger does (the interface suite runs in
// tests/ledger/ledger_conformance_test.cpp against it too): several schedulers, each with its own
// connection as on different hosts, racing for the same workflow and date; the schema shared
// with a warehouse in one database.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "core/strings.h"
#include "ledger/ledger.h"
#include "pg/pg_test_server.h"
#include "testing/temp_dir.h"

namespace sluice::ledger {
namespace {

RunRecord NewRun(const std::string& id, const std::string& host) {
  RunRecord r;
  r.run_id = id;
  r.workflow = "wf";
  r.pipeline_dir = "/p";
  r.logical_date = "2026-11-24";
  r.params = "{}";
  r.created_ms = 1000;
  r.scheduler_pid = 100;
  r.host = host;
  return r;
}

TEST(PgLedger, OfSchedulersOnSeveralHostsRacingForTheSameDateExactlyOneStartsTheRun) {
  ASSERT_EQ(testing::TestPgServer().error, "");
  const std::string url = testing::NewPgDatabase();
  ASSERT_FALSE(url.empty());
  testing::TempDir dir;
  constexpr int kSchedulers = 8;
  // Every scheduler connects first, then all insert at once.
  std::vector<std::unique_ptr<Ledger>> ledgers;
  for (int i = 0; i < kSchedulers; ++i) {
    auto l = OpenLedger(url, dir.path());
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    ledgers.push_back(std::move(l).value());
  }
  std::atomic<int> go{0};
  std::vector<Status> results(kSchedulers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kSchedulers; ++i) {
    threads.emplace_back([&, i] {
      go.fetch_add(1);
      while (go.load() < kSchedulers) std::this_thread::yield();
      InstanceRecord inst;
      inst.run_id = "run-" + std::to_string(i);
      inst.task_key = "merge";
      results[i] = ledgers[i]->CreateRun(NewRun(inst.run_id, "host" + std::to_string(i)), {inst});
    });
  }
  for (auto& t : threads) t.join();
  int started = 0;
  std::string winner;
  for (int i = 0; i < kSchedulers; ++i) {
    if (results[i].ok()) {
      ++started;
      winner = "run-" + std::to_string(i);
    } else {
      EXPECT_EQ(results[i].code(), StatusCode::kAlreadyExists) << results[i].ToString();
    }
  }
  ASSERT_EQ(started, 1);
  for (int i = 0; i < kSchedulers; ++i) {
    if (results[i].ok()) continue;
    EXPECT_NE(results[i].message().find("run " + winner +
                                        " of workflow \"wf\" for 2026-11-24 is "
                                        "still active"),
              std::string::npos)
        << results[i].message();
  }
  // The losers left nothing behind: one run, one instance.
  auto runs = ledgers[0]->ListRuns(100);
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ((*runs)[0].run_id, winner);
  // Once it has finished, the date may run again.
  ASSERT_TRUE(ledgers[1]->FinishRun(winner, "success", 2000).ok());
  EXPECT_TRUE(ledgers[2]->CreateRun(NewRun("again", "host2"), {}).ok());
}

TEST(PgLedger, RepairingAnOldRunWhileAnotherRunOfTheDateIsActiveIsRefusedByTheDatabase) {
  const std::string url = testing::NewPgDatabase();
  ASSERT_FALSE(url.empty());
  testing::TempDir dir;
  auto l = OpenLedger(url, dir.path());
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  ASSERT_TRUE((*l)->CreateRun(NewRun("old", "h"), {}).ok());
  ASSERT_TRUE((*l)->FinishRun("old", "failed", 1500).ok());
  ASSERT_TRUE((*l)->CreateRun(NewRun("new", "h"), {}).ok());
  RunOwner owner{"h", 100, ""};
  Status st = (*l)->ClaimRun("old", owner, RunOwner{"h2", 7, "s"}, 3000);
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists) << st.ToString();
  EXPECT_NE(st.message().find("another run of its workflow and date is active"), std::string::npos);
  EXPECT_EQ((*l)->GetRun("old")->state, "failed");
}

TEST(PgLedger, SharesADatabaseWithTheWarehouseInASchemaNoPartnerCanName) {
  const std::string url = testing::NewPgDatabase();
  testing::TempDir dir;
  auto l = OpenLedger(url, dir.path());
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(*(*l)->SchemaVersion(), kLedgerSchemaVersion);
  EXPECT_EQ(testing::PgAdminExec("SELECT 1/count(*) FROM pg_namespace WHERE nspname = '_sluice'",
                                 url.substr(url.rfind('/') + 1)),
            "");
  EXPECT_FALSE(IsValidPartnerId("_sluice"));
}

}  // namespace
}  // namespace sluice::ledger
