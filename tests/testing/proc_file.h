// testing/proc_file.h: reading /proc files in tests (process finders, command-line samplers).
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace sluice::testing {

// The bytes of a /proc file read with read(2) ("" when the process is gone: libstdc++'s streams
// throw on the ESRCH a vanishing process gives).
inline std::string ReadProcFile(const std::filesystem::path& p) {
  std::string out;
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

}  // namespace sluice::testing
