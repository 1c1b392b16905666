// tasks/extract.h: the `extract` builtin with an injectable store (tests, benchmarks).
//
// Streams landing/<partner>/<date>/<archive> through archive::ReadArchive into
// raw/<partner>/<date>/<file> for every entry matching a table pattern, then writes
// manifests/<partner>/<date>/extract.json last as the commit point:
//   {"partner", "date", "run_id",
//    "archive": {"key", "bytes", "checksum": "xxh128:...", "format", "filter", "entries",
//                "uncompressed_bytes"},
//    "files": [{"member", "key", "table", "bytes", "checksum": "xxh128:..."}],  // archive order
//    "skipped": [{"member", "reason"}]}
// The (partner, date) set is staged under raw/<partner>/.staging/ and published all at once; a
// refused archive publishes nothing and leaves the previous set as it was.
// Thread-safety: one call per task attempt; concurrent extracts of the same (partner, date) are
// not supported (the scheduler never runs two attempts of one instance at once).
#pragma once

#include "core/clock.h"
#include "store/object_store.h"
#include "tasks/task_context.h"

namespace sluice::tasks {

// Ok with ctx.result {archive, files, skipped, bytes, archive_bytes}; NotFound when the archive
// is absent or the partner's completion rule does not hold (no marker beside it, or, for a
// stable_seconds rule, modified less than that long ago on `clock`'s wall time): then nothing
// is read or written; InvalidArgument naming archive, entry and rule when refused; Corrupt when
// damaged. `store` is the pipeline's store and `clock` the system clock when null.
Status ExtractPartner(TaskContext& ctx, store::ObjectStore* store, Clock* clock = nullptr);

}  // namespace sluice::tasks
