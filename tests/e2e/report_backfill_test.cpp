// End-to-end tests of what a run ends with (the results report), `sluice summary` and
// `sluice backfill`, on a small pipeline (partners acme and globex, one orders table, a warn
// check that always fails) with generated deliveries.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/strings.h"
#include "testing/pipeline_fixture.h"
#include "testing/run_command.h"
#include "testing/temp_dir.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::RunCommand;
using testing::Sluice;
using testing::TempDir;

std::string Quote(const fs::path& p) { return "'" + p.string() + "'"; }

constexpr const char* kWorkflow = R"(name: report_pipeline
tasks:
  - task_key: pre_set_date
    builtin: set_date
  - task_key: batch_extract
    depends_on: [pre_set_date]
    builtin: extract
    for_each: partner
  - task_key: merge_orders
    depends_on: [batch_extract]
    builtin: merge
    for_each: partner
    params: {table: orders}
  - task_key: post_merge_check
    depends_on: [merge_orders]
    builtin: check
    for_each: partner
)";

constexpr const char* kSchema = R"JSON({
  "table": "orders",
  "columns": [
    {"name": "order_id", "type": "int64", "nullable": false},
    {"name": "amount", "type": "decimal(12,2)"},
    {"name": "status", "type": "string", "max_length": 16}
  ],
  "primary_key": ["order_id"],
  "merge": "upsert",
  "max_reject_ratio": 0.5,
  "checks": [{"type": "row_count", "min": 1000000, "severity": "warn"}]
}
)JSON";

