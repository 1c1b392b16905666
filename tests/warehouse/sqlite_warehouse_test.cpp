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
#include <tuple>
#include <vector>

#include "testing/temp_dir.h"
#include "warehouse/sqlite_internal.h"
#include "warehouse/warehouse.h"
#include "warehouse/warehouse_test_support.h"

namespace sluice::warehouse {
namespace {

using testing::TempDir;

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
  // A password in the URL is refused before connecting, and not repeated.
  auto pg = OpenWarehouse("postgresql://u:s3cret@h/db", dir.path(), "acme");
  ASSERT_FALSE(pg.ok());
  EXPECT_NE(pg.status().message().find("holds a password"), std::string::npos);
  EXPECT_EQ(pg.status().message().find("s3cret"), std::string::npos);
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

// A merge that reports success has its commit on disk: in WAL mode the commit syncs the WAL
// itself (synchronous=FULL), since with another connection open (the partner's other merge, a
// reader) the merge's closing checkpoint, which NORMAL relied on, does not happen.
TEST_P(SqliteWarehouse, ACommittedMergeIsSyncedEvenWhileAnotherConnectionHoldsTheDatabase) {
  if (!GetParam().empty()) GTEST_SKIP() << "WAL mode only (the rollback journal syncs FULL)";
  TempDir dir;
  auto schema = Schema(config::MergeMode::kUpsert);
  {
    auto first = OpenWarehouse(Url("./wh"), dir.path(), "acme");
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    ASSERT_TRUE(Merge(first->get(), schema, {{1, "1.00"}}).ok());
  }
  auto reader = OpenWarehouse(Url("./wh"), dir.path(), "acme");
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  ASSERT_EQ(Rows(reader->get(), "SELECT count(*) FROM orders")[0][0], "1");
  // The first merge after a checkpoint starts a new WAL, whose header is synced whatever the
  // setting; the second appends to that WAL, and only synchronous=FULL syncs its commit.
  int64_t syncs = 0;
  for (int64_t key : {2, 3}) {
    const int64_t before = sqlite::g_wal_syncs.load();
    auto wh = OpenWarehouse(Url("./wh"), dir.path(), "acme");
    ASSERT_TRUE(wh.ok()) << wh.status().ToString();
    ASSERT_TRUE(Merge(wh->get(), schema, {{key, "2.00"}}).ok());
    syncs = sqlite::g_wal_syncs.load() - before;
  }  // each closed while `reader` still has the database open: no checkpoint
  EXPECT_GE(syncs, 1) << "the second merge's commit was not synced";
  EXPECT_EQ(Rows(reader->get(), "SELECT count(*) FROM orders")[0][0], "3");
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

// A schema keyed by (device_id TEXT, seq INTEGER), or by device_id alone when `composite` is
// false, with one value column.
config::TableSchema TextKeySchema(const std::string& table, bool composite) {
  config::TableSchema s;
  s.table = table;
  config::ColumnSchema device, seq, value;
  device.name = "device_id";
  device.type = config::ColumnType::kString;
  device.nullable = false;
  seq.name = "seq";
  seq.type = config::ColumnType::kInt64;
  seq.nullable = !composite;
  value.name = "value";
  value.type = config::ColumnType::kString;
  s.columns = {device, seq, value};
  s.merge = config::MergeMode::kUpsert;
  s.primary_key = composite ? std::vector<std::string>{"device_id", "seq"}
                            : std::vector<std::string>{"device_id"};
  return s;
}

// Merges rows (device, seq, value) into `schema`'s table for `date`.
Result<MergeCounts> MergeEvents(
    Warehouse* wh, const config::TableSchema& schema,
    const std::vector<std::tuple<std::string, int64_t, std::string>>& rows,
    const std::string& date) {
  MergeTarget t;
  t.schema = &schema;
  t.ingest_date = date;
  t.run_id = "run-" + date;
  SLUICE_ASSIGN_OR_RETURN(auto writer, wh->BeginMerge(t));
  std::vector<Value> values;
  for (const auto& [device, seq, value] : rows) {
    values.push_back({ValueKind::kText, 0, 0, device});
    values.push_back({ValueKind::kInt, seq, 0, {}});
    values.push_back({ValueKind::kText, 0, 0, value});
  }
  std::vector<std::string_view> rescued;
  SLUICE_RETURN_IF_ERROR(
      writer->AddRows(values, rows.size(), "raw/acme/" + date + "/events.csv", rescued, nullptr));
  return writer->Commit();
}

std::string TableSql(Warehouse* wh, const std::string& table) {
  auto rows =
      Rows(wh, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = '" + table + "'");
  return rows.empty() || !rows[0][0] ? "" : *rows[0][0];
}

TEST_P(SqliteWarehouse, TextAndCompositeKeysAreStoredOnceInATableWithoutRowid) {
  TempDir dir;
  auto wh = *OpenWarehouse(Url("wh"), dir.path(), "acme");
  const auto events = TextKeySchema("events", /*composite=*/true);
  const auto devices = TextKeySchema("devices", /*composite=*/false);
  ASSERT_TRUE(MergeEvents(wh.get(), events,
                          {{"DEV-2", 1, "a"}, {"DEV-1", 1, "b"}, {"DEV-2", 2, "c"}}, "2026-11-24")
                  .ok());
  ASSERT_TRUE(
      MergeEvents(wh.get(), devices, {{"DEV-2", 1, "a"}, {"DEV-1", 1, "b"}}, "2026-11-24").ok());
  ASSERT_TRUE(Merge(wh.get(), Schema(config::MergeMode::kUpsert), {{1, "1.00"}}).ok());
  EXPECT_NE(TableSql(wh.get(), "events").find("WITHOUT ROWID"), std::string::npos)
      << TableSql(wh.get(), "events");
  EXPECT_NE(TableSql(wh.get(), "devices").find("WITHOUT ROWID"), std::string::npos);
  // A single INTEGER key is the rowid already.
  EXPECT_EQ(TableSql(wh.get(), "orders").find("WITHOUT ROWID"), std::string::npos);
  // No second copy of the key: no index besides the table itself.
  EXPECT_EQ(Rows(wh.get(),
                 "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name "
                 "IN ('events', 'devices')")[0][0],
            "0");
  // Upserts, lineage and the enforced keys work as on any table.
  auto counts = MergeEvents(wh.get(), events, {{"DEV-2", 2, "C"}, {"DEV-3", 1, "d"}}, "2026-11-25");
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  EXPECT_EQ(counts->inserted, 1);
  EXPECT_EQ(counts->updated, 1);
  auto rows = Rows(wh.get(),
                   "SELECT device_id, seq, value, _ingest_date, l.source_file FROM events JOIN "
                   "sluice_loads l ON l.load_id = events._load_id ORDER BY device_id, seq");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(*rows[2][2], "C");
  EXPECT_EQ(*rows[2][3], "2026-11-25");
  EXPECT_EQ(*rows[2][4], "raw/acme/2026-11-25/events.csv");
  EXPECT_EQ(*rows[0][2], "b");
  using Keys = std::vector<std::vector<std::string>>;
  EXPECT_EQ(*wh->UniqueKeys("events"), (Keys{{"device_id", "seq"}}));
  EXPECT_EQ(*wh->UniqueKeys("devices"), Keys{{"device_id"}});
}

TEST_P(SqliteWarehouse, ATextKeyTableMadeBeforeKeepsItsRowidLayoutAndKeepsLoading) {
  // Tables an earlier sluice created (rowid, the key in an index of its own) are not rebuilt:
  // they load as before, and only new tables are made WITHOUT ROWID (docs/config.md).
  TempDir dir;
  auto wh = *OpenWarehouse(Url("wh"), dir.path(), "acme");
  ASSERT_TRUE(wh->Execute("CREATE TABLE events (device_id TEXT NOT NULL, seq INTEGER NOT NULL, "
                          "value TEXT, _ingest_date TEXT NOT NULL, _load_id INTEGER NOT NULL, "
                          "PRIMARY KEY (device_id, seq))")
                  .ok());
  const auto events = TextKeySchema("events", /*composite=*/true);
  ASSERT_TRUE(MergeEvents(wh.get(), events, {{"DEV-1", 1, "a"}}, "2026-11-24").ok());
  auto counts = MergeEvents(wh.get(), events, {{"DEV-1", 1, "b"}, {"DEV-1", 2, "c"}}, "2026-11-25");
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  EXPECT_EQ(counts->updated, 1);
  EXPECT_EQ(counts->inserted, 1);
  EXPECT_EQ(TableSql(wh.get(), "events").find("WITHOUT ROWID"), std::string::npos);
  EXPECT_EQ(Rows(wh.get(),
                 "SELECT group_concat(value, ',') FROM (SELECT value FROM events ORDER "
                 "BY seq)")[0][0],
            "b,c");
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

// Which run and file loaded each row: the join docs/config.md documents ("Row lineage"), which
// also answers for rows written by wave one (their own _run_id and _source_file).
constexpr const char* kLineageJoin =
    "SELECT t.order_id, t._ingest_date, coalesce(l.run_id, t._run_id), "
    "coalesce(l.source_file, t._source_file) FROM orders t LEFT JOIN sluice_loads l ON "
    "l.load_id = t._load_id ORDER BY t.order_id";

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
