// The fault-injecting warehouse: it fails exactly the call asked for, and a merge it fails
// half-way leaves the table as it was, so a retry gives a clean run's result.
#include "warehouse/fault_warehouse.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "testing/temp_dir.h"
#include "warehouse/warehouse.h"
#include "warehouse/warehouse_test_support.h"

namespace sluice::warehouse {
namespace {

using testing::TempDir;

using Table = std::vector<std::vector<std::optional<std::string>>>;

std::unique_ptr<FaultWarehouse> OpenFaulty(const TempDir& dir, FaultOptions options) {
  auto inner = OpenWarehouse("sqlite://wh", dir.path(), "acme");
  EXPECT_TRUE(inner.ok()) << inner.status().ToString();
  return std::make_unique<FaultWarehouse>(std::move(inner).value(), options);
}

// One merge of three batches of two rows: calls BeginMerge, AddRows x3, Commit.
Result<MergeCounts> MergeInBatches(Warehouse* wh, const config::TableSchema& schema,
                                   const std::string& run) {
  MergeTarget t{&schema, "2026-11-24", run, {}};
  SLUICE_ASSIGN_OR_RETURN(auto writer, wh->BeginMerge(t));
  for (int64_t batch = 0; batch < 3; ++batch) {
    const std::string a = std::to_string(batch * 2 + 1) + ".00";
    const std::string b = std::to_string(batch * 2 + 2) + ".00";
    std::vector<Value> v = {{ValueKind::kInt, batch * 2 + 1, 0, {}},
                            {ValueKind::kText, 0, 0, a},
                            {ValueKind::kInt, batch * 2 + 2, 0, {}},
                            {ValueKind::kText, 0, 0, b}};
    SLUICE_RETURN_IF_ERROR(writer->AddRows(v, 2, "raw/acme/2026-11-24/orders.csv", {}, nullptr));
  }
  return writer->Commit();
}

TEST(FaultWarehouse, FailsTheNthCallWithTheChosenCodeAndPassesTheOthers) {
  TempDir dir;
  auto wh = OpenFaulty(dir, {.fail_call = 2, .code = StatusCode::kUnavailable});
  EXPECT_TRUE(wh->TableExists("orders").ok());  // call 1
  auto second = wh->TableExists("orders");      // call 2
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find("injected fault: call 2 (TableExists)"),
            std::string::npos)
      << second.status().message();
  EXPECT_TRUE(wh->TableExists("orders").ok());  // call 3: only the 2nd fails
  EXPECT_EQ(wh->calls(), 3);

  wh->Reset({.fail_call = 1, .code = StatusCode::kTimeout, .keep_failing = true});
  EXPECT_EQ(wh->Execute("CREATE TABLE t(x INTEGER)").code(), StatusCode::kTimeout);
  EXPECT_EQ(wh->Query("SELECT 1").status().code(), StatusCode::kTimeout);
  wh->Reset({});
  EXPECT_TRUE(wh->Query("SELECT 1").ok());
}

TEST(FaultWarehouse, AFailureMidMergeLeavesTheTableAsItWasAndARetryGivesTheCleanResult) {
  const auto schema = Schema(config::MergeMode::kUpsert);
  // The clean result, without faults.
  TempDir clean_dir;
  auto clean = OpenFaulty(clean_dir, {});
  ASSERT_TRUE(Merge(clean.get(), schema, {{1, "0.50"}, {9, "9.00"}}, "2026-11-23").ok());
  auto clean_counts = MergeInBatches(clean.get(), schema, "run2");
  ASSERT_TRUE(clean_counts.ok()) << clean_counts.status().ToString();
  const std::string query = "SELECT order_id, amount, _ingest_date FROM orders ORDER BY 1";
  const Table expected = Rows(clean.get(), query);
  ASSERT_EQ(expected.size(), 7u);

  // Calls of MergeInBatches: 1 BeginMerge, 2-4 AddRows, 5 Commit. Each in turn fails, with
  // each of the codes a real back-end reports for a failed write.
  for (StatusCode code : {StatusCode::kIoError, StatusCode::kUnavailable, StatusCode::kTimeout}) {
    for (int64_t n = 1; n <= 5; ++n) {
      TempDir dir;
      auto wh = OpenFaulty(dir, {});
      ASSERT_TRUE(Merge(wh.get(), schema, {{1, "0.50"}, {9, "9.00"}}, "2026-11-23").ok());
      const Table before = Rows(wh.get(), query);
      wh->Reset({.fail_call = n, .code = code});
      auto failed = MergeInBatches(wh.get(), schema, "run2");
      ASSERT_FALSE(failed.ok()) << "call " << n;
      EXPECT_EQ(failed.status().code(), code) << "call " << n;
      wh->Reset({});
      EXPECT_EQ(Rows(wh.get(), query), before) << "call " << n << " left a half-written merge";
      EXPECT_EQ(*Rows(wh.get(), "SELECT count(*) FROM sluice_loads")[0][0], "1") << "call " << n;
      // The retry (the same run, as the scheduler's next attempt) gives the clean result.
      auto retried = MergeInBatches(wh.get(), schema, "run2");
      ASSERT_TRUE(retried.ok()) << "call " << n << ": " << retried.status().ToString();
      EXPECT_EQ(Rows(wh.get(), query), expected) << "call " << n;
      EXPECT_EQ(retried->inserted, clean_counts->inserted) << "call " << n;
      EXPECT_EQ(retried->updated, clean_counts->updated) << "call " << n;
    }
  }
}

}  // namespace
}  // namespace sluice::warehouse
