// The warehouse interface suite: what every back-end must do, run against each of them through
// the Warehouse interface only (as the store and ledger suites are). A back-end adds itself with
// one INSTANTIATE_TEST_SUITE_P below giving a factory; the PostgreSQL back-end's uses the test
// server on 127.0.0.1 (tests/pg/pg_test_server.h), a fresh database per test. SQLite-only behaviour
// (files, locks, journals, kills) is tested in sqlite_warehouse_test.cpp.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pg/pg_test_server.h"
#include "testing/temp_dir.h"
#include "warehouse/fault_warehouse.h"
#include "warehouse/warehouse.h"
#include "warehouse/warehouse_test_support.h"

namespace sluice::warehouse {
namespace {

using testing::TempDir;

// A back-end under test: opens `partner`'s warehouse with its data under `dir` (a fresh folder
// per test).
struct BackendCase {
  std::string name;
  std::function<Result<std::unique_ptr<Warehouse>>(const std::filesystem::path& dir,
                                                   std::string_view partner)>
      open;
};

class WarehouseConformance : public ::testing::TestWithParam<BackendCase> {
 protected:
  std::unique_ptr<Warehouse> Open(const TempDir& dir, std::string_view partner) {
    auto wh = GetParam().open(dir.path(), partner);
    EXPECT_TRUE(wh.ok()) << wh.status().ToString();
    return wh.ok() ? std::move(wh).value() : nullptr;
  }
};

TEST_P(WarehouseConformance, UpsertCountsInsertsUpdatesAndLastDuplicateWins) {
  TempDir dir;
  auto wh = Open(dir, "acme");
  auto schema = Schema(config::MergeMode::kUpsert);
  auto c1 = Merge(wh.get(), schema, {{1, "1.00"}, {2, "2.00"}, {1, "9.00"}});
  ASSERT_TRUE(c1.ok()) << c1.status().ToString();
  EXPECT_EQ(c1->loaded, 3);
  EXPECT_EQ(c1->inserted, 2);
  EXPECT_EQ(c1->updated, 1);
  EXPECT_EQ(*Rows(wh.get(), "SELECT amount FROM orders WHERE order_id=1")[0][0], "9.00");
  auto c2 = Merge(wh.get(), schema, {{2, "3.00"}, {3, "4.00"}});
  EXPECT_EQ(c2->inserted, 1);
  EXPECT_EQ(c2->updated, 1);
  EXPECT_EQ(*Rows(wh.get(), "SELECT count(*) FROM orders")[0][0], "3");
}

TEST_P(WarehouseConformance, UpsertOfAnOlderDateKeepsTheKeysALaterDateLoaded) {
  // A repair of a day that failed, run after later days loaded, must give the table a clean run
  // in date order gives: keys the later day loaded keep its values, new keys still arrive.
  auto schema = Schema(config::MergeMode::kUpsert);
  const std::vector<Row> day1 = {{1, "1.00"}, {2, "2.00"}, {3, "3.00"}};
  const std::vector<Row> day2 = {{2, "20.00"}, {4, "40.00"}};
  const std::string sql = "SELECT order_id, amount, _ingest_date FROM orders ORDER BY 1";
  TempDir in_order_dir, repaired_dir;
  auto in_order = Open(in_order_dir, "acme");
  ASSERT_TRUE(Merge(in_order.get(), schema, day1, "2026-11-23").ok());
  ASSERT_TRUE(Merge(in_order.get(), schema, day2, "2026-11-24").ok());
  auto repaired = Open(repaired_dir, "acme");
  ASSERT_TRUE(Merge(repaired.get(), schema, day2, "2026-11-24").ok());
  auto late = Merge(repaired.get(), schema, day1, "2026-11-23");
  ASSERT_TRUE(late.ok()) << late.status().ToString();
  EXPECT_EQ(late->loaded, 3);
  EXPECT_EQ(late->inserted, 2);  // keys 1 and 3
  EXPECT_EQ(late->updated, 0);
  EXPECT_EQ(late->kept_newer, 1);  // key 2 keeps 2026-11-24's 20.00
  EXPECT_EQ(Rows(repaired.get(), sql), Rows(in_order.get(), sql));
  EXPECT_EQ(*Rows(repaired.get(), "SELECT amount FROM orders WHERE order_id=2")[0][0], "20.00");
  // Re-running the older date again, and the later one, changes nothing more.
  auto again = Merge(repaired.get(), schema, day1, "2026-11-23");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->updated, 2);  // keys 1 and 3 are its own
  EXPECT_EQ(again->kept_newer, 1);
  ASSERT_TRUE(Merge(repaired.get(), schema, day2, "2026-11-24").ok());
  EXPECT_EQ(Rows(repaired.get(), sql), Rows(in_order.get(), sql));
}

TEST_P(WarehouseConformance, ReRunningTheSameDateGivesTheSameTableInEveryMode) {
  for (auto mode :
       {config::MergeMode::kUpsert, config::MergeMode::kAppend, config::MergeMode::kReplaceDate}) {
    TempDir dir;
    auto wh = Open(dir, "acme");
    auto schema = Schema(mode);
    std::vector<Row> rows = {{1, "1.00"}, {2, "2.00"}};
    ASSERT_TRUE(Merge(wh.get(), schema, rows, "2026-11-23").ok());
    ASSERT_TRUE(Merge(wh.get(), schema, rows).ok());
    auto first = Rows(wh.get(), "SELECT order_id, amount, _ingest_date FROM orders ORDER BY 1, 3");
    ASSERT_TRUE(Merge(wh.get(), schema, rows).ok());
    auto second = Rows(wh.get(), "SELECT order_id, amount, _ingest_date FROM orders ORDER BY 1, 3");
    EXPECT_EQ(first, second) << "mode " << static_cast<int>(mode);
    size_t expected = mode == config::MergeMode::kUpsert ? 2 : 4;  // two dates kept
    EXPECT_EQ(second.size(), expected);
  }
}

TEST_P(WarehouseConformance, ReplaceDateReplacesOnlyThatDate) {
  TempDir dir;
  auto wh = Open(dir, "acme");
  auto schema = Schema(config::MergeMode::kReplaceDate);
  ASSERT_TRUE(Merge(wh.get(), schema, {{1, "1.00"}}, "2026-11-23").ok());
  ASSERT_TRUE(Merge(wh.get(), schema, {{1, "1.00"}, {2, "2.00"}}).ok());
  auto c = Merge(wh.get(), schema, {{3, "3.00"}});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->deleted, 2);
  auto rows = Rows(wh.get(), "SELECT order_id FROM orders ORDER BY 1");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(*rows[0][0], "1");
  EXPECT_EQ(*rows[1][0], "3");
}

