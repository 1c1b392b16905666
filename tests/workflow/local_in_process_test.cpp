// A builtin's attempt run in a fork of the scheduler (LaunchSpec::in_process, local executor):
// set up as an exec'd `sluice task exec` would be (its folder, environment, log, process group),
// and exec'd as before when the process has another thread. A builtin's attempt can give its
// slot back before it ends (Executor::TakeReleased), forked or exec'd.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include "testing/temp_dir.h"
#include "workflow/attempt_protocol.h"
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

// Waits (through the executor) until attempt `id` releases its slot; false if it exits first
// or a minute passes.
bool WaitForRelease(Executor& executor, const std::string& id) {
  for (int i = 0; i < 600; ++i) {
    for (const ExitInfo& x : executor.Wait(std::chrono::milliseconds(100))) {
      if (x.id == id) {
        ADD_FAILURE() << "attempt " << id << " exited before releasing its slot";
        return false;
      }
    }
    for (const std::string& r : executor.TakeReleased()) {
      if (r == id) return true;
    }
  }
  ADD_FAILURE() << "attempt " << id << " did not release its slot within a minute";
  return false;
}

TEST(LocalRelease, AForkedBuiltinReleasesItsSlotWhileItStillRuns) {
  sluice::testing::TempDir dir;
  auto executor = MakeExecutor("local");
  ASSERT_TRUE(executor.ok());
  int gate[2];
  ASSERT_EQ(pipe(gate), 0);
  LaunchSpec spec = SpecIn(dir);
  spec.in_process = [&gate](const std::vector<std::string>&) {
    close(gate[1]);
    int fd = TakeReleaseFdFromEnvironment();
    const bool hidden = std::getenv(kReleaseFdEnv) == nullptr;
    ReleaseAttemptSlot(&fd);
    ReleaseAttemptSlot(&fd);  // a second call does nothing
    char c;
    (void)read(gate[0], &c, 1);  // until the test closes the gate
    return hidden ? 0 : 9;
  };
  auto id = (*executor)->Launch(spec);
  close(gate[0]);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_TRUE(WaitForRelease(**executor, *id));
  EXPECT_EQ((*executor)->Probe(*id, spec.lock, spec.outcome).state, ProbeResult::State::kAlive);
  close(gate[1]);
  EXPECT_EQ(WaitFor(**executor, *id).exit_code, 0);
  EXPECT_TRUE((*executor)->TakeReleased().empty()) << "a release is reported once";
}

TEST(LocalRelease, AnExecedBuiltinFindsItsReleaseSocketAtFd4AndACommandGetsNone) {
  sluice::testing::TempDir dir;
  auto executor = MakeExecutor("local");
  ASSERT_TRUE(executor.ok());
  const auto fifo = dir.path() / "gate";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  LaunchSpec spec = SpecIn(dir);
  spec.in_process = nullptr;  // exec'd, as `sluice task exec`
  spec.argv = {"/bin/sh", "-c",
               "[ \"$SLUICE_RELEASE_FD\" = 4 ] || exit 8; printf r >&4; cat gate >/dev/null"};
  auto id = (*executor)->Launch(spec);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_TRUE(WaitForRelease(**executor, *id));
  close(open(fifo.c_str(), O_WRONLY));  // lets `cat` end
  EXPECT_EQ(WaitFor(**executor, *id).exit_code, 0);

  // A command task never releases: it is given no socket.
  LaunchSpec command = SpecIn(dir);
  command.shell_command = "[ -z \"$SLUICE_RELEASE_FD\" ] && printf 'no socket\n'";
  setenv(kReleaseFdEnv, "4", 1);  // inherited from a parent sluice: not passed on
  auto cid = (*executor)->Launch(command);
  unsetenv(kReleaseFdEnv);
  ASSERT_TRUE(cid.ok()) << cid.status().ToString();
  EXPECT_EQ(WaitFor(**executor, *cid).exit_code, 0);
  EXPECT_NE(ReadAll(command.log).find("no socket"), std::string::npos);
  EXPECT_TRUE((*executor)->TakeReleased().empty());
}

}  // namespace
}  // namespace sluice::workflow
