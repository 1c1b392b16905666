// fuzz/archive_reader.cpp: archive/safe_reader.h's ReadArchive and its entry rules on any bytes
// (tar, tar.gz through ISA-L or libarchive's zlib, zip, zstd, bzip2, xz: sniffed from the bytes).
//
// Input: [options byte][chunk byte] then the archive. The options byte picks small limits (so
// max_entries, max_entry_bytes, max_total_bytes and max_ratio are reached), ISA-L or not, a
// decode_name hook (cp949-style names), and which entries the sink wants.
// Checked, besides "no crash, no sanitizer report":
//   - every entry handed to the sink has a name CheckMemberName accepts and normalizes to the
//     same `normalized`, and base_name is its last segment; a wanted non-UTF-8 name never
//     reaches Data();
//   - Begin/Data/End come in order; the bytes handed over stay within max_entry_bytes and the
//     total within max_total_bytes; the stats agree with what the sink saw;
//   - a refusal is InvalidArgument or Corrupt (or the read's error) with a message naming the
//     archive.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "archive/safe_reader.h"
#include "core/strings.h"
#include "fuzz_input.h"

namespace {

using namespace sluice;

class CheckingSink : public archive::EntrySink {
 public:
  CheckingSink(const archive::ReadOptions& options, uint8_t want) : o_(options), want_(want) {}

  Result<bool> Begin(const archive::EntryInfo& e) override {
    FUZZ_CHECK(!open_, "Begin while an entry is open");
    // A name that is not UTF-8 is offered for the sink to skip (wanting it refuses the
    // archive); every other name offered must pass the rules.
    if (!e.name_is_utf8) {
      FUZZ_CHECK(!IsValidUtf8(e.normalized), "name_is_utf8 false only for a non-UTF-8 name");
    }
    auto checked =
        e.name_is_utf8 ? archive::CheckMemberName(e.normalized) : Result<std::string>(e.normalized);
    FUZZ_CHECK(checked.ok(), "a handed-over name passes the rules: " + Printable(e.normalized) +
                                 ": " + checked.status().ToString());
    FUZZ_CHECK(*checked == e.normalized, "normalizing is idempotent: " + Printable(e.normalized));
    const size_t slash = e.normalized.rfind('/');
    FUZZ_CHECK(
        e.base_name == (slash == std::string::npos ? e.normalized : e.normalized.substr(slash + 1)),
        "base_name is the last segment");
    FUZZ_CHECK(!e.base_name.empty(), "a file has a name");
    FUZZ_CHECK(e.index >= 0 && e.index < o_.limits.max_entries, "index within max_entries");
    ++begun_;
    bool want = false;
    switch (want_ & 3) {
      case 0:
        want = true;
        break;
      case 1:
        want = false;
        break;
      case 2:
        want = (begun_ & 1) != 0;
        break;
      default:
        want = e.base_name.ends_with(".csv");
        break;
    }
    if (want && !e.name_is_utf8) {
      FUZZ_CHECK(!IsValidUtf8(e.member) || o_.decode_name, "name_is_utf8 tells the truth");
      refused_name_ = true;  // the reader must refuse the archive now
    }
    open_ = want;
    entry_bytes_ = 0;
    return want;
  }
  Status Data(std::string_view chunk) override {
    FUZZ_CHECK(open_, "Data outside an entry");
    FUZZ_CHECK(!refused_name_, "a wanted non-UTF-8 name gets no data");
    entry_bytes_ += static_cast<int64_t>(chunk.size());
    total_ += static_cast<int64_t>(chunk.size());
    FUZZ_CHECK(entry_bytes_ <= o_.limits.max_entry_bytes, "max_entry_bytes holds");
    FUZZ_CHECK(total_ <= o_.limits.max_total_bytes, "max_total_bytes holds");
    return Status::Ok();
  }
  Status End() override {
    FUZZ_CHECK(open_, "End outside an entry");
    open_ = false;
    ++ended_;
    return Status::Ok();
  }

  bool refused_name_ = false;
  int64_t ended_ = 0;
  int64_t total_ = 0;

 private:
  const archive::ReadOptions& o_;
  uint8_t want_;
  bool open_ = false;
  int64_t begun_ = 0;
  int64_t entry_bytes_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::FuzzInput in(data, size);
  const uint8_t opt = in.Byte();
  const size_t chunk = 1 + in.Byte() * 64;
  const std::string_view bytes = in.Rest();

  archive::ReadOptions o;
  o.archive_name = "landing/acme/2026-02-28/fuzz.tar.gz";
  if (opt & 0x04) {
    o.limits.max_entries = 4;
    o.limits.max_entry_bytes = 300;
    o.limits.max_total_bytes = 1000;
    o.limits.max_ratio = 3;
    o.ratio_floor_bytes = 64;
  }
  o.use_isal = (opt & 0x08) == 0;
  o.checksum = (opt & 0x10) ? "xxh128" : "sha256";
  if (opt & 0x20) {
    // A stand-in for the code-page hook: bytes >= 0x80 become '?' (nullopt for 0xFF).
    o.decode_name = [](std::string_view name) -> std::optional<std::string> {
      std::string out(name);
      for (char& c : out) {
        if (static_cast<unsigned char>(c) == 0xFF) return std::nullopt;
        if (static_cast<unsigned char>(c) >= 0x80) c = '?';
      }
      return out;
    };
  }
  CheckingSink sink(o, opt);
  size_t pos = 0;
  auto read = [&](char* buf, size_t n) -> Result<size_t> {
    size_t k = std::min({n, chunk, bytes.size() - pos});
    std::memcpy(buf, bytes.data() + pos, k);
    pos += k;
    return k;
  };
  auto stats = archive::ReadArchive(read, o, &sink);
  if (!stats.ok()) {
    const StatusCode code = stats.status().code();
    FUZZ_CHECK(code == StatusCode::kInvalidArgument || code == StatusCode::kCorrupt,
               "a refusal is InvalidArgument or Corrupt: " + stats.status().ToString());
    FUZZ_CHECK(stats.status().message().find(o.archive_name) != std::string::npos,
               "a refusal names the archive: " + stats.status().message());
    return 0;
  }
  FUZZ_CHECK(!sink.refused_name_, "a wanted non-UTF-8 name refuses the archive");
  FUZZ_CHECK(stats->files <= stats->entries, "files <= entries");
  FUZZ_CHECK(stats->entries <= o.limits.max_entries, "max_entries holds");
  FUZZ_CHECK(stats->uncompressed_bytes <= o.limits.max_total_bytes, "max_total_bytes holds");
  FUZZ_CHECK(stats->uncompressed_bytes >= sink.total_, "stats count every byte handed over");
  FUZZ_CHECK(stats->compressed_bytes == static_cast<int64_t>(bytes.size()),
             "the whole archive is read: " + std::to_string(stats->compressed_bytes) + " of " +
                 std::to_string(bytes.size()));
  FUZZ_CHECK(stats->checksum.starts_with(o.checksum + ":"), "checksum names its algorithm");
  return 0;
}
