#include "example/example_files.h"

#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <map>
#include <set>

#include "core/strings.h"

namespace sluice::example {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kPartnersPrefix = "partners/";

// "partners/acme/schemas/orders.json" -> "acme"; "" for files outside partners/.
std::string PartnerOf(std::string_view path) {
  if (!path.starts_with(kPartnersPrefix)) return "";
  std::string_view rest = path.substr(kPartnersPrefix.size());
  size_t slash = rest.find('/');
  return slash == std::string_view::npos ? "" : std::string(rest.substr(0, slash));
}

// partner.yaml of a copy: the same partner under a new id. Only the `id:` and `name:` lines
// change; everything else (archive pattern, dialect, tables) stays as the original's.
std::string RenamePartnerYaml(std::string_view text, const std::string& new_id, int copy) {
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (line.starts_with("id:")) {
      out += "id: " + new_id;
    } else if (line.starts_with("name:")) {
      out += std::string(line) + " (copy " + std::to_string(copy) + ")";
    } else {
      out += line;
    }
    if (end < text.size()) out += '\n';
    pos = end + 1;
  }
  return out;
}

Status WriteFileAtomically(const fs::path& path, std::string_view content) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec)
    return Status::IoError("cannot create folder " + path.parent_path().string() + ": " +
                           ec.message());
  fs::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();
    if (!out) {
      fs::remove(tmp, ec);
      return Status::IoError("cannot write " + path.string() + "; check the folder's permissions");
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return Status::IoError("cannot rename into " + path.string() + ": " + ec.message());
  }
  return Status::Ok();
}

}  // namespace

std::vector<std::string> ExamplePartnerIds() {
  std::set<std::string> ids;
  for (const EmbeddedFile& f : ExampleFiles()) {
    std::string id = PartnerOf(f.path);
    if (!id.empty()) ids.insert(id);
  }
  return {ids.begin(), ids.end()};
}

std::vector<std::string> ExamplePartnerIdsFor(int partners) {
  std::vector<std::string> templates = ExamplePartnerIds();
  int wanted = partners <= 0 ? static_cast<int>(templates.size()) : partners;
  std::set<std::string> ids;
  for (int i = 0; i < wanted; ++i) {
    const std::string& t = templates[static_cast<size_t>(i) % templates.size()];
    int copy = i / static_cast<int>(templates.size()) + 1;
    ids.insert(copy == 1 ? t : t + "-" + std::to_string(copy));
  }
  return {ids.begin(), ids.end()};
}

Result<std::vector<std::string>> WriteExampleFolder(const fs::path& dir,
                                                    const WriteExampleOptions& options) {
  std::vector<std::string> templates = ExamplePartnerIds();
  if (options.partners < 0 || options.partners > 1000) {
    return Status::InvalidArgument("--partner-count must be between 1 and 1000, got " +
                                   std::to_string(options.partners));
  }
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) {
      return Status::AlreadyExists(dir.string() + " exists and is not a folder; choose another");
    }
    if (!options.force && !fs::is_empty(dir, ec)) {
      return Status::AlreadyExists(dir.string() +
                                   " is not empty; choose an empty or new folder, or pass --force "
                                   "to overwrite the example's files in it");
    }
  }

  // Which partner folders to write, and under which id: template -> list of (id, copy number).
  std::map<std::string, std::vector<std::pair<std::string, int>>> plan;
  int wanted = options.partners == 0 ? static_cast<int>(templates.size()) : options.partners;
  for (int i = 0; i < wanted; ++i) {
    const std::string& t = templates[static_cast<size_t>(i) % templates.size()];
    int copy = i / static_cast<int>(templates.size()) + 1;
    plan[t].emplace_back(copy == 1 ? t : t + "-" + std::to_string(copy), copy);
  }

  std::vector<std::string> written;
  for (const EmbeddedFile& f : ExampleFiles()) {
    std::string partner = PartnerOf(f.path);
    if (partner.empty()) {
      SLUICE_RETURN_IF_ERROR(WriteFileAtomically(dir / std::string(f.path), f.content));
      written.emplace_back(f.path);
      continue;
    }
    auto it = plan.find(partner);
    if (it == plan.end()) continue;
    std::string_view rest = f.path.substr(kPartnersPrefix.size() + partner.size());
    for (const auto& [id, copy] : it->second) {
      std::string rel = std::string(kPartnersPrefix) + id + std::string(rest);
      std::string content(f.content);
      if (copy > 1 && rest == "/partner.yaml") content = RenamePartnerYaml(f.content, id, copy);
      SLUICE_RETURN_IF_ERROR(WriteFileAtomically(dir / rel, content));
      written.push_back(rel);
    }
  }
  return written;
}

}  // namespace sluice::example
