// sluice.yaml's back-ends checked against the registries the factories use (tasks/load_pipeline.h).
#include "tasks/load_pipeline.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

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
  EXPECT_EQ(Errors(), "") << "postgresql:// is built";
  // A password in a PostgreSQL URL is refused at its line, and not repeated.
  dir_.Write("sluice.yaml", "name: x\nparallelism: 2\nledger: postgres://u:s3cret@h/db\n");
  EXPECT_NE(Errors().find("sluice.yaml:3:1: sluice.yaml: \"postgres://u:***@h/db\": the "
                          "postgresql:// URL holds a password"),
            std::string::npos)
      << Errors();
  EXPECT_EQ(Errors().find("s3cret"), std::string::npos) << Errors();
  dir_.Write("sluice.yaml", "name: x\nexecutor: {type: slurm, partition: etl}\n");
  EXPECT_EQ(Errors(), "") << "slurm is built";
  // Its map's keys are the Slurm executor's own, checked by validate too.
  dir_.Write("sluice.yaml", "name: x\nexecutor: {type: slurm, partiton: etl}\n");
  EXPECT_NE(Errors().find("unknown key \"partiton\""), std::string::npos) << Errors();
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

// A schema for table orders with `columns` columns of type string.
std::string WideOrdersSchema(int columns) {
  std::string cols;
  for (int i = 0; i < columns; ++i) {
    cols += std::string(i ? ",\n" : "") + "  {\"name\": \"c" + std::to_string(i) +
            "\", \"type\": \"string\"}";
  }
  return "{\"table\": \"orders\",\n \"columns\": [\n" + cols + "\n ]}\n";
}

TEST_F(BackendsTest, TheWarehouseBackEndDecidesHowManyColumnsATableMayHave) {
  auto rules = warehouse::TableRulesFor("sqlite://./warehouse");
  ASSERT_TRUE(rules.ok());
  const int most = static_cast<int>(rules->MaxSchemaColumns());
  dir_.Write("partners/acme/schemas/orders.json", WideOrdersSchema(most + 1));
  EXPECT_NE(Errors().find("partners/acme/schemas/orders.json:2:"), std::string::npos)
      << Errors().substr(0, 400);
  EXPECT_NE(Errors().find("\"columns\" lists " + std::to_string(most + 1) +
                          " columns; a table may have at most " + std::to_string(most) +
                          " (SQLite's 2000, less sluice's lineage columns)"),
            std::string::npos)
      << Errors().substr(0, 400);
  dir_.Write("partners/acme/schemas/orders.json", WideOrdersSchema(most));
  EXPECT_EQ(Errors().find("columns;"), std::string::npos) << Errors().substr(0, 400);
}

TEST_F(BackendsTest, TableNamesTheWarehouseKeepsForItselfAreRefusedAtTheirKey) {
  // "excluded": SQLite's name for the incoming row of an upsert.
  for (const char* name : {"sqlite_stats", "SQLite_x", "excluded", "Excluded"}) {
    dir_.Write("partners/acme/partner.yaml",
               std::string("id: acme\narchive: \"acme_{date:%Y%m%d}.tar.gz\"\ntables:\n"
                           "  orders: {file: \"orders*.csv\"}\n  ") +
                   name + ": {file: \"s*.csv\"}\n");
    dir_.Write(std::string("partners/acme/schemas/") + name + ".json",
               std::string("{\"table\": \"") + name +
                   "\", \"columns\": [{\"name\": \"a\", \"type\": \"string\"}]}");
    std::string e = Errors();
    EXPECT_NE(e.find(std::string("partners/acme/partner.yaml:5:3: table name \"") + name +
                     "\" is reserved"),
              std::string::npos)
        << e;
    std::filesystem::remove(dir_.path() / (std::string("partners/acme/schemas/") + name + ".json"));
  }
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
  auto l = ledger::OpenLedger("postgresql://u:s3cret@h/db", dir_.path());
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().message().rfind(
                "ledger: \"postgresql://u:***@h/db\": the postgresql:// URL holds a password", 0),
            0u)
      << l.status().message();
  auto w = warehouse::OpenWarehouse("postgres://u@h/db?password=s3cret", dir_.path(), "acme");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().message().rfind("warehouse: \"postgres://u@h/db?password=***\": the "
                                       "postgresql:// URL holds a password",
                                       0),
            0u)
      << w.status().message();
  auto e = workflow::MakeExecutor("kubernetes");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(),
            "executor: unknown executor \"kubernetes\"; use one of local, slurm");
}

// ---- what an attempt reads ----------------------------------------------------------------

std::string PartnerId(int i) {
  char id[16];
  std::snprintf(id, sizeof id, "p%02d", i);
  return id;
}

// The sample pipeline with 50 partners p00..p49 instead of two.
void WriteManyPartners(const TempDir& dir, int n) {
  dir.Write("sluice.yaml", sluice::testing::kSluiceYaml);
  dir.Write("workflow.yaml", sluice::testing::kWorkflowYaml);
  for (int i = 0; i < n; ++i) {
    const std::string id = PartnerId(i);
    dir.Write("partners/" + id + "/partner.yaml", sluice::testing::PartnerYaml(id));
    dir.Write("partners/" + id + "/schemas/orders.json", sluice::testing::kOrdersSchema);
  }
}

std::vector<std::string> Relative(const std::vector<std::filesystem::path>& files,
                                  const std::filesystem::path& base) {
  std::vector<std::string> out;
  for (const auto& f : files) out.push_back(f.lexically_relative(base).string());
  return out;
}

