#include "core/process.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
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

std::string ProcessStartToken(pid_t pid) {
  if (pid <= 0) return "";
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  if (!in) return "";
  const std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return "";
  // Fields after "(comm)" start with field 3 (state); starttime is field 22.
  size_t pos = close + 1;
  std::string field;
  for (int i = 3; i <= 22; ++i) {
    while (pos < stat.size() && stat[pos] == ' ') ++pos;
    const size_t end = stat.find(' ', pos);
    field = stat.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    if (end == std::string::npos && i < 22) return "";
    pos = end;
  }
  if (field.empty()) return "";
  std::string boot;
  std::ifstream boot_in("/proc/sys/kernel/random/boot_id");
  if (!boot_in || !std::getline(boot_in, boot)) boot = "?";
  return boot + "/" + field;
}

namespace {

std::mutex g_watched_mu;
std::map<pid_t, std::optional<int>> g_watched;  // pid -> status once reaped by another thread

}  // namespace

pid_t ForkWatched() {
  std::lock_guard<std::mutex> lock(g_watched_mu);
  const pid_t pid = ::fork();
  if (pid > 0) g_watched[pid] = std::nullopt;
  return pid;
}

bool OfferReapedChild(pid_t pid, int status) {
  std::lock_guard<std::mutex> lock(g_watched_mu);
  auto it = g_watched.find(pid);
  if (it == g_watched.end()) return false;
  it->second = status;
  return true;
}

bool TakeReapedChild(pid_t pid, int* status) {
  std::lock_guard<std::mutex> lock(g_watched_mu);
  auto it = g_watched.find(pid);
  if (it == g_watched.end() || !it->second) return false;
  *status = *it->second;
  g_watched.erase(it);
  return true;
}

void ForgetWatchedChild(pid_t pid) {
  std::lock_guard<std::mutex> lock(g_watched_mu);
  g_watched.erase(pid);
}

}  // namespace sluice
