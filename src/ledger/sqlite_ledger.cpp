// sqlite_ledger.cpp: Ledger on one SQLite file. Every write is one transaction, so a SIGKILL at
// any moment leaves either the old or the new state. WAL lets `sluice show` read while a run
// writes; the busy timeout lets several sluice processes share the file.
#include "ledger/sqlite_ledger.h"

#include <sqlite3.h>

#include <iterator>
#include <string>
#include <system_error>
#include <unordered_map>
#include <utility>

namespace sluice::ledger {

namespace {

// Version 1: the schema of wave one, which recorded no version (user_version 0). A fresh file
// is created at version 1 and migrated like an old one, so both take the same path.
constexpr const char* kSchemaV1 = R"SQL(
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
)SQL";

// Migrations: kMigrations[i] takes a ledger from version i+1 to i+2, inside one transaction
// with the user_version update, so a crash leaves the old or the new version, never half.
constexpr const char* kMigrations[] = {
    // 1 -> 2: run owner start time and lease, cancel requests, executor attempt ids (the pid,
    // as text, for attempts of the local executor recorded before), and indexes so listing a
    // run's runs newest-first and its unfinished attempts reads no more than it returns.
    R"SQL(
ALTER TABLE runs ADD COLUMN scheduler_start TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN heartbeat_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN cancel_requested_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE attempts ADD COLUMN executor_id TEXT NOT NULL DEFAULT '';
ALTER TABLE attempts ADD COLUMN executor TEXT NOT NULL DEFAULT 'local';
UPDATE attempts SET executor_id = CAST(pid AS TEXT) WHERE pid > 0;
CREATE INDEX IF NOT EXISTS runs_by_created ON runs(created_ms DESC, run_id DESC);
CREATE INDEX IF NOT EXISTS attempts_by_state ON attempts(run_id, state);
)SQL",
};
static_assert(std::size(kMigrations) + 1 == kLedgerSchemaVersion,
              "one migration per schema version after the first");

constexpr const char* kRunColumns =
    "run_id, workflow, pipeline_dir, logical_date, params, state, created_ms, ended_ms, "
    "scheduler_pid, host, scheduler_start, heartbeat_ms, cancel_requested_ms";
constexpr const char* kAttemptColumns =
    "run_id, task_key, partner, attempt, executor_id, state, started_ms, ended_ms, exit_code, "
    "signal, log_path, error, result, executor, pid";

// A prepared statement from the ledger's cache: prepared once per connection, reset and its
// bindings cleared on scope exit (preparing dominated the cost of the per-attempt writes).
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* stmt, int rc) : db_(db), stmt_(stmt), rc_(rc) {}
  ~Stmt() {
    if (stmt_ != nullptr) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Status prepared() const {
    if (rc_ == SQLITE_OK) return Status::Ok();
    return Status::IoError(std::string("ledger: cannot prepare statement: ") + sqlite3_errmsg(db_));
  }
  Stmt& Bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Stmt& Bind(int i, int v) { return Bind(i, static_cast<int64_t>(v)); }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return stmt_ ? sqlite3_step(stmt_) : SQLITE_MISUSE; }
  Status Run() {
    int rc = Step();
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) return Status::Ok();
    return Status::IoError(std::string("ledger: write failed: ") + sqlite3_errmsg(db_));
  }
  std::string Text(int col) const {
    const unsigned char* t = sqlite3_column_text(stmt_, col);
    return t ? std::string(reinterpret_cast<const char*>(t),
                           static_cast<size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string();
  }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_OK;
};

class SqliteLedger final : public Ledger {
 public:
  explicit SqliteLedger(sqlite3* db) : db_(db) {}
  ~SqliteLedger() override {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }

  // The cached statement for `sql` (one per distinct text).
  Stmt Prepare(const std::string& sql) {
    auto it = cache_.find(sql);
    if (it != cache_.end()) return Stmt(db_, it->second, SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return Stmt(db_, nullptr, rc);
    }
    cache_.emplace(sql, stmt);
    return Stmt(db_, stmt, SQLITE_OK);
  }

