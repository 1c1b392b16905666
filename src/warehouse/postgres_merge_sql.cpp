// warehouse/postgres_merge_sql.cpp: see postgres_merge_sql.h.
#include "warehouse/postgres_merge_sql.h"

#include <algorithm>
#include <vector>

#include "core/strings.h"
#include "warehouse/postgres_internal.h"

namespace sluice::warehouse::pg {

MergeSql BuildMergeSql(const config::TableSchema& schema, const std::string& table, bool rescue) {
  MergeSql sql;
  std::vector<std::string> cols, keys;
  for (const auto& c : schema.columns) cols.push_back(QuoteIdentifier(c.name));
  for (const auto& k : schema.primary_key) keys.push_back(QuoteIdentifier(k));
  // The stage's text columns have the database's default collation, whatever the target's
  // (COLLATE "C" for tables sluice creates now, the default for older ones): where a stage key
  // meets the target's, PostgreSQL takes the non-default collation over the default, so the
  // join compares under the target's own (its key index serves it) and never fails for a
  // mismatch (tests/pg/pg_collation_test.cpp covers both kinds of table).
  std::string stage_defs;
  for (size_t i = 0; i < schema.columns.size(); ++i) {
    stage_defs += cols[i] + " " + PgType(schema.columns[i]) + ", ";
  }
  sql.stage = "CREATE TEMP TABLE sluice_stage (" + stage_defs +
              "_load_id bigint, _rescued text, _seq bigint) ON COMMIT DROP";
  sql.copy = "COPY " + std::string(kStage) + " (" + Join(cols, ", ") +
             ", _load_id, _rescued, _seq) FROM STDIN (FORMAT binary)";
  std::string target_cols = Join(cols, ", ") + ", _ingest_date, _load_id";
  std::string select = Join(cols, ", ") + ", $1::date, _load_id";
  if (rescue) {
    target_cols += ", _rescued";
    select += ", _rescued";
  }
  sql.insert_all = "INSERT INTO " + table + " (" + target_cols + ") SELECT " + select + " FROM " +
                   kStage + " ORDER BY _seq";
  if (schema.merge != config::MergeMode::kUpsert || schema.primary_key.empty()) return sql;

  const std::string k = Join(keys, ", ");
  // The last row of each key: one sort on (key, _seq DESC) serves the count of the key's rows
  // (the window's frame is the whole partition) and DISTINCT ON.
  const std::string last_of_each_key =
      "SELECT DISTINCT ON (" + k + ") " + Join(cols, ", ") +
      ", _load_id, _rescued, count(*) OVER (PARTITION BY " + k +
      " ORDER BY _seq DESC ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS _m "
      "FROM " +
      kStage + " ORDER BY " + k + ", _seq DESC";
  // Into an empty table (a first load, a backfill into a new table) every key is new: a plain
  // INSERT of the last row of each key.
  sql.empty = "SELECT NOT EXISTS (SELECT 1 FROM " + table + ")";
  sql.lock = "LOCK TABLE " + table + " IN SHARE ROW EXCLUSIVE MODE";
  sql.direct_copy = "COPY " + table + " (" + target_cols + ") FROM STDIN (FORMAT binary)";
  sql.direct_copy_defaults = "COPY " + table + " (" + Join(cols, ", ") +
                             (rescue ? ", _rescued" : "") + ") FROM STDIN (FORMAT binary, FREEZE)";
  sql.first_load = "INSERT INTO " + table + " (" + target_cols + ") SELECT " + select + " FROM (" +
                   last_of_each_key + ") src";
  sql.dedupe = "CREATE TEMP TABLE sluice_src ON COMMIT DROP AS " + last_of_each_key;
  // A plain UPDATE of the keys the table holds and a plain INSERT of the others, instead of
  // INSERT ... ON CONFLICT DO UPDATE: no speculative insertion and no row lock record per row
  // (a quarter of the server's CPU on a daily upsert). The merge holds the table's SHARE ROW
  // EXCLUSIVE lock (writers wait, readers do not), so no key arrives between the two.
  std::vector<std::string> sets;
  std::string on;
  for (size_t i = 0; i < cols.size(); ++i) {
    if (std::find(keys.begin(), keys.end(), cols[i]) == keys.end()) {
      sets.push_back(cols[i] + " = s." + cols[i]);
    }
  }
  for (const std::string& key : keys) {
    on += (on.empty() ? "" : " AND ") + std::string("t.") + key + " = s." + key;
  }
  sets.push_back("_ingest_date = $1::date");
  sets.push_back("_load_id = s._load_id");
  if (rescue) sets.push_back("_rescued = s._rescued");
  sql.update = "UPDATE " + table + " AS t SET " + Join(sets, ", ") + " FROM %SRC% AS s WHERE " +
               on + " AND t._ingest_date <= $1::date";
  std::string s_select;
  for (const std::string& c : cols) s_select += "s." + c + ", ";
  s_select += "$1::date, s._load_id";
  if (rescue) s_select += ", s._rescued";
  sql.insert = "INSERT INTO " + table + " (" + target_cols + ") SELECT " + s_select +
               " FROM %SRC% AS s WHERE NOT EXISTS (SELECT 1 FROM " + table + " AS t WHERE " + on +
               ")";
  sql.kept = "SELECT COALESCE(sum(s._m), 0) FROM " + std::string(kDeduped) + " AS s JOIN " + table +
             " AS t ON " + on + " WHERE t._ingest_date > $1::date";
  return sql;
}

std::string WithSource(const std::string& sql, const std::string& source) {
  std::string out = sql;
  for (size_t at = out.find("%SRC%"); at != std::string::npos; at = out.find("%SRC%", at)) {
    out.replace(at, 5, source);
    at += source.size();
  }
  return out;
}

}  // namespace sluice::warehouse::pg
