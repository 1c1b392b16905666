// warehouse/postgres_warehouse.h: the PostgreSQL back-end of the warehouse
// (postgresql://user@host:port/db, also postgres://), reached through OpenWarehouse.
//
// One schema per partner, named by the partner id itself (quoted: ids may hold '-' or start
// with a digit). PostgreSQL keeps schema names starting with "pg_" and the names "public" and
// "information_schema" for itself: those partner ids get a capital first letter ("Pg_x",
// "Public"), which no partner id has, so every partner has a schema of its own (at most 63
// bytes, PostgreSQL's limit). Tables carry native types: bigint, double precision,
// numeric(p,s), boolean, date, timestamp (without time zone: values with an offset are stored
// in UTC, as on SQLite; PostgreSQL keeps microseconds, so a 7th to 9th fraction digit is
// rounded), text; _ingest_date date, _load_id bigint, _rescued text.
//
// The password never goes in the URL (refused): libpq finds it in PGPASSWORD, ~/.pgpass or a
// PGSERVICE entry. Rows are streamed with COPY into a temporary table and merged into the
// target in the merge's transaction (INSERT ... ON CONFLICT for upserts). Schema changes follow
// schema_plan.h, under an advisory lock per partner schema.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "warehouse/warehouse.h"

namespace sluice::warehouse {

// Opens `partner`'s schema in the database `url` names, creating the schema when missing.
// InvalidArgument for a malformed URL or one holding a password; Unavailable when the server
// cannot be reached; PermissionDenied when it refuses the login or the schema.
Result<std::unique_ptr<Warehouse>> OpenPostgresWarehouse(const std::string& url,
                                                         std::string_view partner,
                                                         const WarehouseOptions& options);

// The schema of `partner` (see above), unquoted.
std::string PostgresSchemaName(std::string_view partner);

// With `isolation: roles` (WarehouseOptions::partner_roles) each partner's schema is owned by a
// role of its own, "sluice_<partner id>" (NOLOGIN; ids past 56 bytes: their first 47 bytes, "_"
// and 8 hex digits of a hash, within PostgreSQL's 63), made by sluice when missing: the URL's
// user needs CREATEROLE and CREATE on the database. The session then acts as that role (SET
// ROLE), and a partner's own SQL (the sql builtin, sql checks) runs inside SECURITY DEFINER
// functions the role owns (sluice_exec, sluice_query in its schema), where PostgreSQL refuses
// SET ROLE and RESET ROLE: it can neither read nor change another partner's schema.
std::string PostgresRoleName(std::string_view partner);

// A postgresql:// URL's form, checked without connecting: libpq must parse it and it must not
// hold a password. InvalidArgument naming the fix.
Status CheckPostgresUrl(std::string_view url, std::string_view what);

// PostgreSQL's rules for tables: 1,600 columns, of which sluice adds up to 3; names are
// case-sensitive (quoted) and at most 63 bytes (checked when the table is made).
TableRules PostgresTableRules();

}  // namespace sluice::warehouse
