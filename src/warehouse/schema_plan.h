// warehouse/schema_plan.h: schema evolution without a database. Compares a table's schema with
// the columns the existing table has and lists the changes that bring the table in line, or
// refuses the unsafe ones, naming the fix. Every back-end reads its table's columns, asks for
// the plan, and applies the changes in its own SQL, so the rules live here once:
//
//   table missing                       kCreateTable
//   schema column renamed, the old name kRenameColumn (the old column keeps its values); only
//     one of its aliases, not a column    when exactly one alias names a table column that is no
//     of the schema                       column of the schema
//   nullable column new in the schema   kAddColumn
//   lineage column missing (_rescued,   kAddLineageColumn
//     _load_id on a table of wave one)
//   column made non-nullable            kNotNullTightened (nothing to apply: the merge rejects
//                                       rows without a value)
//   column no longer in the schema      kColumnDropped (kept with its values; new rows leave it
//                                       NULL; the change says how to drop it)
//   refused (InvalidArgument, nothing applied): a stored type the back-end would convert values
//   of, another primary key, a NOT NULL column the schema lets be empty, a NOT NULL column the
//   schema no longer lists, a non-nullable column new in the schema.
// Column names compare case-insensitively (config refuses names that differ only in case).
// Thread-safety: pure functions.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "config/pipeline_config.h"
#include "core/status.h"

namespace sluice::warehouse {

// A column of an existing table, as its back-end reports it.
struct TableColumn {
  std::string name;
  std::string declared_type;  // as declared: "TEXT", "INT", "varchar(20)", "" for none
  bool not_null = false;
  int key_position = 0;  // 1-based position in the primary key; 0: not part of it
};

// What a back-end tells the plan about its column types.
struct ColumnTypes {
  std::string engine;  // "SQLite", for messages
  // The type the back-end declares for a schema column ("INTEGER", "TEXT", ...).
  std::function<std::string(const config::ColumnSchema&)> declare;
  // Whether a column declared `declared` keeps the schema column's values as they are (no
  // silent conversion).
  std::function<bool(std::string_view declared, const config::ColumnSchema&)> stores_alike;
};

enum class SchemaChangeKind {
  kCreateTable,
  kRenameColumn,
  kAddColumn,
  kAddLineageColumn,
  kNotNullTightened,
  kColumnDropped,
};

struct SchemaChange {
  SchemaChangeKind kind = SchemaChangeKind::kCreateTable;
  std::string column;  // the schema's (or lineage) name; the table's name for kColumnDropped
  std::string from;    // kRenameColumn: the table's old name
  const config::ColumnSchema* schema_column = nullptr;  // kAddColumn, kNotNullTightened
  std::string note;  // kColumnDropped: how to drop or merge the column (a sentence)
};

// The lineage columns every table carries (see warehouse.h), and those of tables written by
// wave one, which existing tables keep.
inline constexpr std::string_view kIngestDateColumn = "_ingest_date";
inline constexpr std::string_view kLoadIdColumn = "_load_id";
inline constexpr std::string_view kRescuedColumn = "_rescued";
inline constexpr std::string_view kLegacyRunIdColumn = "_run_id";
inline constexpr std::string_view kLegacySourceFileColumn = "_source_file";

struct SchemaPlan {
  std::vector<SchemaChange> changes;
  // The table has wave one's _run_id and _source_file (NOT NULL): the merge keeps filling them
  // besides _load_id (see docs/config.md, "Row lineage").
  bool legacy_lineage = false;
};

// The plan for `schema` against the existing table's `columns` (`exists` false: the table is
// missing). `where` names the table's database in messages ("sqlite:///w/acme.db").
// InvalidArgument for a refused change, naming table, column and fix.
Result<SchemaPlan> PlanSchemaChanges(const config::TableSchema& schema, bool exists,
                                     const std::vector<TableColumn>& columns,
                                     const ColumnTypes& types, std::string_view where);

}  // namespace sluice::warehouse
