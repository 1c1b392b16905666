// warehouse/postgres_internal.h: what the files of the PostgreSQL back-end share: the connection
// (PgConn: libpq calls, SQLSTATE -> Status), the warehouse class, and the writer's entry point.
// Included only by src/warehouse/postgres_*.cpp: libpq-fe.h stays inside the back-end.
// Thread-safety: a PgWarehouse is used by one thread at a time (see warehouse.h).
#pragma once

#include <libpq-fe.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "warehouse/schema_plan.h"
#include "warehouse/warehouse.h"

namespace sluice::warehouse::pg {

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

// Parameters of one statement: text values, nullopt for NULL.
using Params = std::vector<std::optional<std::string>>;

// One libpq connection and the context its errors are reported in.
class PgConn {
 public:
  PgConn(PGconn* conn, std::string describe) : conn_(conn), describe_(std::move(describe)) {}
  ~PgConn() { PQfinish(conn_); }
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  PGconn* get() const { return conn_; }
  const std::string& describe() const { return describe_; }
  // The role statements run as (the login user, or the partner's role under isolation: roles).
  const std::string& role() const { return role_; }
  void set_role(std::string role) { role_ = std::move(role); }
  // The schema and privilege an error is about, for PermissionDenied messages.
  void set_error_context(std::string schema) { schema_ = std::move(schema); }

  // Runs `sql` with the simple protocol (several statements allowed); `what` names the step.
  Status Exec(std::string_view sql, std::string_view what, std::string_view privilege = "");
  // Runs one statement with text parameters; the result when it succeeded.
  Result<PgResult> Run(const std::string& sql, const Params& params, std::string_view what,
                       std::string_view privilege = "");
  // Rows affected by a command result (PQcmdTuples).
  static int64_t Affected(const PGresult* r);
  // The Status for a failed result (or the connection's error when `r` is null): Unavailable
  // for a lost connection, a server shutting down, deadlocks and serialization failures (the
  // task is retried); PermissionDenied naming role, schema and `privilege`; Corrupt for damaged
  // data; InvalidArgument for the rest (SQL and constraint errors).
  Status Error(const PGresult* r, std::string_view what, std::string_view privilege = "") const;
  bool InTransaction() const { return PQtransactionStatus(conn_) != PQTRANS_IDLE; }

 private:
  PGconn* conn_;
  std::string describe_;
  std::string role_;
  std::string schema_;
};

// Connects to `url` (a libpq URI; the password from libpq's own sources: PGPASSWORD, ~/.pgpass,
// PGSERVICE). Unavailable when the server cannot be reached (retried), PermissionDenied when it
// refuses the login, InvalidArgument for a malformed URL or one holding a password. `what`
// prefixes messages ("warehouse", "ledger").
Result<std::unique_ptr<PgConn>> Connect(const std::string& url, std::string_view what);

// PostgreSQL's text form of a COPY field is written by the writer; the DDL types are here.
std::string PgType(const config::ColumnSchema& column);
// The column as sluice declares it in a table it creates or extends: PgType, and text with
// COLLATE "C", so text compares and sorts bytewise as in SQLite (BINARY) whatever the database's
// locale, and the primary key's build and lookups take no linguistic comparison
// (docs/postgresql.md, "Text columns compare bytewise").
std::string PgDeclaredType(const config::ColumnSchema& column);
const ColumnTypes& PgColumnTypes();

class PgWarehouse;

// The merge of one table (postgres_writer.cpp).
Result<std::unique_ptr<TableWriter>> NewTableWriter(PgWarehouse* wh, const MergeTarget& target,
                                                    bool legacy_lineage);

class PgWarehouse : public Warehouse {
 public:
  PgWarehouse(std::unique_ptr<PgConn> conn, std::string url, std::string partner,
              std::string schema, std::string role)
      : conn_(std::move(conn)),
        url_(std::move(url)),
        partner_(std::move(partner)),
        schema_(std::move(schema)),
        role_(std::move(role)) {}

  PgConn& conn() { return *conn_; }
  const std::string& partner() const { return partner_; }
  const std::string& schema() const { return schema_; }
  // "acme"."orders"
  std::string Qualified(std::string_view table) const;

  // Sets the session up (search_path = the partner's schema, UTC, ISO dates) and creates the
  // schema and its sluice_loads and sluice_merges tables when missing.
  Status Prepare();

  Result<std::unique_ptr<TableWriter>> BeginMerge(const MergeTarget& target) override;
  Result<QueryResult> Query(std::string_view sql, int64_t max_rows, int64_t* total_rows) override;
  Status Execute(std::string_view sql) override;
  Result<bool> TableExists(std::string_view table) override;
  Result<std::vector<std::vector<std::string>>> UniqueKeys(std::string_view table) override;
  std::string Describe() const override { return url_ + " (schema " + schema_ + ")"; }

  // The open merge sends its staged rows to the table before another statement runs on the
  // connection (a query inside the merge sees what was added so far).
  void set_active_writer(std::function<Status()> flush) { flush_active_ = std::move(flush); }
  Status FlushActiveWriter() { return flush_active_ ? flush_active_() : Status::Ok(); }

 private:
  // isolation: roles: the partner's role owns its schema, tables and the SECURITY DEFINER
  // functions its own SQL runs in; then the session acts as it.
  Status PrepareRole();
  Result<SchemaPlan> EnsureTable(const config::TableSchema& schema);
  Result<std::vector<TableColumn>> ReadColumns(std::string_view table);
  Status Apply(const config::TableSchema& schema, const SchemaChange& change);

  std::unique_ptr<PgConn> conn_;
  std::string url_;
  std::string partner_;
  std::string schema_;
  std::string role_;  // the partner's role under isolation: roles; "" otherwise
  std::function<Status()> flush_active_;
};

}  // namespace sluice::warehouse::pg
