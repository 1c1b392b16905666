// MergeTableFiles with `format: ndjson` (issue 24): a JSON lines file loads the same rows as the
// same data written as CSV (every type, NULLs, aliases, rescued extras), and its bad lines are
// rejected with their line and reason while the rest loads.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "config/pipeline_config.h"
#include "csv/tokenizer.h"
#include "tasks/merge_table.h"
#include "warehouse/warehouse.h"

namespace sluice::tasks {
namespace {

// Keeps every row it is given as text: "file|v1|v2|...|rescued".
class RecordingWriter : public warehouse::TableWriter {
 public:
  explicit RecordingWriter(std::vector<std::string>* rows) : rows_(rows) {}
  Status Add(std::span<const warehouse::Value> values, std::string_view source_file,
             std::string_view rescued) override {
    std::string row(source_file);
    for (const warehouse::Value& v : values) {
      row += '|';
      switch (v.kind) {
        case warehouse::ValueKind::kNull:
          row += "NULL";
          break;
        case warehouse::ValueKind::kInt:
          row += "i" + std::to_string(v.i);
          break;
        case warehouse::ValueKind::kReal:
          row += "d" + std::to_string(v.d);
          break;
        case warehouse::ValueKind::kText:
          row += "s" + std::string(v.s);
          break;
      }
    }
    rows_->push_back(row + "|" + std::string(rescued));
    return Status::Ok();
  }
  Result<warehouse::MergeCounts> Commit() override {
    warehouse::MergeCounts c;
    c.loaded = c.inserted = static_cast<int64_t>(rows_->size());
    return c;
  }
  void Rollback() override { rows_->clear(); }

