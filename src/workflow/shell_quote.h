// workflow/shell_quote.h: one word for a POSIX shell, whatever its bytes. Used where sluice writes
// a command line for another system to run (sbatch job scripts, exported orchestrator tasks).
#pragma once

#include <string>
#include <string_view>

namespace sluice::workflow {

// 'word', with each ' written as '\'' so the shell reads the bytes back unchanged.
inline std::string ShellQuote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  return out + "'";
}

}  // namespace sluice::workflow
