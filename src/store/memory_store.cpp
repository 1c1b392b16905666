// The in-memory object store. See memory_store.h.
#include "store/memory_store.h"

#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <utility>

#include "core/strings.h"

namespace sluice::store {

namespace {

struct Object {
  std::shared_ptr<const std::string> data;  // shared so a reader keeps its snapshot
  int64_t mtime_ms = 0;
};

struct State {
  std::mutex mu;
  std::map<std::string, Object, std::less<>> objects;
};

class MemoryInputStream final : public InputStream {
 public:
  explicit MemoryInputStream(std::shared_ptr<const std::string> data) : data_(std::move(data)) {}
  Result<size_t> Read(char* buf, size_t n) override {
    size_t take = std::min(n, data_->size() - pos_);
    std::memcpy(buf, data_->data() + pos_, take);
    pos_ += take;
    return take;
  }

 private:
  std::shared_ptr<const std::string> data_;
  size_t pos_ = 0;
};

class MemoryStore;

class MemoryOutputStream final : public OutputStream {
 public:
  MemoryOutputStream(MemoryStore* store, std::string key) : store_(store), key_(std::move(key)) {}
  Status Write(std::string_view data) override {
    if (done_) return Status::Internal("write to memory://" + key_ + " after Commit()");
    buf_.append(data);
    return Status::Ok();
  }
  Status Commit() override;

 private:
  MemoryStore* store_;
  std::string key_;
  std::string buf_;
  bool done_ = false;
};

class MemoryStore final : public ObjectStore {
 public:
  explicit MemoryStore(MemoryStoreOptions options) : options_(std::move(options)) {}

  Result<std::unique_ptr<InputStream>> Open(std::string_view key) override {
    SLUICE_RETURN_IF_ERROR(ValidateKey(key));
    std::lock_guard<std::mutex> lock(state_.mu);
    auto it = state_.objects.find(key);
    if (it == state_.objects.end()) return NotFound("open", key);
    return std::unique_ptr<InputStream>(std::make_unique<MemoryInputStream>(it->second.data));
  }

  Result<std::unique_ptr<OutputStream>> Create(std::string_view key) override {
    SLUICE_RETURN_IF_ERROR(ValidateKey(key));
    return std::unique_ptr<OutputStream>(
        std::make_unique<MemoryOutputStream>(this, std::string(key)));
  }

  Result<ObjectInfo> Head(std::string_view key) override {
    SLUICE_RETURN_IF_ERROR(ValidateKey(key));
    std::lock_guard<std::mutex> lock(state_.mu);
    auto it = state_.objects.find(key);
    if (it == state_.objects.end()) return NotFound("stat", key);
    return Info(it->first, it->second);
  }

  Result<std::vector<ObjectInfo>> List(std::string_view prefix) override {
    SLUICE_RETURN_IF_ERROR(ValidateKeyPrefix(prefix));
    std::lock_guard<std::mutex> lock(state_.mu);
    std::vector<ObjectInfo> out;
    for (auto it = state_.objects.lower_bound(prefix);
         it != state_.objects.end() && StartsWith(it->first, prefix); ++it) {
      out.push_back(Info(it->first, it->second));
    }
    return out;
  }

  Status Delete(std::string_view key) override {
    SLUICE_RETURN_IF_ERROR(ValidateKey(key));
    std::lock_guard<std::mutex> lock(state_.mu);
    auto it = state_.objects.find(key);
    if (it != state_.objects.end()) state_.objects.erase(it);
    return Status::Ok();
  }

  Status DeletePrefix(std::string_view prefix) override {
    SLUICE_RETURN_IF_ERROR(ValidateKeyPrefix(prefix));
    std::lock_guard<std::mutex> lock(state_.mu);
    EraseUnder(prefix);
    return Status::Ok();
  }

  Status PublishPrefix(std::string_view staging_prefix, std::string_view final_prefix) override {
    SLUICE_RETURN_IF_ERROR(ValidateKeyPrefix(staging_prefix));
    SLUICE_RETURN_IF_ERROR(ValidateKeyPrefix(final_prefix));
    if (staging_prefix.empty() || staging_prefix.back() != '/' || final_prefix.empty() ||
        final_prefix.back() != '/') {
      return Status::InvalidArgument("PublishPrefix takes two folder prefixes ending in \"/\"");
    }
    std::lock_guard<std::mutex> lock(state_.mu);
    std::vector<std::pair<std::string, Object>> staged;
    for (auto it = state_.objects.lower_bound(staging_prefix);
         it != state_.objects.end() && StartsWith(it->first, staging_prefix); ++it) {
      staged.emplace_back(std::string(final_prefix) + it->first.substr(staging_prefix.size()),
                          it->second);
    }
    EraseUnder(staging_prefix);
    EraseUnder(final_prefix);
    for (auto& [key, obj] : staged) state_.objects[key] = std::move(obj);
    return Status::Ok();
  }

  bool AtomicPublish() const override { return options_.atomic_publish; }

  std::string Describe() const override { return "memory://" + options_.name; }

  void Insert(const std::string& key, std::string data) {
    Object obj;
    obj.data = std::make_shared<const std::string>(std::move(data));
    obj.mtime_ms = Now();
    std::lock_guard<std::mutex> lock(state_.mu);
    state_.objects[key] = std::move(obj);
  }

 private:
  int64_t Now() const {
    if (options_.now_ms) return options_.now_ms();
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  static ObjectInfo Info(const std::string& key, const Object& obj) {
    ObjectInfo info;
    info.key = key;
    info.size = static_cast<int64_t>(obj.data->size());
    info.mtime_ms = obj.mtime_ms;
    return info;
  }
  Status NotFound(std::string_view what, std::string_view key) const {
    return Status::NotFound(std::string(what) + " " + Describe() + "/" + std::string(key) +
                            ": not found");
  }
  // Caller holds state_.mu.
  void EraseUnder(std::string_view prefix) {
    auto it = state_.objects.lower_bound(prefix);
    while (it != state_.objects.end() && StartsWith(it->first, prefix)) {
      it = state_.objects.erase(it);
    }
  }

  MemoryStoreOptions options_;
  State state_;
};

Status MemoryOutputStream::Commit() {
  if (done_) return Status::Internal("Commit() twice on memory://" + key_);
  done_ = true;
  store_->Insert(key_, std::move(buf_));
  return Status::Ok();
}

}  // namespace

std::unique_ptr<ObjectStore> NewMemoryStore(MemoryStoreOptions options) {
  return std::make_unique<MemoryStore>(std::move(options));
}

}  // namespace sluice::store