 private:
  std::vector<std::string>* rows_;
};

class RecordingWarehouse : public warehouse::Warehouse {
 public:
  Result<std::unique_ptr<warehouse::TableWriter>> BeginMerge(
      const warehouse::MergeTarget&) override {
    return std::unique_ptr<warehouse::TableWriter>(new RecordingWriter(&rows));
  }
  Result<warehouse::QueryResult> Query(std::string_view, int64_t, int64_t*) override {
    return warehouse::QueryResult{};
  }
  Status Execute(std::string_view) override { return Status::Ok(); }
  Result<bool> TableExists(std::string_view) override { return true; }
  Result<std::vector<std::vector<std::string>>> UniqueKeys(std::string_view) override {
    return std::vector<std::vector<std::string>>{};
  }
  std::string Describe() const override { return "recording"; }
  std::vector<std::string> rows;
};

config::TableSchema OrdersSchema() {
  config::TableSchema s;
  s.table = "orders";
  auto col = [](std::string name, config::ColumnType type, bool nullable = true) {
    config::ColumnSchema c;
    c.name = std::move(name);
    c.type = type;
    c.nullable = nullable;
    return c;
  };
  config::ColumnSchema id = col("order_id", config::ColumnType::kInt64, false);
  id.aliases = {"OrderID"};
  config::ColumnSchema amount = col("amount", config::ColumnType::kDecimal);
  amount.precision = 12;
  amount.scale = 2;
  s.columns = {id,
               amount,
               col("weight", config::ColumnType::kFloat64),
               col("paid", config::ColumnType::kBool),
               col("ordered_on", config::ColumnType::kDate),
               col("ordered_at", config::ColumnType::kTimestamp),
               col("status", config::ColumnType::kString)};
  s.on_extra_columns = config::ExtraColumnsPolicy::kRescue;
  s.max_reject_ratio = 1.0;
  return s;
}

MergeFile File(const std::string& key, std::string data) {
  auto held = std::make_shared<std::string>(std::move(data));
  return {key, [held]() -> Result<std::unique_ptr<csv::ByteSource>> {
            return std::unique_ptr<csv::ByteSource>(new csv::StringSource(*held));
          }};
}

struct Loaded {
  std::vector<std::string> rows;  // without the file name
  std::string rejects;
  TableMergeStats stats;
};

Loaded Load(const std::string& key, std::string data, config::TableFormat format) {
  config::TableSchema schema = OrdersSchema();
  RecordingWarehouse wh;
  warehouse::MergeTarget target;
  target.schema = &schema;
  Loaded out;
  MergeOptions options;
  options.format = format;
  options.parse_on_own_thread = false;
  auto stats = MergeTableFiles(
      schema, config::CsvDialect{}, &wh, target, {File(key, std::move(data))},
      [&](std::string_view chunk) {
        out.rejects.append(chunk);
        return Status::Ok();
      },
      options);
  EXPECT_TRUE(stats.ok()) << stats.status().ToString();
  if (stats.ok()) out.stats = *stats;
  for (const std::string& row : wh.rows) out.rows.push_back(row.substr(row.find('|')));
  return out;
}

TEST(MergeNdjson, LoadsTheSameRowsAsTheSameDataInCsv) {
  const std::string csv =
      "OrderID,amount,weight,paid,ordered_on,ordered_at,status,channel\n"
      "1,12.5,0.25,true,2026-11-24,2026-11-24 10:00:00,paid,web\n"
      "2,-3,1e3,no,2026-11-25,2026-11-24T23:30:00+09:00,\"say \"\"hi\"\", ok\",phone\n"
      "3,,,,,,,shop\n"
      "4,0.10,2,1,2026-01-02,2026-01-02 03:04:05.500,\"ünï, cödé\",app\n";
  // The same rows; keys in another order, a missing key and nulls where the CSV is empty, the
  // channel (not in the schema) rescued.
  const std::string ndjson =
      "{\"OrderID\": 1, \"amount\": 12.5, \"weight\": 0.25, \"paid\": true, \"ordered_on\": "
      "\"2026-11-24\", \"ordered_at\": \"2026-11-24 10:00:00\", \"status\": \"paid\", "
      "\"channel\": \"web\"}\n"
      "{\"status\": \"say \\\"hi\\\", ok\", \"OrderID\": 2, \"amount\": -3, \"weight\": 1e3, "
      "\"paid\": \"no\", \"ordered_on\": \"2026-11-25\", \"ordered_at\": "
      "\"2026-11-24T23:30:00+09:00\", \"channel\": \"phone\"}\n"
      "{\"OrderID\": 3, \"amount\": null, \"paid\": null, \"channel\": \"shop\"}\n"
      "{\"OrderID\": 4, \"amount\": \"0.10\", \"weight\": 2, \"paid\": 1, \"ordered_on\": "
      "\"2026-01-02\", \"ordered_at\": \"2026-01-02 03:04:05.500\", \"status\": \"ünï, cödé\", "
      "\"channel\": \"app\"}\n";
  Loaded from_csv = Load("orders.csv", csv, config::TableFormat::kCsv);
  Loaded from_json = Load("orders.jsonl", ndjson, config::TableFormat::kNdjson);
  ASSERT_EQ(from_csv.rows.size(), 4u) << from_csv.rejects;
  EXPECT_EQ(from_json.rows, from_csv.rows) << from_json.rejects;
  EXPECT_EQ(from_json.stats.rows_read, 4);
  EXPECT_EQ(from_json.stats.rows_rejected, 0);
  // Spot checks that the rows are what they should be, not merely equal.
  EXPECT_EQ(from_json.rows[1],
            "|i2|s-3.00|d1000.000000|i0|s2026-11-25|s2026-11-24 14:30:00|ssay \"hi\", ok|"
            "{\"channel\":\"phone\"}");
  EXPECT_EQ(from_json.rows[2], "|i3|NULL|NULL|NULL|NULL|NULL|NULL|{\"channel\":\"shop\"}");
}

TEST(MergeNdjson, BadLinesAreRejectedWithLineAndReasonAndTheRestLoads) {
  const std::string ndjson =
      "{\"OrderID\": 1, \"amount\": 1}\n"
      "{\"OrderID\": 2, \"amount\": \"abc\"}\n"
      "{\"OrderID\": 3, \"amount\": 1,,}\n"
      "\n"
      "{\"amount\": 4}\n"
      "[5]\n"
      "{\"OrderID\": 6, \"amount\": 6}\n";
  Loaded got = Load("events.jsonl", ndjson, config::TableFormat::kNdjson);
  ASSERT_EQ(got.rows.size(), 2u) << got.rejects;
  EXPECT_EQ(got.stats.rows_read, 6);
  EXPECT_EQ(got.stats.rows_rejected, 4);
  EXPECT_NE(got.rejects.find("events.jsonl,2,amount,\"type: \"\"abc\"\" is not a decimal(12,2)"),
            std::string::npos)
      << got.rejects;
  // (simdjson's message may hold commas: the reason is then a quoted CSV field.)
  const size_t line3 = got.rejects.find("events.jsonl,3,,");
  ASSERT_NE(line3, std::string::npos) << got.rejects;
  EXPECT_EQ(got.rejects.find("json: invalid JSON", line3),
            line3 + 16 + (got.rejects[line3 + 16] == '"'))
      << got.rejects;
  EXPECT_NE(got.rejects.find("events.jsonl,5,order_id,null: null or no such key in a non-nullable "
                             "column"),
            std::string::npos)
      << got.rejects;
  EXPECT_NE(got.rejects.find("events.jsonl,6,,json: the line is not a JSON object"),
            std::string::npos)
      << got.rejects;
}

TEST(MergeNdjson, TwoKeysForOneColumnFailTheFileNamingTheLine) {
  // As two CSV headers mapping to one column: ambiguous, so the file fails where it shows.
  const std::string ndjson =
      "{\"OrderID\": 1}\n"
      "{\"OrderID\": 2}\n"
      "{\"order_id\": 3}\n";
  config::TableSchema schema = OrdersSchema();
  RecordingWarehouse wh;
  warehouse::MergeTarget target;
  target.schema = &schema;
  MergeOptions options;
  options.format = config::TableFormat::kNdjson;
  auto stats = MergeTableFiles(schema, config::CsvDialect{}, &wh, target, {File("e.jsonl", ndjson)},
                               {}, options);
  ASSERT_FALSE(stats.ok());
  const std::string message = stats.status().ToString();
  EXPECT_NE(message.find("e.jsonl:3"), std::string::npos) << message;
  EXPECT_NE(message.find("the keys of the JSON objects: duplicate header"), std::string::npos)
      << message;
  EXPECT_TRUE(wh.rows.empty());  // rolled back: nothing half-written
}

}  // namespace
}  // namespace sluice::tasks
