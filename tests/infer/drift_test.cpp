// End-to-end tests of the drift report: a delivery whose header has an extra column, a column
// renamed to one of its aliases and a missing column is loaded, the merge result, the summary
// and the failure alert say so with a JSON Patch, and the patched schema loads the next delivery
// with nothing left to accept.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "infer/infer_test_util.h"

namespace sluice::testing {
namespace {

constexpr const char* kSchema = R"JSON({
  "table": "orders",
  "columns": [
    {"name": "order_id", "type": "int64", "nullable": false, "aliases": ["OrderNo"]},
    {"name": "amount", "type": "decimal(12,2)"},
    {"name": "status", "type": "string"},
    {"name": "note", "type": "string"}
  ],
  "merge": "append",
  "on_extra_columns": "EXTRA_POLICY",
  "on_missing_columns": "MISSING_POLICY"
}
)JSON";

class Drift : public ::testing::Test {
 protected:
  void SetUp() override { WriteMergeAllPipeline(dir_); }

  void WritePartner(const std::string& extra_policy, const std::string& missing_policy) {
    dir_.Write("partners/shop/partner.yaml",
               "id: shop\narchive: \"shop_{date:%Y%m%d}.tar.gz\"\n"
               "csv: {encoding: utf-8, delimiter: \",\", header: true}\n"
               "tables:\n  orders: {file: \"orders*.csv\"}\n");
    std::string schema = kSchema;
    schema.replace(schema.find("EXTRA_POLICY"), 12, extra_policy);
    schema.replace(schema.find("MISSING_POLICY"), 14, missing_policy);
    dir_.Write("partners/shop/schemas/orders.json", schema);
  }

  // Delivers orders.csv with `csv` for `date` and runs it; the run's output and id.
  CommandResult DeliverAndRun(const std::string& date, const std::string& csv,
                              std::string* run_id) {
    const std::string compact = date.substr(0, 4) + date.substr(5, 2) + date.substr(8, 2);
    dir_.Write("pack/" + date + "/orders.csv", csv);
    EXPECT_TRUE(Tar(dir_ / ("data/landing/shop/" + date + "/shop_" + compact + ".tar.gz"),
                    dir_ / ("pack/" + date), {"orders.csv"}));
    auto run = RunCommand(Sluice() + " run " + Quote(dir_.path()) + " --date " + date);
    *run_id = RunIdOf(run.output);
    return run;
  }

  nlohmann::json Show(const std::string& run_id) {
    auto r = RunCommand(Sluice() + " show " + Quote(dir_.path()) + " " + run_id + " --json");
    auto j = nlohmann::json::parse(r.output, nullptr, false);
    return j.is_discarded() ? nlohmann::json::object() : j;
  }

  nlohmann::json Instance(const nlohmann::json& show, const std::string& task) {
    for (const auto& i : show.value("instances", nlohmann::json::array())) {
      if (i.value("task", "") == task) return i;
    }
    return nlohmann::json::object();
  }

  // Applies `patch` to the schema file, as a user would with any JSON Patch tool.
  void ApplyPatch(const nlohmann::json& patch) {
    const auto path = dir_ / "partners/shop/schemas/orders.json";
    auto schema = nlohmann::json::parse(ReadFile(path));
    dir_.Write("partners/shop/schemas/orders.json", schema.patch(patch).dump(2) + "\n");
  }

  TempDir dir_;
};

constexpr const char* kDriftedCsv =
    "OrderNo,amount,status,Discount Rate\n"
    "1,10.50,paid,0.15\n"
    "2,3.00,refunded,\n"
    "3,7.25,paid,0.05\n";

