// What only the PostgreSQL warehouse does (the interface suite runs in
// tests/warehouse/warehouse_conformance_test.cpp against it too): partner schemas, native
// types, connection failures as retryable errors, permission errors naming role, schema and
// privilege, and a merge killed mid-COPY. A real server: tests/pg/pg_test_server.h.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "pg/pg_test_server.h"
#include "testing/temp_dir.h"
#include "warehouse/postgres_warehouse.h"
#include "warehouse/warehouse.h"
#include "warehouse/warehouse_test_support.h"

namespace sluice::warehouse {
namespace {

using testing::TempDir;

class PgWarehouseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(testing::TestPgServer().error, "");
    url_ = testing::NewPgDatabase();
    ASSERT_FALSE(url_.empty());
    db_ = url_.substr(url_.rfind('/') + 1);
  }
  std::unique_ptr<Warehouse> Open(std::string_view partner) {
    auto wh = OpenWarehouse(url_, dir_.path(), partner);
    EXPECT_TRUE(wh.ok()) << wh.status().ToString();
    return wh.ok() ? std::move(wh).value() : nullptr;
  }
  // One value of a superuser query on the test database.
  std::string Scalar(const std::string& sql) {
    auto wh = Open("acme");
    auto r = wh->Query(sql);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok() || r->rows.empty() || !r->rows[0][0]) return "<none>";
    return *r->rows[0][0];
  }
  TempDir dir_;
  std::string url_, db_;
};

TEST_F(PgWarehouseTest, EachPartnerHasItsOwnSchemaNamedByItsIdReservedNamesCapitalised) {
  EXPECT_EQ(PostgresSchemaName("acme"), "acme");
  EXPECT_EQ(PostgresSchemaName("9-lives"), "9-lives");
  EXPECT_EQ(PostgresSchemaName("pg_cron"), "Pg_cron");
  EXPECT_EQ(PostgresSchemaName("public"), "Public");
  EXPECT_EQ(PostgresSchemaName("information_schema"), "Information_schema");
  const std::string longest(63, 'z');
  for (std::string partner : {"acme", "9-lives", "pg_cron", "public", longest.c_str()}) {
    auto wh = Open(partner);
    ASSERT_TRUE(wh) << partner;
    auto schema = Schema(config::MergeMode::kUpsert);
    auto c = Merge(wh.get(), schema, {{1, "1.00"}});
    ASSERT_TRUE(c.ok()) << partner << ": " << c.status().ToString();
    EXPECT_EQ(c->inserted, 1);
  }
  auto wh = Open("acme");
  auto r = wh->Query(
      "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE "
      "c.relname = 'orders' ORDER BY 1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<std::string> schemas;
  for (const auto& row : r->rows) schemas.push_back(*row[0]);
  EXPECT_EQ(schemas, (std::vector<std::string>{"9-lives", "Pg_cron", "Public", "acme", longest}));
  // Unqualified names are the partner's own tables.
  EXPECT_EQ(*Rows(wh.get(), "SELECT count(*) FROM orders")[0][0], "1");
}

TEST_F(PgWarehouseTest, AFirstLoadWritesItsRowsFrozenAndBuildsTheSamePrimaryKeyAfterThem) {
  auto wh = Open("acme");
  ASSERT_TRUE(wh);
  auto schema = Schema(config::MergeMode::kUpsert);
  const std::string key_sql =
      "SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = "
      "'acme.orders'::regclass AND contype = 'p'";
  // The table and its key exist before any row (an empty merge creates them).
  ASSERT_TRUE(Merge(wh.get(), schema, {}).ok());
  EXPECT_EQ(Scalar(key_sql), "orders_pkey PRIMARY KEY (order_id)");
  auto first = Merge(wh.get(), schema, {{1, "1.00"}, {2, "2.00"}, {3, "3.00"}});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->inserted, 3);
  // Dropped for the COPY, built again under the same name and definition.
  EXPECT_EQ(Scalar(key_sql), "orders_pkey PRIMARY KEY (order_id)");
  // COPY ... FREEZE: its page is all-frozen in the visibility map.
  ASSERT_EQ(testing::PgAdminExec("CREATE EXTENSION IF NOT EXISTS pg_visibility", db_), "");
  const std::string frozen_sql =
      "SELECT all_frozen || '/' || all_visible FROM "
      "public.pg_visibility_map_summary('acme.orders')";
  EXPECT_EQ(Scalar(frozen_sql), "1/1");
  // A later load into the table that now holds rows upserts as usual, key enforced.
  auto second = Merge(wh.get(), schema, {{3, "3.50"}, {4, "4.00"}}, "2026-11-25");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->inserted, 1);
  EXPECT_EQ(second->updated, 1);
  EXPECT_EQ(Scalar("SELECT count(*) FROM acme.orders"), "4");
  EXPECT_EQ(Scalar(frozen_sql), "0/0");  // an upsert writes ordinary row versions
}

