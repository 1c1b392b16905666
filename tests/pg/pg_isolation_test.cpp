// `isolation: roles` on PostgreSQL: each partner's schema owned by its own role, its merges,
// checks and sql statements run as that role, so one partner's SQL can neither read nor change
// another partner's tables, nor leave its role.
#include <gtest/gtest.h>

#include <string>

#include "pg/pg_test_server.h"
#include "testing/temp_dir.h"
#include "warehouse/postgres_warehouse.h"
#include "warehouse/warehouse.h"
#include "warehouse/warehouse_test_support.h"

namespace sluice::warehouse {
namespace {

class PgRoles : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(testing::TestPgServer().error, "");
    url_ = testing::NewPgDatabase();
    ASSERT_FALSE(url_.empty());
  }
  std::unique_ptr<Warehouse> Open(std::string_view partner) {
    auto wh = OpenWarehouse(url_, dir_.path(), partner, {.partner_roles = true});
    EXPECT_TRUE(wh.ok()) << wh.status().ToString();
    return wh.ok() ? std::move(wh).value() : nullptr;
  }
  testing::TempDir dir_;
  std::string url_;
};

TEST_F(PgRoles, APartnersSqlCheckReadingAnotherPartnersSchemaFailsWithAPermissionError) {
  auto a = Open("iso-a");
  auto b = Open("iso-b");
  ASSERT_TRUE(a && b);
  auto schema = Schema(config::MergeMode::kUpsert);
  ASSERT_TRUE(Merge(a.get(), schema, {{1, "1.00"}}).ok());
  ASSERT_TRUE(Merge(b.get(), schema, {{7, "7.00"}, {8, "8.00"}}).ok());
  // Its own tables, as a check reads them.
  EXPECT_EQ(*Rows(a.get(), "SELECT count(*) FROM orders")[0][0], "1");
  auto own = a->Query("SELECT order_id, amount FROM orders ORDER BY 1;");
  ASSERT_TRUE(own.ok()) << own.status().ToString();
  EXPECT_EQ(own->columns, (std::vector<std::string>{"order_id", "amount"}));
  EXPECT_EQ(*own->rows[0][1], "1.00");
  // Another partner's: refused by the server, naming the role and the schema.
  auto other = a->Query("SELECT * FROM \"iso-b\".orders");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), StatusCode::kPermissionDenied) << other.status().ToString();
  EXPECT_NE(other.status().message().find("permission denied for schema iso-b"), std::string::npos)
      << other.status().message();
  EXPECT_NE(other.status().message().find("role " + PostgresRoleName("iso-a")), std::string::npos)
      << other.status().message();
}

TEST_F(PgRoles, APartnersStatementsCannotChangeAnotherPartnersTablesNorLeaveTheirRole) {
  auto a = Open("iso-a");
  auto b = Open("iso-b");
  ASSERT_TRUE(a && b);
  auto schema = Schema(config::MergeMode::kUpsert);
  ASSERT_TRUE(Merge(b.get(), schema, {{7, "7.00"}}).ok());
  Status write = a->Execute("INSERT INTO \"iso-b\".orders VALUES (9, 9.00, '2026-11-24', 1)");
  EXPECT_EQ(write.code(), StatusCode::kPermissionDenied) << write.ToString();
  for (const char* escape :
       {"RESET ROLE", "SET ROLE postgres", "SELECT set_config('role', 'postgres', false)"}) {
    Status st = a->Execute(std::string(escape) + "; DELETE FROM \"iso-b\".orders");
    EXPECT_FALSE(st.ok()) << escape;
    EXPECT_NE(st.message().find("cannot set parameter \"role\""), std::string::npos)
        << st.message();
  }
  auto leave = a->Query("SELECT set_config('role', 'postgres', false)");
  EXPECT_FALSE(leave.ok());
  // Its own statements still run, as its role, in its schema.
  ASSERT_TRUE(a->Execute("CREATE TABLE daily (n bigint); INSERT INTO daily VALUES (1)").ok());
  EXPECT_EQ(*Rows(a.get(), "SELECT count(*) FROM daily")[0][0], "1");
  EXPECT_EQ(*Rows(a.get(), "SELECT tableowner FROM pg_tables WHERE tablename = 'daily'")[0][0],
            PostgresRoleName("iso-a"));
  EXPECT_EQ(*Rows(b.get(), "SELECT count(*) FROM orders")[0][0], "1");  // untouched
}

TEST_F(PgRoles, RoleNamesFitPostgresLimitAndStayDistinct) {
  EXPECT_EQ(PostgresRoleName("acme"), "sluice_acme");
  const std::string a(63, 'a'), b = std::string(62, 'a') + "b";
  EXPECT_LE(PostgresRoleName(a).size(), 63u);
  EXPECT_NE(PostgresRoleName(a), PostgresRoleName(b));
  // A partner that had a schema before roles were asked for moves to its role.
  {
    auto plain = OpenWarehouse(url_, dir_.path(), "iso-c");
    ASSERT_TRUE(plain.ok());
    ASSERT_TRUE(Merge(plain->get(), Schema(config::MergeMode::kUpsert), {{1, "1.00"}}).ok());
  }
  auto c = Open("iso-c");
  ASSERT_TRUE(c);
  EXPECT_TRUE(Merge(c.get(), Schema(config::MergeMode::kUpsert), {{2, "2.00"}}).ok());
  EXPECT_EQ(*Rows(c.get(), "SELECT count(*) FROM orders")[0][0], "2");
}

}  // namespace
}  // namespace sluice::warehouse
