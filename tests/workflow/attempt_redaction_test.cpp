// The attempt protocol's secret filter (workflow/attempt_protocol.h): with secrets registered, a
// command's output reaches its log with every secret masked, whatever the writes' boundaries,
// in the order written, with its exit code kept.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "core/logging.h"
#include "testing/temp_dir.h"
#include "workflow/attempt_protocol.h"

namespace sluice::workflow {
namespace {

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Runs `command` under the protocol in a forked child whose stdout and stderr are `log`, with
// `secret` registered; returns the child's exit code.
int RunWithSecret(const std::string& command, const std::string& secret,
                  const std::filesystem::path& log) {
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    log::RegisterSecret(secret);
    _exit(RunShellAttempt(command, nullptr, ""));
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(AttemptRedaction, MasksASecretSplitAcrossWritesAndKeepsTheRest) {
  testing::TempDir dir;
  const std::filesystem::path log = dir / "1.log";
  // The secret arrives in two writes a moment apart, then stderr, then a line with no newline.
  int code = RunWithSecret(
      "printf 'key=s3cr3t-'; sleep 0.05; printf 'value-42 ok\\n'; echo 'err s3cr3t-value-42' >&2; "
      "printf 'tail s3cr3t-value-42'; exit 7",
      "s3cr3t-value-42", log);
  EXPECT_EQ(code, 7) << "the command's exit code is the attempt's";
  EXPECT_EQ(Slurp(log), "key=*** ok\nerr ***\ntail ***");
}

TEST(AttemptRedaction, ALongOutputGoesThroughWhole) {
  testing::TempDir dir;
  const std::filesystem::path log = dir / "1.log";
  int code = RunWithSecret("seq 1 200000; echo 'last topsecret99'", "topsecret99", log);
  EXPECT_EQ(code, 0);
  const std::string text = Slurp(log);
  EXPECT_TRUE(text.starts_with("1\n2\n3\n")) << text.substr(0, 40);
  EXPECT_NE(text.find("\n199999\n200000\nlast ***\n"), std::string::npos);
  EXPECT_EQ(text.find("topsecret99"), std::string::npos);
}

}  // namespace
}  // namespace sluice::workflow
