// End-to-end: the example that `sluice init --sample-data` writes, run with `sluice run`.
// A clean run succeeds with rejects recorded; a corrupted archive fails only its partner's chain;
// `sluice repair` after restoring the archive completes the run, and the tables then equal those
// of a clean run.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "testing/run_command.h"
#include "testing/temp_dir.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::CommandResult;
using testing::RunCommand;
using testing::Sluice;
using testing::TempDir;

constexpr const char* kDay1 = "2026-11-24";
constexpr const char* kDay2 = "2026-11-25";
const char* const kPartners[] = {"acme", "globex", "hanbit", "initech"};

std::string Quote(const fs::path& p) { return "'" + p.string() + "'"; }

// Writes the example with sample data for both days (same seed, so two folders are identical).
void InitExample(const fs::path& dir) {
  auto r = RunCommand(Sluice() + " init " + Quote(dir) + " --sample-data --rows 300 --seed 11 " +
                      "--date " + kDay1);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = RunCommand(Sluice() + " init --data-only " + Quote(dir) + " --rows 300 --seed 11 --date " +
                 kDay2);
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

CommandResult RunPipeline(const fs::path& dir, const char* day) {
  return RunCommand(Sluice() + " run " + Quote(dir) + " --date " + day + " --parallelism 2");
}

// Every JSON object (at any depth) that has a "state" key: the task instances of `sluice show`.
void CollectInstances(const json& j, std::vector<json>* out) {
  if (j.is_object()) {
    if (j.contains("state")) out->push_back(j);
    for (const auto& [k, v] : j.items()) CollectInstances(v, out);
  } else if (j.is_array()) {
    for (const auto& v : j) CollectInstances(v, out);
  }
}

std::string Field(const json& o, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    if (o.contains(n) && o[n].is_string()) return o[n].get<std::string>();
  }
  return "";
}

// The newest run's id, from `sluice runs --json` (newest first).
std::string NewestRunId(const fs::path& dir) {
  auto r = RunCommand(Sluice() + " runs " + Quote(dir) + " --json 2>/dev/null");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  json j = json::parse(r.output, nullptr, false);
  if (j.is_object() && j.contains("runs")) j = j["runs"];
  if (!j.is_array() || j.empty()) {
    ADD_FAILURE() << "sluice runs --json: no runs in " << r.output;
    return "";
  }
  std::string id = Field(j[0], {"run_id", "id"});
  if (id.empty() && j[0].contains("id")) id = j[0]["id"].dump();
  return id;
}

// (task, partner) -> state, from `sluice show --json`.
std::map<std::pair<std::string, std::string>, std::string> States(const fs::path& dir,
                                                                  const std::string& run_id) {
  auto r = RunCommand(Sluice() + " show " + Quote(dir) + " " + run_id + " --json 2>/dev/null");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::vector<json> instances;
  CollectInstances(json::parse(r.output, nullptr, false), &instances);
  std::map<std::pair<std::string, std::string>, std::string> states;
  for (const json& i : instances) {
    states[{Field(i, {"task", "task_key"}), Field(i, {"partner"})}] = Field(i, {"state"});
  }
  EXPECT_FALSE(states.empty()) << r.output;
  return states;
}

// Every partner table's rows, sorted, without their load (_load_id; _run_id in tables of wave
// one), which differs between runs by design.
std::string DumpTables(const fs::path& dir) {
  std::string dump;
  for (const char* partner : kPartners) {
    fs::path db = dir / "warehouse" / (std::string(partner) + ".db");
    for (const char* table : {"orders", "customers", "products"}) {
      auto cols = RunCommand("sqlite3 " + Quote(db) + " \"SELECT group_concat(name, ',') FROM " +
                             "pragma_table_info('" + table +
                             "') WHERE name NOT IN ('_run_id', '_load_id')\"");
      std::string c = cols.output.substr(0, cols.output.find('\n'));
      EXPECT_FALSE(c.empty()) << partner << "." << table << ": " << cols.output;
      auto rows = RunCommand("sqlite3 " + Quote(db) + " \"SELECT " + c + " FROM " + table +
                             " ORDER BY " + c + "\"");
      dump += std::string("== ") + partner + "." + table + "\n" + rows.output;
    }
  }
  return dump;
}

// The tables of the example in `dir` after a clean run of day 1, then day 2: what a repaired or
// reordered history must end equal to.
std::string TablesOfARunInDateOrder(const fs::path& dir) {
  InitExample(dir);
  EXPECT_EQ(RunPipeline(dir, kDay1).exit_code, 0);
  EXPECT_EQ(RunPipeline(dir, kDay2).exit_code, 0);
  return DumpTables(dir);
}