TEST_F(PgWarehouseTest, TablesHaveNativeTypesAndValuesReadBackAsOnSqlite) {
  config::TableSchema s;
  s.table = "typed";
  auto col = [&](std::string name, config::ColumnType type, int p = 0, int sc = 0) {
    config::ColumnSchema c;
    c.name = std::move(name);
    c.type = type;
    c.precision = p;
    c.scale = sc;
    s.columns.push_back(c);
  };
  col("id", config::ColumnType::kInt64);
  col("amount", config::ColumnType::kDecimal, 12, 2);
  col("ratio", config::ColumnType::kFloat64);
  col("ok", config::ColumnType::kBool);
  col("day", config::ColumnType::kDate);
  col("at", config::ColumnType::kTimestamp);
  col("note", config::ColumnType::kString);
  s.columns[0].nullable = false;
  s.primary_key = {"id"};
  s.on_extra_columns = config::ExtraColumnsPolicy::kRescue;
  auto wh = Open("acme");
  MergeTarget t{&s, "2026-11-24", "run1", {}};
  auto w = wh->BeginMerge(t);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  const std::string note = "tab\there, newline\nand \\ backslash";
  Value v[7] = {{ValueKind::kInt, 7, 0, {}},
                {ValueKind::kText, 0, 0, "12.30"},
                {ValueKind::kReal, 0, 0.1, {}},
                {ValueKind::kInt, 1, 0, {}},
                {ValueKind::kText, 0, 0, "2026-11-24"},
                {ValueKind::kText, 0, 0, "2026-11-24 10:00:00.5"},
                {ValueKind::kText, 0, 0, note}};
  ASSERT_TRUE((*w)->Add(v, "raw/acme/d/typed.csv", R"({"extra":"x"})").ok());
  auto c = (*w)->Commit();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto types = Rows(wh.get(),
                    "SELECT column_name, data_type FROM information_schema.columns WHERE "
                    "table_schema = 'acme' AND table_name = 'typed' ORDER BY ordinal_position");
  std::vector<std::string> got;
  for (const auto& row : types) got.push_back(*row[0] + " " + *row[1]);
  EXPECT_EQ(got, (std::vector<std::string>{
                     "id bigint", "amount numeric", "ratio double precision", "ok boolean",
                     "day date", "at timestamp without time zone", "note text", "_ingest_date date",
                     "_load_id bigint", "_rescued text"}));
  auto row = Rows(wh.get(), "SELECT id, amount, ratio, ok, day, at, note, _rescued FROM typed");
  ASSERT_EQ(row.size(), 1u);
  EXPECT_EQ(*row[0][1], "12.30");
  EXPECT_EQ(*row[0][2], "0.1");
  EXPECT_EQ(*row[0][3], "t");
  EXPECT_EQ(*row[0][4], "2026-11-24");
  EXPECT_EQ(*row[0][5], "2026-11-24 10:00:00.5");
  EXPECT_EQ(*row[0][6], note);
  EXPECT_EQ(*row[0][7], R"({"extra":"x"})");
}

TEST_F(PgWarehouseTest, AServerThatRefusesConnectionsIsARetryableErrorNamingTheUrl) {
  // A port nobody listens on: bound and closed again.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  ::close(fd);
  const std::string url = "postgresql://postgres@127.0.0.1:" + std::to_string(port) + "/x";
  auto wh = OpenWarehouse(url, dir_.path(), "acme");
  ASSERT_FALSE(wh.ok());
  EXPECT_EQ(wh.status().code(), StatusCode::kUnavailable) << wh.status().ToString();
  EXPECT_NE(wh.status().message().find("cannot connect to " + url), std::string::npos)
      << wh.status().message();
}

TEST_F(PgWarehouseTest, AWrongPasswordIsPermanentAndSaysWhereThePasswordComesFrom) {
  const std::string good = std::getenv("PGPASSWORD");
  ::setenv("PGPASSWORD", "not-the-password", 1);
  auto wh = OpenWarehouse(url_, dir_.path(), "acme");
  ::setenv("PGPASSWORD", good.c_str(), 1);
  ASSERT_FALSE(wh.ok());
  EXPECT_EQ(wh.status().code(), StatusCode::kPermissionDenied) << wh.status().ToString();
  EXPECT_NE(wh.status().message().find("PGPASSWORD, ~/.pgpass or PGSERVICE"), std::string::npos);
  EXPECT_EQ(wh.status().message().find("not-the-password"), std::string::npos);
}

