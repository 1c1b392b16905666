// tasks/manifests.h: where the tasks keep their per-date records in a partner's store area, and
// typed readers for them. The one place that spells these paths:
//   manifests/<partner>/<date>/extract.json        the extract's commit point (ExtractManifest)
//   manifests/<partner>/<date>/deliveries/<name>.json  one delivery's record (written before it)
//   manifests/<partner>/<date>/merge/<table>.json  one table merge's stats (merge builtin)
//   manifests/<partner>/<date>/summary.json        the summary builtin's output
//   rejects/<partner>/<date>/<table>.csv           the rows a merge rejected, with line and reason
// Paths are relative to the partner's area; give them to store::PartnerStore with the area
// (kManifestsArea, kRejectsArea). Thread-safety: plain functions over their arguments.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "store/object_store.h"

namespace sluice::tasks::manifests {

inline constexpr const char* kManifestsArea = "manifests";
inline constexpr const char* kRejectsArea = "rejects";

std::string ExtractPath(std::string_view date);
std::string MergeStatsPath(std::string_view date, std::string_view table);
std::string SummaryPath(std::string_view date);
std::string RejectsPath(std::string_view date, std::string_view table);
std::string DeliveriesPrefix(std::string_view date);  // "<date>/deliveries/"

// One file the extract wrote to raw/ ("files") or a member it left out ("skipped"). Fields the
// manifest lacks (or holds with another type) are empty, bytes -1.
struct ExtractedFile {
  std::string key;     // the store key, raw/<partner>/<date>/...
  std::string table;   // the table whose pattern took it
  std::string member;  // its name in the archive
  std::string checksum;
  int64_t bytes = 0;
  std::string reason;  // skipped members: why
};

// The extract manifest of a partner's date (manifests/<partner>/<date>/extract.json).
struct ExtractManifest {
  std::string store_key;  // where it was read, for messages
  std::vector<ExtractedFile> files;
  std::vector<ExtractedFile> skipped;
  // The archive it came from (absent in manifests without one).
  struct Archive {
    std::string key;
    int64_t bytes = -1;
    int64_t mtime_ms = 0;
  };
  std::optional<Archive> archive;
  // Every delivery of the date, in name order (manifests of earlier versions: the archive).
  std::vector<Archive> deliveries;
};

// Reads the extract manifest of `partner` for `date`. NotFound naming the key and the extract
// task to run; Corrupt when it is not JSON; the store's errors otherwise.
Result<ExtractManifest> ReadExtract(store::ObjectStore* base, const std::string& partner,
                                    const std::string& date);

// Writes manifests/<partner>/<date>/deliveries/<name>.json for each record of `deliveries`
// (objects with a "name") and removes those of deliveries no longer there.
Status WriteDeliveryManifests(store::ObjectStore* base, const std::string& partner,
                              const std::string& date, const nlohmann::json& deliveries);

// The merge stats of `table` for `date`, or nullopt when that day's merge did not run.
// Corrupt (naming the key and the merge to re-run) when they are not a JSON object.
Result<std::optional<nlohmann::json>> ReadMergeStats(store::ObjectStore* base,
                                                     const std::string& partner,
                                                     const std::string& date,
                                                     const std::string& table);

}  // namespace sluice::tasks::manifests
