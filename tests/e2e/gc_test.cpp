// `sluice gc` and retention: --dry-run lists exactly what gc then removes; landing files, the
// warehouse and what a failed (repairable) run needs are never removed.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "core/date.h"
#include "core/strings.h"
#include "ledger/ledger.h"
#include "testing/pipeline_fixture.h"
#include "testing/run_command.h"
#include "testing/temp_dir.h"

namespace sluice {
namespace {

using testing::RunCommand;
using testing::Sluice;
using testing::TempDir;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The targets of gc's output lines ("would remove  raw  raw/acme/.../  (...)"), in order.
std::vector<std::string> Targets(const std::string& output, const std::string& lead) {
  std::vector<std::string> out;
  for (const std::string& line : Split(output, '\n')) {
    if (!line.starts_with(lead)) continue;
    std::vector<std::string> parts;
    for (const std::string& p : Split(line.substr(lead.size()), ' ')) {
      if (!p.empty()) parts.push_back(p);
    }
    if (parts.size() >= 2) out.push_back(parts[0] + " " + parts[1]);
  }
  return out;
}

class Gc : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::WriteSamplePipeline(dir_);
    dir_.Write("sluice.yaml", std::string(testing::kSluiceYaml) +
                                  "retention: {raw: 30d, rejects: 90d, logs: 30d, runs: 365d}\n");
    today_ = *Today("UTC");
  }
  std::string Day(int days_ago) const { return today_.AddDays(-days_ago).ToString(); }
  void File(const std::string& rel) { dir_.Write(rel, "x"); }
  // A run of `date` that ended `days_ago` days ago in `state`, with a log folder.
  void Run(ledger::Ledger* l, const std::string& id, const std::string& date, int days_ago,
           const std::string& state) {
    ledger::RunRecord r;
    r.run_id = id;
    r.workflow = "test_pipeline";
    r.pipeline_dir = dir_.path().string();
    r.logical_date = date;
    r.params = "{}";
    r.created_ms = NowMs() - int64_t{days_ago} * 86400000 - 60000;
    ASSERT_TRUE(l->CreateRun(r, {}).ok());
    ASSERT_TRUE(l->FinishRun(id, state, NowMs() - int64_t{days_ago} * 86400000).ok());
    File("logs/" + id + "/batch_extract.acme/1.log");
  }
  bool Exists(const std::string& rel) const { return std::filesystem::exists(dir_ / rel); }

  TempDir dir_;
  Date today_;
};

TEST_F(Gc, DryRunListsExactlyWhatGcRemovesAndNeverLandingOrTheWarehouse) {
  for (int days : {5, 40, 100, 400}) {
    File("data/raw/acme/" + Day(days) + "/orders.csv");
    File("data/rejects/acme/" + Day(days) + "/orders.csv");
    File("data/landing/acme/" + Day(days) + "/acme.tar.gz");
    File("data/manifests/acme/" + Day(days) + "/extract.json");
    File("data/manifests/acme/" + Day(days) + "/merge/orders.json");
  }
  File("data/raw/globex/" + Day(50) + "/orders.csv");
  File("data/raw/acme/.staging/" + Day(60) + ".r.1/orders.csv");
  File("warehouse/acme.db");
  {
    auto l = ledger::OpenLedger("sqlite://./state/ledger.db", dir_.path());
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    Run(l->get(), "old-ok", Day(400), 400, "success");  // past runs: 365d
    Run(l->get(), "mid-ok", Day(100), 100, "success");  // past logs: 30d
    Run(l->get(), "failed", Day(40), 40, "failed");     // repairable: kept, with its date
    Run(l->get(), "new-ok", Day(5), 5, "success");
  }
  auto dry = RunCommand(Sluice() + " gc '" + dir_.path().string() + "' --dry-run");
  ASSERT_EQ(dry.exit_code, 0) << dry.output;
  const std::vector<std::string> planned = Targets(dry.output, "would remove");
  // Store keys are printed as keys (no data/ prefix): compare on the set of targets.
  std::set<std::string> got(planned.begin(), planned.end());
  std::set<std::string> want = {
      "raw raw/acme/" + Day(100) + "/",
      "raw manifests/acme/" + Day(100) + "/extract.json",
      "raw raw/acme/" + Day(400) + "/",
      "raw manifests/acme/" + Day(400) + "/extract.json",
      "raw raw/globex/" + Day(50) + "/",
      "rejects rejects/acme/" + Day(100) + "/",
      "rejects rejects/acme/" + Day(400) + "/",
      "logs " + (dir_ / "logs/old-ok").string(),
      "runs old-ok",
      "logs " + (dir_ / "logs/mid-ok").string(),
  };
  EXPECT_EQ(got, want) << dry.output;
  EXPECT_TRUE(Exists("data/raw/acme/" + Day(400) + "/orders.csv")) << "a dry run removes nothing";
  EXPECT_TRUE(Exists("logs/old-ok"));

  auto gc = RunCommand(Sluice() + " gc '" + dir_.path().string() + "'");
  ASSERT_EQ(gc.exit_code, 0) << gc.output;
  EXPECT_EQ(Targets(gc.output, "removed"), planned) << gc.output;
  for (int days : {100, 400}) {
    EXPECT_FALSE(Exists("data/raw/acme/" + Day(days)));
    EXPECT_FALSE(Exists("data/rejects/acme/" + Day(days)));
    EXPECT_FALSE(Exists("data/manifests/acme/" + Day(days) + "/extract.json"));
  }
  EXPECT_FALSE(Exists("logs/old-ok"));
  EXPECT_FALSE(Exists("logs/mid-ok"));
  // Kept: every landing file, the warehouse, merge manifests, staging, recent dates, and the
  // failed run's date (raw 40 days old, past raw: 30d) with its logs, for a repair.
  for (int days : {5, 40, 100, 400}) {
    EXPECT_TRUE(Exists("data/landing/acme/" + Day(days) + "/acme.tar.gz")) << days;
    EXPECT_TRUE(Exists("data/manifests/acme/" + Day(days) + "/merge/orders.json")) << days;
  }
  EXPECT_TRUE(Exists("warehouse/acme.db"));
  EXPECT_TRUE(Exists("data/raw/acme/.staging"));
  EXPECT_TRUE(Exists("data/raw/acme/" + Day(5) + "/orders.csv"));
  EXPECT_TRUE(Exists("data/raw/acme/" + Day(40) + "/orders.csv"));
  EXPECT_TRUE(Exists("data/rejects/acme/" + Day(40) + "/orders.csv"));
  EXPECT_TRUE(Exists("logs/failed"));
  EXPECT_TRUE(Exists("logs/new-ok"));
  auto runs = RunCommand(Sluice() + " runs '" + dir_.path().string() + "'");
  EXPECT_EQ(runs.output.find("old-ok"), std::string::npos) << runs.output;
  EXPECT_NE(runs.output.find("mid-ok"), std::string::npos) << runs.output;
  EXPECT_NE(runs.output.find("failed"), std::string::npos) << runs.output;

  // Nothing is left to do: a second dry run lists nothing.
  auto again = RunCommand(Sluice() + " gc '" + dir_.path().string() + "' --dry-run");
  EXPECT_TRUE(Targets(again.output, "would remove").empty()) << again.output;
}

TEST_F(Gc, ABadRetentionDurationIsAConfigErrorNamingTheLine) {
  dir_.Write("sluice.yaml", std::string(testing::kSluiceYaml) + "retention: {raw: 30 days}\n");
  auto r = RunCommand(Sluice() + " gc '" + dir_.path().string() + "' --dry-run");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("sluice.yaml:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"30 days\" is not a duration"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace sluice