// The pipeline, with deliveries for each of `dates`.
void WritePipeline(const TempDir& dir, const std::vector<std::string>& dates) {
  testing::WriteSamplePipeline(dir);
  dir.Write("workflow.yaml", kWorkflow);
  // The warn check is a row_count no delivery reaches, whatever the generator draws.
  const std::string generating = kSchema;
  for (const char* id : {"acme", "globex"}) {
    dir.Write(std::string("partners/") + id + "/schemas/orders.json", generating);
  }
  for (const std::string& d : dates) {
    auto r =
        RunCommand(Sluice() + " init --data-only " + Quote(dir.path()) + " --rows 20 --date " + d);
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  for (const char* id : {"acme", "globex"}) {
    dir.Write(std::string("partners/") + id + "/schemas/orders.json", kSchema);
  }
}

fs::path GlobexArchive(const TempDir& dir, const std::string& date) {
  std::string compact = date.substr(0, 4) + date.substr(5, 2) + date.substr(8, 2);
  return dir / "data/landing/globex" / date / ("globex_" + compact + ".tar.gz");
}

json Parse(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << text;
  return j;
}

TEST(RunReport, ARunEndsWithCountsRowsChecksFailuresAndTheRepairCommand) {
  TempDir tmp;
  WritePipeline(tmp, {"2026-11-24"});
  fs::resize_file(GlobexArchive(tmp, "2026-11-24"), 40);  // truncated: globex's extract fails
  auto run = RunCommand(Sluice() + " run " + Quote(tmp.path()) + " --date 2026-11-24");
  ASSERT_EQ(run.exit_code, 1) << run.output;
  auto runs = Parse(RunCommand(Sluice() + " runs " + Quote(tmp.path()) + " --json").output);
  ASSERT_EQ(runs.size(), 1u);
  const std::string id = runs[0]["run_id"];
  const std::string dir = tmp.path().string();

  // PASS: set_date, acme's extract/merge; WARN: acme's check; ERROR: globex's extract;
  // SKIP: globex's merge and check.
  EXPECT_NE(run.output.find("PASS=3 WARN=1 ERROR=1 SKIP=2"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("batch_extract globex: failed after 1 attempt: "), std::string::npos)
      << run.output;
  EXPECT_NE(
      run.output.find("log: sluice logs " + dir + " " + id + " batch_extract --partner globex"),
      std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find("WARN acme orders row_count"), std::string::npos) << run.output;
  EXPECT_NE(
      run.output.find("read: sluice logs " + dir + " " + id + " post_merge_check --partner acme"),
      std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find("to repair: sluice repair " + dir + " " + id), std::string::npos)
      << run.output;

  // The same later, as text and as JSON.
  auto text = RunCommand(Sluice() + " summary " + Quote(tmp.path()) + " " + id);
  ASSERT_EQ(text.exit_code, 0) << text.output;
  EXPECT_NE(text.output.find("PASS=3 WARN=1 ERROR=1 SKIP=2"), std::string::npos) << text.output;
  auto by_date =
      RunCommand(Sluice() + " summary " + Quote(tmp.path()) + " --date 2026-11-24 --json");
  ASSERT_EQ(by_date.exit_code, 0) << by_date.output;
  json report = Parse(by_date.output);
  EXPECT_EQ(report["schema_version"], 1);
  EXPECT_EQ(report["run_id"], id);
  EXPECT_EQ(report["partners"], json::array({"acme", "globex"}));
  EXPECT_EQ(report["counts"]["ERROR"], 1);
  ASSERT_EQ(report["tables"].size(), 1u) << report.dump(2);
  EXPECT_EQ(report["tables"][0]["partner"], "acme");
  EXPECT_GT(report["tables"][0]["rows_loaded"].get<int64_t>(), 0);
  if (report["tables"][0]["rows_rejected"].get<int64_t>() > 0) {
    const std::string rejects = report["tables"][0]["rejects"];
    EXPECT_TRUE(fs::exists(rejects) || fs::exists(fs::path(dir) / rejects)) << rejects;
  }
  ASSERT_EQ(report["failed"].size(), 1u);
  EXPECT_EQ(report["failed"][0]["task"], "batch_extract");
  EXPECT_EQ(report["failed"][0]["error"].get<std::string>().find('\n'), std::string::npos);
  EXPECT_EQ(report["repair"], "sluice repair " + dir + " " + id);

  // No run of a date, or RUN_ID with --date: bad usage, said so.
  auto none = RunCommand(Sluice() + " summary " + Quote(tmp.path()) + " --date 2026-01-01");
  EXPECT_EQ(none.exit_code, 2) << none.output;
  EXPECT_NE(none.output.find("no run of 2026-01-01"), std::string::npos) << none.output;
  EXPECT_EQ(RunCommand(Sluice() + " summary " + Quote(tmp.path()) + " " + id + " --date 2026-11-24")
                .exit_code,
            2);
}

TEST(RunReport, SchemaDriftIsShownInTheResultsAndAlertedOncePerPartnerTableAndDate) {
  TempDir tmp;
  WritePipeline(tmp, {"2026-11-24"});
  // acme's schema no longer lists status, so its files now carry a column the schema lacks;
  // globex's files still match its schema.
  std::string drifted = kSchema;
  const std::string status = R"(,
    {"name": "status", "type": "string", "max_length": 16})";
  ASSERT_NE(drifted.find(status), std::string::npos);
  drifted.erase(drifted.find(status), status.size());
  tmp.Write("partners/acme/schemas/orders.json", drifted);
  tmp.Write("workflow.yaml", std::string(kWorkflow) +
                                 "  - task_key: merge_summary\n"
                                 "    depends_on: [merge_orders]\n"
                                 "    builtin: summary\n");
  const fs::path alerts = tmp / "alerts.txt";
  tmp.Write("sluice.yaml", std::string(testing::kSluiceYaml) +
                               "alerts:\n  - on: [schema_drift]\n"
                               "    command: 'printf \"%s\\n\" \"$SLUICE_ALERT_JSON\" >> " +
                               alerts.string() + "'\n");
  const std::string run = Sluice() + " run " + Quote(tmp.path()) + " --date 2026-11-24";
  auto first = RunCommand(run);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const std::string dir = tmp.path().string();
  auto runs = Parse(RunCommand(Sluice() + " runs " + Quote(tmp.path()) + " --json").output);
  ASSERT_EQ(runs.size(), 1u);
  const std::string id = runs[0]["run_id"];

  // The results name the drift and where its patch is; globex's table has no drift line.
  const std::string line =
      "drift: extra columns \"status\" (string); the schema patch that "
      "accepts it: sluice logs " +
      dir + " " + id + " merge_orders --partner acme";
  EXPECT_NE(first.output.find(line), std::string::npos) << first.output;
  EXPECT_EQ(first.output.find("drift:"), first.output.rfind("drift:")) << first.output;

  json report = Parse(RunCommand(Sluice() + " summary " + Quote(tmp.path()) + " --json").output);
  ASSERT_EQ(report["tables"].size(), 2u) << report.dump(2);
  const json& acme = report["tables"][0];
  const json& globex = report["tables"][1];
  ASSERT_EQ(acme["partner"], "acme");
  ASSERT_TRUE(acme["drift"].is_object()) << acme.dump(2);
  EXPECT_EQ(acme["drift"]["extra"][0]["header"], "status");
  EXPECT_EQ(acme["drift"]["patch"][0]["op"], "add");
  EXPECT_EQ(acme["logs"], "sluice logs " + dir + " " + id + " merge_orders --partner acme");
  EXPECT_TRUE(globex["drift"].is_null()) << globex.dump(2);

  // One alert, for acme's orders only, with what differs and the patch.
  auto sent_alerts = [&] {
    std::vector<std::string> lines;
    for (const std::string& l : Split(testing::ReadFile(alerts), '\n')) {
      if (!l.empty()) lines.push_back(l);
    }
    return lines;
  };
  const std::vector<std::string> sent = sent_alerts();
  ASSERT_EQ(sent.size(), 1u) << testing::ReadFile(alerts);
  json alert = Parse(sent[0]);
  EXPECT_EQ(alert["event"], "schema_drift");
  EXPECT_EQ(alert["run_id"], id);
  ASSERT_EQ(alert["drift"].size(), 1u) << alert.dump(2);
  EXPECT_EQ(alert["drift"][0]["partner"], "acme");
  EXPECT_EQ(alert["drift"][0]["table"], "orders");
  EXPECT_EQ(alert["drift"][0]["extra"][0]["header"], "status");
  EXPECT_NE(
      alert["drift"][0]["description"].get<std::string>().find("partners/acme/schemas/orders.json"),
      std::string::npos)
      << alert.dump(2);

  // The same date again: the results still show the drift, the alert is not sent twice.
  auto second = RunCommand(run);
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find("drift: extra columns \"status\""), std::string::npos)
      << second.output;
  EXPECT_EQ(sent_alerts().size(), 1u) << testing::ReadFile(alerts);
}

