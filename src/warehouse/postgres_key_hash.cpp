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
  for (uint64_t h : old) {
    if (h != 0) Insert(h);
  }
}

}  // namespace sluice::warehouse::pg
