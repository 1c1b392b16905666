// The merge builtin: conforms one table's CSV files (listed by the extract manifest) to the
// partner's schema and merges them into the partner's warehouse in one transaction.
//
// Order of effects, for crash safety and idempotency: the warehouse transaction commits first,
// then the rejects file and then manifests/<partner>/<date>/merge/<table>.json are written
// atomically (a merge that failed for another reason than its data leaves the rejects file as
// it was: see the end of MergeOneTable). A kill before the commit leaves the table untouched; a
// kill after it leaves a committed merge that a re-run reproduces exactly.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "core/logging.h"
#include "core/strings.h"
#include "csv/tokenizer.h"
#include "store/object_store.h"
#include "tasks/builtins.h"
#include "tasks/manifests.h"
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

nlohmann::json StatsJson(const TableMergeStats& s) {
  nlohmann::json j = {{"files", s.files},
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
                      {"one_statement_per_row", s.row_by_row}};
  if (!s.drift.is_null()) j["drift"] = s.drift;
  return j;
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
                        const manifests::ExtractManifest& manifest, const std::string& table) {
  std::string inputs;
  for (const manifests::ExtractedFile& f : manifest.files) {
    if (f.table != table) continue;
    inputs += f.key + " " + f.checksum + " " + std::to_string(f.bytes) + "\n";
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
// since (another delivery, or another size or time of one), merging would load the old files
// while the new ones sit there: say so, and how to extract again.
Status CheckDeliveryUnchanged(TaskContext& ctx, store::ObjectStore* base,
                              const config::PartnerConfig& partner,
                              const manifests::ExtractManifest& manifest) {
  if (manifest.deliveries.empty()) return Status::Ok();
  // A store that cannot show landing/ now fails the merge (retried when the error is transient)
  // instead of skipping the check: the fault sweeps found such errors absorbed here.
  SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDeliveries(base, partner, ctx.date));
  store::PartnerStore ps(base, partner.id);
  std::string change;
  for (const std::string& name : names) {
    SLUICE_ASSIGN_OR_RETURN(std::string key, ps.Key("landing", ctx.date.ToString() + "/" + name));
    Result<store::ObjectInfo> now = ps.Head("landing", ctx.date.ToString() + "/" + name);
    if (!now.ok()) {
      if (now.status().code() == StatusCode::kNotFound) continue;  // removed since listed
      return now.status();
    }
    auto extracted = std::find_if(manifest.deliveries.begin(), manifest.deliveries.end(),
                                  [&](const auto& d) { return d.key == key; });
    if (extracted == manifest.deliveries.end()) {
      change = key + " arrived after " + manifest.deliveries.back().key + " was extracted";
      break;
    }
    if (now->size != extracted->bytes ||
        (extracted->mtime_ms > 0 && now->mtime_ms > 0 && now->mtime_ms != extracted->mtime_ms)) {
      change = key + " changed after it was extracted (now " + std::to_string(now->size) +
               " bytes; extracted: " + std::to_string(extracted->bytes) + " bytes)";
      break;
    }
  }
  // (A delivery removed from landing/ since is no reason to stop: nothing newer waits.)
  if (change.empty()) return Status::Ok();
  return Status::InvalidArgument(
      "the partner delivered again: " + change +
      "; this merge would load the files of the earlier delivery, so nothing was merged. "
      "Extract the new one first: " +
      ExtractAgain(ctx));
}

// A merge of at least this much CSV gives its slot back before its commit (MergeOneTable).
constexpr int64_t kReleaseSlotFromBytes = int64_t{4} << 20;

// Merges one table of the partner for the run's date; `result` gets its stats. With `last`, the
// attempt of a large merge gives its slot back once every row is added and only the commit
// remains (TaskContext::ReleaseSlot): the commit (the page cache's last pages to the WAL, its
// sync), the rejects and stats files and closing the database (SQLite's checkpoint of the WAL
// into the database file, its syncs, the WAL's removal), mostly waits on the disk, then overlap
// the next attempt. The attempt is still recorded done only when it has ended.
Status MergeOneTable(TaskContext& ctx, const config::PartnerConfig* partner,
                     const std::string& table, nlohmann::json* result, bool last) {
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
  auto read = manifests::ReadExtract(base_store.get(), partner->id, date);
  if (!read.ok()) return std::move(read).status().WithTable(table);
  const manifests::ExtractManifest& manifest = *read;
  SLUICE_RETURN_IF_ERROR(
      CheckDeliveryUnchanged(ctx, base_store.get(), *partner, manifest).WithTable(table));
  std::vector<MergeFile> files;
  const std::string raw_prefix = "raw/" + partner->id + "/";
  for (const manifests::ExtractedFile& f : manifest.files) {
    if (f.table != table) continue;
    const std::string& key = f.key;
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
                       return std::unique_ptr<csv::ByteSource>(new StoreByteSource(std::move(in)));
                     }});
  }

  if (files.empty()) {
    // The archive had no file for this table: fail unless the partner may leave it out.
    const config::TableSource* source = partner->FindTable(table);
    if (source == nullptr || !source->optional) {
      std::vector<std::string> members;
      for (const auto* list : {&manifest.files, &manifest.skipped}) {
        for (const manifests::ExtractedFile& f : *list) {
          if (!f.member.empty()) members.push_back(Printable(f.member, 80));
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
      if (source != nullptr) {
        for (const manifests::ExtractedFile& f : manifest.files) {
          if (f.member.empty()) continue;
          const std::string& member = f.member;
          const std::string& other = f.table;
          // A base-name pattern is matched against the extracted file's name (the member's,
          // with a zip's backslash folders and a code page already resolved).
          const bool whole_path = source->file.find('/') != std::string::npos;
          if (other != table &&
              source->Matches(whole_path ? member : (f.key.empty() ? member : f.key))) {
            taken = " \"" + Printable(member, 80) + "\" matches the pattern but went to table " +
                    other +
                    ", whose pattern comes first in partner.yaml and matches it too: list " +
                    table + " before " + other + ", or make the patterns exclusive.";
            break;
          }
        }
      }
      // A member the extract skipped that the pattern takes now: partner.yaml changed since.
      if (taken.empty() && source != nullptr) {
        for (const manifests::ExtractedFile& f : manifest.skipped) {
          if (f.member.empty()) continue;
          const std::string& member = f.member;
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
      SLUICE_ASSIGN_OR_RETURN(
          auto wh,
          warehouse::OpenWarehouse(ctx.pipeline->settings.warehouse, ctx.pipeline->dir, partner->id,
                                   {.partner_roles = ctx.pipeline->settings.isolation == "roles"}));
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
                            ps.Key(manifests::kRejectsArea, manifests::RejectsPath(date, table)));
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
    SLUICE_ASSIGN_OR_RETURN(std::string stats_key, ps.Key(manifests::kManifestsArea,
                                                          manifests::MergeStatsPath(date, table)));
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

  SLUICE_ASSIGN_OR_RETURN(
      auto wh,
      warehouse::OpenWarehouse(ctx.pipeline->settings.warehouse, ctx.pipeline->dir, partner->id,
                               {.partner_roles = ctx.pipeline->settings.isolation == "roles"}));
  warehouse::MergeTarget target;
  target.schema = &schema;
  target.ingest_date = date;
  target.run_id = ctx.run_id;
  target.inputs = MergeInputs(ctx.pipeline->dir, *partner, schema, manifest, table);
  // The whole delivery's loads, so _load_id numbers do not follow the order merges commit in.
  for (const manifests::ExtractedFile& f : manifest.files)
    target.date_loads.emplace_back(f.table, f.key);
  std::sort(target.date_loads.begin(), target.date_loads.end());

  SLUICE_ASSIGN_OR_RETURN(auto rejects_out,
                          ps.Create(manifests::kRejectsArea, manifests::RejectsPath(date, table)));
  SLUICE_RETURN_IF_ERROR(rejects_out->Write(kRejectsHeader));
  RejectSink sink = [&](std::string_view chunk) { return rejects_out->Write(chunk); };
  // The extract's byte count of the table's files: the live display's percent and ETA.
  int64_t bytes_total = 0;
  for (const manifests::ExtractedFile& f : manifest.files) {
    if (f.table == table) bytes_total += f.bytes;
  }
  auto progress = [&](int64_t rows, int64_t bytes) {
    Progress p;
    p.rows_done = rows;
    p.bytes_done = bytes;
    p.bytes_total = bytes_total > 0 ? std::max(bytes_total, bytes) : 0;
    p.note = table;
    ctx.ReportProgress(p);
  };

  const config::TableSource* source = partner->FindTable(table);
  MergeOptions options;
  options.progress = progress;
  options.empty_files_ok = source != nullptr && source->optional;
  if (source != nullptr) {
    options.format = source->format;
    options.sheet = source->sheet;
    options.max_shared_strings_bytes = source->max_shared_strings_bytes;
  }
  // `--parallelism 1` is one core: the attempt does not take a second one to parse on.
  options.parse_on_own_thread = ctx.parallelism != 1;
  // `--parallelism 1` is one core: the next attempt waits for this one's end, as before. A small
  // merge commits and closes in a few milliseconds: giving its slot back early would only make
  // attempts overlap (each taking longer, the run no shorter), so it keeps it to the end.
  if (last && ctx.parallelism != 1 && bytes_total >= kReleaseSlotFromBytes) {
    options.before_commit = [&ctx] { ctx.ReleaseSlot(); };
  }
  if (auto key = ps.Key(manifests::kRejectsArea, manifests::RejectsPath(date, table)); key.ok()) {
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
  // The rejects file is kept when the merge succeeded, and when the data failed it (too many
  // rejects, an undecodable file, a bad header: InvalidArgument), because it says why and a
  // re-run writes the same one. After any other failure (the store, the warehouse, a permission,
  // a timeout) it holds only the rejects of the rows read before it, so it is dropped: the date
  // keeps its last complete rejects file (or none), in step with the table the failed merge left
  // as it was. The fault sweeps (tests/faults/) found a header-only file replacing a good one.
  Status st;
  if (merged.ok() || merged.status().code() == StatusCode::kInvalidArgument) {
    st = rejects_out->Commit();
  }
  rejects_out.reset();
  if (!st.ok() && result_status.ok()) result_status = st;
  SLUICE_ASSIGN_OR_RETURN(std::string stats_key, ps.Key(manifests::kManifestsArea,
                                                        manifests::MergeStatsPath(date, table)));
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
  return Status::Ok();  // closes the database (`wh`)
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
  if (table != config::kEveryOtherTable) {
    return MergeOneTable(ctx, partner, table, &ctx.result, /*last=*/true);
  }
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
    Status st = MergeOneTable(ctx, partner, name, &one, /*last=*/false);
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
