// warehouse/sqlite_schema.cpp: creating and evolving a partner's table in SQLite (EnsureTable):
// reads the table's columns, asks PlanSchemaChanges (schema_plan.h) what to do, and applies the
// plan in SQLite's DDL.
#include <sqlite3.h>

#include <string>
#include <vector>

#include "core/logging.h"
#include "core/strings.h"
#include "warehouse/schema_plan.h"
#include "warehouse/sqlite_internal.h"
#include "warehouse/sqlite_warehouse.h"

namespace sluice::warehouse::sqlite {

const ColumnTypes& SqliteColumnTypes() {
  static const ColumnTypes* types = new ColumnTypes{
      "SQLite", [](const config::ColumnSchema& c) { return std::string(SqlType(c)); },
      // Types stored alike (string, decimal, date, timestamp as TEXT; int64 and bool as
      // INTEGER) can change freely, and so can a declared type of the same affinity (a table a
      // user made with INT or VARCHAR(20)), or none (BLOB affinity converts nothing).
      [](std::string_view declared, const config::ColumnSchema& c) {
        const std::string_view affinity = Affinity(declared);
        return affinity == "BLOB" || affinity == Affinity(SqlType(c));
      }};
  return *types;
}

bool KeyIsNotRowid(const config::TableSchema& schema) {
  if (schema.primary_key.empty()) return false;
  if (schema.primary_key.size() > 1) return true;
  const config::ColumnSchema* key = schema.FindColumn(schema.primary_key.front());
  return key == nullptr || SqlType(*key) != "INTEGER";
}

Result<std::vector<TableColumn>> SqliteWarehouse::ReadColumns(std::string_view table) {
  std::vector<TableColumn> columns;
  Stmt st;
  SLUICE_RETURN_IF_ERROR(
      st.Prepare(db_, "SELECT name, \"notnull\", pk, type FROM pragma_table_info(?)"));
  sqlite3_bind_text(st.get(), 1, table.data(), static_cast<int>(table.size()), SQLITE_STATIC);
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    TableColumn c;
    c.name = reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 0));
    c.not_null = sqlite3_column_int(st.get(), 1) != 0;
    c.key_position = sqlite3_column_int(st.get(), 2);
    const unsigned char* type = sqlite3_column_text(st.get(), 3);
    c.declared_type = type ? reinterpret_cast<const char*>(type) : "";
    columns.push_back(std::move(c));
  }
  if (rc != SQLITE_DONE) {
    return SqliteError(db_, rc, "reading the columns of " + QuoteIdentifier(table));
  }
  return columns;
}

Result<SchemaPlan> SqliteWarehouse::EnsureTable(const config::TableSchema& schema) {
  const std::string table = QuoteIdentifier(schema.table);
  SLUICE_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  auto body = [&]() -> Result<SchemaPlan> {
    SLUICE_ASSIGN_OR_RETURN(bool exists, TableExists(schema.table));
    std::vector<TableColumn> columns;
    if (exists) {
      SLUICE_ASSIGN_OR_RETURN(columns, ReadColumns(schema.table));
    }
    SLUICE_ASSIGN_OR_RETURN(SchemaPlan plan, PlanSchemaChanges(schema, exists, columns,
                                                               SqliteColumnTypes(), Describe()));
    for (const SchemaChange& change : plan.changes) {
      SLUICE_RETURN_IF_ERROR(Apply(schema, change));
    }
    return plan;
  };
  Result<SchemaPlan> plan = body();
  if (!plan.ok()) {
    (void)Exec("ROLLBACK");
    return plan;
  }
  SLUICE_RETURN_IF_ERROR(Exec("COMMIT"));
  return plan;
}

Status SqliteWarehouse::Apply(const config::TableSchema& schema, const SchemaChange& change) {
  const std::string table = QuoteIdentifier(schema.table);
  switch (change.kind) {
    case SchemaChangeKind::kCreateTable: {
      std::string ddl = "CREATE TABLE " + table + " (";
      for (const config::ColumnSchema& c : schema.columns) {
        ddl += QuoteIdentifier(c.name) + " " + std::string(SqlType(c));
        if (!c.nullable) ddl += " NOT NULL";
        ddl += ", ";
      }
      // Lineage: the date and the load (sluice_loads: run, file, time) each row came from.
      ddl += "_ingest_date TEXT NOT NULL, _load_id INTEGER NOT NULL";
      if (schema.on_extra_columns == config::ExtraColumnsPolicy::kRescue) {
        ddl += ", _rescued TEXT";
      }
      if (!schema.primary_key.empty()) {
        std::vector<std::string> keys;
        for (const std::string& k : schema.primary_key) keys.push_back(QuoteIdentifier(k));
        ddl += ", PRIMARY KEY (" + Join(keys, ", ") + ")";
      }
      ddl += ")";
      // A text or composite key is stored once, as the table's own b-tree order, instead of in
      // the rows (by rowid) and again in the key's index: smaller databases and faster merges
      // (bench/README.md, "Database size"). A single INTEGER key already is the rowid. Tables
      // made before keep their layout (docs/config.md, "Row lineage and storage").
      if (KeyIsNotRowid(schema)) ddl += " WITHOUT ROWID";
      SLUICE_RETURN_IF_ERROR(Exec(ddl));
      if (schema.merge != config::MergeMode::kUpsert) {
        SLUICE_RETURN_IF_ERROR(Exec("CREATE INDEX IF NOT EXISTS " +
                                    QuoteIdentifier(schema.table + "__ingest_date") + " ON " +
                                    table + " (_ingest_date)"));
      }
      log::Info("warehouse: created table {} in {}", schema.table, Describe());
      return Status::Ok();
    }
    case SchemaChangeKind::kRenameColumn:
      SLUICE_RETURN_IF_ERROR(Exec("ALTER TABLE " + table + " RENAME COLUMN " +
                                  QuoteIdentifier(change.from) + " TO " +
                                  QuoteIdentifier(change.column)));
      log::Warn(
          "warehouse: renamed column \"{}\" of table {} in {} to \"{}\": the schema's column of "
          "that name lists \"{}\" as an alias; its values are kept (queries and views naming "
          "the old column need the new name)",
          change.from, schema.table, Describe(), change.column, change.from);
      return Status::Ok();
    case SchemaChangeKind::kAddColumn: {
      const std::string type(SqlType(*change.schema_column));
      SLUICE_RETURN_IF_ERROR(Exec("ALTER TABLE " + table + " ADD COLUMN " +
                                  QuoteIdentifier(change.column) + " " + type));
      log::Info("warehouse: table {} gained column {} {} (new in the schema)", schema.table,
                change.column, type);
      return Status::Ok();
    }
    case SchemaChangeKind::kAddLineageColumn:
      // _rescued (the schema rescues extra columns now), or _load_id on a table of wave one
      // (its earlier rows keep _run_id and _source_file and leave _load_id NULL).
      SLUICE_RETURN_IF_ERROR(Exec("ALTER TABLE " + table + " ADD COLUMN " +
                                  QuoteIdentifier(change.column) +
                                  (change.column == kLoadIdColumn ? " INTEGER" : " TEXT")));
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

}  // namespace sluice::warehouse::sqlite