TEST_F(Drift, MergeResultAndSummaryListEachDifferenceAndThePatchLoadsTheNextDayClean) {
  WritePartner("rescue", "null");
  std::string run_id;
  auto run = DeliverAndRun("2026-11-24", kDriftedCsv, &run_id);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto show = Show(run_id);
  auto merged = Instance(show, "merge_all")["result"]["tables"]["orders"];
  ASSERT_TRUE(merged.contains("drift")) << merged.dump(2);
  auto& drift = merged["drift"];
  ASSERT_EQ(drift["extra"].size(), 1u) << drift.dump(2);
  EXPECT_EQ(drift["extra"][0]["header"], "Discount Rate");
  EXPECT_EQ(drift["extra"][0]["column"], "discount_rate");
  EXPECT_EQ(drift["extra"][0]["type"], "decimal(18,2)");
  EXPECT_EQ(drift["missing"], nlohmann::json::array({"note"}));
  ASSERT_EQ(drift["renamed"].size(), 1u) << drift.dump(2);
  EXPECT_EQ(drift["renamed"][0]["header"], "OrderNo");
  EXPECT_EQ(drift["renamed"][0]["column"], "order_id");
  EXPECT_EQ(drift["renamed"][0]["via"], "alias");
  const nlohmann::json expected_patch = nlohmann::json::parse(R"J([
    {"op": "add", "path": "/columns/-", "value": {"name": "discount_rate",
     "type": "decimal(18,2)", "aliases": ["Discount Rate"]}}])J");
  EXPECT_EQ(drift["patch"], expected_patch) << drift.dump(2);
  EXPECT_EQ(merged["rows_loaded"], 3);

  // The summary task keeps the drift and prints it.
  auto summary = Instance(show, "merge_summary")["result"]["partners"]["shop"];
  ASSERT_TRUE(summary["tables"].is_array()) << summary.dump(2);
  EXPECT_EQ(summary["tables"][0]["drift"]["patch"], expected_patch) << summary.dump(2);
  auto log = RunCommand(Sluice() + " logs " + Quote(dir_.path()) + " " + run_id + " merge_summary");
  EXPECT_NE(log.output.find("header drift in table orders: extra columns \"Discount Rate\" "
                            "(decimal(18,2)); missing columns note; renamed \"OrderNo\" -> "
                            "order_id (alias). To accept it, apply this JSON Patch"),
            std::string::npos)
      << log.output;

  ApplyPatch(drift["patch"]);
  auto v = RunCommand(Sluice() + " validate " + Quote(dir_.path()));
  ASSERT_EQ(v.exit_code, 0) << v.output;
  std::string next_id;
  auto next = DeliverAndRun("2026-11-25", kDriftedCsv, &next_id);
  ASSERT_EQ(next.exit_code, 0) << next.output;
  auto again = Instance(Show(next_id), "merge_all")["result"]["tables"]["orders"];
  EXPECT_EQ(again["rows_loaded"], 3) << again.dump(2);
  EXPECT_EQ(again["rows_rejected"], 0) << again.dump(2);
  EXPECT_EQ(again["columns_extra"], nlohmann::json::array()) << again.dump(2);
  // Only what the schema already accepts is left: the alias and the nullable missing column.
  EXPECT_EQ(again["drift"]["extra"], nlohmann::json::array()) << again.dump(2);
  EXPECT_EQ(again["drift"]["patch"], nlohmann::json::array()) << again.dump(2);
}

TEST_F(Drift, ARefusedHeaderFailsWithTheDifferencesAndThePatchInTheAlert) {
  WritePartner("fail", "fail");
  dir_.Write("sluice.yaml", std::string(kSluiceYaml) +
                                "alerts:\n  - on: [failure]\n    command: 'printf \"%s\" "
                                "\"$SLUICE_ALERT_JSON\" > alert.json'\n");
  std::string run_id;
  auto run = DeliverAndRun("2026-11-24", kDriftedCsv, &run_id);
  ASSERT_EQ(run.exit_code, 1) << run.output;
  auto merge = Instance(Show(run_id), "merge_all");
  const std::string error = merge.value("error", "");
  EXPECT_NE(error.find("header drift in table orders: extra columns \"Discount Rate\""),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("missing columns note"), std::string::npos) << error;
  auto alert = nlohmann::json::parse(ReadFile(dir_ / "alert.json"), nullptr, false);
  ASSERT_TRUE(alert.is_object()) << ReadFile(dir_ / "alert.json");
  const std::string alert_text = alert.dump();
  EXPECT_NE(alert_text.find("header drift in table orders"), std::string::npos) << alert_text;
  // The patch in the message is the one to apply: it adds the column and lets columns be missing.
  const size_t at = error.find("orders.json: [");
  ASSERT_NE(at, std::string::npos) << error;
  const size_t start = error.find('[', at);
  size_t depth = 0, end = start;
  for (; end < error.size(); ++end) {
    if (error[end] == '[') ++depth;
    if (error[end] == ']' && --depth == 0) break;
  }
  auto patch = nlohmann::json::parse(error.substr(start, end - start + 1), nullptr, false);
  ASSERT_TRUE(patch.is_array()) << error;
  EXPECT_NE(patch.dump().find(R"J({"op":"add","path":"/on_missing_columns","value":"null"})J"),
            std::string::npos)
      << patch.dump();
  EXPECT_NE(patch.dump().find(R"J("path":"/columns/-")J"), std::string::npos) << patch.dump();
  ApplyPatch(patch);
  std::string next_id;
  auto next = DeliverAndRun("2026-11-25", kDriftedCsv, &next_id);
  ASSERT_EQ(next.exit_code, 0) << next.output;
  auto again = Instance(Show(next_id), "merge_all")["result"]["tables"]["orders"];
  EXPECT_EQ(again["rows_loaded"], 3) << again.dump(2);
  EXPECT_EQ(again["drift"]["patch"], nlohmann::json::array()) << again.dump(2);
}

}  // namespace
}  // namespace sluice::testing
