// SQLite back-end of the warehouse: one database file per partner, WAL or rollback journal
// (the URL's ?journal=), writers queued on BEGIN IMMEDIATE with a long busy timeout.
#include <fcntl.h>
#include <malloc.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <system_error>
#include <thread>

#include "core/logging.h"
#include "core/strings.h"
#include "warehouse/warehouse.h"

namespace sluice::warehouse {

void PrepareProcessForBulkWrites() {
  // SQLITE_MISUSE once SQLite is initialised: then it simply keeps counting.
  (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  // glibc: serve the page cache's 64 KiB pages from the heap and keep up to 256 MiB of freed
  // heap (the page cache is bounded by cache_size: 64 MiB, up to 512 MiB for out-of-order upserts).
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  mallopt(M_TOP_PAD, 16 << 20);
}

std::string_view SqlType(const config::ColumnSchema& column) {
  switch (column.type) {
    case config::ColumnType::kInt64:
    case config::ColumnType::kBool:
      return "INTEGER";
    case config::ColumnType::kFloat64:
      return "REAL";
    default:
      return "TEXT";  // string, decimal (canonical text), date, timestamp
  }
}

// The type affinity SQLite gives a column declared `declared` (the rules of "Determination Of
// Column Affinity", https://sqlite.org/datatype3.html#determination_of_column_affinity), which
// decides how it converts the values stored: "INT" and "BIGINT" store like "INTEGER".
std::string_view Affinity(std::string_view declared) {
  const std::string t = ToLower(declared);
  if (t.find("int") != std::string::npos) return "INTEGER";
  if (t.find("char") != std::string::npos || t.find("clob") != std::string::npos ||
      t.find("text") != std::string::npos) {
    return "TEXT";
  }
  if (t.empty() || t.find("blob") != std::string::npos) return "BLOB";
  if (t.find("real") != std::string::npos || t.find("floa") != std::string::npos ||
      t.find("doub") != std::string::npos) {
    return "REAL";
  }
  return "NUMERIC";
}

std::string QuoteIdentifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

namespace {

class SqliteWarehouse;

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

// Bytes SQLite wrote to statement journals on this thread (counted by the writeback VFS below).
// A statement that adds many rows inside the merge's transaction keeps the original of every
// page it changes there, so it can undo itself alone: cheap when the rows go to a few
// neighbouring pages, ruinous when each row lands on another page (a whole 64 KiB page copied
// per row). AddRows watches this to tell the two apart.
thread_local int64_t t_statement_journal_bytes = 0;

struct RowsVtab {
  sqlite3_vtab base;
  RowSource* source;
};

struct RowsCursor {
  sqlite3_vtab_cursor base;
  size_t row;
};

// Eponymous-only (no xCreate: nobody can CREATE VIRTUAL TABLE with it) and DIRECTONLY (not
// usable from triggers or views), named sluice_rows_<N> for N schema columns plus "rescued".
int RowsConnect(sqlite3* db, void* aux, int argc, const char* const* argv, sqlite3_vtab** out,
                char** err) {
  size_t ncols = 0;
  std::string_view name = argc > 0 ? argv[0] : "";
  constexpr std::string_view kPrefix = "sluice_rows_";
  if (!StartsWith(name, kPrefix)) return SQLITE_ERROR;
  for (char c : name.substr(kPrefix.size())) {
    if (c < '0' || c > '9') return SQLITE_ERROR;
    ncols = ncols * 10 + static_cast<size_t>(c - '0');
  }
  std::string ddl = "CREATE TABLE x(";
  for (size_t i = 0; i < ncols; ++i) ddl += "c" + std::to_string(i) + ", ";
  ddl += "rescued)";
  int rc = sqlite3_declare_vtab(db, ddl.c_str());
  if (rc != SQLITE_OK) return rc;
  sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  auto* vtab = static_cast<RowsVtab*>(sqlite3_malloc(sizeof(RowsVtab)));
  if (vtab == nullptr) return SQLITE_NOMEM;
  *vtab = RowsVtab{};
  vtab->source = static_cast<RowSource*>(aux);
  *out = &vtab->base;
  (void)err;
  return SQLITE_OK;
}

int RowsDisconnect(sqlite3_vtab* vtab) {
  sqlite3_free(vtab);
  return SQLITE_OK;
}

int RowsBestIndex(sqlite3_vtab*, sqlite3_index_info* info) {
  info->estimatedCost = 1000;
  info->estimatedRows = 1000;
  return SQLITE_OK;
}

int RowsOpen(sqlite3_vtab*, sqlite3_vtab_cursor** out) {
  auto* cursor = static_cast<RowsCursor*>(sqlite3_malloc(sizeof(RowsCursor)));
  if (cursor == nullptr) return SQLITE_NOMEM;
  *cursor = RowsCursor{};
  *out = &cursor->base;
  return SQLITE_OK;
}

int RowsClose(sqlite3_vtab_cursor* cursor) {
  sqlite3_free(cursor);
  return SQLITE_OK;
}

RowSource& SourceOf(sqlite3_vtab_cursor* cursor) {
  return *reinterpret_cast<RowsVtab*>(cursor->pVtab)->source;
}

int RowsFilter(sqlite3_vtab_cursor* cursor, int, const char*, int, sqlite3_value**) {
  reinterpret_cast<RowsCursor*>(cursor)->row = 0;
  SourceOf(cursor).current = 0;
  return SQLITE_OK;
}

int RowsNext(sqlite3_vtab_cursor* cursor) {
  SourceOf(cursor).current = ++reinterpret_cast<RowsCursor*>(cursor)->row;
  return SQLITE_OK;
}

int RowsEof(sqlite3_vtab_cursor* cursor) {
  return reinterpret_cast<RowsCursor*>(cursor)->row >= SourceOf(cursor).rows;
}

int RowsColumn(sqlite3_vtab_cursor* cursor, sqlite3_context* ctx, int col) {
  const RowSource& src = SourceOf(cursor);
  const size_t row = reinterpret_cast<RowsCursor*>(cursor)->row;
  const size_t c = static_cast<size_t>(col);
  if (c >= src.ncols) {  // "rescued", or a column of another schema width
    if (c == src.ncols && src.rescued != nullptr && !src.rescued[row].empty()) {
      const std::string_view r = src.rescued[row];
      sqlite3_result_text(ctx, r.data(), static_cast<int>(r.size()), SQLITE_STATIC);
    } else {
      sqlite3_result_null(ctx);
    }
    return SQLITE_OK;
  }
  const Value& v = src.values[row * src.ncols + c];
  switch (v.kind) {
    case ValueKind::kNull:
      sqlite3_result_null(ctx);
      break;
    case ValueKind::kInt:
      sqlite3_result_int64(ctx, v.i);
      break;
    case ValueKind::kReal:
      sqlite3_result_double(ctx, v.d);
      break;
    case ValueKind::kText:
      sqlite3_result_text(ctx, v.s.data(), static_cast<int>(v.s.size()), SQLITE_STATIC);
      break;
  }
  return SQLITE_OK;
}

int RowsRowid(sqlite3_vtab_cursor* cursor, sqlite3_int64* rowid) {
  *rowid = static_cast<sqlite3_int64>(reinterpret_cast<RowsCursor*>(cursor)->row);
  return SQLITE_OK;
}

const sqlite3_module kRowsModule = {
    /* iVersion */ 0, /* xCreate */ nullptr,
    RowsConnect,      RowsBestIndex,
    RowsDisconnect,   /* xDestroy */ nullptr,
    RowsOpen,         RowsClose,
    RowsFilter,       RowsNext,
    RowsEof,          RowsColumn,
    RowsRowid,        /* xUpdate .. */ nullptr,
    nullptr,          nullptr,
    nullptr,          nullptr,
    nullptr,          nullptr,
    nullptr,          nullptr,
    nullptr,          nullptr};

Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string msg = std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  int primary = rc & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
    return Status::Unavailable(msg + " (the database stayed locked past the busy timeout)");
  }
  if (primary == SQLITE_CONSTRAINT || primary == SQLITE_ERROR || primary == SQLITE_MISMATCH) {
    return Status::InvalidArgument(msg);
  }
  if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) {
    // Damage does not go away by retrying; say which file and how to get the data back.
    const char* file = db ? sqlite3_db_filename(db, "main") : nullptr;
    return Status::Corrupt(
        msg + ": the database file" + (file && *file ? " " + std::string(file) : std::string()) +
        " is damaged. Restore it from a backup, or move it aside and load the dates it held again "
        "(sluice run DIR --date D for each; the partner's archives stay in landing/)");
  }
  return Status::IoError(msg);
}

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
  SqliteWarehouse(sqlite3* db, std::filesystem::path path) : db_(db), path_(std::move(path)) {}
  ~SqliteWarehouse() override { sqlite3_close_v2(db_); }

  // Waits for a lock another connection holds like sqlite3_busy_timeout, but says so in the log
  // after `warn_after_ms` and then every few minutes: a merge queued behind another merge of the
  // partner, or (journal=rollback) behind a reader, is otherwise silent until its timeout.
  void WaitForLocks(int64_t timeout_ms, int64_t warn_after_ms) {
    busy_.timeout = std::chrono::milliseconds(timeout_ms);
    busy_.warn_after = std::chrono::milliseconds(warn_after_ms);
    busy_.what = Describe();
    sqlite3_busy_handler(db_, &SqliteWarehouse::OnBusy, &busy_);
  }
  SqliteWarehouse(const SqliteWarehouse&) = delete;
  SqliteWarehouse& operator=(const SqliteWarehouse&) = delete;

  sqlite3* db() const { return db_; }
  // Rows that took the upsert's DO UPDATE branch since the last reset (see RegisterCounter).
  int64_t& upserts_updated() { return upserts_updated_; }

  // sluice_updated(x) returns x and counts one call. The upsert's DO UPDATE SET calls it, so
  // updated rows are counted exactly without a count(*) over the whole table.
  Status RegisterCounter() {
    int rc = sqlite3_create_function_v2(
        db_, "sluice_updated", 1, SQLITE_UTF8 | SQLITE_DIRECTONLY, &upserts_updated_,
        [](sqlite3_context* ctx, int, sqlite3_value** argv) {
          ++*static_cast<int64_t*>(sqlite3_user_data(ctx));
          sqlite3_result_value(ctx, argv[0]);
        },
        nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db_, rc, "registering sluice_updated()");
    return Status::Ok();
  }

  // journal=wal (the default): readers (checks, people) never wait for a merge. NORMAL sync
  // in WAL mode survives a killed process (SIGKILL) and is synced at every checkpoint.
  Status UseWal(int64_t busy_timeout_ms) {
    // Two first merges of a new partner database race to switch it to WAL; SQLite then answers
    // "database is locked" without calling the busy handler, so wait here like it would.
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(std::min<int64_t>(busy_timeout_ms, 600000));
    auto pause = std::chrono::milliseconds(1);
    while (true) {
      Status st = Exec("PRAGMA journal_mode=WAL");
      if (st.ok()) break;
      if (st.code() != StatusCode::kUnavailable || std::chrono::steady_clock::now() > deadline) {
        return st;
      }
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(100));
    }
    return Exec("PRAGMA synchronous=NORMAL");
  }

  // journal=rollback: SQLite's rollback journal keeps the original of every page that held data
  // before the transaction; pages a merge appends are written once, to the database, instead of
  // to the WAL and again at the checkpoint. FULL sync: the journal reaches the disk before the
  // database is changed, and the database before the journal is deleted.
  // A database still in WAL mode (made with journal=wal) is switched back when no other
  // connection has it open; otherwise this connection keeps using the WAL, which is as correct.
  Status UseRollbackJournal() {
    Stmt st;
    SLUICE_RETURN_IF_ERROR(st.Prepare(db_, "PRAGMA journal_mode=DELETE"));
    int rc = sqlite3_step(st.get());
    const unsigned char* mode = rc == SQLITE_ROW ? sqlite3_column_text(st.get(), 0) : nullptr;
    if (mode != nullptr && std::string_view(reinterpret_cast<const char*>(mode)) == "delete") {
      return Exec("PRAGMA synchronous=FULL");
    }
    if (rc != SQLITE_ROW && (rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) {
      return SqliteError(db_, rc, "warehouse: setting journal_mode=DELETE on " + Describe());
    }
    log::Info(
        "warehouse: {} stays in WAL mode for now (another connection has it open); "
        "journal=rollback takes effect once it is opened alone",
        Describe());
    return Exec("PRAGMA synchronous=NORMAL");
  }

  // The database file's size from its page count (0 when unknown).
  int64_t DatabaseBytes() {
    auto pragma = [&](const char* sql) -> int64_t {
      Stmt st;
      if (!st.Prepare(db_, sql).ok() || sqlite3_step(st.get()) != SQLITE_ROW) return 0;
      return sqlite3_column_int64(st.get(), 0);
    };
    return pragma("PRAGMA page_count") * pragma("PRAGMA page_size");
  }

  Status Exec(std::string_view sql) {
    char* err = nullptr;
    std::string s(sql);
    int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      Status st = SqliteError(db_, rc, "\"" + Printable(s, 200) + "\"");
      if (st.code() == StatusCode::kCorrupt) return st;  // names the file already
      return Status(st.code(), "\"" + Printable(s, 200) + "\": " + msg + " (" + Describe() + ")");
    }
    return Status::Ok();
  }

  Result<int64_t> ScalarInt(const std::string& sql) {
    Stmt st;
    SLUICE_RETURN_IF_ERROR(st.Prepare(db_, sql));
    int rc = sqlite3_step(st.get());
    if (rc == SQLITE_ROW) return static_cast<int64_t>(sqlite3_column_int64(st.get(), 0));
    if (rc == SQLITE_DONE) return int64_t{0};
    return SqliteError(db_, rc, sql);
  }

  Result<std::unique_ptr<TableWriter>> BeginMerge(const MergeTarget& target) override;

  Result<QueryResult> Query(std::string_view sql, int64_t max_rows, int64_t* total_rows) override {
    Stmt st;
    SLUICE_RETURN_IF_ERROR(PrepareReadOnly(sql, &st));
    QueryResult out;
    int n = sqlite3_column_count(st.get());
    for (int i = 0; i < n; ++i) out.columns.emplace_back(sqlite3_column_name(st.get(), i));
    int64_t total = 0;
    while (true) {
      int rc = sqlite3_step(st.get());
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return SqliteError(db_, rc, std::string(sql));
      ++total;
      if (total > max_rows) continue;
      std::vector<std::optional<std::string>> row;
      for (int i = 0; i < n; ++i) {
        if (sqlite3_column_type(st.get(), i) == SQLITE_NULL) {
          row.emplace_back(std::nullopt);
        } else {
          const unsigned char* t = sqlite3_column_text(st.get(), i);
          row.emplace_back(std::string(reinterpret_cast<const char*>(t),
                                       static_cast<size_t>(sqlite3_column_bytes(st.get(), i))));
        }
      }
      out.rows.push_back(std::move(row));
    }
    if (total_rows) *total_rows = total;
    return out;
  }

  // Prepares exactly one statement that only reads: an authorizer refuses writes, ATTACH,
  // PRAGMA and everything else but reading tables and calling functions while it compiles.
  Status PrepareReadOnly(std::string_view sql, Stmt* out) {
    auto authorize = [](void*, int action, const char*, const char* name, const char*,
                        const char*) -> int {
      switch (action) {
        case SQLITE_FUNCTION:
          // fts3_tokenizer() reads and sets a function pointer of the process (a partner's
          // check could point SQLite at any address).
          return name != nullptr && sqlite3_stricmp(name, "fts3_tokenizer") == 0 ? SQLITE_DENY
                                                                                 : SQLITE_OK;
        case SQLITE_SELECT:
        case SQLITE_READ:
        case SQLITE_RECURSIVE:
          return SQLITE_OK;
        default:
          return SQLITE_DENY;
      }
    };
    sqlite3_set_authorizer(db_, authorize, nullptr);
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, &tail);
    sqlite3_set_authorizer(db_, nullptr, nullptr);
    const std::string shown = "\"" + Printable(sql, 200) + "\"";
    if (rc != SQLITE_OK) {
      std::string why = sqlite3_errmsg(db_);
      sqlite3_finalize(stmt);
      if ((rc & 0xff) == SQLITE_AUTH) {
        return Status::InvalidArgument(
            shown +
            ": a query here may only read (SELECT/WITH); change data with the sql "
            "builtin instead (" +
            why + ")");
      }
      return SqliteError(db_, rc, "preparing " + shown);
    }
    if (stmt == nullptr) return Status::InvalidArgument("the query is empty: " + shown);
    std::string_view rest(tail, static_cast<size_t>(sql.data() + sql.size() - tail));
    if (rest.find_first_not_of(" \t\r\n;") != std::string_view::npos) {
      sqlite3_finalize(stmt);
      return Status::InvalidArgument(shown +
                                     ": give one statement; nothing after the first \";\" runs");
    }
    if (!sqlite3_stmt_readonly(stmt)) {
      sqlite3_finalize(stmt);
      return Status::InvalidArgument(shown + ": a query here may only read (SELECT/WITH)");
    }
    out->Reset(stmt);
    return Status::Ok();
  }

  Status Execute(std::string_view sql) override {
    SLUICE_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    Status st = Exec(sql);
    if (!st.ok()) {
      (void)Exec("ROLLBACK");
      return st;
    }
    return Exec("COMMIT");
  }

  Result<bool> TableExists(std::string_view table) override {
    Stmt st;
    SLUICE_RETURN_IF_ERROR(
        st.Prepare(db_, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?"));
    sqlite3_bind_text(st.get(), 1, table.data(), static_cast<int>(table.size()), SQLITE_STATIC);
    int rc = sqlite3_step(st.get());
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqliteError(db_, rc, "looking up table " + std::string(table));
  }

  Result<std::vector<std::vector<std::string>>> UniqueKeys(std::string_view table) override {
    std::vector<std::vector<std::string>> keys;
    // Columns: name -> NOT NULL; the primary key in key order.
    std::map<std::string, bool> not_null;
    std::vector<std::pair<int, std::string>> pk;
    std::string pk_type;
    {
      Stmt st;
      SLUICE_RETURN_IF_ERROR(
          st.Prepare(db_, "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?)"));
      sqlite3_bind_text(st.get(), 1, table.data(), static_cast<int>(table.size()), SQLITE_STATIC);
      int rc;
      while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
        std::string name = reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 0));
        not_null[name] = sqlite3_column_int(st.get(), 2) != 0;
        if (int k = sqlite3_column_int(st.get(), 3); k > 0) {
          pk.emplace_back(k, name);
          pk_type = ToLower(reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 1)));
        }
      }
      if (rc != SQLITE_DONE)
        return SqliteError(db_, rc, "reading the columns of " + std::string(table));
    }
    auto all_not_null = [&](const std::vector<std::string>& cols) {
      return std::all_of(cols.begin(), cols.end(), [&](const std::string& c) {
        auto it = not_null.find(c);
        return it != not_null.end() && it->second;
      });
    };
    if (!pk.empty()) {
      std::sort(pk.begin(), pk.end());
      std::vector<std::string> cols;
      for (auto& [k, name] : pk) cols.push_back(name);
      // A single INTEGER primary key is the rowid, which is never NULL.
      if ((cols.size() == 1 && pk_type == "integer") || all_not_null(cols)) keys.push_back(cols);
    }
    Stmt list;
    SLUICE_RETURN_IF_ERROR(list.Prepare(
        db_, "SELECT name FROM pragma_index_list(?) WHERE \"unique\" AND NOT partial"));
    sqlite3_bind_text(list.get(), 1, table.data(), static_cast<int>(table.size()), SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(list.get())) == SQLITE_ROW) {
      std::string index = reinterpret_cast<const char*>(sqlite3_column_text(list.get(), 0));
      Stmt info;
      SLUICE_RETURN_IF_ERROR(
          info.Prepare(db_, "SELECT cid, name FROM pragma_index_info(?) ORDER BY seqno"));
      sqlite3_bind_text(info.get(), 1, index.data(), static_cast<int>(index.size()), SQLITE_STATIC);
      std::vector<std::string> cols;
      bool plain = true;  // expression indexes (cid < 0) say nothing about columns
      int irc;
      while ((irc = sqlite3_step(info.get())) == SQLITE_ROW) {
        if (sqlite3_column_int(info.get(), 0) < 0) plain = false;
        const unsigned char* n = sqlite3_column_text(info.get(), 1);
        cols.emplace_back(n ? reinterpret_cast<const char*>(n) : "");
      }
      if (irc != SQLITE_DONE) return SqliteError(db_, irc, "reading index " + index);
      if (plain && !cols.empty() && all_not_null(cols) &&
          std::find(keys.begin(), keys.end(), cols) == keys.end()) {
        keys.push_back(cols);
      }
    }
    if (rc != SQLITE_DONE)
      return SqliteError(db_, rc, "listing the indexes of " + std::string(table));
    return keys;
  }

  std::string Describe() const override { return "sqlite://" + path_.string(); }

  // Creates the table or adds the schema's new nullable columns, in its own short transaction.
  Status EnsureTable(const config::TableSchema& schema);

  RowSource& row_source() { return row_source_; }
  // Registers sluice_rows_<ncols> on this connection (once) and returns its name.
  Result<std::string> RowsTable(size_t ncols) {
    std::string name = "sluice_rows_" + std::to_string(ncols);
    if (registered_.insert(ncols).second) {
      int rc = sqlite3_create_module_v2(db_, name.c_str(), &kRowsModule, &row_source_, nullptr);
      if (rc != SQLITE_OK) return SqliteError(db_, rc, "registering " + name);
    }
    return name;
  }

 private:
  struct BusyWait {
    std::chrono::milliseconds timeout{0};
    std::chrono::milliseconds warn_after{0};
    std::string what;
    std::chrono::steady_clock::time_point started;
    std::chrono::steady_clock::time_point next_warning;
  };
  static int OnBusy(void* arg, int count) {
    auto* b = static_cast<BusyWait*>(arg);
    const auto now = std::chrono::steady_clock::now();
    if (count == 0) {
      b->started = now;
      b->next_warning = now + b->warn_after;
    }
    const auto waited = now - b->started;
    if (waited >= b->timeout) return 0;
    if (now >= b->next_warning) {
      using Seconds = std::chrono::duration<double>;
      log::Warn(
          "warehouse: waiting {:.1f} s for a lock on {}: another merge of this partner or a "
          "reader holds it (with journal=rollback, merges wait for open readers); giving up "
          "after {:.1f} s",
          Seconds(waited).count(), b->what, Seconds(b->timeout).count());
      b->next_warning = now + std::max(b->warn_after, std::chrono::milliseconds(300000));
    }
    // SQLite's own busy_timeout steps: short waits first, then 100 ms.
    static constexpr int kDelaysMs[] = {1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50};
    const int delay = count < static_cast<int>(std::size(kDelaysMs)) ? kDelaysMs[count] : 100;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        std::chrono::milliseconds(delay), b->timeout - waited));
    return 1;
  }

  BusyWait busy_;
  sqlite3* db_;
  std::filesystem::path path_;
  int64_t upserts_updated_ = 0;
  RowSource row_source_;
  std::set<size_t> registered_;
};

