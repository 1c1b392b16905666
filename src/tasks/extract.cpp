// The `extract` builtin: one partner's archive for the run's date -> raw/<partner>/<date>/.
//
// Steps: stream landing/<p>/<date>/<archive> through archive::ReadArchive (every entry checked),
// write each entry matching a table pattern to a staging folder raw/<p>/.staging/<date>.<id>/,
// then publish: drop the old manifest (un-commit), swap the staging folder into raw/<p>/<date>/,
// write manifests/<p>/<date>/extract.json last as the commit point. A refused archive leaves
// nothing; a killed attempt leaves only its staging folder raw/<p>/.staging/<date>.<run>.<pid>/,
// which the partner's next extract (any date) removes once process <pid> is gone. The
// published set never mixes runs.
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
#include "tasks/manifests.h"
#include "tasks/wait_for_sources.h"

namespace sluice::tasks {

namespace {

// Checksums: xxh128 for the extracted files and for the archive. sha256 (even with SHA-NI) costs
// as much CPU as the whole tar parse and would hold extraction under 3x `gzip -dc` on one core;
// bench/bench_extract.sh measures both. The value names its algorithm ("xxh128:...").
constexpr std::string_view kFileChecksum = "xxh128";
constexpr std::string_view kArchiveChecksum = "xxh128";

// The table whose pattern matches the member (config::TableSource::Matches). First table in
// partner.yaml order wins, with a warning when a later one matches too; nullptr when none.
const config::TableSource* MatchTable(const config::PartnerConfig& p, const archive::EntryInfo& e) {
  const config::TableSource* first = nullptr;
  for (const config::TableSource& t : p.tables) {
    if (!t.Matches(e.normalized)) continue;
    if (first == nullptr) {
      first = &t;
      continue;
    }
    log::Warn(
        "extract {}: \"{}\" matches the file patterns of tables {} (\"{}\") and {} (\"{}\"); "
        "{} is listed first in partner.yaml and gets it. If it belongs to {}, list that table "
        "first or make the patterns exclusive",
        p.id, Printable(e.normalized), first->name, first->file, t.name, t.file, first->name,
        t.name);
  }
  return first;
}

// File names in the partner's code page, when csv.encoding is one (cp949, shift_jis, a Windows
// code page): zip tools on such systems write names in it without the UTF-8 flag. UTF-8 and
// UTF-16 partners get no decoder (a UTF-16 file name is not a thing in tar or zip).
std::function<std::optional<std::string>(std::string_view)> NameDecoder(
    const config::PartnerConfig& partner) {
  std::optional<config::Encoding> enc = config::FindEncoding(partner.csv.encoding);
  if (!enc || enc->name == "utf-8" || enc->name.starts_with("utf-16")) return nullptr;
  const std::string encoding = enc->name;
  return [encoding](std::string_view name) -> std::optional<std::string> {
    csv::StringSource raw(name);
    auto source = csv::MakeUtf8Source(&raw, encoding, nullptr);
    if (!source.ok()) return std::nullopt;
    std::string out;
    char buf[1024];
    while (true) {
      Result<size_t> n = (*source)->Read(buf, sizeof buf);
      if (!n.ok()) return std::nullopt;
      if (*n == 0) break;
      out.append(buf, *n);
    }
    if (out.empty() || !IsValidUtf8(out)) return std::nullopt;  // bytes the code page lacks
    return out;
  };
}

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

class StagingSink final : public archive::EntrySink {
 public:
  StagingSink(store::PartnerStore* ps, const config::PartnerConfig* partner, std::string staging,
              std::string final_prefix, std::string archive_key)
      : ps_(ps),
        partner_(partner),
        staging_(std::move(staging)),
        final_prefix_(std::move(final_prefix)),
        archive_key_(std::move(archive_key)) {}

