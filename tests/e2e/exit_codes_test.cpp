// Exit codes shared by every command (cli/commands/commands.h): 0 ok, 1 finished with failures,
// 2 bad usage or config, 3 internal error. ExitCodeFor maps a library Status onto them.
#include <gtest/gtest.h>

#include "cli/commands/engine_common.h"

namespace sluice::cli {
namespace {

TEST(ExitCodes, AnInternalErrorIsThreeNotTheUsageCode) {
  EXPECT_EQ(ExitCodeFor(Status::Internal("broken invariant")), 3);
  EXPECT_EQ(kExitInternal, 3);
  EXPECT_NE(kExitInternal, kExitUsage);
}

TEST(ExitCodes, WhatTheUserAskedWrongIsTwoAndOtherFailuresOne) {
  EXPECT_EQ(ExitCodeFor(Status::InvalidArgument("bad flag")), 2);
  EXPECT_EQ(ExitCodeFor(Status::NotFound("no run")), 2);
  EXPECT_EQ(ExitCodeFor(Status::AlreadyExists("active run")), 2);
  EXPECT_EQ(ExitCodeFor(Status::IoError("disk full")), 1);
  EXPECT_EQ(ExitCodeFor(Status::Timeout("slow")), 1);
}

}  // namespace
}  // namespace sluice::cli
