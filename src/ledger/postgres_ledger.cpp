// ledger/postgres_ledger.cpp: Ledger on PostgreSQL (see postgres_ledger.h). Every write is one
// statement or one transaction; the server's MVCC lets `sluice show` read while runs write.
#include "ledger/postgres_ledger.h"

#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iterator>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/strings.h"

namespace sluice::ledger {

namespace {

constexpr const char* kSchemaV2 = R"SQL(
CREATE SCHEMA IF NOT EXISTS _sluice;
CREATE TABLE IF NOT EXISTS _sluice.ledger_meta(key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS _sluice.runs(
  run_id text PRIMARY KEY, workflow text NOT NULL, pipeline_dir text NOT NULL,
  logical_date text NOT NULL, params text NOT NULL, state text NOT NULL,
  created_ms bigint NOT NULL, ended_ms bigint NOT NULL, scheduler_pid integer NOT NULL,
  host text NOT NULL, scheduler_start text NOT NULL DEFAULT '',
  heartbeat_ms bigint NOT NULL DEFAULT 0, cancel_requested_ms bigint NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX IF NOT EXISTS runs_one_active ON _sluice.runs(workflow, logical_date)
  WHERE state = 'running';
CREATE INDEX IF NOT EXISTS runs_by_created ON _sluice.runs(created_ms DESC, run_id DESC);
CREATE TABLE IF NOT EXISTS _sluice.instances(
  run_id text NOT NULL, task_key text NOT NULL, partner text NOT NULL, seq bigint NOT NULL,
  state text NOT NULL, attempts integer NOT NULL, started_ms bigint NOT NULL,
  ended_ms bigint NOT NULL, error text NOT NULL, PRIMARY KEY(run_id, task_key, partner));
CREATE INDEX IF NOT EXISTS instances_by_seq ON _sluice.instances(run_id, seq);
CREATE TABLE IF NOT EXISTS _sluice.attempts(
  run_id text NOT NULL, task_key text NOT NULL, partner text NOT NULL, attempt integer NOT NULL,
  executor_id text NOT NULL DEFAULT '', executor text NOT NULL DEFAULT 'local',
  pid integer NOT NULL, state text NOT NULL, started_ms bigint NOT NULL, ended_ms bigint NOT NULL,
  exit_code integer NOT NULL, signal integer NOT NULL, log_path text NOT NULL,
  error text NOT NULL, result text NOT NULL, PRIMARY KEY(run_id, task_key, partner, attempt));
CREATE INDEX IF NOT EXISTS attempts_by_state ON _sluice.attempts(run_id, state);
)SQL";

constexpr const char* kRunColumns =
    "run_id, workflow, pipeline_dir, logical_date, params, state, created_ms, ended_ms, "
    "scheduler_pid, host, scheduler_start, heartbeat_ms, cancel_requested_ms";
constexpr const char* kAttemptColumns =
    "run_id, task_key, partner, attempt, executor_id, state, started_ms, ended_ms, exit_code, "
    "signal, log_path, error, result, executor, pid";

// How long a scheduler waits for its ledger's server to come back (a restart, a fail-over)
// before the write fails.
constexpr std::chrono::seconds kReconnectWindow{60};

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;
using Params = std::vector<std::string>;

std::string Chomp(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (size_t p; (p = s.find('\n')) != std::string::npos;) s.replace(p, 1, " ");
  return s;
}

class PostgresLedger final : public Ledger {
 public:
  PostgresLedger(PGconn* conn, std::string url) : conn_(conn), url_(std::move(url)) {}
  ~PostgresLedger() override { PQfinish(conn_); }

  Status ErrorOf(const PGresult* r, const std::string& what) const {
    const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    std::string msg = Chomp(r ? PQresultErrorMessage(r) : PQerrorMessage(conn_));
    if (msg.empty()) msg = Chomp(PQerrorMessage(conn_));
    const std::string text = "ledger: " + what + ": " + msg + " (" + url_ + ")";
    const std::string code = state ? state : "";
    if (code.empty() || PQstatus(conn_) == CONNECTION_BAD || StartsWith(code, "08") ||
        StartsWith(code, "57P") || StartsWith(code, "53") || code == "40001" || code == "40P01" ||
        code == "55P03") {
      return Status::Unavailable(text +
                                 ": the ledger's server went away or asked to retry; "
                                 "nothing of the failed write was kept, try again");
    }
    if (code == "42501" || StartsWith(code, "28")) {
      return Status::PermissionDenied(
          text + " [role " + (PQuser(conn_) ? PQuser(conn_) : "?") +
          ", schema _sluice]: grant the role USAGE and CREATE on schema _sluice (or let it "
          "create the schema) and SELECT, INSERT, UPDATE on its tables");
    }
    return Status::IoError(text);
  }

  // True when the connection is gone (the server restarted, the network dropped it).
  bool Lost() const { return PQstatus(conn_) == CONNECTION_BAD; }

  // Opens the connection again after it was lost, waiting for a restarting server for up to
  // kReconnectWindow (libpq's connect_timeout bounds each try). The scheduler holds no
  // transaction across calls, so nothing but the failed statement is lost, and that is re-run.
  bool Reconnect() {
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + kReconnectWindow;
    auto pause = std::chrono::milliseconds(100);
    while (true) {
      PQreset(conn_);
      if (PQstatus(conn_) == CONNECTION_OK) {
        PgResult r(PQexec(conn_, "SET client_min_messages TO warning"));
        return true;
      }
      if (Clock::now() + pause > deadline) return false;
      std::this_thread::sleep_for(pause);  // a backoff between connection attempts
      pause = std::min(pause * 2, std::chrono::milliseconds(2000));
    }
  }

  // Runs `once` and, outside a transaction, once more on a new connection when the first try
  // lost the connection. A statement the server had committed before the connection dropped is
  // re-run; every ledger write outside Transaction() is an idempotent update or upsert by key.
  template <typename F>
  auto WithReconnect(F&& once) -> decltype(once()) {
    auto r = once();
    if (r.ok() || in_transaction_ || !Lost() || !Reconnect()) return r;
    return once();
  }

  // Runs one statement with text parameters.
  Result<PgResult> Run(const std::string& sql, const Params& params, const std::string& what) {
    return WithReconnect([&] { return RunOnce(sql, params, what); });
  }
  Status Exec(const std::string& sql, const std::string& what) {
    return WithReconnect([&] { return ExecOnce(sql, what); });
  }

  Result<PgResult> RunOnce(const std::string& sql, const Params& params, const std::string& what) {
    std::vector<const char*> values;
    for (const std::string& p : params) values.push_back(p.c_str());
    PgResult r(PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                            values.data(), nullptr, nullptr, 0));
    const ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
    last_sqlstate_ = r ? (PQresultErrorField(r.get(), PG_DIAG_SQLSTATE)
                              ? PQresultErrorField(r.get(), PG_DIAG_SQLSTATE)
                              : "")
                       : "";
    return ErrorOf(r.get(), what);
  }

  Status ExecOnce(const std::string& sql, const std::string& what) {
    PgResult r(PQexec(conn_, sql.c_str()));
    const ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return Status::Ok();
    return ErrorOf(r.get(), what);
  }

  // Runs `body` in one transaction; rolls back when it fails. A transaction that lost its
  // connection is run again, whole, on a new one (the server rolled the first one back).
  template <typename F>
  Status Transaction(F&& body) {
    auto once = [&]() -> Status {
      in_transaction_ = true;
      Status st = ExecOnce("BEGIN", "BEGIN");
      if (st.ok()) st = body();
      if (st.ok()) st = ExecOnce("COMMIT", "COMMIT");
      if (!st.ok() && !Lost()) (void)ExecOnce("ROLLBACK", "ROLLBACK");
      in_transaction_ = false;
      return st;
    };
    return WithReconnect(once);
  }

  static int64_t Affected(const PgResult& r) {
    const char* n = PQcmdTuples(r.get());
    return n && *n ? std::strtoll(n, nullptr, 10) : 0;
  }
  static std::string Text(const PgResult& r, int row, int col) {
    return std::string(PQgetvalue(r.get(), row, col),
                       static_cast<size_t>(PQgetlength(r.get(), row, col)));
  }
  static int64_t Int(const PgResult& r, int row, int col) {
    return std::strtoll(PQgetvalue(r.get(), row, col), nullptr, 10);
  }

  // Creates or migrates the schema under an advisory lock (several processes may open a new
  // ledger at once).
  Status Migrate() {
    SLUICE_RETURN_IF_ERROR(Exec("SET client_min_messages TO warning", "setting up the session"));
    SLUICE_ASSIGN_OR_RETURN(int version, SchemaVersion());
    if (version > kLedgerSchemaVersion) {
      return Status::InvalidArgument(
          "ledger schema version " + std::to_string(version) + " is newer than this sluice (" +
          std::to_string(kLedgerSchemaVersion) + "); use the sluice that wrote it, or a newer one");
    }
    if (version == kLedgerSchemaVersion) return Status::Ok();
    return Transaction([&]() -> Status {
      SLUICE_RETURN_IF_ERROR(
          Run("SELECT pg_advisory_xact_lock(29548, 1)", {}, "locking the schema").status());
      SLUICE_RETURN_IF_ERROR(Exec(kSchemaV2, "creating the ledger's tables in schema _sluice"));
      return Run("INSERT INTO _sluice.ledger_meta VALUES ('schema_version', $1) ON CONFLICT "
                 "(key) DO UPDATE SET value = excluded.value",
                 {std::to_string(kLedgerSchemaVersion)}, "recording the schema version")
          .status();
    });
  }

  Result<int> SchemaVersion() override {
    SLUICE_ASSIGN_OR_RETURN(PgResult r, Run("SELECT to_regclass('_sluice.ledger_meta') IS NULL", {},
                                            "reading the schema version"));
    if (std::string_view(PQgetvalue(r.get(), 0, 0)) == "t") return 0;
    SLUICE_ASSIGN_OR_RETURN(
        PgResult v, Run("SELECT value FROM _sluice.ledger_meta WHERE key = 'schema_version'", {},
                        "reading the schema version"));
    if (PQntuples(v.get()) == 0) return 0;
    return std::atoi(PQgetvalue(v.get(), 0, 0));
  }

  Status ActiveRunError(const RunRecord& run) {
    auto active =
        Run("SELECT run_id, scheduler_pid, host FROM _sluice.runs WHERE workflow = $1 AND "
            "logical_date = $2 AND state = 'running' LIMIT 1",
            {run.workflow, run.logical_date}, "reading the active run");
    std::string who = "another run";
    if (active.ok() && PQntuples(active->get()) == 1) {
      who = "run " + Text(*active, 0, 0);
      return Status::AlreadyExists(who + " of workflow \"" + run.workflow + "\" for " +
                                   run.logical_date + " is still active (scheduler pid " +
                                   Text(*active, 0, 1) + " on " + Text(*active, 0, 2) + ")");
    }
    return Status::AlreadyExists(who + " of workflow \"" + run.workflow + "\" for " +
                                 run.logical_date + " is still active");
  }

  Status CreateRun(const RunRecord& run, const std::vector<InstanceRecord>& instances) override {
    last_sqlstate_.clear();
    Status st = Transaction([&]() -> Status {
      auto ins = Run(std::string("INSERT INTO _sluice.runs(") + kRunColumns +
                         ") VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
                     {run.run_id, run.workflow, run.pipeline_dir, run.logical_date, run.params,
                      run.state, std::to_string(run.created_ms), std::to_string(run.ended_ms),
                      std::to_string(run.scheduler_pid), run.host, run.scheduler_start,
                      std::to_string(run.heartbeat_ms), std::to_string(run.cancel_requested_ms)},
                     "recording run " + run.run_id);
      if (!ins.ok()) return ins.status();
      return PutInstancesLocked(instances);
    });
    // The unique partial index on running runs is what keeps a second scheduler out, on any
    // host: its insert fails here.
    if (!st.ok() && last_sqlstate_ == "23505") return ActiveRunError(run);
    return st;
  }

  Status ClaimRun(const std::string& run_id, const RunOwner& expected, const RunOwner& next,
                  int64_t now_ms) override {
    last_sqlstate_.clear();
    auto upd =
        Run("UPDATE _sluice.runs SET host=$1, scheduler_pid=$2, scheduler_start=$3, "
            "heartbeat_ms=$4, state='running', ended_ms=0, cancel_requested_ms=0 "
            "WHERE run_id=$5 AND host=$6 AND scheduler_pid=$7 AND scheduler_start=$8",
            {next.host, std::to_string(next.pid), next.start, std::to_string(now_ms), run_id,
             expected.host, std::to_string(expected.pid), expected.start},
            "claiming run " + run_id);
    if (!upd.ok()) {
      if (last_sqlstate_ == "23505") {
        return Status::AlreadyExists("run " + run_id +
                                     " cannot run again now: another run of its workflow and "
                                     "date is active; check `sluice runs` and try again when it "
                                     "has finished");
      }
      return upd.status();
    }
    if (Affected(*upd) != 1) {
      return Status::AlreadyExists("run " + run_id +
                                   " was taken over by another sluice process; check `sluice "
                                   "runs` and try again when it has finished");
    }
    return Status::Ok();
  }

  Status Heartbeat(const std::string& run_id, const RunOwner& owner, int64_t now_ms) override {
    SLUICE_ASSIGN_OR_RETURN(
        PgResult upd,
        Run("UPDATE _sluice.runs SET heartbeat_ms=$1 WHERE run_id=$2 AND host=$3 AND "
            "scheduler_pid=$4 AND scheduler_start=$5",
            {std::to_string(now_ms), run_id, owner.host, std::to_string(owner.pid), owner.start},
            "renewing the lease of run " + run_id));
    if (Affected(upd) != 1) {
      return Status::AlreadyExists("run " + run_id + " is no longer driven by this process");
    }
    return Status::Ok();
  }

  Status RequestCancel(const std::string& run_id, int64_t now_ms) override {
    SLUICE_ASSIGN_OR_RETURN(
        PgResult upd,
        Run("UPDATE _sluice.runs SET cancel_requested_ms = CASE WHEN cancel_requested_ms > 0 "
            "THEN cancel_requested_ms ELSE $1 END WHERE run_id = $2 AND state = 'running'",
            {std::to_string(now_ms), run_id}, "requesting cancel of run " + run_id));
    if (Affected(upd) == 1) return Status::Ok();
    SLUICE_ASSIGN_OR_RETURN(RunRecord run, GetRun(run_id));
    return Status::InvalidArgument("run " + run_id + " is not running (it is " + run.state +
                                   "); nothing to cancel");
  }

  Status FinishRun(const std::string& run_id, const std::string& state, int64_t ended_ms) override {
    return Run("UPDATE _sluice.runs SET state=$1, ended_ms=$2 WHERE run_id=$3",
               {state, std::to_string(ended_ms), run_id}, "finishing run " + run_id)
        .status();
  }

  static RunRecord ReadRun(const PgResult& r, int row) {
    RunRecord x;
    x.run_id = Text(r, row, 0);
    x.workflow = Text(r, row, 1);
    x.pipeline_dir = Text(r, row, 2);
    x.logical_date = Text(r, row, 3);
    x.params = Text(r, row, 4);
    x.state = Text(r, row, 5);
    x.created_ms = Int(r, row, 6);
    x.ended_ms = Int(r, row, 7);
    x.scheduler_pid = static_cast<int>(Int(r, row, 8));
    x.host = Text(r, row, 9);
    x.scheduler_start = Text(r, row, 10);
    x.heartbeat_ms = Int(r, row, 11);
    x.cancel_requested_ms = Int(r, row, 12);
    return x;
  }

  Result<RunRecord> GetRun(const std::string& run_id) override {
    SLUICE_ASSIGN_OR_RETURN(
        PgResult r, Run(std::string("SELECT ") + kRunColumns + " FROM _sluice.runs WHERE run_id=$1",
                        {run_id}, "reading run " + run_id));
    if (PQntuples(r.get()) == 0) {
      return Status::NotFound("no run \"" + run_id +
                              "\" in the ledger; list runs with `sluice runs`");
    }
    return ReadRun(r, 0);
  }

  Result<std::vector<RunRecord>> ListRuns(int limit) override {
    SLUICE_ASSIGN_OR_RETURN(
        PgResult r, Run(std::string("SELECT ") + kRunColumns +
                            " FROM _sluice.runs ORDER BY created_ms DESC, run_id DESC LIMIT $1",
                        {std::to_string(limit)}, "listing runs"));
    std::vector<RunRecord> out;
    for (int i = 0; i < PQntuples(r.get()); ++i) out.push_back(ReadRun(r, i));
    return out;
  }

  // Inserts or updates an instance; a new one gets the next sequence number (DAG order).
  Status PutInstanceLocked(const InstanceRecord& i) {
    return Run("INSERT INTO _sluice.instances VALUES($1,$2,$3,(SELECT COALESCE(MAX(seq),0)+1 FROM "
               "_sluice.instances WHERE run_id=$1),$4,$5,$6,$7,$8) ON CONFLICT (run_id, task_key, "
               "partner) DO UPDATE SET state=excluded.state, attempts=excluded.attempts, "
               "started_ms=excluded.started_ms, ended_ms=excluded.ended_ms, error=excluded.error",
               {i.run_id, i.task_key, i.partner, std::string(StateName(i.state)),
                std::to_string(i.attempts), std::to_string(i.started_ms),
                std::to_string(i.ended_ms), i.error},
               "recording task " + i.task_key)
        .status();
  }

  Status PutInstancesLocked(const std::vector<InstanceRecord>& instances) {
    for (const InstanceRecord& i : instances) SLUICE_RETURN_IF_ERROR(PutInstanceLocked(i));
    return Status::Ok();
  }

  Status PutInstances(const std::vector<InstanceRecord>& instances) override {
    if (instances.size() == 1) return PutInstanceLocked(instances[0]);  // one statement
    return Transaction([&] { return PutInstancesLocked(instances); });
  }

  Status RecordAttempt(const InstanceRecord& instance, const AttemptRecord& a) override {
    return Transaction([&]() -> Status {
      SLUICE_RETURN_IF_ERROR(
          Run(std::string("INSERT INTO _sluice.attempts(") + kAttemptColumns +
                  ") VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15) ON CONFLICT "
                  "(run_id, task_key, partner, attempt) DO UPDATE SET "
                  "executor_id=excluded.executor_id, state=excluded.state, "
                  "started_ms=excluded.started_ms, ended_ms=excluded.ended_ms, "
                  "exit_code=excluded.exit_code, signal=excluded.signal, "
                  "log_path=excluded.log_path, error=excluded.error, result=excluded.result, "
                  "executor=excluded.executor, pid=excluded.pid",
              {a.run_id, a.task_key, a.partner, std::to_string(a.attempt), a.executor_id,
               std::string(StateName(a.state)), std::to_string(a.started_ms),
               std::to_string(a.ended_ms), std::to_string(a.exit_code), std::to_string(a.signal),
               a.log_path, a.error, a.result.empty() ? std::string("{}") : a.result, a.executor,
               std::to_string(a.pid)},
              "recording attempt " + std::to_string(a.attempt) + " of " + a.task_key)
              .status());
      return PutInstanceLocked(instance);
    });
  }

  Result<std::vector<InstanceRecord>> ListInstances(const std::string& run_id) override {
    SLUICE_ASSIGN_OR_RETURN(
        PgResult r,
        Run("SELECT run_id, task_key, partner, state, attempts, started_ms, ended_ms, error "
            "FROM _sluice.instances WHERE run_id=$1 ORDER BY seq",
            {run_id}, "listing the tasks of run " + run_id));
    std::vector<InstanceRecord> out;
    for (int row = 0; row < PQntuples(r.get()); ++row) {
      InstanceRecord i;
      i.run_id = Text(r, row, 0);
      i.task_key = Text(r, row, 1);
      i.partner = Text(r, row, 2);
      SLUICE_ASSIGN_OR_RETURN(i.state, ParseState(Text(r, row, 3)));
      i.attempts = static_cast<int>(Int(r, row, 4));
      i.started_ms = Int(r, row, 5);
      i.ended_ms = Int(r, row, 6);
      i.error = Text(r, row, 7);
      out.push_back(std::move(i));
    }
    return out;
  }

  Result<std::vector<AttemptRecord>> ReadAttempts(const std::string& where,
                                                  const std::string& run_id) {
    SLUICE_ASSIGN_OR_RETURN(PgResult r, Run(std::string("SELECT ") + kAttemptColumns +
                                                " FROM _sluice.attempts WHERE run_id=$1" + where +
                                                " ORDER BY task_key, partner, attempt",
                                            {run_id}, "listing the attempts of run " + run_id));
    std::vector<AttemptRecord> out;
    for (int row = 0; row < PQntuples(r.get()); ++row) {
      AttemptRecord a;
      a.run_id = Text(r, row, 0);
      a.task_key = Text(r, row, 1);
      a.partner = Text(r, row, 2);
      a.attempt = static_cast<int>(Int(r, row, 3));
      a.executor_id = Text(r, row, 4);
      SLUICE_ASSIGN_OR_RETURN(a.state, ParseState(Text(r, row, 5)));
      a.started_ms = Int(r, row, 6);
      a.ended_ms = Int(r, row, 7);
      a.exit_code = static_cast<int>(Int(r, row, 8));
      a.signal = static_cast<int>(Int(r, row, 9));
      a.log_path = Text(r, row, 10);
      a.error = Text(r, row, 11);
      a.result = Text(r, row, 12);
      a.executor = Text(r, row, 13);
      a.pid = static_cast<int>(Int(r, row, 14));
      out.push_back(std::move(a));
    }
    return out;
  }

  Result<std::vector<AttemptRecord>> ListAttempts(const std::string& run_id) override {
    return ReadAttempts("", run_id);
  }

  Result<std::vector<AttemptRecord>> ListUnfinishedAttempts(const std::string& run_id) override {
    return ReadAttempts(" AND state IN ('running','queued')", run_id);
  }

 private:
  PGconn* conn_;
  bool in_transaction_ = false;  // inside Transaction(): a lost connection fails the whole body
  std::string url_;
  std::string last_sqlstate_;
};

}  // namespace

Status CheckPostgresLedgerUrl(std::string_view url_view) {
  const std::string url(url_view);
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err);
  if (opts == nullptr) {
    PQfreemem(err);
    return Status::InvalidArgument(
        "the postgresql:// URL is malformed; write postgresql://USER@HOST:PORT/DATABASE");
  }
  bool has_password = false;
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (std::string_view(o->keyword) == "password" && o->val && *o->val) has_password = true;
  }
  PQconninfoFree(opts);
  if (has_password) {
    return Status::InvalidArgument(
        "the postgresql:// URL holds a password; remove it from sluice.yaml and give it "
        "the way libpq reads it: PGPASSWORD in the environment, a line in ~/.pgpass, or a "
        "PGSERVICE entry");
  }
  return Status::Ok();
}

Result<std::unique_ptr<Ledger>> OpenPostgresLedger(const std::string& url) {
  SLUICE_RETURN_IF_ERROR(CheckPostgresLedgerUrl(url));
  const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {"10", "sluice", url.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, 1);
  if (conn == nullptr) return Status::Internal("ledger: libpq is out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    const std::string why = Chomp(PQerrorMessage(conn));
    PQfinish(conn);
    const std::string where = "ledger: cannot connect to " + url + ": " + why;
    if (why.find("authentication failed") != std::string::npos ||
        why.find("no password supplied") != std::string::npos ||
        why.find("does not exist") != std::string::npos) {
      return Status::PermissionDenied(where +
                                      "; check the user and database in the URL and give the "
                                      "password through PGPASSWORD, ~/.pgpass or PGSERVICE");
    }
    return Status::Unavailable(where + "; is the server running and reachable? (retry)");
  }
  auto ledger = std::make_unique<PostgresLedger>(conn, url);
  SLUICE_RETURN_IF_ERROR(ledger->Migrate());
  return std::unique_ptr<Ledger>(std::move(ledger));
}

}  // namespace sluice::ledger
