#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "testing/temp_dir.h"
#include "warehouse/warehouse.h"

namespace sluice::warehouse {
namespace {

using testing::TempDir;

config::TableSchema Schema(config::MergeMode mode, std::string table = "orders") {
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

Result<MergeCounts> Merge(Warehouse* wh, const config::TableSchema& schema,
                          const std::vector<Row>& rows, const std::string& date = "2026-11-24",
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

std::vector<std::vector<std::optional<std::string>>> Rows(Warehouse* wh, const std::string& sql) {
  auto r = wh->Query(sql);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r->rows : decltype(r->rows){};
}

// A merge of order 2 left open: it holds the write lock until committed or rolled back.
std::unique_ptr<TableWriter> OpenMerge(Warehouse* wh, const config::TableSchema& schema) {
  MergeTarget t{&schema, "2026-11-25", "run2", {}};
  auto writer = wh->BeginMerge(t);
  EXPECT_TRUE(writer.ok()) << writer.status().ToString();
  if (!writer.ok()) return nullptr;
  Value v[2] = {{ValueKind::kInt, 2, 0, {}}, {ValueKind::kText, 0, 0, "2.00"}};
  Status st = (*writer)->Add(v, "raw/acme/2026-11-25/orders.csv", "");
  EXPECT_TRUE(st.ok()) << st.ToString();
  return std::move(writer).value();
}

// Every test runs against both journal modes of the sqlite:// warehouse.
class SqliteWarehouse : public ::testing::TestWithParam<std::string> {
 protected:
  std::string Url(const std::string& dir) const { return "sqlite://" + dir + GetParam(); }
};

// The journal mode recorded in a database file's header: 1 rollback journal, 2 WAL.
int HeaderJournalMode(const std::filesystem::path& db) {
  std::ifstream in(db, std::ios::binary);
  char header[20] = {};
  in.read(header, sizeof header);
  return in ? header[18] : -1;
}

TEST_P(SqliteWarehouse, OneDatabaseFilePerPartnerAndUnsupportedSchemes) {
  TempDir dir;
  auto wh = OpenWarehouse(Url("./wh"), dir.path(), "acme");
  ASSERT_TRUE(wh.ok()) << wh.status().ToString();
  EXPECT_TRUE(std::filesystem::exists(dir / "wh/acme.db"));
  EXPECT_FALSE(std::filesystem::exists(dir / "wh/globex.db"));
  auto pg = OpenWarehouse("postgresql://u@h/db", dir.path(), "acme");
  ASSERT_FALSE(pg.ok());
  EXPECT_NE(pg.status().message().find("not supported yet"), std::string::npos);
  EXPECT_FALSE(OpenWarehouse(Url("./wh"), dir.path(), "../etc").ok());
  EXPECT_FALSE(OpenWarehouse("mysql://x", dir.path(), "acme").ok());
}

TEST_P(SqliteWarehouse, ADamagedDatabaseIsCorruptNamingTheFileAndTheWayBack) {
  TempDir dir;
  {
    auto wh = OpenWarehouse(Url("./wh"), dir.path(), "acme");
    ASSERT_TRUE(wh.ok());
    auto schema = Schema(config::MergeMode::kUpsert);
    std::vector<Row> rows;
    for (int i = 0; i < 5000; ++i) rows.push_back({i, "1.00"});
    ASSERT_TRUE(Merge(wh->get(), schema, rows).ok());
  }
  const auto db = dir / "wh/acme.db";
  std::filesystem::resize_file(db, std::filesystem::file_size(db) / 2);
  Status st;
  auto wh = OpenWarehouse(Url("./wh"), dir.path(), "acme");
  if (!wh.ok()) {
    st = wh.status();
  } else {
    auto schema = Schema(config::MergeMode::kUpsert);
    st = Merge(wh->get(), schema, {{1, "2.00"}}).status();
    if (st.ok()) st = (*wh)->Query("SELECT count(*), sum(length(amount)) FROM orders").status();
  }
  ASSERT_EQ(st.code(), StatusCode::kCorrupt) << st.ToString();
  EXPECT_NE(st.message().find(db.string() + " is damaged"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("move it aside"), std::string::npos) << st.message();
}

// Whether another process sees a lock of ours on `path` (SQLite's lock bytes start at 1 GiB).
bool OtherProcessSeesALock(const std::filesystem::path& path) {
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(path.c_str(), O_RDWR);
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0x40000000;
    fl.l_len = 512;
    if (fd < 0 || fcntl(fd, F_GETLK, &fl) != 0) _exit(2);
    _exit(fl.l_type == F_UNLCK ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 2);
  return WIFEXITED(status) && WEXITSTATUS(status) == 1;
}

TEST_P(SqliteWarehouse, ClosingOneConnectionKeepsTheLocksOfAnother) {
  // The writeback VFS holds descriptors of its own on the database; closing any descriptor of
  // a file drops all of this process's POSIX locks on it, so none may be closed while another
  // connection (here `a`, in the middle of a merge) holds a lock.
  TempDir dir;
  auto a = OpenWarehouse(Url("./wh"), dir.path(), "acme");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto schema = Schema(config::MergeMode::kUpsert);
  ASSERT_TRUE(Merge(a->get(), schema, {{1, "1.00"}}).ok());
  auto writer = OpenMerge(a->get(), schema);
  ASSERT_NE(writer, nullptr);
  const auto db = dir / "wh/acme.db";
  ASSERT_TRUE(OtherProcessSeesALock(db));
  for (int i = 0; i < 3; ++i) {
    auto b = OpenWarehouse(Url("./wh"), dir.path(), "acme");
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    EXPECT_EQ(Rows(b->get(), "SELECT count(*) FROM orders")[0][0], "1");
  }  // b closed
  EXPECT_TRUE(OtherProcessSeesALock(db)) << "a's lock on the database was dropped";
  ASSERT_TRUE(writer->Commit().ok());
  EXPECT_EQ(Rows(a->get(), "SELECT count(*) FROM orders")[0][0], "2");
}

TEST_P(SqliteWarehouse, UniqueKeysAreTheKeysTheTableEnforcesWithoutNulls) {
  TempDir dir;
  auto wh = *OpenWarehouse(Url("wh"), dir.path(), "acme");
  using Keys = std::vector<std::vector<std::string>>;
  EXPECT_EQ(*wh->UniqueKeys("missing"), Keys{});
  ASSERT_TRUE(Merge(wh.get(), Schema(config::MergeMode::kUpsert), {{1, "1.00"}}).ok());
  EXPECT_EQ(*wh->UniqueKeys("orders"), Keys{{"order_id"}});  // INTEGER PRIMARY KEY: the rowid
  ASSERT_TRUE(Merge(wh.get(), Schema(config::MergeMode::kAppend, "events"), {{1, "1"}}).ok());
  EXPECT_EQ(*wh->UniqueKeys("events"), Keys{});  // append: no key at all
  ASSERT_TRUE(wh->Execute(R"(
      CREATE TABLE t (a TEXT NOT NULL, b INTEGER NOT NULL, c TEXT, d TEXT NOT NULL,
                      PRIMARY KEY (b, a));
      CREATE UNIQUE INDEX t_d ON t (d);
      CREATE UNIQUE INDEX t_c ON t (c);                 -- c may be NULL: NULLs never collide
      CREATE UNIQUE INDEX t_d_part ON t (a) WHERE d > 'x';
      CREATE UNIQUE INDEX t_expr ON t (lower(d));
      CREATE INDEX t_plain ON t (a, d);
      CREATE TABLE n (k TEXT PRIMARY KEY, v TEXT);     -- a TEXT key without NOT NULL
  )")
                  .ok());
  Keys t = *wh->UniqueKeys("t");
  std::sort(t.begin(), t.end());
  EXPECT_EQ(t, (Keys{{"b", "a"}, {"d"}}));
  EXPECT_EQ(*wh->UniqueKeys("n"), Keys{});
}

TEST_P(SqliteWarehouse, DecimalsStayCanonicalTextAndLineageIsStored) {
  TempDir dir;
  auto wh = *OpenWarehouse(Url("wh"), dir.path(), "acme");
  auto schema = Schema(config::MergeMode::kUpsert);
  ASSERT_TRUE(Merge(wh.get(), schema, {{1, "12.30"}, {2, "0.10"}}).ok());
  auto rows =
      Rows(wh.get(),
           "SELECT amount, typeof(amount), _ingest_date, l.run_id, l.source_file FROM orders "
           "JOIN sluice_loads l ON l.load_id = orders._load_id ORDER BY order_id");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(*rows[0][0], "12.30");
  EXPECT_EQ(*rows[0][1], "text");
  EXPECT_EQ(*rows[0][2], "2026-11-24");
  EXPECT_EQ(*rows[0][3], "run1");
  EXPECT_EQ(*rows[0][4], "raw/acme/2026-11-24/orders.csv");
}

TEST_P(SqliteWarehouse, UpsertCountsInsertsUpdatesAndLastDuplicateWins) {
  TempDir dir;
  auto wh = *OpenWarehouse(Url("wh"), dir.path(), "acme");
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

TEST_P(SqliteWarehouse, UpsertOfAnOlderDateKeepsTheKeysALaterDateLoaded) {
  // A repair of a day that failed, run after later days loaded, must give the table a clean run
  // in date order gives: keys the later day loaded keep its values, new keys still arrive.
  auto schema = Schema(config::MergeMode::kUpsert);
  const std::vector<Row> day1 = {{1, "1.00"}, {2, "2.00"}, {3, "3.00"}};
  const std::vector<Row> day2 = {{2, "20.00"}, {4, "40.00"}};
  const std::string sql = "SELECT order_id, amount, _ingest_date FROM orders ORDER BY 1";
  TempDir in_order_dir, repaired_dir;
  auto in_order = *OpenWarehouse(Url("wh"), in_order_dir.path(), "acme");
  ASSERT_TRUE(Merge(in_order.get(), schema, day1, "2026-11-23").ok());
  ASSERT_TRUE(Merge(in_order.get(), schema, day2, "2026-11-24").ok());
  auto repaired = *OpenWarehouse(Url("wh"), repaired_dir.path(), "acme");
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

TEST_P(SqliteWarehouse, ReRunningTheSameDateGivesTheSameTableInEveryMode) {
  for (auto mode :
       {config::MergeMode::kUpsert, config::MergeMode::kAppend, config::MergeMode::kReplaceDate}) {
    TempDir dir;
    auto wh = *OpenWarehouse(Url("wh"), dir.path(), "acme");
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

TEST_P(SqliteWarehouse, ReplaceDateReplacesOnlyThatDate) {
  TempDir dir;
  auto wh = *OpenWarehouse(Url("wh"), dir.path(), "acme");
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

TEST_P(SqliteWarehouse, RollbackLeavesTableUnchanged) {
  TempDir dir;
  auto wh = *OpenWarehouse(Url("wh"), dir.path(), "acme");
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

TEST_P(SqliteWarehouse, ProcessKilledMidMergeLeavesTableAsItWas) {
  TempDir dir;
  auto schema = Schema(config::MergeMode::kUpsert);
  {
    auto wh = *OpenWarehouse(Url("wh"), dir.path(), "acme");
    ASSERT_TRUE(Merge(wh.get(), schema, {{1, "1.00"}}).ok());
  }
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto wh = OpenWarehouse(Url("wh"), dir.path(), "acme");
    if (!wh.ok()) _exit(3);
    MergeTarget t{&schema, "2026-11-24", "run2", {}};
    auto w = (*wh)->BeginMerge(t);
    if (!w.ok()) _exit(4);
    for (int i = 0; i < 5000; ++i) {
      Value v[2] = {{ValueKind::kInt, 100 + i, 0, {}}, {ValueKind::kText, 0, 0, "5.00"}};
      if (!(*w)->Add(v, "f", "").ok()) _exit(5);
    }
    raise(SIGKILL);  // mid-table: rows written, no commit
    _exit(6);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  auto wh = *OpenWarehouse(Url("wh"), dir.path(), "acme");
  EXPECT_EQ(*Rows(wh.get(), "SELECT count(*) FROM orders")[0][0], "1");
  ASSERT_TRUE(Merge(wh.get(), schema, {{1, "1.00"}, {2, "2.00"}}).ok());
  EXPECT_EQ(*Rows(wh.get(), "SELECT count(*) FROM orders")[0][0], "2");
}

TEST_P(SqliteWarehouse, KilledAfterTheCacheSpilledRestoresEveryPage) {
  // More than the 64 MiB page cache, so the killed merge has already overwritten pages of the
  // database file (rollback journal) or appended them to the WAL before it dies.
  constexpr int kRows = 72000;
  const std::string before(1000, 'a'), after(1000, 'b');
  TempDir dir;
  auto schema = Schema(config::MergeMode::kUpsert);
  auto load = [&](Warehouse* wh, const std::string& amount, bool commit) -> Status {
    MergeTarget t{&schema, "2026-11-24", "run", {}};
    SLUICE_ASSIGN_OR_RETURN(auto w, wh->BeginMerge(t));
    std::vector<Value> values(2 * 1000);
    for (int i = 0; i < kRows; i += 1000) {
      for (int r = 0; r < 1000; ++r) {
        values[2 * r] = {ValueKind::kInt, i + r, 0, {}};
        values[2 * r + 1] = {ValueKind::kText, 0, 0, amount};
      }
      SLUICE_RETURN_IF_ERROR(w->AddRows(values, 1000, "f", {}, nullptr));
    }
    if (commit) return w->Commit().status();
    raise(SIGKILL);  // every row written, no commit
    return Status::Ok();
  };
  {
    auto wh = *OpenWarehouse(Url("wh"), dir.path(), "acme");
    ASSERT_TRUE(load(wh.get(), before, true).ok());
  }
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto wh = OpenWarehouse(Url("wh"), dir.path(), "acme");
    if (!wh.ok()) _exit(3);
    (void)load(wh->get(), after, false);
    _exit(4);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  // The killed merge reached the files: a hot rollback journal holding the originals of the
  // pages it overwrote, or WAL frames of what did not fit in the page cache.
  const bool rollback = GetParam().find("rollback") != std::string::npos;
  const auto left = dir / (rollback ? "wh/acme.db-journal" : "wh/acme.db-wal");
  ASSERT_TRUE(std::filesystem::exists(left));
  EXPECT_GT(std::filesystem::file_size(left), 1u << 20);
  auto wh = *OpenWarehouse(Url("wh"), dir.path(), "acme");
  auto rows =
      Rows(wh.get(), "SELECT count(*), sum(amount = '" + before + "'), max(order_id) FROM orders");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0], std::to_string(kRows));
  EXPECT_EQ(rows[0][1], std::to_string(kRows)) << "rows of the killed merge are visible";
  EXPECT_EQ(rows[0][2], std::to_string(kRows - 1));
}

TEST_P(SqliteWarehouse, AMergeWaitingForALockSaysSoAndGivesUpAtItsTimeout) {
  TempDir dir;
  auto schema = Schema(config::MergeMode::kUpsert);
  auto holder = *OpenWarehouse(Url("wh"), dir.path(), "acme");
  ASSERT_TRUE(Merge(holder.get(), schema, {{1, "1.00"}}).ok());
  auto held = OpenMerge(holder.get(), schema);
  ASSERT_NE(held, nullptr);
  MergeTarget t{&schema, "2026-11-25", "run3", {}};
  Value v[2] = {{ValueKind::kInt, 3, 0, {}}, {ValueKind::kText, 0, 0, "3.00"}};
  WarehouseOptions options;
  options.busy_timeout_ms = 400;
  options.lock_warning_ms = 50;
  auto waiter = *OpenWarehouse(Url("wh"), dir.path(), "acme", options);
  ::testing::internal::CaptureStderr();
  Status st;
  if (auto w = waiter->BeginMerge(t); !w.ok()) {
    st = w.status();
  } else {
    st = (*w)->Add(v, "f", "");
  }
  std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  EXPECT_NE(log.find("s for a lock on sqlite://" + (dir / "wh/acme.db").string()),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("giving up after 0.4 s"), std::string::npos) << log;
  // Once the lock is free the same warehouse merges.
  held->Rollback();
  EXPECT_TRUE(Merge(waiter.get(), schema, {{3, "3.00"}}).ok());
}

TEST_P(SqliteWarehouse, ThreeConcurrentMergesOfOnePartnerNeverFailLocked) {
  TempDir dir;
  std::vector<config::TableSchema> schemas;
  for (int t = 0; t < 3; ++t) {
    schemas.push_back(Schema(config::MergeMode::kUpsert, "merge_table_" + std::to_string(t + 1)));
  }
  std::vector<Status> results(3);
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      auto wh = OpenWarehouse(Url("wh"), dir.path(), "acme");
      if (!wh.ok()) {
        results[t] = wh.status();
        return;
      }
      for (int round = 0; round < 5; ++round) {
        std::vector<Row> rows;
        for (int i = 0; i < 2000; ++i) rows.push_back({i, std::to_string(round) + ".00"});
        auto c = Merge(wh->get(), schemas[t], rows);
        if (!c.ok()) {
          results[t] = c.status();
          return;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 3; ++t) EXPECT_TRUE(results[t].ok()) << results[t].ToString();
  auto wh = *OpenWarehouse(Url("wh"), dir.path(), "acme");
  for (int t = 0; t < 3; ++t) {
    EXPECT_EQ(*Rows(wh.get(), "SELECT count(*) FROM merge_table_" + std::to_string(t + 1))[0][0],
              "2000");
  }
}

TEST_P(SqliteWarehouse, SchemaThatAddsANullableColumnEvolvesTheTable) {
  TempDir dir;
  auto wh = *OpenWarehouse(Url("wh"), dir.path(), "acme");
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

TEST_P(SqliteWarehouse, AColumnTheSchemaRenamedKeepsItsValuesOneDroppedIsNamedWithItsFix) {
  TempDir dir;
  auto wh = *OpenWarehouse(Url("wh"), dir.path(), "acme");
  auto schema = Schema(config::MergeMode::kUpsert);
  ASSERT_TRUE(Merge(wh.get(), schema, {{1, "1.00"}}).ok());
  // "amount" renamed to "total", the old name kept as an alias (how partners' renames are
  // followed): the table's column is renamed, so day 1's value stays in the one column.
  auto renamed = schema;
  renamed.columns[1].name = "total";
  renamed.columns[1].aliases = {"amount"};
  ::testing::internal::CaptureStderr();
  Status st = Merge(wh.get(), renamed, {{2, "2.00"}}).status();
  std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_NE(log.find("renamed column \"amount\" of table orders in sqlite://" +
                     (dir / "wh/acme.db").string() + " to \"total\""),
            std::string::npos)
      << log;
  EXPECT_EQ(Rows(wh.get(), "SELECT order_id, total FROM orders ORDER BY order_id"),
            (std::vector<std::vector<std::optional<std::string>>>{{"1", "1.00"}, {"2", "2.00"}}));
  EXPECT_EQ(Rows(wh.get(),
                 "SELECT count(*) FROM pragma_table_info('orders') WHERE name = "
                 "'amount'")[0][0],
            "0");
  // The next merge finds nothing to rename or warn about.
  ::testing::internal::CaptureStderr();
  ASSERT_TRUE(Merge(wh.get(), renamed, {{3, "3.00"}}).ok());
  log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(log.find("amount"), std::string::npos) << log;

  // Two columns of one history (the new one added by hand, or by a version that did not
  // rename): the fix moves the old values before dropping the column.
  ASSERT_TRUE(wh->Execute("ALTER TABLE orders ADD COLUMN amount TEXT").ok());
  ::testing::internal::CaptureStderr();
  ASSERT_TRUE(Merge(wh.get(), renamed, {{4, "4.00"}}).ok());
  log = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("has column \"amount\" that the schema no longer lists; it keeps its old "
                     "values and new rows leave it NULL; the schema's column \"total\" lists it "
                     "as an alias: to keep one column, move its values and drop it with the sql "
                     "builtin (UPDATE \"orders\" SET \"total\" = \"amount\" WHERE \"total\" IS "
                     "NULL; ALTER TABLE \"orders\" DROP COLUMN \"amount\")"),
            std::string::npos)
      << log;
  // Dropped outright: the fix is a DROP COLUMN. Lineage columns are never named.
  auto dropped = renamed;
  dropped.columns.pop_back();
  ::testing::internal::CaptureStderr();
  st = Merge(wh.get(), dropped, {}).status();
  log = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("DROP COLUMN \"total\""), std::string::npos) << log;
  EXPECT_EQ(log.find("_ingest_date"), std::string::npos) << log;
}

TEST_P(SqliteWarehouse, AColumnTheSchemaMadeNullableWhileTheTableRequiresItIsAClearError) {
  TempDir dir;
  auto wh = *OpenWarehouse(Url("wh"), dir.path(), "acme");
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

TEST_P(SqliteWarehouse, ARepeatedKeyInAnAppendOrReplaceDateTableSaysWhatTheKeyMeansThere) {
  TempDir dir;
  auto wh = *OpenWarehouse(Url("wh"), dir.path(), "acme");
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

TEST_P(SqliteWarehouse, AMergeRepeatingTheDatesInputsReportsTheFirstLoadsCounts) {
  TempDir dir;
  auto wh = *OpenWarehouse(Url("wh"), dir.path(), "acme");
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

TEST_P(SqliteWarehouse, ALinkInPlaceOfAPartnersDatabaseIsRefusedNotWrittenThrough) {
  // warehouse/initech.db -> globex.db would merge initech's rows into globex's tables.
  TempDir dir;
  auto globex = *OpenWarehouse(Url("wh"), dir.path(), "globex");
  auto schema = Schema(config::MergeMode::kUpsert);
  ASSERT_TRUE(Merge(globex.get(), schema, {{1, "1.00"}}).ok());
  std::filesystem::create_symlink("globex.db", dir / "wh/initech.db");
  auto initech = OpenWarehouse(Url("wh"), dir.path(), "initech");
  ASSERT_FALSE(initech.ok());
  EXPECT_EQ(initech.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(initech.status().message().find("initech.db is a symbolic link"), std::string::npos)
      << initech.status().message();
  // A link where a journal will be written is refused too.
  std::filesystem::create_symlink("/tmp/elsewhere", dir / "wh/hanbit.db-journal");
  EXPECT_EQ(OpenWarehouse(Url("wh"), dir.path(), "hanbit").status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(Rows(globex.get(), "SELECT count(*) FROM orders")[0][0], "1");
}

TEST_P(SqliteWarehouse, ACheckCannotCallFts3Tokenizer) {
  // Its two-argument form sets a function pointer inside the process; the one-argument form
  // shows one (an address leak). Neither is a question about a partner's data.
  TempDir dir;
  auto wh = *OpenWarehouse(Url("wh"), dir.path(), "acme");
  for (const char* sql : {"SELECT fts3_tokenizer('simple', x'4141414141414141')",
                          "SELECT hex(FTS3_TOKENIZER('simple'))"}) {
    auto r = wh->Query(sql, 10, nullptr);
    ASSERT_FALSE(r.ok()) << sql;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
    // Refused by the authorizer, not merely unknown to this build of SQLite.
    EXPECT_NE(r.status().message().find("not authorized to use function"), std::string::npos)
        << r.status().ToString();
  }
  EXPECT_TRUE(wh->Query("SELECT upper('ok')", 10, nullptr).ok());
}

TEST_P(SqliteWarehouse, AppendReDeliveryEqualsACleanRunWhateverTheFileNames) {
  TempDir dir;
  auto wh = *OpenWarehouse(Url("wh"), dir.path(), "acme");
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

TEST_P(SqliteWarehouse, AColumnWhoseStorageChangedIsAClearErrorOtherTypeChangesLoad) {
  TempDir dir;
  auto wh = *OpenWarehouse(Url("wh"), dir.path(), "acme");
  auto schema = Schema(config::MergeMode::kUpsert);  // amount decimal(12,2): TEXT
  ASSERT_TRUE(Merge(wh.get(), schema, {{1, "007"}}).ok());

  auto as_real = schema;
  as_real.columns[1].type = config::ColumnType::kFloat64;
  auto bad = Merge(wh.get(), as_real, {{2, "2"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("stores column \"amount\" as TEXT but the schema now "
                                        "says float64 (stored as REAL)"),
            std::string::npos)
      << bad.status().message();
  EXPECT_NE(bad.status().message().find("migrate the table with the sql builtin"),
            std::string::npos);
  EXPECT_EQ(*Rows(wh.get(), "SELECT count(*) FROM orders")[0][0], "1");

  // decimal -> string: both stored as TEXT, the values keep their spelling.
  auto as_string = schema;
  as_string.columns[1].type = config::ColumnType::kString;
  ASSERT_TRUE(Merge(wh.get(), as_string, {{2, "0042"}}).ok());
  EXPECT_EQ(*Rows(wh.get(), "SELECT amount FROM orders WHERE order_id=2")[0][0], "0042");

  // A table made by hand with other spellings of the same affinities loads as it is.
  TempDir other;
  auto own = *OpenWarehouse(Url("wh"), other.path(), "acme");
  ASSERT_TRUE(own->Execute("CREATE TABLE orders (order_id INT NOT NULL PRIMARY KEY, "
                           "amount VARCHAR(20), _ingest_date TEXT NOT NULL, _run_id TEXT NOT NULL, "
                           "_source_file TEXT NOT NULL)")
                  .ok());
  auto loaded = Merge(own.get(), schema, {{1, "007"}});
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(*Rows(own.get(), "SELECT amount FROM orders")[0][0], "007");
  auto refused = Merge(own.get(), as_real, {{2, "2"}});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("as VARCHAR(20) but the schema now says float64"),
            std::string::npos)
      << refused.status().message();
}

TEST_P(SqliteWarehouse, AKeyOrRequiredColumnTheSchemaNoLongerHasIsAClearError) {
  TempDir dir;
  auto wh = *OpenWarehouse(Url("wh"), dir.path(), "acme");
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

TEST_P(SqliteWarehouse, AddRowsNamesTheFailingRowAndAddsNothingOfTheBatch) {
  TempDir dir;
  auto wh = *OpenWarehouse(Url("wh"), dir.path(), "acme");
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

TEST_P(SqliteWarehouse, UpsertOutOfKeyOrderGoesRowByRowWithTheSameResult) {
  // Keys spread over a table of ~300 pages, in shuffled order: one batch statement would copy
  // nearly every page into its statement journal, so the writer switches to a statement per row
  // (and still names the failing row, and the last duplicate still wins).
  constexpr int kRows = 20000;
  const std::string wide(1000, 'a');
  TempDir dir;
  auto wh = *OpenWarehouse(Url("wh"), dir.path(), "acme");
  auto schema = Schema(config::MergeMode::kUpsert);
  schema.columns[1].nullable = false;
  auto merge = [&](const std::vector<int64_t>& keys, const std::string& amount,
                   std::optional<size_t> null_at, size_t* failed,
                   const std::string& date = "2026-11-24") -> Result<MergeCounts> {
    MergeTarget t{&schema, date, "run1", {}};
    SLUICE_ASSIGN_OR_RETURN(auto w, wh->BeginMerge(t));
    std::vector<Value> values;
    std::vector<std::string> texts;  // the text cells point here
    texts.reserve(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      values.push_back({ValueKind::kInt, keys[i], 0, {}});
      texts.push_back(amount + std::to_string(i));
      if (null_at && *null_at == i) {
        values.push_back({ValueKind::kNull, 0, 0, {}});
      } else {
        values.push_back({ValueKind::kText, 0, 0, texts.back()});
      }
    }
    for (size_t at = 0; at < keys.size(); at += 4096) {
      size_t n = std::min<size_t>(4096, keys.size() - at);
      size_t row = 0;
      Status st = w->AddRows(std::span<const Value>(values).subspan(2 * at, 2 * n), n,
                             "raw/acme/d/orders.csv", {}, &row);
      if (!st.ok()) {
        if (failed) *failed = at + row;
        return st;
      }
    }
    return w->Commit();
  };
  std::vector<int64_t> keys(kRows);
  for (int i = 0; i < kRows; ++i) keys[i] = i;
  auto first = merge(keys, wide, std::nullopt, nullptr);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_FALSE(first->row_by_row) << "keys in order stay batched";
  std::mt19937 rng(42);
  std::shuffle(keys.begin(), keys.end(), rng);
  keys.push_back(keys[5000]);  // a duplicate: the later row wins
  auto second = merge(keys, "b", std::nullopt, nullptr);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_TRUE(second->row_by_row);
  EXPECT_EQ(second->updated, kRows + 1);
  EXPECT_EQ(second->inserted, 0);
  auto rows = Rows(wh.get(), "SELECT count(*), sum(amount LIKE 'b%') FROM orders");
  EXPECT_EQ(rows[0][0], std::to_string(kRows));
  EXPECT_EQ(rows[0][1], std::to_string(kRows));
  EXPECT_EQ(Rows(wh.get(),
                 "SELECT amount FROM orders WHERE order_id = " + std::to_string(keys[5000]))[0][0],
            "b" + std::to_string(kRows));
  // Shuffled rows of an older date change no page (nothing to journal), so they stay batched
  // and leave the keys the later date loaded as they are.
  auto older = merge(keys, "z", std::nullopt, nullptr, "2026-11-20");
  ASSERT_TRUE(older.ok()) << older.status().ToString();
  EXPECT_FALSE(older->row_by_row);
  EXPECT_EQ(older->kept_newer, kRows + 1);
  EXPECT_EQ(older->updated + older->inserted, 0);
  EXPECT_EQ(Rows(wh.get(), "SELECT count(*) FROM orders WHERE amount LIKE 'z%'")[0][0], "0");
  // Wide rows updated in key order journal about their own size: still batched.
  std::sort(keys.begin(), keys.end());
  keys.pop_back();
  auto in_order = merge(keys, wide, std::nullopt, nullptr);
  ASSERT_TRUE(in_order.ok()) << in_order.status().ToString();
  EXPECT_FALSE(in_order->row_by_row);
  EXPECT_EQ(in_order->updated, kRows);
  // Row by row, a bad row is still named, and the merge still leaves nothing when rolled back.
  std::shuffle(keys.begin(), keys.end(), rng);
  size_t failed = 0;
  auto third = merge(keys, "c", size_t{12345}, &failed);
  ASSERT_FALSE(third.ok());
  EXPECT_NE(third.status().message().find("NOT NULL"), std::string::npos)
      << third.status().ToString();
  EXPECT_EQ(failed, 12345u);
  EXPECT_EQ(Rows(wh.get(), "SELECT count(*) FROM orders WHERE amount LIKE 'c%'")[0][0], "0");
}

TEST_P(SqliteWarehouse, QueryOnlyReadsAndRunsOneStatement) {
  TempDir dir;
  auto wh = *OpenWarehouse(Url("wh"), dir.path(), "acme");
  ASSERT_TRUE(Merge(wh.get(), Schema(config::MergeMode::kUpsert), {{1, "1.00"}}).ok());
  EXPECT_TRUE(wh->Query("SELECT count(*) FROM orders").ok());
  EXPECT_TRUE(wh->Query("WITH x AS (SELECT order_id FROM orders) SELECT * FROM x;").ok());
  for (const char* sql : {"DELETE FROM orders RETURNING order_id", "DROP TABLE orders",
                          "UPDATE orders SET amount = '0'", "SELECT 1; DELETE FROM orders",
                          "ATTACH DATABASE 'other.db' AS o", "PRAGMA journal_mode=DELETE",
                          "CREATE TABLE x(y)", "   ", "-- only a comment"}) {
    auto r = wh->Query(sql);
    EXPECT_FALSE(r.ok()) << sql;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument)
        << sql << ": " << r.status().ToString();
  }
  EXPECT_EQ(*Rows(wh.get(), "SELECT count(*) FROM orders")[0][0], "1");
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "other.db"));
}

TEST_P(SqliteWarehouse, ExecuteRunsStatementsInOneTransaction) {
  TempDir dir;
  auto wh = *OpenWarehouse(Url("wh"), dir.path(), "acme");
  ASSERT_TRUE(wh->Execute("CREATE TABLE t(x); INSERT INTO t VALUES (1);").ok());
  Status bad = wh->Execute("INSERT INTO t VALUES (2); INSERT INTO nope VALUES (3);");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("nope"), std::string::npos) << bad.message();
  EXPECT_EQ(*Rows(wh.get(), "SELECT count(*) FROM t")[0][0], "1");
}

// Which run and file loaded each row: the join docs/config.md documents ("Row lineage"), which
// also answers for rows written by wave one (their own _run_id and _source_file).
constexpr const char* kLineageJoin =
    "SELECT t.order_id, t._ingest_date, coalesce(l.run_id, t._run_id), "
    "coalesce(l.source_file, t._source_file) FROM orders t LEFT JOIN sluice_loads l ON "
    "l.load_id = t._load_id ORDER BY t.order_id";

TEST_P(SqliteWarehouse, EachFileLoadedIsOneLoadARetryOfTheRunReusesIt) {
  TempDir dir;
  auto wh = *OpenWarehouse(Url("wh"), dir.path(), "acme");
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

TEST_P(SqliteWarehouse, ReplacingADateReplacesItsLoadsAndARollbackKeepsThem) {
  TempDir dir;
  auto wh = *OpenWarehouse(Url("wh"), dir.path(), "acme");
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
  EXPECT_EQ(*Rows(wh.get(), "SELECT group_concat(order_id) FROM orders")[0][0], "1,3");
}

TEST_P(SqliteWarehouse, ATableOfWaveOneKeepsLoadingAndAnswersLineageForOldAndNewRows) {
  TempDir dir;
  {
    // The DDL wave one wrote (sluice before _load_id), with a row it loaded.
    auto old = *OpenWarehouse(Url("wh"), dir.path(), "acme");
    ASSERT_TRUE(old->Execute("CREATE TABLE \"orders\" (\"order_id\" INTEGER NOT NULL, \"amount\" "
                             "TEXT, _ingest_date TEXT NOT NULL, _run_id TEXT NOT NULL, "
                             "_source_file TEXT NOT NULL, PRIMARY KEY (\"order_id\")); "
                             "INSERT INTO orders VALUES (1, '1.00', '2026-11-23', 'old-run', "
                             "'raw/acme/2026-11-23/orders.csv')")
                    .ok());
  }
  auto wh = *OpenWarehouse(Url("wh"), dir.path(), "acme");
  auto schema = Schema(config::MergeMode::kUpsert);
  auto c = Merge(wh.get(), schema, {{1, "1.50"}, {2, "2.00"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->inserted, 1);
  EXPECT_EQ(c->updated, 1);
  // New rows fill both: the old columns (NOT NULL there) and _load_id.
  auto rows = Rows(wh.get(),
                   "SELECT order_id, amount, _run_id, _source_file, _load_id IS NOT NULL FROM "
                   "orders ORDER BY 1");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(*rows[0][1], "1.50");
  EXPECT_EQ(*rows[0][2], "run1");
  EXPECT_EQ(*rows[1][3], "raw/acme/2026-11-24/orders.csv");
  EXPECT_EQ(*rows[1][4], "1");
  ASSERT_TRUE(Merge(wh.get(), schema, {{3, "3.00"}}, "2026-11-22", "raw/acme/old.csv").ok());
  // A row that only wave one loaded answers from its own columns.
  ASSERT_TRUE(wh->Execute("UPDATE orders SET _load_id = NULL, _run_id = 'old-run' WHERE "
                          "order_id = 3")
                  .ok());
  auto lineage = Rows(wh.get(), kLineageJoin);
  ASSERT_EQ(lineage.size(), 3u);
  EXPECT_EQ(*lineage[0][2], "run1");
  EXPECT_EQ(*lineage[2][2], "old-run");
  EXPECT_EQ(*lineage[2][3], "raw/acme/old.csv");
}

TEST(SqliteWarehouseJournal, RollbackWritesOnceAndSwitchesAWalDatabaseWhenAlone) {
  TempDir dir;
  auto schema = Schema(config::MergeMode::kUpsert);
  const auto db = dir / "wh/acme.db";
  {
    auto wal = OpenWarehouse("sqlite://wh", dir.path(), "acme");
    ASSERT_TRUE(wal.ok()) << wal.status().ToString();
    ASSERT_TRUE(Merge(wal->get(), schema, {{1, "1.00"}}).ok());
    EXPECT_EQ(HeaderJournalMode(db), 2);
    // journal=rollback while a WAL connection is open: the database stays in WAL mode and the
    // merge still works.
    auto busy = OpenWarehouse("sqlite://wh?journal=rollback", dir.path(), "acme");
    ASSERT_TRUE(busy.ok()) << busy.status().ToString();
    ASSERT_TRUE(Merge(busy->get(), schema, {{2, "2.00"}}).ok());
    EXPECT_EQ(HeaderJournalMode(db), 2);
  }
  // Alone, it switches the file to the rollback journal; the WAL is gone and the rows kept.
  auto rb = OpenWarehouse("sqlite://wh?journal=rollback", dir.path(), "acme");
  ASSERT_TRUE(rb.ok()) << rb.status().ToString();
  EXPECT_EQ(HeaderJournalMode(db), 1);
  ASSERT_TRUE(Merge(rb->get(), schema, {{3, "3.00"}}).ok());
  EXPECT_FALSE(std::filesystem::exists(dir / "wh/acme.db-wal"));
  EXPECT_FALSE(std::filesystem::exists(dir / "wh/acme.db-journal"));
  EXPECT_EQ(Rows(rb->get(), "SELECT group_concat(order_id) FROM orders")[0][0], "1,2,3");
  // And the default switches it back to WAL.
  rb->reset();
  auto back = OpenWarehouse("sqlite://wh", dir.path(), "acme");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(HeaderJournalMode(db), 2);
  EXPECT_EQ(Rows(back->get(), "SELECT count(*) FROM orders")[0][0], "3");
}

TEST(SqliteWarehouseJournal, BadUrlOptionsAreClearErrors) {
  TempDir dir;
  auto bad = OpenWarehouse("sqlite://wh?journal=memory", dir.path(), "acme");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("journal=wal"), std::string::npos)
      << bad.status().ToString();
  auto unknown = OpenWarehouse("sqlite://wh?cache=big", dir.path(), "acme");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("unknown sqlite:// option \"cache\""),
            std::string::npos)
      << unknown.status().ToString();
  EXPECT_FALSE(std::filesystem::exists(dir / "wh/acme.db"));
}

INSTANTIATE_TEST_SUITE_P(Journal, SqliteWarehouse, ::testing::Values("", "?journal=rollback"),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           return p.param.empty() ? std::string("wal") : std::string("rollback");
                         });

}  // namespace
}  // namespace sluice::warehouse
