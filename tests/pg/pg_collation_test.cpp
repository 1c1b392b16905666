// Text columns of the tables sluice creates on PostgreSQL are COLLATE "C" (PgDeclaredType): in a
// database whose default collation is linguistic (en-US here, through ICU, so the test needs no
// OS locale), text keys compare and sort bytewise as SQLite's BINARY does, so counts and rows
// stay SQLite's; and a table created before, whose text columns have the database's collation,
// keeps it and still merges (the stage's default collation meets either). A real server:
// tests/pg/pg_test_server.h.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pg/pg_test_server.h"
#include "testing/temp_dir.h"
#include "warehouse/warehouse.h"
#include "warehouse/warehouse_test_support.h"

namespace sluice::warehouse {
namespace {

using testing::TempDir;

config::TableSchema Products() {
  config::TableSchema s;
  s.table = "products";
  config::ColumnSchema sku;
  sku.name = "sku";
  sku.nullable = false;
  config::ColumnSchema title;
  title.name = "title";
  s.columns = {sku, title};
  s.merge = config::MergeMode::kUpsert;
  s.primary_key = {"sku"};
  return s;
}

struct Product {
  std::string sku, title;
};

// One merge of `rows` in one AddRows batch (as the merge task hands them over).
Result<MergeCounts> MergeProducts(Warehouse* wh, const std::vector<Product>& rows,
                                  const std::string& date) {
  const config::TableSchema schema = Products();
  MergeTarget t{&schema, date, "run-" + date, {}};
  SLUICE_ASSIGN_OR_RETURN(auto writer, wh->BeginMerge(t));
  std::vector<Value> values;
  for (const Product& p : rows) {
    values.push_back({ValueKind::kText, 0, 0, p.sku});
    values.push_back({ValueKind::kText, 0, 0, p.title});
  }
  size_t failed_row = 0;
  SLUICE_RETURN_IF_ERROR(
      writer->AddRows(values, rows.size(), "raw/acme/products.csv", {}, &failed_row));
  return writer->Commit();
}

class PgCollationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(testing::TestPgServer().error, "");
    std::string error;
    const std::string url = testing::NewPgDatabase(&error);
    ASSERT_FALSE(url.empty()) << error;
    // A database of its own whose default collation is linguistic (ICU's en-US).
    db_ = url.substr(url.rfind('/') + 1) + "_en";
    ASSERT_EQ(testing::PgAdminExec("CREATE DATABASE " + db_ +
                                   " TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"),
              "");
    url_ = url.substr(0, url.rfind('/') + 1) + db_;
    pg_ = Open(url_, pg_dir_);
    lite_ = Open("sqlite://wh", lite_dir_);
    ASSERT_TRUE(pg_ && lite_);
    // The database's own order is not bytewise: 'a' < 'B' in en-US, 'B' < 'a' in bytes.
    ASSERT_EQ(Scalar("SELECT 'a' < 'B'"), "t");
  }
  std::unique_ptr<Warehouse> Open(const std::string& url, const TempDir& dir) {
    auto wh = OpenWarehouse(url, dir.path(), "acme");
    EXPECT_TRUE(wh.ok()) << wh.status().ToString();
    return wh.ok() ? std::move(wh).value() : nullptr;
  }
  std::string Scalar(const std::string& sql) {
    auto rows = Rows(pg_.get(), sql);
    return rows.empty() || !rows[0][0] ? "(none)" : *rows[0][0];
  }
  std::string SkuCollation() {
    return Scalar(
        "SELECT coalesce(collation_name, 'default') FROM information_schema.columns WHERE "
        "table_schema = 'acme' AND table_name = 'products' AND column_name = 'sku'");
  }
  // Both back-ends merge the same days; counts and every row (in the key's order) must match.
  void MergeDaysAndCompare(const std::string& pg_order) {
    const std::vector<Product> day1 = {{"b", "1"},  {"B", "1"},        {"a", "1"}, {"A", "1"},
                                       {"_z", "1"}, {"\xC3\xA4", "1"}, {"Z", "1"}, {"a-1", "1"},
                                       {"a1", "1"}, {"a 1", "1"}};
    // Repeated keys and keys that differ only in case: the second day goes through the stage.
    const std::vector<Product> day2 = {{"B", "2"},  {"b", "2"},  {"B", "3"}, {"aa", "2"},
                                       {"AA", "2"}, {"a1", "2"}, {"aa", "3"}};
    for (const auto& [rows, date] : {std::pair{day1, "2026-11-24"}, {day2, "2026-11-25"}}) {
      auto p = MergeProducts(pg_.get(), rows, date);
      auto s = MergeProducts(lite_.get(), rows, date);
      ASSERT_TRUE(p.ok()) << p.status().ToString();
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      EXPECT_EQ(p->inserted, s->inserted) << date;
      EXPECT_EQ(p->updated, s->updated) << date;
      EXPECT_EQ(p->kept_newer, s->kept_newer) << date;
    }
    const std::string sql = "SELECT sku, title, _ingest_date FROM products ORDER BY sku";
    const auto rows =
        Rows(pg_.get(), "SELECT sku, title, _ingest_date FROM products ORDER BY " + pg_order);
    EXPECT_EQ(rows.size(), 12u);
    EXPECT_EQ(rows, Rows(lite_.get(), sql));
  }
  TempDir pg_dir_, lite_dir_;
  std::string db_, url_;
  std::unique_ptr<Warehouse> pg_, lite_;
};

TEST_F(PgCollationTest, NewTablesTextKeysSortBytewiseInALinguisticDatabaseAndMergeAsOnSqlite) {
  MergeDaysAndCompare("sku");  // the column's own order is SQLite's
  EXPECT_EQ(SkuCollation(), "C");
  EXPECT_EQ(Scalar("SELECT count(*) FROM pg_constraint WHERE conrelid = 'acme.products'::regclass "
                   "AND contype = 'p'"),
            "1");
}

TEST_F(PgCollationTest, ATableCreatedWithTheDatabasesCollationKeepsItAndStillMerges) {
  // The table as sluice created it before its text columns were COLLATE "C": an empty merge
  // creates it, then its key column takes the database's default collation back.
  ASSERT_TRUE(MergeProducts(pg_.get(), {}, "2026-11-23").ok());
  ASSERT_EQ(testing::PgAdminExec("ALTER TABLE acme.products ALTER COLUMN sku TYPE text COLLATE "
                                 "pg_catalog.\"default\"",
                                 db_),
            "");
  ASSERT_EQ(SkuCollation(), "default");
  MergeDaysAndCompare("sku COLLATE \"C\"");  // bytewise only when asked for
  EXPECT_EQ(SkuCollation(), "default");
}

}  // namespace
}  // namespace sluice::warehouse
