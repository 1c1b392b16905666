// tasks/extract_sink.h: where the extract builtin writes what it keeps of one delivery.
//
// StagingSink receives the checked entries of an archive (archive::ReadArchive) or the one file
// of a bare delivery (ReadBareFile), matches each to a table by partner.yaml's patterns, and
// writes it under the staging folder with its checksum. A member compressed on its own
// ("orders.csv.gz", "orders.csv.zst") is expanded as it flows (archive/member_decoder.h) and
// kept as "orders.csv"; the limits (max_entry_bytes, max_total_bytes, max_ratio) apply to the
// expanded bytes. Internal to the extract builtin. Thread-safety: one sink per delivery, used by
// one thread.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "archive/checksum.h"
#include "archive/member_decoder.h"
#include "archive/safe_reader.h"
#include "config/pipeline_config.h"
#include "store/object_store.h"

namespace sluice::tasks::internal {

// The table whose pattern matches the member (config::TableSource::Matches), trying the name
// without a ".gz"/".zst" suffix when the name itself matches none. First table in partner.yaml
// order wins, with a warning when a later one matches too; nullptr when none.
const config::TableSource* MatchTable(const config::PartnerConfig& p, std::string_view normalized);

// File names in the partner's code page, when csv.encoding is one; nullptr otherwise.
std::function<std::optional<std::string>(std::string_view)> NameDecoder(
    const config::PartnerConfig& partner);

class StagingSink final : public archive::EntrySink {
 public:
  // Files go to raw/<partner>/<staging><name> and are recorded as raw/<partner>/<final><name>.
  // `total_expanded` is shared by the day's deliveries (max_total_bytes).
  StagingSink(store::PartnerStore* ps, const config::PartnerConfig* partner, std::string staging,
              std::string final_prefix, std::string archive_key, int64_t* total_expanded);

  ~StagingSink() override;
  StagingSink(const StagingSink&) = delete;
  StagingSink& operator=(const StagingSink&) = delete;

  Result<bool> Begin(const archive::EntryInfo& e) override;
  Status Data(std::string_view chunk) override;
  Status End() override;
  // Waits for every member's commit. On a remote store (no atomic publish) a member is
  // committed (its upload finished) in the background while the next ones are read, up to
  // kMaxCommitting at a time (the store bounds the PUTs in flight and their memory); call this
  // after the reader returns and before using files(). The first commit error.
  Status Finish();
  static constexpr size_t kMaxCommitting = 4;

  nlohmann::json& files() { return files_; }
  nlohmann::json& skipped() { return skipped_; }
  int64_t total_bytes() const { return total_bytes_; }

 private:
  Status Write(std::string_view expanded);
  Status Refuse(std::string_view rule, const std::string& why) const;

  store::PartnerStore* ps_;
  const config::PartnerConfig* partner_;
  std::string staging_;
  std::string final_prefix_;
  std::string archive_key_;
  int64_t* total_expanded_;
  std::unique_ptr<store::OutputStream> out_;
  // Waits for the oldest member being committed; its error.
  Status FinishOldest();
  struct Committing {
    std::unique_ptr<store::OutputStream> stream;
    std::future<Status> done;
  };
  std::deque<Committing> committing_;  // members whose Commit() runs in the background
  std::unique_ptr<archive::Checksum> sum_;
  std::unique_ptr<archive::MemberDecoder> decoder_;
  std::string member_;  // the current entry's name, for messages
  nlohmann::json current_;
  std::unordered_map<std::string, std::string> names_;  // base name -> member, of kept entries
  int64_t bytes_ = 0;                                   // expanded bytes of the current entry
  int64_t compressed_ = 0;  // stored bytes of the current entry (compressed members)
  int64_t total_bytes_ = 0;
  nlohmann::json files_ = nlohmann::json::array();
  nlohmann::json skipped_ = nlohmann::json::array();
};

// What ReadBareFile read.
struct BareStats {
  int64_t bytes = 0;  // as delivered
  std::string checksum;
};

// Hands the bare delivery `name` (a single table's file, compressed or not), read with `read`,
// to `sink` as a one-entry archive. InvalidArgument naming the delivery when no table's pattern
// takes it; the sink's and the read's errors as they are.
Result<BareStats> ReadBareFile(const archive::ReadFn& read, const std::string& name,
                               const std::string& delivery_key, std::string_view checksum,
                               StagingSink* sink);

}  // namespace sluice::tasks::internal
