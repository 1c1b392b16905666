// bench/csv_gen.h: a deterministic generator of order-like rows, as CSV text or as typed values,
// shared by the CSV and merge benchmarks so both measure the same data.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "config/pipeline_config.h"

namespace sluice::bench {

struct GenRow {
  int64_t order_id;
  std::string customer;
  std::string amount;  // canonical decimal(12,2)
  int64_t qty;
  std::string ordered_at;  // canonical timestamp
  std::string status;
  std::string note;
};

inline uint64_t Mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

inline void MakeRow(int64_t i, GenRow* r) {
  uint64_t h = Mix(static_cast<uint64_t>(i) + 1);
  static const char* kStatus[] = {"paid", "refunded", "pending", "shipped"};
  static const char* kWords[] = {
      "fast", "gift", "fragile", "leave at door", "call, then ring", "no \"rush\""};
  r->order_id = i;
  char buf[64];
  std::snprintf(buf, sizeof buf, "customer_%06llu", static_cast<unsigned long long>(h % 1000000));
  r->customer = buf;
  std::snprintf(buf, sizeof buf, "%llu.%02llu", static_cast<unsigned long long>(h % 100000),
                static_cast<unsigned long long>((h >> 20) % 100));
  r->amount = buf;
  r->qty = static_cast<int64_t>((h >> 8) % 20) + 1;
  std::snprintf(buf, sizeof buf, "2026-%02d-%02d %02d:%02d:%02d", static_cast<int>(h % 12) + 1,
                static_cast<int>((h >> 4) % 28) + 1, static_cast<int>((h >> 9) % 24),
                static_cast<int>((h >> 14) % 60), static_cast<int>((h >> 19) % 60));
  r->ordered_at = buf;
  r->status = kStatus[(h >> 24) % 4];
  r->note = kWords[(h >> 28) % 6];
}

inline const char* kCsvHeader = "order_id,customer,amount,qty,ordered_at,status,note\n";

inline void AppendCsv(const GenRow& r, std::string* out) {
  *out += std::to_string(r.order_id);
  *out += ',';
  *out += r.customer;
  *out += ',';
  *out += r.amount;
  *out += ',';
  *out += std::to_string(r.qty);
  *out += ',';
  *out += r.ordered_at;
  *out += ',';
  *out += r.status;
  *out += ',';
  bool quote = r.note.find_first_of(",\"") != std::string::npos;
  if (quote) {
    *out += '"';
    for (char c : r.note) {
      if (c == '"') *out += '"';
      *out += c;
    }
    *out += '"';
  } else {
    *out += r.note;
  }
  *out += '\n';
}

// The same row as one JSON lines object (keys in the CSV header's order).
inline void AppendJson(const GenRow& r, std::string* out) {
  *out += "{\"order_id\":";
  *out += std::to_string(r.order_id);
  *out += ",\"customer\":\"";
  *out += r.customer;
  *out += "\",\"amount\":";
  *out += r.amount;
  *out += ",\"qty\":";
  *out += std::to_string(r.qty);
  *out += ",\"ordered_at\":\"";
  *out += r.ordered_at;
  *out += "\",\"status\":\"";
  *out += r.status;
  *out += "\",\"note\":\"";
  for (char c : r.note) {
    if (c == '"' || c == '\\') *out += '\\';
    *out += c;
  }
  *out += "\"}\n";
}

inline config::TableSchema OrdersSchema() {
  config::TableSchema s;
  s.table = "orders";
  auto col = [&](const char* name, config::ColumnType type, bool nullable = true) {
    config::ColumnSchema c;
    c.name = name;
    c.type = type;
    c.nullable = nullable;
    if (type == config::ColumnType::kDecimal) {
      c.precision = 12;
      c.scale = 2;
    }
    s.columns.push_back(c);
  };
  col("order_id", config::ColumnType::kInt64, false);
  col("customer", config::ColumnType::kString);
  col("amount", config::ColumnType::kDecimal);
  col("qty", config::ColumnType::kInt64);
  col("ordered_at", config::ColumnType::kTimestamp);
  col("status", config::ColumnType::kString);
  col("note", config::ColumnType::kString);
  s.primary_key = {"order_id"};
  s.merge = config::MergeMode::kUpsert;
  return s;
}

}  // namespace sluice::bench
