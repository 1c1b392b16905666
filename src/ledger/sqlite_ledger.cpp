// sqlite_ledger.cpp: Ledger on one SQLite file. Every write is one transaction, so a SIGKILL at
// any moment leaves either the old or the new state. WAL lets `sluice show` read while a run
// writes; the busy timeout lets several sluice processes share the file.
#include "ledger/sqlite_ledger.h"

#include <sqlite3.h>

#include <string>
#include <system_error>
#include <utility>

namespace sluice::ledger {

namespace {

constexpr const char* kSchema = R"SQL(
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

// A prepared statement, finalized on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
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
  int Step() { return sqlite3_step(stmt_); }
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
  ~SqliteLedger() override { sqlite3_close_v2(db_); }

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
      Stmt active(db_,
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
      Stmt ins(db_, "INSERT INTO runs VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)");
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
          .Bind(10, run.host);
      SLUICE_RETURN_IF_ERROR(ins.Run());
      return PutInstancesLocked(instances);
    });
  }

  Status ClaimRun(const std::string& run_id, int expected_pid, int new_pid) override {
    return Transaction([&]() -> Status {
      Stmt upd(db_,
               "UPDATE runs SET scheduler_pid=?1, state='running', ended_ms=0 "
               "WHERE run_id=?2 AND scheduler_pid=?3");
      SLUICE_RETURN_IF_ERROR(upd.prepared());
      upd.Bind(1, new_pid).Bind(2, run_id).Bind(3, expected_pid);
      SLUICE_RETURN_IF_ERROR(upd.Run());
      if (sqlite3_changes(db_) != 1) {
        return Status::AlreadyExists("run " + run_id +
                                     " was taken over by another sluice process; check `sluice "
                                     "runs` and try again when it has finished");
      }
      return Status::Ok();
    });
  }

  Status FinishRun(const std::string& run_id, const std::string& state, int64_t ended_ms) override {
    return Transaction([&]() -> Status {
      Stmt upd(db_, "UPDATE runs SET state=?1, ended_ms=?2 WHERE run_id=?3");
      SLUICE_RETURN_IF_ERROR(upd.prepared());
      upd.Bind(1, state).Bind(2, ended_ms).Bind(3, run_id);
      return upd.Run();
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
    return r;
  }

  Result<RunRecord> GetRun(const std::string& run_id) override {
    Stmt s(db_, "SELECT * FROM runs WHERE run_id=?1");
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
    Stmt s(db_, "SELECT * FROM runs ORDER BY created_ms DESC, run_id DESC LIMIT ?1");
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
    // Update first (the common case); insert with the next sequence number (DAG order) only
    // when the instance is new.
    Stmt upd(db_,
             "UPDATE instances SET state=?4, attempts=?5, started_ms=?6, ended_ms=?7, error=?8 "
             "WHERE run_id=?1 AND task_key=?2 AND partner=?3");
    SLUICE_RETURN_IF_ERROR(upd.prepared());
    BindInstance(upd, i);
    SLUICE_RETURN_IF_ERROR(upd.Run());
    if (sqlite3_changes(db_) > 0) return Status::Ok();
    Stmt ins(db_,
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
      Stmt s(db_,
             "INSERT OR REPLACE INTO attempts VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)");
      SLUICE_RETURN_IF_ERROR(s.prepared());
      s.Bind(1, a.run_id)
          .Bind(2, a.task_key)
          .Bind(3, a.partner)
          .Bind(4, a.attempt)
          .Bind(5, a.pid)
          .Bind(6, std::string(StateName(a.state)))
          .Bind(7, a.started_ms)
          .Bind(8, a.ended_ms)
          .Bind(9, a.exit_code)
          .Bind(10, a.signal)
          .Bind(11, a.log_path)
          .Bind(12, a.error)
          .Bind(13, a.result.empty() ? std::string("{}") : a.result);
      SLUICE_RETURN_IF_ERROR(s.Run());
      return PutInstanceLocked(instance);
    });
  }

  Result<std::vector<InstanceRecord>> ListInstances(const std::string& run_id) override {
    Stmt s(db_,
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

  Result<std::vector<AttemptRecord>> ListAttempts(const std::string& run_id) override {
    Stmt s(db_,
           "SELECT run_id, task_key, partner, attempt, pid, state, started_ms, ended_ms, "
           "exit_code, signal, log_path, error, result FROM attempts WHERE run_id=?1 "
           "ORDER BY task_key, partner, attempt");
    SLUICE_RETURN_IF_ERROR(s.prepared());
    s.Bind(1, run_id);
    std::vector<AttemptRecord> out;
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) {
      AttemptRecord a;
      a.run_id = s.Text(0);
      a.task_key = s.Text(1);
      a.partner = s.Text(2);
      a.attempt = static_cast<int>(s.Int(3));
      a.pid = static_cast<int>(s.Int(4));
      SLUICE_ASSIGN_OR_RETURN(a.state, ParseState(s.Text(5)));
      a.started_ms = s.Int(6);
      a.ended_ms = s.Int(7);
      a.exit_code = static_cast<int>(s.Int(8));
      a.signal = static_cast<int>(s.Int(9));
      a.log_path = s.Text(10);
      a.error = s.Text(11);
      a.result = s.Text(12);
      out.push_back(std::move(a));
    }
    if (rc != SQLITE_DONE) return Status::IoError(std::string("ledger: ") + sqlite3_errmsg(db_));
    return out;
  }

 private:
  sqlite3* db_;
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
  if (st.ok()) st = ledger->Exec(kSchema);
  if (!st.ok()) return std::move(st).Prefix(file.string());
  return std::unique_ptr<Ledger>(std::move(ledger));
}

}  // namespace sluice::ledger
