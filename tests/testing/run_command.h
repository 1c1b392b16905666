// tests/testing/run_command.h: runs a shell command for end-to-end tests of the binary.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace sluice::testing {

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string output;  // stdout and stderr, interleaved
};

inline CommandResult RunCommand(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) result.output.append(buf, n);
  int status = pclose(pipe);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

// The sluice binary under test, quoted for the shell.
inline std::string Sluice() { return std::string("'") + SLUICE_BINARY + "'"; }

}  // namespace sluice::testing
