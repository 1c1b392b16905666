// local_executor.cpp: attempts as child processes, each in its own process group.
//
// posix_spawn (vfork-like, cheap even for a big scheduler) starts `sluice task exec` with
// stdout/stderr on the log, its own process group, default signal dispositions and an empty
// signal mask. A builtin whose spec carries `in_process` runs in a fork of this process instead
// when it has a single thread: the same setup, then the call, then _exit; no exec and no dynamic
// loading of a fresh sluice. SIGCHLD writes to a self-pipe, so Wait() sleeps in poll() instead
// of spinning. A builtin also gets one end of a socket pair on which it may give its slot back
// before it exits (a large merge whose rows are all added, left with its commit and closing its
// database): Wait() polls those sockets too, and TakeReleased() reports them.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <utility>

#include "core/process.h"
#include "workflow/attempt_files.h"
#include "workflow/attempt_protocol.h"
#include "workflow/executor.h"

extern char** environ;

namespace sluice::workflow {

namespace {

int g_wake_pipe[2] = {-1, -1};

// Where an exec'd builtin finds its release socket (fd 3 is the lock, when there is one).
constexpr int kReleaseFdAfterExec = 4;

// The pid in a local attempt id; 0 when the id is not one (an attempt that never started).
pid_t PidOf(const std::string& id) {
  if (id.empty() || id.size() > 9 || id.find_first_not_of("0123456789") != std::string::npos) {
    return 0;
  }
  return static_cast<pid_t>(std::stol(id));
}

// Probe for the local executor: every process of an attempt inherits its log, which the
// launch flock()ed, so the lock is free exactly when all of them are gone; the outcome file
// says how the attempt ended. (A daemon the attempt left behind may hold the lock after the
// outcome is written: the attempt itself has ended then.)
ProbeResult ProbeLocalAttempt(const std::string& id, const std::filesystem::path& lock,
                              const std::filesystem::path& outcome) {
  ProbeResult r;
  if (ReadOutcome(outcome)) {
    r.state = ProbeResult::State::kEnded;
    return r;
  }
  int fd = lock.empty() ? -1 : open(lock.c_str(), O_RDWR | O_CLOEXEC);
  bool held = false;
  if (fd >= 0) {
    held = flock(fd, LOCK_EX | LOCK_NB) != 0;
    close(fd);
  } else if (PidOf(id) > 0) {
    held = ProcessRunning(PidOf(id));  // no lock file (it was removed): ask the kernel
  }
  if (held) {
    // Raced with the attempt finishing: its outcome may have appeared meanwhile.
    r.state = ReadOutcome(outcome) ? ProbeResult::State::kEnded : ProbeResult::State::kAlive;
    return r;
  }
  // Written last, so look again: it may have been written just before the lock was released.
  if (ReadOutcome(outcome)) {
    r.state = ProbeResult::State::kEnded;
    return r;
  }
  r.state = ProbeResult::State::kVanished;
  r.reason = VanishReason::kUnknown;
  r.detail = PidOf(id) > 0 ? "process group " + id + " is gone without recording an outcome"
                           : "the attempt never started";
  return r;
}

void OnSigchld(int) { WakeExecutor(); }

// Whether this process runs one thread only (/proc/self/status), so a fork copies no lock that
// another thread holds. False when it cannot tell.
bool SingleThreaded() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::atoi(line.c_str() + 8) == 1;
  }
  return false;
}

