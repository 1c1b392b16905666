// The store-independent parts of store/object_store.h: key validation, partner scoping, the
// conveniences, and the factory that picks a back-end by URL scheme.
#include "store/object_store.h"

#include <algorithm>
#include <utility>

#include "core/strings.h"
#include "store/fault_store.h"
#include "store/local_store.h"
#include "store/s3_store.h"

namespace sluice::store {

namespace {

constexpr std::string_view kAreas[] = {"landing", "raw", "rejects", "manifests"};

}  // namespace

Status ObjectStore::DeletePrefix(std::string_view prefix) {
  SLUICE_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects, List(prefix));
  for (const ObjectInfo& o : objects) SLUICE_RETURN_IF_ERROR(Delete(o.key));
  return Status::Ok();
}

Result<std::vector<std::string>> ObjectStore::ListFolders(std::string_view prefix) {
  SLUICE_RETURN_IF_ERROR(ValidateKeyPrefix(prefix));
  if (prefix.empty() || prefix.back() != '/') {
    return Status::InvalidArgument("ListFolders takes a folder prefix ending in \"/\"");
  }
  SLUICE_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects, List(prefix));
  std::vector<std::string> out;
  for (const ObjectInfo& o : objects) {
    std::string_view rest = std::string_view(o.key).substr(prefix.size());
    size_t slash = rest.find('/');
    if (slash == std::string_view::npos) continue;
    std::string name(rest.substr(0, slash));
    if (out.empty() || out.back() != name) out.push_back(std::move(name));  // List() is sorted
  }
  return out;
}

Status ObjectStore::PublishPrefix(std::string_view staging_prefix, std::string_view final_prefix) {
  // Generic fallback for stores without a directory rename: copy, then remove what the new set
  // does not contain, then drop the staging copies. Callers make a manifest the commit point.
  SLUICE_ASSIGN_OR_RETURN(std::vector<ObjectInfo> staged, List(staging_prefix));
  SLUICE_ASSIGN_OR_RETURN(std::vector<ObjectInfo> old, List(final_prefix));
  std::vector<std::string> fresh;
  for (const ObjectInfo& o : staged) {
    std::string rel = o.key.substr(staging_prefix.size());
    std::string dest = std::string(final_prefix) + rel;
    SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<InputStream> in, Open(o.key));
    SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<OutputStream> out, Create(dest));
    std::string buf(1 << 20, '\0');
    while (true) {
      SLUICE_ASSIGN_OR_RETURN(size_t n, in->Read(buf.data(), buf.size()));
      if (n == 0) break;
      SLUICE_RETURN_IF_ERROR(out->Write(std::string_view(buf.data(), n)));
    }
    SLUICE_RETURN_IF_ERROR(out->Commit());
    fresh.push_back(std::move(dest));
  }
  for (const ObjectInfo& o : old) {
    if (std::find(fresh.begin(), fresh.end(), o.key) == fresh.end()) {
      SLUICE_RETURN_IF_ERROR(Delete(o.key));
    }
  }
  return DeletePrefix(staging_prefix);
}

Result<std::string> ObjectStore::Get(std::string_view key) {
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<InputStream> in, Open(key));
  std::string out;
  std::string buf(64 * 1024, '\0');
  while (true) {
    SLUICE_ASSIGN_OR_RETURN(size_t n, in->Read(buf.data(), buf.size()));
    if (n == 0) break;
    out.append(buf.data(), n);
  }
  return out;
}

Status ObjectStore::Put(std::string_view key, std::string_view data) {
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<OutputStream> out, Create(key));
  SLUICE_RETURN_IF_ERROR(out->Write(data));
  return out->Commit();
}

