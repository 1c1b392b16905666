// `sluice export`: each target's file read back by its format's own parser or schema
// (tests/workflow/export/check_export.py: py_compile + an AST walk for Airflow, the Jobs API 2.1
// request schema for Databricks, the Workflow schema for Argo), and its task graph compared
// with the instances sluice itself would run.
#include "workflow/export.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "config/pipeline_config.h"
#include "testing/pipeline_fixture.h"
#include "testing/run_command.h"
#include "workflow/dag.h"

namespace sluice::workflow {
namespace {

using sluice::testing::RunCommand;
using sluice::testing::TempDir;

const char* kWorkflow = R"(name: partner_ingestion
tasks:
  - task_key: pre_set_date
    builtin: set_date
  - task_key: batch_extract
    depends_on: [pre_set_date]
    builtin: extract
    for_each: partner
    max_retries: 3
    min_retry_interval_millis: 2000
    timeout_seconds: 600
  - task_key: merge_orders
    depends_on: [batch_extract]
    builtin: merge
    for_each: partner
    params: {table: orders}
    resources: {cpus: 2, memory: 1536MiB, time_limit_seconds: 900}
  - task_key: summary
    resources: {memory: 100000000}
    depends_on: [merge_orders]
    builtin: summary
    run_if: ALL_DONE
  - task_key: notify_failure
    depends_on: [merge_orders]
    command: "echo failed"
    run_if: AT_LEAST_ONE_FAILED
    max_retries: 1
)";

// Quoted for the shell (the paths here hold a single quote).
std::string Q(const std::filesystem::path& p) {
  std::string out = "'";
  for (char c : p.string()) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

void WriteAt(const std::filesystem::path& dir, const std::string& rel, const std::string& text) {
  std::filesystem::create_directories((dir / rel).parent_path());
  std::ofstream(dir / rel, std::ios::binary | std::ios::trunc) << text;
}

class ExportTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    // A folder name with a space and a quote: every target must quote it.
    dir_ = std::filesystem::path(tmp_.path()) / "it's a pipeline";
    std::filesystem::create_directories(dir_);
    WriteAt(dir_, "sluice.yaml", sluice::testing::kSluiceYaml);
    WriteAt(dir_, "workflow.yaml", kWorkflow);
    for (const char* id : {"acme", "globex", "hanbit"}) {
      WriteAt(dir_, std::string("partners/") + id + "/partner.yaml",
              sluice::testing::PartnerYaml(id));
      WriteAt(dir_, std::string("partners/") + id + "/schemas/orders.json",
              sluice::testing::kOrdersSchema);
    }
    auto p = config::LoadPipeline(dir_);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    pipeline_ = std::move(p).value();
  }

  ExportOptions Options(const std::string& target) {
    ExportOptions o;
    o.target = target;
    o.partners = {"acme", "globex", "hanbit"};
    o.dir = dir_.string();
    o.sluice = "/opt/sluice/bin/sluice";
    return o;
  }

  // Writes `text` and runs the checker on it: its JSON, or a failure naming what it said.
  nlohmann::json Check(const std::string& target, const std::string& text) {
    const std::filesystem::path file = tmp_.path() / ("export." + target);
    std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
    auto r = RunCommand("python3 " SLUICE_SOURCE_DIR "/tests/workflow/export/check_export.py " +
                        target + " " + Q(file));
    EXPECT_EQ(r.exit_code, 0) << r.output << "\n---\n" << text.substr(0, 3000);
    auto j = nlohmann::json::parse(r.output, nullptr, false);
    if (j.is_discarded()) ADD_FAILURE() << "checker printed no JSON: " << r.output;
    return j;
  }

  TempDir tmp_;
  std::filesystem::path dir_;
  config::Pipeline pipeline_;
};