  // Brings the schema to kLedgerSchemaVersion (see kMigrations). Corrupt-style errors as Exec.
  Status Migrate() {
    SLUICE_ASSIGN_OR_RETURN(int version, SchemaVersion());
    if (version > kLedgerSchemaVersion) {
      return Status::InvalidArgument(
          "ledger schema version " + std::to_string(version) + " is newer than this sluice (" +
          std::to_string(kLedgerSchemaVersion) + "); use the sluice that wrote it, or a newer one");
    }
    if (version == kLedgerSchemaVersion) return Status::Ok();
    return Transaction([&]() -> Status {
      // Re-read inside the write lock: another process may have migrated meanwhile.
      SLUICE_ASSIGN_OR_RETURN(int v, SchemaVersion());
      if (v == 0) {
        SLUICE_RETURN_IF_ERROR(Exec(kSchemaV1));  // fresh file, or wave one's (no version)
        v = 1;
      }
      for (; v < kLedgerSchemaVersion; ++v) SLUICE_RETURN_IF_ERROR(Exec(kMigrations[v - 1]));
      return Exec(("PRAGMA user_version=" + std::to_string(kLedgerSchemaVersion)).c_str());
    });
  }

  Result<int> SchemaVersion() override {
    Stmt s = Prepare("PRAGMA user_version");
    SLUICE_RETURN_IF_ERROR(s.prepared());
    if (s.Step() != SQLITE_ROW) {
      return Status::IoError(std::string("ledger: cannot read the schema version: ") +
                             sqlite3_errmsg(db_));
    }
    return static_cast<int>(s.Int(0));
  }