  Result<bool> Begin(const archive::EntryInfo& e) override {
    const config::TableSource* table = MatchTable(*partner_, e);
    if (table == nullptr) {
      if (!e.name_is_utf8) {
        // A legacy code-page name (a cp949 readme from Windows): JSON holds only UTF-8.
        skipped_.push_back(
            {{"member", Printable(e.member, 4 * e.member.size() + 4)},
             {"reason", "matches no table pattern (name not UTF-8, shown escaped)"}});
        return false;
      }
      skipped_.push_back({{"member", e.member}, {"reason", "matches no table pattern"}});
      return false;
    }
    // The reader refuses a wanted entry whose name is not UTF-8 (invalid_utf8).
    if (!e.name_is_utf8) return true;
    // The key is built from the validated base name only; the member path stays metadata.
    if (e.base_name.size() > store::kMaxSegmentBytes) {
      return Status::InvalidArgument("archive " + archive_key_ + " refused: entry \"" +
                                     Printable(e.member) + "\": name_too_long: the file name is " +
                                     std::to_string(e.base_name.size()) + " bytes, more than the " +
                                     std::to_string(store::kMaxSegmentBytes) +
                                     " a file system allows; ask the partner to shorten it");
    }
    Status valid = store::ValidateKey(e.base_name);
    if (!valid.ok()) {
      return Status::InvalidArgument("archive " + archive_key_ + " refused: entry \"" +
                                     Printable(e.member) + "\": unsafe_name: " + valid.message());
    }
    auto [it, fresh] = names_.emplace(e.base_name, e.member);
    if (!fresh) {
      return Status::InvalidArgument(
          "archive " + archive_key_ + " refused: entry \"" + Printable(e.member) +
          "\": duplicate_name: \"" + Printable(it->second) + "\" has the same file name \"" +
          Printable(e.base_name) + "\" and both would be extracted to the same key");
    }
    SLUICE_ASSIGN_OR_RETURN(out_, ps_->Create("raw", staging_ + e.base_name));
    SLUICE_ASSIGN_OR_RETURN(sum_, archive::MakeChecksum(kFileChecksum));
    SLUICE_ASSIGN_OR_RETURN(std::string key, ps_->Key("raw", final_prefix_ + e.base_name));
    current_ = {{"member", e.member}, {"key", key}, {"table", table->name}};
    bytes_ = 0;
    return true;
  }

  Status Data(std::string_view chunk) override {
    sum_->Update(chunk.data(), chunk.size());
    bytes_ += static_cast<int64_t>(chunk.size());
    return out_->Write(chunk);
  }

  Status End() override {
    SLUICE_RETURN_IF_ERROR(out_->Commit());
    out_.reset();
    current_["bytes"] = bytes_;
    current_["checksum"] = sum_->Finish();
    total_bytes_ += bytes_;
    files_.push_back(std::move(current_));
    return Status::Ok();
  }

  nlohmann::json& files() { return files_; }
  nlohmann::json& skipped() { return skipped_; }
  int64_t total_bytes() const { return total_bytes_; }