TEST_P(WarehouseConformance, RollbackLeavesTableUnchanged) {
  TempDir dir;
  auto wh = Open(dir, "acme");
  auto schema = Schema(config::MergeMode::kUpsert);
  ASSERT_TRUE(Merge(wh.get(), schema, {{1, "1.00"}}).ok());
  {
    MergeTarget t{&schema, "2026-11-24", "run2", {}};
    auto w = *wh->BeginMerge(t);
    Value v[2] = {{ValueKind::kInt, 5, 0, {}}, {ValueKind::kText, 0, 0, "5.00"}};
    ASSERT_TRUE(w->Add(v, "f", "").ok());
    w->Rollback();
  }
  EXPECT_EQ(*Rows(wh.get(), "SELECT count(*) FROM orders")[0][0], "1");
}

TEST_P(WarehouseConformance, SchemaThatAddsANullableColumnEvolvesTheTable) {
  TempDir dir;
  auto wh = Open(dir, "acme");
  auto schema = Schema(config::MergeMode::kUpsert);
  ASSERT_TRUE(Merge(wh.get(), schema, {{1, "1.00"}}).ok());
  auto wider = schema;
  config::ColumnSchema note;
  note.name = "note";
  wider.columns.push_back(note);
  MergeTarget t{&wider, "2026-11-24", "run2", {}};
  auto w = wh->BeginMerge(t);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  Value v[3] = {{ValueKind::kInt, 2, 0, {}},
                {ValueKind::kText, 0, 0, "2.00"},
                {ValueKind::kText, 0, 0, "hi"}};
  ASSERT_TRUE((*w)->Add(v, "f", "").ok());
  ASSERT_TRUE((*w)->Commit().ok());
  auto rows = Rows(wh.get(), "SELECT note FROM orders ORDER BY order_id");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_FALSE(rows[0][0].has_value());
  EXPECT_EQ(*rows[1][0], "hi");

  auto strict = wider;
  config::ColumnSchema must;
  must.name = "must";
  must.nullable = false;
  strict.columns.push_back(must);
  MergeTarget t2{&strict, "2026-11-24", "run3", {}};
  auto bad = wh->BeginMerge(t2);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("non-nullable column \"must\""), std::string::npos);
}

