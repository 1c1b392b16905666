// End-to-end: the example pipeline with its warehouse and ledger on PostgreSQL (one database for
// both) loads the rows the default SQLite set-up loads, table by table; summary, runs, show and
// logs read the PostgreSQL ledger; a repair after a merge killed mid-run completes the tables.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pg/pg_test_server.h"
#include "testing/run_command.h"
#include "testing/temp_dir.h"
#include "warehouse/warehouse.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;
using testing::RunCommand;
using testing::Sluice;
using testing::TempDir;

constexpr const char* kDay = "2026-11-24";
const char* const kPartners[] = {"acme", "globex", "hanbit", "initech"};
const char* const kTables[] = {"orders", "customers", "products"};

std::string Quote(const fs::path& p) { return "'" + p.string() + "'"; }

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Writes the example with its sample deliveries; with `pg_url`, its warehouse and ledger there.
void InitExample(const fs::path& dir, const std::string& pg_url) {
  auto r = RunCommand(Sluice() + " init " + Quote(dir) + " --sample-data --rows 300 --seed 11 " +
                      "--date " + kDay);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  if (pg_url.empty()) return;
  std::string yaml = ReadAll(dir / "sluice.yaml");
  auto replace_line = [&](const std::string& key, const std::string& value) {
    size_t at = yaml.find("\n" + key + ":");
    ASSERT_NE(at, std::string::npos) << yaml;
    size_t end = yaml.find('\n', at + 1);
    yaml.replace(at + 1, end - at - 1, key + ": " + value);
  };
  replace_line("warehouse", pg_url);
  replace_line("ledger", pg_url);
  std::ofstream(dir / "sluice.yaml", std::ios::trunc) << yaml;
}

testing::CommandResult RunPipeline(const fs::path& dir) {
  return RunCommand(Sluice() + " run " + Quote(dir) + " --date " + kDay + " --parallelism 2");
}

// Every table's rows without _load_id (load ids follow the order concurrent merges commit in),
// booleans as 1/0, sorted as text: what the rows say, whatever the back-end's spelling.
std::vector<std::string> Dump(const std::string& url, const fs::path& base) {
  std::vector<std::string> out;
  for (const char* partner : kPartners) {
    auto wh = warehouse::OpenWarehouse(url, base, partner);
    EXPECT_TRUE(wh.ok()) << wh.status().ToString();
    if (!wh.ok()) return out;
    for (const char* table : kTables) {
      auto probe = (*wh)->Query(std::string("SELECT * FROM ") + table, 1);
      EXPECT_TRUE(probe.ok()) << probe.status().ToString();
      if (!probe.ok()) continue;
      std::vector<std::string> select;
      if (url.rfind("postgresql://", 0) == 0) {
        auto types = (*wh)->Query(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = "
            "current_schema() AND table_name = '" +
            std::string(table) + "' ORDER BY ordinal_position");
        EXPECT_TRUE(types.ok()) << types.status().ToString();
        if (!types.ok()) continue;
        for (const auto& row : types->rows) {
          if (*row[0] == "_load_id") continue;
          select.push_back(*row[1] == "boolean" ? "(" + *row[0] + ")::int" : *row[0]);
        }
      } else {
        for (const std::string& c : probe->columns) {
          if (c != "_load_id") select.push_back(c);
        }
      }
      std::string cols;
      for (const std::string& s : select) cols += (cols.empty() ? "" : ", ") + s;
      auto rows = (*wh)->Query("SELECT " + cols + " FROM " + table, 1000000);
      EXPECT_TRUE(rows.ok()) << rows.status().ToString();
      if (!rows.ok()) continue;
      for (const auto& row : rows->rows) {
        std::string line = std::string(partner) + "." + table + ":";
        for (const auto& cell : row) line += "|" + (cell ? *cell : "NULL");
        out.push_back(line);
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

class PgPipeline : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(testing::TestPgServer().error, "");
    url_ = testing::NewPgDatabase();
    ASSERT_FALSE(url_.empty());
  }
  std::vector<std::string> SqliteRows() {
    fs::path dir = tmp_ / "sqlite";
    InitExample(dir, "");
    auto r = RunPipeline(dir);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return Dump("sqlite://./warehouse?journal=rollback", dir);
  }
  TempDir tmp_;
  std::string url_;
};

TEST_F(PgPipeline, TheExampleOnPostgresLoadsTheRowsSqliteLoadsAndTheCommandsReadItsLedger) {
  fs::path dir = tmp_ / "pg";
  InitExample(dir, url_);
  auto run = RunPipeline(dir);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto pg_rows = Dump(url_, dir);
  EXPECT_GT(pg_rows.size(), 1000u);
  EXPECT_EQ(pg_rows, SqliteRows());
  EXPECT_FALSE(fs::exists(dir / "warehouse")) << "nothing may go to the SQLite default";
  EXPECT_FALSE(fs::exists(dir / "state" / "ledger.db"));

  auto runs = RunCommand(Sluice() + " runs " + Quote(dir) + " --json");
  ASSERT_EQ(runs.exit_code, 0) << runs.output;
  auto j = nlohmann::json::parse(runs.output, nullptr, false);
  if (j.is_object() && j.contains("runs")) j = j["runs"];
  ASSERT_TRUE(j.is_array()) << runs.output;
  ASSERT_EQ(j.size(), 1u);
  const std::string run_id = j[0]["run_id"].get<std::string>();
  auto show = RunCommand(Sluice() + " show " + Quote(dir) + " " + run_id);
  EXPECT_EQ(show.exit_code, 0) << show.output;
  EXPECT_NE(show.output.find("merge_table_1"), std::string::npos) << show.output;
  auto summary = RunCommand(Sluice() + " summary " + Quote(dir) + " " + run_id);
  EXPECT_EQ(summary.exit_code, 0) << summary.output;
  EXPECT_NE(summary.output.find("globex"), std::string::npos) << summary.output;
  auto logs =
      RunCommand(Sluice() + " logs " + Quote(dir) + " " + run_id + " merge_table_1 --partner acme");
  EXPECT_EQ(logs.exit_code, 0) << logs.output;
  // The password reached no output, log or file of the pipeline.
  const std::string password = std::getenv("PGPASSWORD");
  EXPECT_EQ(run.output.find(password), std::string::npos);
  auto grep = RunCommand("grep -rl '" + password + "' " + Quote(dir));
  EXPECT_NE(grep.exit_code, 0) << grep.output;
}

TEST_F(PgPipeline, ARunOfADateAlreadyRunningOnTheSharedLedgerIsRefused) {
  fs::path a = tmp_ / "a", b = tmp_ / "b";
  InitExample(a, url_);
  InitExample(b, url_);
  auto first = RunPipeline(a);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  // A run of the same workflow and date is recorded as running by another host's scheduler:
  // the second machine's `sluice run` refuses to start the date.
  ASSERT_EQ(testing::PgAdminExec("INSERT INTO _sluice.runs (run_id, workflow, pipeline_dir, "
                                 "logical_date, params, state, created_ms, ended_ms, "
                                 "scheduler_pid, host, heartbeat_ms) VALUES ('other-host-run', "
                                 "'partner_ingestion', '/elsewhere', '" +
                                     std::string(kDay) +
                                     "', '{}', 'running', 1, 0, 4242, 'other-host', " +
                                     std::to_string(INT64_C(9000000000000)) + ")",
                                 url_.substr(url_.rfind('/') + 1)),
            "");
  auto second = RunPipeline(b);
  EXPECT_NE(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find("other-host-run"), std::string::npos) << second.output;
}

}  // namespace
}  // namespace sluice
