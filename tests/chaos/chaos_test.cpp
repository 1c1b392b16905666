// Chaos (docs/reliability.md): SIGKILL of the scheduler and of attempts at random points of
// full runs of the example, on the local store with SQLite (the default), on the S3 store (the
// SigV4-verifying s3rver endpoint, tests/s3/server.js) and on PostgreSQL (warehouse and ledger,
// a real server, tests/pg/pg_test_server.h); then repair or resume until the run succeeds, and
// the run must equal a clean one (tests/chaos/chaos_harness.h). The Slurm executor's
// combination is in chaos_slurm_test.cpp.
//
// `make test` runs a few kills per combination; tests/chaos/run.sh (`make chaos`) runs the full
// count with a printed seed. SLUICE_CHAOS_SEED / SLUICE_CHAOS_KILLS override both.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "chaos/chaos_harness.h"
#include "pg/pg_example.h"
#include "pg/pg_test_server.h"
#include "s3/s3_fixture.h"
#include "store/local_store.h"
#include "store/s3_store.h"
#include "testing/run_command.h"
#include "testing/temp_dir.h"

namespace sluice::chaos {
namespace {

using testing::RunCommand;
using testing::ShellQuote;
using testing::Sluice;
using testing::TempDir;

// Kills per combination in `make test` (the whole chaos suite within a few minutes).
constexpr int kDefaultKills = 6;
constexpr uint64_t kDefaultSeed = 20261207;

std::unique_ptr<store::ObjectStore> OpenLocal(const fs::path& dir) {
  auto s = store::OpenLocalStore(dir / "data");
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(*s) : nullptr;
}

TEST(Chaos, KillsOnTheLocalStoreWithSqliteEndInTheTablesOfACleanRun) {
  TempDir tmp;
  Combination c;
  c.name = "local+sqlite";
  c.init = [](const fs::path& dir) {
    testing::InitExample(dir, "");
    BackdateLanding(dir);
  };
  c.open_store = OpenLocal;
  ChaosExperiment e(c, OptionsFromEnv(kDefaultSeed, kDefaultKills), tmp.path());
  e.Run();
}

TEST(Chaos, KillsOnPostgresqlEndInTheTablesOfACleanRun) {
  ASSERT_EQ(testing::TestPgServer().error, "");
  TempDir tmp;
  Combination c;
  c.name = "local+postgresql";
  // A database of its own for each pipeline folder (warehouse and ledger there).
  c.init = [](const fs::path& dir) {
    const std::string url = testing::PgDatabaseFor(dir);
    ASSERT_FALSE(url.empty());
    testing::InitExample(dir, url);
    BackdateLanding(dir);
  };
  c.warehouse_url = [](const fs::path& dir) { return testing::PgDatabaseFor(dir); };
  c.open_store = OpenLocal;
  ChaosExperiment e(c, OptionsFromEnv(kDefaultSeed + 1, kDefaultKills), tmp.path());
  e.Run();
}

// The example with its store on the test endpoint under a prefix of its own (the folder's
// name), and the sample deliveries uploaded there.
void InitS3Example(const fs::path& dir, const testing::S3TestServer& server) {
  auto r = RunCommand(Sluice() + " init " + ShellQuote(dir));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string yaml = testing::ReadFileText(dir / "sluice.yaml");
  const std::string local = "store: file://./data";
  ASSERT_NE(yaml.find(local), std::string::npos) << yaml;
  yaml.replace(yaml.find(local), local.size(),
               std::string("store: s3://") + testing::kS3Bucket + "/" + dir.filename().string());
  yaml += "s3:\n  endpoint: " + server.endpoint() + "\n  path_style: true\n";
  std::ofstream(dir / "sluice.yaml", std::ios::trunc) << yaml;
  r = RunCommand(Sluice() + " init --data-only " + ShellQuote(dir) +
                 " --rows 300 --seed 11 --date " + testing::kExampleDay);
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

TEST(Chaos, KillsOnTheS3StoreEndInTheTablesOfACleanRun) {
  TempDir tmp;
  testing::S3TestServer server(tmp / "s3");
  ASSERT_EQ(server.Start(), "");
  testing::S3TestServer::UseCredentials();
  Combination c;
  c.name = "s3+sqlite";
  c.init = [&server](const fs::path& dir) { InitS3Example(dir, server); };
  c.open_store = [&server](const fs::path& dir) -> std::unique_ptr<store::ObjectStore> {
    config::S3Config s3;
    s3.endpoint = server.endpoint();
    s3.path_style = true;
    auto s = store::OpenS3Store(
        std::string("s3://") + testing::kS3Bucket + "/" + dir.filename().string(), s3);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  };
  ChaosExperiment e(c, OptionsFromEnv(kDefaultSeed + 2, kDefaultKills), tmp.path());
  e.Run();
}

}  // namespace
}  // namespace sluice::chaos