TEST_P(WarehouseConformance, AColumnTheSchemaMadeNullableWhileTheTableRequiresItIsAClearError) {
  TempDir dir;
  auto wh = Open(dir, "acme");
  auto schema = Schema(config::MergeMode::kUpsert);
  schema.columns[1].nullable = false;  // amount NOT NULL in the table
  ASSERT_TRUE(Merge(wh.get(), schema, {{1, "1.00"}}).ok());
  // Relaxed in the schema: the first row without an amount would fail on SQLite's constraint,
  // so the merge says so before it starts, whatever the day's rows.
  auto relaxed = schema;
  relaxed.columns[1].nullable = true;
  auto bad = Merge(wh.get(), relaxed, {{2, "2.00"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find(
                "has column \"amount\" NOT NULL but the schema now lets it be empty (nullable)"),
            std::string::npos)
      << bad.status().message();
  EXPECT_NE(bad.status().message().find("keep \"nullable\": false"), std::string::npos);
  EXPECT_EQ(*Rows(wh.get(), "SELECT count(*) FROM orders")[0][0], "1");
  // Tightened (the table allows NULL, the schema no longer): loads; the merge itself rejects
  // rows without a value.
  auto loose = Schema(config::MergeMode::kUpsert, "loose");
  ASSERT_TRUE(Merge(wh.get(), loose, {{1, "1.00"}}).ok());
  loose.columns[1].nullable = false;
  EXPECT_TRUE(Merge(wh.get(), loose, {{2, "2.00"}}).ok());
}

TEST_P(WarehouseConformance, ARepeatedKeyInAnAppendOrReplaceDateTableSaysWhatTheKeyMeansThere) {
  TempDir dir;
  auto wh = Open(dir, "acme");
  for (auto mode : {config::MergeMode::kReplaceDate, config::MergeMode::kAppend}) {
    for (bool text_key : {false, true}) {
      auto schema = Schema(mode, std::string(mode == config::MergeMode::kAppend ? "a" : "r") +
                                     (text_key ? "_text" : "_int"));
      schema.primary_key = {text_key ? "amount" : "order_id"};
      schema.columns[1].nullable = false;
      ASSERT_TRUE(Merge(wh.get(), schema, {{1, "1.00"}}, "2026-11-24").ok());
      // The same date again replaces its rows: no conflict.
      ASSERT_TRUE(Merge(wh.get(), schema, {{1, "1.00"}}, "2026-11-24").ok());
      // The next day sends the same key: it cannot be a second row.
      auto bad = Merge(wh.get(), schema, {{1, "1.00"}}, "2026-11-25");
      ASSERT_FALSE(bad.ok()) << schema.table;
      EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
      EXPECT_NE(
          bad.status().message().find(
              "the row's key is already in the table. " +
              std::string(mode == config::MergeMode::kAppend ? "An append" : "A replace_date") +
              " table keeps every date's rows, so its primary key (" + schema.primary_key[0] +
              ") must be unique across all dates and within the file; to keep the latest "
              "row of each key use \"merge\": \"upsert\""),
          std::string::npos)
          << bad.status().message();
    }
  }
}

TEST_P(WarehouseConformance, AMergeRepeatingTheDatesInputsReportsTheFirstLoadsCounts) {
  TempDir dir;
  auto wh = Open(dir, "acme");
  for (auto mode :
       {config::MergeMode::kUpsert, config::MergeMode::kReplaceDate, config::MergeMode::kAppend}) {
    auto schema = Schema(mode, "t" + std::to_string(static_cast<int>(mode)));
    auto merge = [&](const std::string& run, const std::string& inputs,
                     const std::vector<Row>& rows) -> Result<MergeCounts> {
      MergeTarget t{&schema, "2026-11-24", run, inputs};
      SLUICE_ASSIGN_OR_RETURN(auto writer, wh->BeginMerge(t));
      for (const Row& r : rows) {
        Value v[2] = {{ValueKind::kInt, r.id, 0, {}}, {ValueKind::kText, 0, 0, r.amount}};
        SLUICE_RETURN_IF_ERROR(writer->Add(v, "raw/acme/2026-11-24/orders.csv", ""));
      }
      return writer->Commit();
    };
    const std::vector<Row> rows = {{1, "1.00"}, {2, "2.00"}, {2, "2.50"}};
    auto first = merge("run1", "orders.csv abc 30\nconfig 1", rows);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    EXPECT_TRUE(first->same_inputs_as_run.empty());
    // A retry or repair of the date with the same files and configuration: its rows replace
    // the first load's one for one, and it reports what the first load did.
    auto again = merge("run2", "orders.csv abc 30\nconfig 1", rows);
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_EQ(again->same_inputs_as_run, "run1");
    EXPECT_EQ(again->inserted, first->inserted) << schema.table;
    EXPECT_EQ(again->updated, first->updated) << schema.table;
    EXPECT_EQ(again->deleted, first->deleted) << schema.table;
    EXPECT_EQ(again->loaded, 3);
    // A re-delivery (other files): what it did to the table.
    auto other = merge("run3", "orders.csv def 31\nconfig 1", {{1, "1.00"}});
    ASSERT_TRUE(other.ok()) << other.status().ToString();
    EXPECT_TRUE(other->same_inputs_as_run.empty());
    if (mode == config::MergeMode::kUpsert) {
      EXPECT_EQ(other->updated, 1);
      EXPECT_EQ(other->inserted, 0);
    } else {
      EXPECT_EQ(other->deleted, 3);  // the date's rows of the earlier delivery
      EXPECT_EQ(other->inserted, 1);
    }
    // The first inputs again are no longer the date's last merge: counted as they come.
    auto back = merge("run4", "orders.csv abc 30\nconfig 1", rows);
    ASSERT_TRUE(back.ok());
    EXPECT_TRUE(back->same_inputs_as_run.empty());
  }
  // No inputs given (the warehouse used on its own): nothing recorded, counts as they come.
  auto schema = Schema(config::MergeMode::kUpsert, "plain");
  ASSERT_TRUE(Merge(wh.get(), schema, {{1, "1.00"}}).ok());
  auto plain = Merge(wh.get(), schema, {{1, "1.00"}});
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->updated, 1);
  EXPECT_EQ(*Rows(wh.get(), "SELECT count(*) FROM sluice_merges WHERE table_name = 'plain'")[0][0],
            "0");
}

TEST_P(WarehouseConformance, AppendReDeliveryEqualsACleanRunWhateverTheFileNames) {
  TempDir dir;
  auto wh = Open(dir, "acme");
  auto schema = Schema(config::MergeMode::kAppend);
  ASSERT_TRUE(Merge(wh.get(), schema, {{9, "9.00"}}, "2026-11-23").ok());
  ASSERT_TRUE(
      Merge(wh.get(), schema, {{1, "1.00"}, {2, "2.00"}}, "2026-11-24", "raw/acme/d/t_0900.csv")
          .ok());
  // The day is delivered again, corrected, in a file with another name.
  auto c = Merge(wh.get(), schema, {{1, "1.50"}}, "2026-11-24", "raw/acme/d/t_1400.csv");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->deleted, 2);
  auto rows = Rows(wh.get(),
                   "SELECT order_id, amount, l.source_file FROM orders JOIN sluice_loads l ON "
                   "l.load_id = orders._load_id ORDER BY 1");
  ASSERT_EQ(rows.size(), 2u);  // the other day's row and the new delivery's
  EXPECT_EQ(*rows[0][0], "1");
  EXPECT_EQ(*rows[0][1], "1.50");
  EXPECT_EQ(*rows[0][2], "raw/acme/d/t_1400.csv");
  EXPECT_EQ(*rows[1][0], "9");
}

