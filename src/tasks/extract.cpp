// The `extract` builtin: one partner's archive for the run's date -> raw/<partner>/<date>/.
//
// Steps: stream landing/<p>/<date>/<archive> through archive::ReadArchive (every entry checked),
// write each entry matching a table pattern to a staging folder raw/<p>/.staging/<date>.<id>/,
// then publish: drop the old manifest (un-commit), swap the staging folder into raw/<p>/<date>/,
// write manifests/<p>/<date>/extract.json last as the commit point. A refused archive leaves
// nothing; a killed attempt leaves only its staging folder raw/<p>/.staging/<date>.<run>.<pid>/,
// which the partner's next extract (any date) removes once process <pid> is gone. The
// published set never mixes runs.
// On a store whose publish is a copy of every object (S3: no folder rename), the first extract
// of a partner and date (no manifest yet, so nothing committed to protect) writes straight into
// raw/<p>/<date>/ instead: readers go through the manifest, which is still written last, and a
// failed or killed attempt's objects there are removed by the failure path or the next attempt.
// That halves the bytes the endpoint handles; a re-extract over a committed date still stages.
// Every key goes through a PartnerStore, so no entry name can reach another partner's prefix.
// Before any of it, the partner's completion rule is checked (CheckSourceOnce): an incomplete
// delivery is NotFound and nothing is read.
#include "tasks/extract.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "archive/checksum.h"
#include "archive/safe_reader.h"
#include "config/encodings.h"
#include "core/date.h"
#include "core/logging.h"
#include "core/process.h"
#include "core/strings.h"
#include "csv/encoding.h"
#include "store/object_store.h"
#include "tasks/builtins.h"
#include "tasks/extract_sink.h"
#include "tasks/manifests.h"
#include "tasks/wait_for_sources.h"

namespace sluice::tasks {

namespace {

// Checksums: xxh128 for the extracted files and for the archive. sha256 (even with SHA-NI) costs
// as much CPU as the whole tar parse and would hold extraction under 3x `gzip -dc` on one core;
// bench/bench_extract.sh measures both. The value names its algorithm ("xxh128:...").
constexpr std::string_view kArchiveChecksum = "xxh128";

std::string SafeToken(std::string_view s) {
  std::string out;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    out += ok ? c : '_';
    if (out.size() >= 40) break;
  }
  return out.empty() ? "run" : out;
}

// Staging folders live in raw/<partner>/.staging/<date>.<run token>.<pid>/.
constexpr std::string_view kStagingRoot = ".staging/";

// The staging folders this process is writing right now ("<store> <key>"): a folder named after
// our own pid is only stale when it is not one of them.
std::mutex g_active_mu;
std::set<std::string> g_active_staging;

class ActiveStaging {
 public:
  explicit ActiveStaging(std::string id) : id_(std::move(id)) {
    std::lock_guard<std::mutex> lock(g_active_mu);
    g_active_staging.insert(id_);
  }
  ~ActiveStaging() {
    std::lock_guard<std::mutex> lock(g_active_mu);
    g_active_staging.erase(id_);
  }
  ActiveStaging(const ActiveStaging&) = delete;
  ActiveStaging& operator=(const ActiveStaging&) = delete;

