// warehouse/postgres_loads.h: a PostgreSQL merge's bookkeeping beside its rows: the load
// numbers of a date (sluice_load_ids, sluice_loads' ids) and the merge's record in
// sluice_merges. Used by postgres_writer.cpp; included only by src/warehouse/postgres_*.cpp.
#pragma once

#include <string>

#include "core/status.h"
#include "warehouse/postgres_internal.h"
#include "warehouse/warehouse.h"

namespace sluice::warehouse::pg {

// Keeps what this merge of the date did (`counts`) in sluice_merges or, when the date's last
// committed merge had the same inputs, sets `counts` to that merge's (see MergeTarget::inputs).
// Inside the merge's transaction.
Status RecordOrRepeatCounts(PgConn& conn, const PgWarehouse& wh, const MergeTarget& target,
                            MergeCounts* counts);

// Reserves a load id in sluice_load_ids for (table, file) of this date and run, unless it has
// one: after every id either table holds, so an id is never reused. The caller holds the
// schema's load-number lock.
Status ReserveOne(PgConn& conn, const PgWarehouse& wh, const MergeTarget& target,
                  const std::string& table, const std::string& file);

// Takes the schema's load-number lock (to the end of the transaction) and makes sure
// sluice_load_ids exists.
Status LockLoadNumbers(PgConn& conn, const PgWarehouse& wh);

// Numbers the date's loads together, in the order MergeTarget::date_loads gives, in a short
// transaction of its own (call it outside the merge's): whichever merge of the date gets here
// first numbers them all (the others find them numbered), so two clean runs number them alike
// whatever order their merges commit in. Committed apart from the merge, the lock is held for
// milliseconds, and merges of one partner's tables run side by side instead of one after the
// other. A merge that fails later leaves its numbers reserved; its retry or repair (same run)
// uses them.
Status ReserveDateLoads(PgConn& conn, const PgWarehouse& wh, const MergeTarget& target);

}  // namespace sluice::warehouse::pg