TEST(InitExampleRun, CleanRunSucceedsAndRecordsRejects) {
  TempDir tmp;
  fs::path dir = tmp / "example";
  InitExample(dir);
  // acme's warn check on order status now fails (the data has refunded and pending orders).
  const fs::path orders_schema = dir / "partners/acme/schemas/orders.json";
  std::string schema = testing::ReadFile(orders_schema);
  const std::string values = R"(["paid", "refunded", "pending"], "severity": "warn")";
  ASSERT_NE(schema.find(values), std::string::npos) << schema;
  schema.replace(schema.find(values), values.size(), R"(["paid"], "severity": "warn")");
  std::ofstream(orders_schema, std::ios::binary | std::ios::trunc) << schema;
  auto run = RunPipeline(dir, kDay1);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  // A warn check that failed leaves its task a success, and `show` says so on its line.
  auto shown = RunCommand(Sluice() + " show " + Quote(dir) + " " + NewestRunId(dir));
  EXPECT_NE(shown.output.find("1 warn check(s) failed: sluice logs " + dir.string() + " " +
                              NewestRunId(dir) + " post_merge_check --partner acme"),
            std::string::npos)
      << shown.output;
  auto states = States(dir, NewestRunId(dir));
  for (const auto& [key, state] : states) {
    EXPECT_EQ(state, "success") << key.first << " " << key.second;
  }
  EXPECT_EQ(states.count({"merge_table_1", "hanbit"}), 1u);
  // 300 rows per table: every partner has bad rows, and they land in rejects/.
  for (const char* partner : kPartners) {
    fs::path rejects = dir / "data/rejects" / partner / kDay1 / "orders.csv";
    EXPECT_TRUE(fs::exists(rejects)) << rejects;
  }
  std::string tables = DumpTables(dir);
  EXPECT_NE(tables.find("서울"), std::string::npos);  // cp949 text arrived as UTF-8
}

TEST(InitExampleRun, ARunOfChosenPartnersWaitsOnlyForThem) {
  TempDir tmp;
  fs::path dir = tmp / "example";
  InitExample(dir);
  // Only acme delivered; the sensor gives up on anyone else within 3 s.
  for (const char* partner : {"globex", "hanbit", "initech"}) {
    fs::remove_all(dir / "data/landing" / partner);
  }
  std::string workflow = dir / "workflow.yaml";
  auto sed =
      RunCommand("sed -i 's/timeout_seconds: 3500}/timeout_seconds: 3}/' " + Quote(workflow));
  ASSERT_EQ(sed.exit_code, 0) << sed.output;
  auto run = RunCommand(Sluice() + " run " + Quote(dir) + " --date " + kDay1 + " --partners acme");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto states = States(dir, NewestRunId(dir));
  EXPECT_EQ((states[{"wait_for_all_sources", ""}]), "success");
  EXPECT_EQ((states[{"post_merge_check", "acme"}]), "success");
  EXPECT_EQ(states.count({"merge_table_1", "globex"}), 0u);
  EXPECT_TRUE(fs::exists(dir / "warehouse/acme.db"));
  EXPECT_FALSE(fs::exists(dir / "warehouse/globex.db"));
}

TEST(InitExampleRun, BrokenArchiveFailsOnlyItsPartnerAndRepairMatchesACleanRun) {
  TempDir tmp;
  fs::path dir = tmp / "broken";
  InitExample(dir);

  auto first = RunPipeline(dir, kDay1);
  ASSERT_EQ(first.exit_code, 0) << first.output;

  // Day 2: globex's archive arrives truncated (marker present, so it counts as complete).
  fs::path archive = dir / "data/landing/globex" / kDay2 / "globex_export_2026-11-25.tar.gz";
  fs::path saved = tmp / "saved.tar.gz";
  fs::copy_file(archive, saved);
  fs::resize_file(archive, fs::file_size(archive) / 2);
  auto second = RunPipeline(dir, kDay2);
  EXPECT_EQ(second.exit_code, 1) << second.output;
  std::string run_id = NewestRunId(dir);
  auto states = States(dir, run_id);
  EXPECT_EQ((states[{"batch_extract", "globex"}]), "failed");
  for (const char* merge : {"merge_table_1", "merge_table_2", "merge_table_3"}) {
    EXPECT_EQ((states[{merge, "globex"}]), "upstream_failed") << merge;
    for (const char* partner : {"acme", "hanbit", "initech"}) {
      EXPECT_EQ((states[{merge, partner}]), "success") << merge << " " << partner;
    }
  }

  // The partner re-delivers; repair re-runs only what failed, and the run completes.
  fs::copy_file(saved, archive, fs::copy_options::overwrite_existing);
  auto repair = RunCommand(Sluice() + " repair " + Quote(dir) + " " + run_id);
  ASSERT_EQ(repair.exit_code, 0) << repair.output;
  for (const auto& [key, state] : States(dir, run_id)) {
    EXPECT_EQ(state, "success") << key.first << " " << key.second;
  }

  EXPECT_EQ(DumpTables(dir), TablesOfARunInDateOrder(tmp / "clean"));
}

TEST(InitExampleRun, AnEarlierDayLoadedAfterALaterOneGivesTheTablesOfARunInDateOrder) {
  // Day 1 failed and is repaired (or delivered late) after day 2 loaded: the upserted keys keep
  // day 2's rows, so the tables equal those of running the days in order.
  TempDir tmp;
  fs::path late = tmp / "late";
  InitExample(late);
  auto run = RunPipeline(late, kDay2);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  ASSERT_EQ(RunPipeline(late, kDay1).exit_code, 0);
  EXPECT_EQ(DumpTables(late), TablesOfARunInDateOrder(tmp / "in_order"));
  // The late day's manifest says how many rows it left to the later day.
  std::ifstream manifest(late / "data/manifests/acme" / kDay1 / "merge/orders.json");
  json m = json::parse(manifest, nullptr, false);
  ASSERT_TRUE(m.is_object());
  EXPECT_GT(m.value("rows_kept_newer", 0), 0) << m.dump();
  EXPECT_EQ(
      m.value("rows_kept_newer", 0) + m.value("rows_inserted", 0) + m.value("rows_updated", 0),
      m.value("rows_loaded", -1));
}

}  // namespace
}  // namespace sluice