namespace {

Status CheckFileUrl(std::string_view url) {
  if (url.size() == std::string_view("file://").size()) {
    return Status::InvalidArgument("names no folder; use file://./data or file:///abs/path");
  }
  return Status::Ok();
}

Result<std::unique_ptr<ObjectStore>> OpenFileStore(const std::string& url,
                                                   const std::filesystem::path& base_dir,
                                                   const config::S3Config& /*s3*/) {
  std::filesystem::path root(url.substr(std::string_view("file://").size()));
  if (root.is_relative()) root = base_dir / root;
  return OpenLocalStore(root.lexically_normal());
}

Status CheckS3Url(std::string_view url) {
  auto parsed = ParseS3Url(url);
  if (parsed.ok()) return Status::Ok();
  // ParseS3Url's message starts with the URL; the registry already quotes it as written.
  std::string message = parsed.status().message();
  const std::string lead = "store URL \"" + Printable(url) + "\"";
  if (message.starts_with(lead)) message = message.substr(lead.size());
  if (message.starts_with(": ")) message = message.substr(2);
  if (message.starts_with(" ")) message = message.substr(1);
  return Status::InvalidArgument(message);
}

Result<std::unique_ptr<ObjectStore>> OpenS3(const std::string& url,
                                            const std::filesystem::path& /*base_dir*/,
                                            const config::S3Config& s3) {
  return OpenS3Store(url, s3);
}

// Every store back-end, by URL scheme (core/backend_registry.h). A row without a factory is
// designed but not built: `validate` and OpenStore refuse it, saying what to use instead.
constexpr Backend<StoreFactory> kStoreBackends[] = {
    {.scheme = "file", .open = OpenFileStore, .check = CheckFileUrl},
    {.scheme = "s3", .open = OpenS3, .check = CheckS3Url},
};

}  // namespace

const BackendRegistry<StoreFactory>& StoreBackends() {
  static constexpr BackendRegistry<StoreFactory> kRegistry(
      "store", /*urls=*/true, "file://PATH (a local or mounted folder)", kStoreBackends);
  return kRegistry;
}

Result<std::unique_ptr<ObjectStore>> OpenStore(const std::string& url,
                                               const std::filesystem::path& base_dir,
                                               const config::S3Config& s3) {
  auto resolved = StoreBackends().Resolve(url);
  if (!resolved.ok()) return Status::InvalidArgument("store: " + resolved.status().message());
  SLUICE_ASSIGN_OR_RETURN(auto store, resolved->backend->open(resolved->url, base_dir, s3));
  // Test builds only: the run-wide fault sweeps of tests/faults/ (core/fault_plan.h).
  return WrapWithFaultPlanFromEnv(std::move(store));
}

