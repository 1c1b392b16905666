// The isolation matrix (docs/reliability.md) on PostgreSQL with `isolation: roles`: for every
// ordered pair of partners (A, B) and every operation, partner A's warehouse handle (its
// statements run as A's role, inside A's SECURITY DEFINER functions, as a check or sql task's
// do) must not reach B's tables. Each cell is one statement; it must be refused by the server
// with a permission error naming A's role, or run and show nothing of B's. After all cells every
// partner's rows are checked unchanged. The totals are printed for the document.
//
// Not a cell: table and column NAMES are in PostgreSQL's catalogs (pg_class, pg_attribute),
// which every role can read; rows are not (docs/postgresql.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "pg/pg_test_server.h"
#include "testing/temp_dir.h"
#include "warehouse/postgres_warehouse.h"
#include "warehouse/warehouse.h"
#include "warehouse/warehouse_test_support.h"

namespace sluice::warehouse {
namespace {

// "acme" is a prefix of "acme-2" and "a" of both: name prefixes must not leak.
const std::vector<std::string> kPartners = {"acme", "acme-2", "a", "globex"};

std::string Q(const std::string& id) { return "\"" + id + "\""; }

struct Cell {
  const char* op;
  // The statement partner A runs against partner B's schema.
  std::string (*sql)(const std::string& b);
  bool query;  // a SELECT whose rows, if any, must hold nothing of B's
  // A refusal other than a permission error that is right for this cell (its message).
  const char* other_refusal = nullptr;
};

const Cell kCells[] = {
    {"read a table", [](const std::string& b) { return "SELECT * FROM " + Q(b) + ".orders"; },
     true},
    {"read lineage", [](const std::string& b) { return "SELECT * FROM " + Q(b) + ".sluice_loads"; },
     true},
    {"list tables (information_schema)",
     [](const std::string& b) {
       return "SELECT table_name FROM information_schema.tables WHERE table_schema = '" + b + "'";
     },
     true},
    {"list columns (information_schema)",
     [](const std::string& b) {
       return "SELECT column_name FROM information_schema.columns WHERE table_schema = '" + b + "'";
     },
     true},
    {"insert",
     [](const std::string& b) {
       return "INSERT INTO " + Q(b) + ".orders VALUES (99, 9.00, '2026-11-24', 1)";
     },
     false},
    {"update", [](const std::string& b) { return "UPDATE " + Q(b) + ".orders SET amount = 0"; },
     false},
    {"delete", [](const std::string& b) { return "DELETE FROM " + Q(b) + ".orders"; }, false},
    {"truncate", [](const std::string& b) { return "TRUNCATE " + Q(b) + ".orders"; }, false},
    {"drop a table", [](const std::string& b) { return "DROP TABLE " + Q(b) + ".orders"; }, false},
    {"drop the schema", [](const std::string& b) { return "DROP SCHEMA " + Q(b) + " CASCADE"; },
     false},
    {"create a table in it",
     [](const std::string& b) { return "CREATE TABLE " + Q(b) + ".planted (n bigint)"; }, false},
    {"alter a table",
     [](const std::string& b) { return "ALTER TABLE " + Q(b) + ".orders ADD COLUMN x text"; },
     false},
    {"grant itself rights",
     [](const std::string& b) { return "GRANT SELECT ON " + Q(b) + ".orders TO CURRENT_USER"; },
     false},
    {"call its query function",
     [](const std::string& b) {
       return "SELECT * FROM " + Q(b) + ".sluice_query('SELECT * FROM orders')";
     },
     true},
    {"call its exec function",
     [](const std::string& b) { return "SELECT " + Q(b) + ".sluice_exec('DELETE FROM orders')"; },
     true},
    {"become its role", [](const std::string& b) { return "SET ROLE " + Q(PostgresRoleName(b)); },
     false, "cannot set parameter \"role\""},
    {"read through search_path",
     [](const std::string& b) {
       return "SELECT set_config('search_path', '" + Q(b) + "', true), count(*) FROM orders";
     },
     true},
    {"copy out", [](const std::string& b) { return "COPY " + Q(b) + ".orders TO STDOUT"; }, false,
     "cannot COPY to/from client"},
};

TEST(PgIsolationMatrix, NoPartnerRoleReadsWritesListsOrDeletesAnotherPartnersTables) {
  ASSERT_EQ(testing::TestPgServer().error, "");
  const std::string url = testing::NewPgDatabase();
  ASSERT_FALSE(url.empty());
  testing::TempDir dir;
  std::map<std::string, std::unique_ptr<Warehouse>> wh;
  auto schema = Schema(config::MergeMode::kUpsert);
  // Each partner's rows carry its own marker amount (its index + 1), so a leak is recognisable.
  for (size_t i = 0; i < kPartners.size(); ++i) {
    auto opened = OpenWarehouse(url, dir.path(), kPartners[i], {.partner_roles = true});
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    wh[kPartners[i]] = std::move(opened).value();
    const std::string amount = std::to_string(i + 1) + "1.00";
    ASSERT_TRUE(Merge(wh[kPartners[i]].get(), schema, {{1, amount}, {2, amount}}).ok());
  }
  auto snapshot = [&](const std::string& p) {
    std::string s;
    for (const auto& row : Rows(wh[p].get(),
                                "SELECT order_id, amount, _load_id FROM orders "
                                "ORDER BY 1")) {
      s += *row[0] + "," + *row[1] + "," + *row[2] + ";";
    }
    return s;
  };
  std::map<std::string, std::string> before;
  for (const std::string& p : kPartners) before[p] = snapshot(p);

  int cells = 0, refused = 0, contained = 0, permission = 0;
  std::map<std::string, int> by_op;
  for (const std::string& a : kPartners) {
    for (const std::string& b : kPartners) {
      if (a == b) continue;
      for (const Cell& cell : kCells) {
        const std::string sql = cell.sql(b);
        const std::string where = a + " -> " + b + ": " + cell.op + " (" + sql + ")";
        ++cells;
        ++by_op[cell.op];
        Status st;
        std::string rows_text;
        if (cell.query) {
          auto r = wh[a]->Query(sql, 1000);
          st = r.ok() ? Status::Ok() : r.status();
          if (r.ok()) {
            for (const auto& row : r->rows) {
              for (const auto& v : row) rows_text += (v ? *v : "NULL") + "|";
            }
          }
        } else {
          st = wh[a]->Execute(sql);
        }
        if (!st.ok()) {
          // Refused by the server: a permanent permission error naming A's role, or (leaving
          // the role, COPY to the client) what PostgreSQL says inside A's functions.
          if (st.code() == StatusCode::kPermissionDenied) {
            ++permission;
            EXPECT_NE(st.message().find(PostgresRoleName(a)), std::string::npos)
                << where << ": " << st.message();
          } else {
            EXPECT_TRUE(cell.other_refusal != nullptr &&
                        st.message().find(cell.other_refusal) != std::string::npos)
                << where << ": " << st.ToString();
          }
          ++refused;
        } else {
          // Ran: then it saw nothing of B's (no row, no table name, no marker amount).
          const size_t bi = std::find(kPartners.begin(), kPartners.end(), b) - kPartners.begin();
          EXPECT_EQ(rows_text.find(std::to_string(bi + 1) + "1.00"), std::string::npos)
              << where << " returned " << rows_text;
          EXPECT_EQ(rows_text.find("orders"), std::string::npos)
              << where << " returned " << rows_text;
          EXPECT_EQ(rows_text.find("order_id"), std::string::npos)
              << where << " returned " << rows_text;
          ++contained;
        }
      }
    }
  }
  // Nothing of anybody changed, and every partner still works in its own schema.
  for (const std::string& p : kPartners) {
    EXPECT_EQ(snapshot(p), before[p]) << p;
    EXPECT_FALSE(*wh[p]->TableExists("planted")) << p;
    EXPECT_TRUE(Merge(wh[p].get(), schema, {{3, "3.00"}}).ok()) << p;
  }
  EXPECT_EQ(cells, refused + contained);
  EXPECT_GT(refused, cells / 2);
  std::printf(
      "PostgreSQL isolation matrix (isolation: roles): %d cells, %d refused (%d as permission "
      "errors), %d contained\n",
      cells, refused, permission, contained);
  for (const auto& [op, n] : by_op) std::printf("  %-36s %d\n", op.c_str(), n);
}

}  // namespace
}  // namespace sluice::warehouse
