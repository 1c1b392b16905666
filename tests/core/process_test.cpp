#include "core/process.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

namespace sluice {
namespace {

TEST(ProcessRunning, RunningChildYesZombieAndReapedNo) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    char c;
    ::close(fds[1]);
    (void)::read(fds[0], &c, 1);  // runs until the parent closes its end
    ::_exit(0);
  }
  ::close(fds[0]);
  EXPECT_TRUE(ProcessRunning(child));
  EXPECT_TRUE(ProcessRunning(::getpid()));
  ::close(fds[1]);
  // Exited, not reaped: kill(pid, 0) still finds it, but it runs no more.
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);
  EXPECT_FALSE(ProcessRunning(child));
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  EXPECT_FALSE(ProcessRunning(child));
  EXPECT_FALSE(ProcessRunning(0));
  EXPECT_FALSE(ProcessRunning(-1));
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

TEST(ForkWatched, AStatusReapedByAnotherWaiterReachesTheForker) {
  const pid_t child = ForkWatched();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(7);
  // Another thread's waitpid(-1) (the task executor's) reaps it first and hands it over.
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(OfferReapedChild(child, status));
  int taken = 0;
  ASSERT_TRUE(TakeReapedChild(child, &taken));
  EXPECT_TRUE(WIFEXITED(taken));
  EXPECT_EQ(WEXITSTATUS(taken), 7);
  EXPECT_FALSE(TakeReapedChild(child, &taken));  // taken once
  // A pid nobody forked watched (an orphan) is not kept.
  EXPECT_FALSE(OfferReapedChild(child, status));
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

TEST(ProcessStartToken, IsStableForOneProcessAndDiffersForAnother) {
  const std::string self = ProcessStartToken(::getpid());
  ASSERT_FALSE(self.empty());
  EXPECT_EQ(ProcessStartToken(::getpid()), self);
  EXPECT_NE(self.find('/'), std::string::npos) << self;  // boot id / start ticks
  EXPECT_EQ(ProcessStartToken(1).empty(), false);
  EXPECT_NE(ProcessStartToken(1), self);  // init started before us
  EXPECT_EQ(ProcessStartToken(0), "");
  EXPECT_EQ(ProcessStartToken(-5), "");
}

}  // namespace
}  // namespace sluice
