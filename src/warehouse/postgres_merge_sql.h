// warehouse/postgres_merge_sql.h: the statements of one table's merge into PostgreSQL (what
// postgres_writer.cpp sends), built once per merge from the table's schema. Included only by
// src/warehouse/postgres_*.cpp.
#pragma once

#include <string>

#include "config/pipeline_config.h"

namespace sluice::warehouse::pg {

// The staging table every merge COPYs into (dropped with the transaction).
inline constexpr const char* kStage = "pg_temp.sluice_stage";
// An upsert's last row of each key, when the stage holds a key more than once.
inline constexpr const char* kDeduped = "pg_temp.sluice_src";

struct MergeSql {
  std::string stage;  // CREATE TEMP TABLE sluice_stage (the columns, _load_id, _rescued, _seq)
  std::string copy;   // COPY into the stage
  // append / replace_date: every staged row into the table. $1: the ingest date.
  std::string insert_all;

  // upsert only:
  std::string empty;        // SELECT: the table holds no row
  std::string lock;         // LOCK TABLE ... IN SHARE ROW EXCLUSIVE MODE (writers only)
  std::string direct_copy;  // COPY straight into the (empty) table
  // The same, FREEZE, without _ingest_date and _load_id: they take the column defaults the
  // writer sets for the load (postgres_writer.cpp, SetLineageDefaults).
  std::string direct_copy_defaults;
  // Into an empty table, the last row of each staged key. $1: the ingest date.
  std::string first_load;
  // The last row of each staged key into kDeduped, with _m, how many staged rows had the key
  // (kDeduped dropped first when an earlier flush of the merge made it).
  std::string dedupe;
  // Both over a source of distinct keys: "%SRC%" is kStage or kDeduped. $1: the ingest date.
  // update: the table's row of each source key, unless the table's is from a later date;
  // insert: the source's rows whose key the table does not hold.
  std::string update, insert;
  // sum(_m) of the kDeduped keys the table holds from a later date than $1 (kept as they are).
  std::string kept;
};

// `table` is the quoted, schema-qualified target; `rescue` when it has a _rescued column.
MergeSql BuildMergeSql(const config::TableSchema& schema, const std::string& table, bool rescue);

// `sql` with every "%SRC%" replaced by `source`.
std::string WithSource(const std::string& sql, const std::string& source);

}  // namespace sluice::warehouse::pg
