// cli/commands/terminal.h: terminal manners of the command line: colour only on a terminal that
// can show it (not TERM=dumb, not NO_COLOR, https://no-color.org), and the colour of a state.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace sluice::cli {

// True when `fd` is a terminal that may get ANSI escape sequences: it is a tty, TERM is set and
// not "dumb", and NO_COLOR is unset or empty.
inline bool ColorAllowed(int fd) {
  if (isatty(fd) != 1) return false;
  const char* term = std::getenv("TERM");
  if (term == nullptr || *term == '\0' || std::strcmp(term, "dumb") == 0) return false;
  const char* no_color = std::getenv("NO_COLOR");
  return no_color == nullptr || *no_color == '\0';
}

// `text` in the colour of `state` (success green, warn yellow, failures red, skipped dim), or
// unchanged when !color.
inline std::string PaintState(std::string_view state, const std::string& text, bool color) {
  if (!color) return text;
  const char* code = nullptr;
  if (state == "success" || state == "PASS") {
    code = "32";
  } else if (state == "warn" || state == "WARN" || state == "running" || state == "cancelled") {
    code = "33";
  } else if (state == "failed" || state == "timed_out" || state == "ERROR" ||
             state == "upstream_failed") {
    code = "31";
  } else if (state == "skipped" || state == "SKIP") {
    code = "2";
  }
  if (code == nullptr) return text;
  return std::string("\x1b[") + code + "m" + text + "\x1b[0m";
}

}  // namespace sluice::cli
