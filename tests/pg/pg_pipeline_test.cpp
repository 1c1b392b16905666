// End-to-end: the example pipeline with its warehouse and ledger on PostgreSQL (one database for
// both) loads the rows the default SQLite set-up loads, every table of every partner with its
// lineage; summary, runs, show and logs read the PostgreSQL ledger; a merge whose login lacks a
// privilege fails once, as permanent, naming role, schema and privilege. (A merge killed
// mid-COPY and a server restarted mid-run: pg_chaos_test.cpp.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pg/pg_example.h"
#include "pg/pg_test_server.h"
#include "testing/run_command.h"
#include "testing/temp_dir.h"
#include "warehouse/warehouse.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;
using testing::kExampleDay;
using testing::RunCommand;
using testing::Sluice;
using testing::TempDir;

constexpr const char* kDay = kExampleDay;

std::string Quote(const fs::path& p) { return testing::ShellQuote(p); }

void InitExample(const fs::path& dir, const std::string& pg_url) {
  testing::InitExample(dir, pg_url);
}

testing::CommandResult RunPipeline(const fs::path& dir) {
  return RunCommand(Sluice() + " run " + Quote(dir) + " --date " + kDay + " --parallelism 2");
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
    return testing::DumpWarehouse(testing::ExampleWarehouseUrl(""), dir);
  }
  TempDir tmp_;
  std::string url_;
};

TEST_F(PgPipeline, TheExampleOnPostgresLoadsTheRowsSqliteLoadsAndTheCommandsReadItsLedger) {
  fs::path dir = tmp_ / "pg";
  InitExample(dir, url_);
  auto run = RunPipeline(dir);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  // Every table of every partner, lineage included: the same rows, _load_id and sluice_loads
  // alike (load ids are numbered per date in a fixed order on both back-ends).
  const auto pg_rows = testing::DumpWarehouse(url_, dir);
  EXPECT_GT(pg_rows.size(), 1000u);
  const auto sqlite_rows = SqliteRows();
  EXPECT_TRUE(pg_rows == sqlite_rows) << testing::FirstDifference(pg_rows, sqlite_rows);
  for (const char* lineage : {"acme.sluice_loads:", "hanbit.sluice_merges:",
                              "initech.sluice_load_ids:", "globex.orders:"}) {
    EXPECT_TRUE(std::any_of(pg_rows.begin(), pg_rows.end(), [&](const std::string& row) {
      return row.rfind(lineage, 0) == 0;
    })) << lineage;
  }
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

TEST_F(PgPipeline, AMergeWithoutThePrivilegeFailsOnceAsPermanentNamingRoleSchemaAndPrivilege) {
  // The warehouse's login may connect but not create a partner's schema; the ledger stays on
  // SQLite (this test is about the merge's error).
  const std::string password = std::getenv("PGPASSWORD");
  ASSERT_EQ(testing::PgAdminExec("DROP ROLE IF EXISTS e2e_outsider; CREATE ROLE "
                                 "e2e_outsider LOGIN PASSWORD '" +
                                 password + "'"),
            "");
  const std::string db = url_.substr(url_.rfind('/') + 1);
  ASSERT_EQ(testing::PgAdminExec("REVOKE CREATE ON SCHEMA public FROM PUBLIC; REVOKE CREATE ON "
                                 "DATABASE " +
                                     db + " FROM PUBLIC",
                                 db),
            "");
  std::string url = url_;
  url.replace(url.find("postgres@"), 9, "e2e_outsider@");
  fs::path dir = tmp_ / "outsider";
  InitExample(dir, "");
  testing::ReplaceYamlLine(dir / "sluice.yaml", "warehouse", url);
  auto run = RunPipeline(dir);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  auto runs = RunCommand(Sluice() + " runs " + Quote(dir) + " --json");
  auto j = nlohmann::json::parse(runs.output, nullptr, false);
  if (j.is_object() && j.contains("runs")) j = j["runs"];
  ASSERT_TRUE(j.is_array() && j.size() == 1) << runs.output;
  auto show = RunCommand(Sluice() + " show " + Quote(dir) + " " +
                         j[0]["run_id"].get<std::string>() + " --json");
  auto doc = nlohmann::json::parse(show.output, nullptr, false);
  ASSERT_TRUE(doc.contains("instances")) << show.output;
  int merges = 0;
  for (const auto& i : doc["instances"]) {
    if (i["task"].get<std::string>().rfind("merge_table_", 0) != 0) continue;
    ++merges;
    const std::string partner = i["partner"].get<std::string>();
    EXPECT_EQ(i["state"], "failed") << i.dump(1);
    EXPECT_EQ(i["attempts"], 1) << "a permission error is not retried: " << i.dump(1);
    const std::string error = i["error"].get<std::string>();
    EXPECT_NE(error.find("role e2e_outsider"), std::string::npos) << error;
    EXPECT_NE(error.find("schema " + partner), std::string::npos) << error;
    EXPECT_NE(error.find("needs CREATE on the database"), std::string::npos) << error;
    EXPECT_NE(error.find("not retried"), std::string::npos) << error;
  }
  EXPECT_EQ(merges, 12);
}

}  // namespace
}  // namespace sluice
