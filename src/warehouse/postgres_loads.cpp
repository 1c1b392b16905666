// warehouse/postgres_loads.cpp: see postgres_loads.h.
#include "warehouse/postgres_loads.h"

#include <libpq-fe.h>

#include <cstdlib>
#include <string>

namespace sluice::warehouse::pg {

Status RecordOrRepeatCounts(PgConn& conn, const PgWarehouse& wh, const MergeTarget& target,
                            MergeCounts* counts) {
  const std::string merges = wh.Qualified("sluice_merges");
  SLUICE_ASSIGN_OR_RETURN(
      PgResult get, conn.Run("SELECT inputs, run_id, rows_inserted, rows_updated, rows_deleted, "
                             "rows_kept_newer FROM " +
                                 merges + " WHERE table_name = $1 AND ingest_date = $2 FOR UPDATE",
                             {target.schema->table, target.ingest_date},
                             "warehouse: reading sluice_merges", "SELECT on sluice_merges"));
  if (PQntuples(get.get()) == 1 && target.inputs == PQgetvalue(get.get(), 0, 0)) {
    counts->same_inputs_as_run = PQgetvalue(get.get(), 0, 1);
    counts->inserted = std::strtoll(PQgetvalue(get.get(), 0, 2), nullptr, 10);
    counts->updated = std::strtoll(PQgetvalue(get.get(), 0, 3), nullptr, 10);
    counts->deleted = std::strtoll(PQgetvalue(get.get(), 0, 4), nullptr, 10);
    counts->kept_newer = std::strtoll(PQgetvalue(get.get(), 0, 5), nullptr, 10);
    return Status::Ok();
  }
  return conn
      .Run("INSERT INTO " + merges +
               " (table_name, ingest_date, inputs, run_id, rows_inserted, rows_updated, "
               "rows_deleted, rows_kept_newer) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON "
               "CONFLICT (table_name, ingest_date) DO UPDATE SET inputs = excluded.inputs, "
               "run_id = excluded.run_id, rows_inserted = excluded.rows_inserted, rows_updated "
               "= excluded.rows_updated, rows_deleted = excluded.rows_deleted, "
               "rows_kept_newer = excluded.rows_kept_newer",
           {target.schema->table, target.ingest_date, target.inputs, target.run_id,
            std::to_string(counts->inserted), std::to_string(counts->updated),
            std::to_string(counts->deleted), std::to_string(counts->kept_newer)},
           "warehouse: recording the merge in sluice_merges", "INSERT on sluice_merges")
      .status();
}

Status ReserveOne(PgConn& conn, const PgWarehouse& wh, const MergeTarget& target,
                  const std::string& table, const std::string& file) {
  const std::string ids = wh.Qualified("sluice_load_ids");
  const std::string loads = wh.Qualified("sluice_loads");
  return conn
      .Run("INSERT INTO " + ids +
               " (load_id, table_name, ingest_date, run_id, source_file) SELECT "
               "greatest(coalesce((SELECT max(load_id) FROM " +
               loads + "), 0), coalesce((SELECT max(load_id) FROM " + ids +
               "), 0)) + 1, $1, $2::date, $3, $4 ON CONFLICT (table_name, ingest_date, "
               "run_id, source_file) DO NOTHING",
           {table, target.ingest_date, target.run_id, file},
           "warehouse: numbering the date's loads", "INSERT on sluice_load_ids")
      .status();
}

Status LockLoadNumbers(PgConn& conn, const PgWarehouse& wh) {
  const std::string ids = wh.Qualified("sluice_load_ids");
  SLUICE_RETURN_IF_ERROR(conn.Run("SELECT pg_advisory_xact_lock(29549, hashtext($1))", {ids},
                                  "warehouse: locking the load numbers")
                             .status());
  return conn.Exec("CREATE TABLE IF NOT EXISTS " + ids +
                       " (load_id bigint PRIMARY KEY, table_name text NOT NULL, ingest_date "
                       "date NOT NULL, run_id text NOT NULL, source_file text NOT NULL, "
                       "UNIQUE (table_name, ingest_date, run_id, source_file))",
                   "warehouse: creating sluice_load_ids", "CREATE on the schema");
}

Status ReserveDateLoads(PgConn& conn, const PgWarehouse& wh, const MergeTarget& target) {
  if (target.date_loads.empty()) return Status::Ok();
  SLUICE_RETURN_IF_ERROR(conn.Exec("BEGIN", "warehouse: BEGIN"));
  Status st = LockLoadNumbers(conn, wh);
  for (const auto& [table, file] : target.date_loads) {
    if (st.ok()) st = ReserveOne(conn, wh, target, table, file);
  }
  if (st.ok()) st = conn.Exec("COMMIT", "warehouse: committing the date's load numbers");
  if (!st.ok()) {
    (void)conn.Exec("ROLLBACK", "warehouse: ROLLBACK");
    return st;
  }
  return Status::Ok();
}

}  // namespace sluice::warehouse::pg
