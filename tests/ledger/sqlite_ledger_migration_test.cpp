// A ledger file written by wave one's sluice (schema version 1, no user_version, its DDL copied
// from git history) opens with this build, is migrated, and keeps its runs.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>

#include "ledger/ledger.h"
#include "testing/temp_dir.h"

namespace sluice::ledger {
namespace {

// Wave one's schema and rows, verbatim (src/ledger/sqlite_ledger.cpp at 9970551).
constexpr const char* kWaveOneLedger = R"SQL(
CREATE TABLE IF NOT EXISTS runs(
  run_id TEXT PRIMARY KEY, workflow TEXT NOT NULL, pipeline_dir TEXT NOT NULL,
  logical_date TEXT NOT NULL, params TEXT NOT NULL, state TEXT NOT NULL,
  created_ms INTEGER NOT NULL, ended_ms INTEGER NOT NULL, scheduler_pid INTEGER NOT NULL,
  host TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS runs_by_date ON runs(workflow, logical_date, state);
CREATE TABLE IF NOT EXISTS instances(
  run_id TEXT NOT NULL, task_key TEXT NOT NULL, partner TEXT NOT NULL, seq INTEGER NOT NULL,
  state TEXT NOT NULL, attempts INTEGER NOT NULL, started_ms INTEGER NOT NULL,
  ended_ms INTEGER NOT NULL, error TEXT NOT NULL, PRIMARY KEY(run_id, task_key, partner));
CREATE INDEX IF NOT EXISTS instances_by_seq ON instances(run_id, seq);
CREATE TABLE IF NOT EXISTS attempts(
  run_id TEXT NOT NULL, task_key TEXT NOT NULL, partner TEXT NOT NULL, attempt INTEGER NOT NULL,
  pid INTEGER NOT NULL, state TEXT NOT NULL, started_ms INTEGER NOT NULL, ended_ms INTEGER NOT NULL,
  exit_code INTEGER NOT NULL, signal INTEGER NOT NULL, log_path TEXT NOT NULL,
  error TEXT NOT NULL, result TEXT NOT NULL, PRIMARY KEY(run_id, task_key, partner, attempt));
INSERT INTO runs VALUES('2026-11-24_010203_abcd','wf','/p','2026-11-24','{"partners":["acme"]}',
  'failed',1000,2000,4321,'oldhost');
INSERT INTO instances VALUES('2026-11-24_010203_abcd','extract','acme',1,'failed',2,1000,2000,
  'boom');
INSERT INTO attempts VALUES('2026-11-24_010203_abcd','extract','acme',2,4400,'failed',1500,2000,1,
  0,'/logs/2.log','boom','{}');
)SQL";

void WriteWaveOneLedger(const std::filesystem::path& file) {
  std::filesystem::create_directories(file.parent_path());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  ASSERT_EQ(sqlite3_exec(db, kWaveOneLedger, nullptr, nullptr, &err), SQLITE_OK)
      << (err ? err : "");
  sqlite3_close(db);
}

TEST(SqliteLedgerMigration, AWaveOneLedgerOpensMigratesAndKeepsItsRuns) {
  testing::TempDir dir;
  WriteWaveOneLedger(dir.path() / "state/ledger.db");
  auto l = OpenLedger("sqlite://./state/ledger.db", dir.path());
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(*(*l)->SchemaVersion(), kLedgerSchemaVersion);
  auto run = (*l)->GetRun("2026-11-24_010203_abcd");
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->state, "failed");
  EXPECT_EQ(run->scheduler_pid, 4321);
  EXPECT_EQ(run->host, "oldhost");
  EXPECT_EQ(run->scheduler_start, "");  // unknown for a run an older sluice recorded
  EXPECT_EQ(run->cancel_requested_ms, 0);
  auto inst = (*l)->ListInstances(run->run_id);
  ASSERT_EQ(inst->size(), 1u);
  EXPECT_EQ((*inst)[0].error, "boom");
  auto attempts = (*l)->ListAttempts(run->run_id);
  ASSERT_EQ(attempts->size(), 1u);
  // The old pid column becomes the local executor's attempt id.
  EXPECT_EQ((*attempts)[0].executor_id, "4400");
  EXPECT_EQ((*attempts)[0].executor, "local");
  EXPECT_EQ((*attempts)[0].pid, 4400);
  // And the migrated ledger takes new writes: a repair can claim the old run.
  EXPECT_TRUE((*l)->ClaimRun(run->run_id, run->Owner(), RunOwner{"newhost", 7, "b/1"}, 5).ok());
}

TEST(SqliteLedgerMigration, MigratingTwiceIsANoOp) {
  testing::TempDir dir;
  WriteWaveOneLedger(dir.path() / "state/ledger.db");
  { ASSERT_TRUE(OpenLedger("sqlite://./state/ledger.db", dir.path()).ok()); }
  auto l = OpenLedger("sqlite://./state/ledger.db", dir.path());
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ((*l)->ListRuns(10)->size(), 1u);
}

TEST(SqliteLedgerMigration, ALedgerFromANewerSluiceIsRefusedSayingSo) {
  testing::TempDir dir;
  std::filesystem::path file = dir.path() / "state/ledger.db";
  WriteWaveOneLedger(file);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto l = OpenLedger("sqlite://./state/ledger.db", dir.path());
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.status().message().find("newer than this sluice"), std::string::npos)
      << l.status().ToString();
  EXPECT_NE(l.status().message().find("ledger.db"), std::string::npos) << l.status().ToString();
}

// The plan SQLite chooses for `sql`, one line per step ("SEARCH instances USING ...").
std::string QueryPlan(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &stmt, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  std::string plan;
  while (stmt != nullptr && sqlite3_step(stmt) == SQLITE_ROW) {
    plan += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3));
    plan += "\n";
  }
  sqlite3_finalize(stmt);
  return plan;
}

// What one attempt writes and the scheduler reads while a run goes on is found by key or index,
// so its cost does not grow with the run's size: no statement scans a table. (The statements
// are those of sqlite_ledger.cpp.)
TEST(SqliteLedgerIndexes, PerEventStatementsSearchByIndexAndNeverScan) {
  testing::TempDir dir;
  { ASSERT_TRUE(OpenLedger("sqlite://./state/ledger.db", dir.path()).ok()); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir.path() / "state/ledger.db").c_str(), &db), SQLITE_OK);
  for (const char* sql : {
           "UPDATE instances SET state=?4, attempts=?5, started_ms=?6, ended_ms=?7, error=?8 "
           "WHERE run_id=?1 AND task_key=?2 AND partner=?3",
           "SELECT COALESCE(MAX(seq),0)+1 FROM instances WHERE run_id=?1",
           "INSERT OR REPLACE INTO attempts(run_id, task_key, partner, attempt, state) "
           "VALUES(?1,?2,?3,?4,?5)",
           "SELECT * FROM runs WHERE run_id=?1",
           "UPDATE runs SET heartbeat_ms=?1 WHERE run_id=?2 AND host=?3 AND scheduler_pid=?4",
           "SELECT run_id FROM runs WHERE workflow=?1 AND logical_date=?2 AND state='running'",
           "SELECT * FROM attempts WHERE run_id=?1 AND state IN ('running','queued')",
       }) {
    const std::string plan = QueryPlan(db, sql);
    EXPECT_EQ(plan.find("SCAN"), std::string::npos) << sql << "\n" << plan;
  }
  sqlite3_close(db);
}

}  // namespace
}  // namespace sluice::ledger
