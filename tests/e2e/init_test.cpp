// End-to-end tests of `sluice init`: the example folder it writes validates, sample data lands
// where the pipeline looks for it, and bad usage exits 2 without touching the folder.
#include <gtest/gtest.h>

#include <filesystem>

#include "testing/pipeline_fixture.h"
#include "testing/run_command.h"
#include "testing/temp_dir.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;
using testing::RunCommand;
using testing::Sluice;
using testing::TempDir;

std::string Quote(const fs::path& p) { return "'" + p.string() + "'"; }

TEST(Init, WritesAnExampleThatValidates) {
  TempDir tmp;
  fs::path dir = tmp / "pipeline";
  auto r = RunCommand(Sluice() + " init " + Quote(dir));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir / "workflow.yaml"));
  EXPECT_FALSE(fs::exists(dir / "data"));  // no sample data unless asked
  auto v = RunCommand(Sluice() + " validate " + Quote(dir));
  EXPECT_EQ(v.exit_code, 0) << v.output;
  EXPECT_NE(v.output.find("ok (8 tasks, 4 partners, 12 tables)"), std::string::npos) << v.output;
}

TEST(Init, WritesSampleDataForTheGivenDate) {
  TempDir tmp;
  fs::path dir = tmp / "p";
  auto r = RunCommand(Sluice() + " init " + Quote(dir) +
                      " --sample-data --date 2026-11-24 --rows 100 --seed 3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("sluice run " + dir.string() + " --date 2026-11-24"), std::string::npos)
      << r.output;
  fs::path acme = dir / "data/landing/acme/2026-11-24";
  EXPECT_TRUE(fs::exists(acme / "_SUCCESS"));
  // The system's tar lists the archive: a real gzip'd tar, not just a file with that name.
  auto list = RunCommand("tar tzf " + Quote(acme / "acme_20261124.tar.gz"));
  EXPECT_EQ(list.exit_code, 0) << list.output;
  EXPECT_EQ(list.output, "orders_20261124.csv\ncustomers_20261124.csv\nproducts_20261124.csv\n");
  EXPECT_EQ(RunCommand(Sluice() + " validate " + Quote(dir)).exit_code, 0);
}

TEST(Init, RefusesANonEmptyFolderAndLeavesItAlone) {
  TempDir tmp;
  tmp.Write("keep.txt", "mine");
  auto r = RunCommand(Sluice() + " init " + Quote(tmp.path()));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("not empty"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(tmp / "sluice.yaml"));
  auto forced = RunCommand(Sluice() + " init --force " + Quote(tmp.path()));
  EXPECT_EQ(forced.exit_code, 0) << forced.output;
  EXPECT_EQ(testing::ReadFile(tmp / "keep.txt"), "mine");
}

TEST(Init, BadUsageExitsTwo) {
  TempDir tmp;
  EXPECT_EQ(RunCommand(Sluice() + " init").exit_code, 2);
  EXPECT_EQ(RunCommand(Sluice() + " init " + Quote(tmp / "a") + " --rows 0").exit_code, 2);
  EXPECT_EQ(RunCommand(Sluice() + " init " + Quote(tmp / "b") + " --partner-count 0").exit_code, 2);
  auto unknown = RunCommand(Sluice() + " init " + Quote(tmp / "d") +
                            " --sample-data --partners acme,nosuch --date 2026-11-24");
  EXPECT_EQ(unknown.exit_code, 2) << unknown.output;
  EXPECT_NE(unknown.output.find("\"nosuch\""), std::string::npos) << unknown.output;
  EXPECT_FALSE(std::filesystem::exists(tmp / "d")) << unknown.output;
  auto bad_date =
      RunCommand(Sluice() + " init " + Quote(tmp / "c") + " --sample-data --date 2026-02-30");
  EXPECT_EQ(bad_date.exit_code, 2) << bad_date.output;
  EXPECT_NE(bad_date.output.find("--date"), std::string::npos) << bad_date.output;
  // Checked before anything is written: no half-made folder to clean up.
  EXPECT_FALSE(std::filesystem::exists(tmp / "c")) << bad_date.output;
}

TEST(Init, WidensToMorePartnersForBenchmarks) {
  TempDir tmp;
  fs::path dir = tmp / "wide";
  auto r = RunCommand(Sluice() + " init " + Quote(dir) +
                      " --partner-count 8 --sample-data --date 2026-11-24 --rows 10");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find("deprecated"), std::string::npos) << r.output;
  auto v = RunCommand(Sluice() + " validate " + Quote(dir));
  EXPECT_NE(v.output.find("8 partners"), std::string::npos) << v.output;
  EXPECT_TRUE(fs::exists(dir / "data/landing/initech-2/2026-11-24/initech-2026-11-24.tar.gz"));
}

