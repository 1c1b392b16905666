// store/object_store.h: the object store interface, its factory, and partner scoping.
//
// Keys are '/'-separated relative paths ("raw/acme/2026-11-24/orders.csv"). Layout:
//   landing/<partner>/<date>/...   archives as partners deliver them
//   raw/<partner>/<date>/<member>  extracted CSV files
//   rejects/<partner>/<date>/<table>.csv
//   manifests/<partner>/<date>/... extract.json (the commit point of an extract), merge stats,
//                                  summary.json
// Writes are atomic: an object written through Create() becomes visible only at Commit()
// (local: temp file + fsync + rename; S3: put or multipart complete). Readers never see half an
// object. A writer dropped without Commit() leaves nothing behind.
// Thread-safety: ObjectStore implementations are safe to share between threads; streams are not.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/pipeline_config.h"
#include "core/backend_registry.h"
#include "core/status.h"

namespace sluice::store {

struct ObjectInfo {
  std::string key;
  int64_t size = 0;
  int64_t mtime_ms = 0;  // last modification, milliseconds since the epoch
};

class InputStream {
 public:
  virtual ~InputStream() = default;
  // Reads up to `n` bytes into `buf`; returns 0 at the end of the object.
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
};

class OutputStream {
 public:
  virtual ~OutputStream() = default;
  virtual Status Write(std::string_view data) = 0;
  // Makes the object visible under its key, replacing any previous object, all at once.
  virtual Status Commit() = 0;
  // A hint, before the first Write(): the object will be exactly `bytes` long. A remote store
  // may start sending it at once (S3: one PUT of that length, fed as the bytes are written, its
  // last byte held back until Commit()). Commit() still decides what is stored, and an object of
  // another length is still stored whole. Ignored by default.
  virtual void ExpectSize(int64_t bytes) { (void)bytes; }
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // Streams an object. NotFound when the key does not exist.
  virtual Result<std::unique_ptr<InputStream>> Open(std::string_view key) = 0;
  // Starts writing an object; nothing is visible until Commit().
  virtual Result<std::unique_ptr<OutputStream>> Create(std::string_view key) = 0;
  // Size and time of an object. NotFound when absent.
  virtual Result<ObjectInfo> Head(std::string_view key) = 0;
  // Every object whose key starts with `prefix`, sorted by key.
  virtual Result<std::vector<ObjectInfo>> List(std::string_view prefix) = 0;
  // Names (not keys) of the folders directly under the folder prefix `prefix` (ending in "/"),
  // sorted; empty when there is none. The local store includes empty folders and never lists
  // symlinks or its own temporaries; the generic version derives folders from List(), so a
  // store without real folders has no empty ones. InvalidArgument for a bad prefix.
  virtual Result<std::vector<std::string>> ListFolders(std::string_view prefix);
  // Removes an object; Ok when it did not exist.
  virtual Status Delete(std::string_view key) = 0;
  // Removes every object under `prefix`.
  virtual Status DeletePrefix(std::string_view prefix);
  // Makes the objects under `staging_prefix` (a folder prefix ending in "/") appear under
  // `final_prefix` in place of whatever was there, and removes the staging copies. The local store
  // swaps the two folders with one atomic rename; the generic fallback copies then deletes, so
  // callers still write a manifest last as the commit point.
  virtual Status PublishPrefix(std::string_view staging_prefix, std::string_view final_prefix);
  // True when PublishPrefix() is one atomic, constant-cost step (a folder rename); false for the
  // generic fallback, which copies every staged object. Writers that own a folder nobody has
  // committed yet (no manifest) write straight into it when this is false, instead of paying a
  // copy of every byte (tasks/extract.cpp).
  virtual bool AtomicPublish() const { return false; }
  // The file behind a key when the store is a local folder (for SQLite-style direct reads),
  // nullopt for remote stores.
  virtual std::optional<std::filesystem::path> LocalPath(std::string_view key) const {
    (void)key;
    return std::nullopt;
  }
  // "file:///abs/path" or "s3://bucket/prefix", for messages.
  virtual std::string Describe() const = 0;

