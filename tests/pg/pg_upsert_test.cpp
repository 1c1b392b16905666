// The PostgreSQL upsert into a table that already holds rows (postgres_merge_sql.h: an UPDATE of
// the keys the table holds and an INSERT of the others, from the stage itself when its keys are
// distinct, else from its last row of each key): the same counts and rows as SQLite on the same
// merges, and nothing of a merge killed after its rows reached the table. A real server:
// tests/pg/pg_test_server.h.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "pg/pg_test_server.h"
#include "testing/temp_dir.h"
#include "warehouse/postgres_key_hash.h"
#include "warehouse/warehouse.h"
#include "warehouse/warehouse_test_support.h"

namespace sluice::warehouse {
namespace {

using testing::TempDir;

class PgUpsertTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(testing::TestPgServer().error, "");
    url_ = testing::NewPgDatabase();
    ASSERT_FALSE(url_.empty());
  }
  std::unique_ptr<Warehouse> Open(const std::string& url, std::string_view partner = "acme") {
    auto wh = OpenWarehouse(url, dir_.path(), partner);
    EXPECT_TRUE(wh.ok()) << wh.status().ToString();
    return wh.ok() ? std::move(wh).value() : nullptr;
  }
  TempDir dir_;
  std::string url_;
};

// A merge of `rows` (per source file, in order); with `query_between`, a query inside the merge
// after each file (it makes the writer merge what it staged so far: several flushes).
Result<MergeCounts> MergeFiles(Warehouse* wh, const config::TableSchema& schema,
                               const std::vector<std::vector<Row>>& files, const std::string& date,
                               bool query_between) {
  MergeTarget t{&schema, date, "run-" + date, {}};
  SLUICE_ASSIGN_OR_RETURN(auto writer, wh->BeginMerge(t));
  for (size_t f = 0; f < files.size(); ++f) {
    const std::string file = "raw/acme/" + date + "/orders-" + std::to_string(f) + ".csv";
    for (const Row& r : files[f]) {
      Value v[2] = {{ValueKind::kInt, r.id, 0, {}}, {ValueKind::kText, 0, 0, r.amount}};
      SLUICE_RETURN_IF_ERROR(writer->Add(v, file, ""));
    }
    if (query_between) SLUICE_RETURN_IF_ERROR(wh->Query("SELECT count(*) FROM orders").status());
  }
  return writer->Commit();
}

TEST_F(PgUpsertTest, AnUpsertIntoATableWithRowsCountsNewReplacedAndKeptKeysAsSqliteDoes) {
  auto pg = Open(url_);
  auto lite = Open("sqlite://wh");
  ASSERT_TRUE(pg && lite);
  auto schema = Schema(config::MergeMode::kUpsert);
  struct Step {
    std::vector<Row> rows;
    std::string date;
    int64_t inserted, updated, kept_newer;
  };
  const std::vector<Step> steps = {
      {{{1, "1.00"}, {2, "2.00"}, {3, "3.00"}, {4, "4.00"}}, "2026-11-24", 4, 0, 0},
      // Distinct keys: 3 and 4 replaced, 5 and 6 new.
      {{{3, "3.50"}, {4, "4.50"}, {5, "5.00"}, {6, "6.00"}}, "2026-11-25", 2, 2, 0},
      // Repeated keys: 5 twice (replaced: updated 2), 7 twice (new: inserted 1, updated 1).
      {{{5, "5.10"}, {7, "7.00"}, {5, "5.20"}, {7, "7.10"}}, "2026-11-25", 1, 3, 0},
      // An older date: 3 (from 2026-11-25) and 2 (from 2026-11-24) kept, 8 new; distinct keys.
      {{{3, "0.30"}, {2, "0.20"}, {8, "0.80"}}, "2026-11-23", 1, 0, 2},
      // Its own date again: 8 replaced (updated), 3 still kept.
      {{{8, "0.81"}, {3, "0.31"}}, "2026-11-23", 0, 1, 1},
      // An older date with repeated keys: 5 kept twice, 9 new twice.
      {{{5, "0.50"}, {9, "0.90"}, {5, "0.51"}, {9, "0.91"}}, "2026-11-23", 1, 1, 2},
  };
  for (const Step& step : steps) {
    auto p = Merge(pg.get(), schema, step.rows, step.date);
    auto s = Merge(lite.get(), schema, step.rows, step.date);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ(p->inserted, step.inserted) << step.date;
    EXPECT_EQ(p->updated, step.updated) << step.date;
    EXPECT_EQ(p->kept_newer, step.kept_newer) << step.date;
    EXPECT_EQ(p->deleted, 0);
    EXPECT_EQ(s->inserted, p->inserted) << step.date;
    EXPECT_EQ(s->updated, p->updated) << step.date;
    EXPECT_EQ(s->kept_newer, p->kept_newer) << step.date;
  }
  const std::string sql = "SELECT order_id, amount, _ingest_date FROM orders ORDER BY 1";
  EXPECT_EQ(Rows(pg.get(), sql), Rows(lite.get(), sql));
  EXPECT_EQ(*Rows(pg.get(), "SELECT amount FROM orders WHERE order_id = 7")[0][0], "7.10");
  EXPECT_EQ(*Rows(pg.get(), "SELECT amount FROM orders WHERE order_id = 9")[0][0], "0.91");
}

