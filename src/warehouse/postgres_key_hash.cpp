// warehouse/postgres_key_hash.cpp: see postgres_key_hash.h.
#include "warehouse/postgres_key_hash.h"

#include <functional>

namespace sluice::warehouse::pg {

uint64_t KeyHash(std::span<const Value> row, const std::vector<size_t>& key_columns) {
  uint64_t h = 1469598103934665603ull;
  for (size_t c : key_columns) {
    const Value& v = row[c];
    uint64_t part = static_cast<uint64_t>(v.kind);
    if (v.kind == ValueKind::kText) {
      part ^= std::hash<std::string_view>{}(v.s) * 0x9E3779B97F4A7C15ull;
    } else if (v.kind == ValueKind::kInt) {
      part ^= static_cast<uint64_t>(v.i) * 0x9E3779B97F4A7C15ull;
    } else if (v.kind == ValueKind::kReal) {
      part ^= std::hash<double>{}(v.d) * 0x9E3779B97F4A7C15ull;
    }
    h = (h ^ part) * 1099511628211ull;
  }
  h ^= h >> 33;  // mixes the high bits into the low ones, which pick the slot
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

size_t KeyHashSet::InsertUntilRepeat(std::span<const uint64_t> hashes) {
  while ((size_ + hashes.size()) * 2 > slots_.size()) Grow();
  const size_t mask = slots_.size() - 1;
  constexpr size_t kAhead = 16;  // enough fetches in flight to cover a miss to memory
  for (size_t i = 0; i < hashes.size(); ++i) {
    if (i + kAhead < hashes.size()) {
      const uint64_t next = hashes[i + kAhead];
      __builtin_prefetch(&slots_[(next == 0 ? 1 : next) & mask], 1);
    }
    if (!Insert(hashes[i])) return i;
  }
  return hashes.size();
}

bool KeyHashSet::Insert(uint64_t h) {
  if (h == 0) h = 1;
  if ((size_ + 1) * 2 > slots_.size()) Grow();
  const size_t mask = slots_.size() - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    if (slots_[i] == h) return false;
    if (slots_[i] == 0) {
      slots_[i] = h;
      ++size_;
      return true;
    }
  }
}

void KeyHashSet::Clear() {
  std::vector<uint64_t>().swap(slots_);
  size_ = 0;
}

void KeyHashSet::Grow() {
  std::vector<uint64_t> old;
  old.swap(slots_);
  slots_.assign(old.empty() ? 1024 : old.size() * 2, 0);
  size_ = 0;
  const size_t mask = slots_.size() - 1;
  constexpr size_t kAhead = 16;  // the slot of the hash kAhead places on, fetched meanwhile
  for (size_t i = 0; i < old.size(); ++i) {
    if (i + kAhead < old.size()) __builtin_prefetch(&slots_[old[i + kAhead] & mask], 1);
    if (old[i] != 0) Insert(old[i]);
  }
}

}  // namespace sluice::warehouse::pg