  // Conveniences over Open/Create.
  Result<std::string> Get(std::string_view key);
  Status Put(std::string_view key, std::string_view data);
};

// Opens the store named by `url` (file://PATH relative to `base_dir`, or s3://bucket/prefix;
// ${NAME} expanded from the environment). InvalidArgument for an unknown, not-built or
// malformed URL (the message of StoreBackends().Resolve), IoError when it cannot be opened.
Result<std::unique_ptr<ObjectStore>> OpenStore(const std::string& url,
                                               const std::filesystem::path& base_dir,
                                               const config::S3Config& s3 = {});

// A store back-end's factory: `url` is expanded and checked; relative paths are relative to
// `base_dir`.
using StoreFactory = Result<std::unique_ptr<ObjectStore>> (*)(const std::string& url,
                                                              const std::filesystem::path& base_dir,
                                                              const config::S3Config& s3);
// The store back-ends by URL scheme: OpenStore and `sluice validate` (tasks/load_pipeline.h) both
// read this table. Add a back-end as one row in object_store.cpp.
const BackendRegistry<StoreFactory>& StoreBackends();

// Key segments starting with this are the store's own (in-flight temporary files); ValidateKey
// refuses them and List() never returns them.
inline constexpr std::string_view kInternalPrefix = ".sluice-";

// The longest key segment (file or folder name) any back-end accepts: NAME_MAX of Linux file
// systems, so a key that works on one store works on every other.
inline constexpr size_t kMaxSegmentBytes = 255;

// Validates a relative key: no empty segments, no "." or "..", no leading "/", no backslash,
// no control characters or NUL, valid UTF-8, no segment starting with kInternalPrefix, no
// segment longer than kMaxSegmentBytes.
// InvalidArgument naming the rule otherwise.
Status ValidateKey(std::string_view key);
// Same for a List()/DeletePrefix() prefix: "" (everything) and one trailing "/" are allowed.
Status ValidateKeyPrefix(std::string_view prefix);

// A view of a store that can only reach one partner's area: every key is validated and
// placed under "<area>/<partner>/" for area in landing, raw, rejects, manifests.
// Keys passed in are relative to the partner's area: PartnerStore(s, "acme").Open("raw", "x.csv")
// reads "raw/acme/x.csv".
class PartnerStore {
 public:
  PartnerStore(ObjectStore* store, std::string partner);
  const std::string& partner() const { return partner_; }
  ObjectStore* base() const { return store_; }
  // "<area>/<partner>/<rel>" after validating area and rel.
  Result<std::string> Key(std::string_view area, std::string_view rel) const;
  Result<std::unique_ptr<InputStream>> Open(std::string_view area, std::string_view rel);
  Result<std::unique_ptr<OutputStream>> Create(std::string_view area, std::string_view rel);
  Result<ObjectInfo> Head(std::string_view area, std::string_view rel);
  // Lists under "<area>/<partner>/<rel_prefix>"; keys returned are full store keys.
  Result<std::vector<ObjectInfo>> List(std::string_view area, std::string_view rel_prefix);
  Status Delete(std::string_view area, std::string_view rel);
  // ObjectStore::ListFolders under "<area>/<partner>/<rel_prefix>" (rel_prefix ends in "/").
  Result<std::vector<std::string>> ListFolders(std::string_view area, std::string_view rel_prefix);
  // Removes every object under "<area>/<partner>/<rel_prefix>".
  Status DeletePrefix(std::string_view area, std::string_view rel_prefix);
  // ObjectStore::PublishPrefix between two folders of the partner's area (both end in "/").
  Status PublishPrefix(std::string_view area, std::string_view staging_rel,
                       std::string_view final_rel);
  // "<area>/<partner>/<rel_prefix>" after validation; rel_prefix may be "" or end in "/".
  Result<std::string> Prefix(std::string_view area, std::string_view rel_prefix) const;

 private:
  ObjectStore* store_;
  std::string partner_;
};

}  // namespace sluice::store
