// workflow/slurm_executor.cpp: see slurm_executor.h.
#include "workflow/slurm_executor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <thread>
#include <utility>

#include "config/reader.h"
#include "core/logging.h"
#include "core/process.h"
#include "core/strings.h"
#include "workflow/attempt_files.h"
#include "workflow/shell_quote.h"

namespace sluice::workflow {

namespace {

struct Output {
  int exit_code = -1;
  std::string out, err;
};

// Runs `argv` (no shell) and collects its stdout and stderr. IoError when it cannot start.
// Forked with ForkWatched: a local executor's reaper in this process may reap it first.
Result<Output> RunProgram(const std::vector<std::string>& argv) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe for " + argv[0]);
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    int e = errno;
    close(out_pipe[0]);
    close(out_pipe[1]);
    return Status::FromErrno(e, "pipe for " + argv[0]);
  }
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ForkWatched();
  if (pid < 0) {
    int e = errno;
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) close(fd);
    return Status::FromErrno(e, "cannot fork for " + argv[0]);
  }
  if (pid == 0) {
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(err_pipe[1], STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    signal(SIGPIPE, SIG_DFL);
    execvp(args[0], args.data());
    const char* msg = "cannot run ";
    (void)!write(STDERR_FILENO, msg, strlen(msg));
    (void)!write(STDERR_FILENO, args[0], strlen(args[0]));
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  Output o;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[8192];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (pollfd& p : fds) {
      if (p.fd < 0 || (p.revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      ssize_t n = read(p.fd, buf, sizeof buf);
      if (n > 0) {
        (p.fd == out_pipe[0] ? o.out : o.err).append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(p.fd);
        p.fd = -1;
        --open_fds;
      }
    }
  }
  int status = 0;
  while (true) {
    pid_t r = waitpid(pid, &status, 0);
    if (r == pid) {
      ForgetWatchedChild(pid);
      break;
    }
    if (r < 0 && errno == EINTR) continue;
    // Another thread's reaper took it: its status is kept for us.
    if (TakeReapedChild(pid, &status)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

// "RUNNING", "CANCELLED by 0" -> "CANCELLED", "COMPLETED+" -> "COMPLETED".
std::string BaseState(std::string_view s) {
  s = Trim(s);
  size_t end = s.find_first_of(" +");
  return std::string(s.substr(0, end));
}

const std::set<std::string, std::less<>>& TerminalStates() {
  static const std::set<std::string, std::less<>> k = {
      "BOOT_FAIL", "CANCELLED", "COMPLETED", "DEADLINE",      "FAILED",
      "NODE_FAIL", "PREEMPTED", "TIMEOUT",   "OUT_OF_MEMORY", "SPECIAL_EXIT"};
  return k;
}

}  // namespace

bool SlurmStateAlive(std::string_view state) {
  return TerminalStates().count(BaseState(state)) == 0;
}

ExitInfo SlurmExitInfo(const std::string& id, const SlurmJobState& job) {
  ExitInfo e;
  e.id = id;
  e.exit_code = job.exit_code;
  e.signal = job.signal;
  const std::string state = BaseState(job.state);
  const std::string what = "Slurm job " + id + " " + state;
  if (state == "COMPLETED") {
    if (e.exit_code < 0) e.exit_code = 0;
  } else if (state == "FAILED") {
    if (e.exit_code <= 0 && e.signal == 0) e.exit_code = 1;
  } else if (state == "TIMEOUT") {
    e.timed_out = true;
    e.detail = what + " (its --time limit)";
    if (e.signal == 0) e.signal = SIGTERM;
  } else if (state == "NODE_FAIL" || state == "BOOT_FAIL") {
    e.vanished = VanishReason::kNodeLost;
    e.detail = what;
  } else if (state == "PREEMPTED") {
    e.vanished = VanishReason::kPreempted;
    e.detail = what;
  } else if (state == "OUT_OF_MEMORY") {
    e.vanished = VanishReason::kOutOfMemory;
    e.detail = what;
  } else {
    // CANCELLED by someone else (scancel by hand, an admin), DEADLINE, SPECIAL_EXIT.
    e.vanished = VanishReason::kUnknown;
    e.detail = what + (job.reason.empty() ? "" : " " + job.reason);
    if (e.signal == 0 && e.exit_code <= 0) e.exit_code = 1;
  }
  return e;
}

std::map<std::string, SlurmJobState> ParseSqueue(std::string_view out) {
  std::map<std::string, SlurmJobState> jobs;
  for (const std::string& line : Split(out, '\n')) {
    std::vector<std::string> f = Split(line, '|');
    if (f.size() < 3) continue;
    SlurmJobState s;
    s.state = BaseState(f[1]);
    s.reason = std::string(Trim(f[2]));
    if (s.reason == "None") s.reason.clear();
    if (f.size() >= 4 && !Trim(f[3]).empty()) {
      // squeue's exit_code is the raw wait status.
      const int status = std::atoi(std::string(Trim(f[3])).c_str());
      s.exit_code = (status >> 8) & 0xff;
      s.signal = status & 0x7f;
    }
    if (SlurmStateAlive(s.state)) s.exit_code = -1;
    jobs[std::string(Trim(f[0]))] = s;
  }
  return jobs;
}

std::map<std::string, SlurmJobState> ParseSacct(std::string_view out) {
  std::map<std::string, SlurmJobState> jobs;
  for (const std::string& line : Split(out, '\n')) {
    std::vector<std::string> f = Split(line, '|');
    if (f.size() < 3) continue;
    std::string id(Trim(f[0]));
    if (id.find('.') != std::string::npos) continue;  // steps: the job line decides
    SlurmJobState s;
    std::string_view state = Trim(f[1]);
    s.state = BaseState(state);
    if (size_t by = state.find(" by "); by != std::string_view::npos) {
      s.reason = "by uid " + std::string(Trim(state.substr(by + 4)));
    }
    std::vector<std::string> code = Split(f[2], ':');
    if (!code.empty() && !Trim(code[0]).empty()) {
      s.exit_code = std::atoi(std::string(Trim(code[0])).c_str());
    }
    if (code.size() > 1) s.signal = std::atoi(std::string(Trim(code[1])).c_str());
    jobs[id] = s;
  }
  return jobs;
}

Result<SlurmOptions> ReadSlurmOptions(const config::Node& node) {
  SlurmOptions o;
  if (node.IsNull() || node.IsScalar()) return o;
  config::Diagnostics diags;
  config::MapReader r(node, "sluice.yaml executor", &diags);
  r.Allow("type");
  if (auto v = r.String("partition")) o.partition = *v;
  if (auto v = r.String("account")) o.account = *v;
  if (auto v = r.String("qos")) o.qos = *v;
  if (auto v = r.StringList("extra_args")) o.extra_args = *v;
  if (auto v = r.Double("poll_seconds")) {
    if (*v < 0.05 || *v > 600) {
      r.ErrorAtKey("poll_seconds", "\"poll_seconds\" must be between 0.05 and 600");
    } else {
      o.poll_interval = std::chrono::milliseconds(static_cast<int64_t>(*v * 1000));
    }
  }
  if (auto v = r.Double("max_submits_per_second")) {
    if (*v <= 0 || *v > 10000) {
      r.ErrorAtKey("max_submits_per_second",
                   "\"max_submits_per_second\" must be more than 0 and at most 10000");
    } else {
      o.max_submits_per_second = *v;
    }
  }
  r.Finish();
  if (diags.HasErrors()) return diags.ToStatus();
  return o;
}

namespace {

class SlurmExecutor final : public Executor {
 public:
  explicit SlurmExecutor(SlurmOptions options) : o_(std::move(options)) {}

  Result<std::string> Launch(const LaunchSpec& spec) override {
    Pace();
    const std::filesystem::path script = spec.log.string() + ".sbatch";
    {
      std::error_code ec;
      std::filesystem::create_directories(spec.log.parent_path(), ec);
      std::ofstream f(script, std::ios::binary | std::ios::trunc);
      f << "#!/bin/sh\n# One sluice attempt as a Slurm batch job (workflow/slurm_executor.h).\n";
      for (const std::string& kv : spec.extra_env) {
        size_t eq = kv.find('=');
        if (eq == std::string::npos) continue;
        f << "export " << kv.substr(0, eq) << "=" << ShellQuote(kv.substr(eq + 1)) << "\n";
      }
      f << "cd " << ShellQuote(spec.cwd.string()) << " || exit 2\nexec";
      for (const std::string& a : spec.argv) f << " " << ShellQuote(a);
      f << "\n";
      f.flush();
      if (!f) return Status::IoError("cannot write " + script.string() + " (the Slurm job)");
    }
    std::vector<std::string> argv = {o_.sbatch,
                                     "--parsable",
                                     "--no-requeue",
                                     "--kill-on-invalid-dep=yes",
                                     "--job-name=" + JobName(spec),
                                     "--output=" + spec.log.string(),
                                     "--open-mode=append",
                                     "--chdir=" + spec.cwd.string()};
    if (spec.timeout_seconds > 0 && spec.time_limit_seconds <= 0) {
      const int64_t minutes =
          (spec.timeout_seconds + static_cast<int64_t>(o_.time_margin.count()) + 59) / 60;
      argv.push_back("--time=" + std::to_string(minutes));
    }
    if (!o_.partition.empty()) argv.push_back("--partition=" + o_.partition);
    if (!o_.account.empty()) argv.push_back("--account=" + o_.account);
    if (!o_.qos.empty()) argv.push_back("--qos=" + o_.qos);
    for (const std::string& a : o_.extra_args) argv.push_back(a);
    // The task's own requests (workflow.yaml resources:) come after extra_args: sbatch takes the
    // last of a repeated option, so a task overrides the pipeline-wide defaults.
    if (spec.cpus > 0) argv.push_back("--cpus-per-task=" + std::to_string(spec.cpus));
    if (spec.memory_bytes > 0) {
      argv.push_back("--mem=" + std::to_string((spec.memory_bytes + (1 << 20) - 1) >> 20) + "M");
    }
    if (spec.time_limit_seconds > 0) {
      // minutes:seconds, Slurm's own format.
      argv.push_back("--time=" + std::to_string(spec.time_limit_seconds / 60) + ":" +
                     std::to_string(spec.time_limit_seconds % 60));
    }
    argv.push_back(script.string());
    SLUICE_ASSIGN_OR_RETURN(Output out, RunProgram(argv));
    // --parsable: "JOBID" or "JOBID;CLUSTER".
    std::string id(Trim(out.out.substr(0, out.out.find_first_of(";\n"))));
    if (out.exit_code != 0 || id.empty() ||
        !std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return Status::Unavailable("sbatch refused the attempt's job (exit " +
                                 std::to_string(out.exit_code) +
                                 "): " + std::string(Trim(out.err.empty() ? out.out : out.err)) +
                                 "; check the executor's partition/account/qos in sluice.yaml");
    }
    running_.insert(id);
    return id;
  }

  std::vector<ExitInfo> Wait(Clock::Duration timeout) override {
    std::vector<ExitInfo> ended;
    // Sleep until the next poll is due (or the timeout, or a wake-up), then ask Slurm once.
    const auto now = std::chrono::steady_clock::now();
    const auto due = last_poll_ + o_.poll_interval;
    if (running_.empty() || now < due) {
      auto sleep = running_.empty() ? timeout : std::min<Clock::Duration>(timeout, due - now);
      SleepInterruptibly(sleep);
      if (running_.empty() || std::chrono::steady_clock::now() < due) return ended;
    }
    last_poll_ = std::chrono::steady_clock::now();
    std::map<std::string, SlurmJobState> states = Query(running_);
    for (auto it = running_.begin(); it != running_.end();) {
      auto s = states.find(*it);
      if (s == states.end()) {
        // Known to neither squeue nor sacct: asked again next poll, a few times, then vanished.
        if (++unknown_polls_[*it] < 5) {
          ++it;
          continue;
        }
        ExitInfo e;
        e.id = *it;
        e.vanished = VanishReason::kUnknown;
        e.detail = "Slurm job " + *it + " is known neither to squeue nor to sacct";
        ended.push_back(e);
      } else if (SlurmStateAlive(s->second.state)) {
        ++it;
        continue;
      } else {
        SlurmJobState job = s->second;
        if (job.state == "CANCELLED" && cancelled_.count(*it) == 0 && job.reason.empty()) {
          // sluice cancels with signals (the job then ends FAILED); CANCELLED is someone else.
          job.reason = "by someone other than sluice (scancel by a user or an administrator)";
          ExitInfo e = SlurmExitInfo(*it, job);
          e.stopped_outside = true;
          ended.push_back(e);
        } else {
          ended.push_back(SlurmExitInfo(*it, job));
        }
      }
      finished_.insert(*it);
      unknown_polls_.erase(*it);
      it = running_.erase(it);
    }
    return ended;
  }

  void Cancel(const std::string& id, bool force) override {
    // The scheduler cancels (forced) every attempt once it ended, to sweep what it left: a
    // finished job has nothing left, and asking would cost the controller an RPC per attempt.
    if (finished_.count(id) > 0) return;
    if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos) return;
    cancelled_.insert(id);
    if (force) {
      (void)RunProgram({o_.scancel, "--signal=KILL", "--full", id});
      (void)RunProgram({o_.scancel, id});
    } else {
      (void)RunProgram({o_.scancel, "--signal=TERM", "--full", id});
    }
  }

  ProbeResult Probe(const std::string& id, const std::filesystem::path& lock,
                    const std::filesystem::path& outcome) override {
    return ProbeAll({ProbeTarget{id, lock, outcome}}).front();
  }

  std::vector<ProbeResult> ProbeAll(const std::vector<ProbeTarget>& targets) override {
    std::vector<ProbeResult> out(targets.size());
    std::vector<size_t> ask;  // the attempts only Slurm can tell about
    std::set<std::string> ids;
    for (size_t i = 0; i < targets.size(); ++i) {
      const std::string& id = targets[i].id;
      ProbeResult& r = out[i];
      if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos) {
        r.state = ProbeResult::State::kVanished;
        r.reason = VanishReason::kUnknown;
        r.detail = id.empty() ? "the attempt never started (no Slurm job id)"
                              : "\"" + id + "\" is not a Slurm job id";
        continue;
      }
      // The attempt's own word first: no Slurm call for an attempt that recorded its end.
      if (ReadOutcome(targets[i].outcome)) {
        r.state = ProbeResult::State::kEnded;
        continue;
      }
      ask.push_back(i);
      ids.insert(id);
    }
    if (ask.empty()) return out;
    // A repair probes in a loop while jobs live: at most one Slurm query per poll interval,
    // for all of them.
    const auto due = last_poll_ + o_.poll_interval;
    if (std::chrono::steady_clock::now() < due) {
      SleepInterruptibly(due - std::chrono::steady_clock::now());
    }
    last_poll_ = std::chrono::steady_clock::now();
    std::map<std::string, SlurmJobState> states = Query(ids);
    for (size_t i : ask) {
      const std::string& id = targets[i].id;
      ProbeResult& r = out[i];
      auto s = states.find(id);
      if (s != states.end() && SlurmStateAlive(s->second.state)) {
        r.state = ProbeResult::State::kAlive;
        continue;
      }
      // Written last, just before the job ended: look again.
      if (ReadOutcome(targets[i].outcome)) {
        r.state = ProbeResult::State::kEnded;
        continue;
      }
      r.state = ProbeResult::State::kVanished;
      if (s == states.end()) {
        r.reason = VanishReason::kUnknown;
        r.detail = "Slurm job " + id + " is known neither to squeue nor to sacct";
      } else {
        ExitInfo e = SlurmExitInfo(id, s->second);
        r.reason = e.vanished == VanishReason::kNone ? VanishReason::kUnknown : e.vanished;
        r.detail = e.detail.empty()
                       ? "Slurm job " + id + " " + s->second.state + " without recording an outcome"
                       : e.detail;
      }
    }
    return out;
  }

  std::string_view Name() const override { return "slurm"; }

 private:
  static std::string JobName(const LaunchSpec& s) {
    return "sluice:" + s.task_key + (s.partner.empty() ? "" : "." + s.partner) + ":" +
           std::to_string(s.attempt);
  }

  // At most max_submits_per_second submissions: sleeps until the next one may go.
  void Pace() {
    const auto gap = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(1.0 / o_.max_submits_per_second));
    const auto now = std::chrono::steady_clock::now();
    if (now < next_submit_) std::this_thread::sleep_for(next_submit_ - now);
    next_submit_ = std::max(now, next_submit_) + gap;
  }

  // One squeue for every id; one sacct for the ids squeue no longer knows.
  std::map<std::string, SlurmJobState> Query(const std::set<std::string>& ids) {
    std::map<std::string, SlurmJobState> states;
    if (ids.empty()) return states;
    std::string list;
    for (const std::string& id : ids) list += (list.empty() ? "" : ",") + id;
    auto q = RunProgram({o_.squeue, "-h", "-t", "all", "--jobs=" + list, "-O",
                         "JobID:|,State:|,Reason:|,exit_code:|"});
    if (q.ok() && q->exit_code == 0) states = ParseSqueue(q->out);
    std::string missing;
    for (const std::string& id : ids) {
      if (states.count(id) == 0) missing += (missing.empty() ? "" : ",") + id;
    }
    if (missing.empty()) return states;
    for (bool completion_log : {false, true}) {
      std::vector<std::string> argv = {o_.sacct, "-n",   "-P", "-X", "-o", "JobID,State,ExitCode",
                                       "-j",     missing};
      if (completion_log) argv.insert(argv.begin() + 1, "-c");
      auto a = RunProgram(argv);
      if (!a.ok() || a->exit_code != 0) continue;
      for (auto& [id, s] : ParseSacct(a->out)) states.emplace(id, s);
      break;
    }
    return states;
  }

  void SleepInterruptibly(Clock::Duration d) {
    const auto until = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < until) {
      if (TakeExecutorWake()) return;
      std::this_thread::sleep_for(std::min<Clock::Duration>(
          std::chrono::milliseconds(20), until - std::chrono::steady_clock::now()));
    }
  }

  SlurmOptions o_;
  std::set<std::string> running_;    // launched here, not yet seen ended
  std::set<std::string> finished_;   // seen ended
  std::set<std::string> cancelled_;  // Cancel()ed by this executor
  std::map<std::string, int> unknown_polls_;
  std::chrono::steady_clock::time_point last_poll_{};
  std::chrono::steady_clock::time_point next_submit_{};
};

}  // namespace

std::unique_ptr<Executor> NewSlurmExecutor(SlurmOptions options) {
  return std::make_unique<SlurmExecutor>(std::move(options));
}

Result<std::unique_ptr<Executor>> MakeSlurmExecutor(const config::Node& executor_options) {
  SLUICE_ASSIGN_OR_RETURN(SlurmOptions o, ReadSlurmOptions(executor_options));
  return NewSlurmExecutor(std::move(o));
}

}  // namespace sluice::workflow
