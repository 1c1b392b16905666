// warehouse/postgres_warehouse.cpp: the PostgreSQL back-end of the warehouse: opening a partner's
// schema, queries, and creating and evolving its tables (the merge is postgres_writer.cpp).
#include "warehouse/postgres_warehouse.h"

#include <libpq-fe.h>

#include <cctype>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/logging.h"
#include "core/strings.h"
#include "warehouse/postgres_internal.h"

namespace sluice::warehouse {

namespace {

// Advisory lock class of sluice's DDL on a partner schema ("sl" in ASCII), so two processes
// creating the same schema or table take turns instead of failing on the catalog.
constexpr const char* kDdlLock = "SELECT pg_advisory_xact_lock(29548, hashtext($1))";

// PostgreSQL truncates longer identifiers silently: two long names would become one.
constexpr size_t kMaxIdentifierBytes = 63;

}  // namespace

namespace pg {
std::string LineageTablesDdl(const std::string& quoted_schema);
}  // namespace pg

std::string PostgresSchemaName(std::string_view partner) {
  std::string s(partner);
  if (StartsWith(s, "pg_") || s == "public" || s == "information_schema") {
    s[0] = static_cast<char>(s[0] - 'a' + 'A');
  }
  return s;
}

// 'text' with inner quotes doubled (role names are sluice's own: letters, digits, _ and -).
std::string SqlString(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out.push_back('\'');
    out.push_back(c);
  }
  return out + "'";
}

std::string PostgresRoleName(std::string_view partner) {
  std::string role = "sluice_" + std::string(partner);
  if (role.size() <= kMaxIdentifierBytes) return role;
  uint32_t h = 2166136261u;  // FNV-1a: the same name on every host and build
  for (char c : partner) h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", h);
  return "sluice_" + std::string(partner.substr(0, 47)) + "_" + hex;
}

TableRules PostgresTableRules() {
  TableRules r;
  r.engine = "PostgreSQL";
  r.max_columns = 1600;
  r.lineage_columns = 3;  // _ingest_date, _load_id, _rescued
  r.case_insensitive = false;
  return r;
}

Result<std::unique_ptr<Warehouse>> OpenPostgresWarehouse(const std::string& url,
                                                         std::string_view partner,
                                                         const WarehouseOptions& options) {
  SLUICE_ASSIGN_OR_RETURN(auto conn, pg::Connect(url, "warehouse"));
  const std::string schema = PostgresSchemaName(partner);
  conn->set_error_context(schema);
  auto wh = std::make_unique<pg::PgWarehouse>(
      std::move(conn), url, std::string(partner), schema,
      options.partner_roles ? PostgresRoleName(partner) : std::string());
  SLUICE_RETURN_IF_ERROR(wh->Prepare());
  return std::unique_ptr<Warehouse>(std::move(wh));
}