TEST_P(WarehouseConformance, AKeyOrRequiredColumnTheSchemaNoLongerHasIsAClearError) {
  TempDir dir;
  auto wh = Open(dir, "acme");
  auto schema = Schema(config::MergeMode::kUpsert);
  schema.columns[1].nullable = false;  // amount NOT NULL
  ASSERT_TRUE(Merge(wh.get(), schema, {{1, "1.00"}}).ok());

  auto rekeyed = schema;
  rekeyed.primary_key = {"order_id", "amount"};
  auto bad = Merge(wh.get(), rekeyed, {{2, "2.00"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find(
                "has primary key (order_id) but the schema says (order_id, amount)"),
            std::string::npos)
      << bad.status().message();

  auto unkeyed = Schema(config::MergeMode::kAppend);  // no primary key at all
  unkeyed.columns[1].nullable = false;
  bad = Merge(wh.get(), unkeyed, {{1, "1.00"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("but the schema says ()"), std::string::npos)
      << bad.status().message();

  auto narrower = schema;
  narrower.columns.pop_back();  // amount is gone
  MergeTarget t{&narrower, "2026-11-24", "run2", {}};
  auto w = wh->BeginMerge(t);
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.status().message().find("NOT NULL column \"amount\" that the schema no longer"),
            std::string::npos)
      << w.status().message();
  EXPECT_EQ(*Rows(wh.get(), "SELECT count(*) FROM orders")[0][0], "1");  // untouched
}

TEST_P(WarehouseConformance, AddRowsNamesTheFailingRowAndAddsNothingOfTheBatch) {
  TempDir dir;
  auto wh = Open(dir, "acme");
  auto schema = Schema(config::MergeMode::kUpsert);
  schema.columns[1].nullable = false;
  MergeTarget t{&schema, "2026-11-24", "run1", {}};
  auto w = wh->BeginMerge(t);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  // Rows x columns; the third row's amount is NULL in a NOT NULL column.
  std::vector<Value> v = {{ValueKind::kInt, 1, 0, {}}, {ValueKind::kText, 0, 0, "1.00"},
                          {ValueKind::kInt, 2, 0, {}}, {ValueKind::kText, 0, 0, "2.00"},
                          {ValueKind::kInt, 3, 0, {}}, {ValueKind::kNull, 0, 0, {}},
                          {ValueKind::kInt, 4, 0, {}}, {ValueKind::kText, 0, 0, "4.00"}};
  // A batch that fits the table goes in whole, with its lineage.
  std::vector<Value> ok = {{ValueKind::kInt, 5, 0, {}},
                           {ValueKind::kText, 0, 0, "5.00"},
                           {ValueKind::kInt, 6, 0, {}},
                           {ValueKind::kText, 0, 0, "6.00"}};
  ASSERT_TRUE((*w)->AddRows(ok, 2, "raw/acme/d/orders_2.csv", {}, nullptr).ok());
  auto rows =
      Rows(wh.get(),
           "SELECT order_id, amount, l.source_file, l.run_id FROM orders JOIN sluice_loads l ON "
           "l.load_id = orders._load_id ORDER BY 1");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(*rows[0][0], "5");
  EXPECT_EQ(*rows[1][1], "6.00");
  EXPECT_EQ(*rows[1][2], "raw/acme/d/orders_2.csv");
  EXPECT_EQ(*rows[1][3], "run1");
  size_t failed = 99;
  Status st = (*w)->AddRows(v, 4, "raw/acme/d/orders.csv", {}, &failed);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(failed, 2u);
  EXPECT_NE(st.message().find("NOT NULL"), std::string::npos) << st.message();
  // After a failure the merge can only be rolled back, which leaves nothing of it.
  EXPECT_FALSE((*w)->AddRows(ok, 2, "raw/acme/d/orders_2.csv", {}, nullptr).ok());
  auto counts = (*w)->Commit();
  ASSERT_FALSE(counts.ok());
  EXPECT_NE(counts.status().message().find("can only be rolled back"), std::string::npos)
      << counts.status().ToString();
  (*w)->Rollback();
  EXPECT_EQ(*Rows(wh.get(), "SELECT count(*) FROM orders")[0][0], "0");
}

TEST_P(WarehouseConformance, ExecuteRunsStatementsInOneTransaction) {
  TempDir dir;
  auto wh = Open(dir, "acme");
  ASSERT_TRUE(wh->Execute("CREATE TABLE t(x INTEGER); INSERT INTO t VALUES (1);").ok());
  Status bad = wh->Execute("INSERT INTO t VALUES (2); INSERT INTO nope VALUES (3);");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("nope"), std::string::npos) << bad.message();
  EXPECT_EQ(*Rows(wh.get(), "SELECT count(*) FROM t")[0][0], "1");
}

TEST_P(WarehouseConformance, EachFileLoadedIsOneLoadARetryOfTheRunReusesIt) {
  TempDir dir;
  auto wh = Open(dir, "acme");
  auto schema = Schema(config::MergeMode::kUpsert);
  MergeTarget t{&schema, "2026-11-24", "run1", {}};
  auto merge = [&]() -> Result<MergeCounts> {
    SLUICE_ASSIGN_OR_RETURN(auto w, wh->BeginMerge(t));
    Value a[2] = {{ValueKind::kInt, 1, 0, {}}, {ValueKind::kText, 0, 0, "1.00"}};
    Value b[2] = {{ValueKind::kInt, 2, 0, {}}, {ValueKind::kText, 0, 0, "2.00"}};
    SLUICE_RETURN_IF_ERROR(w->Add(a, "raw/acme/2026-11-24/orders_1.csv", ""));
    SLUICE_RETURN_IF_ERROR(w->Add(b, "raw/acme/2026-11-24/orders_2.csv", ""));
    return w->Commit();
  };
  auto first = merge();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->inserted, 2);  // loads written meanwhile are not counted as rows
  auto loads = Rows(wh.get(),
                    "SELECT load_id, table_name, ingest_date, run_id, partner, source_file, "
                    "loaded_at IS NOT NULL FROM sluice_loads ORDER BY load_id");
  ASSERT_EQ(loads.size(), 2u);
  EXPECT_EQ(*loads[0][1], "orders");
  EXPECT_EQ(*loads[0][2], "2026-11-24");
  EXPECT_EQ(*loads[0][3], "run1");
  EXPECT_EQ(*loads[0][4], "acme");
  EXPECT_EQ(*loads[0][5], "raw/acme/2026-11-24/orders_1.csv");
  EXPECT_EQ(*loads[1][5], "raw/acme/2026-11-24/orders_2.csv");
  const auto before = Rows(wh.get(), "SELECT order_id, _load_id FROM orders ORDER BY 1");

  // A retry of the run (a repair) merges the same files again: same loads, same _load_id.
  auto again = merge();
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->updated, 2);
  EXPECT_EQ(again->inserted, 0);
  EXPECT_EQ(Rows(wh.get(), "SELECT count(*) FROM sluice_loads")[0][0], "2");
  EXPECT_EQ(Rows(wh.get(), "SELECT order_id, _load_id FROM orders ORDER BY 1"), before);
  auto lineage = Rows(wh.get(),
                      "SELECT t.order_id, l.run_id, l.source_file FROM orders t JOIN sluice_loads "
                      "l ON l.load_id = t._load_id ORDER BY t.order_id");
  ASSERT_EQ(lineage.size(), 2u);
  EXPECT_EQ(*lineage[1][1], "run1");
  EXPECT_EQ(*lineage[1][2], "raw/acme/2026-11-24/orders_2.csv");
}

