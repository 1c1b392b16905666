// warehouse/sqlite_schema.cpp: creating and evolving a partner's table in SQLite (EnsureTable).
#include <sqlite3.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "core/logging.h"
#include "core/strings.h"
#include "warehouse/sqlite_internal.h"
#include "warehouse/sqlite_warehouse.h"

namespace sluice::warehouse::sqlite {

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

}  // namespace sluice::warehouse::sqlite
