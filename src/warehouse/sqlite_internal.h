// warehouse/sqlite_internal.h: what the files of the SQLite back-end share (the connection class,
// statement and error helpers, the rows virtual table's source, the writeback VFS). Included
// only by src/warehouse/sqlite_*.cpp (and tests/warehouse/sqlite_vfs_test.cpp, which drives the
// VFS directly): sqlite3.h stays inside the back-end.
// Thread-safety: a SqliteWarehouse is used by one thread at a time (see warehouse.h).
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "core/status.h"
#include "warehouse/schema_plan.h"
#include "warehouse/warehouse.h"

namespace sluice::warehouse::sqlite {

// The type affinity SQLite gives a column declared `declared` (the rules of "Determination Of
// Column Affinity", https://sqlite.org/datatype3.html#determination_of_column_affinity), which
// decides how it converts the values stored: "INT" and "BIGINT" store like "INTEGER".
std::string_view Affinity(std::string_view declared);

// What PlanSchemaChanges needs to know about SQLite's column types (sqlite_schema.cpp).
const ColumnTypes& SqliteColumnTypes();

// Whether a new table of `schema` is created WITHOUT ROWID: its primary key is text or has
// several columns (a single INTEGER key is the rowid itself), sqlite_schema.cpp.
bool KeyIsNotRowid(const config::TableSchema& schema);

// The rows AddRows() is adding, read by the sluice_rows_<N> virtual tables of the connection:
// `INSERT INTO t SELECT ... FROM sluice_rows_<N>` runs one statement per batch instead of one
// per row, which saves SQLite's per-statement setup and teardown on every row.
struct RowSource {
  const Value* values = nullptr;  // rows x ncols
  size_t ncols = 0;
  size_t rows = 0;
  const std::string_view* rescued = nullptr;  // per row, or null: every rescued cell is NULL
  size_t current = 0;                         // the row being read, for error messages
};

// SQLite's page cache per connection: holds a merge's working set when rows arrive in key
// order (the B-tree's right edge and the pages being filled); see AddAsBatch for the rest.
constexpr int64_t kCacheBytes = int64_t{64} << 20;

// Bytes SQLite wrote to statement journals on this thread (counted by the writeback VFS,
// sqlite_vfs.cpp). A statement that adds many rows inside the merge's transaction keeps the
// original of every page it changes there, so it can undo itself alone: cheap when the rows go
// to a few neighbouring pages, ruinous when each row lands on another page (a whole 64 KiB page
// copied per row). AddRows watches this to tell the two apart.
extern thread_local int64_t t_statement_journal_bytes;

// Syncs of WAL files by this process (counted by the writeback VFS): what makes a commit in WAL
// mode durable before a checkpoint (synchronous=FULL; see SqliteWarehouse::UseWal).
extern std::atomic<int64_t> g_wal_syncs;

// The module of the sluice_rows_<N> virtual tables (sqlite_rows_vtab.cpp).
extern const sqlite3_module kRowsModule;

// The VFS OpenSqliteWarehouse opens databases with (sqlite_vfs.cpp), registered once per
// process; nullptr when there is no default VFS to wrap.
const char* WritebackVfsName();

// A Status for SQLite's result code `rc`: Unavailable for a lock held past the busy timeout,
// InvalidArgument for constraint and SQL errors, Corrupt (naming the file and the way back) for
// a damaged database, IoError otherwise.
Status SqliteError(sqlite3* db, int rc, std::string_view what);

class Stmt {
 public:
  Stmt() = default;
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Status Prepare(sqlite3* db, std::string_view sql) {
    sqlite3_finalize(stmt_);
    stmt_ = nullptr;
    int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db, rc, "preparing \"" + std::string(sql) + "\"");
    return Status::Ok();
  }
  sqlite3_stmt* get() const { return stmt_; }
  void Reset(sqlite3_stmt* stmt) {
    sqlite3_finalize(stmt_);
    stmt_ = stmt;
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

class SqliteWarehouse : public Warehouse {
 public:
  SqliteWarehouse(sqlite3* db, std::filesystem::path path, std::string partner)
      : db_(db), path_(std::move(path)), partner_(std::move(partner)) {}
  ~SqliteWarehouse() override { sqlite3_close_v2(db_); }

  // Waits for a lock another connection holds like sqlite3_busy_timeout, but says so in the log
  // after `warn_after_ms` and then every few minutes: a merge queued behind another merge of the
  // partner, or (journal=rollback) behind a reader, is otherwise silent until its timeout.
  void WaitForLocks(int64_t timeout_ms, int64_t warn_after_ms);
  SqliteWarehouse(const SqliteWarehouse&) = delete;
  SqliteWarehouse& operator=(const SqliteWarehouse&) = delete;

  sqlite3* db() const { return db_; }
  // The partner whose database this is.
  const std::string& partner() const { return partner_; }
  // Rows that took the upsert's DO UPDATE branch since the last reset (see RegisterCounter).
  int64_t& upserts_updated() { return upserts_updated_; }

  // sluice_updated(x) returns x and counts one call. The upsert's DO UPDATE SET calls it, so
  // updated rows are counted exactly without a count(*) over the whole table.
  Status RegisterCounter();

  // journal=wal (the default): readers (checks, people) never wait for a merge. NORMAL sync
  // in WAL mode survives a killed process (SIGKILL) and is synced at every checkpoint.
  Status UseWal(int64_t busy_timeout_ms);

  // journal=rollback: SQLite's rollback journal keeps the original of every page that held data
  // before the transaction; pages a merge appends are written once, to the database, instead of
  // to the WAL and again at the checkpoint. FULL sync: the journal reaches the disk before the
  // database is changed, and the database before the journal is deleted.
  // A database still in WAL mode (made with journal=wal) is switched back when no other
  // connection has it open; otherwise this connection keeps using the WAL, which is as correct.
  Status UseRollbackJournal();

  // The database file's size from its page count (0 when unknown).
  int64_t DatabaseBytes();

  Status Exec(std::string_view sql);

  Result<int64_t> ScalarInt(const std::string& sql);

  Result<std::unique_ptr<TableWriter>> BeginMerge(const MergeTarget& target) override;

  Result<QueryResult> Query(std::string_view sql, int64_t max_rows, int64_t* total_rows) override;

  // Prepares exactly one statement that only reads: an authorizer refuses writes, ATTACH,
  // PRAGMA and everything else but reading tables and calling functions while it compiles.
  Status PrepareReadOnly(std::string_view sql, Stmt* out);

  Status Execute(std::string_view sql) override;

  Result<bool> TableExists(std::string_view table) override;

  Result<std::vector<std::vector<std::string>>> UniqueKeys(std::string_view table) override;

  std::string Describe() const override { return "sqlite://" + path_.string(); }

  // Brings the table in line with the schema (PlanSchemaChanges, applied in SQLite's DDL) in
  // its own short transaction; the plan says what the table had. Nothing changes on error.
  Result<SchemaPlan> EnsureTable(const config::TableSchema& schema);
  // The table's columns as pragma_table_info reports them.
  Result<std::vector<TableColumn>> ReadColumns(std::string_view table);
  // Applies one change of a plan (inside EnsureTable's transaction).
  Status Apply(const config::TableSchema& schema, const SchemaChange& change);

  RowSource& row_source() { return row_source_; }
  // Registers sluice_rows_<ncols> on this connection (once) and returns its name.
  Result<std::string> RowsTable(size_t ncols);

 private:
  struct BusyWait {
    std::chrono::milliseconds timeout{0};
    std::chrono::milliseconds warn_after{0};
    std::string what;
    std::chrono::steady_clock::time_point started;
    std::chrono::steady_clock::time_point next_warning;
  };
  static int OnBusy(void* arg, int count);

  BusyWait busy_;
  sqlite3* db_;
  std::filesystem::path path_;
  std::string partner_;
  int64_t upserts_updated_ = 0;
  RowSource row_source_;
  std::set<size_t> registered_;
};

}  // namespace sluice::warehouse::sqlite
