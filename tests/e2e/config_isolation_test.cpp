// End-to-end: one partner's broken configuration (issue 24, config isolation). In the example
// pipeline of `sluice init --sample-data` (four partners), initech's orders schema names a type
// that does not exist. `sluice run` fails initech's chain at once with the error (file:line),
// names it in the failure alert, runs the other three partners to success, and exits 1 (the run
// finished with failures); `--strict-config` refuses the whole run (exit 2, no run recorded),
// and `sluice validate` still exits 2 listing the error.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "testing/run_command.h"
#include "testing/temp_dir.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::RunCommand;
using testing::Sluice;
using testing::TempDir;

constexpr const char* kDay = "2026-11-24";

std::string Quote(const fs::path& p) { return "'" + p.string() + "'"; }

void Replace(const fs::path& file, const std::string& from, const std::string& to) {
  std::string text = testing::ReadFile(file);
  const size_t at = text.find(from);
  ASSERT_NE(at, std::string::npos) << file << " has no " << from;
  text.replace(at, from.size(), to);
  std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
}

// The example with day 1's data, initech's orders schema broken on its line 4, and a command
// alert that keeps the failure report.
void WriteExampleWithBrokenPartner(const fs::path& dir) {
  auto r = RunCommand(Sluice() + " init " + Quote(dir) + " --sample-data --rows 100 --seed 5 " +
                      "--date " + kDay);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  Replace(dir / "partners/initech/schemas/orders.json", R"({"name": "order_id", "type": "int64")",
          R"({"name": "order_id", "type": "int46")");
  std::ofstream(dir / "sluice.yaml", std::ios::app)
      << "alerts:\n  - on: [failure]\n    command: 'printf %s \"$SLUICE_ALERT_JSON\" > "
         "alert.json'\n";
}

// The runs of `sluice runs --json`, newest first.
json Runs(const fs::path& dir) {
  auto runs = RunCommand(Sluice() + " runs " + Quote(dir) + " --json 2>/dev/null");
  json j = json::parse(runs.output, nullptr, false);
  EXPECT_TRUE(j.is_array()) << runs.output;
  return j.is_array() ? j : json::array();
}

// (task, partner) -> instance, from `sluice show --json` of the newest run.
std::map<std::pair<std::string, std::string>, json> Instances(const fs::path& dir) {
  json runs = Runs(dir);
  std::map<std::pair<std::string, std::string>, json> out;
  if (runs.empty()) {
    ADD_FAILURE() << "no runs";
    return out;
  }
  const std::string run_id = runs[0]["run_id"].get<std::string>();
  auto shown = RunCommand(Sluice() + " show " + Quote(dir) + " " + run_id + " --json 2>/dev/null");
  json s = json::parse(shown.output, nullptr, false);
  EXPECT_TRUE(s.is_object() && s.contains("instances")) << shown.output;
  if (!s.is_object() || !s.contains("instances")) return out;
  for (const json& i : s["instances"]) {
    out[{i.value("task", ""), i.value("partner", "")}] = i;
  }
  return out;
}

