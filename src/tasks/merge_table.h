// tasks/merge_table.h: the streaming core of the merge builtin, usable without a pipeline
// (benchmarks, tests): CSV, JSON lines or Excel files -> schema conformance -> one warehouse
// merge.
//
// Rows failing conversion are written to `rejects` as CSV (file,line,column,reason,raw_line).
// When rejected/read exceeds the schema's max_reject_ratio, the merge is rolled back and an
// InvalidArgument says how many rows failed and where the rejects are.
// Ownership: borrows everything it is given. Thread-safety: one call per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/pipeline_config.h"
#include "core/status.h"
#include "csv/tokenizer.h"
#include "tasks/drift.h"
#include "warehouse/warehouse.h"

namespace sluice::tasks {

struct TableMergeStats {
  int64_t files = 0;
  int64_t rows_read = 0;
  int64_t rows_loaded = 0;
  int64_t rows_inserted = 0;
  int64_t rows_updated = 0;
  int64_t rows_deleted = 0;
  int64_t rows_kept_newer = 0;  // upsert: rows left out, their key holds a later date's row
  int64_t rows_rejected = 0;
  int64_t bytes = 0;  // UTF-8 bytes tokenized
  // Rows came out of key order for the table's existing rows: the warehouse wrote them one at
  // a time (see warehouse::MergeCounts::row_by_row; "one_statement_per_row" in the stats).
  bool row_by_row = false;
  // The date's last committed merge (this run) had the same inputs; the counts are its own.
  std::string same_inputs_as_run;
  std::vector<std::string> columns_missing;
  std::vector<std::string> columns_extra;
  // How the files' headers differ from the schema and the patch to accept it (tasks/drift.h
  // DriftJson); null when every header matched the schema's names.
  nlohmann::json drift;
};

struct MergeFile {
  std::string key;  // the store key, stored in _source_file and named in messages
  // Opens the file's bytes (raw encoding; converted here).
  std::function<Result<std::unique_ptr<csv::ByteSource>>()> open;
};

// Receives reject lines (already CSV-formatted, with trailing newline); may be empty.
using RejectSink = std::function<Status(std::string_view)>;

// The header line of the rejects file.
inline constexpr const char* kRejectsHeader = "file,line,column,reason,raw_line\n";

struct MergeOptions {
  // Called every few thousand rows with (rows_read, bytes).
  std::function<void(int64_t, int64_t)> progress;
  // Called once every row is added and the rejects are within max_reject_ratio, just before
  // the merge commits: what is left is the commit and closing files (merge.cpp gives the
  // attempt's slot back here). Not called when the merge fails before.
  std::function<void()> before_commit;
  // A file without even a header (when the dialect has one) fails the merge unless this is set
  // (the table is optional).
  bool empty_files_ok = false;
  // Where the rejects go, for messages ("data/rejects/acme/2026-11-24/orders.csv").
  std::string rejects_name;
  // Parse and convert on a second thread while this one writes (about a third faster when a
  // core is free); false: one thread does both, in turn.
  bool parse_on_own_thread = true;
  // How the files are written (the table's `format:` in partner.yaml): CSV in `dialect`, or
  // JSON lines (csv/ndjson_reader.h; the dialect's encoding, null_values and max_record_bytes
  // still apply).
  config::TableFormat format = config::TableFormat::kCsv;
  // xlsx: the sheet ("" the first) and the bound of its shared strings table.
  std::string sheet;
  int64_t max_shared_strings_bytes = int64_t{256} << 20;
};

// Merges `files` into `schema.table` of `warehouse` as one transaction.
Result<TableMergeStats> MergeTableFiles(const config::TableSchema& schema,
                                        const config::CsvDialect& dialect,
                                        warehouse::Warehouse* warehouse,
                                        const warehouse::MergeTarget& target,
                                        const std::vector<MergeFile>& files,
                                        const RejectSink& rejects,
                                        const MergeOptions& options = {});

}  // namespace sluice::tasks
