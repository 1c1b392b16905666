// The merge builtin: conforms one table's CSV files (listed by the extract manifest) to the
// partner's schema and merges them into the partner's warehouse in one transaction.
//
// Order of effects, for crash safety and idempotency: the warehouse transaction commits first,
// then the rejects file and then manifests/<partner>/<date>/merge/<table>.json are written
// atomically. A kill before the commit leaves the table untouched; a kill after it leaves a
// committed merge that a re-run reproduces exactly.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <span>
#include <thread>
#include <unordered_set>

#include "core/logging.h"
#include "core/strings.h"
#include "csv/conform.h"
#include "csv/encoding.h"
#include "csv/tokenizer.h"
#include "store/object_store.h"
#include "tasks/builtins.h"
#include "tasks/merge_table.h"
#include "tasks/wait_for_sources.h"
#include "warehouse/warehouse.h"

namespace sluice::tasks {

namespace {

class StoreByteSource : public csv::ByteSource {
 public:
  explicit StoreByteSource(std::unique_ptr<store::InputStream> in) : in_(std::move(in)) {}
  Result<size_t> Read(char* buf, size_t n) override { return in_->Read(buf, n); }

 private:
  std::unique_ptr<store::InputStream> in_;
};

// Keeps the converter's cell views and the source around for one file.
struct FileReader {
  std::unique_ptr<csv::ByteSource> raw;
  std::unique_ptr<csv::ByteSource> utf8;
  std::unique_ptr<csv::Tokenizer> tokenizer;
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
      SLUICE_ASSIGN_OR_RETURN(fr.raw, file.open());
      std::string decoded_as;
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
      const bool decoded = decoded_as != "utf-8";
      const int64_t rows_before_file = stats.rows_read;
      int64_t file_undecodable = 0;
      fr.tokenizer = std::make_unique<csv::Tokenizer>(fr.utf8.get(), topt);
      csv::Record rec;
      std::unique_ptr<csv::RowConverter> rc;
      // Excel's "sep=;" line names the file's delimiter: one other than the partner's would
      // misread every row.
      auto check_declared = [&]() -> Status {
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
      for (; skipped < dialect.skip_lines; ++skipped) {
        auto has = fr.tokenizer->Next(&rec);
        if (!has.ok()) return FileError(has.status(), file.key, 0);
        if (!*has) break;
      }
      if (dialect.header) {
        auto has = fr.tokenizer->Next(&rec);
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
        auto made = csv::RowConverter::Create(schema, dialect, &rec.fields);
        if (!made.ok()) return FileError(made.status(), file.key, rec.line);
        rc = std::move(*made);
      } else {
        auto made = csv::RowConverter::Create(schema, dialect, nullptr);
        if (!made.ok()) return FileError(made.status(), file.key, 0);
        rc = std::move(*made);
      }
      // Sets: a header may have many thousands of extra names (time linear in them).
      for (const auto& m : rc->missing_columns()) {
        if (missing_seen.insert(m).second) stats.columns_missing.push_back(m);
      }
      for (const auto& e : rc->extra_columns()) {
        if (extra_seen.insert(e).second) stats.columns_extra.push_back(e);
      }
      csv::Diagnostic diag;
      bool declared_checked = dialect.header;
      while (true) {
        auto has = fr.tokenizer->Next(&rec);
        if (!has.ok()) return FileError(has.status(), file.key, 0);
        if (!declared_checked) {
          SLUICE_RETURN_IF_ERROR(check_declared());
          declared_checked = true;
        }
        if (!*has) break;
        ++stats.rows_read;
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
          progress(stats.rows_read, stats.bytes + fr.tokenizer->bytes_consumed());
        }
      }
      stats.bytes += fr.tokenizer->bytes_consumed();
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
  SLUICE_ASSIGN_OR_RETURN(warehouse::MergeCounts counts, writer->Commit());
  stats.rows_loaded = counts.loaded;
  stats.rows_inserted = counts.inserted;
  stats.rows_updated = counts.updated;
  stats.rows_deleted = counts.deleted;
  stats.rows_kept_newer = counts.kept_newer;
  stats.one_statement_per_row = counts.one_statement_per_row;
  stats.same_inputs_as_run = counts.same_inputs_as_run;
  return stats;
}

namespace {

nlohmann::json StatsJson(const TableMergeStats& s) {
  return {{"files", s.files},
          {"rows_read", s.rows_read},
          {"rows_loaded", s.rows_loaded},
          {"rows_inserted", s.rows_inserted},
          {"rows_updated", s.rows_updated},
          {"rows_deleted", s.rows_deleted},
          {"rows_kept_newer", s.rows_kept_newer},
          {"rows_rejected", s.rows_rejected},
          {"columns_missing", s.columns_missing},
          {"columns_extra", s.columns_extra},
          {"bytes", s.bytes},
          {"one_statement_per_row", s.one_statement_per_row}};
}

std::string_view ModeName(config::MergeMode m) {
  switch (m) {
    case config::MergeMode::kUpsert:
      return "upsert";
    case config::MergeMode::kAppend:
      return "append";
    case config::MergeMode::kReplaceDate:
      return "replace_date";
  }
  return "append";
}

// The command that extracts the run's delivery again and merges what depends on it.
std::string ExtractAgain(const TaskContext& ctx) {
  std::string extract_task = "the extract task";
  for (const config::TaskConfig& t : ctx.pipeline->workflow.tasks) {
    if (t.builtin == "extract") {
      extract_task = t.task_key;
      break;
    }
  }
  return "sluice repair " + ctx.pipeline->dir.string() + " " + ctx.run_id + " --tasks " +
         extract_task + " --downstream" + (ctx.partner.empty() ? "" : " --partners " + ctx.partner);
}

// What a merge of `table` loads, for MergeTarget::inputs: the extract's files for it with
// their checksums, and the text of the configuration that turns them into rows (the table's
// schema file and partner.yaml, for csv settings and patterns). Any change gives other inputs.
std::string MergeInputs(const std::filesystem::path& pipeline_dir,
                        const config::PartnerConfig& partner, const config::TableSchema& schema,
                        const nlohmann::json& manifest, const std::string& table) {
  std::string inputs;
  if (manifest.contains("files") && manifest["files"].is_array()) {
    for (const auto& f : manifest["files"]) {
      if (!f.is_object() || f.value("table", "") != table) continue;
      inputs += f.value("key", "") + " " + f.value("checksum", "") + " " +
                std::to_string(f.value("bytes", int64_t{0})) + "\n";
    }
  }
  // FNV-1a of the files' text: the text itself can be long, and only equality matters.
  uint64_t h = 1469598103934665603ULL;
  for (const std::filesystem::path& file :
       {std::filesystem::path(schema.file), partner.dir / "partner.yaml"}) {
    std::ifstream in(file.is_absolute() ? file : pipeline_dir / file, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (unsigned char c : text + '\0') {
      h = (h ^ c) * 1099511628211ULL;
    }
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return inputs + "config " + hex;
}

// The merge loads what the extract took from landing/. When the partner has delivered again
// since (another size or time, or another file for a glob archive), merging would load the
// old files while the new ones sit there: say so, and how to extract again.
Status CheckDeliveryUnchanged(TaskContext& ctx, store::ObjectStore* base,
                              const config::PartnerConfig& partner,
                              const nlohmann::json& manifest) {
  if (!manifest.contains("archive") || !manifest["archive"].is_object()) return Status::Ok();
  const nlohmann::json& extracted = manifest["archive"];
  const std::string extracted_key = extracted.value("key", "");
  const int64_t extracted_bytes = extracted.value("bytes", int64_t{-1});
  const int64_t extracted_mtime = extracted.value("mtime_ms", int64_t{0});
  Result<std::string> name = FindArchiveName(base, partner, ctx.date);
  if (!name.ok() || extracted_key.empty()) return Status::Ok();  // the extract will say why
  store::PartnerStore ps(base, partner.id);
  SLUICE_ASSIGN_OR_RETURN(std::string key, ps.Key("landing", ctx.date.ToString() + "/" + *name));
  Result<store::ObjectInfo> now = ps.Head("landing", ctx.date.ToString() + "/" + *name);
  if (!now.ok()) return Status::Ok();  // cleaned up after extraction: nothing newer waits
  std::string change;
  if (key != extracted_key) {
    change = key + " arrived after " + extracted_key + " was extracted";
  } else if (now->size != extracted_bytes ||
             (extracted_mtime > 0 && now->mtime_ms > 0 && now->mtime_ms != extracted_mtime)) {
    change = key + " changed after it was extracted (now " + std::to_string(now->size) +
             " bytes; extracted: " + std::to_string(extracted_bytes) + " bytes)";
  } else {
    return Status::Ok();
  }
  return Status::InvalidArgument(
      "the partner delivered again: " + change +
      "; this merge would load the files of the earlier delivery, so nothing was merged. "
      "Extract the new one first: " +
      ExtractAgain(ctx));
}

// Merges one table of the partner for the run's date; `result` gets its stats.
Status MergeOneTable(TaskContext& ctx, const config::PartnerConfig* partner,
                     const std::string& table, nlohmann::json* result) {
  const std::string date = ctx.date.ToString();
  (*result)["table"] = table;
  auto schema_it = partner->schemas.find(table);
  if (schema_it == partner->schemas.end()) {
    // Schemas differ between partners: this one simply has no such table.
    (*result)["skipped"] = "partner " + partner->id + " has no schema for table " + table;
    log::Info("merge: partner {} has no table {}; nothing to do", partner->id, table);
    return Status::Ok();
  }
  const config::TableSchema& schema = schema_it->second;
  auto started = std::chrono::steady_clock::now();

  SLUICE_ASSIGN_OR_RETURN(
      auto base_store,
      store::OpenStore(ctx.pipeline->settings.store, ctx.pipeline->dir, ctx.pipeline->settings.s3));
  store::PartnerStore ps(base_store.get(), partner->id);

  // The extract manifest says which raw files belong to this table.
  nlohmann::json manifest;
  {
    SLUICE_ASSIGN_OR_RETURN(std::string key, ps.Key("manifests", date + "/extract.json"));
    auto text = base_store->Get(key);
    if (!text.ok()) {
      if (text.status().code() == StatusCode::kNotFound) {
        return Status::NotFound("no extract manifest " + key + "; run the extract task for " +
                                partner->id + " and " + date + " first")
            .WithTable(table);
      }
      return std::move(text).status();
    }
    manifest = nlohmann::json::parse(*text, nullptr, false);
    if (manifest.is_discarded() || !manifest.is_object()) {
      return Status::Corrupt(key + " is not valid JSON; re-run the extract task").WithTable(table);
    }
  }
  SLUICE_RETURN_IF_ERROR(
      CheckDeliveryUnchanged(ctx, base_store.get(), *partner, manifest).WithTable(table));
  std::vector<MergeFile> files;
  const std::string raw_prefix = "raw/" + partner->id + "/";
  if (manifest.contains("files") && manifest["files"].is_array()) {
    for (const auto& f : manifest["files"]) {
      if (!f.is_object() || f.value("table", "") != table) continue;
      std::string key = f.value("key", "");
      // Data separation: a manifest can only point into this partner's raw area.
      if (!StartsWith(key, raw_prefix) || !store::ValidateKey(key).ok()) {
        return Status::PermissionDenied("extract manifest names \"" + Printable(key) +
                                        "\", outside " + raw_prefix)
            .WithTable(table);
      }
      std::string rel = key.substr(raw_prefix.size());
      store::PartnerStore* psp = &ps;
      files.push_back({key, [psp, rel]() -> Result<std::unique_ptr<csv::ByteSource>> {
                         SLUICE_ASSIGN_OR_RETURN(auto in, psp->Open("raw", rel));
                         return std::unique_ptr<csv::ByteSource>(
                             new StoreByteSource(std::move(in)));
                       }});
    }
  }

  if (files.empty()) {
    // The archive had no file for this table: fail unless the partner may leave it out.
    const config::TableSource* source = partner->FindTable(table);
    if (source == nullptr || !source->optional) {
      std::vector<std::string> members;
      for (const char* list : {"files", "skipped"}) {
        if (!manifest.contains(list) || !manifest[list].is_array()) continue;
        for (const auto& f : manifest[list]) {
          if (f.is_object() && f.contains("member") && f["member"].is_string()) {
            members.push_back(Printable(f["member"].get<std::string>(), 80));
          }
        }
      }
      if (members.size() > 20) {
        size_t more = members.size() - 20;
        members.resize(20);
        members.push_back("... " + std::to_string(more) + " more");
      }
      std::string pattern = source ? source->file : "";
      // A file named like this table's that an earlier table's pattern took.
      std::string taken;
      if (source != nullptr && manifest.contains("files") && manifest["files"].is_array()) {
        for (const auto& f : manifest["files"]) {
          if (!f.is_object() || !f.contains("member") || !f["member"].is_string()) continue;
          const std::string member = f["member"].get<std::string>();
          const std::string other = f.value("table", "");
          // A base-name pattern is matched against the extracted file's name (the member's,
          // with a zip's backslash folders and a code page already resolved).
          const bool whole_path = source->file.find('/') != std::string::npos;
          if (other != table && source->Matches(whole_path ? member : f.value("key", member))) {
            taken = " \"" + Printable(member, 80) + "\" matches the pattern but went to table " +
                    other +
                    ", whose pattern comes first in partner.yaml and matches it too: list " +
                    table + " before " + other + ", or make the patterns exclusive.";
            break;
          }
        }
      }
      // A member the extract skipped that the pattern takes now: partner.yaml changed since.
      if (taken.empty() && source != nullptr && manifest.contains("skipped") &&
          manifest["skipped"].is_array()) {
        for (const auto& f : manifest["skipped"]) {
          if (!f.is_object() || !f.contains("member") || !f["member"].is_string()) continue;
          const std::string member = f["member"].get<std::string>();
          const bool whole_path = source->file.find('/') != std::string::npos;
          const std::string name =
              whole_path ? member : member.substr(member.find_last_of('/') + 1);
          if (source->Matches(name)) {
            taken = " The extract skipped \"" + Printable(member, 80) +
                    "\", which the pattern matches now: partner.yaml changed after the extract. "
                    "Extract again, then merge: " +
                    ExtractAgain(ctx);
            break;
          }
        }
      }
      return Status::InvalidArgument(
                 "the delivery for " + date + " has no file for table " + table + " (pattern \"" +
                 Printable(pattern) + "\", case-sensitive; the archive had: " +
                 (members.empty() ? std::string("nothing") : Join(members, ", ")) +
                 "); nothing was merged." +
                 (taken.empty() ? std::string(" Ask the partner for the table, fix the pattern in "
                                              "partner.yaml, or mark the table `optional: true` if "
                                              "it may be left out")
                                : taken))
          .WithTable(table);
    }
    // An optional table left out means no rows that day. A re-delivery that leaves it out
    // replaces an earlier one that had it: replace_date and append then drop the rows the
    // earlier delivery loaded for the date, as a clean run of the new delivery would have none
    // (upsert keeps keys a delivery leaves out, whatever its files). Its rejects go too.
    TableMergeStats emptied;
    if (schema.merge != config::MergeMode::kUpsert) {
      SLUICE_ASSIGN_OR_RETURN(auto wh, warehouse::OpenWarehouse(ctx.pipeline->settings.warehouse,
                                                                ctx.pipeline->dir, partner->id));
      SLUICE_ASSIGN_OR_RETURN(bool exists, wh->TableExists(table));
      if (exists) {
        warehouse::MergeTarget target{
            &schema, date, ctx.run_id,
            MergeInputs(ctx.pipeline->dir, *partner, schema, manifest, table)};
        SLUICE_ASSIGN_OR_RETURN(emptied, MergeTableFiles(schema, partner->csv, wh.get(), target, {},
                                                         RejectSink(), MergeOptions()));
      }
    }
    SLUICE_ASSIGN_OR_RETURN(std::string rejects_key,
                            ps.Key("rejects", date + "/" + table + ".csv"));
    if (Status st = base_store->Delete(rejects_key);
        !st.ok() && st.code() != StatusCode::kNotFound) {
      return st.WithTable(table);
    }
    nlohmann::json stats = {{"partner", partner->id},
                            {"date", date},
                            {"run_id", ctx.run_id},
                            {"table", table},
                            {"mode", ModeName(schema.merge)},
                            {"status", "success"},
                            {"note", "the extract manifest lists no file for this table"}};
    stats.update(StatsJson(emptied));
    stats["source_files"] = nlohmann::json::array();
    stats["seconds"] = 0.0;
    SLUICE_ASSIGN_OR_RETURN(std::string stats_key,
                            ps.Key("manifests", date + "/merge/" + table + ".json"));
    SLUICE_RETURN_IF_ERROR(base_store->Put(stats_key, stats.dump(2) + "\n"));
    *result = stats;
    log::Warn(
        "merge: the extract of {} for {} has no file for table {} (optional); nothing merged{}",
        partner->id, date, table,
        emptied.rows_deleted == 0 ? std::string()
                                  : "; removed the " + std::to_string(emptied.rows_deleted) +
                                        " row(s) an earlier delivery of the date had loaded");
    return Status::Ok();
  }

  SLUICE_ASSIGN_OR_RETURN(auto wh, warehouse::OpenWarehouse(ctx.pipeline->settings.warehouse,
                                                            ctx.pipeline->dir, partner->id));
  warehouse::MergeTarget target;
  target.schema = &schema;
  target.ingest_date = date;
  target.run_id = ctx.run_id;
  target.inputs = MergeInputs(ctx.pipeline->dir, *partner, schema, manifest, table);

  SLUICE_ASSIGN_OR_RETURN(auto rejects_out, ps.Create("rejects", date + "/" + table + ".csv"));
  SLUICE_RETURN_IF_ERROR(rejects_out->Write(kRejectsHeader));
  RejectSink sink = [&](std::string_view chunk) { return rejects_out->Write(chunk); };
  auto progress = [&](int64_t rows, int64_t bytes) {
    Progress p;
    p.rows_done = rows;
    p.bytes_done = bytes;
    p.note = table;
    ctx.ReportProgress(p);
  };

  const config::TableSource* source = partner->FindTable(table);
  MergeOptions options;
  options.progress = progress;
  options.empty_files_ok = source != nullptr && source->optional;
  // `--parallelism 1` is one core: the attempt does not take a second one to parse on.
  options.parse_on_own_thread = ctx.parallelism != 1;
  if (auto key = ps.Key("rejects", date + "/" + table + ".csv"); key.ok()) {
    options.rejects_name = *key;
  }
  auto merged = MergeTableFiles(schema, partner->csv, wh.get(), target, files, sink, options);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  nlohmann::json stats = {{"partner", partner->id},         {"date", date},
                          {"run_id", ctx.run_id},           {"table", table},
                          {"mode", ModeName(schema.merge)}, {"warehouse", wh->Describe()}};
  std::vector<std::string> keys;
  for (const auto& f : files) keys.push_back(f.key);
  stats["source_files"] = keys;
  Status result_status;
  if (merged.ok()) {
    stats.update(StatsJson(*merged));
    stats["status"] = "success";
  } else {
    result_status = merged.status();
    result_status.WithPartner(partner->id).WithTable(table);
    stats["status"] = "failed";
    stats["error"] = result_status.ToString();
  }
  stats["seconds"] = seconds;
  // The rejects file is kept even when the merge fails: it says why.
  Status st = rejects_out->Commit();
  if (!st.ok() && result_status.ok()) result_status = st;
  SLUICE_ASSIGN_OR_RETURN(std::string stats_key,
                          ps.Key("manifests", date + "/merge/" + table + ".json"));
  st = base_store->Put(stats_key, stats.dump(2) + "\n");
  if (!st.ok() && result_status.ok()) result_status = st;
  *result = stats;
  if (!result_status.ok()) return result_status;
  log::Info(
      "merge: {} {} -> {}: read {}, loaded {} (inserted {}, updated {}), rejected {}{}{}{}",
      partner->id, table, wh->Describe(), merged->rows_read, merged->rows_loaded,
      merged->rows_inserted, merged->rows_updated, merged->rows_rejected,
      merged->rows_kept_newer == 0
          ? std::string()
          : "; " + std::to_string(merged->rows_kept_newer) +
                (merged->rows_kept_newer == 1
                     ? " row left as it was: a later date already loaded its key"
                     : " rows left as they were: a later date already loaded their keys"),
      merged->same_inputs_as_run.empty()
          ? std::string()
          : "; the same files and configuration as the date's merge in run " +
                merged->same_inputs_as_run +
                ", which these rows replaced one for one: its counts are reported",
      options.parse_on_own_thread ? "" : "; parsed and written on one thread (--parallelism 1)");
  return Status::Ok();
}

}  // namespace

Status RunMerge(TaskContext& ctx) {
  const config::PartnerConfig* partner = ctx.partner_config();
  if (partner == nullptr) {
    return Status::InvalidArgument(
        "the merge builtin runs per partner; add \"for_each: partner\" to task " +
        ctx.task->task_key);
  }
  const config::Node* table_node = ctx.task->params.Get("table");
  if (table_node == nullptr || !table_node->IsScalar() || table_node->scalar().empty()) {
    return Status::InvalidArgument("merge needs params: {table: NAME}")
        .WithFile(ctx.task->loc.file, ctx.task->loc.line);
  }
  const std::string table = table_node->scalar();
  if (table != config::kEveryOtherTable) return MergeOneTable(ctx, partner, table, &ctx.result);
  // {table: "*"}: every table of the partner that no other merge task names, one after another
  // (they share the partner's database, which takes one writer at a time). A failed table does
  // not stop the others; the task fails naming it, and a retry merges each table again, which
  // gives the same rows (every merge is idempotent).
  std::vector<std::string> tables =
      config::TablesNoMergeTaskNames(ctx.pipeline->workflow, *partner);
  nlohmann::json results = nlohmann::json::object();
  std::vector<Status> failures;
  std::vector<std::string> merged;
  for (const std::string& name : tables) {
    nlohmann::json one;
    Status st = MergeOneTable(ctx, partner, name, &one);
    if (!st.ok()) {
      one["status"] = "failed";
      one["error"] = st.ToString();
      failures.push_back(std::move(st));
    } else {
      merged.push_back(name);
    }
    results[name] = std::move(one);
  }
  ctx.result = {{"table", table}, {"tables", results}};
  if (tables.empty()) {
    ctx.result["skipped"] = "every table of partner " + partner->id + " has its own merge task";
    log::Info("merge: every table of {} has its own merge task; nothing to do", partner->id);
  }
  if (failures.empty()) return Status::Ok();
  if (failures.size() == 1 && merged.empty()) return failures.front();
  // Every failed table's reason, not just the first: each needs its own fix. The code is that of
  // a failure a retry may cure, if any, so the task is retried for it.
  StatusCode code = failures.front().code();
  std::vector<std::string> reasons;
  for (const Status& f : failures) {
    if (!IsPermanentFailure(f.code())) code = f.code();
    // "table t: file:line: what", without the partner and task the task's status names once.
    Status bare(f.code(), f.message());
    if (!f.context().file.empty()) bare.WithFile(f.context().file, f.context().line);
    reasons.push_back("table " + f.context().table + ": " + bare.ToString());
  }
  return Status(
      code, std::to_string(failures.size()) + " of " + std::to_string(tables.size()) +
                " tables failed" +
                (merged.empty() ? std::string() : " (merged: " + Join(merged, ", ") + ")") + ": " +
                Join(reasons, "; "));
}

}  // namespace sluice::tasks
