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
class KeyHashSet {
 public:
  // False when `h` was in the set already.
  bool Insert(uint64_t h);
  void Clear();

 private:
  void Grow();
  std::vector<uint64_t> slots_;  // 0: empty
  size_t size_ = 0;
};

}  // namespace sluice::warehouse::pg