TEST_P(WarehouseConformance, LoadIdsDoNotDependOnWhichMergeOfADateCommitsFirst) {
  // A run merges a date's tables concurrently, so they commit in any order; two clean runs must
  // still number their loads alike (MergeTarget::date_loads), and a retry keeps the numbers.
  auto orders = Schema(config::MergeMode::kUpsert, "orders");
  auto customers = Schema(config::MergeMode::kAppend, "customers");
  const std::vector<std::pair<std::string, std::string>> loads = {
      {"customers", "raw/acme/2026-11-24/customers.csv"},
      {"orders", "raw/acme/2026-11-24/orders_1.csv"},
      {"orders", "raw/acme/2026-11-24/orders_2.csv"}};
  auto merge = [&](Warehouse* wh, const config::TableSchema& schema,
                   const std::string& run) -> Status {
    MergeTarget t{&schema, "2026-11-24", run, {}};
    t.date_loads = loads;
    SLUICE_ASSIGN_OR_RETURN(auto w, wh->BeginMerge(t));
    int64_t id = 0;
    for (const auto& [table, file] : loads) {
      if (table != schema.table) continue;
      Value v[2] = {{ValueKind::kInt, ++id, 0, {}}, {ValueKind::kText, 0, 0, "1.00"}};
      SLUICE_RETURN_IF_ERROR(w->Add(v, file, ""));
    }
    return w->Commit().status();
  };
  TempDir first_dir, second_dir;
  auto first = Open(first_dir, "acme");
  auto second = Open(second_dir, "acme");
  ASSERT_TRUE(merge(first.get(), orders, "run1").ok());
  ASSERT_TRUE(merge(first.get(), customers, "run1").ok());
  ASSERT_TRUE(merge(second.get(), customers, "run1").ok());
  ASSERT_TRUE(merge(second.get(), orders, "run1").ok());
  const std::string loads_sql =
      "SELECT table_name, source_file, load_id FROM sluice_loads ORDER BY 1, 2";
  const std::string rows_sql =
      "SELECT 'o', order_id, _load_id FROM orders UNION ALL SELECT 'c', order_id, _load_id FROM "
      "customers ORDER BY 1, 2";
  const auto numbered = Rows(first.get(), loads_sql);
  ASSERT_EQ(numbered.size(), 3u);
  EXPECT_EQ(Rows(second.get(), loads_sql), numbered);
  EXPECT_EQ(Rows(second.get(), rows_sql), Rows(first.get(), rows_sql));
  // A retry (or repair) of the run merges again with the same numbers.
  ASSERT_TRUE(merge(first.get(), customers, "run1").ok());
  ASSERT_TRUE(merge(first.get(), orders, "run1").ok());
  EXPECT_EQ(Rows(first.get(), loads_sql), numbered);
  // Another run of the date gets loads of its own, numbered after every earlier one.
  ASSERT_TRUE(merge(first.get(), orders, "run2").ok());
  EXPECT_EQ(*Rows(first.get(),
                  "SELECT CASE WHEN min(load_id) > (SELECT max(load_id) FROM sluice_loads "
                  "WHERE run_id = 'run1') THEN 1 ELSE 0 END FROM sluice_loads "
                  "WHERE run_id = 'run2'")[0][0],
            "1");
}