void EnsureWakePipe() {
  if (g_wake_pipe[0] >= 0) return;
  if (pipe2(g_wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    g_wake_pipe[0] = g_wake_pipe[1] = -1;
  }
}

class LocalExecutor final : public Executor {
 public:
  LocalExecutor() {
    EnsureWakePipe();
    // Orphaned grandchildren (a command's children whose leader was killed) come to us, so
    // the whole group is reaped, not left as zombies of init.
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    struct sigaction sa {};
    sa.sa_handler = &OnSigchld;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, &old_sigchld_);
  }
  ~LocalExecutor() override {
    for (int pid : live_) kill(-pid, SIGKILL);
    for (int pid : live_) waitpid(pid, nullptr, 0);
    for (const auto& [pid, fd] : release_fds_) close(fd);
    sigaction(SIGCHLD, &old_sigchld_, nullptr);
  }

  Result<std::string> Launch(const LaunchSpec& spec) override {
    // O_NOFOLLOW: a link planted where the log goes must not carry the task's output elsewhere.
    int log_fd =
        open(spec.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (log_fd < 0) return Status::FromErrno(errno, "cannot open attempt log " + spec.log.string());
    int lock_fd = -1;
    if (!spec.lock.empty() && spec.lock == spec.log) {
      // The log doubles as the lock: every process of the attempt inherits it as stdout.
      if (flock(log_fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(log_fd);
        return Status::FromErrno(e, "cannot lock " + spec.log.string());
      }
    } else if (!spec.lock.empty()) {
      lock_fd = open(spec.lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
      if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(log_fd);
        if (lock_fd >= 0) close(lock_fd);
        return Status::FromErrno(e, "cannot lock " + spec.lock.string());
      }
    }
    // A builtin gets a socket on which it can give its slot back before it ends
    // (Executor::TakeReleased): kept at its own number in a fork, at fd 4 after an exec.
    const bool builtin = spec.shell_command.empty();
    const bool in_fork = builtin && spec.in_process && SingleThreaded();
    int release[2] = {-1, -1};
    if (builtin && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, release) != 0) {
      release[0] = release[1] = -1;
    }
    std::vector<std::string> env_storage;
    std::set<std::string> overridden = {kReleaseFdEnv};  // never one inherited from our parent
    for (const std::string& kv : spec.extra_env) overridden.insert(kv.substr(0, kv.find('=')));
    for (char** e = environ; e && *e; ++e) {
      std::string kv(*e);
      if (!overridden.contains(kv.substr(0, kv.find('=')))) env_storage.push_back(std::move(kv));
    }
    for (const std::string& kv : spec.extra_env) env_storage.push_back(kv);
    if (release[1] >= 0) {
      env_storage.push_back(std::string(kReleaseFdEnv) + "=" +
                            std::to_string(in_fork ? release[1] : kReleaseFdAfterExec));
    }
    std::vector<char*> envp;
    for (std::string& kv : env_storage) envp.push_back(kv.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_storage = spec.argv;
    std::vector<char*> argv;
    for (std::string& a : argv_storage) argv.push_back(a.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, log_fd, 1);
    posix_spawn_file_actions_adddup2(&actions, log_fd, 2);
    // fd 3 carries the attempt's lock into the child and everything it starts.
    if (lock_fd >= 0) posix_spawn_file_actions_adddup2(&actions, lock_fd, 3);
    if (release[1] >= 0)
      posix_spawn_file_actions_adddup2(&actions, release[1], kReleaseFdAfterExec);
    if (!spec.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, spec.cwd.c_str());
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t defaults, empty;
    sigemptyset(&defaults);
    for (int s : {SIGINT, SIGTERM, SIGCHLD, SIGPIPE, SIGHUP, SIGQUIT}) sigaddset(&defaults, s);
    sigemptyset(&empty);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setsigmask(&attr, &empty);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    if (!spec.shell_command.empty()) {
      posix_spawn_file_actions_destroy(&actions);
      posix_spawnattr_destroy(&attr);
      return ForkShim(spec, env_storage, log_fd, lock_fd);
    }
    if (in_fork) {
      posix_spawn_file_actions_destroy(&actions);
      posix_spawnattr_destroy(&attr);
      return TrackRelease(ForkInProcess(spec, env_storage, log_fd, lock_fd), release);
    }
    pid_t pid = 0;
    int rc = posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    close(log_fd);
    // The child holds the lock now (same open file description); our copy can go.
    if (lock_fd >= 0) close(lock_fd);
    if (rc != 0) {
      return TrackRelease(Status::FromErrno(rc, "cannot start " + spec.argv[0]), release);
    }
    live_.insert(pid);
    return TrackRelease(std::to_string(pid), release);
  }

  std::vector<std::string> TakeReleased() override { return std::exchange(released_, {}); }

  void Cancel(const std::string& id, bool force) override {
    // The id is the leader's pid, which is also the attempt's process group id.
    pid_t pgid = PidOf(id);
    if (pgid > 0) kill(-pgid, force ? SIGKILL : SIGTERM);
  }

  ProbeResult Probe(const std::string& id, const std::filesystem::path& lock,
                    const std::filesystem::path& outcome) override {
    return ProbeLocalAttempt(id, lock, outcome);
  }

  std::string_view Name() const override { return "local"; }

  std::vector<ExitInfo> Wait(Clock::Duration timeout) override {
    std::vector<ExitInfo> out = Reap();
    if (!out.empty() || CollectReleases(0)) return out;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
    if (ms < 0) ms = 0;
    // Sleeps on the wake pipe (SIGCHLD) and every attempt's release socket.
    CollectReleases(static_cast<int>(std::min<int64_t>(ms, 1000)));
    char buf[256];
    while (g_wake_pipe[0] >= 0 && read(g_wake_pipe[0], buf, sizeof buf) > 0) {
    }
    return Reap();
  }

 private:
  // The `sluice task exec` of a command task, without exec'ing sluice: fork, become the
  // attempt's process group leader, run the shell, record the outcome, _exit.
  Result<std::string> ForkShim(const LaunchSpec& spec, std::vector<std::string>& env, int log_fd,
                               int lock_fd) {
    return ForkAttempt(spec, log_fd, lock_fd, [&] { RunShim(spec, env, log_fd, lock_fd); });
  }

  // A builtin's attempt in a fork of this process (LaunchSpec::in_process): set up as
  // posix_spawn would (process group, /dev/null, log, lock, folder, environment, default
  // signals), call it, _exit with its code.
  Result<std::string> ForkInProcess(const LaunchSpec& spec, std::vector<std::string>& env,
                                    int log_fd, int lock_fd) {
    // What this process has buffered would otherwise be written again by the child.
    std::cout.flush();
    std::cerr.flush();
    std::fflush(nullptr);
    return ForkAttempt(spec, log_fd, lock_fd, [&] { RunInProcess(spec, env, log_fd, lock_fd); });
  }

  // Forks; the child runs `child`, which never returns. The parent puts the child in its own
  // process group, closes its copies of the log and lock descriptors and tracks the pid.
  template <typename Child>
  Result<std::string> ForkAttempt(const LaunchSpec& spec, int log_fd, int lock_fd, Child child) {
    pid_t pid = fork();
    if (pid < 0) {
      int e = errno;
      close(log_fd);
      if (lock_fd >= 0) close(lock_fd);
      return Status::FromErrno(e, "cannot fork for " + spec.log.string());
    }
    if (pid == 0) {
      child();  // never returns
      _exit(127);
    }
    setpgid(pid, pid);  // also done by the child; whichever runs first wins the race
    close(log_fd);
    if (lock_fd >= 0) close(lock_fd);
    live_.insert(pid);
    return std::to_string(pid);
  }

  [[noreturn]] static void RunInProcess(const LaunchSpec& spec, std::vector<std::string>& env,
                                        int log_fd, int lock_fd) {
    setpgid(0, 0);
    for (int s : {SIGINT, SIGTERM, SIGCHLD, SIGPIPE, SIGHUP, SIGQUIT}) signal(s, SIG_DFL);
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, nullptr);
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd >= 0) dup2(null_fd, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    if (lock_fd >= 0) dup2(lock_fd, 3);  // dup2 clears FD_CLOEXEC on the copy
    if (!spec.cwd.empty() && chdir(spec.cwd.c_str()) != 0) _exit(126);
    clearenv();
    for (std::string& kv : env) putenv(kv.data());
    int code = 3;  // the CLI's internal error, should the call throw
    try {
      code = spec.in_process(spec.argv);
    } catch (...) {
    }
    std::cout.flush();
    std::cerr.flush();
    std::fflush(nullptr);
    _exit(code);
  }

  // The shim child: become the attempt's process group leader with the log as stdout and
  // stderr and the lock as fd 3, then run the shared protocol (attempt_protocol.h).
  [[noreturn]] static void RunShim(const LaunchSpec& spec, std::vector<std::string>& env,
                                   int log_fd, int lock_fd) {
    setpgid(0, 0);
    signal(SIGCHLD, SIG_DFL);
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    if (lock_fd >= 0) dup2(lock_fd, 3);  // dup2 clears FD_CLOEXEC on the copy
    if (!spec.cwd.empty() && chdir(spec.cwd.c_str()) != 0) _exit(126);
    std::vector<char*> envp;
    for (std::string& kv : env) {
      if (kv.rfind("SLUICE_COMMAND=", 0) != 0) envp.push_back(kv.data());
    }
    envp.push_back(nullptr);
    _exit(RunShellAttempt(spec.shell_command, envp.data(), spec.outcome));
  }

  // Keeps our end of an attempt's release socket (the attempt's end is closed here: it has its
  // own copy), or closes both when the launch failed.
  Result<std::string> TrackRelease(Result<std::string> id, const int release[2]) {
    if (release[1] >= 0) close(release[1]);
    if (release[0] < 0) return id;
    if (!id.ok()) {
      close(release[0]);
      return id;
    }
    release_fds_[static_cast<pid_t>(std::stol(*id))] = release[0];
    return id;
  }

  // Polls the wake pipe (when `timeout_ms` > 0) and the release sockets for up to `timeout_ms`;
  // an attempt that sent its byte goes to released_. A socket is closed once it has said
  // something (a release, or its end when the attempt exited). Returns whether any released.
  bool CollectReleases(int timeout_ms) {
    std::vector<pollfd> fds;
    std::vector<pid_t> pids;
    if (timeout_ms > 0 && g_wake_pipe[0] >= 0) {
      fds.push_back({g_wake_pipe[0], POLLIN, 0});
      pids.push_back(0);
    }
    for (const auto& [pid, fd] : release_fds_) {
      fds.push_back({fd, POLLIN, 0});
      pids.push_back(pid);
    }
    if (fds.empty() || poll(fds.data(), fds.size(), timeout_ms) <= 0) return false;
    bool any = false;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (pids[i] == 0 || fds[i].revents == 0) continue;
      char byte = 0;
      ssize_t n = recv(fds[i].fd, &byte, 1, MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n == 1) {
        released_.push_back(std::to_string(pids[i]));
        any = true;
      }
      close(fds[i].fd);
      release_fds_.erase(pids[i]);
    }
    return any;
  }

  std::vector<ExitInfo> Reap() {
    std::vector<ExitInfo> out;
    while (true) {
      int status = 0;
      pid_t pid = waitpid(-1, &status, WNOHANG);
      if (pid <= 0) break;
      if (auto it = release_fds_.find(pid); it != release_fds_.end()) {
        close(it->second);
        release_fds_.erase(it);
      }
      if (!live_.erase(pid)) {
        // An alert command another thread forked gets its status; an orphaned grandchild is
        // reaped with nothing to record.
        OfferReapedChild(pid, status);
        continue;
      }
      ExitInfo info;
      info.id = std::to_string(pid);
      if (WIFEXITED(status)) info.exit_code = WEXITSTATUS(status);
      if (WIFSIGNALED(status)) info.signal = WTERMSIG(status);
      out.push_back(info);
    }
    return out;
  }

  std::set<int> live_;
  std::map<pid_t, int> release_fds_;   // our end of each live builtin's release socket
  std::vector<std::string> released_;  // ids released since the last TakeReleased()
  struct sigaction old_sigchld_ {};
};

}  // namespace

void NoteExecutorWake();

void WakeExecutor() {
  NoteExecutorWake();
  if (g_wake_pipe[1] >= 0) {
    int saved = errno;
    char c = 1;
    ssize_t ignored = write(g_wake_pipe[1], &c, 1);
    (void)ignored;
    errno = saved;
  }
}

Result<std::unique_ptr<Executor>> MakeLocalExecutor(const config::Node& /*options*/) {
  return std::unique_ptr<Executor>(new LocalExecutor());
}

}  // namespace sluice::workflow
