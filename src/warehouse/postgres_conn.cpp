// warehouse/postgres_conn.cpp: the PostgreSQL back-end's connection: URL checks, connecting
// (libpq's password rules), statements, and the mapping of SQLSTATE codes to Status codes.
#include <libpq-fe.h>

#include <cstdlib>
#include <string>

#include "core/strings.h"
#include "warehouse/postgres_internal.h"
#include "warehouse/postgres_warehouse.h"

namespace sluice::warehouse {

namespace {

std::string Chomp(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

Status CheckPostgresUrl(std::string_view url, std::string_view what_view) {
  const std::string u(url);
  // "" when the caller prefixes messages itself (the back-end registry).
  const std::string what = what_view.empty() ? std::string() : std::string(what_view) + ": ";
  if (!StartsWith(u, "postgresql://") && !StartsWith(u, "postgres://")) {
    return Status::InvalidArgument(what + "not a postgresql:// URL");
  }
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(u.c_str(), &err);
  if (opts == nullptr) {
    std::string why = err ? Chomp(err) : "out of memory";
    PQfreemem(err);
    // libpq's message may quote the URL, and a malformed URL may hold a password: keep it out.
    return Status::InvalidArgument(what + "the postgresql:// URL is malformed (libpq: " +
                                   (why.find("://") == std::string::npos ? why : "invalid URI") +
                                   "); write postgresql://USER@HOST:PORT/DATABASE");
  }
  bool has_password = false;
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (std::string_view(o->keyword) == "password" && o->val != nullptr && *o->val != '\0') {
      has_password = true;
    }
  }
  PQconninfoFree(opts);
  if (has_password) {
    return Status::InvalidArgument(
        what +
        "the postgresql:// URL holds a password; remove it from sluice.yaml and give it the "
        "way libpq reads it: PGPASSWORD in the environment, a line in ~/.pgpass, or a PGSERVICE "
        "entry (a password in the file would end up in logs, backups and the ledger)");
  }
  return Status::Ok();
}

namespace pg {

Result<std::unique_ptr<PgConn>> Connect(const std::string& url, std::string_view what) {
  SLUICE_RETURN_IF_ERROR(CheckPostgresUrl(url, what));
  // Defaults first: the URL's own settings come later and win.
  const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {"10", "sluice", url.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr) return Status::Internal(std::string(what) + ": libpq is out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    const std::string why = Chomp(PQerrorMessage(conn));
    PQfinish(conn);
    const std::string where = std::string(what) + ": cannot connect to " + url + ": " + why;
    if (why.find("password authentication failed") != std::string::npos ||
        why.find("no password supplied") != std::string::npos ||
        why.find("authentication failed") != std::string::npos) {
      return Status::PermissionDenied(
          where +
          "; give the password the way libpq reads it (PGPASSWORD, ~/.pgpass or PGSERVICE), "
          "never in sluice.yaml");
    }
    if (why.find("does not exist") != std::string::npos ||
        why.find("no pg_hba.conf entry") != std::string::npos ||
        why.find("permission denied") != std::string::npos) {
      return Status::PermissionDenied(where +
                                      "; check the user and database in the URL, and that the "
                                      "server lets that user in (pg_hba.conf, CONNECT privilege)");
    }
    return Status::Unavailable(where +
                               "; is the server running and reachable at that host and port? "
                               "(a retry may succeed)");
  }
  std::string describe = url;
  auto c = std::make_unique<PgConn>(conn, std::move(describe));
  c->set_role(PQuser(conn) ? PQuser(conn) : "");
  return c;
}

int64_t PgConn::Affected(const PGresult* r) {
  const char* n = PQcmdTuples(const_cast<PGresult*>(r));
  return n && *n ? std::strtoll(n, nullptr, 10) : 0;
}

Status PgConn::Error(const PGresult* r, std::string_view what, std::string_view privilege) const {
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  std::string msg = Chomp(r ? PQresultErrorMessage(r) : PQerrorMessage(conn_));
  if (msg.empty()) msg = Chomp(PQerrorMessage(conn_));
  if (const char* detail = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL) : nullptr) {
    // "ERROR:  duplicate key ... DETAIL:  Key (id)=(1) already exists." on one line.
    if (msg.find(detail) == std::string::npos) msg += " (" + std::string(detail) + ")";
  }
  for (size_t p; (p = msg.find('\n')) != std::string::npos;) msg.replace(p, 1, " ");
  const std::string text = std::string(what) + ": " + msg + " (" + describe_ + ")";
  const std::string code = state ? state : "";
  if (code.empty() || PQstatus(conn_) == CONNECTION_BAD || StartsWith(code, "08") ||
      StartsWith(code, "57P") || StartsWith(code, "53") || code == "40001" || code == "40P01" ||
      code == "55P03") {
    return Status::Unavailable(text +
                               ": the server went away or asked to retry (connection lost, "
                               "shutdown, deadlock or serialization failure); the task is "
                               "retried, nothing of the failed transaction was kept");
  }
  if (code == "57014") return Status::Timeout(text + ": the statement was cancelled");
  if (code == "42501" || StartsWith(code, "28")) {
    std::string fix = "role " + (role_.empty() ? std::string("?") : role_);
    if (!schema_.empty()) fix += ", schema " + schema_;
    if (!privilege.empty()) fix += ", needs " + std::string(privilege);
    return Status::PermissionDenied(text + " [" + fix +
                                    "]: grant the privilege to the role, or run the task as a "
                                    "role that has it");
  }
  if (code == "XX001" || code == "XX002") {
    return Status::Corrupt(text + ": the server reports damaged data; restore it from a backup");
  }
  return Status::InvalidArgument(text);
}

Status PgConn::Exec(std::string_view sql, std::string_view what, std::string_view privilege) {
  PgResult r(PQexec(conn_, std::string(sql).c_str()));
  const ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) {
    return Status::Ok();
  }
  return Error(r.get(), what, privilege);
}

Result<PgResult> PgConn::Run(const std::string& sql, const Params& params, std::string_view what,
                             std::string_view privilege) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  PgResult r(PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                          values.data(), nullptr, nullptr, 0));
  const ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
  return Error(r.get(), what, privilege);
}

