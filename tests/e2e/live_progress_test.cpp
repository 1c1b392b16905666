// End-to-end: `sluice run` on a terminal (a pseudo-terminal here) draws one line per running task
// instance and redraws it in place; once the run ends, the screen holds only the log lines and
// the result. Through a pipe (every other e2e test) there are no escape sequences at all.
#include <gtest/gtest.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "testing/run_command.h"
#include "testing/temp_dir.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;
using testing::RunCommand;
using testing::Sluice;
using testing::TempDir;

struct TerminalRun {
  int exit_code = -1;
  std::string bytes;  // everything written to the terminal, escape sequences included
};

// Runs `command` with stdin, stdout and stderr on a new pseudo-terminal; reads until it closes.
TerminalRun RunOnTerminal(const std::string& command) {
  TerminalRun out;
  int master = -1;
  struct winsize ws {};
  ws.ws_row = 50;
  ws.ws_col = 200;
  pid_t pid = forkpty(&master, nullptr, nullptr, &ws);
  if (pid < 0) {
    ADD_FAILURE() << "forkpty: " << std::strerror(errno);
    return out;
  }
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  char buf[4096];
  while (true) {
    ssize_t n = read(master, buf, sizeof buf);
    if (n > 0) {
      out.bytes.append(buf, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;  // EIO once the child side is closed
    }
  }
  close(master);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) out.exit_code = WEXITSTATUS(status);
  return out;
}

// What a terminal shows after `bytes`: text, newlines, "cursor up" and "erase line" (the only
// controls sluice's live display uses; anything else would be left in the text and caught).
std::vector<std::string> Screen(const std::string& bytes) {
  std::vector<std::string> lines(1);
  size_t row = 0;
  for (size_t i = 0; i < bytes.size();) {
    if (bytes.compare(i, 4, "\x1b[1A") == 0) {
      if (row > 0) --row;
      i += 4;
    } else if (bytes.compare(i, 4, "\x1b[2K") == 0) {
      lines[row].clear();
      i += 4;
    } else if (bytes[i] == '\n') {
      if (++row == lines.size()) lines.emplace_back();
      ++i;
    } else if (bytes[i] == '\r') {
      ++i;  // the terminal's own CR before LF
    } else {
      lines[row].push_back(bytes[i++]);
    }
  }
  return lines;
}

// "  <instance> <running|stopping> <elapsed>s ...": a line of the live display, possibly behind
// the erase sequences that cleared the previous drawing. Returns the instance name or "".
std::string LiveInstance(std::string line) {
  while (line.rfind("\x1b[1A", 0) == 0 || line.rfind("\x1b[2K", 0) == 0) line.erase(0, 4);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.rfind("  ", 0) != 0 || line.size() < 3 || line[2] == ' ') return "";
  std::istringstream in(line);
  std::string name, state, elapsed;
  in >> name >> state >> elapsed;
  if (state != "running" && state != "stopping") return "";
  if (elapsed.size() < 2 || elapsed.back() != 's') return "";
  for (size_t i = 0; i + 1 < elapsed.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(elapsed[i])) && elapsed[i] != '.') return "";
  }
  return name;
}

std::vector<std::string> Lines(const std::string& bytes) {
  std::vector<std::string> out;
  std::istringstream in(bytes);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(LiveProgress, RedrawsRunningTasksInPlaceOnATerminalAndLeavesOnlyTheLog) {
  TempDir tmp;
  fs::path dir = tmp / "example";
  auto init = RunCommand(Sluice() + " init '" + dir.string() +
                         "' --sample-data --rows 300 --seed 5 --date 2026-11-24");
  ASSERT_EQ(init.exit_code, 0) << init.output;
  // initech's archive was just written and its completion rule is `stable_seconds: 2`, so the
  // sensor runs for two seconds: long enough for several redraws.
  // A terminal that can redraw (TERM=dumb gets none), without colours (NO_COLOR), so the screen
  // below holds only text.
  TerminalRun run = RunOnTerminal("TERM=xterm NO_COLOR=1 " + Sluice() + " run '" + dir.string() +
                                  "' --date 2026-11-24 --parallelism 2");
  ASSERT_EQ(run.exit_code, 0) << run.bytes;

  // Drawn: a line per running instance with its state and elapsed time, several times...
  std::vector<std::string> drawn;
  for (const std::string& line : Lines(run.bytes)) {
    if (std::string name = LiveInstance(line); !name.empty()) drawn.push_back(name);
  }
  EXPECT_GE(std::count(drawn.begin(), drawn.end(), "wait_for_all_sources"), 2) << run.bytes;
  // ... and erased again before every log line and at the end.
  EXPECT_NE(run.bytes.find("\x1b[1A\x1b[2K"), std::string::npos);

  std::vector<std::string> screen = Screen(run.bytes);
  int succeeded = 0;
  bool result_line = false;
  for (const std::string& line : screen) {
    EXPECT_EQ(LiveInstance(line), "") << "a live line was left on the screen: " << line;
    EXPECT_EQ(line.find('\x1b'), std::string::npos) << "stray escape sequence: " << line;
    if (line.find("attempt 1 succeeded") != std::string::npos) ++succeeded;
    if (line.find("success (23 instances, 0 failed)") != std::string::npos) result_line = true;
  }
  EXPECT_EQ(succeeded, 23) << run.bytes;  // every instance's log line survived the redraws
  EXPECT_TRUE(result_line) << run.bytes;
}

TEST(LiveProgress, PlainLogLinesWhenNotATerminal) {
  TempDir tmp;
  fs::path dir = tmp / "example";
  auto init = RunCommand(Sluice() + " init '" + dir.string() +
                         "' --sample-data --rows 300 --seed 5 --date 2026-11-24");
  ASSERT_EQ(init.exit_code, 0) << init.output;
  auto run = RunCommand(Sluice() + " run '" + dir.string() + "' --date 2026-11-24");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output.find('\x1b'), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("merge_table_1[acme] attempt 1 succeeded"), std::string::npos)
      << run.output;
}

}  // namespace
}  // namespace sluice