TEST(Init, DataOnlyWritesSampleDataForAnExistingPipeline) {
  TempDir tmp;
  testing::WriteSamplePipeline(tmp);
  std::string workflow = testing::ReadFile(tmp / "workflow.yaml");
  auto r = RunCommand(Sluice() + " init --data-only " + Quote(tmp.path()) +
                      " --date 2026-11-24 --rows 5");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(tmp / "data/landing/acme/2026-11-24/acme_20261124.tar.gz"));
  EXPECT_TRUE(fs::exists(tmp / "data/landing/globex/2026-11-24/_SUCCESS"));
  EXPECT_EQ(testing::ReadFile(tmp / "workflow.yaml"), workflow);  // the user's files untouched
  EXPECT_FALSE(fs::exists(tmp / "partners/hanbit"));
  auto missing = RunCommand(Sluice() + " init --data-only " + Quote(tmp / "nope"));
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  EXPECT_NE(missing.output.find("does not exist"), std::string::npos) << missing.output;
}

TEST(Init, StillReadsTheOldPartnerCountSpellingWithAWarning) {
  TempDir tmp;
  fs::path dir = tmp / "old";
  auto r = RunCommand(Sluice() + " init " + Quote(dir) + " --partners 5");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("--partners 5 as a number of partners is deprecated; use "
                          "--partner-count 5"),
            std::string::npos)
      << r.output;
  EXPECT_TRUE(fs::exists(dir / "partners/acme-2/partner.yaml"));
}

TEST(Init, DataOnlyBesideARealArchiveLeavesItByteForByteUnchanged) {
  TempDir tmp;
  testing::WriteSamplePipeline(tmp);
  const std::string real = std::string("real delivery \0\x1f\x8b bytes", 24);
  fs::path archive = tmp.Write("data/landing/acme/2026-11-24/acme_20261124.tar.gz", real);
  fs::path marker = tmp.Write("data/landing/acme/2026-11-24/_SUCCESS", "");

  // Every partner (the README's old step): refused before anything is written, naming the file.
  auto r = RunCommand(Sluice() + " init --data-only " + Quote(tmp.path()) +
                      " --date 2026-11-24 --rows 5");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find(archive.string()), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--force"), std::string::npos) << r.output;
  EXPECT_EQ(testing::ReadFile(archive), real);
  EXPECT_TRUE(fs::exists(marker));
  EXPECT_FALSE(fs::exists(tmp / "data/landing/globex/2026-11-24")) << "nothing half-written";

  // Only the partners named: the real delivery stays as it was.
  auto only = RunCommand(Sluice() + " init --data-only " + Quote(tmp.path()) +
                         " --partners globex --date 2026-11-24 --rows 5");
  ASSERT_EQ(only.exit_code, 0) << only.output;
  EXPECT_TRUE(fs::exists(tmp / "data/landing/globex/2026-11-24/globex_20261124.tar.gz"))
      << only.output;
  EXPECT_EQ(testing::ReadFile(archive), real);
  EXPECT_TRUE(fs::exists(marker));

  // A partner the folder does not have is bad usage.
  auto typo = RunCommand(Sluice() + " init --data-only " + Quote(tmp.path()) +
                         " --partners acmee --date 2026-11-25 --rows 5");
  EXPECT_EQ(typo.exit_code, 2) << typo.output;
  EXPECT_NE(typo.output.find("\"acmee\""), std::string::npos) << typo.output;
  EXPECT_FALSE(fs::exists(tmp / "data/landing/acme/2026-11-25"));

  // --force is the one way to replace it.
  auto forced = RunCommand(Sluice() + " init --data-only " + Quote(tmp.path()) +
                           " --partners acme --date 2026-11-24 --rows 5 --force");
  ASSERT_EQ(forced.exit_code, 0) << forced.output;
  EXPECT_NE(testing::ReadFile(archive), real);
}

}  // namespace
}  // namespace sluice