TEST_F(PgWarehouseTest, APermissionErrorNamesRoleSchemaAndPrivilege) {
  ASSERT_TRUE(Open("acme"));  // the schema exists, owned by the superuser
  const std::string password = std::getenv("PGPASSWORD");
  ASSERT_EQ(testing::PgAdminExec("DROP ROLE IF EXISTS outsider; CREATE ROLE outsider LOGIN "
                                 "PASSWORD '" +
                                 password + "'"),
            "");
  std::string url = url_;
  url.replace(url.find("postgres@"), 9, "outsider@");
  auto wh = OpenWarehouse(url, dir_.path(), "acme");
  ASSERT_FALSE(wh.ok());
  EXPECT_EQ(wh.status().code(), StatusCode::kPermissionDenied) << wh.status().ToString();
  EXPECT_NE(wh.status().message().find("role outsider"), std::string::npos)
      << wh.status().message();
  EXPECT_NE(wh.status().message().find("schema acme"), std::string::npos);
  EXPECT_NE(wh.status().message().find("needs "), std::string::npos);
}

TEST_F(PgWarehouseTest, AConnectionDroppedMidMergeIsRetryableAndKeepsNothing) {
  auto wh = Open("acme");
  auto schema = Schema(config::MergeMode::kUpsert);
  ASSERT_TRUE(Merge(wh.get(), schema, {{1, "1.00"}}).ok());
  MergeTarget t{&schema, "2026-11-25", "run2", {}};
  auto w = wh->BeginMerge(t);
  ASSERT_TRUE(w.ok());
  Value v[2] = {{ValueKind::kInt, 2, 0, {}}, {ValueKind::kText, 0, 0, "2.00"}};
  ASSERT_TRUE((*w)->Add(v, "f.csv", "").ok());
  const std::string pid = *Rows(wh.get(), "SELECT pg_backend_pid()")[0][0];
  ASSERT_EQ(testing::PgAdminExec("SELECT pg_terminate_backend(" + pid + ")"), "");
  Status st = (*w)->Add(v, "f.csv", "");
  auto c = st.ok() ? (*w)->Commit() : Result<MergeCounts>(st);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kUnavailable) << c.status().ToString();
  EXPECT_NE(c.status().message().find("the task is retried"), std::string::npos);
  EXPECT_EQ(Scalar("SELECT count(*) FROM orders"), "1");
}

TEST_F(PgWarehouseTest, AMergeKilledMidCopyLeavesTheTableUnchangedAndARerunCompletesIt) {
  auto schema = Schema(config::MergeMode::kUpsert);
  {
    auto wh = Open("acme");
    ASSERT_TRUE(Merge(wh.get(), schema, {{1, "1.00"}}).ok());
  }
  const std::string ready = (dir_ / "copying").string();
  pid_t child = ::fork();
  if (child == 0) {
    // A merge process: streams rows with COPY, tells the test, and is killed mid-stream.
    auto wh = OpenWarehouse(url_, dir_.path(), "acme");
    if (!wh.ok()) ::_exit(2);
    MergeTarget t{&schema, "2026-11-25", "run2", {}};
    auto w = (*wh)->BeginMerge(t);
    if (!w.ok()) ::_exit(3);
    for (int64_t i = 2; i < 5000; ++i) {
      Value v[2] = {{ValueKind::kInt, i, 0, {}}, {ValueKind::kText, 0, 0, "2.00"}};
      if (!(*w)->Add(v, "f.csv", "").ok()) ::_exit(4);
    }
    std::ofstream(ready) << "copying";
    ::pause();  // never commits
    ::_exit(5);
  }
  ASSERT_GT(child, 0);
  // Waiting on another process (not on time): poll for its file, bounded.
  for (int i = 0; i < 3000 && !std::filesystem::exists(ready); ++i) ::usleep(10000);
  ASSERT_TRUE(std::filesystem::exists(ready));
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(Scalar("SELECT count(*) FROM orders"), "1");
  EXPECT_EQ(Scalar("SELECT count(*) FROM sluice_loads"), "1");
  // The repair runs the merge again: it completes.
  auto wh = Open("acme");
  std::vector<Row> rows;
  for (int64_t i = 2; i < 5000; ++i) rows.push_back({i, "2.00"});
  auto c = Merge(wh.get(), schema, rows, "2026-11-25");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->inserted, 4998);
  EXPECT_EQ(Scalar("SELECT count(*) FROM orders"), "4999");
}

}  // namespace
}  // namespace sluice::warehouse