TEST(ConfigIsolation, ABrokenSchemaFailsItsPartnerAloneWhileTheOtherThreeLoad) {
  TempDir tmp;
  const fs::path dir = tmp / "example";
  WriteExampleWithBrokenPartner(dir);

  auto run = RunCommand(Sluice() + " run " + Quote(dir) + " --date " + kDay + " --parallelism 2");
  EXPECT_EQ(run.exit_code, 1) << run.output;  // the run finished, with failures
  EXPECT_NE(run.output.find("partners/initech/schemas/orders.json:4"), std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find("partner initech has 1 configuration error(s)"), std::string::npos)
      << run.output;
  // The results name the error, and no log: no attempt ran.
  EXPECT_NE(run.output.find("batch_extract initech: failed after 0 attempts: not run: partner "
                            "initech has configuration errors"),
            std::string::npos)
      << run.output;
  EXPECT_EQ(run.output.find("batch_extract --partner initech"), std::string::npos) << run.output;

  auto inst = Instances(dir);
  ASSERT_FALSE(inst.empty());
  const json& extract = inst[{"batch_extract", "initech"}];
  EXPECT_EQ(extract.value("state", ""), "failed") << extract.dump();
  EXPECT_EQ(extract.value("attempts", -1), 0) << "no attempt ran: " << extract.dump();
  const std::string error = extract.value("error", "");
  EXPECT_NE(error.find("partners/initech/schemas/orders.json:4"), std::string::npos) << error;
  EXPECT_NE(error.find("int46"), std::string::npos) << error;
  for (const char* task : {"merge_table_1", "merge_table_2", "merge_table_3", "post_merge_check"}) {
    EXPECT_EQ((inst[{task, "initech"}].value("state", "")), "upstream_failed") << task;
    for (const char* partner : {"acme", "globex", "hanbit"}) {
      EXPECT_EQ((inst[{task, partner}].value("state", "")), "success") << task << " " << partner;
    }
  }
  EXPECT_EQ((inst[{"wait_for_all_sources", ""}].value("state", "")), "success");
  EXPECT_EQ((inst[{"merge_summary", ""}].value("state", "")), "success");  // run_if: ALL_DONE
  for (const char* partner : {"acme", "globex", "hanbit"}) {
    EXPECT_TRUE(fs::exists(dir / "warehouse" / (std::string(partner) + ".db"))) << partner;
  }
  // Nothing of initech's was extracted or loaded.
  EXPECT_FALSE(fs::exists(dir / "warehouse/initech.db"));
  EXPECT_FALSE(fs::exists(dir / "data/raw/initech"));

  // The failure alert names the partner and its error.
  json alert = json::parse(testing::ReadFile(dir / "alert.json"), nullptr, false);
  ASSERT_TRUE(alert.is_object()) << testing::ReadFile(dir / "alert.json");
  EXPECT_EQ(alert.value("event", ""), "failure");
  bool named = false;
  for (const json& f : alert["failed"]) {
    if (f.value("partner", "") == "initech" && f.value("task", "") == "batch_extract") {
      named = f.value("error", "").find("schemas/orders.json:4") != std::string::npos;
    }
    EXPECT_EQ(f.value("partner", ""), "initech") << "only initech failed: " << f.dump();
  }
  EXPECT_TRUE(named) << alert.dump(2);
}

TEST(ConfigIsolation, StrictConfigRefusesTheWholeRunAndValidateListsTheError) {
  TempDir tmp;
  const fs::path dir = tmp / "example";
  WriteExampleWithBrokenPartner(dir);

  auto strict = RunCommand(Sluice() + " run " + Quote(dir) + " --date " + kDay +
                           " --parallelism 2 --strict-config");
  EXPECT_EQ(strict.exit_code, 2) << strict.output;
  EXPECT_NE(strict.output.find("partners/initech/schemas/orders.json:4"), std::string::npos)
      << strict.output;
  EXPECT_TRUE(Runs(dir).empty()) << "no run was started";
  EXPECT_FALSE(fs::exists(dir / "warehouse/acme.db"));

  auto validate = RunCommand(Sluice() + " validate " + Quote(dir));
  EXPECT_EQ(validate.exit_code, 2) << validate.output;
  EXPECT_NE(validate.output.find("partners/initech/schemas/orders.json:4"), std::string::npos)
      << validate.output;
}

TEST(ConfigIsolation, AnErrorOutsideEveryPartnerStillStopsTheRun) {
  TempDir tmp;
  const fs::path dir = tmp / "example";
  WriteExampleWithBrokenPartner(dir);
  std::ofstream(dir / "workflow.yaml", std::ios::app) << "bogus_key: 1\n";
  auto run = RunCommand(Sluice() + " run " + Quote(dir) + " --date " + kDay);
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("workflow.yaml"), std::string::npos) << run.output;
  EXPECT_FALSE(fs::exists(dir / "warehouse/acme.db"));
}

TEST(ConfigIsolation, RepairAfterTheFixLoadsTheBrokenPartnerAndKeepsTheOthers) {
  TempDir tmp;
  const fs::path dir = tmp / "example";
  WriteExampleWithBrokenPartner(dir);
  auto run = RunCommand(Sluice() + " run " + Quote(dir) + " --date " + kDay + " --parallelism 2");
  ASSERT_EQ(run.exit_code, 1) << run.output;
  const json acme_merge = Instances(dir)[{"merge_table_1", "acme"}];
  Replace(dir / "partners/initech/schemas/orders.json", R"("type": "int46")", R"("type": "int64")");
  const std::string run_id = Runs(dir)[0].value("run_id", "");
  auto repair = RunCommand(Sluice() + " repair " + Quote(dir) + " " + run_id + " --parallelism 2");
  EXPECT_EQ(repair.exit_code, 0) << repair.output;
  auto inst = Instances(dir);
  EXPECT_EQ((inst[{"merge_table_1", "initech"}].value("state", "")), "success");
  EXPECT_TRUE(fs::exists(dir / "warehouse/initech.db"));
  // acme's merge was kept, not run again.
  EXPECT_EQ((inst[{"merge_table_1", "acme"}].value("attempts", -1)),
            acme_merge.value("attempts", -2));
}

}  // namespace
}  // namespace sluice
