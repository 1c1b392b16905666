// attempt_protocol.cpp: see attempt_protocol.h.
#include "workflow/attempt_protocol.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "core/logging.h"
#include "core/redact.h"
#include "workflow/attempt_files.h"

extern char** environ;

namespace sluice::workflow {

namespace {

void WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the log is gone: nothing better to do with the output
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// Writes the complete lines of `pending` to `fd` with every registered secret masked (a secret
// is masked whole within one line). With `all` (a pause in the output, or its end) or past
// 64 KiB without a newline, the partial last line goes too, except for an end that may be the
// start of a secret (held back until more comes, or the end: then it goes as it is).
void FlushRedacted(std::string& pending, int fd, bool all, bool at_end = false) {
  size_t cut = pending.rfind('\n');
  cut = cut == std::string::npos ? 0 : cut + 1;
  if (all || pending.size() - cut > (64u << 10)) {
    cut = pending.size();
    if (!at_end) cut -= log::PartialSecretAtEnd(pending);
  }
  if (cut == 0) return;
  WriteAll(fd, log::Redact(pending.substr(0, cut)));
  pending.erase(0, cut);
}

// Copies the command's output from `in` to `out` (the attempt's log), masking secrets line by
// line, until the shell `sh` has ended; then takes what is already in the pipe and returns the
// shell's wait status. A process the command left behind loses what it writes later (the pipe's
// read end closes with the leader), as it would if its log had been rotated.
int FilterUntilExit(pid_t sh, int in, int out) {
  // pidfd (Linux 5.3+) wakes poll() when the shell ends; without it, poll every 100 ms.
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, sh, 0));
  std::string pending;
  char buf[65536];
  int status = 0;
  bool ended = false;
  bool eof = false;
  bool held = false;  // `pending` is only what a timed flush held back
  while (!ended) {
    pollfd fds[2];
    nfds_t nfds = 0;
    if (!eof) fds[nfds++] = {in, POLLIN, 0};
    if (pidfd >= 0) fds[nfds++] = {pidfd, POLLIN, 0};
    // A partial line is written after 200 ms of silence (a prompt, a progress dot).
    // (Not again for an end held back as a secret's start: only more output changes that.)
    int timeout = pidfd < 0 ? 100 : (pending.empty() || held ? -1 : 200);
    int rc = poll(fds, nfds, timeout);
    if (rc < 0 && errno != EINTR) break;
    if (rc == 0) {
      FlushRedacted(pending, out, true);
      held = !pending.empty();
    }
    if (!eof && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t n = read(in, buf, sizeof buf);
      if (n > 0) {
        pending.append(buf, static_cast<size_t>(n));
        FlushRedacted(pending, out, false);
        held = false;
      } else if (n == 0) {
        eof = true;
      }
    }
    pid_t w = waitpid(sh, &status, WNOHANG);
    if (w == sh) ended = true;
    if (w < 0 && errno != EINTR) break;
  }
  // Whatever the command wrote before it ended is in the pipe already.
  fcntl(in, F_SETFL, fcntl(in, F_GETFL) | O_NONBLOCK);
  while (!eof) {
    ssize_t n = read(in, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buf, static_cast<size_t>(n));
    FlushRedacted(pending, out, false);
  }
  FlushRedacted(pending, out, true, /*at_end=*/true);
  if (pidfd >= 0) close(pidfd);
  if (!ended) {
    while (waitpid(sh, &status, 0) < 0 && errno == EINTR) {
    }
  }
  return status;
}

}  // namespace

int TakeReleaseFdFromEnvironment() {
  const char* value = getenv(kReleaseFdEnv);
  if (value == nullptr) return -1;
  char* end = nullptr;
  const long fd = std::strtol(value, &end, 10);
  const bool number = *value != '\0' && *end == '\0' && fd > 2 && fd < (1L << 20);
  unsetenv(kReleaseFdEnv);
  struct stat st;
  if (!number || fstat(static_cast<int>(fd), &st) != 0 || !S_ISSOCK(st.st_mode)) return -1;
  (void)fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
  return static_cast<int>(fd);
}

void ReleaseAttemptSlot(int* fd) {
  if (*fd < 0) return;
  const char byte = 'r';
  // A socket, not a pipe: MSG_NOSIGNAL, so an executor that is gone (a killed scheduler) costs
  // the attempt nothing, where a pipe would kill it with SIGPIPE.
  ssize_t n;
  do {
    n = send(*fd, &byte, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  close(*fd);
  *fd = -1;
}

int RunShellAttempt(const std::string& command, char* const* envp,
                    const std::filesystem::path& outcome) {
  std::cout.flush();
  fflush(nullptr);
  Outcome o;
  // Ignored before the command exists: a graceful cancel that arrives from now on reaches the
  // command (which gets the default back) and never the leader that records its outcome.
  signal(SIGTERM, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  // With secrets to mask, the command writes into a pipe that this leader copies to the log
  // through the redaction filter (core/logging.h), so a task that prints a credential never
  // leaves it in its log.
  int filter[2] = {-1, -1};
  if (log::HasSecrets() && pipe2(filter, O_CLOEXEC) != 0) filter[0] = filter[1] = -1;
  pid_t sh = fork();
  if (sh == 0) {
    if (filter[1] >= 0) {
      // Every process of the attempt keeps holding the log (the executor's liveness lock,
      // local_executor.cpp), now on a descriptor of its own, with stdout/stderr on the pipe.
      (void)fcntl(1, F_DUPFD, 3);
      dup2(filter[1], 1);
      dup2(filter[1], 2);
    }
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);  // ignored by sluice itself (main.cpp); `cmd | head` relies on it
    signal(SIGHUP, SIG_DFL);   // ignored by the scheduler
    signal(SIGCHLD, SIG_DFL);
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, nullptr);
    const char* argv[] = {"sh", "-c", command.c_str(), nullptr};
    execve("/bin/sh", const_cast<char* const*>(argv), envp != nullptr ? envp : environ);
    _exit(127);
  }
  if (sh < 0) {
    for (int fd : filter) {
      if (fd >= 0) close(fd);
    }
    o.exit_code = 127;
    o.error = "cannot fork /bin/sh: " + std::string(strerror(errno));
  } else {
    int status = 0;
    if (filter[0] >= 0) {
      close(filter[1]);
      status = FilterUntilExit(sh, filter[0], 1);
      close(filter[0]);
    } else {
      while (waitpid(sh, &status, 0) < 0 && errno == EINTR) {
      }
    }
    if (WIFEXITED(status)) {
      o.exit_code = WEXITSTATUS(status);
      if (o.exit_code != 0) o.error = "command exited with code " + std::to_string(o.exit_code);
    } else if (WIFSIGNALED(status)) {
      o.signal = WTERMSIG(status);
      o.error =
          "command killed by signal " + std::to_string(o.signal) + " (" + strsignal(o.signal) + ")";
    }
  }
  if (!outcome.empty()) {
    Status st = WriteOutcome(outcome, o);
    if (!st.ok()) std::cerr << "sluice task exec: " << st.ToString() << "\n";
  }
  return o.signal != 0 ? 128 + o.signal : o.exit_code;
}

}  // namespace sluice::workflow