 private:
  std::string id_;
};

// The pid in a staging folder name "<YYYY-MM-DD>.<token>.<pid>", or 0 when the name is not one
// extract makes (such folders are left alone).
pid_t StagingOwner(std::string_view name) {
  std::vector<std::string> parts = Split(name, '.');
  if (parts.size() != 3 || !ParseDate(parts[0]).ok() || parts[1].empty()) return 0;
  if (parts[2].empty() || parts[2].size() > 9) return 0;
  pid_t pid = 0;
  for (char c : parts[2]) {
    if (c < '0' || c > '9') return 0;
    pid = pid * 10 + (c - '0');
  }
  return pid;
}

// True unless the process that made staging folder `id` is certainly gone. Another process is
// alive while it runs (ProcessRunning: a zombie, dead but not yet reaped, is gone; a reused pid
// keeps a stale folder until that process ends: never the other way round); our own pid is
// alive only for folders we are writing.
bool OwnerAlive(pid_t pid, const std::string& id) {
  if (pid == ::getpid()) {
    std::lock_guard<std::mutex> lock(g_active_mu);
    return g_active_staging.count(id) > 0;
  }
  return ProcessRunning(pid);
}

// Removes the partner's staging folders whose owning process is gone (killed mid-extract: a
// timeout's SIGKILL, a crash, a reboot), whatever their date. Only folders named like ours
// under raw/<partner>/.staging/ are considered. Failures are logged, never fatal: a stale folder
// costs space, not correctness. Returns false when a stale folder may be left (a listing or a
// delete failed: an endpoint that just came back), so the caller can try again later.
bool RemoveStaleStaging(store::PartnerStore& ps, store::ObjectStore* base) {
  Result<std::vector<std::string>> folders = ps.ListFolders("raw", kStagingRoot);
  if (!folders.ok()) {
    log::Warn("extract {}: cannot list staging folders: {}", ps.partner(),
              folders.status().message());
    return false;
  }
  bool all_gone = true;
  for (const std::string& name : *folders) {
    pid_t pid = StagingOwner(name);
    if (pid <= 0) continue;
    const std::string rel = std::string(kStagingRoot) + name + "/";
    Result<std::string> key = ps.Prefix("raw", rel);
    if (!key.ok() || OwnerAlive(pid, base->Describe() + " " + *key)) continue;
    Status st = ps.DeletePrefix("raw", rel);
    if (st.ok()) {
      log::Info("extract {}: removed {} (left by process {}, which is gone)", ps.partner(), *key,
                pid);
    } else {
      all_gone = false;
      log::Warn("extract {}: cannot remove stale {}: {}", ps.partner(), *key, st.message());
    }
  }
  return all_gone;
}

Status NoArchive(const std::string& archive_key, store::ObjectStore* base,
                 const std::string& date) {
  return Status::NotFound("extract: no archive " + archive_key + " in " + base->Describe() +
                          "; the partner has not delivered for " + date +
                          " (run wait_for_sources first, or check partner.yaml \"archive\")");
}

// Extracts one delivery into the staging folder; returns its record for the manifest.
Result<nlohmann::json> ExtractDelivery(TaskContext& ctx, const config::PartnerConfig& partner,
                                       store::PartnerStore& ps, store::ObjectStore* base,
                                       const Delivery& delivery, const std::string& staging,
                                       const std::string& final_prefix, int64_t* total_expanded,
                                       int64_t* total_bytes) {
  const std::string date = ctx.date.ToString();
  Result<std::unique_ptr<store::InputStream>> in = ps.Open("landing", date + "/" + delivery.name);
  if (!in.ok()) {
    if (in.status().code() == StatusCode::kNotFound) return NoArchive(delivery.key, base, date);
    return in.status();
  }
  internal::StagingSink sink(&ps, &partner, staging, final_prefix, delivery.key, total_expanded);
  store::InputStream* source = in->get();
  archive::ReadFn read = [source](char* buf, size_t n) { return source->Read(buf, n); };
  nlohmann::json record = {
      {"name", delivery.name}, {"key", delivery.key}, {"mtime_ms", delivery.info.mtime_ms}};
  int64_t entries = 1;
  if (IsBareTableFile(delivery.name)) {
    SLUICE_ASSIGN_OR_RETURN(
        internal::BareStats bare,
        internal::ReadBareFile(read, delivery.name, delivery.key, kArchiveChecksum, &sink));
    record["bytes"] = bare.bytes;
    record["checksum"] = bare.checksum;
    record["format"] = "file";
    record["filter"] = std::string(archive::CodecName(archive::CodecForName(delivery.name)));
    record["entries"] = 1;
    record["uncompressed_bytes"] = sink.total_bytes();
  } else {
    archive::ReadOptions options;
    options.limits = partner.limits;
    options.archive_name = delivery.key;
    options.checksum = std::string(kArchiveChecksum);
    options.decode_name = internal::NameDecoder(partner);
    // Progress in bytes of the delivery read, against its size: the live display's percent and
    // ETA.
    const std::string key = delivery.key;
    const int64_t archive_size = delivery.info.size;
    options.progress = [&ctx, key, archive_size](int64_t out, int64_t in_bytes) {
      Progress p;
      p.bytes_done = in_bytes;
      p.bytes_total = archive_size > 0 ? std::max(archive_size, in_bytes) : 0;
      p.note = key + " (" + FormatBytes(out) + " extracted)";
      ctx.ReportProgress(p);
    };
    SLUICE_ASSIGN_OR_RETURN(archive::ReadStats stats, archive::ReadArchive(read, options, &sink));
    SLUICE_RETURN_IF_ERROR(sink.Finish());
    entries = stats.entries;
    record["bytes"] = stats.compressed_bytes;
    record["checksum"] = stats.checksum;
    record["format"] = stats.format;
    record["filter"] = stats.filter;
    record["entries"] = stats.entries;
    record["uncompressed_bytes"] = stats.uncompressed_bytes;
  }
  // An archive without a single file is what a failed export leaves (a 0-byte file is refused
  // before this): refused like one, so a re-delivery is extracted by a plain repair.
  if (sink.files().empty()) {
    std::vector<std::string> skipped;
    for (const auto& e : sink.skipped()) {
      if (skipped.size() == 5) {
        skipped.push_back("...");
        break;
      }
      skipped.push_back("\"" + Printable(e.value("member", ""), 80) + "\" (" +
                        e.value("reason", "") + ")");
    }
    return Status::Corrupt("archive " + delivery.key + " holds no file to extract (" +
                           std::to_string(entries) + " entries" +
                           (skipped.empty() ? std::string() : ", skipped: " + Join(skipped, ", ")) +
                           "); ask the partner to deliver it again");
  }
  *total_bytes += sink.total_bytes();
  record["files"] = std::move(sink.files());
  record["skipped"] = std::move(sink.skipped());
  return record;
}

Status Extract(TaskContext& ctx, const config::PartnerConfig& partner, store::ObjectStore* base,
               Clock* clock) {
  store::PartnerStore ps(base, partner.id);
  const std::string date = ctx.date.ToString();

  // The partner's completion rule, checked here too: with the sensor in mode: each the run goes
  // on without the partners it reported missing, and their extract must not load a delivery
  // still being written.
  SLUICE_ASSIGN_OR_RETURN(SourceCheck check,
                          CheckSourceOnce(base, partner, ctx.date, clock->WallNow()));
  if (!check.present) return NoArchive(check.archive_key, base, date);
  if (!check.complete) {
    return Status::NotFound("extract: partner " + partner.id + ", " + date +
                            ": the delivery is not complete (" + check.missing +
                            "); nothing was extracted. Wait for the partner to finish the "
                            "delivery, then re-run (sluice repair)");
  }

  // Leftovers of attempts that died mid-way (any date of this partner) go first.
  const bool stale_removed = RemoveStaleStaging(ps, base);
  const std::string staging = std::string(kStagingRoot) + date + "." + SafeToken(ctx.run_id) + "." +
                              std::to_string(::getpid()) + "/";
  const std::string final_prefix = date + "/";
  SLUICE_ASSIGN_OR_RETURN(std::string staging_key, ps.Prefix("raw", staging));
  ActiveStaging active(base->Describe() + " " + staging_key);
  // Straight into the final folder when publishing would copy everything and nothing is
  // committed there (see the top of this file).
  bool direct = false;
  if (!base->AtomicPublish()) {
    Result<store::ObjectInfo> committed =
        ps.Head(manifests::kManifestsArea, manifests::ExtractPath(date));
    if (!committed.ok() && committed.status().code() != StatusCode::kNotFound) {
      return committed.status();
    }
    direct = !committed.ok();
  }
  const std::string& write_prefix = direct ? final_prefix : staging;
  // What a killed attempt left in the uncommitted folder goes first.
  if (direct) SLUICE_RETURN_IF_ERROR(ps.DeletePrefix("raw", final_prefix));
  // Nothing of a failed attempt may stay visible.
  auto fail = [&](Status st) {
    Status cleanup = ps.DeletePrefix("raw", write_prefix);
    if (!cleanup.ok()) st.Prefix("(staging not removed: " + cleanup.message() + ") ");
    return st;
  };

  // One delivery keeps the layout of earlier versions (raw/<p>/<date>/<file>); several each
  // get a folder named after the delivery (raw/<p>/<date>/<delivery>/<file>), extracted in
  // name order, so later deliveries' rows come later in the merge (and win under upsert).
  const bool several = check.deliveries.size() > 1;
  nlohmann::json deliveries = nlohmann::json::array();
  nlohmann::json files = nlohmann::json::array();
  nlohmann::json skipped = nlohmann::json::array();
  int64_t total_expanded = 0;
  int64_t total_bytes = 0;
  for (const Delivery& d : check.deliveries) {
    const std::string sub = several ? d.name + "/" : std::string();
    if (several) {
      if (Status valid = store::ValidateKey(d.name); !valid.ok()) {
        return fail(Status::InvalidArgument("delivery " + d.key +
                                            " has a name sluice cannot "
                                            "use as a folder (" +
                                            valid.message() + "); ask the partner to rename it"));
      }
    }
    Result<nlohmann::json> record =
        ExtractDelivery(ctx, partner, ps, base, d, write_prefix + sub, final_prefix + sub,
                        &total_expanded, &total_bytes);
    if (!record.ok()) return fail(record.status());
    for (const auto& f : (*record)["files"]) files.push_back(f);
    for (const auto& f : (*record)["skipped"]) skipped.push_back(f);
    deliveries.push_back(std::move(*record));
  }

  // Publish: un-commit, swap the folder, commit. A failure at any step (an endpoint that dies
  // mid-publish) leaves the date uncommitted, and the staging copies go as for a failed read:
  // on S3 the publish is copies then deletes, so a staging folder left behind would otherwise
  // wait for this partner's next extract to notice it.
  if (!direct) {
    if (Status st = ps.Delete(manifests::kManifestsArea, manifests::ExtractPath(date)); !st.ok()) {
      return fail(std::move(st));
    }
    if (Status st = ps.PublishPrefix("raw", staging, final_prefix); !st.ok()) {
      return fail(std::move(st));
    }
  }
  // Each delivery's own manifest, then the day's (the commit point, which lists them all).
  SLUICE_RETURN_IF_ERROR(manifests::WriteDeliveryManifests(base, partner.id, date, deliveries));
  const nlohmann::json& first = deliveries.front();
  nlohmann::json manifest = {
      {"partner", partner.id},
      {"date", date},
      {"run_id", ctx.run_id},
      // The first delivery, as earlier versions wrote it (readers that know one archive).
      {"archive",
       {{"key", first["key"]},
        {"bytes", first["bytes"]},
        {"mtime_ms", first["mtime_ms"]},  // the merge notices a re-delivery by it
        {"checksum", first["checksum"]},
        {"format", first["format"]},
        {"filter", first["filter"]},
        {"entries", first["entries"]},
        {"uncompressed_bytes", first["uncompressed_bytes"]}}},
      {"deliveries", deliveries},
      {"files", files},
      {"skipped", skipped},
  };
  for (auto& d : manifest["deliveries"]) {
    d.erase("files");
    d.erase("skipped");
  }
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<store::OutputStream> out,
                          ps.Create(manifests::kManifestsArea, manifests::ExtractPath(date)));
  SLUICE_RETURN_IF_ERROR(out->Write(manifest.dump(2) + "\n"));
  SLUICE_RETURN_IF_ERROR(out->Commit());
  // The store answers again: what the first sweep could not remove goes now, so a successful
  // extract never leaves a stale staging folder of its partner behind.
  if (!stale_removed) (void)RemoveStaleStaging(ps, base);

