// Reading a sample delivery: one CSV file or an archive of them.
#include <fstream>

#include "archive/safe_reader.h"
#include "core/strings.h"
#include "infer/infer.h"

namespace sluice::infer {

namespace {

// The largest CSV file read into memory for a sample.
constexpr int64_t kMaxSampleBytes = int64_t{512} << 20;

bool LooksLikeArchive(std::string_view head) {
  auto starts = [&](std::string_view magic) { return head.substr(0, magic.size()) == magic; };
  if (starts("\x1F\x8B") || starts("PK\x03\x04") || starts("PK\x05\x06") ||
      starts("\x28\xB5\x2F\xFD") || starts("BZh") ||
      starts("\xFD"
             "7zXZ")) {
    return true;
  }
  return head.size() >= 262 && head.substr(257, 5) == "ustar";
}

bool IsCsvName(std::string_view base) {
  const std::string lower = ToLower(base);
  for (const char* ext : {".csv", ".tsv", ".txt", ".psv", ".dat"}) {
    if (EndsWith(lower, ext)) return true;
  }
  return false;
}

class CollectSink final : public archive::EntrySink {
 public:
  CollectSink(std::vector<SampleFile>* files, std::vector<std::string>* skipped)
      : files_(files), skipped_(skipped) {}
  Result<bool> Begin(const archive::EntryInfo& entry) override {
    if (!entry.name_is_utf8 || !IsCsvName(entry.base_name) || entry.base_name.starts_with(".")) {
      if (skipped_ != nullptr) skipped_->push_back(Printable(entry.normalized));
      return false;
    }
    files_->push_back({entry.normalized, ""});
    return true;
  }
  Status Data(std::string_view chunk) override {
    std::string& bytes = files_->back().bytes;
    if (static_cast<int64_t>(bytes.size() + chunk.size()) > kMaxSampleBytes) {
      return Status::InvalidArgument("archive member " + files_->back().name + " is over " +
                                     FormatBytes(kMaxSampleBytes) +
                                     "; give a smaller sample (the first rows are enough)");
    }
    bytes.append(chunk);
    return Status::Ok();
  }
  Status End() override { return Status::Ok(); }

 private:
  std::vector<SampleFile>* files_;
  std::vector<std::string>* skipped_;
};

}  // namespace

Result<std::vector<SampleFile>> ReadSample(const std::filesystem::path& path,
                                           std::vector<std::string>* skipped) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return Status::NotFound("sample " + path.string() + " is not a file; give a CSV file or an " +
                            "archive of CSV files");
  }
  const auto size = static_cast<int64_t>(std::filesystem::file_size(path, ec));
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot open sample " + path.string());
  std::string head(std::min<int64_t>(size, 512), '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  in.clear();
  in.seekg(0);
  std::vector<SampleFile> files;
  if (LooksLikeArchive(head)) {
    archive::ReadOptions options;
    options.archive_name = path.filename().string();
    archive::ReadFn read = [&in](char* buf, size_t n) -> Result<size_t> {
      in.read(buf, static_cast<std::streamsize>(n));
      if (in.bad()) return Status::IoError("read error");
      return static_cast<size_t>(in.gcount());
    };
    CollectSink sink(&files, skipped);
    SLUICE_RETURN_IF_ERROR(archive::ReadArchive(read, options, &sink).status());
    if (files.empty()) {
      return Status::InvalidArgument("archive " + path.string() +
                                     " holds no .csv, .tsv or .txt file to infer tables from");
    }
    return files;
  }
  if (size > kMaxSampleBytes) {
    return Status::InvalidArgument("sample " + path.string() + " is over " +
                                   FormatBytes(kMaxSampleBytes) +
                                   "; give a smaller sample (the first rows are enough)");
  }
  SampleFile f{path.filename().string(), std::string(static_cast<size_t>(size), '\0')};
  in.read(f.bytes.data(), static_cast<std::streamsize>(f.bytes.size()));
  if (in.gcount() != static_cast<std::streamsize>(f.bytes.size())) {
    return Status::IoError("cannot read sample " + path.string());
  }
  files.push_back(std::move(f));
  return files;
}

}  // namespace sluice::infer
