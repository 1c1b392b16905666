// MergeTableFiles parses on one thread and writes on another (or, with one core, does both in
// turn): these tests drive both ends with a fake warehouse, both ways, so a writer failure
// mid-stream and a parse failure after many batches are checked without SQLite.
#include <gtest/gtest.h>

#include "config/pipeline_config.h"
#include "csv/tokenizer.h"
#include "tasks/merge_table.h"
#include "warehouse/warehouse.h"

namespace sluice::tasks {
namespace {

class FakeWriter : public warehouse::TableWriter {
 public:
  FakeWriter(int64_t fail_at, std::vector<std::string>* seen, bool* committed)
      : fail_at_(fail_at), seen_(seen), committed_(committed) {}
  Status Add(std::span<const warehouse::Value> values, std::string_view source_file,
             std::string_view) override {
    if (++added_ == fail_at_) return Status::IoError("disk full");
    if (added_ <= 3 || added_ % 5000 == 0) {
      seen_->push_back(std::string(source_file) + ":" + std::to_string(values[0].i) + ":" +
                       std::string(values[1].s));
    }
    return Status::Ok();
  }
  Result<warehouse::MergeCounts> Commit() override {
    *committed_ = true;
    warehouse::MergeCounts c;
    c.loaded = c.inserted = added_;
    return c;
  }
  void Rollback() override {}

 private:
  int64_t fail_at_;
  int64_t added_ = 0;
  std::vector<std::string>* seen_;
  bool* committed_;
};

class FakeWarehouse : public warehouse::Warehouse {
 public:
  explicit FakeWarehouse(int64_t fail_at) : fail_at_(fail_at) {}
  Result<std::unique_ptr<warehouse::TableWriter>> BeginMerge(
      const warehouse::MergeTarget&) override {
    return std::unique_ptr<warehouse::TableWriter>(new FakeWriter(fail_at_, &seen, &committed));
  }
  Result<warehouse::QueryResult> Query(std::string_view, int64_t, int64_t*) override {
    return warehouse::QueryResult{};
  }
  Status Execute(std::string_view) override { return Status::Ok(); }
  Result<bool> TableExists(std::string_view) override { return true; }
  Result<std::vector<std::vector<std::string>>> UniqueKeys(std::string_view) override {
    return std::vector<std::vector<std::string>>{};
  }
  std::string Describe() const override { return "fake"; }
  std::vector<std::string> seen;
  bool committed = false;

 private:
  int64_t fail_at_;
};

config::TableSchema Schema() {
  config::TableSchema s;
  s.table = "t";
  config::ColumnSchema id;
  id.name = "id";
  id.type = config::ColumnType::kInt64;
  config::ColumnSchema name;
  name.name = "name";
  s.columns = {id, name};
  s.max_reject_ratio = 0.5;
  return s;
}

std::string Csv(int rows, const std::string& tail = "") {
  std::string out = "id,name\n";
  for (int i = 1; i <= rows; ++i) out += std::to_string(i) + ",n" + std::to_string(i) + "\n";
  return out + tail;
}

MergeFile File(const std::string& key, std::shared_ptr<std::string> data) {
  return {key, [data]() -> Result<std::unique_ptr<csv::ByteSource>> {
            return std::unique_ptr<csv::ByteSource>(new csv::StringSource(*data));
          }};
}

// The parameter: MergeOptions::parse_on_own_thread.
class MergePipeline : public ::testing::TestWithParam<bool> {
 protected:
  static MergeOptions Options() {
    MergeOptions o;
    o.parse_on_own_thread = GetParam();
    return o;
  }
};

TEST_P(MergePipeline, RowsArriveInOrderWithTheirTextAcrossManyBatches) {
  config::TableSchema schema = Schema();
  FakeWarehouse wh(/*fail_at=*/-1);
  warehouse::MergeTarget target;
  target.schema = &schema;
  auto a = std::make_shared<std::string>(Csv(20000));
  auto b = std::make_shared<std::string>(Csv(3));
  auto stats =
      MergeTableFiles(schema, {}, &wh, target, {File("a.csv", a), File("b.csv", b)}, {}, Options());
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->rows_read, 20003);
  EXPECT_EQ(stats->rows_loaded, 20003);
  EXPECT_EQ(wh.seen, (std::vector<std::string>{"a.csv:1:n1", "a.csv:2:n2", "a.csv:3:n3",
                                               "a.csv:5000:n5000", "a.csv:10000:n10000",
                                               "a.csv:15000:n15000", "a.csv:20000:n20000"}));
}

// Checks every row's text: each text column of row i holds i's letter repeated, all of one
// size, which it records.
class TextCheckingWriter : public warehouse::TableWriter {
 public:
  explicit TextCheckingWriter(std::vector<size_t>* sizes) : sizes_(sizes) {}
  Status Add(std::span<const warehouse::Value> values, std::string_view,
             std::string_view) override {
    const char letter = static_cast<char>('a' + values[0].i % 26);
    for (size_t c = 1; c < values.size(); ++c) {
      if (values[c].s.size() != values[1].s.size() ||
          values[c].s.find_first_not_of(letter) != std::string_view::npos) {
        return Status::Internal("row " + std::to_string(values[0].i) + " has the wrong text");
      }
    }
    sizes_->push_back(values[1].s.size());
    return Status::Ok();
  }
  Result<warehouse::MergeCounts> Commit() override {
    warehouse::MergeCounts c;
    c.loaded = c.inserted = static_cast<int64_t>(sizes_->size());
    return c;
  }
  void Rollback() override {}

