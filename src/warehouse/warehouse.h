// warehouse/warehouse.h: the table-sink interface that merges conformed rows into a partner's
// tables, and its factory (chosen by URL). Back-ends:
//
//   sqlite://DIR         one database file per partner: DIR/<partner>.db (sqlite_warehouse.h;
//                        ?journal=rollback for SQLite's rollback journal instead of the WAL)
//   postgresql://USER@HOST:PORT/DB   one schema per partner in that database
//                        (postgres_warehouse.h; the password from PGPASSWORD, ~/.pgpass or
//                        PGSERVICE, never the URL)
//
// Tables are created from the schema: typed columns (the back-end's types for the schema's),
// the primary key, and lineage columns _ingest_date and _load_id (a row of the partner's
// sluice_loads: run, source file, date, load time; docs/config.md "Row lineage"), plus _rescued
// (JSON text) when the schema rescues extra columns. Tables of wave one keep their _run_id and
// _source_file columns and gain _load_id (schema_plan.h: legacy_lineage). Schema changes follow one
// back-end-neutral plan (schema_plan.h): a nullable column added to the schema is added to the
// table (logged), a renamed one keeps its values, unsafe changes are errors naming the fix; each
// back-end only applies the plan in its own SQL.
//
// One table merge is one transaction (TableWriter): all rows or none. Modes:
//   upsert        by primary key; a key repeated within one merge: the last row wins and its
//                 earlier occurrences count as updated. inserted = net new keys.
//   append        the delivery's rows are added; a re-run or re-delivery of the same date first
//                 removes the rows this table got for that date (from any file), so the table
//                 always equals a clean run, even when the new delivery's files are named
//                 differently or one was dropped.
//   replace_date  every row with this _ingest_date is replaced (the same effect, for tables
//                 that are one partition per date).
// Concurrency: several processes may merge different tables of one partner at once; a second
// writer waits for the first (up to WarehouseOptions::busy_timeout_ms) instead of failing.
// Ownership: a Warehouse owns its connection; a TableWriter borrows its Warehouse and must not
// outlive it. Thread-safety: one Warehouse per thread (open one per thread or process).
// The interface suite every back-end passes: tests/warehouse/warehouse_conformance_test.cpp.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/pipeline_config.h"
#include "core/backend_registry.h"
#include "core/status.h"