std::string PgType(const config::ColumnSchema& column) {
  switch (column.type) {
    case config::ColumnType::kInt64:
      return "bigint";
    case config::ColumnType::kFloat64:
      return "double precision";
    case config::ColumnType::kDecimal:
      return "numeric(" + std::to_string(column.precision) + "," + std::to_string(column.scale) +
             ")";
    case config::ColumnType::kBool:
      return "boolean";
    case config::ColumnType::kDate:
      return "date";
    case config::ColumnType::kTimestamp:
      return "timestamp without time zone";
    default:
      return "text";
  }
}

std::string PgDeclaredType(const config::ColumnSchema& column) {
  std::string type = PgType(column);
  if (type == "text") type += " COLLATE \"C\"";
  return type;
}

const ColumnTypes& PgColumnTypes() {
  static const ColumnTypes* types =
      new ColumnTypes{"PostgreSQL", [](const config::ColumnSchema& c) { return PgType(c); },
                      // Alike: the same type, or one that holds every value of the schema's type
                      // unchanged (text for strings; numeric with room for the digits and the same
                      // scale; timestamptz, read and written in UTC).
                      [](std::string_view declared_view, const config::ColumnSchema& c) {
                        const std::string declared = ToLower(declared_view);
                        if (declared == PgType(c)) return true;
                        switch (c.type) {
                          case config::ColumnType::kString:
                            return declared == "character varying";
                          case config::ColumnType::kTimestamp:
                            return declared == "timestamp with time zone";
                          case config::ColumnType::kDecimal: {
                            if (declared == "numeric") return true;
                            int p = 0, s = 0;
                            if (std::sscanf(declared.c_str(), "numeric(%d,%d)", &p, &s) != 2)
                              return false;
                            return s == c.scale && p - s >= c.precision - c.scale;
                          }
                          default:
                            return false;
                        }
                      }};
  return *types;
}

}  // namespace pg
}  // namespace sluice::warehouse