TEST_F(PgUpsertTest, RandomDailyUpsertsGiveSqlitesCountsAndRows) {
  auto pg = Open(url_);
  auto lite = Open("sqlite://wh");
  ASSERT_TRUE(pg && lite);
  auto schema = Schema(config::MergeMode::kUpsert);
  std::mt19937 rng(20261207);
  const std::vector<std::string> dates = {"2026-11-21", "2026-11-22", "2026-11-23", "2026-11-24"};
  for (int step = 0; step < 12; ++step) {
    // Files of a merge: keys from a range that moves with the step, some repeated.
    std::vector<std::vector<Row>> files(1 + rng() % 3);
    for (auto& file : files) {
      const int n = static_cast<int>(rng() % 300);
      for (int i = 0; i < n; ++i) {
        const int64_t id = step * 40 + static_cast<int64_t>(rng() % (rng() % 4 == 0 ? 60 : 400));
        file.push_back({id, std::to_string(rng() % 10000) + "." + std::to_string(rng() % 90 + 10)});
      }
    }
    const std::string& date = dates[rng() % dates.size()];
    const bool query_between = rng() % 2 == 0;
    auto p = MergeFiles(pg.get(), schema, files, date, query_between);
    auto s = MergeFiles(lite.get(), schema, files, date, query_between);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ(p->loaded, s->loaded) << "step " << step;
    EXPECT_EQ(p->inserted, s->inserted) << "step " << step;
    EXPECT_EQ(p->updated, s->updated) << "step " << step;
    EXPECT_EQ(p->kept_newer, s->kept_newer) << "step " << step;
  }
  const std::string sql = "SELECT order_id, amount, _ingest_date FROM orders ORDER BY 1";
  const auto rows = Rows(pg.get(), sql);
  EXPECT_GT(rows.size(), 400u);
  EXPECT_EQ(rows, Rows(lite.get(), sql));
}

// A merge of `batches` of rows, each handed over in one AddRows call (as sluice's merge task
// does, 4096 rows at a time); batch i from source file i / files_every (a new load each time);
// with `query_between`, a query inside the merge after each batch.
Result<MergeCounts> MergeBatches(Warehouse* wh, const config::TableSchema& schema,
                                 const std::vector<std::vector<Row>>& batches,
                                 const std::string& date, size_t files_every = 1000,
                                 bool query_between = false) {
  MergeTarget t{&schema, date, "run-" + date, {}};
  SLUICE_ASSIGN_OR_RETURN(auto writer, wh->BeginMerge(t));
  for (size_t b = 0; b < batches.size(); ++b) {
    const std::vector<Row>& batch = batches[b];
    const std::string file = "raw/acme/orders-" + std::to_string(b / files_every) + ".csv";
    std::vector<Value> values;
    for (const Row& r : batch) {
      values.push_back({ValueKind::kInt, r.id, 0, {}});
      values.push_back({ValueKind::kText, 0, 0, r.amount});
    }
    size_t failed_row = 0;
    SLUICE_RETURN_IF_ERROR(writer->AddRows(values, batch.size(), file, {}, &failed_row));
    if (query_between) SLUICE_RETURN_IF_ERROR(wh->Query("SELECT count(*) FROM orders").status());
  }
  return writer->Commit();
}

