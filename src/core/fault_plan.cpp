// The run-wide fault plan. See fault_plan.h.
#include "core/fault_plan.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "core/strings.h"

namespace sluice::fault {

bool FaultInjectionBuilt() {
#ifdef SLUICE_FAULT_INJECTION
  return true;
#else
  return false;
#endif
}

Result<std::optional<SharedFaultPlan>> FaultPlanFromEnv(const char* name) {
  if (!FaultInjectionBuilt()) return std::optional<SharedFaultPlan>();
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::optional<SharedFaultPlan>();
  SharedFaultPlan plan;
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument(std::string(name) + "=\"" + value + "\": " + why +
                                   "; expected nth=N;kind=K;counter=PATH[;trace=PATH]");
  };
  for (const std::string& item : Split(value, ';')) {
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    if (eq == std::string::npos) return bad("\"" + item + "\" is not key=value");
    const std::string key = item.substr(0, eq);
    const std::string val = item.substr(eq + 1);
    if (key == "nth") {
      char* end = nullptr;
      const long long n = std::strtoll(val.c_str(), &end, 10);
      if (val.empty() || *end != '\0' || n < 0) return bad("nth must be a number >= 0");
      plan.nth = n;
    } else if (key == "kind") {
      plan.kind = val;
    } else if (key == "counter") {
      plan.counter_path = val;
    } else if (key == "trace") {
      plan.trace_path = val;
    } else {
      return bad("unknown key \"" + key + "\"");
    }
  }
  if (plan.counter_path.empty()) return bad("counter is missing");
  return std::optional<SharedFaultPlan>(std::move(plan));
}

int64_t CountSharedCall(const SharedFaultPlan& plan, std::string_view what) {
  const int fd = open(plan.counter_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  int64_t n = -1;
  if (flock(fd, LOCK_EX) == 0) {
    char buf[32] = {};
    const ssize_t got = pread(fd, buf, sizeof(buf) - 1, 0);
    n = (got > 0 ? std::atoll(buf) : 0) + 1;
    const std::string text = std::to_string(n) + "\n";
    if (pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) n = -1;
    // The trace is appended under the same lock, so its lines are in counter order.
    if (n > 0 && !plan.trace_path.empty()) {
      const int tfd =
          open(plan.trace_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (tfd >= 0) {
        const std::string line =
            std::to_string(n) + "\t" + std::to_string(getpid()) + "\t" + std::string(what) + "\n";
        (void)!write(tfd, line.data(), line.size());
        close(tfd);
      }
    }
    flock(fd, LOCK_UN);
  }
  close(fd);
  return n;
}

}  // namespace sluice::fault
