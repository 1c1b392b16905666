// warehouse/schema_plan.cpp: PlanSchemaChanges (see schema_plan.h).
#include "warehouse/schema_plan.h"

#include <algorithm>
#include <map>
#include <utility>

#include "core/strings.h"
#include "warehouse/warehouse.h"

namespace sluice::warehouse {

namespace {

bool IsLineage(const std::string& lower) {
  return lower == kIngestDateColumn || lower == kLoadIdColumn || lower == kLegacyRunIdColumn ||
         lower == kLegacySourceFileColumn;
}

SchemaChange Change(SchemaChangeKind kind, std::string column, std::string from = "",
                    const config::ColumnSchema* schema_column = nullptr, std::string note = "") {
  SchemaChange c;
  c.kind = kind;
  c.column = std::move(column);
  c.from = std::move(from);
  c.schema_column = schema_column;
  c.note = std::move(note);
  return c;
}

}  // namespace

Result<SchemaPlan> PlanSchemaChanges(const config::TableSchema& schema, bool exists,
                                     const std::vector<TableColumn>& columns,
                                     const ColumnTypes& types, std::string_view where_view) {
  SchemaPlan plan;
  const std::string where(where_view);
  const std::string table = QuoteIdentifier(schema.table);
  const bool rescue = schema.on_extra_columns == config::ExtraColumnsPolicy::kRescue;
  if (!exists) {
    plan.changes.push_back(Change(SchemaChangeKind::kCreateTable, schema.table));
    return plan;
  }
  // The table as it will be once the renames below are applied, by lower-case name.
  std::vector<TableColumn> now = columns;
  auto find = [&](const std::string& lower) -> TableColumn* {
    for (TableColumn& c : now) {
      if (ToLower(c.name) == lower) return &c;
    }
    return nullptr;
  };
  auto listed_in_schema = [&](const std::string& lower) {
    return std::any_of(schema.columns.begin(), schema.columns.end(),
                       [&](const config::ColumnSchema& c) { return ToLower(c.name) == lower; });
  };
  // A column renamed in the schema, its old name kept as an alias (so files with the old
  // header still map): the table's column of the old name becomes the new one, keeping its
  // values, instead of a second column that would split the history in two. Only when the
  // new name is not in the table yet and the old one is no column of the schema.
  for (const config::ColumnSchema& c : schema.columns) {
    if (find(ToLower(c.name)) != nullptr) continue;
    std::vector<std::string> old_names;
    for (const std::string& a : c.aliases) {
      const std::string lower = ToLower(a);
      if (find(lower) != nullptr && !listed_in_schema(lower) &&
          std::find(old_names.begin(), old_names.end(), lower) == old_names.end()) {
        old_names.push_back(lower);
      }
    }
    if (old_names.size() != 1) continue;  // none, or ambiguous: see the dropped columns below
    TableColumn* old_column = find(old_names[0]);
    plan.changes.push_back(Change(SchemaChangeKind::kRenameColumn, c.name, old_column->name, &c));
    old_column->name = c.name;
  }
  // A column whose stored type differs from the schema type's (int64 <-> string, say) would
  // have the back-end convert values silently ("007" into an INTEGER column becomes 7):
  // refused, naming the fix. Types stored alike can change freely.
  for (const config::ColumnSchema& c : schema.columns) {
    const TableColumn* t = find(ToLower(c.name));
    if (t == nullptr || types.stores_alike(t->declared_type, c)) continue;
    return Status::InvalidArgument(
        "table " + schema.table + " in " + where + " stores column \"" + c.name + "\" as " +
        t->declared_type + " but the schema now says " + c.TypeName() + " (stored as " +
        types.declare(c) + "); " + types.engine +
        " would convert the values silently. Keep the old type in the schema, or "
        "migrate the table with the sql builtin (create the new table, copy the rows, rename)");
  }
  // What the table enforces must still match the schema: a different key would make the
  // upsert's ON CONFLICT (or plain inserts) fail on the first row with the database's words.
  std::vector<std::pair<int, std::string>> table_key;
  for (const TableColumn& t : now) {
    if (t.key_position > 0) table_key.emplace_back(t.key_position, t.name);
  }
  std::sort(table_key.begin(), table_key.end());
  std::vector<std::string> key_cols, schema_key, shown;
  for (auto& [pos, name] : table_key) {
    key_cols.push_back(ToLower(name));
    shown.push_back(name);
  }
  for (const std::string& k : schema.primary_key) schema_key.push_back(ToLower(k));
  if (key_cols != schema_key) {
    return Status::InvalidArgument(
        "table " + schema.table + " in " + where + " has primary key (" + Join(shown, ", ") +
        ") but the schema says (" + Join(schema.primary_key, ", ") +
        "); a key cannot change in place: restore the schema's primary_key, or migrate the "
        "table with the sql builtin (create the new table, copy the rows, rename)");
  }
  // A column the schema now lets be empty that the table keeps NOT NULL: the first row
  // without a value would fail the whole merge with the database's words. The other way
  // round (made NOT NULL) needs nothing: the merge rejects rows without a value.
  for (const config::ColumnSchema& c : schema.columns) {
    const TableColumn* t = find(ToLower(c.name));
    if (t == nullptr) continue;
    if (!c.nullable) {
      if (!t->not_null)
        plan.changes.push_back(Change(SchemaChangeKind::kNotNullTightened, c.name, "", &c));
      continue;
    }
    if (t->not_null) {
      return Status::InvalidArgument(
          "table " + schema.table + " in " + where + " has column \"" + c.name +
          "\" NOT NULL but the schema now lets it be empty (nullable), so the first row "
          "without a value would fail the merge; keep \"nullable\": false in the schema, or "
          "migrate the table with the sql builtin (create it anew without NOT NULL, copy the "
          "rows, rename)");
    }
  }
  for (const TableColumn& t : now) {
    if (!t.not_null) continue;
    const std::string lower = ToLower(t.name);
    if (IsLineage(lower) || listed_in_schema(lower)) continue;
    return Status::InvalidArgument(
        "table " + schema.table + " in " + where + " has NOT NULL column \"" + t.name +
        "\" that the schema no longer lists, so no row could be inserted; add the column "
        "back to the schema, or migrate the table with the sql builtin");
  }
  // A column the schema dropped stays with its old values and gets NULL in new rows. One an
  // alias names whose new column is in the table already (two columns of one history, from
  // before renames were applied, or an alias shared by two columns) wants its values moved
  // before it is dropped.
  std::map<std::string, const TableColumn*> by_lower;  // in name order, as the log always was
  for (const TableColumn& t : now) by_lower[ToLower(t.name)] = &t;
  for (const auto& [lower, t] : by_lower) {
    if (lower.starts_with("_")) continue;  // lineage
    if (listed_in_schema(lower)) continue;
    const config::ColumnSchema* renamed = nullptr;
    for (const config::ColumnSchema& c : schema.columns) {
      for (const std::string& a : c.aliases) {
        if (ToLower(a) == lower) renamed = &c;
      }
    }
    const std::string old_column = QuoteIdentifier(t->name);
    const std::string fix =
        renamed != nullptr
            ? "the schema's column \"" + renamed->name +
                  "\" lists it as an alias: to keep one column, move its values and drop it "
                  "with the sql builtin (UPDATE " +
                  table + " SET " + QuoteIdentifier(renamed->name) + " = " + old_column +
                  " WHERE " + QuoteIdentifier(renamed->name) + " IS NULL; ALTER TABLE " + table +
                  " DROP COLUMN " + old_column + ")"
            : "drop it with the sql builtin (ALTER TABLE " + table + " DROP COLUMN " + old_column +
                  ") if it is no longer wanted";
    plan.changes.push_back(Change(SchemaChangeKind::kColumnDropped, lower, "", nullptr, fix));
  }
  for (const config::ColumnSchema& c : schema.columns) {
    if (find(ToLower(c.name)) != nullptr) continue;
    if (!c.nullable) {
      return Status::InvalidArgument(
          "table " + schema.table + " exists without non-nullable column \"" + c.name +
          "\"; add it as nullable first (existing rows have no value), or migrate the table "
          "with the sql builtin");
    }
    plan.changes.push_back(Change(SchemaChangeKind::kAddColumn, c.name, "", &c));
  }
  // A table of wave one carries its lineage as text on every row (_run_id, _source_file, both
  // NOT NULL): it keeps them, and gains _load_id so new rows point into sluice_loads too.
  plan.legacy_lineage = find(std::string(kLegacyRunIdColumn)) != nullptr &&
                        find(std::string(kLegacySourceFileColumn)) != nullptr;
  if (find(std::string(kLoadIdColumn)) == nullptr) {
    plan.changes.push_back(Change(SchemaChangeKind::kAddLineageColumn, std::string(kLoadIdColumn)));
  }
  if (rescue && find(std::string(kRescuedColumn)) == nullptr) {
    plan.changes.push_back(
        Change(SchemaChangeKind::kAddLineageColumn, std::string(kRescuedColumn)));
  }
  return plan;
}

}  // namespace sluice::warehouse