TEST(Backfill, FiveDatesWithOneFailingThenOnlyFailedCompletesIt) {
  TempDir tmp;
  const std::vector<std::string> dates = {"2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23",
                                          "2026-11-24"};
  WritePipeline(tmp, dates);
  const fs::path broken = GlobexArchive(tmp, "2026-11-22");
  const std::string good = testing::ReadFile(broken);
  fs::resize_file(broken, 40);

  const std::string backfill =
      Sluice() + " backfill " + Quote(tmp.path()) + " --from 2026-11-20 --to 2026-11-24";
  auto first = RunCommand(backfill + " --max-active-runs 2");
  EXPECT_EQ(first.exit_code, 1) << first.output;
  EXPECT_NE(first.output.find("5 dates, 4 without failures, 1 failed"), std::string::npos)
      << first.output;
  EXPECT_NE(first.output.find("to repair: sluice backfill " + tmp.path().string() +
                              " --from 2026-11-20 --to 2026-11-24 --only failed"),
            std::string::npos)
      << first.output;
  auto runs = Parse(RunCommand(Sluice() + " runs " + Quote(tmp.path()) + " --json").output);
  ASSERT_EQ(runs.size(), 5u) << runs.dump(2);

  // The partner re-delivers; --only failed repairs that date's run, and only that one.
  std::ofstream(broken, std::ios::binary | std::ios::trunc) << good;
  auto dry = RunCommand(backfill + " --only failed --dry-run");
  EXPECT_EQ(dry.exit_code, 0) << dry.output;
  EXPECT_NE(dry.output.find("2026-11-22  would repair"), std::string::npos) << dry.output;
  EXPECT_NE(dry.output.find("2026-11-21  skip"), std::string::npos) << dry.output;
  auto second = RunCommand(backfill + " --only failed --json");
  ASSERT_EQ(second.exit_code, 0) << second.output;
  json summary = Parse(second.output.substr(second.output.find("{\n")));
  EXPECT_EQ(summary["schema_version"], 1);
  EXPECT_EQ(summary["failed_dates"], 0);
  ASSERT_EQ(summary["dates"].size(), 5u);
  for (const json& d : summary["dates"]) EXPECT_EQ(d["state"], "success") << d.dump();
  EXPECT_EQ(summary["dates"][2]["action"], "repair");
  EXPECT_EQ(summary["dates"][0]["action"], "skip");
  runs = Parse(RunCommand(Sluice() + " runs " + Quote(tmp.path()) + " --json").output);
  EXPECT_EQ(runs.size(), 5u) << "repaired, not run anew";

  // Again: every date done, nothing runs (what a resumed backfill relies on).
  auto third = RunCommand(backfill);
  EXPECT_EQ(third.exit_code, 0) << third.output;
  EXPECT_EQ(third.output.find("running:"), std::string::npos) << third.output;
  EXPECT_EQ(Parse(RunCommand(Sluice() + " runs " + Quote(tmp.path()) + " --json").output).size(),
            5u);
}

