// warehouse/postgres_copy_text.cpp: see postgres_copy_text.h.
#include "warehouse/postgres_copy_text.h"

#include <charconv>
#include <cmath>
#include <functional>

namespace sluice::warehouse::pg {

void AppendInt(int64_t v, std::string* out) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}

void AppendCopyText(std::string_view s, std::string* out) {
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c != '\\' && c != '\t' && c != '\n' && c != '\r') continue;
    out->append(s.data() + start, i - start);
    out->push_back('\\');
    out->push_back(c == '\\' ? '\\' : c == '\t' ? 't' : c == '\n' ? 'n' : 'r');
    start = i + 1;
  }
  out->append(s.data() + start, s.size() - start);
}

void AppendCopyValue(const Value& v, const config::ColumnSchema& column, std::string* out) {
  switch (v.kind) {
    case ValueKind::kNull:
      out->append("\\N");
      break;
    case ValueKind::kInt:
      if (column.type == config::ColumnType::kBool) {
        out->push_back(v.i != 0 ? 't' : 'f');
      } else {
        AppendInt(v.i, out);
      }
      break;
    case ValueKind::kReal:
      if (std::isnan(v.d)) {
        out->append("NaN");
      } else if (std::isinf(v.d)) {
        out->append(v.d > 0 ? "Infinity" : "-Infinity");
      } else {
        char buf[32];
        auto res = std::to_chars(buf, buf + sizeof buf, v.d);
        out->append(buf, res.ptr);
      }
      break;
    case ValueKind::kText:
      AppendCopyText(v.s, out);
      break;
  }
}

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