Status SqliteWarehouse::EnsureTable(const config::TableSchema& schema) {
  const std::string table = QuoteIdentifier(schema.table);
  bool rescue = schema.on_extra_columns == config::ExtraColumnsPolicy::kRescue;
  SLUICE_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  auto body = [&]() -> Status {
    SLUICE_ASSIGN_OR_RETURN(bool exists, TableExists(schema.table));
    if (!exists) {
      std::string ddl = "CREATE TABLE " + table + " (";
      for (const config::ColumnSchema& c : schema.columns) {
        ddl += QuoteIdentifier(c.name) + " " + std::string(SqlType(c));
        if (!c.nullable) ddl += " NOT NULL";
        ddl += ", ";
      }
      ddl += "_ingest_date TEXT NOT NULL, _run_id TEXT NOT NULL, _source_file TEXT NOT NULL";
      if (rescue) ddl += ", _rescued TEXT";
      if (!schema.primary_key.empty()) {
        std::vector<std::string> keys;
        for (const std::string& k : schema.primary_key) keys.push_back(QuoteIdentifier(k));
        ddl += ", PRIMARY KEY (" + Join(keys, ", ") + ")";
      }
      ddl += ")";
      SLUICE_RETURN_IF_ERROR(Exec(ddl));
      if (schema.merge != config::MergeMode::kUpsert) {
        SLUICE_RETURN_IF_ERROR(Exec("CREATE INDEX IF NOT EXISTS " +
                                    QuoteIdentifier(schema.table + "__ingest_date") + " ON " +
                                    table + " (_ingest_date, _source_file)"));
      }
      log::Info("warehouse: created table {} in {}", schema.table, Describe());
      return Status::Ok();
    }
    std::map<std::string, std::string> declared;         // lower-case column -> declared type
    std::map<std::string, std::string> spelled;          // lower-case column -> its name
    std::vector<std::pair<int, std::string>> table_key;  // (position in the key, column)
    std::vector<std::string> required;                   // NOT NULL columns of the table
    auto read_columns = [&]() -> Status {
      declared.clear();
      spelled.clear();
      table_key.clear();
      required.clear();
      Stmt st;
      SLUICE_RETURN_IF_ERROR(
          st.Prepare(db_, "SELECT name, \"notnull\", pk, type FROM pragma_table_info(?)"));
      sqlite3_bind_text(st.get(), 1, schema.table.data(), static_cast<int>(schema.table.size()),
                        SQLITE_STATIC);
      int rc;
      while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
        std::string name = reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 0));
        if (sqlite3_column_int(st.get(), 1) != 0) required.push_back(name);
        if (int k = sqlite3_column_int(st.get(), 2); k > 0) table_key.emplace_back(k, name);
        const unsigned char* type = sqlite3_column_text(st.get(), 3);
        declared[ToLower(name)] = type ? reinterpret_cast<const char*>(type) : "";
        spelled[ToLower(name)] = name;
      }
      if (rc != SQLITE_DONE) return SqliteError(db_, rc, "reading the columns of " + table);
      return Status::Ok();
    };
    SLUICE_RETURN_IF_ERROR(read_columns());
    // A column renamed in the schema, its old name kept as an alias (so files with the old
    // header still map): the table's column of the old name becomes the new one, keeping its
    // values, instead of a second column that would split the history in two. Only when the
    // new name is not in the table yet and the old one is no column of the schema.
    auto listed_in_schema = [&](const std::string& lower) {
      return std::any_of(schema.columns.begin(), schema.columns.end(),
                         [&](const config::ColumnSchema& c) { return ToLower(c.name) == lower; });
    };
    bool renamed_any = false;
    for (const config::ColumnSchema& c : schema.columns) {
      if (declared.count(ToLower(c.name))) continue;
      std::vector<std::string> old_names;
      for (const std::string& a : c.aliases) {
        const std::string lower = ToLower(a);
        if (declared.count(lower) && !listed_in_schema(lower) &&
            std::find(old_names.begin(), old_names.end(), lower) == old_names.end()) {
          old_names.push_back(lower);
        }
      }
      if (old_names.size() != 1) continue;  // none, or ambiguous: see the warning below
      const std::string& old_name = spelled[old_names[0]];
      SLUICE_RETURN_IF_ERROR(Exec("ALTER TABLE " + table + " RENAME COLUMN " +
                                  QuoteIdentifier(old_name) + " TO " + QuoteIdentifier(c.name)));
      log::Warn(
          "warehouse: renamed column \"{}\" of table {} in {} to \"{}\": the schema's column of "
          "that name lists \"{}\" as an alias; its values are kept (queries and views naming "
          "the old column need the new name)",
          old_name, schema.table, Describe(), c.name, old_name);
      declared[ToLower(c.name)] = declared[old_names[0]];
      declared.erase(old_names[0]);
      renamed_any = true;
    }
    if (renamed_any) SLUICE_RETURN_IF_ERROR(read_columns());
    // A column whose affinity differs from the schema type's (int64 <-> string, say) would have
    // SQLite convert values silently ("007" into an INTEGER column becomes 7): refused, naming
    // the fix. Types stored alike (string, decimal, date, timestamp as TEXT; int64 and bool as
    // INTEGER) can change freely, and so can a declared type of the same affinity (a table a
    // user made with INT or VARCHAR(20)), or none (BLOB affinity converts nothing).
    for (const config::ColumnSchema& c : schema.columns) {
      auto it = declared.find(ToLower(c.name));
      if (it == declared.end()) continue;
      const std::string_view affinity = Affinity(it->second);
      if (affinity == "BLOB" || affinity == Affinity(SqlType(c))) continue;
      return Status::InvalidArgument(
          "table " + schema.table + " in " + Describe() + " stores column \"" + c.name + "\" as " +
          it->second + " but the schema now says " + c.TypeName() + " (stored as " +
          std::string(SqlType(c)) +
          "); SQLite would convert the values silently. Keep the old type in the schema, or "
          "migrate the table with the sql builtin (create the new table, copy the rows, rename)");
    }
    // What the table enforces must still match the schema: a different key would make the
    // upsert's ON CONFLICT (or plain inserts) fail on the first row with SQLite's words.
    std::sort(table_key.begin(), table_key.end());
    std::vector<std::string> key_cols, schema_key;
    for (auto& [pos, name] : table_key) key_cols.push_back(ToLower(name));
    for (const std::string& k : schema.primary_key) schema_key.push_back(ToLower(k));
    if (key_cols != schema_key) {
      std::vector<std::string> shown;
      for (auto& [pos, name] : table_key) shown.push_back(name);
      return Status::InvalidArgument(
          "table " + schema.table + " in " + Describe() + " has primary key (" + Join(shown, ", ") +
          ") but the schema says (" + Join(schema.primary_key, ", ") +
          "); a key cannot change in place: restore the schema's primary_key, or migrate the "
          "table with the sql builtin (create the new table, copy the rows, rename)");
    }
    // A column the schema now lets be empty that the table keeps NOT NULL: the first row
    // without a value would fail the whole merge with SQLite's words.
    for (const config::ColumnSchema& c : schema.columns) {
      if (!c.nullable) continue;  // made NOT NULL: the merge rejects rows without a value
      const bool table_requires =
          std::any_of(required.begin(), required.end(),
                      [&](const std::string& r) { return ToLower(r) == ToLower(c.name); });
      if (table_requires) {
        return Status::InvalidArgument(
            "table " + schema.table + " in " + Describe() + " has column \"" + c.name +
            "\" NOT NULL but the schema now lets it be empty (nullable), so the first row "
            "without a value would fail the merge; keep \"nullable\": false in the schema, or "
            "migrate the table with the sql builtin (create it anew without NOT NULL, copy the "
            "rows, rename)");
      }
    }
    for (const std::string& col : required) {
      std::string lower = ToLower(col);
      if (lower == "_ingest_date" || lower == "_run_id" || lower == "_source_file") continue;
      bool listed =
          std::any_of(schema.columns.begin(), schema.columns.end(),
                      [&](const config::ColumnSchema& c) { return ToLower(c.name) == lower; });
      if (!listed) {
        return Status::InvalidArgument(
            "table " + schema.table + " in " + Describe() + " has NOT NULL column \"" + col +
            "\" that the schema no longer lists, so no row could be inserted; add the column "
            "back to the schema, or migrate the table with the sql builtin");
      }
    }
    // A column the schema dropped stays with its old values and gets NULL in new rows. One an
    // alias names whose new column is in the table already (two columns of one history, from
    // before renames were applied here, or an alias shared by two columns) wants its values
    // moved before it is dropped.
    for (const auto& [lower, type] : declared) {
      if (lower.starts_with("_")) continue;  // lineage
      if (listed_in_schema(lower)) continue;
      const config::ColumnSchema* renamed = nullptr;
      for (const config::ColumnSchema& c : schema.columns) {
        for (const std::string& a : c.aliases) {
          if (ToLower(a) == lower) renamed = &c;
        }
      }
      const std::string old_column = QuoteIdentifier(spelled[lower]);
      const std::string fix =
          renamed != nullptr
              ? "the schema's column \"" + renamed->name +
                    "\" lists it as an alias: to keep one column, move its values and drop it "
                    "with the sql builtin (UPDATE " +
                    table + " SET " + QuoteIdentifier(renamed->name) + " = " + old_column +
                    " WHERE " + QuoteIdentifier(renamed->name) + " IS NULL; ALTER TABLE " + table +
                    " DROP COLUMN " + old_column + ")"
              : "drop it with the sql builtin (ALTER TABLE " + table + " DROP COLUMN " +
                    old_column + ") if it is no longer wanted";
      log::Warn(
          "warehouse: table {} in {} has column \"{}\" that the schema no longer lists; it keeps "
          "its old values and new rows leave it NULL; {}",
          schema.table, Describe(), lower, fix);
    }
    for (const config::ColumnSchema& c : schema.columns) {
      if (declared.count(ToLower(c.name))) continue;
      if (!c.nullable) {
        return Status::InvalidArgument(
            "table " + schema.table + " exists without non-nullable column \"" + c.name +
            "\"; add it as nullable first (existing rows have no value), or migrate the table "
            "with the sql builtin");
      }
      SLUICE_RETURN_IF_ERROR(Exec("ALTER TABLE " + table + " ADD COLUMN " +
                                  QuoteIdentifier(c.name) + " " + std::string(SqlType(c))));
      log::Info("warehouse: table {} gained column {} {} (new in the schema)", schema.table, c.name,
                SqlType(c));
    }
    if (rescue && !declared.count("_rescued")) {
      SLUICE_RETURN_IF_ERROR(Exec("ALTER TABLE " + table + " ADD COLUMN _rescued TEXT"));
      log::Info("warehouse: table {} gained column _rescued", schema.table);
    }
    return Status::Ok();
  };
  Status st = body();
  if (!st.ok()) {
    (void)Exec("ROLLBACK");
    return st;
  }
  return Exec("COMMIT");
}