namespace sluice::warehouse {

enum class ValueKind : uint8_t { kNull, kInt, kReal, kText };

// One cell to bind; `s` is borrowed for the duration of TableWriter::Add().
struct Value {
  ValueKind kind = ValueKind::kNull;
  int64_t i = 0;
  double d = 0;
  std::string_view s;
};

struct MergeTarget {
  const config::TableSchema* schema = nullptr;
  std::string ingest_date;  // "YYYY-MM-DD", the run's logical date
  std::string run_id;
  // What the merge loads (its files with their checksums, and the schema). A merge of the date
  // with the same inputs as the last one committed (a retry after a kill between the commit
  // and the stats, a repair) loads the same rows; its counts are then those of that first
  // load, so a retried or repaired day reports what a clean run does. Empty: counts as they
  // come, nothing recorded.
  std::string inputs;
  // Every load of this partner's date in this run as (table, source file): the whole delivery,
  // from the extract manifest, every table's files. The back-end numbers them all (_load_id) at
  // the first merge of the date that needs one, in sorted order, so a load's id does not depend
  // on which of the date's concurrent merges commits first: two clean runs number their loads
  // alike, and a retry or repair of the run reuses them. A load not listed (or an empty list)
  // is numbered when its first row arrives.
  std::vector<std::pair<std::string, std::string>> date_loads = {};
};

struct MergeCounts {
  int64_t loaded = 0;    // rows handed to Add()
  int64_t inserted = 0;  // new rows in the table
  int64_t updated = 0;   // rows that replaced a row with the same key
  int64_t deleted = 0;   // rows removed first (replace_date, append re-runs)
  // upsert: rows not applied because the table already holds their key from a later date
  int64_t kept_newer = 0;
  // The back-end wrote the rows one at a time instead of in batches, because they came out of
  // key order for the table's existing rows (SQLite: a batch would then copy most of the table
  // into its statement journal). Reported as "one_statement_per_row" in the merge stats.
  bool row_by_row = false;
  // The date's last committed merge had the same inputs: the counts above are that merge's.
  std::string same_inputs_as_run;
};

class TableWriter {
 public:
  virtual ~TableWriter() = default;  // rolls back when not committed
  // Adds one row: `values` in schema column order; `rescued` is JSON or "" for NULL.
  virtual Status Add(std::span<const Value> values, std::string_view source_file,
                     std::string_view rescued) = 0;
  // Adds `rows` rows in order: `values` holds rows x columns in schema column order, `rescued`
  // is empty or one JSON text per row ("" for NULL), every row is from `source_file`. The same
  // effect as Add() per row; the SQLite back-end runs one statement per call (a quarter less
  // SQLite time per row). On failure, *failed_row (when given) is the index of the failing row,
  // and the writer can only be rolled back (rows before it may have been applied).
  virtual Status AddRows(std::span<const Value> values, size_t rows, std::string_view source_file,
                         std::span<const std::string_view> rescued, size_t* failed_row);
  // Commits the merge; the counts describe what it did.
  virtual Result<MergeCounts> Commit() = 0;
  // Abandons every change of this merge.
  virtual void Rollback() = 0;
};

struct QueryResult {
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;  // nullopt is NULL
};

class Warehouse {
 public:
  virtual ~Warehouse() = default;
  // Creates or evolves the table, starts the transaction and removes what the merge mode
  // replaces. InvalidArgument for schema changes it cannot apply; Unavailable when the
  // database stays locked beyond the busy timeout.
  virtual Result<std::unique_ptr<TableWriter>> BeginMerge(const MergeTarget& target) = 0;
  // Runs a read query; at most `max_rows` rows are returned (more are counted in *total_rows).
  virtual Result<QueryResult> Query(std::string_view sql, int64_t max_rows = 1000,
                                    int64_t* total_rows = nullptr) = 0;
  // Runs one or more statements in one transaction (the sql builtin).
  virtual Status Execute(std::string_view sql) = 0;
  virtual Result<bool> TableExists(std::string_view table) = 0;
  // The column sets the table's own constraints keep unique and free of NULLs (its primary key,
  // unique indexes without a WHERE clause, when every column is NOT NULL), each in declared
  // order. Empty for a table without such a key or that does not exist. The check builtin
  // passes a `unique` check over such a key without scanning the table.
  virtual Result<std::vector<std::vector<std::string>>> UniqueKeys(std::string_view table) = 0;
  // "sqlite:///abs/warehouse/acme.db", for messages.
  virtual std::string Describe() const = 0;
};

struct WarehouseOptions {
  int64_t busy_timeout_ms = int64_t{6} * 3600 * 1000;  // outlasts any merge
  int64_t lock_warning_ms = 30 * 1000;  // log a wait for another connection's lock after this
  // PostgreSQL (sluice.yaml `isolation: roles`): the partner's schema belongs to a role of its
  // own and every statement runs as that role (postgres_warehouse.h). Ignored by SQLite.
  bool partner_roles = false;
};

// Opens `partner`'s warehouse named by `url` (${NAME} expanded from the environment), relative
// to `base_dir`. InvalidArgument for an unknown, not-built or malformed URL (the message of
// WarehouseBackends().Resolve); IoError when the database cannot be opened.
Result<std::unique_ptr<Warehouse>> OpenWarehouse(const std::string& url,
                                                 const std::filesystem::path& base_dir,
                                                 std::string_view partner,
                                                 const WarehouseOptions& options = {});

// What a back-end allows for table names and table width, so `sluice validate` can ask the
// chosen warehouse instead of knowing one back-end's rules (config keeps only sluice's own:
// SQL identifiers, names starting with "_" or "sluice_" reserved).
struct TableRules {
  std::string engine;             // "SQLite", for messages
  size_t max_columns = 0;         // columns a table may have, sluice's lineage ones included
  size_t lineage_columns = 0;     // the most sluice adds to a table (see MaxSchemaColumns)
  bool case_insensitive = false;  // table and column names that differ only in case clash
  struct Reserved {
    std::string lower;  // a lower-case prefix or whole name
    std::string why;    // "SQLite keeps names starting with ..."
  };
  std::vector<Reserved> reserved_prefixes;
  std::vector<Reserved> reserved_names;

  // Columns a schema may list: max_columns less the lineage columns.
  size_t MaxSchemaColumns() const { return max_columns - lineage_columns; }
  // Why table name `name` cannot be used here ("is reserved: ...; rename the table"), or "".
  std::string CheckTableName(std::string_view name) const;
};

// The rules of the back-end `url` selects. InvalidArgument for an unknown or unsupported
// scheme (as OpenWarehouse says it).
Result<TableRules> TableRulesFor(std::string_view url);
// A warehouse back-end's factory: `url` is expanded and checked, `partner` a valid id.
using WarehouseFactory = Result<std::unique_ptr<Warehouse>> (*)(
    const std::string& url, const std::filesystem::path& base_dir, std::string_view partner,
    const WarehouseOptions& options);
// The warehouse back-ends by URL scheme: OpenWarehouse and `sluice validate`
// (tasks/load_pipeline.h) both read this table. Add a back-end as one row in warehouse.cpp.
const BackendRegistry<WarehouseFactory>& WarehouseBackends();

// Prepares this process for bulk writes to a warehouse (a task attempt): each back-end built
// in sets what it needs process-wide (SQLite: see PrepareSqliteForBulkWrites). Call once,
// before the process opens any warehouse.
void PrepareProcessForBulkWrites();

// "\"name\"" with inner quotes doubled.
std::string QuoteIdentifier(std::string_view name);

}  // namespace sluice::warehouse
