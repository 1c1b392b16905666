// Helpers shared by the warehouse tests: a two-column orders schema, merges of a few rows, and
// query results as rows of optional strings.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "warehouse/warehouse.h"

namespace sluice::warehouse {

inline config::TableSchema Schema(config::MergeMode mode, std::string table = "orders") {
  config::TableSchema s;
  s.table = std::move(table);
  config::ColumnSchema id;
  id.name = "order_id";
  id.type = config::ColumnType::kInt64;
  id.nullable = false;
  config::ColumnSchema amount;
  amount.name = "amount";
  amount.type = config::ColumnType::kDecimal;
  amount.precision = 12;
  amount.scale = 2;
  s.columns = {id, amount};
  s.merge = mode;
  if (mode == config::MergeMode::kUpsert) s.primary_key = {"order_id"};
  return s;
}

struct Row {
  int64_t id;
  std::string amount;
};

inline Result<MergeCounts> Merge(Warehouse* wh, const config::TableSchema& schema,
                                 const std::vector<Row>& rows,
                                 const std::string& date = "2026-11-24",
                                 const std::string& file = "raw/acme/2026-11-24/orders.csv") {
  MergeTarget t;
  t.schema = &schema;
  t.ingest_date = date;
  t.run_id = "run1";
  SLUICE_ASSIGN_OR_RETURN(auto writer, wh->BeginMerge(t));
  for (const Row& r : rows) {
    Value v[2];
    v[0].kind = ValueKind::kInt;
    v[0].i = r.id;
    v[1].kind = ValueKind::kText;
    v[1].s = r.amount;
    SLUICE_RETURN_IF_ERROR(writer->Add(v, file, ""));
  }
  return writer->Commit();
}

inline std::vector<std::vector<std::optional<std::string>>> Rows(Warehouse* wh,
                                                                 const std::string& sql) {
  auto r = wh->Query(sql);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r->rows : decltype(r->rows){};
}

// A merge of order 2 left open: it holds the write lock until committed or rolled back.
inline std::unique_ptr<TableWriter> OpenMerge(Warehouse* wh, const config::TableSchema& schema) {
  MergeTarget t{&schema, "2026-11-25", "run2", {}};
  auto writer = wh->BeginMerge(t);
  EXPECT_TRUE(writer.ok()) << writer.status().ToString();
  if (!writer.ok()) return nullptr;
  Value v[2] = {{ValueKind::kInt, 2, 0, {}}, {ValueKind::kText, 0, 0, "2.00"}};
  Status st = (*writer)->Add(v, "raw/acme/2026-11-25/orders.csv", "");
  EXPECT_TRUE(st.ok()) << st.ToString();
  return std::move(writer).value();
}

}  // namespace sluice::warehouse
