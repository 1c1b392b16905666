// The writeback VFS's statement journals (src/warehouse/sqlite_vfs.cpp): kept in memory up to
// a bound, then moved to a temp file; either way a statement that fails undoes exactly its own
// changes inside the open transaction, and every journal byte is counted.
#include <gtest/gtest.h>

#include <string>

#include "testing/temp_dir.h"
#include "warehouse/sqlite_internal.h"

namespace sluice::warehouse::sqlite {
namespace {

using testing::TempDir;

class StatementJournal : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    ASSERT_NE(WritebackVfsName(), nullptr);
    ASSERT_EQ(sqlite3_open_v2((dir_ / "t.db").c_str(), &db_,
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, WritebackVfsName()),
              SQLITE_OK);
    Exec("PRAGMA page_size=65536");
    Exec("PRAGMA journal_mode=WAL");
  }
  void TearDown() override { sqlite3_close_v2(db_); }

  int Exec(const std::string& sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    last_error_ = err != nullptr ? err : "";
    sqlite3_free(err);
    return rc;
  }
  std::string One(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
    std::string out;
    if (sqlite3_step(st) == SQLITE_ROW) {
      const unsigned char* t = sqlite3_column_text(st, 0);
      out = t != nullptr ? reinterpret_cast<const char*>(t) : "NULL";
    }
    sqlite3_finalize(st);
    return out;
  }

  TempDir dir_;
  sqlite3* db_ = nullptr;
  std::string last_error_;
};

// A statement that changes every page of a table and fails on its last row, inside a
// transaction that goes on: its changes are undone from the statement journal (in memory for
// the small table, moved to a temp file past the bound for the big one), the transaction's
// earlier change stays, and the journal's bytes are counted.
TEST_P(StatementJournal, AFailedStatementUndoesExactlyItsOwnChangesAndItsJournalIsCounted) {
  const int rows = GetParam();
  ASSERT_EQ(Exec("CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT NOT NULL)"), SQLITE_OK);
  ASSERT_EQ(Exec("WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < " +
                 std::to_string(rows) + ") INSERT INTO t SELECT k, printf('%.1000c', 'a') FROM n"),
            SQLITE_OK);
  ASSERT_EQ(Exec("BEGIN"), SQLITE_OK);
  ASSERT_EQ(Exec("UPDATE t SET v = 'kept' WHERE k = 1"), SQLITE_OK);
  const int64_t journal_before = t_statement_journal_bytes;
  // Every row rewritten, in key order; the last one becomes NULL and aborts the statement.
  EXPECT_EQ(Exec("UPDATE t SET v = CASE WHEN k = " + std::to_string(rows) +
                 " THEN NULL ELSE 'b' || v END"),
            SQLITE_CONSTRAINT)
      << last_error_;
  const int64_t journal = t_statement_journal_bytes - journal_before;
  // About a 64 KiB page per ~60 rows of 1 KB.
  EXPECT_GT(journal, int64_t{rows} * 1000) << "journal bytes not counted";
  EXPECT_EQ(One("SELECT count(*) FROM t WHERE v LIKE 'b%'"), "0");
  EXPECT_EQ(One("SELECT v FROM t WHERE k = 1"), "kept");
  EXPECT_EQ(One("SELECT count(*) FROM t WHERE length(v) = 1000"), std::to_string(rows - 1));
  // The transaction goes on and commits.
  ASSERT_EQ(Exec("UPDATE t SET v = 'after' WHERE k = 2"), SQLITE_OK);
  ASSERT_EQ(Exec("COMMIT"), SQLITE_OK) << last_error_;
  sqlite3_close_v2(db_);
  ASSERT_EQ(
      sqlite3_open_v2((dir_ / "t.db").c_str(), &db_, SQLITE_OPEN_READWRITE, WritebackVfsName()),
      SQLITE_OK);
  EXPECT_EQ(One("SELECT count(*), sum(v = 'kept'), sum(v = 'after') FROM t"), std::to_string(rows));
  EXPECT_EQ(One("SELECT group_concat(v) FROM t WHERE k <= 2 ORDER BY k"), "kept,after");
  EXPECT_EQ(One("PRAGMA integrity_check"), "ok");
}

// 2,000 rows journal ~2 MiB (kept in memory); 20,000 rows ~20 MiB (past the 8 MiB bound: moved
// to a temp file mid-statement, in pieces the unix VFS accepts).
INSTANTIATE_TEST_SUITE_P(InMemoryAndSpilled, StatementJournal, ::testing::Values(2000, 20000));

}  // namespace
}  // namespace sluice::warehouse::sqlite
