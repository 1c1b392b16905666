// tasks/merge_table.cpp: the streaming core of the merge builtin (MergeTableFiles, see
// merge_table.h): files -> a record source (the CSV tokenizer, or the JSON lines reader for
// `format: ndjson`) -> schema conformance -> batches of rows -> one warehouse merge, parsing on
// its own thread while this one writes.
#include "tasks/merge_table.h"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <span>
#include <thread>
#include <unordered_set>

#include "core/logging.h"
#include "core/strings.h"
#include "csv/conform.h"
#include "csv/encoding.h"
#include "csv/ndjson_reader.h"
#include "csv/tokenizer.h"
#include "csv/xlsx_reader.h"
#include "warehouse/warehouse.h"

namespace sluice::tasks {

namespace {

// Keeps the converter's cell views and the source around for one file.
struct FileReader {
  std::unique_ptr<csv::ByteSource> raw;
  std::unique_ptr<csv::ByteSource> utf8;
  std::unique_ptr<csv::RecordSource> records;  // the tokenizer or the JSON lines reader
  csv::Tokenizer* tokenizer = nullptr;         // `records` when the file is CSV
};

Status FileError(Status st, const std::string& key, int64_t line) {
  return std::move(st).WithFile(key, static_cast<int>(line));
}

// Converted rows on their way from the parsing thread to the SQLite writer. Text cells point
// into `arena`, which never moves while the batch fills: a row that would not fit in what is
// left ships the batch first (see RowBatch::Fits), so no view is ever left dangling.
struct RowBatch {
  static constexpr size_t kArenaBytes = size_t{4} << 20;
  const std::string* source = nullptr;  // the file's store key
  std::unique_ptr<char[]> arena;
  size_t arena_used = 0;
  size_t arena_capacity = 0;
  std::vector<warehouse::Value> values;         // rows x columns
  std::vector<std::string_view> rescued_views;  // per row
  std::vector<int64_t> lines;                   // per row, for messages
  size_t rows() const { return lines.size(); }
  // Whether `bytes` more of text fit without moving the arena.
  bool Fits(size_t bytes) const { return arena_used + bytes <= arena_capacity; }
  // A new arena of `bytes`; only while no row points into the old one.
  void Reserve(size_t bytes) {
    arena = std::make_unique_for_overwrite<char[]>(bytes);
    arena_capacity = bytes;
    arena_used = 0;
  }
  // Copies `text` into the arena (which Fits() it); the view stays valid as long as the batch.
  std::string_view Keep(std::string_view text) {
    char* at = arena.get() + arena_used;
    std::memcpy(at, text.data(), text.size());
    arena_used += text.size();
    return std::string_view(at, text.size());
  }
  // Empties the batch for the next rows, keeping every buffer's capacity (an arena grown for
  // one huge row goes back to the usual size).
  void Clear() {
    if (arena_capacity != kArenaBytes) Reserve(kArenaBytes);
    arena_used = 0;
    values.clear();
    rescued_views.clear();
    lines.clear();
  }
};

constexpr size_t kBatchRows = 4096;

// A bounded hand-off between one producer and one consumer.
class BatchQueue {
 public:
  // False when the consumer gave up; the producer then stops.
  bool Push(std::unique_ptr<RowBatch> batch) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return queue_.size() < kCapacity || cancelled_; });
    if (cancelled_) return false;
    queue_.push_back(std::move(batch));
    cv_.notify_all();
    return true;
  }
  // The next batch, or nullptr once the producer finished and everything was taken.
  std::unique_ptr<RowBatch> Pop() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !queue_.empty() || done_; });
    if (queue_.empty()) return nullptr;
    auto batch = std::move(queue_.front());
    queue_.pop_front();
    cv_.notify_all();
    return batch;
  }
  // Batches the consumer is done with go back to the producer, so their buffers (a few MiB
  // per batch) are filled again instead of grown from empty and first-touched every time.
  void Recycle(std::unique_ptr<RowBatch> batch) {
    batch->Clear();
    std::lock_guard<std::mutex> lock(mu_);
    if (free_.size() < kCapacity + 2) free_.push_back(std::move(batch));
  }
  std::unique_ptr<RowBatch> Fresh(size_t cells_per_row) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!free_.empty()) {
        auto batch = std::move(free_.back());
        free_.pop_back();
        return batch;
      }
    }
    auto batch = std::make_unique<RowBatch>();
    batch->Reserve(RowBatch::kArenaBytes);
    batch->values.reserve(kBatchRows * cells_per_row);
    batch->rescued_views.reserve(kBatchRows);
    batch->lines.reserve(kBatchRows);
    return batch;
  }
  void Finish(Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    status_ = std::move(status);
    cv_.notify_all();
  }
  void Cancel() {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }
  Status status() {
    std::lock_guard<std::mutex> lock(mu_);
    return status_;
  }

 private:
  static constexpr size_t kCapacity = 4;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<RowBatch>> queue_;
  std::vector<std::unique_ptr<RowBatch>> free_;
  bool done_ = false;
  bool cancelled_ = false;
  Status status_;
};

}  // namespace