class SqliteTableWriter : public TableWriter {
 public:
  SqliteTableWriter(SqliteWarehouse* wh, const MergeTarget& target)
      : wh_(wh), target_(target), schema_(*target.schema) {}
  ~SqliteTableWriter() override { Rollback(); }
  SqliteTableWriter(const SqliteTableWriter&) = delete;
  SqliteTableWriter& operator=(const SqliteTableWriter&) = delete;

  Status Begin() {
    const std::string table = QuoteIdentifier(schema_.table);
    rescue_ = schema_.on_extra_columns == config::ExtraColumnsPolicy::kRescue;
    std::vector<std::string> names;
    for (const auto& c : schema_.columns) names.push_back(QuoteIdentifier(c.name));
    names.insert(names.end(), {"_ingest_date", "_run_id", "_source_file"});
    if (rescue_) names.push_back("_rescued");
    // Every row of a batch comes from the rows table; the lineage values are parameters.
    SLUICE_ASSIGN_OR_RETURN(std::string rows_table, wh_->RowsTable(schema_.columns.size()));
    std::string select;
    for (size_t i = 0; i < schema_.columns.size(); ++i) select += "c" + std::to_string(i) + ",";
    select += "?1,?2,?3";
    if (rescue_) select += ",rescued";
    // "WHERE true" keeps ON CONFLICT from being parsed as a join constraint.
    std::string sql = "INSERT INTO " + table + " (" + Join(names, ",") + ") SELECT " + select +
                      " FROM " + rows_table + " WHERE true";
    // The same for one row, from parameters: ?1..?3 lineage, ?4.. the columns, then rescued.
    std::string values = "?4";
    for (size_t i = 1; i < schema_.columns.size(); ++i) values += ",?" + std::to_string(4 + i);
    values += ",?1,?2,?3";
    if (rescue_) values += ",?" + std::to_string(4 + schema_.columns.size());
    std::string row_sql =
        "INSERT INTO " + table + " (" + Join(names, ",") + ") VALUES (" + values + ")";
    if (schema_.merge == config::MergeMode::kUpsert) {
      std::vector<std::string> keys, sets;
      for (const auto& k : schema_.primary_key) keys.push_back(QuoteIdentifier(k));
      for (const std::string& n : names) {
        if (n == "_run_id") {
          sets.push_back("_run_id=sluice_updated(excluded._run_id)");
        } else if (std::find(keys.begin(), keys.end(), n) == keys.end()) {
          sets.push_back(n + "=excluded." + n);
        }
      }
      // A row of an older date (a late delivery, or a repair of a day that failed before later
      // days loaded) never overwrites what a later date loaded: the table ends the same
      // whatever order the dates are merged in. Within one date the last row of a key wins.
      const std::string conflict = " ON CONFLICT (" + Join(keys, ",") + ") DO UPDATE SET " +
                                   Join(sets, ",") + " WHERE excluded._ingest_date >= " + table +
                                   "._ingest_date";
      sql += conflict;
      row_sql += conflict;
    }
    insert_sql_ = std::move(sql);
    row_insert_sql_ = std::move(row_sql);
    return Status::Ok();
  }

