// End-to-end tests of the sluice binary's command line.
#include <gtest/gtest.h>

#include "testing/pipeline_fixture.h"
#include "testing/run_command.h"

namespace sluice {
namespace {

using testing::RunCommand;
using testing::Sluice;
using testing::TempDir;

TEST(Cli, VersionAndHelp) {
  auto v = RunCommand(Sluice() + " --version");
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_NE(v.output.find("sluice "), std::string::npos);
  auto h = RunCommand(Sluice() + " --help");
  EXPECT_EQ(h.exit_code, 0);
  for (const char* cmd : {"init", "validate", "run", "repair", "runs", "show", "logs"}) {
    EXPECT_NE(h.output.find(cmd), std::string::npos) << cmd;
  }
}

TEST(Cli, UnknownCommandIsAUsageError) {
  auto r = RunCommand(Sluice() + " frobnicate");
  EXPECT_EQ(r.exit_code, 2);
}

TEST(Cli, AnEmptyDateIsRefusedNotTakenForToday) {
  // `sluice run DIR --date "$D"` with D unset must not load (or wait for) another day.
  TempDir dir;
  testing::WriteSamplePipeline(dir);
  auto r = RunCommand(Sluice() + " run '" + dir.path().string() + "' --date ''");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--date is empty; give YYYY-MM-DD, or leave --date out for today"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "state"));
  auto i = RunCommand(Sluice() + " init '" + (dir.path() / "new").string() +
                      "' --sample-data --date ''");
  EXPECT_EQ(i.exit_code, 2) << i.output;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "new"));
  // Nor does an empty --partners mean every partner in a repair.
  auto p = RunCommand(Sluice() + " repair '" + dir.path().string() + "' some-run --partners ''");
  EXPECT_EQ(p.exit_code, 2) << p.output;
  EXPECT_NE(p.output.find("--partners names no partner"), std::string::npos) << p.output;
}

TEST(Cli, ValidateAcceptsAGoodFolder) {
  TempDir dir;
  testing::WriteSamplePipeline(dir);
  auto r = RunCommand(Sluice() + " validate '" + dir.path().string() + "'");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("ok (3 tasks, 2 partners, 2 tables)"), std::string::npos) << r.output;
}

TEST(Cli, ValidateReportsFileLineAndExitsTwo) {
  TempDir dir;
  testing::WriteSamplePipeline(dir);
  dir.Write("partners/globex/partner.yaml",
            testing::PartnerYaml("globex") + "limits: {max_entries: ten}\n");
  auto r = RunCommand(Sluice() + " validate '" + dir.path().string() + "'");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("partners/globex/partner.yaml:8:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"max_entries\" must be an integer"), std::string::npos) << r.output;
}

TEST(Cli, ValidateAndRunWarnAboutATableNoMergeTaskLoads) {
  TempDir dir;
  testing::WriteSamplePipeline(dir);
  dir.Write("partners/globex/partner.yaml",
            testing::PartnerYaml("globex") + "  refunds: {file: \"refunds*.csv\"}\n");
  std::string refunds = testing::kOrdersSchema;
  refunds.replace(refunds.find("\"orders\""), 8, "\"refunds\"");
  dir.Write("partners/globex/schemas/refunds.json", refunds);
  const std::string warning =
      "partners/globex/partner.yaml:8:3: warning: table \"refunds\" of partner globex is merged "
      "by no task of workflow.yaml";
  auto v = RunCommand(Sluice() + " validate '" + dir.path().string() + "'");
  EXPECT_EQ(v.exit_code, 0) << v.output;  // other partners must still run
  EXPECT_NE(v.output.find(warning), std::string::npos) << v.output;
  // No delivery landed, so the run fails at extraction; the warning comes first all the same.
  auto r = RunCommand(Sluice() + " run '" + dir.path().string() + "' --date 2026-11-24");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(warning), std::string::npos) << r.output;
}

TEST(Cli, ValidateOfAMissingFolderExitsTwo) {
  auto r = RunCommand(Sluice() + " validate /nonexistent/sluice/pipeline");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("does not exist"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace sluice