Result<TableMergeStats> MergeTableFiles(const config::TableSchema& schema,
                                        const config::CsvDialect& dialect,
                                        warehouse::Warehouse* warehouse,
                                        const warehouse::MergeTarget& target,
                                        const std::vector<MergeFile>& files,
                                        const RejectSink& rejects, const MergeOptions& options) {
  const auto& progress = options.progress;
  TableMergeStats stats;
  SLUICE_ASSIGN_OR_RETURN(auto writer, warehouse->BeginMerge(target));
  csv::TokenizerOptions topt;
  topt.delimiter = dialect.delimiter;
  topt.quote = dialect.quote;
  topt.quoting = dialect.quoting;
  topt.max_record_bytes = static_cast<size_t>(dialect.max_record_bytes);
  // One field may fill the whole record: csv.max_record_bytes is the one limit users set.
  topt.max_field_bytes = topt.max_record_bytes;
  std::string reject_buf;
  std::map<std::string, int64_t> reject_codes;  // why rows were rejected, for the message
  auto flush_rejects = [&]() -> Status {
    if (!reject_buf.empty() && rejects) SLUICE_RETURN_IF_ERROR(rejects(reject_buf));
    reject_buf.clear();
    return Status::Ok();
  };
  // Parsing and conversion run on their own thread and hand batches of rows to this one, which
  // only writes: the merge then runs at close to SQLite's own insert speed. With one core to
  // use (options.parse_on_own_thread false) the same batches are written as they fill.
  const bool threaded = options.parse_on_own_thread;
  BatchQueue queue;
  Status write_status;
  auto write = [&](std::unique_ptr<RowBatch> batch) -> bool {
    size_t failed_row = 0;
    Status st = writer->AddRows(batch->values, batch->rows(), *batch->source, batch->rescued_views,
                                &failed_row);
    if (!st.ok()) {
      write_status = FileError(std::move(st), *batch->source,
                               batch->lines[std::min(failed_row, batch->rows() - 1)]);
      return false;
    }
    queue.Recycle(std::move(batch));
    return true;
  };
  std::unordered_set<std::string> missing_seen, extra_seen;
  DriftTracker drift(schema);    // used by the parse thread only, read after it ends
  std::string undecodable_file;  // the first file most of whose rows did not decode
  auto produce = [&]() -> Status {
    for (const MergeFile& file : files) {
      ++stats.files;
      const size_t cells_per_row = schema.columns.size();
      auto batch = queue.Fresh(cells_per_row);
      batch->source = &file.key;
      auto ship = [&]() -> bool {
        bool ok = threaded ? queue.Push(std::move(batch)) : write(std::move(batch));
        batch = queue.Fresh(cells_per_row);
        batch->source = &file.key;
        return ok;
      };
      FileReader fr;
      const bool json = options.format == config::TableFormat::kNdjson;
      const bool xlsx = options.format == config::TableFormat::kXlsx;
      std::string decoded_as = "utf-8";  // a workbook's XML says its own encoding
      if (xlsx) {
        // Opens the file once per pass (csv/xlsx_reader.h).
        auto reader = csv::XlsxReader::Open(
            file.open, {.sheet = options.sheet,
                        .max_shared_strings_bytes = options.max_shared_strings_bytes,
                        .max_record_bytes = topt.max_record_bytes});
        if (!reader.ok()) return FileError(reader.status(), file.key, 0);
        fr.records = std::move(*reader);
      } else {
        SLUICE_ASSIGN_OR_RETURN(fr.raw, file.open());
        auto utf8 = csv::MakeUtf8Source(fr.raw.get(), dialect.encoding, &decoded_as);
        if (!utf8.ok()) return FileError(utf8.status(), file.key, 0);
        if (auto label = csv::CanonicalEncoding(dialect.encoding);
            label.ok() && decoded_as != *label && !StartsWith(decoded_as, *label)) {
          log::Warn(
              "merge: {} starts with a {} byte order mark; decoding it as {}, not {} "
              "(csv.encoding in partner.yaml)",
              file.key, decoded_as, decoded_as, dialect.encoding);
        }
        fr.utf8 = std::move(*utf8);
      }
      const bool decoded = decoded_as != "utf-8";
      const int64_t rows_before_file = stats.rows_read;
      int64_t file_undecodable = 0;
      if (xlsx) {
        // opened above
      } else if (json) {
        csv::NdjsonOptions nopt;
        nopt.max_record_bytes = topt.max_record_bytes;
        fr.records = std::make_unique<csv::NdjsonReader>(fr.utf8.get(), nopt);
      } else {
        auto tokenizer = std::make_unique<csv::Tokenizer>(fr.utf8.get(), topt);
        fr.tokenizer = tokenizer.get();
        fr.records = std::move(tokenizer);
      }
      csv::Record rec;
      std::unique_ptr<csv::RowConverter> rc;
      int64_t names_version = -1;  // JSON lines: of the keys `rc` was made for
      // Sets: a header may have many thousands of extra names (time linear in them).
      auto note_columns = [&] {
        for (const auto& m : rc->missing_columns()) {
          if (missing_seen.insert(m).second) stats.columns_missing.push_back(m);
        }
        for (const auto& e : rc->extra_columns()) {
          if (extra_seen.insert(e).second) stats.columns_extra.push_back(e);
        }
      };
      // Excel's "sep=;" line names the file's delimiter: one other than the partner's would
      // misread every row.
      auto check_declared = [&]() -> Status {
        if (fr.tokenizer == nullptr) return Status::Ok();
        const char declared = fr.tokenizer->declared_delimiter();
        if (declared == '\0' || declared == dialect.delimiter) return Status::Ok();
        return FileError(
            Status::InvalidArgument(
                std::string("the file's first line \"sep=") + declared +
                "\" (Excel's delimiter line) names a delimiter other than csv.delimiter \"" +
                (dialect.delimiter == '\t' ? std::string("\\t")
                                           : std::string(1, dialect.delimiter)) +
                "\"; set csv.delimiter in partner.yaml to what the partner sends"),
            file.key, 1);
      };
      // Lines before the header that are not part of the table (csv.skip_lines).
      int skipped = 0;
      for (; !json && skipped < dialect.skip_lines; ++skipped) {
        auto has = fr.records->Next(&rec);
        if (!has.ok()) return FileError(has.status(), file.key, 0);
        if (!*has) break;
      }
      if (json) {
        // The keys name the fields: the converter is made with the first object (and again
        // when a later one brings a key not seen yet).
      } else if (dialect.header) {
        auto has = fr.records->Next(&rec);
        if (!has.ok()) return FileError(has.status(), file.key, 0);
        SLUICE_RETURN_IF_ERROR(check_declared());
        if (!*has) {
          // An export that failed on the partner's side often leaves exactly this: loading
          // "nothing" would report a successful day without its rows.
          if (!options.empty_files_ok) {
            const std::string what =
                skipped > 0
                    ? "the file has no header line after the " +
                          std::to_string(dialect.skip_lines) + " line(s) csv.skip_lines drops"
                    : std::string("the file is empty: no header line and no rows");
            return FileError(
                Status::InvalidArgument(
                    what + "; ask the partner to send the table again, or mark the table "
                           "`optional: true` in partner.yaml if an empty file means it has "
                           "no data that day"),
                file.key, 0);
          }
          log::Warn("merge: {} is empty (no header); the table is optional: nothing to load",
                    file.key);
          continue;
        }
        // Checked before the header is mapped: each column costs the converter and the drift
        // report memory and time.
        if (static_cast<int64_t>(rec.fields.size()) > dialect.max_columns) {
          return FileError(
              Status::InvalidArgument(
                  "the header has " + std::to_string(rec.fields.size()) +
                  " fields, more than csv.max_columns (" + std::to_string(dialect.max_columns) +
                  ") allows; a wrong csv.delimiter can split a line into that many: check it, or "
                  "raise csv.max_columns in partner.yaml"),
              file.key, rec.line);
        }
        auto made = csv::RowConverter::Create(schema, dialect, &rec.fields);
        drift.OnHeader(rec.fields, made.ok() ? made->get() : nullptr, dialect, file.key);
        if (!made.ok()) {
          return FileError(WithDrift(made.status(), drift, schema), file.key, rec.line);
        }
        rc = std::move(*made);
      } else {
        auto made = csv::RowConverter::Create(schema, dialect, nullptr);
        if (!made.ok()) return FileError(made.status(), file.key, 0);
        rc = std::move(*made);
      }
      if (rc) note_columns();
      csv::Diagnostic diag;
      bool declared_checked = dialect.header || json;
      while (true) {
        auto has = fr.records->Next(&rec);
        if (!has.ok()) return FileError(has.status(), file.key, json ? rec.line : 0);
        if (!declared_checked) {
          SLUICE_RETURN_IF_ERROR(check_declared());
          declared_checked = true;
        }
        if (!*has) break;
        if (json && names_version != fr.records->field_names_version()) {
          names_version = fr.records->field_names_version();
          auto made = csv::RowConverter::Create(schema, dialect, fr.records->field_names(),
                                                /*named_fields=*/true);
          if (!made.ok()) {
            return FileError(Status(made.status().code(),
                                    "the keys of the JSON objects: " + made.status().message()),
                             file.key, rec.line);
          }
          rc = std::move(*made);
        }
        ++stats.rows_read;
        if (!json) drift.OnRecord(rec);
        if (!rc->Convert(rec, &diag)) {
          ++stats.rows_rejected;
          ++reject_codes[diag.code];
          csv::AppendCsvField(file.key, &reject_buf);
          reject_buf += ',' + std::to_string(diag.line) + ',';
          csv::AppendCsvField(diag.column, &reject_buf);
          reject_buf.push_back(',');
          csv::AppendCsvField(diag.code + ": " + diag.message, &reject_buf);
          reject_buf.push_back(',');
          // The rejects file stays UTF-8: a line with invalid bytes (whatever it was rejected
          // for) shows them as \xHH, a decoded file's as the bytes the file had.
          if (diag.code == "encoding") ++file_undecodable;
          std::string escaped;
          if (diag.code == "encoding" || !IsValidUtf8(rec.raw)) {
            escaped = decoded ? csv::ShowUndecodable(rec.raw)
                              : Printable(rec.raw, 4 * rec.raw.size() + 4);
          }
          csv::AppendCsvField(escaped.empty() ? rec.raw : std::string_view(escaped), &reject_buf);
          reject_buf.push_back('\n');
          if (reject_buf.size() > (size_t{1} << 20)) SLUICE_RETURN_IF_ERROR(flush_rejects());
          continue;
        }
        const auto& cells = rc->cells();
        std::string_view rescued = rc->rescued();
        size_t text_bytes = rescued.size();
        for (const csv::Cell& cell : cells) {
          text_bytes += cell.kind == csv::CellKind::kText ? cell.s.size() : 0;
        }
        if (!batch->Fits(text_bytes)) {
          if (batch->rows() > 0 && !ship()) return Status::Cancelled("merge writer stopped");
          if (!batch->Fits(text_bytes)) batch->Reserve(text_bytes);  // one huge row
        }
        const size_t base = batch->values.size();
        batch->values.resize(base + cells.size());
        warehouse::Value* out = batch->values.data() + base;
        for (const csv::Cell& cell : cells) {
          out->kind = static_cast<warehouse::ValueKind>(cell.kind);
          out->i = cell.i;
          out->d = cell.d;
          if (cell.kind == csv::CellKind::kText) out->s = batch->Keep(cell.s);
          ++out;
        }
        batch->rescued_views.push_back(rescued.empty() ? std::string_view() : batch->Keep(rescued));
        batch->lines.push_back(rec.line);
        if (batch->rows() >= kBatchRows && !ship())
          return Status::Cancelled("merge writer stopped");
        if (progress && (stats.rows_read & 0x3fff) == 0) {
          progress(stats.rows_read, stats.bytes + fr.records->bytes_consumed());
        }
      }
      stats.bytes += fr.records->bytes_consumed();
      if (json && rc) note_columns();  // the keys of the whole file
      // Most of a file's rows not decoding is a wrong csv.encoding, not bad data (judged per
      // file: one such file among good ones must not pass as a few bad rows).
      const int64_t file_rows = stats.rows_read - rows_before_file;
      if (undecodable_file.empty() && file_undecodable * 2 > file_rows) {
        undecodable_file = file.key + " (" + std::to_string(file_undecodable) + " of " +
                           std::to_string(file_rows) + " rows)";
      }
      if (batch->rows() > 0 && !ship()) return Status::Cancelled("merge writer stopped");
    }
    return Status::Ok();
  };
  if (threaded) {
    // A thread's entry is an edge: an exception escaping it would terminate the task process
    // without an outcome, so it becomes a Status like everywhere else.
    std::thread producer([&] {
      Status st;
      try {
        st = produce();
      } catch (const std::exception& e) {
        st =
            Status::Internal(std::string("merge: unexpected exception while parsing: ") + e.what());
      }
      queue.Finish(std::move(st));
    });
    while (auto batch = queue.Pop()) {
      if (!write(std::move(batch))) {
        queue.Cancel();
        break;
      }
    }
    producer.join();
    SLUICE_RETURN_IF_ERROR(write_status);
    SLUICE_RETURN_IF_ERROR(queue.status());
  } else {
    Status st = produce();
    SLUICE_RETURN_IF_ERROR(write_status);  // the writer's error is why parsing stopped
    SLUICE_RETURN_IF_ERROR(st);
  }
  SLUICE_RETURN_IF_ERROR(flush_rejects());
  if (SchemaDrift d = drift.Finish(); !d.empty()) {
    stats.drift = DriftJson(d, schema);
    if (DriftIsNotable(stats.drift)) log::Warn("merge: {}", DescribeDrift(d, schema));
  }
  const bool over_ratio =
      stats.rows_read > 0 && static_cast<double>(stats.rows_rejected) >
                                 schema.max_reject_ratio * static_cast<double>(stats.rows_read);
  // A file whose rows mostly did not decode fails the table whatever max_reject_ratio allows:
  // loading the few rows that happen to be ASCII would report a good day.
  const bool undecodable = !undecodable_file.empty();
  if (over_ratio || undecodable) {
    writer->Rollback();
    char ratio[32];
    std::snprintf(
        ratio, sizeof ratio, "%.2f%%",
        100.0 * static_cast<double>(stats.rows_rejected) / static_cast<double>(stats.rows_read));
    char limit[32];
    std::snprintf(limit, sizeof limit, "%.2f%%", 100.0 * schema.max_reject_ratio);
    std::vector<std::string> reasons;
    for (const auto& [code, count] : reject_codes) {
      if (count > 0) reasons.push_back(code + ": " + std::to_string(count));
    }
    const std::string rejects_file =
        "Read the rejects file" +
        (options.rejects_name.empty() ? std::string() : " " + options.rejects_name) +
        " for line and reason";
    const std::string counted = std::to_string(stats.rows_rejected) + " of " +
                                std::to_string(stats.rows_read) + " rows rejected (" + ratio +
                                "; " + Join(reasons, ", ") + ")";
    if (!over_ratio) {
      return Status::InvalidArgument(
          counted + ": most rows of " + undecodable_file + " are not valid " + dialect.encoding +
          ", so csv.encoding in partner.yaml is not what the partner sends (this fails whatever "
          "max_reject_ratio allows); nothing was merged. " +
          rejects_file + ", set the partner's csv.encoding, then re-run.");
    }
    std::string hint;
    if (reject_codes["encoding"] * 2 > stats.rows_rejected) {
      hint = " Most rows are not valid " + dialect.encoding + ": check the partner's csv.encoding.";
    } else if (reject_codes["field_count"] * 2 > stats.rows_rejected) {
      hint = " Most rows have the wrong number of fields: check csv.delimiter and csv.quote.";
    }
    return Status::InvalidArgument(counted + " is over max_reject_ratio (" + limit +
                                   "); nothing was merged. " + rejects_file +
                                   ", fix the data or the schema, then re-run." + hint);
  }
  if (options.before_commit) options.before_commit();
  SLUICE_ASSIGN_OR_RETURN(warehouse::MergeCounts counts, writer->Commit());
  stats.rows_loaded = counts.loaded;
  stats.rows_inserted = counts.inserted;
  stats.rows_updated = counts.updated;
  stats.rows_deleted = counts.deleted;
  stats.rows_kept_newer = counts.kept_newer;
  stats.row_by_row = counts.row_by_row;
  stats.same_inputs_as_run = counts.same_inputs_as_run;
  return stats;
}

}  // namespace sluice::tasks