  // Takes the write lock only when the first row is ready (or at commit), so parsing the
  // header and the first rows does not hold up other merges of the same partner.
  Status EnsureOpen() {
    if (open_) return Status::Ok();
    if (done_) return Status::Internal("merge of " + schema_.table + " already finished");
    const std::string table = QuoteIdentifier(schema_.table);
    SLUICE_RETURN_IF_ERROR(wh_->Exec("BEGIN IMMEDIATE"));
    open_ = true;
    SLUICE_RETURN_IF_ERROR(insert_.Prepare(wh_->db(), insert_sql_));
    sqlite3_bind_text(insert_.get(), 1, target_.ingest_date.data(),
                      static_cast<int>(target_.ingest_date.size()), SQLITE_STATIC);
    sqlite3_bind_text(insert_.get(), 2, target_.run_id.data(),
                      static_cast<int>(target_.run_id.size()), SQLITE_STATIC);
    sqlite3* db = wh_->db();
    // append and replace_date: a re-run or a re-delivery of the date replaces the rows this
    // table got for it, whatever files they came from, so the table equals a clean run.
    if (schema_.merge != config::MergeMode::kUpsert) {
      Stmt del;
      SLUICE_RETURN_IF_ERROR(del.Prepare(db, "DELETE FROM " + table + " WHERE _ingest_date=?"));
      sqlite3_bind_text(del.get(), 1, target_.ingest_date.data(),
                        static_cast<int>(target_.ingest_date.size()), SQLITE_STATIC);
      int rc = sqlite3_step(del.get());
      if (rc != SQLITE_DONE) return SqliteError(db, rc, "deleting the date's rows");
      counts_.deleted += sqlite3_changes(db);
    } else {
      wh_->upserts_updated() = 0;
      changes_at_begin_ = sqlite3_total_changes64(db);
    }
    return Status::Ok();
  }