TEST_P(WarehouseConformance, ReplacingADateReplacesItsLoadsAndARollbackKeepsThem) {
  TempDir dir;
  auto wh = Open(dir, "acme");
  auto schema = Schema(config::MergeMode::kReplaceDate);
  ASSERT_TRUE(Merge(wh.get(), schema, {{1, "1.00"}}, "2026-11-23", "raw/acme/d1/a.csv").ok());
  ASSERT_TRUE(Merge(wh.get(), schema, {{2, "2.00"}}, "2026-11-24", "raw/acme/d2/a.csv").ok());
  ASSERT_TRUE(Merge(wh.get(), schema, {{3, "3.00"}}, "2026-11-24", "raw/acme/d2/b.csv").ok());
  // The date's earlier load went with its rows: every load is one some row points to.
  EXPECT_EQ(Rows(wh.get(), "SELECT source_file FROM sluice_loads ORDER BY 1"),
            (std::vector<std::vector<std::optional<std::string>>>{{"raw/acme/d1/a.csv"},
                                                                  {"raw/acme/d2/b.csv"}}));
  EXPECT_EQ(*Rows(wh.get(),
                  "SELECT count(*) FROM sluice_loads WHERE load_id NOT IN "
                  "(SELECT _load_id FROM orders)")[0][0],
            "0");
  {
    MergeTarget t{&schema, "2026-11-24", "run2", {}};
    auto w = wh->BeginMerge(t);
    ASSERT_TRUE(w.ok());
    Value v[2] = {{ValueKind::kInt, 4, 0, {}}, {ValueKind::kText, 0, 0, "4.00"}};
    ASSERT_TRUE((*w)->Add(v, "raw/acme/d2/c.csv", "").ok());
    (*w)->Rollback();
  }
  EXPECT_EQ(*Rows(wh.get(), "SELECT count(*) FROM sluice_loads")[0][0], "2");
  EXPECT_EQ(Rows(wh.get(), "SELECT order_id FROM orders ORDER BY 1"),
            (std::vector<std::vector<std::optional<std::string>>>{{"1"}, {"3"}}));
}