 private:
  store::PartnerStore* ps_;
  const config::PartnerConfig* partner_;
  std::string staging_;
  std::string final_prefix_;
  std::string archive_key_;
  std::unique_ptr<store::OutputStream> out_;
  std::unique_ptr<archive::Checksum> sum_;
  nlohmann::json current_;
  std::unordered_map<std::string, std::string> names_;  // base name -> member, of kept entries
  int64_t bytes_ = 0;
  int64_t total_bytes_ = 0;
  nlohmann::json files_ = nlohmann::json::array();
  nlohmann::json skipped_ = nlohmann::json::array();
};

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

Status Extract(TaskContext& ctx, const config::PartnerConfig& partner, store::ObjectStore* base,
               Clock* clock) {
  store::PartnerStore ps(base, partner.id);
  const std::string date = ctx.date.ToString();
  SLUICE_ASSIGN_OR_RETURN(std::string archive_name, FindArchiveName(base, partner, ctx.date));
  SLUICE_ASSIGN_OR_RETURN(std::string archive_key, ps.Key("landing", date + "/" + archive_name));

  // The partner's completion rule, checked here too: with the sensor in mode: each the run goes
  // on without the partners it reported missing, and their extract must not load a delivery
  // still being written.
  SLUICE_ASSIGN_OR_RETURN(SourceCheck delivery,
                          CheckSourceOnce(base, partner, ctx.date, clock->WallNow()));
  if (!delivery.present) return NoArchive(archive_key, base, date);
  if (!delivery.complete) {
    return Status::NotFound("extract: partner " + partner.id + ", " + date +
                            ": the delivery is not complete (" + delivery.missing +
                            "); nothing was extracted. Wait for the partner to finish the "
                            "delivery, then re-run (sluice repair)");
  }

  Result<std::unique_ptr<store::InputStream>> in = ps.Open("landing", date + "/" + archive_name);
  if (!in.ok()) {
    if (in.status().code() == StatusCode::kNotFound) return NoArchive(archive_key, base, date);
    return in.status();
  }

  // Leftovers of attempts that died mid-way (any date of this partner) go first.
  const bool stale_removed = RemoveStaleStaging(ps, base);
  const std::string staging = std::string(kStagingRoot) + date + "." + SafeToken(ctx.run_id) + "." +
                              std::to_string(::getpid()) + "/";
  const std::string final_prefix = date + "/";
  SLUICE_ASSIGN_OR_RETURN(std::string staging_key, ps.Prefix("raw", staging));
  ActiveStaging active(base->Describe() + " " + staging_key);

  StagingSink sink(&ps, &partner, staging, final_prefix, archive_key);
  archive::ReadOptions options;
  options.limits = partner.limits;
  options.archive_name = archive_key;
  options.checksum = std::string(kArchiveChecksum);
  options.decode_name = NameDecoder(partner);
  // Progress in bytes of the archive read, against its size: the live display's percent and ETA.
  const int64_t archive_size = delivery.archive.size;
  options.progress = [&ctx, &archive_key, archive_size](int64_t out, int64_t in_bytes) {
    Progress p;
    p.bytes_done = in_bytes;
    p.bytes_total = archive_size > 0 ? std::max(archive_size, in_bytes) : 0;
    p.note = archive_key + " (" + FormatBytes(out) + " extracted)";
    ctx.ReportProgress(p);
  };
  store::InputStream* source = in->get();
  Result<archive::ReadStats> stats = archive::ReadArchive(
      [source](char* buf, size_t n) { return source->Read(buf, n); }, options, &sink);
  // Nothing of a failed attempt may stay visible.
  auto fail = [&](Status st) {
    Status cleanup = ps.DeletePrefix("raw", staging);
    if (!cleanup.ok()) st.Prefix("(staging not removed: " + cleanup.message() + ") ");
    return st;
  };
  if (!stats.ok()) return fail(stats.status());

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
    return fail(Status::Corrupt(
        "archive " + archive_key + " holds no file to extract (" + std::to_string(stats->entries) +
        " entries" + (skipped.empty() ? std::string() : ", skipped: " + Join(skipped, ", ")) +
        "); ask the partner to deliver it again"));
  }

  // Publish: un-commit, swap the folder, commit. A failure at any step (an endpoint that dies
  // mid-publish) leaves the date uncommitted, and the staging copies go as for a failed read:
  // on S3 the publish is copies then deletes, so a staging folder left behind would otherwise
  // wait for this partner's next extract to notice it.
  if (Status st = ps.Delete(manifests::kManifestsArea, manifests::ExtractPath(date)); !st.ok()) {
    return fail(std::move(st));
  }
  if (Status st = ps.PublishPrefix("raw", staging, final_prefix); !st.ok()) {
    return fail(std::move(st));
  }
  nlohmann::json manifest = {
      {"partner", partner.id},
      {"date", date},
      {"run_id", ctx.run_id},
      {"archive",
       {{"key", archive_key},
        {"bytes", stats->compressed_bytes},
        {"mtime_ms", delivery.archive.mtime_ms},  // the merge notices a re-delivery by it
        {"checksum", stats->checksum},
        {"format", stats->format},
        {"filter", stats->filter},
        {"entries", stats->entries},
        {"uncompressed_bytes", stats->uncompressed_bytes}}},
      {"files", sink.files()},
      {"skipped", sink.skipped()},
  };
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<store::OutputStream> out,
                          ps.Create(manifests::kManifestsArea, manifests::ExtractPath(date)));
  SLUICE_RETURN_IF_ERROR(out->Write(manifest.dump(2) + "\n"));
  SLUICE_RETURN_IF_ERROR(out->Commit());
  // The store answers again: what the first sweep could not remove goes now, so a successful
  // extract never leaves a stale staging folder of its partner behind.
  if (!stale_removed) (void)RemoveStaleStaging(ps, base);

  log::Info("extract {}: {} file(s), {} from {} ({}, {}); {} entr{} skipped", partner.id,
            sink.files().size(), FormatBytes(sink.total_bytes()), archive_key,
            FormatBytes(stats->compressed_bytes), stats->filter, sink.skipped().size(),
            sink.skipped().size() == 1 ? "y" : "ies");
  ctx.result["archive"] = archive_key;
  ctx.result["files"] = sink.files().size();
  ctx.result["skipped"] = sink.skipped().size();
  ctx.result["bytes"] = sink.total_bytes();
  ctx.result["archive_bytes"] = stats->compressed_bytes;
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
