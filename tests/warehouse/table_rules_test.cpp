// The table rules a back-end gives `validate`: chosen by the warehouse URL, with SQLite's limits.
#include <gtest/gtest.h>

#include <string>

#include "warehouse/warehouse.h"

namespace sluice::warehouse {
namespace {

TEST(TableRules, TheSqliteUrlGivesSqlitesLimitsAndReservedNames) {
  auto rules = TableRulesFor("sqlite://./warehouse?journal=rollback");
  ASSERT_TRUE(rules.ok()) << rules.status().ToString();
  EXPECT_EQ(rules->engine, "SQLite");
  EXPECT_EQ(rules->max_columns, 2000u);
  EXPECT_EQ(rules->MaxSchemaColumns(), 1995u);
  EXPECT_TRUE(rules->case_insensitive);
  EXPECT_EQ(rules->CheckTableName("SQLite_stats"),
            "is reserved: SQLite keeps names starting with \"sqlite_\" (in any case) for itself; "
            "rename the table");
  EXPECT_EQ(rules->CheckTableName("Excluded"),
            "is reserved: SQLite's upsert calls the incoming row \"excluded\"; rename the table");
  EXPECT_EQ(rules->CheckTableName("orders"), "");
  EXPECT_EQ(rules->CheckTableName("excluded_orders"), "");
}

TEST(TableRules, AnUnknownOrUnbuiltSchemeIsRefusedAsOpenWarehouseRefusesIt) {
  auto pg = TableRulesFor("postgresql://u@h/db");
  ASSERT_TRUE(pg.ok()) << pg.status().ToString();
  EXPECT_EQ(pg->engine, "PostgreSQL");
  EXPECT_EQ(pg->max_columns, 1600u);
  auto with_password = TableRulesFor("postgresql://u:pw@h/db");
  EXPECT_EQ(with_password.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(TableRulesFor("mysql://x").ok());
}

}  // namespace
}  // namespace sluice::warehouse