TEST_P(WarehouseConformance, ARefusedSchemaChangeLeavesTheTableAsItWas) {
  TempDir dir;
  auto wh = Open(dir, "acme");
  auto schema = Schema(config::MergeMode::kUpsert);
  ASSERT_TRUE(Merge(wh.get(), schema, {{1, "1.00"}}).ok());
  auto other_key = schema;
  other_key.primary_key = {"amount"};
  auto refused = Merge(wh.get(), other_key, {{2, "2.00"}});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("a key cannot change in place"), std::string::npos)
      << refused.status().message();
  EXPECT_EQ(Rows(wh.get(), "SELECT order_id, amount FROM orders"),
            (std::vector<std::vector<std::optional<std::string>>>{{"1", "1.00"}}));
}

TEST_P(WarehouseConformance, TableExistsAndQueryCountsRowsPastTheLimit) {
  TempDir dir;
  auto wh = Open(dir, "acme");
  EXPECT_FALSE(*wh->TableExists("orders"));
  auto schema = Schema(config::MergeMode::kAppend);
  ASSERT_TRUE(Merge(wh.get(), schema, {{1, "1.00"}, {2, "2.00"}, {3, "3.00"}}).ok());
  EXPECT_TRUE(*wh->TableExists("orders"));
  int64_t total = 0;
  auto r = wh->Query("SELECT order_id FROM orders ORDER BY order_id", 2, &total);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->columns, std::vector<std::string>{"order_id"});
  EXPECT_EQ(r->rows.size(), 2u);
  EXPECT_EQ(total, 3);
  EXPECT_FALSE(wh->Describe().empty());
}