// The first load into an empty table goes straight in while its keys are distinct, checked a
// batch at a time before the batch is sent (postgres_writer.cpp, CheckBatchKeys): a key seen
// again in the middle of a batch, or twice in one batch, sends the rest of the merge through the
// stage. The rows sent straight in take their lineage from column defaults set per load
// (SetLineageDefaults). Counts and rows, lineage included, stay SQLite's; the table's key is
// whole again after the load and it keeps no default.
TEST_F(PgUpsertTest, AFirstLoadInBatchesWithKeysRepeatedMidBatchGivesSqlitesCountsAndRows) {
  auto schema = Schema(config::MergeMode::kUpsert);
  const std::string sql = "SELECT order_id, amount, _ingest_date, _load_id FROM orders ORDER BY 1";
  struct Case {
    const char* name;
    std::vector<std::vector<Row>> batches;
    int64_t inserted, updated;
    size_t files_every = 1000;  // batches per source file
    bool query_between = false;
  };
  auto keys = [](int64_t from, int64_t to, const std::string& amount) {
    std::vector<Row> rows;
    for (int64_t i = from; i <= to; ++i) rows.push_back({i, amount});
    return rows;
  };
  auto cat = [](std::vector<Row> a, const std::vector<Row>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  const std::vector<Case> cases = {
      {"distinct keys in three batches",
       {keys(1, 5000, "1.00"), keys(5001, 9000, "1.00"), keys(9001, 9100, "1.00")},
       9100,
       0},
      {"a key of an earlier batch again in the middle of the second",
       {keys(1, 3000, "1.00"),
        cat(cat(keys(3001, 3500, "1.00"), {{42, "2.00"}}), keys(3501, 4000, "1.00"))},
       4000,
       1},
      {"a key twice in the first batch, and again in the next",
       {cat(cat(keys(1, 700, "1.00"), {{7, "2.00"}}), keys(701, 900, "1.00")),
        cat(keys(901, 1000, "1.00"), {{7, "3.00"}, {950, "3.00"}})},
       1000,
       3},
      {"three files, a query inside the merge after each batch (the key is built early)",
       {keys(1, 2000, "1.00"), keys(2001, 4000, "1.00"), keys(4001, 6000, "1.00"),
        keys(6001, 6500, "1.00")},
       6500,
       0,
       1,
       true},
      {"two files of two batches, a key of the first file again in the second",
       {keys(1, 1000, "1.00"), keys(1001, 2000, "1.00"), keys(2001, 2500, "1.00"),
        cat(keys(2501, 2600, "1.00"), {{1500, "2.00"}})},
       2600,
       1,
       2},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string url = testing::NewPgDatabase();
    ASSERT_FALSE(url.empty());
    TempDir lite_dir;
    auto pg = OpenWarehouse(url, dir_.path(), "acme");
    auto lite = OpenWarehouse("sqlite://wh", lite_dir.path(), "acme");
    ASSERT_TRUE(pg.ok() && lite.ok());
    auto p =
        MergeBatches(pg->get(), schema, c.batches, "2026-11-24", c.files_every, c.query_between);
    auto s =
        MergeBatches(lite->get(), schema, c.batches, "2026-11-24", c.files_every, c.query_between);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ(p->inserted, c.inserted);
    EXPECT_EQ(p->updated, c.updated);
    EXPECT_EQ(p->inserted, s->inserted);
    EXPECT_EQ(p->updated, s->updated);
    EXPECT_EQ(p->kept_newer, s->kept_newer);
    EXPECT_EQ(Rows(pg->get(), sql), Rows(lite->get(), sql));
    EXPECT_EQ(*Rows(pg->get(),
                    "SELECT count(*) FROM pg_constraint WHERE conrelid = 'orders'::regclass AND "
                    "contype = 'p'")[0][0],
              "1");
    EXPECT_EQ(*Rows(pg->get(),
                    "SELECT count(*) FROM pg_attrdef WHERE adrelid = "
                    "'orders'::regclass")[0][0],
              "0");
    EXPECT_EQ(*Rows(pg->get(), "SELECT count(DISTINCT _load_id) FROM orders")[0][0],
              std::to_string((c.batches.size() + c.files_every - 1) / c.files_every));
  }
}

TEST(PgKeyHashSetTest, InsertUntilRepeatStopsAtTheFirstHashTheSetHoldsAndInsertsNothingAfterIt) {
  pg::KeyHashSet set;
  std::vector<uint64_t> first;
  for (uint64_t i = 1; i <= 5000; ++i) first.push_back(i * 0x9E3779B97F4A7C15ull);
  EXPECT_EQ(set.InsertUntilRepeat(first), 5000u);  // grows past its first 1024 slots
  EXPECT_EQ(set.size(), 5000u);
  // A repeat of the set's 17th hash at place 2: places 0 and 1 go in, nothing after.
  const std::vector<uint64_t> second = {7, 8, first[16], 9};
  EXPECT_EQ(set.InsertUntilRepeat(second), 2u);
  EXPECT_EQ(set.size(), 5002u);
  EXPECT_TRUE(set.Insert(9));
  // A hash twice in one span, and 0 (stored as 1): the second of each is the repeat.
  EXPECT_EQ(set.InsertUntilRepeat(std::vector<uint64_t>{10, 11, 10}), 2u);
  EXPECT_EQ(set.InsertUntilRepeat(std::vector<uint64_t>{0, 1}), 1u);
  EXPECT_FALSE(set.Insert(11));
  set.Clear();
  EXPECT_EQ(set.size(), 0u);
  EXPECT_EQ(set.InsertUntilRepeat(second), 4u);
}

TEST_F(PgUpsertTest, AnUpsertKilledAfterItsRowsReachedTheTableLeavesTheTableUnchanged) {
  auto schema = Schema(config::MergeMode::kUpsert);
  const std::string sql = "SELECT order_id, amount, _ingest_date FROM orders ORDER BY 1";
  std::vector<Row> day1;
  for (int64_t i = 1; i <= 2000; ++i) day1.push_back({i, "1.00"});
  decltype(Rows(nullptr, sql)) before;
  {
    auto wh = Open(url_);
    ASSERT_TRUE(Merge(wh.get(), schema, day1).ok());
    before = Rows(wh.get(), sql);
  }
  const std::string ready = (dir_ / "merged").string();
  pid_t child = ::fork();
  if (child == 0) {
    // A merge process: stages half old and half new keys, has them updated and inserted into
    // the table inside its transaction (a query inside the merge does), tells the test, and is
    // killed before it commits.
    auto wh = OpenWarehouse(url_, dir_.path(), "acme");
    if (!wh.ok()) ::_exit(2);
    MergeTarget t{&schema, "2026-11-25", "run2", {}};
    auto w = (*wh)->BeginMerge(t);
    if (!w.ok()) ::_exit(3);
    for (int64_t i = 1001; i <= 3000; ++i) {
      Value v[2] = {{ValueKind::kInt, i, 0, {}}, {ValueKind::kText, 0, 0, "2.00"}};
      if (!(*w)->Add(v, "f.csv", "").ok()) ::_exit(4);
    }
    auto seen = (*wh)->Query("SELECT count(*) FROM orders WHERE amount = 2.00");
    if (!seen.ok() || !seen->rows[0][0] || *seen->rows[0][0] != "2000") ::_exit(5);
    std::ofstream(ready) << "merged";
    ::pause();  // never commits
    ::_exit(6);
  }
  ASSERT_GT(child, 0);
  // Waiting on another process (not on time): poll for its file, bounded.
  for (int i = 0; i < 3000 && !std::filesystem::exists(ready); ++i) {
    int status = 0;
    if (::waitpid(child, &status, WNOHANG) == child) FAIL() << "the merge exited: " << status;
    ::usleep(10000);
  }
  ASSERT_TRUE(std::filesystem::exists(ready));
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  auto wh = Open(url_);
  EXPECT_EQ(Rows(wh.get(), sql), before);
  EXPECT_EQ(*Rows(wh.get(), "SELECT count(*) FROM sluice_loads")[0][0], "1");
}

}  // namespace
}  // namespace sluice::warehouse