TEST(AttemptPipeline, APerPartnerAttemptReadsOnlyItsOwnPartnersFiles) {
  TempDir dir;
  WriteManyPartners(dir, 50);
  std::vector<std::filesystem::path> files;
  auto p = LoadAttemptPipeline(dir.path(), "p07", {.files_read = &files});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(Relative(files, std::filesystem::absolute(dir.path())),
            (std::vector<std::string>{"sluice.yaml", "workflow.yaml", "partners/p07/partner.yaml",
                                      "partners/p07/schemas/orders.json"}));
  ASSERT_EQ(p->partners.size(), 1u);
  EXPECT_EQ(p->partners.begin()->first, "p07");
  EXPECT_EQ(p->partners.at("p07").schemas.at("orders").columns.size(), 3u);
}

TEST(AttemptPipeline, AnAttemptThatIsNotPerPartnerAndTheWholeLoadReadEveryPartnerOnce) {
  TempDir dir;
  WriteManyPartners(dir, 50);
  std::vector<std::filesystem::path> attempt_files;
  auto attempt = LoadAttemptPipeline(dir.path(), "", {.files_read = &attempt_files});
  ASSERT_TRUE(attempt.ok()) << attempt.status().ToString();
  EXPECT_EQ(attempt->partners.size(), 50u);
  EXPECT_EQ(attempt_files.size(), 2u + 50u * 2u);
  std::vector<std::filesystem::path> whole_files;
  auto whole = LoadCheckedPipeline(dir.path(), {.files_read = &whole_files});
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  EXPECT_EQ(whole_files, attempt_files);
}

TEST(AttemptPipeline, AnotherPartnersBrokenFileFailsTheWholeLoadButNotThisPartnersAttempt) {
  TempDir dir;
  WriteManyPartners(dir, 50);
  dir.Write("partners/p31/partner.yaml", "id: p31\ntables: [oops\n");
  EXPECT_TRUE(LoadAttemptPipeline(dir.path(), "p07").ok());
  auto whole = LoadCheckedPipeline(dir.path());
  ASSERT_FALSE(whole.ok());
  EXPECT_NE(whole.status().message().find("partners/p31/partner.yaml:"), std::string::npos)
      << whole.status().message();
  // The attempt still validates what it reads: its own files and sluice.yaml's back-ends.
  dir.Write("partners/p07/schemas/orders.json", "{\"table\": \"orders\", \"columns\": 3}");
  auto own = LoadAttemptPipeline(dir.path(), "p07");
  ASSERT_FALSE(own.ok());
  EXPECT_NE(own.status().message().find("partners/p07/schemas/orders.json:1:"), std::string::npos)
      << own.status().message();
  dir.Write("partners/p07/schemas/orders.json", sluice::testing::kOrdersSchema);
  dir.Write("sluice.yaml", "name: x\nstore: s3://b/p\n");
  auto backend = LoadAttemptPipeline(dir.path(), "p07");
  ASSERT_FALSE(backend.ok());
  EXPECT_NE(backend.status().message().find("sluice.yaml:2:1: sluice.yaml: \"s3://b/p\""),
            std::string::npos)
      << backend.status().message();
}

TEST(AttemptPipeline, AnAttemptOfAPartnerWithoutAFolderSaysSo) {
  TempDir dir;
  WriteManyPartners(dir, 3);
  auto gone = LoadAttemptPipeline(dir.path(), "p09");
  ASSERT_FALSE(gone.ok());
  EXPECT_NE(gone.status().message().find(
                "partners/p09/: no partner \"p09\": partners/p09/partner.yaml does not exist"),
            std::string::npos)
      << gone.status().message();
  auto bad = LoadAttemptPipeline(dir.path(), "../p01");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("must match [a-z0-9][a-z0-9_-]{0,62}"), std::string::npos)
      << bad.status().message();
}

TEST(AttemptPipeline, ATableOnlyOtherPartnersHaveIsNotThisAttemptsError) {
  // merge_orders names "orders"; a partner with only "customers" must still load for its own
  // attempt (the whole-pipeline check of run and repair is where "no partner has" belongs).
  TempDir dir;
  WriteManyPartners(dir, 2);
  dir.Write("partners/p01/partner.yaml",
            "id: p01\narchive: \"p01_{date:%Y%m%d}.tar.gz\"\ntables:\n  customers: {file: "
            "\"customers*.csv\"}\n");
  dir.Write("partners/p01/schemas/customers.json",
            "{\"table\": \"customers\", \"columns\": [{\"name\": \"id\", \"type\": "
            "\"int64\"}]}");
  std::remove((dir.path() / "partners/p01/schemas/orders.json").c_str());
  dir.Write("partners/p00/partner.yaml",
            "id: p00\narchive: \"p00_{date:%Y%m%d}.tar.gz\"\ntables:\n  customers: {file: "
            "\"customers*.csv\"}\n");
  dir.Write("partners/p00/schemas/customers.json",
            "{\"table\": \"customers\", \"columns\": [{\"name\": \"id\", \"type\": "
            "\"int64\"}]}");
  std::remove((dir.path() / "partners/p00/schemas/orders.json").c_str());
  auto whole = LoadCheckedPipeline(dir.path());
  ASSERT_FALSE(whole.ok());
  EXPECT_NE(whole.status().message().find("no partner has table \"orders\""), std::string::npos)
      << whole.status().message();
  EXPECT_TRUE(LoadAttemptPipeline(dir.path(), "p01").ok());
}

}  // namespace
}  // namespace sluice::tasks
