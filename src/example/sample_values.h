// example/sample_values.h: the values of generated sample rows (internal to the generator,
// sample_data.cpp): deterministic randomness, the Latin and Korean vocabularies, strftime-like
// formatting, and one generator per column chosen from the column's schema (type, name, key).
//
// Keys: a table's key number k (1, 2, ... per row, overlapping half with the previous day's)
// becomes the key column's value. A composite key spreads k over its columns the way event logs
// are keyed: every column but the last takes k % kKeyGroups (a device, a source), the last
// k / kKeyGroups (its sequence number), so rows in file order interleave the groups, as events
// in time order do, and the pair stays unique. A one-column key is k itself.
// Everything here is a pure function of its inputs; nothing is shared between threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/pipeline_config.h"
#include "core/date.h"

namespace sluice::example::sample {

// SplitMix64: tiny, fast, and identical on every platform (std:: distributions are not).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n); n > 0.
  uint64_t Below(uint64_t n) { return Next() % n; }
  // True with probability percent/100.
  bool Percent(int percent) { return Below(100) < static_cast<uint64_t>(percent); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Below(v.size())];
  }

 private:
  uint64_t state_;
};

inline uint64_t Fnv1a(std::string_view s, uint64_t h = 0xcbf29ce484222325ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

// Days since 1970-01-01 (H. Hinnant's days_from_civil).
int64_t DayNumber(const Date& d);

struct Vocabulary {
  std::vector<std::string> given, family, cities, words, notes, currencies;
};
const Vocabulary& Latin();
const Vocabulary& Korean();

// strftime for generated values, every directive a column's format may use (config's
// kTimeFormatDirectives): %Y %m %d %H %M %S %y %f %z %I %p %b %B %s %%.
std::string FormatTime(std::string_view format, const Date& d, int hour, int minute, int second);

// Cuts `s` to at most `max_bytes` bytes without splitting a UTF-8 sequence.
void TruncateUtf8(std::string* s, int64_t max_bytes);

// Groups of a composite key (devices of an event log): see the file comment.
constexpr int64_t kKeyGroups = 1000;

enum class Kind {
  kKeyInt,
  kKeyString,
  kInt,
  kDecimal,
  kFloat,
  kBool,
  kDate,
  kTimestamp,
  kEmail,
  kPersonName,
  kCity,
  kPhone,
  kCurrency,
  kChoice,
  kTitle,
  kNote,
  kText,
  kExtra,
};

struct ColumnGen {
  std::string header;
  Kind kind = Kind::kText;
  const config::ColumnSchema* schema = nullptr;  // nullptr for extra columns
  std::vector<std::string> choices;              // accepted values
  std::string key_prefix;                        // "SKU-" for string keys
  bool nullable = false;
  int null_percent = 0;
  // Key columns: this column's place in the primary key and the key's number of columns.
  int key_part = 0;
  int key_parts = 1;
};

// The generator of column `c` of `schema`; `is_key`: c is in the primary key; `alias_header`:
// the header spells the column's first alias.
ColumnGen MakeColumnGen(const config::ColumnSchema& c, const config::TableSchema& schema,
                        bool is_key, bool alias_header);

// What one row's values are generated from.
struct RowContext {
  Rng* rng;
  const Vocabulary* vocab;
  const Date* date;
  int64_t key;        // this row's key number
  int64_t key_space;  // keys of related tables fall in [1, key_space]
};

// The key column's share of key number `key` (see the file comment).
int64_t KeyComponent(const ColumnGen& g, int64_t key);

// One value of column `g` for the row `r` describes, as text in the column's notation. Draws
// from r.rng, so callers draw every column of every row in the same order.
std::string GenerateValue(const ColumnGen& g, RowContext& r);

}  // namespace sluice::example::sample
