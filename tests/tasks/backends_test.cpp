// sluice.yaml's back-ends checked against the registries the factories use (tasks/backends.h).
#include "tasks/backends.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "ledger/ledger.h"
#include "store/object_store.h"
#include "testing/pipeline_fixture.h"
#include "warehouse/warehouse.h"
#include "workflow/executor.h"

namespace sluice::tasks {
namespace {

using sluice::testing::TempDir;

class BackendsTest : public ::testing::Test {
 protected:
  void SetUp() override { sluice::testing::WriteSamplePipeline(dir_); }
  // Loads with the back-end check and returns the error text ("" when it loads).
  std::string Errors() {
    auto p = LoadCheckedPipeline(dir_.path());
    return p.ok() ? "" : p.status().message();
  }
  TempDir dir_;
};

TEST_F(BackendsTest, TheSamplePipelinesBackEndsPass) { EXPECT_EQ(Errors(), ""); }

TEST_F(BackendsTest, BackEndsThatAreNotBuiltAreRefusedAtTheirKeyWithWhatToUseInstead) {
  // validate must say so (exit 2), not let every task of a run fail on it.
  dir_.Write("sluice.yaml", "name: x\nstore: s3://bucket/prefix\n");
  EXPECT_EQ(Errors(), "") << "s3:// is built";
  dir_.Write("sluice.yaml", "name: x\nwarehouse: postgresql://u@h/db\n");
  EXPECT_NE(Errors().find("sluice.yaml:2:1: sluice.yaml: \"postgresql://u@h/db\": postgresql:// "
                          "is not supported by this version of sluice; use sqlite://DIR"),
            std::string::npos)
      << Errors();
  dir_.Write("sluice.yaml", "name: x\nparallelism: 2\nledger: postgres://u@h/db\n");
  EXPECT_NE(Errors().find("sluice.yaml:3:1: sluice.yaml: \"postgres://u@h/db\": postgres:// is "
                          "not supported by this version of sluice; use sqlite://FILE"),
            std::string::npos)
      << Errors();
  dir_.Write("sluice.yaml", "name: x\nexecutor: {type: slurm, partition: etl}\n");
  EXPECT_NE(Errors().find("sluice.yaml:2:1: sluice.yaml: \"slurm\": slurm is not supported by "
                          "this version of sluice; use local"),
            std::string::npos)
      << Errors();
}

TEST_F(BackendsTest, UnknownSchemesListTheBuiltOnes) {
  dir_.Write("sluice.yaml", "name: x\nstore: ftp://host/x\n");
  EXPECT_NE(Errors().find("\"ftp://host/x\" has an unsupported scheme; use one of file://, s3://"),
            std::string::npos)
      << Errors();
  dir_.Write("sluice.yaml", "name: x\nwarehouse: ./warehouse\n");
  EXPECT_NE(Errors().find("\"./warehouse\" has an unsupported scheme; use one of sqlite://"),
            std::string::npos)
      << Errors();
  dir_.Write("sluice.yaml", "name: x\nexecutor: kubernetes\n");
  EXPECT_NE(Errors().find("unknown executor \"kubernetes\"; use one of local"), std::string::npos)
      << Errors();
}

TEST_F(BackendsTest, EveryBackEndProblemIsReportedAtOnce) {
  dir_.Write("sluice.yaml",
             "name: x\nstore: s3://b\nwarehouse: sqlite://./wh?journal=off\nledger: sqlite://\n");
  const std::string errors = Errors();
  EXPECT_NE(errors.find("sluice.yaml:2:1: sluice.yaml: \"s3://b\": \"b\" is not a bucket name"),
            std::string::npos)
      << errors;
  EXPECT_NE(errors.find("sluice.yaml:3:1: sluice.yaml: \"sqlite://./wh?journal=off\": "
                        "journal=off is not a journal mode; use journal=wal"),
            std::string::npos)
      << errors;
  EXPECT_NE(errors.find("sluice.yaml:4:1: sluice.yaml: \"sqlite://\": names no file; use "
                        "sqlite://./state/ledger.db"),
            std::string::npos)
      << errors;
}

TEST_F(BackendsTest, UrlsMayUseEnvironmentVariables) {
  ::setenv("SLUICE_TEST_WAREHOUSE_DIR", "./wh_from_env", 1);
  dir_.Write("sluice.yaml", "name: x\nwarehouse: sqlite://${SLUICE_TEST_WAREHOUSE_DIR}\n");
  EXPECT_EQ(Errors(), "");
  ::unsetenv("SLUICE_TEST_WAREHOUSE_DIR");
  EXPECT_NE(
      Errors().find("sluice.yaml:2:1: sluice.yaml: \"sqlite://${SLUICE_TEST_WAREHOUSE_DIR}\": "
                    "environment variable SLUICE_TEST_WAREHOUSE_DIR is not set"),
      std::string::npos)
      << Errors();
}

TEST_F(BackendsTest, FactoriesExpandEnvironmentVariablesInUrls) {
  ::setenv("SLUICE_TEST_DATA", "data_from_env", 1);
  ::setenv("SLUICE_TEST_STATE", "state_from_env", 1);
  ::setenv("SLUICE_TEST_WH", "wh_from_env", 1);
  auto s = store::OpenStore("file://./${SLUICE_TEST_DATA}", dir_.path());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_TRUE((*s)->Put("landing/acme/x.txt", "x").ok());
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "data_from_env/landing/acme/x.txt"));
  auto l = ledger::OpenLedger("sqlite://./${SLUICE_TEST_STATE}/ledger.db", dir_.path());
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "state_from_env/ledger.db"));
  auto w = warehouse::OpenWarehouse("sqlite://./${SLUICE_TEST_WH}", dir_.path(), "acme");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "wh_from_env/acme.db"));
  ::unsetenv("SLUICE_TEST_DATA");
  ::unsetenv("SLUICE_TEST_STATE");
  ::unsetenv("SLUICE_TEST_WH");
}

TEST_F(BackendsTest, FactoriesRefuseWithTheSameMessageAsValidate) {
  auto s = store::OpenStore("s3://Bad_Bucket/p", dir_.path());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.status().message(),
            "store: \"s3://Bad_Bucket/p\": \"Bad_Bucket\" is not a bucket name (3-63 characters: "
            "a-z, 0-9, '-', '.')");
  dir_.Write("sluice.yaml", "name: x\nstore: s3://Bad_Bucket/p\n");
  EXPECT_NE(Errors().find("sluice.yaml:2:1: sluice.yaml: " + s.status().message().substr(7)),
            std::string::npos)
      << Errors();
  auto l = ledger::OpenLedger("postgresql://u@h/db", dir_.path());
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().message(),
            "ledger: \"postgresql://u@h/db\": postgresql:// is not supported by this version of "
            "sluice; use sqlite://FILE (e.g. sqlite://./state/ledger.db)");
  auto w = warehouse::OpenWarehouse("postgres://u@h/db", dir_.path(), "acme");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().message(),
            "warehouse: \"postgres://u@h/db\": postgres:// is not supported by this version of "
            "sluice; use sqlite://DIR (one database file per partner)");
  auto e = workflow::MakeExecutor("slurm");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(),
            "executor: \"slurm\": slurm is not supported by this version of sluice; use local "
            "(the default: child processes on this machine)");
}

}  // namespace
}  // namespace sluice::tasks