  // SQLite's words, and for a repeated key in an append or replace_date table (an upsert
  // replaces the row instead) what the key means there and what to change.
  Status InsertError(int rc) {
    Status st = SqliteError(wh_->db(), rc, "inserting into " + schema_.table);
    const int extended = sqlite3_extended_errcode(wh_->db());
    if (schema_.merge != config::MergeMode::kUpsert && !schema_.primary_key.empty() &&
        extended == SQLITE_CONSTRAINT_PRIMARYKEY) {
      return Status::InvalidArgument(
          st.message() + ": the row's key is already in the table. " +
          (schema_.merge == config::MergeMode::kAppend ? "An append" : "A replace_date") +
          " table keeps every date's rows, so its primary key (" + Join(schema_.primary_key, ", ") +
          ") must be unique across all dates and within the file; to keep the latest row of "
          "each key use \"merge\": \"upsert\", or remove \"primary_key\" from the schema");
    }
    return st;
  }

  Status Add(std::span<const Value> values, std::string_view source_file,
             std::string_view rescued) override {
    return AddRows(values, 1, source_file, std::span<const std::string_view>(&rescued, 1), nullptr);
  }

  Status AddRows(std::span<const Value> values, size_t rows, std::string_view source_file,
                 std::span<const std::string_view> rescued, size_t* failed_row) override {
    if (rows == 0) return Status::Ok();
    const size_t ncols = schema_.columns.size();
    if (values.size() != rows * ncols || (!rescued.empty() && rescued.size() != rows)) {
      return Status::Internal("AddRows: " + std::to_string(values.size()) + " values and " +
                              std::to_string(rescued.size()) + " rescued for " +
                              std::to_string(rows) + " rows of " + std::to_string(ncols) +
                              " columns");
    }
    if (failed_) {
      return Status::Internal("merge of " + schema_.table +
                              " already failed; roll it back instead of adding rows");
    }
    if (!open_) SLUICE_RETURN_IF_ERROR(EnsureOpen());
    Status st = one_by_one_ ? AddOneByOne(values, rows, source_file, rescued, failed_row)
                            : AddAsBatch(values, rows, source_file, rescued, failed_row);
    if (!st.ok()) {
      failed_ = true;
      return st;
    }
    counts_.loaded += static_cast<int64_t>(rows);
    return Status::Ok();
  }

