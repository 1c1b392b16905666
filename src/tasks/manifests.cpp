// tasks/manifests.cpp: the paths and readers of tasks/manifests.h.
#include "tasks/manifests.h"

#include <algorithm>

namespace sluice::tasks::manifests {

std::string ExtractPath(std::string_view date) { return std::string(date) + "/extract.json"; }

std::string MergeStatsPath(std::string_view date, std::string_view table) {
  return std::string(date) + "/merge/" + std::string(table) + ".json";
}

std::string DeliveriesPrefix(std::string_view date) { return std::string(date) + "/deliveries/"; }

std::string SummaryPath(std::string_view date) { return std::string(date) + "/summary.json"; }

std::string RejectsPath(std::string_view date, std::string_view table) {
  return std::string(date) + "/" + std::string(table) + ".csv";
}

namespace {

std::string Text(const nlohmann::json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t Int(const nlohmann::json& o, const char* key, int64_t fallback) {
  auto it = o.find(key);
  return it != o.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
}

std::vector<ExtractedFile> Files(const nlohmann::json& manifest, const char* list) {
  std::vector<ExtractedFile> out;
  auto it = manifest.find(list);
  if (it == manifest.end() || !it->is_array()) return out;
  for (const auto& f : *it) {
    if (!f.is_object()) continue;
    out.push_back({Text(f, "key"), Text(f, "table"), Text(f, "member"), Text(f, "checksum"),
                   Int(f, "bytes", 0), Text(f, "reason")});
  }
  return out;
}

}  // namespace

Result<ExtractManifest> ReadExtract(store::ObjectStore* base, const std::string& partner,
                                    const std::string& date) {
  store::PartnerStore ps(base, partner);
  ExtractManifest out;
  SLUICE_ASSIGN_OR_RETURN(out.store_key, ps.Key(kManifestsArea, ExtractPath(date)));
  auto text = base->Get(out.store_key);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) {
      return Status::NotFound("no extract manifest " + out.store_key +
                              "; run the extract task for " + partner + " and " + date + " first");
    }
    return std::move(text).status();
  }
  const nlohmann::json manifest = nlohmann::json::parse(*text, nullptr, false);
  if (manifest.is_discarded() || !manifest.is_object()) {
    return Status::Corrupt(out.store_key + " is not valid JSON; re-run the extract task");
  }
  out.files = Files(manifest, "files");
  out.skipped = Files(manifest, "skipped");
  if (auto a = manifest.find("archive"); a != manifest.end() && a->is_object()) {
    out.archive =
        ExtractManifest::Archive{Text(*a, "key"), Int(*a, "bytes", -1), Int(*a, "mtime_ms", 0)};
  }
  if (auto d = manifest.find("deliveries"); d != manifest.end() && d->is_array()) {
    for (const auto& one : *d) {
      if (!one.is_object()) continue;
      out.deliveries.push_back(ExtractManifest::Archive{Text(one, "key"), Int(one, "bytes", -1),
                                                        Int(one, "mtime_ms", 0)});
    }
  } else if (out.archive) {
    out.deliveries.push_back(*out.archive);
  }
  return out;
}

Status WriteDeliveryManifests(store::ObjectStore* base, const std::string& partner,
                              const std::string& date, const nlohmann::json& deliveries) {
  store::PartnerStore ps(base, partner);
  std::vector<std::string> kept;
  for (const auto& d : deliveries) {
    const std::string name = d.value("name", "");
    if (name.empty()) continue;
    const std::string rel = DeliveriesPrefix(date) + name + ".json";
    SLUICE_ASSIGN_OR_RETURN(std::string key, ps.Key(kManifestsArea, rel));
    SLUICE_RETURN_IF_ERROR(base->Put(key, d.dump(2) + "\n"));
    kept.push_back(key);
  }
  Result<std::vector<store::ObjectInfo>> listed = ps.List(kManifestsArea, DeliveriesPrefix(date));
  if (!listed.ok()) {
    if (listed.status().code() == StatusCode::kNotFound) return Status::Ok();
    return listed.status();
  }
  for (const store::ObjectInfo& info : *listed) {
    if (std::find(kept.begin(), kept.end(), info.key) != kept.end()) continue;
    Status st = base->Delete(info.key);
    if (!st.ok() && st.code() != StatusCode::kNotFound) return st;
  }
  return Status::Ok();
}

Result<std::optional<nlohmann::json>> ReadMergeStats(store::ObjectStore* base,
                                                     const std::string& partner,
                                                     const std::string& date,
                                                     const std::string& table) {
  SLUICE_ASSIGN_OR_RETURN(
      std::string key,
      store::PartnerStore(base, partner).Key(kManifestsArea, MergeStatsPath(date, table)));
  auto text = base->Get(key);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) return std::optional<nlohmann::json>();
    return std::move(text).status();
  }
  auto stats = nlohmann::json::parse(*text, nullptr, false);
  if (stats.is_discarded() || !stats.is_object()) {
    return Status::Corrupt(key + " is not valid JSON; re-run the merge of table " + table +
                           " for " + date);
  }
  return std::optional<nlohmann::json>(std::move(stats));
}

}  // namespace sluice::tasks::manifests