TEST(Backfill, ADryRunNamesThePartnersWhoseDeliveryForANewRunHasNotLanded) {
  TempDir tmp;
  WritePipeline(tmp, {"2026-11-20", "2026-11-21"});
  fs::remove(GlobexArchive(tmp, "2026-11-21"));
  auto dry = RunCommand(Sluice() + " backfill " + Quote(tmp.path()) +
                        " --from 2026-11-20 --to 2026-11-22 --dry-run");
  ASSERT_EQ(dry.exit_code, 0) << dry.output;
  const size_t d20 = dry.output.find("2026-11-20  would run");
  const size_t d21 = dry.output.find("2026-11-21  would run");
  const size_t d22 = dry.output.find("2026-11-22  would run");
  ASSERT_TRUE(d20 != std::string::npos && d21 != std::string::npos && d22 != std::string::npos)
      << dry.output;
  // Everything landed for the 20th; globex is missing on the 21st; nobody delivered the 22nd.
  const std::string on20 = dry.output.substr(d20, d21 - d20);
  const std::string on21 = dry.output.substr(d21, d22 - d21);
  const std::string on22 = dry.output.substr(d22);
  EXPECT_EQ(on20.find("not delivered yet"), std::string::npos) << dry.output;
  EXPECT_NE(on21.find("not delivered yet: globex ("), std::string::npos) << dry.output;
  EXPECT_EQ(on21.find("acme ("), std::string::npos) << dry.output;
  EXPECT_NE(on21.find("globex_20261121.tar.gz"), std::string::npos) << dry.output;
  EXPECT_NE(on22.find("not delivered yet: acme ("), std::string::npos) << dry.output;
  EXPECT_NE(on22.find("globex ("), std::string::npos) << dry.output;
  // --partners narrows the look to those partners.
  auto acme_only = RunCommand(Sluice() + " backfill " + Quote(tmp.path()) +
                              " --from 2026-11-21 --to 2026-11-21 --partners acme --dry-run");
  ASSERT_EQ(acme_only.exit_code, 0) << acme_only.output;
  EXPECT_EQ(acme_only.output.find("not delivered yet"), std::string::npos) << acme_only.output;
}

TEST(Backfill, BadRangesAndPartnersAreUsageErrors) {
  TempDir tmp;
  WritePipeline(tmp, {});
  const std::string base = Sluice() + " backfill " + Quote(tmp.path());
  auto reversed = RunCommand(base + " --from 2026-11-24 --to 2026-11-20");
  EXPECT_EQ(reversed.exit_code, 2) << reversed.output;
  EXPECT_NE(reversed.output.find("is before --from"), std::string::npos) << reversed.output;
  EXPECT_EQ(RunCommand(base + " --from 2026-11-24").exit_code, 2);
  EXPECT_EQ(RunCommand(base + " --from 2026-11-24 --to 2026-11-24 --only some").exit_code, 2);
  auto unknown = RunCommand(base + " --from 2026-11-24 --to 2026-11-24 --partners nosuch");
  EXPECT_EQ(unknown.exit_code, 2) << unknown.output;
  EXPECT_NE(unknown.output.find("nosuch"), std::string::npos) << unknown.output;
  EXPECT_FALSE(
      fs::exists(tmp / "state/ledger.db") &&
      Parse(RunCommand(Sluice() + " runs " + Quote(tmp.path()) + " --json").output).size() > 0)
      << "no run started";
}

}  // namespace
}  // namespace sluice