  // One INSERT ... SELECT over the rows table for the whole batch. Switches the rest of the
  // merge to one statement per row when the batch's statement journal shows its rows landed
  // all over the table (input out of key order for an upsert into existing rows): then each
  // batch would copy nearly every page of the table into the journal, while a one-row
  // statement needs no statement journal at all. In key order the journal is about the size of
  // the rows themselves (the pages they fill); out of order, a 64 KiB page per row.
  Status AddAsBatch(std::span<const Value> values, size_t rows, std::string_view source_file,
                    std::span<const std::string_view> rescued, size_t* failed_row) {
    // Out of order means a journal well past both ~a page per 32 rows and 8x the rows' own
    // bytes (wide rows in key order journal about their own size).
    constexpr int64_t kMaxJournalPerRow = 2048;
    constexpr int64_t kMaxJournalPerRowByte = 8;
    const size_t ncols = schema_.columns.size();
    const int64_t journal_before = t_statement_journal_bytes;
    RowSource& src = wh_->row_source();
    src.values = values.data();
    src.ncols = ncols;
    src.rows = rows;
    src.rescued = rescued.empty() ? nullptr : rescued.data();
    src.current = 0;
    sqlite3_stmt* st = insert_.get();
    sqlite3_bind_text(st, 3, source_file.data(), static_cast<int>(source_file.size()),
                      SQLITE_STATIC);
    int rc = sqlite3_step(st);
    size_t at = src.current;
    sqlite3_reset(st);
    src = RowSource{};  // nothing may read the caller's rows after this call
    if (rc != SQLITE_DONE) {
      if (failed_row) *failed_row = std::min(at, rows - 1);
      return InsertError(rc);
    }
    const int64_t journal = t_statement_journal_bytes - journal_before;
    // (Small batches are allowed a few pages whatever their size.) The rows' bytes are only
    // summed when the cheap bounds are passed, so in-order batches pay nothing for the check.
    auto batch_bytes = [&] {
      int64_t n = 0;
      for (const Value& v : values) {
        n += v.kind == ValueKind::kText ? static_cast<int64_t>(v.s.size()) : 8;
      }
      return n;
    };
    if (journal > std::max(kMaxJournalPerRow * static_cast<int64_t>(rows), kCacheBytes >> 4) &&
        journal > kMaxJournalPerRowByte * batch_bytes()) {
      one_by_one_ = true;
      counts_.one_statement_per_row = true;
      // Rows all over the table also miss the page cache, each miss a 64 KiB read and a 64 KiB
      // write when the changed page is evicted: let the cache hold the database, up to a bound.
      constexpr int64_t kMaxCacheBytes = int64_t{512} << 20;
      const int64_t db_bytes = wh_->DatabaseBytes();
      const int64_t cache = std::clamp(db_bytes + (db_bytes >> 3), kCacheBytes, kMaxCacheBytes);
      if (cache > kCacheBytes) {
        SLUICE_RETURN_IF_ERROR(wh_->Exec("PRAGMA cache_size=-" + std::to_string(cache >> 10)));
      }
      log::Info(
          "warehouse: rows of {} arrive out of key order ({} KiB of statement journal for "
          "{} rows); adding the rest one statement per row, page cache {} MiB",
          schema_.table, journal >> 10, rows, cache >> 20);
    }
    return Status::Ok();
  }

  Status AddOneByOne(std::span<const Value> values, size_t rows, std::string_view source_file,
                     std::span<const std::string_view> rescued, size_t* failed_row) {
    const size_t ncols = schema_.columns.size();
    if (row_insert_.get() == nullptr) {
      SLUICE_RETURN_IF_ERROR(row_insert_.Prepare(wh_->db(), row_insert_sql_));
      sqlite3_bind_text(row_insert_.get(), 1, target_.ingest_date.data(),
                        static_cast<int>(target_.ingest_date.size()), SQLITE_STATIC);
      sqlite3_bind_text(row_insert_.get(), 2, target_.run_id.data(),
                        static_cast<int>(target_.run_id.size()), SQLITE_STATIC);
    }
    sqlite3_stmt* st = row_insert_.get();
    sqlite3_bind_text(st, 3, source_file.data(), static_cast<int>(source_file.size()),
                      SQLITE_STATIC);
    for (size_t r = 0; r < rows; ++r) {
      for (size_t c = 0; c < ncols; ++c) {
        const Value& v = values[r * ncols + c];
        const int param = static_cast<int>(4 + c);
        switch (v.kind) {
          case ValueKind::kNull:
            sqlite3_bind_null(st, param);
            break;
          case ValueKind::kInt:
            sqlite3_bind_int64(st, param, v.i);
            break;
          case ValueKind::kReal:
            sqlite3_bind_double(st, param, v.d);
            break;
          case ValueKind::kText:
            sqlite3_bind_text(st, param, v.s.data(), static_cast<int>(v.s.size()), SQLITE_STATIC);
            break;
        }
      }
      if (rescue_) {
        const int param = static_cast<int>(4 + ncols);
        if (rescued.empty() || rescued[r].empty()) {
          sqlite3_bind_null(st, param);
        } else {
          sqlite3_bind_text(st, param, rescued[r].data(), static_cast<int>(rescued[r].size()),
                            SQLITE_STATIC);
        }
      }
      int rc = sqlite3_step(st);
      sqlite3_reset(st);
      if (rc != SQLITE_DONE) {
        if (failed_row) *failed_row = r;
        return InsertError(rc);
      }
    }
    return Status::Ok();
  }

  Result<MergeCounts> Commit() override {
    if (failed_) {
      return Status::Internal("merge of " + schema_.table +
                              " failed while adding rows; it can only be rolled back");
    }
    SLUICE_RETURN_IF_ERROR(EnsureOpen());
    if (schema_.merge == config::MergeMode::kUpsert) {
      // Rows whose DO UPDATE was skipped (the key holds a later date's row) change nothing.
      const int64_t changed = sqlite3_total_changes64(wh_->db()) - changes_at_begin_;
      counts_.updated = wh_->upserts_updated();
      counts_.inserted = changed - counts_.updated;
      counts_.kept_newer = counts_.loaded - changed;
    } else {
      counts_.inserted = counts_.loaded;
    }
    if (!target_.inputs.empty()) SLUICE_RETURN_IF_ERROR(RecordOrRepeatCounts());
    SLUICE_RETURN_IF_ERROR(wh_->Exec("COMMIT"));
    open_ = false;
    done_ = true;
    return counts_;
  }

