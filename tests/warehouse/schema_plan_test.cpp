// The back-end-neutral schema plan: what each back-end applies, and what is refused.
#include "warehouse/schema_plan.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/strings.h"

namespace sluice::warehouse {
namespace {

config::ColumnSchema Column(std::string name, config::ColumnType type, bool nullable = true) {
  config::ColumnSchema c;
  c.name = std::move(name);
  c.type = type;
  c.nullable = nullable;
  return c;
}

config::TableSchema Orders() {
  config::TableSchema s;
  s.table = "orders";
  s.columns = {Column("order_id", config::ColumnType::kInt64, false),
               Column("status", config::ColumnType::kString)};
  s.primary_key = {"order_id"};
  s.merge = config::MergeMode::kUpsert;
  return s;
}

// A back-end whose types are the schema's names, stored alike only when equal.
const ColumnTypes& Types() {
  static const ColumnTypes types{
      "TestDB", [](const config::ColumnSchema& c) { return ToLower(c.TypeName()); },
      [](std::string_view declared, const config::ColumnSchema& c) {
        return declared == ToLower(c.TypeName());
      }};
  return types;
}

std::vector<TableColumn> Table() {
  return {{"order_id", "int64", true, 1},
          {"status", "string", false, 0},
          {"_ingest_date", "text", true, 0},
          {"_load_id", "int64", true, 0}};
}

std::vector<SchemaChangeKind> Kinds(const SchemaPlan& plan) {
  std::vector<SchemaChangeKind> kinds;
  for (const SchemaChange& c : plan.changes) kinds.push_back(c.kind);
  return kinds;
}

TEST(SchemaPlan, AMissingTableIsCreated) {
  auto plan = PlanSchemaChanges(Orders(), false, {}, Types(), "testdb://acme");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(Kinds(*plan), std::vector{SchemaChangeKind::kCreateTable});
}

TEST(SchemaPlan, ATableMatchingTheSchemaNeedsNothing) {
  auto plan = PlanSchemaChanges(Orders(), true, Table(), Types(), "testdb://acme");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_TRUE(plan->changes.empty());
}

TEST(SchemaPlan, ANewNullableColumnIsAddedARenamedOneKeepsItsValues) {
  config::TableSchema s = Orders();
  s.columns[1].name = "state";
  s.columns[1].aliases = {"status"};
  s.columns.push_back(Column("note", config::ColumnType::kString));
  auto plan = PlanSchemaChanges(s, true, Table(), Types(), "testdb://acme");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(Kinds(*plan),
            (std::vector{SchemaChangeKind::kRenameColumn, SchemaChangeKind::kAddColumn}));
  EXPECT_EQ(plan->changes[0].from, "status");
  EXPECT_EQ(plan->changes[0].column, "state");
  EXPECT_EQ(plan->changes[1].column, "note");
}

TEST(SchemaPlan, AColumnDroppedFromTheSchemaIsKeptWithTheWayToDropIt) {
  config::TableSchema s = Orders();
  s.columns.pop_back();
  auto plan = PlanSchemaChanges(s, true, Table(), Types(), "testdb://acme");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(Kinds(*plan), std::vector{SchemaChangeKind::kColumnDropped});
  EXPECT_EQ(plan->changes[0].column, "status");
  EXPECT_NE(plan->changes[0].note.find("ALTER TABLE \"orders\" DROP COLUMN \"status\""),
            std::string::npos)
      << plan->changes[0].note;
}

TEST(SchemaPlan, NotNullTightenedIsListedRelaxedIsRefused) {
  config::TableSchema s = Orders();
  s.columns[1].nullable = false;
  auto tightened = PlanSchemaChanges(s, true, Table(), Types(), "testdb://acme");
  ASSERT_TRUE(tightened.ok()) << tightened.status().ToString();
  EXPECT_EQ(Kinds(*tightened), std::vector{SchemaChangeKind::kNotNullTightened});

  std::vector<TableColumn> required = Table();
  required[1].not_null = true;
  auto relaxed = PlanSchemaChanges(Orders(), true, required, Types(), "testdb://acme");
  ASSERT_FALSE(relaxed.ok());
  EXPECT_EQ(relaxed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(relaxed.status().message().find("table orders in testdb://acme has column \"status\" "
                                            "NOT NULL but the schema now lets it be empty"),
            std::string::npos)
      << relaxed.status().message();
}

TEST(SchemaPlan, UnsafeChangesAreRefusedNamingTheFix) {
  config::TableSchema other_type = Orders();
  other_type.columns[1].type = config::ColumnType::kInt64;
  auto typed = PlanSchemaChanges(other_type, true, Table(), Types(), "testdb://acme");
  ASSERT_FALSE(typed.ok());
  EXPECT_NE(typed.status().message().find(
                "stores column \"status\" as string but the schema now says int64 (stored as "
                "int64); TestDB would convert the values silently"),
            std::string::npos)
      << typed.status().message();

  config::TableSchema other_key = Orders();
  other_key.primary_key = {"status"};
  auto keyed = PlanSchemaChanges(other_key, true, Table(), Types(), "testdb://acme");
  ASSERT_FALSE(keyed.ok());
  EXPECT_NE(keyed.status().message().find("has primary key (order_id) but the schema says "
                                          "(status); a key cannot change in place"),
            std::string::npos)
      << keyed.status().message();

  config::TableSchema required_new = Orders();
  required_new.columns.push_back(Column("qty", config::ColumnType::kInt64, false));
  auto added = PlanSchemaChanges(required_new, true, Table(), Types(), "testdb://acme");
  ASSERT_FALSE(added.ok());
  EXPECT_NE(added.status().message().find("exists without non-nullable column \"qty\"; add it as "
                                          "nullable first"),
            std::string::npos)
      << added.status().message();
}

}  // namespace
}  // namespace sluice::warehouse
