#include "core/process.h"

#include <signal.h>

#include <cerrno>
#include <fstream>
#include <iterator>
#include <string>

namespace sluice {

bool ProcessRunning(pid_t pid) {
  if (pid <= 0) return false;
  if (::kill(pid, 0) != 0 && errno != EPERM) return false;
  // /proc/<pid>/stat: "pid (comm) S ...": the state follows the last ')' (comm may hold any
  // character, ')' included).
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  if (!in) return true;  // no /proc: kill() is all we know
  const std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return true;
  const char state = stat[close + 2];
  return state != 'Z' && state != 'X' && state != 'x';
}

}  // namespace sluice
