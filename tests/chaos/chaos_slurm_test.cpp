// Chaos on the Slurm executor (docs/reliability.md): the example run through a real one-node
// Slurm cluster (tests/slurm/cluster.sh); the scheduler, or an attempt's process inside its
// Slurm job, gets SIGKILL at random points; repair or resume until the run succeeds, and the
// run must equal a clean one run through the same cluster (tests/chaos/chaos_harness.h). Twice:
// with the default local store and SQLite, and in the shape DESIGN.md gives a cluster (the S3
// store, the PostgreSQL warehouse and ledger, so every node sees the same state).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "chaos/chaos_harness.h"
#include "pg/pg_test_server.h"
#include "s3/s3_fixture.h"
#include "slurm/slurm_cluster.h"
#include "store/local_store.h"
#include "store/s3_store.h"

namespace sluice::chaos {
namespace {

TEST(Chaos, KillsOnTheSlurmExecutorEndInTheTablesOfACleanRun) {
  testing::SlurmCluster cluster;
  ASSERT_TRUE(cluster.started()) << cluster.output();
  Combination c;
  c.name = "slurm+local+sqlite";
  c.init = [](const fs::path& dir) {
    testing::InitExample(dir, "");
    BackdateLanding(dir);
    const std::string yaml = testing::ReadFileText(dir / "sluice.yaml");
    std::ofstream(dir / "sluice.yaml", std::ios::trunc)
        << yaml << "executor: {type: slurm, partition: etl, poll_seconds: 0.2}\n";
  };
  c.open_store = [](const fs::path& dir) -> std::unique_ptr<store::ObjectStore> {
    auto s = store::OpenLocalStore(dir / "data");
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  };
  c.parallelism = 4;
  c.patience = std::chrono::seconds(240);
  // Fewer kills by default: a run through Slurm takes several times a local one.
  ChaosExperiment e(c, OptionsFromEnv(20261210, 3), cluster.dir() / "chaos");
  e.Run();
}

TEST(Chaos, KillsOnSlurmWithTheS3StoreAndPostgresqlEndInTheTablesOfACleanRun) {
  ASSERT_EQ(testing::TestPgServer().error, "");
  testing::SlurmCluster cluster;
  ASSERT_TRUE(cluster.started()) << cluster.output();
  testing::S3TestServer server(cluster.dir() / "s3");
  ASSERT_EQ(server.Start(), "");
  testing::S3TestServer::UseCredentials();
  Combination c;
  c.name = "slurm+s3+postgresql";
  c.init = [&server](const fs::path& dir) {
    const std::string url = testing::PgDatabaseFor(dir);
    ASSERT_FALSE(url.empty());
    testing::InitExample(dir, url);
    // The same deliveries, uploaded to the store's prefix (the folder's name) on the endpoint.
    std::string yaml = testing::ReadFileText(dir / "sluice.yaml");
    const std::string local = "store: file://./data";
    ASSERT_NE(yaml.find(local), std::string::npos) << yaml;
    yaml.replace(yaml.find(local), local.size(),
                 std::string("store: s3://") + testing::kS3Bucket + "/" + dir.filename().string());
    std::ofstream(dir / "sluice.yaml", std::ios::trunc)
        << yaml << "s3:\n  endpoint: " << server.endpoint() << "\n  path_style: true\n"
        << "executor: {type: slurm, partition: etl, poll_seconds: 0.2}\n";
    auto r =
        testing::RunCommand(testing::Sluice() + " init --data-only " + testing::ShellQuote(dir) +
                            " --rows 300 --seed 11 --date " + testing::kExampleDay);
    ASSERT_EQ(r.exit_code, 0) << r.output;
  };
  c.warehouse_url = [](const fs::path& dir) { return testing::PgDatabaseFor(dir); };
  c.open_store = [&server](const fs::path& dir) -> std::unique_ptr<store::ObjectStore> {
    config::S3Config s3;
    s3.endpoint = server.endpoint();
    s3.path_style = true;
    auto s = store::OpenS3Store(
        std::string("s3://") + testing::kS3Bucket + "/" + dir.filename().string(), s3);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  };
  c.parallelism = 4;
  c.patience = std::chrono::seconds(240);
  ChaosExperiment e(c, OptionsFromEnv(20261211, 2), cluster.dir() / "chaos");
  e.Run();
}

}  // namespace
}  // namespace sluice::chaos
