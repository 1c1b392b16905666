// Chaos on the Slurm executor (docs/reliability.md): the example run through a real one-node
// Slurm cluster (tests/slurm/cluster.sh); the scheduler, or an attempt's process inside its
// Slurm job, gets SIGKILL at random points; repair or resume until the run succeeds, and the
// run must equal a clean one run through the same cluster (tests/chaos/chaos_harness.h).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "chaos/chaos_harness.h"
#include "slurm/slurm_cluster.h"
#include "store/local_store.h"

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

}  // namespace
}  // namespace sluice::chaos
