// tasks/extract.h: the `extract` builtin with an injectable store (tests, benchmarks).
//
// Every file in landing/<partner>/<date>/ matching partner.yaml's `archive` is a delivery
// (tasks/wait_for_sources.h ListDeliveries): an archive streamed through archive::ReadArchive,
// or a bare table file (.csv, .csv.gz, .csv.zst) taken as a one-member archive. Each entry
// matching a table pattern goes to raw/<partner>/<date>/<file> when the day has one delivery
// (the layout of earlier versions), or raw/<partner>/<date>/<delivery>/<file> when it has
// several, extracted in name order; members compressed on their own are kept expanded. Then
// manifests/<partner>/<date>/deliveries/<delivery>.json for each, and
// manifests/<partner>/<date>/extract.json last as the commit point:
//   {"partner", "date", "run_id",
//    "archive": {...the first delivery, as earlier versions wrote it...},
//    "deliveries": [{"name", "key", "bytes", "mtime_ms", "checksum": "xxh128:...", "format",
//                    "filter", "entries", "uncompressed_bytes"}],          // name order
//    "files": [{"member", "key", "table", "bytes", "checksum": "xxh128:...",
//               "compression"?, "compressed_bytes"?}],  // delivery order, then archive order
//    "skipped": [{"member", "reason"}]}
// The (partner, date) set is staged under raw/<partner>/.staging/ and published all at once; a
// refused delivery publishes nothing and leaves the previous set as it was. A re-delivery of
// one file changes only what came from that file: the others extract to the same bytes.
// Thread-safety: one call per task attempt; concurrent extracts of the same (partner, date) are
// not supported (the scheduler never runs two attempts of one instance at once).
#pragma once

#include "core/clock.h"
#include "store/object_store.h"
#include "tasks/task_context.h"

namespace sluice::tasks {

// Ok with ctx.result {archive, deliveries (several), files, skipped, bytes, archive_bytes};
// NotFound when no delivery is there or the partner's completion rule does not hold (no marker
// beside it, or, for a stable_seconds rule, modified less than that long ago on `clock`'s wall
// time): then nothing is read or written; InvalidArgument naming archive, entry and rule when
// refused; Corrupt when damaged. `store` is the pipeline's store and `clock` the system clock when
// null.
Status ExtractPartner(TaskContext& ctx, store::ObjectStore* store, Clock* clock = nullptr);

}  // namespace sluice::tasks
