// SQLite back-end of the warehouse: one database file per partner, WAL or rollback journal
// (the URL's ?journal=), writers queued on BEGIN IMMEDIATE with a long busy timeout. This file:
// opening a connection, its pragmas and lock waits, queries; the rest is in sqlite_*.cpp.
#include "warehouse/sqlite_warehouse.h"

#include <malloc.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <system_error>
#include <thread>

#include "core/logging.h"
#include "core/strings.h"
#include "warehouse/sqlite_internal.h"

namespace sluice::warehouse {

void PrepareSqliteForBulkWrites() {
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

TableRules SqliteTableRules() {
  TableRules r;
  r.engine = "SQLite";
  r.max_columns = 2000;
  r.lineage_columns = 5;
  r.case_insensitive = true;
  // SQLite refuses to create these (its check ignores case).
  r.reserved_prefixes = {
      {"sqlite_", "SQLite keeps names starting with \"sqlite_\" (in any case) for itself"}};
  // In an upsert, excluded.col names the incoming row: a table of that name would update each
  // row with itself, silently.
  r.reserved_names = {{"excluded", "SQLite's upsert calls the incoming row \"excluded\""}};
  return r;
}

namespace sqlite {

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
  // A full disk or an I/O error is about one file: name it, so the message says which file
  // system to look at (the callers' context names the table, not the database).
  const char* file = db ? sqlite3_db_filename(db, "main") : nullptr;
  if (file != nullptr && *file != '\0' && msg.find(file) == std::string::npos) {
    msg += primary == SQLITE_FULL
               ? " (database " + std::string(file) +
                     ": free space on its file system, then `sluice repair` the run)"
               : " (database " + std::string(file) + ")";
  }
  return Status::IoError(msg);
}

// Waits for a lock another connection holds like sqlite3_busy_timeout, but says so in the log
// after `warn_after_ms` and then every few minutes: a merge queued behind another merge of the
// partner, or (journal=rollback) behind a reader, is otherwise silent until its timeout.
void SqliteWarehouse::WaitForLocks(int64_t timeout_ms, int64_t warn_after_ms) {
  busy_.timeout = std::chrono::milliseconds(timeout_ms);
  busy_.warn_after = std::chrono::milliseconds(warn_after_ms);
  busy_.what = Describe();
  sqlite3_busy_handler(db_, &SqliteWarehouse::OnBusy, &busy_);
}

// sluice_updated(x) returns x and counts one call. The upsert's DO UPDATE SET calls it, so
// updated rows are counted exactly without a count(*) over the whole table.
Status SqliteWarehouse::RegisterCounter() {
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

// journal=wal (the default): readers (checks, people) never wait for a merge. FULL sync: each
// commit syncs the WAL before the merge reports success. NORMAL would survive a killed process
// too, but leaves a commit unsynced until a checkpoint, and a merge's closing checkpoint does
// not happen while another connection (the partner's other merge, a reader) has the database
// open: a power loss then could lose a merge the ledger already records as done. The cost is
// one fdatasync per merge (a merge commits once).
Status SqliteWarehouse::UseWal(int64_t busy_timeout_ms) {
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
  return Exec("PRAGMA synchronous=FULL");
}

// journal=rollback: SQLite's rollback journal keeps the original of every page that held data
// before the transaction; pages a merge appends are written once, to the database, instead of
// to the WAL and again at the checkpoint. FULL sync: the journal reaches the disk before the
// database is changed, and the database before the journal is deleted.
// A database still in WAL mode (made with journal=wal) is switched back when no other
// connection has it open; otherwise this connection keeps using the WAL, which is as correct.
Status SqliteWarehouse::UseRollbackJournal() {
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
  return Exec("PRAGMA synchronous=FULL");  // as UseWal(), for the same reason
}

// The database file's size from its page count (0 when unknown).
int64_t SqliteWarehouse::DatabaseBytes() {
  auto pragma = [&](const char* sql) -> int64_t {
    Stmt st;
    if (!st.Prepare(db_, sql).ok() || sqlite3_step(st.get()) != SQLITE_ROW) return 0;
    return sqlite3_column_int64(st.get(), 0);
  };
  return pragma("PRAGMA page_count") * pragma("PRAGMA page_size");
}

Status SqliteWarehouse::Exec(std::string_view sql) {
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

Result<int64_t> SqliteWarehouse::ScalarInt(const std::string& sql) {
  Stmt st;
  SLUICE_RETURN_IF_ERROR(st.Prepare(db_, sql));
  int rc = sqlite3_step(st.get());
  if (rc == SQLITE_ROW) return static_cast<int64_t>(sqlite3_column_int64(st.get(), 0));
  if (rc == SQLITE_DONE) return int64_t{0};
  return SqliteError(db_, rc, sql);
}

Result<QueryResult> SqliteWarehouse::Query(std::string_view sql, int64_t max_rows,
                                           int64_t* total_rows) {
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
Status SqliteWarehouse::PrepareReadOnly(std::string_view sql, Stmt* out) {
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

// The sql builtin runs a partner's own statements in its own database. An authorizer keeps
// them there while they compile: no ATTACH (another partner's file), no PRAGMA (journal,
// writable_schema), no transaction control (the builtin's one transaction), no extension
// loading and no fts3_tokenizer(). Everything else (DDL, DML, views, triggers) is allowed.
Status SqliteWarehouse::Execute(std::string_view sql) {
  auto authorize = [](void*, int action, const char* arg1, const char* arg2, const char*,
                      const char*) -> int {
    switch (action) {
      case SQLITE_ATTACH:
      case SQLITE_DETACH:
      case SQLITE_PRAGMA:
      case SQLITE_TRANSACTION:
      case SQLITE_SAVEPOINT:
        return SQLITE_DENY;
      case SQLITE_FUNCTION: {
        const char* name = arg2 != nullptr ? arg2 : arg1;
        return name != nullptr && (sqlite3_stricmp(name, "fts3_tokenizer") == 0 ||
                                   sqlite3_stricmp(name, "load_extension") == 0)
                   ? SQLITE_DENY
                   : SQLITE_OK;
      }
      default:
        return SQLITE_OK;
    }
  };
  SLUICE_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  sqlite3_set_authorizer(db_, authorize, nullptr);
  Status st = Exec(sql);
  sqlite3_set_authorizer(db_, nullptr, nullptr);
  if (!st.ok() && st.code() != StatusCode::kCorrupt &&
      st.message().find("not authorized") != std::string::npos) {
    st = Status::PermissionDenied(
        st.message() +
        "; the sql builtin may change only this partner's own tables (no ATTACH, PRAGMA, "
        "BEGIN/COMMIT/SAVEPOINT or extensions)");
  }
  if (!st.ok()) {
    (void)Exec("ROLLBACK");
    return st;
  }
  return Exec("COMMIT");
}

Result<bool> SqliteWarehouse::TableExists(std::string_view table) {
  Stmt st;
  SLUICE_RETURN_IF_ERROR(
      st.Prepare(db_, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?"));
  sqlite3_bind_text(st.get(), 1, table.data(), static_cast<int>(table.size()), SQLITE_STATIC);
  int rc = sqlite3_step(st.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(db_, rc, "looking up table " + std::string(table));
}

Result<std::vector<std::vector<std::string>>> SqliteWarehouse::UniqueKeys(std::string_view table) {
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
  SLUICE_RETURN_IF_ERROR(
      list.Prepare(db_, "SELECT name FROM pragma_index_list(?) WHERE \"unique\" AND NOT partial"));
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

// Registers sluice_rows_<ncols> on this connection (once) and returns its name.
Result<std::string> SqliteWarehouse::RowsTable(size_t ncols) {
  std::string name = "sluice_rows_" + std::to_string(ncols);
  if (registered_.insert(ncols).second) {
    int rc = sqlite3_create_module_v2(db_, name.c_str(), &kRowsModule, &row_source_, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db_, rc, "registering " + name);
  }
  return name;
}

int SqliteWarehouse::OnBusy(void* arg, int count) {
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

}  // namespace sqlite

Result<std::unique_ptr<Warehouse>> OpenSqliteWarehouse(const std::string& url,
                                                       const std::filesystem::path& base_dir,
                                                       std::string_view partner,
                                                       const WarehouseOptions& options) {
  using sqlite::SqliteError;
  using sqlite::SqliteWarehouse;
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
      sqlite::WritebackVfsName());
  if (rc != SQLITE_OK) {
    Status st = SqliteError(db, rc, "warehouse: opening " + path.string());
    sqlite3_close_v2(db);
    return st;
  }
  // The two-argument fts3_tokenizer() sets a function pointer: off, whatever the build allows.
  sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER, 0, nullptr);
  auto wh = std::make_unique<SqliteWarehouse>(db, path, std::string(partner));
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
  SLUICE_RETURN_IF_ERROR(
      wh->Exec("PRAGMA cache_size=-" + std::to_string(sqlite::kCacheBytes >> 10)));
  SLUICE_RETURN_IF_ERROR(wh->RegisterCounter());
  return std::unique_ptr<Warehouse>(std::move(wh));
}

}  // namespace sluice::warehouse