namespace pg {

std::string PgWarehouse::Qualified(std::string_view table) const {
  return QuoteIdentifier(schema_) + "." + QuoteIdentifier(table);
}

Status PgWarehouse::Prepare() {
  const std::string q = QuoteIdentifier(schema_);
  // Unqualified names in checks and sql tasks are the partner's tables; times read and written
  // in UTC; dates as YYYY-MM-DD; floats in their shortest exact form. A merge's stage (a
  // temporary table) stays in the session's memory up to temp_buffers (taken as used; it can
  // only be set before the session's first temporary table).
  SLUICE_RETURN_IF_ERROR(conn_->Exec("SET search_path TO " + q +
                                         "; SET TimeZone TO 'UTC'; SET DateStyle TO 'ISO, YMD'; "
                                         "SET client_encoding TO 'UTF8'; SET extra_float_digits "
                                         "TO 1; SET client_min_messages TO warning; SET "
                                         "temp_buffers TO '128MB'",
                                     "warehouse: setting up the session"));
  if (!role_.empty()) return PrepareRole();
  SLUICE_ASSIGN_OR_RETURN(
      PgResult have,
      conn_->Run("SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL",
                 {q + ".sluice_loads", q + ".sluice_merges"}, "warehouse: looking up the schema",
                 "USAGE on the schema"));
  if (std::string_view(PQgetvalue(have.get(), 0, 0)) == "t") return Status::Ok();
  SLUICE_RETURN_IF_ERROR(conn_->Exec("BEGIN", "warehouse: BEGIN"));
  auto body = [&]() -> Status {
    SLUICE_RETURN_IF_ERROR(
        conn_->Run(kDdlLock, {schema_}, "warehouse: locking the schema").status());
    SLUICE_RETURN_IF_ERROR(conn_->Exec("CREATE SCHEMA IF NOT EXISTS " + q,
                                       "warehouse: creating schema " + schema_,
                                       "CREATE on the database"));
    return conn_->Exec(LineageTablesDdl(q),
                       "warehouse: creating sluice_loads and sluice_merges in schema " + schema_,
                       "CREATE on the schema");
  };
  Status st = body();
  if (!st.ok()) {
    (void)conn_->Exec("ROLLBACK", "warehouse: ROLLBACK");
    return st;
  }
  return conn_->Exec("COMMIT", "warehouse: COMMIT");
}

// One row per load: a file merged into a table for a date by a run (docs/config.md, "Row
// lineage"); one per table and date: the inputs and counts of its last merge.
std::string LineageTablesDdl(const std::string& q) {
  return "CREATE TABLE IF NOT EXISTS " + q +
         ".sluice_loads (load_id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
         "table_name text NOT NULL, ingest_date date NOT NULL, run_id text NOT NULL, partner "
         "text NOT NULL, source_file text NOT NULL, loaded_at timestamptz NOT NULL, UNIQUE "
         "(table_name, ingest_date, run_id, source_file)); CREATE TABLE IF NOT EXISTS " +
         q +
         ".sluice_merges (table_name text NOT NULL, ingest_date date NOT NULL, inputs text NOT "
         "NULL, run_id text NOT NULL, rows_inserted bigint NOT NULL, rows_updated bigint NOT "
         "NULL, rows_deleted bigint NOT NULL, rows_kept_newer bigint NOT NULL, PRIMARY KEY "
         "(table_name, ingest_date))";
}

Status PgWarehouse::PrepareRole() {
  const std::string q = QuoteIdentifier(schema_);
  const std::string r = QuoteIdentifier(role_);
  // Set up already (the usual case): the role owns the schema and its functions exist.
  SLUICE_ASSIGN_OR_RETURN(
      PgResult ready,
      conn_->Run("SELECT 1 FROM pg_namespace n JOIN pg_roles o ON o.oid = n.nspowner WHERE "
                 "n.nspname = $1 AND o.rolname = $2 AND to_regprocedure($3) IS NOT NULL",
                 {schema_, role_, q + ".sluice_query(text)"}, "warehouse: looking up the schema"));
  if (PQntuples(ready.get()) == 1 &&
      conn_->Exec("SET ROLE " + r, "warehouse: acting as role " + role_).ok()) {
    conn_->set_role(role_);
    return Status::Ok();
  }
  SLUICE_RETURN_IF_ERROR(conn_->Exec("BEGIN", "warehouse: BEGIN"));
  auto body = [&]() -> Status {
    SLUICE_RETURN_IF_ERROR(
        conn_->Run(kDdlLock, {schema_}, "warehouse: locking the schema").status());
    // Roles belong to the whole server: another database's pipeline may make the same one at
    // the same moment (advisory locks are per database), so a duplicate is no error.
    SLUICE_RETURN_IF_ERROR(conn_->Exec(
        "DO $sluice$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = " +
            SqlString(role_) + ") THEN CREATE ROLE " + r +
            " NOLOGIN; END IF; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; "
            "END $sluice$; GRANT " +
            r + " TO CURRENT_USER",
        "warehouse: creating role " + role_,
        "CREATEROLE (isolation: roles makes a role per partner)"));
    SLUICE_RETURN_IF_ERROR(conn_->Exec("CREATE SCHEMA IF NOT EXISTS " + q + " AUTHORIZATION " + r +
                                           "; ALTER SCHEMA " + q + " OWNER TO " + r,
                                       "warehouse: giving schema " + schema_ + " to role " + role_,
                                       "CREATE on the database"));
    // Tables made before the partner had a role move to it, so it can merge into them.
    SLUICE_ASSIGN_OR_RETURN(
        PgResult tables,
        conn_->Run("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = "
                   "c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND "
                   "c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = $2)",
                   {schema_, role_}, "warehouse: listing the tables of " + schema_));
    for (int i = 0; i < PQntuples(tables.get()); ++i) {
      SLUICE_RETURN_IF_ERROR(
          conn_->Exec("ALTER TABLE " + Qualified(PQgetvalue(tables.get(), i, 0)) + " OWNER TO " + r,
                      "warehouse: giving a table to role " + role_, "ownership of the table"));
    }
    SLUICE_RETURN_IF_ERROR(conn_->Exec("SET LOCAL ROLE " + r, "warehouse: acting as " + role_));
    SLUICE_RETURN_IF_ERROR(conn_->Exec(LineageTablesDdl(q), "warehouse: creating lineage tables",
                                       "CREATE on the schema"));
    // The partner's own SQL runs in these: SECURITY DEFINER functions of its role, in which
    // PostgreSQL refuses SET ROLE and RESET ROLE (and set_config('role')).
    return conn_->Exec(
        "CREATE OR REPLACE FUNCTION " + q +
            ".sluice_exec(q text) RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET "
            "search_path = " +
            q + " AS $sluice$ BEGIN EXECUTE q; END $sluice$; CREATE OR REPLACE FUNCTION " + q +
            ".sluice_query(q text) RETURNS SETOF json LANGUAGE plpgsql SECURITY DEFINER SET "
            "search_path = " +
            q +
            " AS $sluice$ BEGIN RETURN QUERY EXECUTE 'SELECT (SELECT "
            "json_agg(json_build_array(e.key, e.value)) FROM "
            "json_each_text(row_to_json(sluice_q)) e) FROM (' || q || ') sluice_q'; END "
            "$sluice$; REVOKE ALL ON FUNCTION " +
            q + ".sluice_exec(text), " + q + ".sluice_query(text) FROM PUBLIC",
        "warehouse: creating the functions partner SQL runs in", "CREATE on the schema");
  };
  Status st = body();
  if (!st.ok()) {
    (void)conn_->Exec("ROLLBACK", "warehouse: ROLLBACK");
    return st;
  }
  SLUICE_RETURN_IF_ERROR(conn_->Exec("COMMIT", "warehouse: COMMIT"));
  SLUICE_RETURN_IF_ERROR(conn_->Exec("SET ROLE " + r, "warehouse: acting as role " + role_));
  conn_->set_role(role_);
  return Status::Ok();
}

Result<QueryResult> PgWarehouse::Query(std::string_view sql_view, int64_t max_rows,
                                       int64_t* total_rows) {
  SLUICE_RETURN_IF_ERROR(FlushActiveWriter());
  const std::string sql(sql_view);
  const std::string shown = "\"" + Printable(sql, 200) + "\"";
  if (Trim(sql).empty()) return Status::InvalidArgument("the query is empty: " + shown);
  // Read-only outside a merge; inside one (tests reading what a merge added) a savepoint keeps
  // a failing query from aborting the merge's transaction.
  const bool nested = conn_->InTransaction();
  SLUICE_RETURN_IF_ERROR(
      conn_->Exec(nested ? "SAVEPOINT sluice_query" : "BEGIN READ ONLY", "warehouse: BEGIN"));
  auto finish = [&](bool ok) {
    (void)conn_->Exec(nested ? (ok ? "RELEASE SAVEPOINT sluice_query"
                                   : "ROLLBACK TO SAVEPOINT sluice_query; RELEASE SAVEPOINT "
                                     "sluice_query")
                             : (ok ? "COMMIT" : "ROLLBACK"),
                      "warehouse: ending the query");
  };
  // The extended protocol runs exactly one statement; single-row mode counts rows past
  // max_rows without holding them. Under isolation: roles the partner's role runs it inside
  // its sluice_query(), each row a JSON array of [column, value] pairs.
  std::string text = sql;
  while (!text.empty() && (text.back() == ';' || std::isspace(static_cast<uint8_t>(text.back())))) {
    text.pop_back();
  }
  const bool as_role = !role_.empty();
  const std::string run =
      as_role ? "SELECT " + QuoteIdentifier(schema_) + ".sluice_query($1)" : sql;
  const char* param = text.c_str();
  if (PQsendQueryParams(conn_->get(), run.c_str(), as_role ? 1 : 0, nullptr,
                        as_role ? &param : nullptr, nullptr, nullptr, 0) == 0) {
    Status st = conn_->Error(nullptr, "warehouse: query " + shown);
    finish(false);
    return st;
  }
  PQsetSingleRowMode(conn_->get());
  QueryResult out;
  int64_t total = 0;
  Status failure;
  while (PGresult* raw = PQgetResult(conn_->get())) {
    PgResult r(raw);
    const ExecStatusType st = PQresultStatus(raw);
    if (as_role && (st == PGRES_SINGLE_TUPLE || st == PGRES_TUPLES_OK)) {
      for (int row = 0; row < PQntuples(raw); ++row) {
        ++total;
        auto pairs = nlohmann::json::parse(PQgetvalue(raw, row, 0), nullptr, false);
        if (!pairs.is_array()) continue;
        if (out.columns.empty()) {
          for (const auto& p : pairs) out.columns.push_back(p[0].get<std::string>());
        }
        if (total > max_rows) continue;
        std::vector<std::optional<std::string>> cells;
        for (const auto& p : pairs) {
          if (p[1].is_null()) {
            cells.emplace_back(std::nullopt);
          } else {
            cells.emplace_back(p[1].get<std::string>());
          }
        }
        out.rows.push_back(std::move(cells));
      }
    } else if (st == PGRES_SINGLE_TUPLE || st == PGRES_TUPLES_OK) {
      const int n = PQnfields(raw);
      if (out.columns.empty()) {
        for (int i = 0; i < n; ++i) out.columns.emplace_back(PQfname(raw, i));
      }
      for (int row = 0; row < PQntuples(raw); ++row) {
        ++total;
        if (total > max_rows) continue;
        std::vector<std::optional<std::string>> cells;
        for (int i = 0; i < n; ++i) {
          if (PQgetisnull(raw, row, i)) {
            cells.emplace_back(std::nullopt);
          } else {
            cells.emplace_back(std::string(PQgetvalue(raw, row, i),
                                           static_cast<size_t>(PQgetlength(raw, row, i))));
          }
        }
        out.rows.push_back(std::move(cells));
      }
    } else if (st == PGRES_EMPTY_QUERY) {
      failure = Status::InvalidArgument("the query is empty: " + shown);
    } else if (st == PGRES_COMMAND_OK) {
      failure = Status::InvalidArgument(shown + ": a query here may only read (SELECT/WITH)");
    } else if (failure.ok()) {
      const char* code = PQresultErrorField(raw, PG_DIAG_SQLSTATE);
      const std::string c = code ? code : "";
      if (c == "25006") {
        failure = Status::InvalidArgument(shown +
                                          ": a query here may only read (SELECT/WITH); change "
                                          "data with the sql builtin instead");
      } else if (c == "42601" &&
                 std::string(PQresultErrorMessage(raw)).find("multiple") != std::string::npos) {
        failure = Status::InvalidArgument(
            shown + ": give one statement; nothing after the first \";\" runs");
      } else {
        failure = conn_->Error(raw, "warehouse: query " + shown, "SELECT on the tables it reads");
      }
    }
  }
  finish(failure.ok());
  if (!failure.ok()) return failure;
  if (total_rows) *total_rows = total;
  return out;
}

Status PgWarehouse::Execute(std::string_view sql) {
  SLUICE_RETURN_IF_ERROR(FlushActiveWriter());
  SLUICE_RETURN_IF_ERROR(conn_->Exec("BEGIN", "warehouse: BEGIN"));
  const std::string what = "warehouse: \"" + Printable(sql, 200) + "\"";
  // Under isolation: roles the partner's statements run inside its role's sluice_exec().
  Status st = role_.empty()
                  ? conn_->Exec(sql, what, "the privileges the statements need")
                  : conn_
                        ->Run("SELECT " + QuoteIdentifier(schema_) + ".sluice_exec($1)",
                              {std::string(sql)}, what, "the privileges the statements need")
                        .status();
  if (!st.ok()) {
    (void)conn_->Exec("ROLLBACK", "warehouse: ROLLBACK");
    return st;
  }
  return conn_->Exec("COMMIT", "warehouse: COMMIT");
}

Result<bool> PgWarehouse::TableExists(std::string_view table) {
  SLUICE_RETURN_IF_ERROR(FlushActiveWriter());
  SLUICE_ASSIGN_OR_RETURN(PgResult r,
                          conn_->Run("SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = "
                                     "c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND "
                                     "c.relkind IN ('r', 'p')",
                                     {schema_, std::string(table)},
                                     "warehouse: looking up table " + std::string(table)));
  return PQntuples(r.get()) > 0;
}

Result<std::vector<std::vector<std::string>>> PgWarehouse::UniqueKeys(std::string_view table) {
  SLUICE_RETURN_IF_ERROR(FlushActiveWriter());
  // One row per column of each unique index without a WHERE clause or expressions, primary key
  // first; "all NOT NULL" decides per index.
  SLUICE_ASSIGN_OR_RETURN(
      PgResult r,
      conn_->Run("SELECT i.indexrelid::text, a.attname, a.attnotnull FROM pg_index i "
                 "JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = "
                 "c.relnamespace CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS "
                 "k(attnum, ord) JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = "
                 "k.attnum WHERE n.nspname = $1 AND c.relname = $2 AND i.indisunique AND "
                 "i.indpred IS NULL AND i.indexprs IS NULL ORDER BY NOT i.indisprimary, "
                 "i.indexrelid, k.ord",
                 {schema_, std::string(table)},
                 "warehouse: reading the keys of " + std::string(table)));
  std::vector<std::vector<std::string>> keys;
  std::string current;
  bool all_not_null = true;
  std::vector<std::string> cols;
  auto close = [&] {
    if (!cols.empty() && all_not_null && std::find(keys.begin(), keys.end(), cols) == keys.end()) {
      keys.push_back(cols);
    }
    cols.clear();
    all_not_null = true;
  };
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    const std::string index = PQgetvalue(r.get(), i, 0);
    if (index != current) {
      close();
      current = index;
    }
    cols.emplace_back(PQgetvalue(r.get(), i, 1));
    if (std::string_view(PQgetvalue(r.get(), i, 2)) != "t") all_not_null = false;
  }
  close();
  return keys;
}

