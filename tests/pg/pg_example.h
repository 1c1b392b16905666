// tests/pg/pg_example.h: the example pipeline on PostgreSQL or SQLite for end-to-end tests, and
// a dump of every table of every partner's warehouse that two back-ends (or two runs) can be
// compared by: the data tables with their lineage (_load_id, _ingest_date), and sluice_loads,
// sluice_load_ids and sluice_merges without what differs between two runs by nature (run ids,
// load times).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "testing/run_command.h"
#include "warehouse/warehouse.h"

namespace sluice::testing {

inline constexpr const char* kExampleDay = "2026-11-24";
inline const std::vector<std::string>& ExamplePartners() {
  static const std::vector<std::string> partners = {"acme", "globex", "hanbit", "initech"};
  return partners;
}

inline std::string ShellQuote(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

inline std::string ReadFileText(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Replaces the line `key: ...` of a YAML file with `key: value`.
inline void ReplaceYamlLine(const std::filesystem::path& file, const std::string& key,
                            const std::string& value) {
  std::string yaml = ReadFileText(file);
  size_t at = yaml.find("\n" + key + ":");
  ASSERT_NE(at, std::string::npos) << yaml;
  size_t end = yaml.find('\n', at + 1);
  yaml.replace(at + 1, end - at - 1, key + ": " + value);
  std::ofstream(file, std::ios::trunc) << yaml;
}

// Writes the example with its sample deliveries (`rows` per table); with `pg_url`, its warehouse
// and ledger there.
inline void InitExample(const std::filesystem::path& dir, const std::string& pg_url,
                        int rows = 300) {
  auto r = RunCommand(Sluice() + " init " + ShellQuote(dir) + " --sample-data --rows " +
                      std::to_string(rows) + " --seed 11 --date " + kExampleDay);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  if (pg_url.empty()) return;
  ReplaceYamlLine(dir / "sluice.yaml", "warehouse", pg_url);
  ReplaceYamlLine(dir / "sluice.yaml", "ledger", pg_url);
}

inline std::string ExampleWarehouseUrl(const std::string& pg_url) {
  return pg_url.empty() ? "sqlite://./warehouse?journal=rollback" : pg_url;
}

// The names of the partner's tables: the data tables and sluice_* lineage, sorted.
inline std::vector<std::string> TableNames(warehouse::Warehouse& wh, bool pg) {
  auto names = wh.Query(pg ? "SELECT table_name FROM information_schema.tables WHERE "
                             "table_schema = current_schema() ORDER BY 1"
                           : "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1",
                        100000);
  EXPECT_TRUE(names.ok()) << names.status().ToString();
  std::vector<std::string> out;
  if (!names.ok()) return out;
  for (const auto& row : names->rows) out.push_back(*row[0]);
  return out;
}

// Every row of every table of every partner as "partner.table:|v1|v2...", sorted. Booleans read
// as 1/0; sluice_loads and sluice_load_ids without run_id and loaded_at, sluice_merges without
// run_id (a clean run and a repaired one have other run ids and times, the same rows).
inline std::vector<std::string> DumpWarehouse(const std::string& url,
                                              const std::filesystem::path& base) {
  const bool pg = url.rfind("postgresql://", 0) == 0;
  std::vector<std::string> out;
  for (const std::string& partner : ExamplePartners()) {
    auto wh = warehouse::OpenWarehouse(url, base, partner);
    EXPECT_TRUE(wh.ok()) << wh.status().ToString();
    if (!wh.ok()) return out;
    const std::vector<std::string> tables = TableNames(**wh, pg);
    out.push_back(partner + " tables: " + [&] {
      std::string s;
      for (const std::string& t : tables) s += t + " ";
      return s;
    }());
    for (const std::string& table : tables) {
      std::vector<std::string> select;
      if (pg) {
        auto types = (*wh)->Query(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = "
            "current_schema() AND table_name = '" +
                table + "' ORDER BY ordinal_position",
            1000);
        EXPECT_TRUE(types.ok()) << types.status().ToString();
        if (!types.ok()) continue;
        for (const auto& row : types->rows) {
          select.push_back(*row[1] == "boolean" ? "(" + *row[0] + ")::int" : *row[0]);
        }
      } else {
        auto probe = (*wh)->Query("SELECT * FROM " + table, 1);
        EXPECT_TRUE(probe.ok()) << probe.status().ToString();
        if (!probe.ok()) continue;
        select = probe->columns;
      }
      std::string cols;
      for (const std::string& s : select) {
        const bool per_run = s == "run_id" || s == "loaded_at";
        if (table.rfind("sluice_", 0) == 0 && per_run) continue;
        cols += (cols.empty() ? "" : ", ") + s;
      }
      auto rows = (*wh)->Query("SELECT " + cols + " FROM " + table, 10000000);
      EXPECT_TRUE(rows.ok()) << rows.status().ToString();
      if (!rows.ok()) continue;
      for (const auto& row : rows->rows) {
        std::string line = partner + "." + table + ":";
        for (const auto& cell : row) line += "|" + (cell ? *cell : "NULL");
        out.push_back(line);
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The first difference of two dumps, for a readable failure.
inline std::string FirstDifference(const std::vector<std::string>& a,
                                   const std::vector<std::string>& b) {
  std::vector<std::string> only_a, only_b;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(only_a));
  std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(only_b));
  std::string s = std::to_string(a.size()) + " vs " + std::to_string(b.size()) + " rows; ";
  for (size_t i = 0; i < only_a.size() && i < 5; ++i) s += "\n  only left:  " + only_a[i];
  for (size_t i = 0; i < only_b.size() && i < 5; ++i) s += "\n  only right: " + only_b[i];
  return s;
}

}  // namespace sluice::testing