  int64_t archive_bytes = 0;
  for (const auto& d : deliveries) archive_bytes += d["bytes"].get<int64_t>();
  log::Info("extract {}: {} file(s), {} from {} deliver{} ({}); {} entr{} skipped", partner.id,
            files.size(), FormatBytes(total_bytes), deliveries.size(),
            deliveries.size() == 1 ? "y" : "ies", FormatBytes(archive_bytes), skipped.size(),
            skipped.size() == 1 ? "y" : "ies");
  ctx.result["archive"] = first["key"];
  if (several) {
    std::vector<std::string> keys;
    for (const auto& d : deliveries) keys.push_back(d["key"].get<std::string>());
    ctx.result["deliveries"] = keys;
  }
  ctx.result["files"] = files.size();
  ctx.result["skipped"] = skipped.size();
  ctx.result["bytes"] = total_bytes;
  ctx.result["archive_bytes"] = archive_bytes;
  return Status::Ok();
}

}  // namespace

Status RunExtract(TaskContext& ctx) { return ExtractPartner(ctx, nullptr); }

Status ExtractPartner(TaskContext& ctx, store::ObjectStore* store, Clock* clock) {
  const config::PartnerConfig* partner = ctx.partner_config();
  if (partner == nullptr) {
    return Status::InvalidArgument(
        "extract runs per partner: add \"for_each: partner\" to task \"" +
        (ctx.task ? ctx.task->task_key : std::string("?")) + "\" in workflow.yaml" +
        (ctx.partner.empty() ? "" : " (unknown partner \"" + ctx.partner + "\")"));
  }
  std::unique_ptr<store::ObjectStore> owned;
  if (store == nullptr) {
    const config::Pipeline& pipeline = *ctx.pipeline;
    Result<std::unique_ptr<store::ObjectStore>> opened =
        store::OpenStore(pipeline.settings.store, pipeline.dir, pipeline.settings.s3);
    if (!opened.ok()) return std::move(opened).status().WithPartner(partner->id);
    owned = std::move(opened).value();
    store = owned.get();
  }
  Status st = Extract(ctx, *partner, store, clock ? clock : SystemClock::Default());
  if (!st.ok()) {
    st.WithPartner(partner->id);
    if (ctx.task) st.WithTask(ctx.task->task_key);
  }
  return st;
}

}  // namespace sluice::tasks