Result<std::unique_ptr<TableWriter>> PgWarehouse::BeginMerge(const MergeTarget& target) {
  SLUICE_RETURN_IF_ERROR(FlushActiveWriter());
  SLUICE_ASSIGN_OR_RETURN(SchemaPlan plan, EnsureTable(*target.schema));
  return NewTableWriter(this, target, plan.legacy_lineage);
}

Result<std::vector<TableColumn>> PgWarehouse::ReadColumns(std::string_view table) {
  SLUICE_ASSIGN_OR_RETURN(
      PgResult r,
      conn_->Run(
          "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
          "COALESCE((SELECT k.ord FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) "
          "WHERE k.attnum = a.attnum), 0) FROM pg_attribute a "
          "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = "
          "c.relnamespace LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary "
          "WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT "
          "a.attisdropped ORDER BY a.attnum",
          {schema_, std::string(table)},
          "warehouse: reading the columns of " + std::string(table)));
  std::vector<TableColumn> columns;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    TableColumn c;
    c.name = PQgetvalue(r.get(), i, 0);
    c.declared_type = PQgetvalue(r.get(), i, 1);
    c.not_null = std::string_view(PQgetvalue(r.get(), i, 2)) == "t";
    c.key_position = std::atoi(PQgetvalue(r.get(), i, 3));
    columns.push_back(std::move(c));
  }
  return columns;
}

