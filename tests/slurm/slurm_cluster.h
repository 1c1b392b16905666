// A real Slurm cluster for a test (tests/slurm/cluster.sh: munged, slurmctld and one slurmd per
// node on 127.0.0.1, everything in a temp folder), stopped by pid when the object goes. The
// constructor exports SLURM_CONF, so the Slurm commands and the sluice processes the test starts
// use it. A cluster that cannot start is a test failure (ASSERT_TRUE(started())), never a skip.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "testing/run_command.h"
#include "testing/temp_dir.h"

namespace sluice::testing {

inline std::string Q(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

// A cluster of `nodes` nodes for one test, stopped by pid at the end.
class SlurmCluster {
 public:
  explicit SlurmCluster(int nodes = 1) {
    auto r = RunCommand(std::string(SLUICE_SOURCE_DIR "/tests/slurm/cluster.sh") + " start " +
                        Q(tmp_ / "cluster") + " " + std::to_string(nodes));
    started_ = r.exit_code == 0;
    output_ = r.output;
    if (started_) setenv("SLURM_CONF", (tmp_ / "cluster/slurm.conf").c_str(), 1);
  }
  ~SlurmCluster() {
    RunCommand(std::string(SLUICE_SOURCE_DIR "/tests/slurm/cluster.sh") + " stop " +
               Q(tmp_ / "cluster"));
  }
  bool started() const { return started_; }
  const std::string& output() const { return output_; }
  std::filesystem::path dir() const { return tmp_.path(); }

 private:
  TempDir tmp_;
  bool started_ = false;
  std::string output_;
};

// One cluster for the whole test process (ctest runs each test in a process of its own),
// started at first use and stopped by pid at exit: what the suites shared with other executors
// (executor conformance, the scheduler's suite) use.
inline SlurmCluster& SharedSlurmCluster() {
  static SlurmCluster cluster;
  return cluster;
}

}  // namespace sluice::testing