TEST_P(ExportTest, EveryInstanceBecomesOneTaskWithItsDependenciesRetriesTimeoutAndRunIf) {
  auto text = ExportWorkflow(pipeline_, Options(GetParam()));
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  nlohmann::json got = Check(GetParam(), *text);
  ASSERT_TRUE(got.contains("tasks")) << got.dump();
  const std::vector<InstanceNode> nodes =
      BuildInstances(pipeline_.workflow, {"acme", "globex", "hanbit"});
  ASSERT_EQ(got["tasks"].size(), nodes.size()) << got.dump(1);
  for (const InstanceNode& n : nodes) {
    const std::string name = n.Name();
    ASSERT_TRUE(got["tasks"].contains(name)) << name << " missing from " << got.dump(1);
    const nlohmann::json& t = got["tasks"][name];
    std::vector<std::string> deps;
    for (int d : n.deps) deps.push_back(nodes[static_cast<size_t>(d)].Name());
    std::sort(deps.begin(), deps.end());
    EXPECT_EQ(t["deps"].get<std::vector<std::string>>(), deps) << name;
    EXPECT_EQ(t["retries"], n.task->max_retries) << name;
    // The attempt's hard limit: timeout_seconds, or the resources' time limit where shorter.
    const int64_t limit = n.task->resources.time_limit_seconds > 0 && n.task->timeout_seconds == 0
                              ? n.task->resources.time_limit_seconds
                              : n.task->timeout_seconds;
    EXPECT_EQ(t["timeout"], limit) << name;
    if (!n.deps.empty()) {
      EXPECT_EQ(t["rule"], std::string(config::RunIfName(n.task->run_if))) << name;
    }
  }
  // A task's resources: cpus and memory (MiB, rounded up) where the target has a place for them
  // (Airflow's `resources`, Argo's container requests/limits; a Databricks task runs on its
  // job's cluster, sized there).
  const bool carries = GetParam() != "databricks";
  EXPECT_EQ(got["tasks"]["merge_orders[acme]"]["timeout"], 900);
  EXPECT_EQ(got["tasks"]["merge_orders[acme]"]["cpus"], carries ? 2 : 0);
  EXPECT_EQ(got["tasks"]["merge_orders[acme]"]["memory_mib"], carries ? 1536 : 0);
  EXPECT_EQ(got["tasks"]["summary"]["cpus"], 0);
  EXPECT_EQ(got["tasks"]["summary"]["memory_mib"], carries ? 96 : 0);  // 95.4 MiB rounded up
  EXPECT_EQ(got["tasks"]["batch_extract[acme]"]["memory_mib"], 0);
  // The per-partner chain is per partner: globex's merge waits for globex's extract only.
  EXPECT_EQ(got["tasks"]["merge_orders[globex]"]["deps"],
            nlohmann::json::array({"batch_extract[globex]"}));
}

TEST_P(ExportTest, TasksRunSluiceTaskExecOnThePipelineFolderAsTheWorkersSeeIt) {
  auto text = ExportWorkflow(pipeline_, Options(GetParam()));
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_NE(text->find("/opt/sluice/bin/sluice"), std::string::npos);
  EXPECT_NE(text->find("SLUICE_PARTNERS"), std::string::npos);
  EXPECT_NE(text->find("acme,globex,hanbit"), std::string::npos);
  ExportOptions other = Options(GetParam());
  other.dir = "/shared/pipelines/ingest";
  auto moved = ExportWorkflow(pipeline_, other);
  ASSERT_TRUE(moved.ok());
  EXPECT_NE(moved->find("/shared/pipelines/ingest"), std::string::npos);
  EXPECT_EQ(moved->find("it's a pipeline"), std::string::npos);
}

TEST_P(ExportTest, OnlyTheRequestedPartnersAreExported) {
  ExportOptions o = Options(GetParam());
  o.partners = {"globex"};
  auto text = ExportWorkflow(pipeline_, o);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  nlohmann::json got = Check(GetParam(), *text);
  EXPECT_EQ(got["tasks"].size(), 5u) << got.dump(1);  // 3 run-wide + 2 for globex
  EXPECT_TRUE(got["tasks"].contains("merge_orders[globex]"));
  EXPECT_FALSE(got["tasks"].contains("merge_orders[acme]"));
}