Result<SchemaPlan> PgWarehouse::EnsureTable(const config::TableSchema& schema) {
  auto too_long = [&](const std::string& name, const char* kind) {
    return Status::InvalidArgument(
        std::string("warehouse: ") + kind + " name \"" + name + "\" of table " + schema.table +
        " is " + std::to_string(name.size()) +
        " bytes; PostgreSQL keeps only 63 (longer names are cut and may clash): shorten it in "
        "the schema");
  };
  if (schema.table.size() > kMaxIdentifierBytes) return too_long(schema.table, "table");
  for (const config::ColumnSchema& c : schema.columns) {
    if (c.name.size() > kMaxIdentifierBytes) return too_long(c.name, "column");
  }
  SLUICE_RETURN_IF_ERROR(conn_->Exec("BEGIN", "warehouse: BEGIN"));
  auto body = [&]() -> Result<SchemaPlan> {
    SLUICE_RETURN_IF_ERROR(
        conn_->Run(kDdlLock, {schema_}, "warehouse: locking the schema").status());
    SLUICE_ASSIGN_OR_RETURN(bool exists, TableExists(schema.table));
    std::vector<TableColumn> columns;
    if (exists) {
      SLUICE_ASSIGN_OR_RETURN(columns, ReadColumns(schema.table));
    }
    SLUICE_ASSIGN_OR_RETURN(
        SchemaPlan plan, PlanSchemaChanges(schema, exists, columns, PgColumnTypes(), Describe()));
    for (const SchemaChange& change : plan.changes) {
      SLUICE_RETURN_IF_ERROR(Apply(schema, change));
    }
    return plan;
  };
  Result<SchemaPlan> plan = body();
  if (!plan.ok()) {
    (void)conn_->Exec("ROLLBACK", "warehouse: ROLLBACK");
    return plan;
  }
  SLUICE_RETURN_IF_ERROR(conn_->Exec("COMMIT", "warehouse: COMMIT"));
  return plan;
}

