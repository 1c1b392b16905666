// warehouse/postgres_key_hash.h: the key hashes a first load uses to COPY straight into an
// empty table while the keys stay distinct (postgres_writer.cpp). Not thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/pipeline_config.h"
#include "warehouse/warehouse.h"

namespace sluice::warehouse::pg {

// A 64-bit hash of the values of `row` at `key_columns` (kind and value of each).
uint64_t KeyHash(std::span<const Value> row, const std::vector<size_t>& key_columns);

// A set of 64-bit hashes (open addressing, half full at most): 8-16 bytes per key, where a
// node-based set takes ~40.
//
// A first load's set outgrows the caches (a million keys: 16-32 MB), and the COPY traffic beside
// it evicts it, so an Insert that finds its slot by itself waits on memory for nearly every row
// (18% of sluice's CPU on the PostgreSQL bench). InsertUntilRepeat takes a batch's hashes in
// one tight loop that fetches the slots of the hashes a few places ahead while it inserts.
class KeyHashSet {
 public:
  // Inserts hashes[0], hashes[1], ... up to the first that was in the set already (not
  // inserted, nor any after it); the count inserted (hashes.size() when none was).
  size_t InsertUntilRepeat(std::span<const uint64_t> hashes);
  // False when `h` was in the set already.
  bool Insert(uint64_t h);
  void Clear();
  size_t size() const { return size_; }

 private:
  void Grow();
  std::vector<uint64_t> slots_;  // 0: empty
  size_t size_ = 0;
};

}  // namespace sluice::warehouse::pg
