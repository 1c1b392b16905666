// A builtin's attempt run in a fork of the scheduler (LaunchSpec::in_process, local executor):
// set up as an exec'd `sluice task exec` would be (its folder, environment, log, process group),
// and exec'd as before when the process has another thread.
#include <gtest/gtest.h>
#include <unistd.h>

#include <condition_variable>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include "testing/temp_dir.h"
#include "workflow/executor.h"

namespace sluice::workflow {
namespace {

std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The attempt's exit, waited for through the executor (Wait returns at its SIGCHLD).
ExitInfo WaitFor(Executor& executor, const std::string& id) {
  for (int i = 0; i < 600; ++i) {
    for (const ExitInfo& x : executor.Wait(std::chrono::milliseconds(100))) {
      if (x.id == id) return x;
    }
  }
  ADD_FAILURE() << "attempt " << id << " did not end within a minute";
  return {};
}

LaunchSpec SpecIn(const sluice::testing::TempDir& dir) {
  LaunchSpec spec;
  spec.task_key = "t";
  spec.argv = {"/bin/sh", "-c", "echo exec; exit 5"};
  spec.extra_env = {"SLUICE_TEST_VALUE=forty-two"};
  spec.cwd = dir.path();
  spec.log = dir.path() / "attempt.log";
  spec.lock = spec.log;
  spec.outcome = dir.path() / "outcome.json";
  // Relative to the attempt's folder: written only when the call ran.
  spec.in_process = [](const std::vector<std::string>& argv) {
    const char* value = std::getenv("SLUICE_TEST_VALUE");
    std::ofstream("seen.txt") << argv[1] << "|" << (value ? value : "") << "|"
                              << (getpgid(0) == getpid() ? "leader" : "not leader") << "\n";
    std::cout << "to the log\n";
    return 7;
  };
  return spec;
}

TEST(LocalInProcess, ABuiltinRunsInAForkWithItsFolderEnvironmentLogAndProcessGroup) {
  sluice::testing::TempDir dir;
  auto executor = MakeExecutor("local");
  ASSERT_TRUE(executor.ok());
  LaunchSpec spec = SpecIn(dir);
  auto id = (*executor)->Launch(spec);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  ExitInfo exit = WaitFor(**executor, *id);
  EXPECT_EQ(exit.exit_code, 7);
  EXPECT_EQ(ReadAll(dir.path() / "seen.txt"), "-c|forty-two|leader\n");
  EXPECT_EQ(ReadAll(spec.log), "to the log\n");
}

TEST(LocalInProcess, WithAnotherThreadRunningTheAttemptIsExecedInstead) {
  sluice::testing::TempDir dir;
  auto executor = MakeExecutor("local");
  ASSERT_TRUE(executor.ok());
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::thread other([&] {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done; });
  });
  LaunchSpec spec = SpecIn(dir);
  auto id = (*executor)->Launch(spec);
  {
    std::lock_guard<std::mutex> lock(mu);
    done = true;
  }
  cv.notify_all();
  other.join();
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  ExitInfo exit = WaitFor(**executor, *id);
  EXPECT_EQ(exit.exit_code, 5);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "seen.txt"));
  EXPECT_EQ(ReadAll(spec.log), "exec\n");
}

}  // namespace
}  // namespace sluice::workflow