  Status Exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errmsg(db_);
      sqlite3_free(err);
      const int code = sqlite3_errcode(db_) & 0xff;
      if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) {
        return Status::Corrupt("ledger: " + msg +
                               ": the run ledger is damaged. Move it aside and sluice starts a new "
                               "one; the history of past runs (sluice runs/show/repair of them) "
                               "goes with it, the warehouse and the store are not affected");
      }
      return Status::IoError("ledger: " + msg);
    }
    return Status::Ok();
  }

  // Runs `body` inside BEGIN IMMEDIATE ... COMMIT; rolls back when it fails.
  template <typename F>
  Status Transaction(F&& body) {
    SLUICE_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    Status st = body();
    if (!st.ok()) {
      (void)Exec("ROLLBACK");
      return st;
    }
    st = Exec("COMMIT");
    if (!st.ok()) (void)Exec("ROLLBACK");
    return st;
  }

  Status CreateRun(const RunRecord& run, const std::vector<InstanceRecord>& instances) override {
    return Transaction([&]() -> Status {
      Stmt active = Prepare(
          "SELECT run_id, scheduler_pid FROM runs WHERE workflow=?1 AND logical_date=?2 "
          "AND state='running' LIMIT 1");
      SLUICE_RETURN_IF_ERROR(active.prepared());
      active.Bind(1, run.workflow).Bind(2, run.logical_date);
      if (active.Step() == SQLITE_ROW) {
        return Status::AlreadyExists("run " + active.Text(0) + " of workflow \"" + run.workflow +
                                     "\" for " + run.logical_date +
                                     " is still active (scheduler pid " +
                                     std::to_string(active.Int(1)) + ")");
      }
      Stmt ins = Prepare(std::string("INSERT INTO runs(") + kRunColumns +
                         ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)");
      SLUICE_RETURN_IF_ERROR(ins.prepared());
      ins.Bind(1, run.run_id)
          .Bind(2, run.workflow)
          .Bind(3, run.pipeline_dir)
          .Bind(4, run.logical_date)
          .Bind(5, run.params)
          .Bind(6, run.state)
          .Bind(7, run.created_ms)
          .Bind(8, run.ended_ms)
          .Bind(9, run.scheduler_pid)
          .Bind(10, run.host)
          .Bind(11, run.scheduler_start)
          .Bind(12, run.heartbeat_ms)
          .Bind(13, run.cancel_requested_ms);
      SLUICE_RETURN_IF_ERROR(ins.Run());
      return PutInstancesLocked(instances);
    });
  }

  Status ClaimRun(const std::string& run_id, const RunOwner& expected, const RunOwner& next,
                  int64_t now_ms) override {
    return Transaction([&]() -> Status {
      Stmt upd = Prepare(
          "UPDATE runs SET host=?1, scheduler_pid=?2, scheduler_start=?3, heartbeat_ms=?4, "
          "state='running', ended_ms=0, cancel_requested_ms=0 "
          "WHERE run_id=?5 AND host=?6 AND scheduler_pid=?7 AND scheduler_start=?8");
      SLUICE_RETURN_IF_ERROR(upd.prepared());
      upd.Bind(1, next.host)
          .Bind(2, next.pid)
          .Bind(3, next.start)
          .Bind(4, now_ms)
          .Bind(5, run_id)
          .Bind(6, expected.host)
          .Bind(7, expected.pid)
          .Bind(8, expected.start);
      SLUICE_RETURN_IF_ERROR(upd.Run());
      if (sqlite3_changes(db_) != 1) {
        return Status::AlreadyExists("run " + run_id +
                                     " was taken over by another sluice process; check `sluice "
                                     "runs` and try again when it has finished");
      }
      return Status::Ok();
    });
  }

  Status Heartbeat(const std::string& run_id, const RunOwner& owner, int64_t now_ms) override {
    Stmt upd = Prepare(
        "UPDATE runs SET heartbeat_ms=?1 WHERE run_id=?2 AND host=?3 AND scheduler_pid=?4 AND "
        "scheduler_start=?5");
    SLUICE_RETURN_IF_ERROR(upd.prepared());
    upd.Bind(1, now_ms).Bind(2, run_id).Bind(3, owner.host).Bind(4, owner.pid).Bind(5, owner.start);
    SLUICE_RETURN_IF_ERROR(upd.Run());
    if (sqlite3_changes(db_) != 1) {
      return Status::AlreadyExists("run " + run_id + " is no longer driven by this process");
    }
    return Status::Ok();
  }

  Status RequestCancel(const std::string& run_id, int64_t now_ms) override {
    return Transaction([&]() -> Status {
      SLUICE_ASSIGN_OR_RETURN(RunRecord run, GetRun(run_id));
      if (run.state != "running") {
        return Status::InvalidArgument("run " + run_id + " is not running (it is " + run.state +
                                       "); nothing to cancel");
      }
      if (run.cancel_requested_ms > 0) return Status::Ok();
      Stmt upd = Prepare("UPDATE runs SET cancel_requested_ms=?1 WHERE run_id=?2");
      SLUICE_RETURN_IF_ERROR(upd.prepared());
      upd.Bind(1, now_ms).Bind(2, run_id);
      return upd.Run();
    });
  }

  Status FinishRun(const std::string& run_id, const std::string& state, int64_t ended_ms) override {
    return Transaction([&]() -> Status {
      Stmt upd = Prepare("UPDATE runs SET state=?1, ended_ms=?2 WHERE run_id=?3");
      SLUICE_RETURN_IF_ERROR(upd.prepared());
      upd.Bind(1, state).Bind(2, ended_ms).Bind(3, run_id);
      return upd.Run();
    });
  }

  Status DeleteRun(const std::string& run_id) override {
    return Transaction([&]() -> Status {
      Stmt state = Prepare("SELECT state FROM runs WHERE run_id=?1");
      SLUICE_RETURN_IF_ERROR(state.prepared());
      state.Bind(1, run_id);
      if (state.Step() == SQLITE_ROW && state.Text(0) == "running") {
        return Status::InvalidArgument("run " + run_id + " is still running; it is not deleted");
      }
      for (const char* sql :
           {"DELETE FROM attempts WHERE run_id=?1", "DELETE FROM instances WHERE run_id=?1",
            "DELETE FROM runs WHERE run_id=?1"}) {
        Stmt del = Prepare(sql);
        SLUICE_RETURN_IF_ERROR(del.prepared());
        del.Bind(1, run_id);
        SLUICE_RETURN_IF_ERROR(del.Run());
      }
      return Status::Ok();
    });
  }

  static RunRecord ReadRun(const Stmt& s) {
    RunRecord r;
    r.run_id = s.Text(0);
    r.workflow = s.Text(1);
    r.pipeline_dir = s.Text(2);
    r.logical_date = s.Text(3);
    r.params = s.Text(4);
    r.state = s.Text(5);
    r.created_ms = s.Int(6);
    r.ended_ms = s.Int(7);
    r.scheduler_pid = static_cast<int>(s.Int(8));
    r.host = s.Text(9);
    r.scheduler_start = s.Text(10);
    r.heartbeat_ms = s.Int(11);
    r.cancel_requested_ms = s.Int(12);
    return r;
  }

  Result<RunRecord> GetRun(const std::string& run_id) override {
    Stmt s = Prepare(std::string("SELECT ") + kRunColumns + " FROM runs WHERE run_id=?1");
    SLUICE_RETURN_IF_ERROR(s.prepared());
    s.Bind(1, run_id);
    int rc = s.Step();
    if (rc == SQLITE_ROW) return ReadRun(s);
    if (rc == SQLITE_DONE) {
      return Status::NotFound("no run \"" + run_id +
                              "\" in the ledger; list runs with `sluice runs`");
    }
    return Status::IoError(std::string("ledger: read failed: ") + sqlite3_errmsg(db_));
  }

  Result<std::vector<RunRecord>> ListRuns(int limit) override {
    Stmt s = Prepare(std::string("SELECT ") + kRunColumns +
                     " FROM runs ORDER BY created_ms DESC, run_id DESC LIMIT ?1");
    SLUICE_RETURN_IF_ERROR(s.prepared());
    s.Bind(1, limit);
    std::vector<RunRecord> out;
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) out.push_back(ReadRun(s));
    if (rc != SQLITE_DONE) return Status::IoError(std::string("ledger: ") + sqlite3_errmsg(db_));
    return out;
  }

  Status PutInstancesLocked(const std::vector<InstanceRecord>& instances) {
    for (const InstanceRecord& i : instances) SLUICE_RETURN_IF_ERROR(PutInstanceLocked(i));
    return Status::Ok();
  }

  Status PutInstanceLocked(const InstanceRecord& i) {
    // Update first (the common case, by primary key); insert with the next sequence number (DAG
    // order, found through instances_by_seq) only when the instance is new.
    Stmt upd = Prepare(
        "UPDATE instances SET state=?4, attempts=?5, started_ms=?6, ended_ms=?7, error=?8 "
        "WHERE run_id=?1 AND task_key=?2 AND partner=?3");
    SLUICE_RETURN_IF_ERROR(upd.prepared());
    BindInstance(upd, i);
    SLUICE_RETURN_IF_ERROR(upd.Run());
    if (sqlite3_changes(db_) > 0) return Status::Ok();
    Stmt ins = Prepare(
        "INSERT INTO instances VALUES(?1,?2,?3,"
        "(SELECT COALESCE(MAX(seq),0)+1 FROM instances WHERE run_id=?1),?4,?5,?6,?7,?8)");
    SLUICE_RETURN_IF_ERROR(ins.prepared());
    BindInstance(ins, i);
    return ins.Run();
  }

  static void BindInstance(Stmt& s, const InstanceRecord& i) {
    s.Bind(1, i.run_id)
        .Bind(2, i.task_key)
        .Bind(3, i.partner)
        .Bind(4, std::string(StateName(i.state)))
        .Bind(5, i.attempts)
        .Bind(6, i.started_ms)
        .Bind(7, i.ended_ms)
        .Bind(8, i.error);
  }

  Status PutInstances(const std::vector<InstanceRecord>& instances) override {
    return Transaction([&] { return PutInstancesLocked(instances); });
  }

  Status RecordAttempt(const InstanceRecord& instance, const AttemptRecord& a) override {
    return Transaction([&]() -> Status {
      Stmt s = Prepare(std::string("INSERT OR REPLACE INTO attempts(") + kAttemptColumns +
                       ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)");
      SLUICE_RETURN_IF_ERROR(s.prepared());
      s.Bind(1, a.run_id)
          .Bind(2, a.task_key)
          .Bind(3, a.partner)
          .Bind(4, a.attempt)
          .Bind(5, a.executor_id)
          .Bind(6, std::string(StateName(a.state)))
          .Bind(7, a.started_ms)
          .Bind(8, a.ended_ms)
          .Bind(9, a.exit_code)
          .Bind(10, a.signal)
          .Bind(11, a.log_path)
          .Bind(12, a.error)
          .Bind(13, a.result.empty() ? std::string("{}") : a.result)
          .Bind(14, a.executor)
          .Bind(15, a.pid);
      SLUICE_RETURN_IF_ERROR(s.Run());
      return PutInstanceLocked(instance);
    });
  }

  Result<std::vector<InstanceRecord>> ListInstances(const std::string& run_id) override {
    Stmt s = Prepare(
        "SELECT run_id, task_key, partner, state, attempts, started_ms, ended_ms, error "
        "FROM instances WHERE run_id=?1 ORDER BY seq");
    SLUICE_RETURN_IF_ERROR(s.prepared());
    s.Bind(1, run_id);
    std::vector<InstanceRecord> out;
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) {
      InstanceRecord i;
      i.run_id = s.Text(0);
      i.task_key = s.Text(1);
      i.partner = s.Text(2);
      SLUICE_ASSIGN_OR_RETURN(i.state, ParseState(s.Text(3)));
      i.attempts = static_cast<int>(s.Int(4));
      i.started_ms = s.Int(5);
      i.ended_ms = s.Int(6);
      i.error = s.Text(7);
      out.push_back(std::move(i));
    }
    if (rc != SQLITE_DONE) return Status::IoError(std::string("ledger: ") + sqlite3_errmsg(db_));
    return out;
  }

  Result<std::vector<AttemptRecord>> ReadAttempts(Stmt& s) {
    std::vector<AttemptRecord> out;
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) {
      AttemptRecord a;
      a.run_id = s.Text(0);
      a.task_key = s.Text(1);
      a.partner = s.Text(2);
      a.attempt = static_cast<int>(s.Int(3));
      a.executor_id = s.Text(4);
      SLUICE_ASSIGN_OR_RETURN(a.state, ParseState(s.Text(5)));
      a.started_ms = s.Int(6);
      a.ended_ms = s.Int(7);
      a.exit_code = static_cast<int>(s.Int(8));
      a.signal = static_cast<int>(s.Int(9));
      a.log_path = s.Text(10);
      a.error = s.Text(11);
      a.result = s.Text(12);
      a.executor = s.Text(13);
      a.pid = static_cast<int>(s.Int(14));
      out.push_back(std::move(a));
    }
    if (rc != SQLITE_DONE) return Status::IoError(std::string("ledger: ") + sqlite3_errmsg(db_));
    return out;
  }

  Result<std::vector<AttemptRecord>> ListAttempts(const std::string& run_id) override {
    Stmt s = Prepare(std::string("SELECT ") + kAttemptColumns +
                     " FROM attempts WHERE run_id=?1 ORDER BY task_key, partner, attempt");
    SLUICE_RETURN_IF_ERROR(s.prepared());
    s.Bind(1, run_id);
    return ReadAttempts(s);
  }

  Result<std::vector<AttemptRecord>> ListUnfinishedAttempts(const std::string& run_id) override {
    Stmt s = Prepare(std::string("SELECT ") + kAttemptColumns +
                     " FROM attempts WHERE run_id=?1 AND state IN ('running','queued') "
                     "ORDER BY task_key, partner, attempt");
    SLUICE_RETURN_IF_ERROR(s.prepared());
    s.Bind(1, run_id);
    return ReadAttempts(s);
  }

 private:
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

}  // namespace

Result<std::unique_ptr<Ledger>> OpenSqliteLedger(const std::filesystem::path& file) {
  std::error_code ec;
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), ec);
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    return Status::IoError(
        "ledger: cannot open " + file.string() + ": " + msg +
        "; check the ledger: setting in sluice.yaml and the folder's permissions");
  }
  sqlite3_busy_timeout(db, 10000);
  auto ledger = std::make_unique<SqliteLedger>(db);
  // WAL so readers never block the scheduler; NORMAL sync is durable across process crashes
  // (only an OS crash may lose the last transactions).
  Status st = ledger->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
  if (st.ok()) st = ledger->Migrate();
  if (!st.ok()) return std::move(st).Prefix(file.string());
  return std::unique_ptr<Ledger>(std::move(ledger));
}

}  // namespace sluice::ledger