Status PgWarehouse::Apply(const config::TableSchema& schema, const SchemaChange& change) {
  const std::string table = Qualified(schema.table);
  const std::string what = "warehouse: changing table " + schema.table;
  switch (change.kind) {
    case SchemaChangeKind::kCreateTable: {
      std::string ddl = "CREATE TABLE " + table + " (";
      for (const config::ColumnSchema& c : schema.columns) {
        ddl += QuoteIdentifier(c.name) + " " + PgDeclaredType(c);
        if (!c.nullable) ddl += " NOT NULL";
        ddl += ", ";
      }
      // Lineage: the date and the load (sluice_loads: run, file, time) each row came from.
      ddl += "_ingest_date date NOT NULL, _load_id bigint NOT NULL";
      if (schema.on_extra_columns == config::ExtraColumnsPolicy::kRescue) ddl += ", _rescued text";
      if (!schema.primary_key.empty()) {
        std::vector<std::string> keys;
        for (const std::string& k : schema.primary_key) keys.push_back(QuoteIdentifier(k));
        ddl += ", PRIMARY KEY (" + Join(keys, ", ") + ")";
      }
      ddl += ")";
      SLUICE_RETURN_IF_ERROR(conn_->Exec(ddl, what, "CREATE on the schema"));
      if (schema.merge != config::MergeMode::kUpsert) {
        SLUICE_RETURN_IF_ERROR(
            conn_->Exec("CREATE INDEX ON " + table + " (_ingest_date)", what, "CREATE"));
      }
      log::Info("warehouse: created table {} in {}", schema.table, Describe());
      return Status::Ok();
    }
    case SchemaChangeKind::kRenameColumn:
      SLUICE_RETURN_IF_ERROR(conn_->Exec("ALTER TABLE " + table + " RENAME COLUMN " +
                                             QuoteIdentifier(change.from) + " TO " +
                                             QuoteIdentifier(change.column),
                                         what, "ownership of the table"));
      log::Warn(
          "warehouse: renamed column \"{}\" of table {} in {} to \"{}\": the schema's column of "
          "that name lists \"{}\" as an alias; its values are kept (queries and views naming "
          "the old column need the new name)",
          change.from, schema.table, Describe(), change.column, change.from);
      return Status::Ok();
    case SchemaChangeKind::kAddColumn: {
      const std::string type = PgType(*change.schema_column);
      SLUICE_RETURN_IF_ERROR(conn_->Exec("ALTER TABLE " + table + " ADD COLUMN " +
                                             QuoteIdentifier(change.column) + " " +
                                             PgDeclaredType(*change.schema_column),
                                         what, "ownership of the table"));
      log::Info("warehouse: table {} gained column {} {} (new in the schema)", schema.table,
                change.column, type);
      return Status::Ok();
    }
    case SchemaChangeKind::kAddLineageColumn:
      SLUICE_RETURN_IF_ERROR(conn_->Exec("ALTER TABLE " + table + " ADD COLUMN " +
                                             QuoteIdentifier(change.column) +
                                             (change.column == kLoadIdColumn ? " bigint" : " text"),
                                         what, "ownership of the table"));
      log::Info("warehouse: table {} gained column {}", schema.table, change.column);
      return Status::Ok();
    case SchemaChangeKind::kNotNullTightened:
      return Status::Ok();  // the merge rejects rows without a value
    case SchemaChangeKind::kColumnDropped:
      log::Warn(
          "warehouse: table {} in {} has column \"{}\" that the schema no longer lists; it keeps "
          "its old values and new rows leave it NULL; {}",
          schema.table, Describe(), change.column, change.note);
      return Status::Ok();
  }
  return Status::Internal("warehouse: unknown schema change");
}

}  // namespace pg
}  // namespace sluice::warehouse