Result<std::unique_ptr<Warehouse>> OpenSqlite(const std::filesystem::path& dir,
                                              std::string_view partner,
                                              const std::string& options) {
  return OpenWarehouse("sqlite://wh" + options, dir, partner);
}

INSTANTIATE_TEST_SUITE_P(
    Backends, WarehouseConformance,
    ::testing::Values(BackendCase{"sqlite_wal",
                                  [](const std::filesystem::path& dir, std::string_view partner) {
                                    return OpenSqlite(dir, partner, "");
                                  }},
                      BackendCase{"sqlite_rollback",
                                  [](const std::filesystem::path& dir, std::string_view partner) {
                                    return OpenSqlite(dir, partner, "?journal=rollback");
                                  }},
                      // The fault wrapper in pass-through mode must be invisible.
                      BackendCase{
                          "fault_passthrough",
                          [](const std::filesystem::path& dir,
                             std::string_view partner) -> Result<std::unique_ptr<Warehouse>> {
                            SLUICE_ASSIGN_OR_RETURN(auto inner, OpenSqlite(dir, partner, ""));
                            return std::unique_ptr<Warehouse>(
                                new FaultWarehouse(std::move(inner), FaultOptions{}));
                          }},
                      BackendCase{"postgresql",
                                  [](const std::filesystem::path& dir, std::string_view partner)
                                      -> Result<std::unique_ptr<Warehouse>> {
                                    const std::string url = testing::PgDatabaseFor(dir);
                                    if (url.empty()) {
                                      return Status::Unavailable("no PostgreSQL test server: " +
                                                                 testing::TestPgServer().error);
                                    }
                                    return OpenWarehouse(url, dir, partner);
                                  }}),
    [](const ::testing::TestParamInfo<BackendCase>& p) { return p.param.name; });

}  // namespace
}  // namespace sluice::warehouse
