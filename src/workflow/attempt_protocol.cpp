// attempt_protocol.cpp: see attempt_protocol.h.
#include "workflow/attempt_protocol.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "workflow/attempt_files.h"

extern char** environ;

namespace sluice::workflow {

int RunShellAttempt(const std::string& command, char* const* envp,
                    const std::filesystem::path& outcome) {
  std::cout.flush();
  fflush(nullptr);
  Outcome o;
  // Ignored before the command exists: a graceful cancel that arrives from now on reaches the
  // command (which gets the default back) and never the leader that records its outcome.
  signal(SIGTERM, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  pid_t sh = fork();
  if (sh == 0) {
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
    o.exit_code = 127;
    o.error = "cannot fork /bin/sh: " + std::string(strerror(errno));
  } else {
    int status = 0;
    while (waitpid(sh, &status, 0) < 0 && errno == EINTR) {
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
