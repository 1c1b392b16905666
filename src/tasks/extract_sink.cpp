// tasks/extract_sink.cpp: see extract_sink.h.
#include "tasks/extract_sink.h"

#include "config/encodings.h"
#include "core/logging.h"
#include "core/strings.h"
#include "csv/encoding.h"

namespace sluice::tasks::internal {

namespace {

// Checksums of the extracted files (extract.cpp says why xxh128).
constexpr std::string_view kFileChecksum = "xxh128";
// The ratio rule applies once this many bytes have been expanded from one member (as the
// archive reader's does), so tiny files are not refused.
constexpr int64_t kRatioFloorBytes = int64_t{1} << 20;

const config::TableSource* MatchOne(const config::PartnerConfig& p, std::string_view name) {
  const config::TableSource* first = nullptr;
  for (const config::TableSource& t : p.tables) {
    if (!t.Matches(name)) continue;
    if (first == nullptr) {
      first = &t;
      continue;
    }
    log::Warn(
        "extract {}: \"{}\" matches the file patterns of tables {} (\"{}\") and {} (\"{}\"); "
        "{} is listed first in partner.yaml and gets it. If it belongs to {}, list that table "
        "first or make the patterns exclusive",
        p.id, Printable(name), first->name, first->file, t.name, t.file, first->name, t.name);
  }
  return first;
}

}  // namespace

const config::TableSource* MatchTable(const config::PartnerConfig& p, std::string_view normalized) {
  if (const config::TableSource* t = MatchOne(p, normalized)) return t;
  std::string_view plain = archive::StripCodecSuffix(normalized);
  if (plain.size() != normalized.size()) return MatchOne(p, plain);
  return nullptr;
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

StagingSink::StagingSink(store::PartnerStore* ps, const config::PartnerConfig* partner,
                         std::string staging, std::string final_prefix, std::string archive_key,
                         int64_t* total_expanded)
    : ps_(ps),
      partner_(partner),
      staging_(std::move(staging)),
      final_prefix_(std::move(final_prefix)),
      archive_key_(std::move(archive_key)),
      total_expanded_(total_expanded) {}

StagingSink::~StagingSink() {
  // Commits still running must end before their streams go (dropped without Commit(): aborted).
  for (Committing& c : committing_) c.done.wait();
}

Status StagingSink::FinishOldest() {
  Status st = committing_.front().done.get();
  committing_.pop_front();
  return st;
}

Status StagingSink::Finish() {
  Status first;
  while (!committing_.empty()) {
    Status st = FinishOldest();
    if (first.ok()) first = std::move(st);
  }
  return first;
}

Status StagingSink::Refuse(std::string_view rule, const std::string& why) const {
  return Status::InvalidArgument("archive " + archive_key_ + " refused: entry \"" +
                                 Printable(member_) + "\": " + std::string(rule) + ": " + why);
}

Result<bool> StagingSink::Begin(const archive::EntryInfo& e) {
  member_ = e.member;
  const config::TableSource* table = MatchTable(*partner_, e.normalized);
  if (table == nullptr) {
    if (!e.name_is_utf8) {
      // A legacy code-page name (a cp949 readme from Windows): JSON holds only UTF-8.
      skipped_.push_back({{"member", Printable(e.member, 4 * e.member.size() + 4)},
                          {"reason", "matches no table pattern (name not UTF-8, shown escaped)"}});
      return false;
    }
    skipped_.push_back({{"member", e.member}, {"reason", "matches no table pattern"}});
    return false;
  }
  // The reader refuses a wanted entry whose name is not UTF-8 (invalid_utf8).
  if (!e.name_is_utf8) return true;
  // A member compressed on its own is kept expanded, under its name without the suffix.
  const archive::MemberCodec codec = archive::CodecForName(e.base_name);
  const std::string base_name(archive::StripCodecSuffix(e.base_name));
  // The key is built from the validated base name only; the member path stays metadata.
  if (base_name.size() > store::kMaxSegmentBytes) {
    return Refuse("name_too_long", "the file name is " + std::to_string(base_name.size()) +
                                       " bytes, more than the " +
                                       std::to_string(store::kMaxSegmentBytes) +
                                       " a file system allows; ask the partner to shorten it");
  }
  if (Status valid = store::ValidateKey(base_name); !valid.ok() || base_name.empty()) {
    return Refuse("unsafe_name", valid.ok() ? "nothing is left of the name" : valid.message());
  }
  auto [it, fresh] = names_.emplace(base_name, e.member);
  if (!fresh) {
    return Refuse("duplicate_name", "\"" + Printable(it->second) + "\" has the same file name \"" +
                                        Printable(base_name) +
                                        "\" and both would be extracted to the same key");
  }
  decoder_.reset();
  if (codec != archive::MemberCodec::kNone) {
    SLUICE_ASSIGN_OR_RETURN(
        decoder_,
        archive::MakeMemberDecoder(codec, archive_key_ + " entry \"" + Printable(e.member) + "\""));
  }
  SLUICE_ASSIGN_OR_RETURN(out_, ps_->Create("raw", staging_ + base_name));
  // A member kept as stored has the size its header gives: a remote store can start its upload
  // now, while the bytes are still being read (the entry checks still decide at End()).
  if (codec == archive::MemberCodec::kNone && e.declared_size >= 0) {
    out_->ExpectSize(e.declared_size);
  }
  SLUICE_ASSIGN_OR_RETURN(sum_, archive::MakeChecksum(kFileChecksum));
  SLUICE_ASSIGN_OR_RETURN(std::string key, ps_->Key("raw", final_prefix_ + base_name));
  current_ = {{"member", e.member}, {"key", key}, {"table", table->name}};
  if (codec != archive::MemberCodec::kNone) current_["compression"] = archive::CodecName(codec);
  bytes_ = 0;
  compressed_ = 0;
  return true;
}

Status StagingSink::Write(std::string_view expanded) {
  const config::ExtractLimits& limits = partner_->limits;
  bytes_ += static_cast<int64_t>(expanded.size());
  *total_expanded_ += static_cast<int64_t>(expanded.size());
  if (bytes_ > limits.max_entry_bytes) {
    return Refuse("max_entry_bytes", "it expands to more than " +
                                         FormatBytes(limits.max_entry_bytes) +
                                         "; raise limits.max_entry_bytes if this is expected");
  }
  if (*total_expanded_ > limits.max_total_bytes) {
    return Refuse("max_total_bytes", "the day's deliveries expand to more than " +
                                         FormatBytes(limits.max_total_bytes) +
                                         "; raise limits.max_total_bytes if this is expected");
  }
  if (decoder_ && bytes_ > kRatioFloorBytes &&
      static_cast<double>(bytes_) > limits.max_ratio * static_cast<double>(compressed_)) {
    return Refuse("max_ratio", "its " + FormatBytes(compressed_) + " expand to more than " +
                                   FormatBytes(bytes_) +
                                   " (a decompression bomb?); raise limits.max_ratio if this "
                                   "is expected");
  }
  sum_->Update(expanded.data(), expanded.size());
  return out_->Write(expanded);
}

Status StagingSink::Data(std::string_view chunk) {
  if (!decoder_) return Write(chunk);
  compressed_ += static_cast<int64_t>(chunk.size());
  return decoder_->Feed(chunk, [this](std::string_view expanded) { return Write(expanded); });
}

Status StagingSink::End() {
  if (decoder_) {
    SLUICE_RETURN_IF_ERROR(
        decoder_->Finish([this](std::string_view expanded) { return Write(expanded); }));
    current_["compressed_bytes"] = compressed_;
    decoder_.reset();
  }
  if (ps_->base()->AtomicPublish()) {
    SLUICE_RETURN_IF_ERROR(out_->Commit());
    out_.reset();
  } else {
    // A remote store: the upload's tail and its completion overlap reading the next members.
    if (committing_.size() >= kMaxCommitting) SLUICE_RETURN_IF_ERROR(FinishOldest());
    store::OutputStream* stream = out_.get();
    committing_.push_back(Committing{
        std::move(out_), std::async(std::launch::async, [stream]() { return stream->Commit(); })});
  }
  current_["bytes"] = bytes_;
  current_["checksum"] = sum_->Finish();
  total_bytes_ += bytes_;
  files_.push_back(std::move(current_));
  return Status::Ok();
}

Result<BareStats> ReadBareFile(const archive::ReadFn& read, const std::string& name,
                               const std::string& delivery_key, std::string_view checksum,
                               StagingSink* sink) {
  archive::EntryInfo e;
  e.member = name;
  e.normalized = name;
  e.base_name = name;
  SLUICE_ASSIGN_OR_RETURN(bool wanted, sink->Begin(e));
  if (!wanted) {
    return Status::InvalidArgument("delivery " + delivery_key +
                                   " is a single file, but no table's \"file\" pattern in "
                                   "partner.yaml matches \"" +
                                   Printable(name) +
                                   "\"; add or widen the table's pattern, or narrow "
                                   "\"archive\" so it no longer takes this file");
  }
  SLUICE_ASSIGN_OR_RETURN(auto sum, archive::MakeChecksum(checksum));
  BareStats stats;
  std::string buf(size_t{1} << 20, '\0');
  while (true) {
    SLUICE_ASSIGN_OR_RETURN(size_t n, read(buf.data(), buf.size()));
    if (n == 0) break;
    stats.bytes += static_cast<int64_t>(n);
    sum->Update(buf.data(), n);
    SLUICE_RETURN_IF_ERROR(sink->Data(std::string_view(buf.data(), n)));
  }
  if (stats.bytes == 0) {
    return Status::Corrupt("delivery " + delivery_key +
                           " is empty (0 bytes); ask the partner to deliver it again");
  }
  SLUICE_RETURN_IF_ERROR(sink->End());
  SLUICE_RETURN_IF_ERROR(sink->Finish());
  stats.checksum = sum->Finish();
  return stats;
}

}  // namespace sluice::tasks::internal
