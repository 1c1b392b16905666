// store/memory_store.h: an ObjectStore held in memory, for tests and for back-end experiments.
//
// Same contract as every store (see object_store.h): keys validated, objects invisible until
// Commit(), a writer dropped without Commit() leaves nothing, List() sorted. It has no folders:
// ListFolders() derives them from keys (no empty folders), and PublishPrefix() replaces the final
// set with the staged one under one lock, so readers see the old set or the new one.
// Thread-safety: safe to share between threads; streams are not.
#pragma once

#include <functional>
#include <memory>

#include "store/object_store.h"

namespace sluice::store {

struct MemoryStoreOptions {
  // Milliseconds since the epoch for an object's mtime; the system clock when empty.
  std::function<int64_t()> now_ms;
  // Shown by Describe(): "memory://<name>".
  std::string name = "test";
  // What AtomicPublish() answers: false makes the store behave as S3 does for its writers.
  bool atomic_publish = true;
};

std::unique_ptr<ObjectStore> NewMemoryStore(MemoryStoreOptions options = {});

}  // namespace sluice::store