  // In the merge's transaction: keeps what this merge of the date did in sluice_merges, or,
  // when the date's last committed merge had the same inputs, takes that merge's counts (its
  // rows were the ones just loaded again: a re-run deletes or updates its own rows).
  Status RecordOrRepeatCounts() {
    sqlite3* db = wh_->db();
    SLUICE_RETURN_IF_ERROR(wh_->Exec(
        "CREATE TABLE IF NOT EXISTS sluice_merges (table_name TEXT NOT NULL, ingest_date TEXT "
        "NOT NULL, inputs TEXT NOT NULL, run_id TEXT NOT NULL, rows_inserted INTEGER NOT NULL, "
        "rows_updated INTEGER NOT NULL, rows_deleted INTEGER NOT NULL, rows_kept_newer INTEGER "
        "NOT NULL, PRIMARY KEY (table_name, ingest_date))"));
    auto bind_key = [&](sqlite3_stmt* st) {
      sqlite3_bind_text(st, 1, schema_.table.data(), static_cast<int>(schema_.table.size()),
                        SQLITE_STATIC);
      sqlite3_bind_text(st, 2, target_.ingest_date.data(),
                        static_cast<int>(target_.ingest_date.size()), SQLITE_STATIC);
    };
    {
      Stmt get;
      SLUICE_RETURN_IF_ERROR(
          get.Prepare(db,
                      "SELECT inputs, run_id, rows_inserted, rows_updated, rows_deleted, "
                      "rows_kept_newer FROM sluice_merges WHERE table_name = ?1 "
                      "AND ingest_date = ?2"));
      bind_key(get.get());
      int rc = sqlite3_step(get.get());
      if (rc == SQLITE_ROW) {
        const auto* inputs = reinterpret_cast<const char*>(sqlite3_column_text(get.get(), 0));
        if (inputs != nullptr && target_.inputs == inputs) {
          counts_.same_inputs_as_run =
              reinterpret_cast<const char*>(sqlite3_column_text(get.get(), 1));
          counts_.inserted = sqlite3_column_int64(get.get(), 2);
          counts_.updated = sqlite3_column_int64(get.get(), 3);
          counts_.deleted = sqlite3_column_int64(get.get(), 4);
          counts_.kept_newer = sqlite3_column_int64(get.get(), 5);
          return Status::Ok();
        }
      } else if (rc != SQLITE_DONE) {
        return SqliteError(db, rc, "reading sluice_merges");
      }
    }
    Stmt put;
    SLUICE_RETURN_IF_ERROR(put.Prepare(
        db,
        "INSERT OR REPLACE INTO sluice_merges (table_name, ingest_date, inputs, run_id, "
        "rows_inserted, rows_updated, rows_deleted, rows_kept_newer) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
    bind_key(put.get());
    sqlite3_bind_text(put.get(), 3, target_.inputs.data(), static_cast<int>(target_.inputs.size()),
                      SQLITE_STATIC);
    sqlite3_bind_text(put.get(), 4, target_.run_id.data(), static_cast<int>(target_.run_id.size()),
                      SQLITE_STATIC);
    sqlite3_bind_int64(put.get(), 5, counts_.inserted);
    sqlite3_bind_int64(put.get(), 6, counts_.updated);
    sqlite3_bind_int64(put.get(), 7, counts_.deleted);
    sqlite3_bind_int64(put.get(), 8, counts_.kept_newer);
    int rc = sqlite3_step(put.get());
    if (rc != SQLITE_DONE) return SqliteError(db, rc, "recording the merge in sluice_merges");
    return Status::Ok();
  }

  void Rollback() override {
    done_ = true;
    if (!open_) return;
    open_ = false;
    (void)wh_->Exec("ROLLBACK");
  }

 private:
  SqliteWarehouse* wh_;
  MergeTarget target_;
  const config::TableSchema& schema_;
  Stmt insert_;
  std::string insert_sql_;
  Stmt row_insert_;  // prepared once the merge goes one row per statement
  std::string row_insert_sql_;
  bool one_by_one_ = false;
  bool failed_ = false;           // an AddRows failed: only Rollback() is left
  int64_t changes_at_begin_ = 0;  // sqlite3_total_changes64 when the upsert began
  bool open_ = false;
  bool done_ = false;
  bool rescue_ = false;
  MergeCounts counts_;
};

Result<std::unique_ptr<TableWriter>> SqliteWarehouse::BeginMerge(const MergeTarget& target) {
  SLUICE_RETURN_IF_ERROR(EnsureTable(*target.schema));
  auto writer = std::make_unique<SqliteTableWriter>(this, target);
  SLUICE_RETURN_IF_ERROR(writer->Begin());
  return std::unique_ptr<TableWriter>(std::move(writer));
}

}  // namespace

namespace {

// A VFS over the default one whose database, WAL and rollback journal files start the kernel's
// writeback of what SQLite wrote every 8 MiB, without waiting (sync_file_range, as RocksDB's
// bytes_per_sync): the fsyncs at a merge's commit or checkpoint then find little left to flush
// instead of ~100 MiB each, so a core no longer idles on them. Durability is unchanged: SQLite
// still fsyncs where it did. Writeback needs a descriptor of our own, and closing any
// descriptor of a file drops every POSIX lock the process holds on it. SQLite locks the main
// database file (and the -shm file), never a WAL or journal: those get a descriptor per open
// file, closed with it; a database gets one
// descriptor per inode for the life of the process (DatabaseWritebackFd), never closed, so no
// connection's locks can be released by it.
struct WritebackFile {
  sqlite3_file base;
  int fd;                  // our own read-only descriptor of the file, or -1
  bool owns_fd;            // true for a WAL's descriptor; a database's is shared and kept
  bool statement_journal;  // writes are counted in t_statement_journal_bytes
  sqlite3_int64 pending;   // bytes written since writeback was last started
};
constexpr size_t kWritebackHeader = (sizeof(WritebackFile) + 15) & ~size_t{15};
constexpr sqlite3_int64 kWritebackEvery = sqlite3_int64{8} << 20;

sqlite3_vfs* RealVfs(sqlite3_vfs* vfs) { return static_cast<sqlite3_vfs*>(vfs->pAppData); }
sqlite3_file* RealFile(sqlite3_file* f) {
  return reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + kWritebackHeader);
}
WritebackFile* Wb(sqlite3_file* f) { return reinterpret_cast<WritebackFile*>(f); }

#define SLUICE_FORWARD(name, ...) RealFile(f)->pMethods->name(RealFile(f), ##__VA_ARGS__)

const sqlite3_io_methods kWritebackMethods = {
    3,
    /* xClose */
    [](sqlite3_file* f) {
      if (Wb(f)->fd >= 0 && Wb(f)->owns_fd) ::close(Wb(f)->fd);
      Wb(f)->fd = -1;
      return SLUICE_FORWARD(xClose);
    },
    [](sqlite3_file* f, void* buf, int amt, sqlite3_int64 off) {
      return SLUICE_FORWARD(xRead, buf, amt, off);
    },
    /* xWrite */
    [](sqlite3_file* f, const void* buf, int amt, sqlite3_int64 off) {
      int rc = SLUICE_FORWARD(xWrite, buf, amt, off);
      WritebackFile* w = Wb(f);
      if (w->statement_journal) t_statement_journal_bytes += amt;
      if (rc == SQLITE_OK && w->fd >= 0 && (w->pending += amt) >= kWritebackEvery) {
        (void)::sync_file_range(w->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
        w->pending = 0;
      }
      return rc;
    },
    [](sqlite3_file* f, sqlite3_int64 size) { return SLUICE_FORWARD(xTruncate, size); },
    [](sqlite3_file* f, int flags) {
      Wb(f)->pending = 0;
      return SLUICE_FORWARD(xSync, flags);
    },
    [](sqlite3_file* f, sqlite3_int64* size) { return SLUICE_FORWARD(xFileSize, size); },
    [](sqlite3_file* f, int lock) { return SLUICE_FORWARD(xLock, lock); },
    [](sqlite3_file* f, int lock) { return SLUICE_FORWARD(xUnlock, lock); },
    [](sqlite3_file* f, int* out) { return SLUICE_FORWARD(xCheckReservedLock, out); },
    [](sqlite3_file* f, int op, void* arg) { return SLUICE_FORWARD(xFileControl, op, arg); },
    [](sqlite3_file* f) { return SLUICE_FORWARD(xSectorSize); },
    [](sqlite3_file* f) { return SLUICE_FORWARD(xDeviceCharacteristics); },
    [](sqlite3_file* f, int page, int size, int extend, void volatile** out) {
      return SLUICE_FORWARD(xShmMap, page, size, extend, out);
    },
    [](sqlite3_file* f, int offset, int n, int flags) {
      return SLUICE_FORWARD(xShmLock, offset, n, flags);
    },
    [](sqlite3_file* f) { SLUICE_FORWARD(xShmBarrier); },
    [](sqlite3_file* f, int del) { return SLUICE_FORWARD(xShmUnmap, del); },
    [](sqlite3_file* f, sqlite3_int64 off, int amt, void** out) {
      return SLUICE_FORWARD(xFetch, off, amt, out);
    },
    [](sqlite3_file* f, sqlite3_int64 off, void* p) { return SLUICE_FORWARD(xUnfetch, off, p); },
};

#undef SLUICE_FORWARD

// A read-only descriptor of the database file `name`, one per inode for the life of the process
// and never closed (see above), or -1. At most kMaxDatabaseFds files get one; later ones just
// skip the early writeback. Holding the descriptor keeps a deleted file's inode, so an inode
// number in the table can never be reused by another file meanwhile.
int DatabaseWritebackFd(const char* name) {
  constexpr size_t kMaxDatabaseFds = 64;
  static std::mutex mu;
  static std::map<std::pair<dev_t, ino_t>, int>* fds = new std::map<std::pair<dev_t, ino_t>, int>;
  struct stat st {};
  if (::stat(name, &st) != 0 || !S_ISREG(st.st_mode)) return -1;
  std::lock_guard<std::mutex> lock(mu);
  auto it = fds->find({st.st_dev, st.st_ino});
  if (it != fds->end()) return it->second;
  if (fds->size() >= kMaxDatabaseFds) return -1;
  int fd = ::open(name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return -1;
  struct stat opened {};
  // Renamed or replaced between the stat and the open: keep it out of the table (it would be
  // filed under another inode) but still never close it, as it may be the database's inode.
  if (::fstat(fd, &opened) != 0 || opened.st_dev != st.st_dev || opened.st_ino != st.st_ino) {
    return -1;
  }
  fds->emplace(std::make_pair(st.st_dev, st.st_ino), fd);
  return fd;
}

int WritebackOpen(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* f, int flags,
                  int* out_flags) {
  sqlite3_file* real = RealFile(f);
  int rc = RealVfs(vfs)->xOpen(RealVfs(vfs), name, real, flags, out_flags);
  if (rc != SQLITE_OK || real->pMethods == nullptr) {
    f->pMethods = nullptr;
    return rc;
  }
  // The default unix VFS speaks io_methods version 3; anything older is left unwrapped.
  if (real->pMethods->iVersion < 3) {
    real->pMethods->xClose(real);
    f->pMethods = nullptr;
    return SQLITE_CANTOPEN;
  }
  WritebackFile* w = Wb(f);
  w->fd = -1;
  w->owns_fd = false;
  w->statement_journal = (flags & SQLITE_OPEN_SUBJOURNAL) != 0;
  w->pending = 0;
  if (name != nullptr && (flags & (SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_JOURNAL)) != 0) {
    w->fd = ::open(name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    w->owns_fd = true;
  } else if (name != nullptr && (flags & SQLITE_OPEN_MAIN_DB) != 0) {
    w->fd = DatabaseWritebackFd(name);
  }
  f->pMethods = &kWritebackMethods;
  return SQLITE_OK;
}

// The VFS is registered once per process (not as the default) and used by OpenWarehouse;
// nullptr when there is no default VFS to wrap.
const char* WritebackVfsName() {
  static const char* name = []() -> const char* {
    sqlite3_vfs* real = sqlite3_vfs_find(nullptr);
    if (real == nullptr || real->iVersion < 2) return nullptr;
    static sqlite3_vfs vfs = *real;
    vfs.pNext = nullptr;
    vfs.zName = "sluice-writeback";
    vfs.pAppData = real;
    vfs.szOsFile = static_cast<int>(kWritebackHeader) + real->szOsFile;
    vfs.xOpen = WritebackOpen;
    vfs.xDelete = [](sqlite3_vfs* v, const char* n, int sync) {
      return RealVfs(v)->xDelete(RealVfs(v), n, sync);
    };
    vfs.xAccess = [](sqlite3_vfs* v, const char* n, int flags, int* out) {
      return RealVfs(v)->xAccess(RealVfs(v), n, flags, out);
    };
    vfs.xFullPathname = [](sqlite3_vfs* v, const char* n, int size, char* out) {
      return RealVfs(v)->xFullPathname(RealVfs(v), n, size, out);
    };
    vfs.xDlOpen = [](sqlite3_vfs* v, const char* n) { return RealVfs(v)->xDlOpen(RealVfs(v), n); };
    vfs.xDlError = [](sqlite3_vfs* v, int n, char* out) {
      RealVfs(v)->xDlError(RealVfs(v), n, out);
    };
    vfs.xDlSym = [](sqlite3_vfs* v, void* h, const char* sym) {
      return RealVfs(v)->xDlSym(RealVfs(v), h, sym);
    };
    vfs.xDlClose = [](sqlite3_vfs* v, void* h) { RealVfs(v)->xDlClose(RealVfs(v), h); };
    vfs.xRandomness = [](sqlite3_vfs* v, int n, char* out) {
      return RealVfs(v)->xRandomness(RealVfs(v), n, out);
    };
    vfs.xSleep = [](sqlite3_vfs* v, int us) { return RealVfs(v)->xSleep(RealVfs(v), us); };
    vfs.xCurrentTime = [](sqlite3_vfs* v, double* out) {
      return RealVfs(v)->xCurrentTime(RealVfs(v), out);
    };
    vfs.xGetLastError = [](sqlite3_vfs* v, int n, char* out) {
      return RealVfs(v)->xGetLastError(RealVfs(v), n, out);
    };
    vfs.xCurrentTimeInt64 = [](sqlite3_vfs* v, sqlite3_int64* out) {
      return RealVfs(v)->xCurrentTimeInt64(RealVfs(v), out);
    };
    if (vfs.iVersion >= 3) {
      vfs.xSetSystemCall = [](sqlite3_vfs* v, const char* n, sqlite3_syscall_ptr p) {
        return RealVfs(v)->xSetSystemCall(RealVfs(v), n, p);
      };
      vfs.xGetSystemCall = [](sqlite3_vfs* v, const char* n) {
        return RealVfs(v)->xGetSystemCall(RealVfs(v), n);
      };
      vfs.xNextSystemCall = [](sqlite3_vfs* v, const char* n) {
        return RealVfs(v)->xNextSystemCall(RealVfs(v), n);
      };
    }
    if (sqlite3_vfs_register(&vfs, 0) != SQLITE_OK) return nullptr;
    return vfs.zName;
  }();
  return name;
}

}  // namespace

Result<std::unique_ptr<Warehouse>> OpenWarehouse(const std::string& url,
                                                 const std::filesystem::path& base_dir,
                                                 std::string_view partner,
                                                 const WarehouseOptions& options) {
  if (!IsValidPartnerId(partner)) {
    return Status::InvalidArgument("warehouse: \"" + Printable(partner) +
                                   "\" is not a valid partner id");
  }
  if (StartsWith(url, "postgresql://") || StartsWith(url, "postgres://")) {
    return Status::InvalidArgument(
        "warehouse: postgresql:// is not supported yet; use sqlite://DIR");
  }
  if (!StartsWith(url, "sqlite://")) {
    return Status::InvalidArgument("warehouse: unknown URL \"" + url +
                                   "\"; use sqlite://DIR (one database file per partner)");
  }
  auto parsed = config::ParseSqliteWarehouseUrl(url);
  if (!parsed.ok()) return Status::InvalidArgument("warehouse: " + parsed.status().message());
  std::filesystem::path dir(parsed->dir);
  if (dir.is_relative()) dir = base_dir / dir;
  dir = dir.lexically_normal();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IoError("warehouse: cannot create " + dir.string() + ": " + ec.message());
  std::filesystem::path path = dir / (std::string(partner) + ".db");
  // Each partner's rows go to its own file: a link in its place (warehouse/initech.db ->
  // globex.db, or to a file outside the pipeline) is refused, never written through.
  for (const char* suffix : {"", "-journal", "-wal", "-shm"}) {
    const std::string p = path.string() + suffix;
    struct stat st;
    if (::lstat(p.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
      return Status::PermissionDenied(
          "warehouse: " + p + " is " + (S_ISLNK(st.st_mode) ? "a symbolic link" : "not a file") +
          "; sluice writes each partner's database only to a file of its own: remove it (or "
          "move the real file there)");
    }
  }
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
      WritebackVfsName());
  if (rc != SQLITE_OK) {
    Status st = SqliteError(db, rc, "warehouse: opening " + path.string());
    sqlite3_close_v2(db);
    return st;
  }
  // The two-argument fts3_tokenizer() sets a function pointer: off, whatever the build allows.
  sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER, 0, nullptr);
  auto wh = std::make_unique<SqliteWarehouse>(db, path);
  wh->WaitForLocks(options.busy_timeout_ms, options.lock_warning_ms);
  // 64 KiB pages (SQLite's largest): fewer B-tree splits and page writes per row on bulk
  // upserts, which is what a warehouse of daily loads does (merge_bench: 45 MB/s with 4 KiB,
  // 53 with 16 KiB, 59.5 with 64 KiB). Takes effect when the database file is new; existing
  // files keep their page size.
  SLUICE_RETURN_IF_ERROR(wh->Exec("PRAGMA page_size=65536"));
  if (parsed->journal == config::SqliteJournal::kRollback) {
    SLUICE_RETURN_IF_ERROR(wh->UseRollbackJournal());
  } else {
    SLUICE_RETURN_IF_ERROR(wh->UseWal(options.busy_timeout_ms));
  }
  SLUICE_RETURN_IF_ERROR(wh->Exec("PRAGMA cache_size=-" + std::to_string(kCacheBytes >> 10)));
  SLUICE_RETURN_IF_ERROR(wh->RegisterCounter());
  return std::unique_ptr<Warehouse>(std::move(wh));
}

}  // namespace sluice::warehouse