 private:
  std::vector<size_t>* sizes_;
};

class TextCheckingWarehouse : public FakeWarehouse {
 public:
  TextCheckingWarehouse() : FakeWarehouse(-1) {}
  Result<std::unique_ptr<warehouse::TableWriter>> BeginMerge(
      const warehouse::MergeTarget&) override {
    return std::unique_ptr<warehouse::TableWriter>(new TextCheckingWriter(&sizes));
  }
  std::vector<size_t> sizes;
};

TEST_P(MergePipeline, BigRowsKeepTheirBytesAcrossBatches) {
  // Text is copied into a 4 MiB arena per batch: a row that does not fit ships the batch first,
  // and a row larger than the arena (six 1 MiB fields) gets a larger one. Every byte arrives.
  config::TableSchema schema = Schema();
  for (int c = 2; c <= 6; ++c) {
    config::ColumnSchema more;
    more.name = "text" + std::to_string(c);
    schema.columns.push_back(more);
  }
  std::vector<size_t> sizes = {10, 300 << 10, 300 << 10, 300 << 10, 1 << 20, 5, 1 << 20, 7};
  for (int i = 0; i < 5000; ++i) sizes.push_back(100 + i % 300);
  std::string csv = "id,name,text2,text3,text4,text5,text6\n";
  for (size_t i = 0; i < sizes.size(); ++i) {
    csv += std::to_string(i);
    for (int c = 0; c < 6; ++c) csv += "," + std::string(sizes[i], static_cast<char>('a' + i % 26));
    csv += "\n";
  }
  TextCheckingWarehouse wh;
  warehouse::MergeTarget target;
  target.schema = &schema;
  auto data = std::make_shared<std::string>(csv);
  auto stats = MergeTableFiles(schema, {}, &wh, target, {File("big.csv", data)}, {}, Options());
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->rows_rejected, 0);
  EXPECT_EQ(wh.sizes, sizes);
}

TEST_P(MergePipeline, WriterFailureStopsTheParserAndNamesFileAndLine) {
  config::TableSchema schema = Schema();
  FakeWarehouse wh(/*fail_at=*/12345);
  warehouse::MergeTarget target;
  target.schema = &schema;
  // Far more rows than the queue holds, so the parser is blocked on a full queue when the
  // writer gives up: the merge must return, not hang.
  auto a = std::make_shared<std::string>(Csv(200000));
  auto stats = MergeTableFiles(schema, {}, &wh, target, {File("a.csv", a)}, {}, Options());
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), StatusCode::kIoError);
  // Row 12345 is on line 12346 (after the header).
  EXPECT_EQ(stats.status().ToString(), "a.csv:12346: disk full");
}

TEST_P(MergePipeline, ParseFailureAfterManyBatchesIsReported) {
  config::TableSchema schema = Schema();
  FakeWarehouse wh(/*fail_at=*/-1);
  warehouse::MergeTarget target;
  target.schema = &schema;
  auto a = std::make_shared<std::string>(Csv(30000, "30001,\"unterminated\n"));
  auto stats = MergeTableFiles(schema, {}, &wh, target, {File("a.csv", a)}, {}, Options());
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.status().ToString().find("a.csv"), std::string::npos)
      << stats.status().ToString();
}

TEST(MergeEmptyFile, FailsTheMergeUnlessTheTableIsOptional) {
  config::TableSchema schema = Schema();
  warehouse::MergeTarget target;
  target.schema = &schema;
  auto a = std::make_shared<std::string>(Csv(3));
  auto empty = std::make_shared<std::string>();
  {
    FakeWarehouse wh(/*fail_at=*/-1);
    auto stats =
        MergeTableFiles(schema, {}, &wh, target, {File("a.csv", a), File("b.csv", empty)}, {});
    ASSERT_FALSE(stats.ok());
    EXPECT_EQ(stats.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(stats.status().ToString().find("b.csv: the file is empty: no header line and no "
                                             "rows; ask the partner to send the table again"),
              std::string::npos)
        << stats.status().ToString();
    EXPECT_FALSE(wh.committed);
  }
  {
    FakeWarehouse wh(/*fail_at=*/-1);
    MergeOptions optional;
    optional.empty_files_ok = true;
    auto stats = MergeTableFiles(schema, {}, &wh, target, {File("a.csv", a), File("b.csv", empty)},
                                 {}, optional);
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    EXPECT_EQ(stats->rows_loaded, 3);
  }
}

INSTANTIATE_TEST_SUITE_P(ParseThread, MergePipeline, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? "OnItsOwnThread" : "OnTheWriterThread";
                         });

}  // namespace
}  // namespace sluice::tasks