INSTANTIATE_TEST_SUITE_P(Targets, ExportTest, ::testing::Values("airflow", "databricks", "argo"),
                         [](const ::testing::TestParamInfo<std::string>& target) {
                           return target.param;
                         });

TEST(Export, InstancesATargetWouldNameAlikeAreRefusedNamingBoth) {
  config::Pipeline p;
  p.workflow.name = "x";
  config::TaskConfig t;
  t.task_key = "load";
  t.builtin = "extract";
  t.for_each_partner = true;
  p.workflow.tasks.push_back(t);
  ExportOptions o;
  o.target = "argo";
  o.partners = {"north_east", "north-east"};  // both "load--north-east" in Argo's alphabet
  auto r = ExportWorkflow(p, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("load[north_east] and load[north-east]"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("\"load--north-east\""), std::string::npos)
      << r.status().message();
  o.target = "databricks";
  EXPECT_TRUE(ExportWorkflow(p, o).ok()) << "Databricks keeps both spellings apart";
}

TEST(Export, DatabricksRefusesMoreTasksThanOneJobTakesSayingToSplitByPartners) {
  config::Pipeline p;
  p.workflow.name = "x";
  config::TaskConfig t;
  t.task_key = "extract";
  t.builtin = "extract";
  t.for_each_partner = true;
  p.workflow.tasks.push_back(t);
  ExportOptions o;
  o.target = "databricks";
  for (int i = 0; i < 1001; ++i) o.partners.push_back("p" + std::to_string(i));
  auto r = ExportWorkflow(p, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("1001 task instances, but a job takes at most 1000"),
            std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("--partners"), std::string::npos);
  o.partners.pop_back();
  EXPECT_TRUE(ExportWorkflow(p, o).ok());
}

TEST(Export, AnUnknownTargetIsAnError) {
  config::Pipeline p;
  ExportOptions o;
  o.target = "luigi";
  auto r = ExportWorkflow(p, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "export: unknown target \"luigi\"; use airflow, databricks or argo");
}

TEST(Export, TheDatabricksWrapperRunsItsCommandWithItsEnvironment) {
  TempDir tmp;
  const std::filesystem::path wrapper = tmp.path() / "sluice_task_exec.py";
  std::ofstream(wrapper) << DatabricksWrapper();
  auto r = RunCommand("python3 " + Q(wrapper) +
                      " SLUICE_DATE=2026-11-24 -- sh -c 'echo \"$SLUICE_DATE\"; exit 7'");
  EXPECT_EQ(r.exit_code, 7) << r.output;
  EXPECT_EQ(r.output, "2026-11-24\n");
}

TEST(ExportCommand, WritesTheFileOrNothingAndSaysWhy) {
  TempDir tmp;
  sluice::testing::WriteSamplePipeline(tmp);
  const std::filesystem::path out = tmp.path() / "dag.py";
  auto r = RunCommand(sluice::testing::Sluice() + " export " + Q(tmp.path()) +
                      " --to airflow --out " + Q(out));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("wrote"), std::string::npos) << r.output;
  auto check = RunCommand(
      "python3 " SLUICE_SOURCE_DIR "/tests/workflow/export/check_export.py airflow " + Q(out));
  EXPECT_EQ(check.exit_code, 0) << check.output;
  // A folder that does not exist: exit 2, no file, no temporary left behind.
  const std::filesystem::path bad = tmp.path() / "missing" / "dag.py";
  r = RunCommand(sluice::testing::Sluice() + " export " + Q(tmp.path()) + " --to argo --out " +
                 Q(bad));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("cannot write"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "missing"));
  // An unknown partner: exit 2 before anything is written.
  r = RunCommand(sluice::testing::Sluice() + " export " + Q(tmp.path()) +
                 " --to databricks --partners acme,nosuch");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("nosuch"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace sluice::workflow