Status ValidateKey(std::string_view key) {
  auto bad = [&](std::string_view rule) {
    return Status::InvalidArgument("store key \"" + Printable(key) +
                                   "\" refused: " + std::string(rule));
  };
  if (key.empty()) return bad("empty key");
  if (key.front() == '/') return bad("absolute key (leading \"/\")");
  for (unsigned char c : key) {
    if (c == 0) return bad("contains a NUL byte");
    if (c < 0x20 || c == 0x7f) return bad("contains a control character");
    if (c == '\\') return bad("contains a backslash");
  }
  if (!IsValidUtf8(key)) return bad("is not valid UTF-8");
  if (HasC1Control(key)) return bad("contains a control character (U+0080..U+009F)");
  size_t start = 0;
  while (true) {
    size_t end = key.find('/', start);
    std::string_view seg =
        key.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (seg.empty()) return bad("empty path segment (\"//\" or trailing \"/\")");
    if (seg == "." || seg == "..") return bad("\".\" or \"..\" segment");
    if (seg.size() > kMaxSegmentBytes) {
      return bad("a path segment is " + std::to_string(seg.size()) + " bytes, more than " +
                 std::to_string(kMaxSegmentBytes) +
                 " (the file name limit of common file systems)");
    }
    if (StartsWith(seg, kInternalPrefix)) {
      return bad("segments starting with \"" + std::string(kInternalPrefix) +
                 "\" are reserved for the store");
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return Status::Ok();
}

Status ValidateKeyPrefix(std::string_view prefix) {
  if (prefix.empty()) return Status::Ok();
  if (prefix.back() == '/') return ValidateKey(prefix.substr(0, prefix.size() - 1));
  return ValidateKey(prefix);
}

PartnerStore::PartnerStore(ObjectStore* store, std::string partner)
    : store_(store), partner_(std::move(partner)) {}

Result<std::string> PartnerStore::Key(std::string_view area, std::string_view rel) const {
  if (!IsValidPartnerId(partner_)) {
    return Status::InvalidArgument("partner id \"" + Printable(partner_) +
                                   "\" must match [a-z0-9][a-z0-9_-]{0,62}");
  }
  bool known = false;
  for (std::string_view a : kAreas) known = known || a == area;
  if (!known) {
    return Status::InvalidArgument("store area \"" + Printable(area) +
                                   "\" is not one of landing, raw, rejects, manifests");
  }
  Status st = ValidateKey(rel);
  if (!st.ok()) return std::move(st).WithPartner(partner_);
  std::string key;
  key.reserve(area.size() + partner_.size() + rel.size() + 2);
  key.append(area).append("/").append(partner_).append("/").append(rel);
  return key;
}

Result<std::string> PartnerStore::Prefix(std::string_view area, std::string_view rel_prefix) const {
  if (rel_prefix.empty()) {
    SLUICE_ASSIGN_OR_RETURN(std::string k, Key(area, "x"));
    return k.substr(0, k.size() - 1);
  }
  if (rel_prefix.back() == '/') {
    SLUICE_ASSIGN_OR_RETURN(std::string k, Key(area, rel_prefix.substr(0, rel_prefix.size() - 1)));
    return k + "/";
  }
  return Key(area, rel_prefix);
}

Result<std::unique_ptr<InputStream>> PartnerStore::Open(std::string_view area,
                                                        std::string_view rel) {
  SLUICE_ASSIGN_OR_RETURN(std::string key, Key(area, rel));
  return store_->Open(key);
}

Result<std::unique_ptr<OutputStream>> PartnerStore::Create(std::string_view area,
                                                           std::string_view rel) {
  SLUICE_ASSIGN_OR_RETURN(std::string key, Key(area, rel));
  return store_->Create(key);
}

Result<ObjectInfo> PartnerStore::Head(std::string_view area, std::string_view rel) {
  SLUICE_ASSIGN_OR_RETURN(std::string key, Key(area, rel));
  return store_->Head(key);
}

Result<std::vector<ObjectInfo>> PartnerStore::List(std::string_view area,
                                                   std::string_view rel_prefix) {
  SLUICE_ASSIGN_OR_RETURN(std::string prefix, Prefix(area, rel_prefix));
  return store_->List(prefix);
}

Status PartnerStore::Delete(std::string_view area, std::string_view rel) {
  SLUICE_ASSIGN_OR_RETURN(std::string key, Key(area, rel));
  return store_->Delete(key);
}

Result<std::vector<std::string>> PartnerStore::ListFolders(std::string_view area,
                                                           std::string_view rel_prefix) {
  if (rel_prefix.empty() || rel_prefix.back() != '/') {
    return Status::InvalidArgument("ListFolders takes a folder prefix ending in \"/\"");
  }
  SLUICE_ASSIGN_OR_RETURN(std::string prefix, Prefix(area, rel_prefix));
  return store_->ListFolders(prefix);
}

Status PartnerStore::DeletePrefix(std::string_view area, std::string_view rel_prefix) {
  SLUICE_ASSIGN_OR_RETURN(std::string prefix, Prefix(area, rel_prefix));
  return store_->DeletePrefix(prefix);
}

Status PartnerStore::PublishPrefix(std::string_view area, std::string_view staging_rel,
                                   std::string_view final_rel) {
  if (staging_rel.empty() || staging_rel.back() != '/' || final_rel.empty() ||
      final_rel.back() != '/') {
    return Status::InvalidArgument("PublishPrefix takes two folder prefixes ending in \"/\"");
  }
  SLUICE_ASSIGN_OR_RETURN(std::string from, Prefix(area, staging_rel));
  SLUICE_ASSIGN_OR_RETURN(std::string to, Prefix(area, final_rel));
  return store_->PublishPrefix(from, to);
}

}  // namespace sluice::store
