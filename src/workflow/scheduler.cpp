// scheduler.cpp: StartRun, FindResumableRun, SchedulerGone and the helpers the scheduler's files
// share (scheduler_internal.h). The run loop is driver.cpp, repair is repair.cpp, the live
// display live_display.cpp, alerts run_alerts.cpp.
#include "workflow/scheduler.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>

#include "alert/alert.h"
#include "core/logging.h"
#include "core/process.h"
#include "core/strings.h"
#include "workflow/dag.h"
#include "workflow/driver.h"
#include "workflow/executor.h"
#include "workflow/scheduler_internal.h"

namespace sluice::workflow {

namespace internal {

volatile sig_atomic_t g_stop_signal = 0;

namespace {
void OnStopSignal(int sig) {
  g_stop_signal = sig;
  WakeExecutor();
}
}  // namespace

StopSignals::StopSignals(bool active) : active_(active) {
  if (!active_) return;
  g_stop_signal = 0;
  struct sigaction sa {};
  sa.sa_handler = &OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int_);
  sigaction(SIGTERM, &sa, &old_term_);
}

StopSignals::~StopSignals() {
  if (!active_) return;
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
}

int64_t WallMs(Clock* clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock->WallNow().time_since_epoch())
      .count();
}

std::string FormatSeconds(Clock::Duration d) {
  return fmt::format("{:.1f}s", std::chrono::duration<double>(d).count());
}

// The last non-empty line of a log, shortened, for one-line error summaries.
std::string LastLogLine(const std::filesystem::path& log) {
  std::string tail = alert::TailOfFile(log, 1, 512);
  tail = std::string(Trim(tail));
  if (tail.size() > 200) tail = tail.substr(0, 200) + "...";
  return tail;
}

// Whether `pid` is still a run's scheduler: alive, and (where /proc says) a sluice process. After
// a reboot the pid of a scheduler that died may belong to anything, which must not keep the
// date blocked or be suggested for kill -INT.
bool SchedulerAlive(int pid) {
  if (!ProcessRunning(pid)) return false;
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  if (!comm || !std::getline(comm, name)) return true;  // no /proc: trust kill()
  return name.find("sluice") != std::string::npos;
}

// The partners a run was created for (its --partners, or every enabled partner then), from the
// run's params.
std::vector<std::string> PartnersOfRun(const ledger::RunRecord& run) {
  std::vector<std::string> out;
  auto params = nlohmann::json::parse(run.params, nullptr, false);
  if (params.is_object() && params.contains("partners") && params["partners"].is_array()) {
    for (const auto& p : params["partners"]) {
      if (p.is_string()) out.push_back(p.get<std::string>());
    }
  }
  return out;
}
std::string MakeRunId(const Date& date, Clock* clock) {
  std::time_t t = std::chrono::system_clock::to_time_t(clock->WallNow());
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::random_device rd;
  return fmt::format("{}_{:02}{:02}{:02}_{:04x}", date.ToString(), tm.tm_hour, tm.tm_min, tm.tm_sec,
                     rd() & 0xffff);
}

std::string WorkflowName(const config::Pipeline& pipeline) {
  if (!pipeline.workflow.name.empty()) return pipeline.workflow.name;
  if (!pipeline.settings.name.empty()) return pipeline.settings.name;
  return pipeline.dir.filename().string();
}

ledger::RunOwner SelfOwner() {
  static const ledger::RunOwner self{Hostname(), static_cast<int>(getpid()),
                                     ProcessStartToken(getpid())};
  return self;
}

std::string DescribeOwner(const ledger::RunRecord& run) {
  if (run.host == Hostname())
    return "its scheduler (pid " + std::to_string(run.scheduler_pid) + ")";
  return "its scheduler (pid " + std::to_string(run.scheduler_pid) + " on host " + run.host + ")";
}

std::string HowToStop(const ledger::RunRecord& run) {
  return "`sluice cancel " + run.pipeline_dir + " " + run.run_id + "`" +
         (run.host == Hostname() ? ", or kill -INT " + std::to_string(run.scheduler_pid) : "");
}

std::string Hostname() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

}  // namespace internal

using internal::Hostname;
using internal::MakeRunId;
using internal::PartnersOfRun;
using internal::SchedulerAlive;
using internal::WallMs;
using internal::WorkflowName;
using ledger::InstanceRecord;

Result<std::optional<ledger::RunRecord>> FindResumableRun(
    const config::Pipeline& pipeline, ledger::Ledger& ledger, const Date& date,
    const std::vector<std::string>& partners) {
  SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> wanted, ResolvePartners(pipeline, partners));
  std::sort(wanted.begin(), wanted.end());
  SLUICE_ASSIGN_OR_RETURN(std::vector<ledger::RunRecord> runs, ledger.ListRuns(1000));
  const std::string workflow = WorkflowName(pipeline);
  for (const ledger::RunRecord& r : runs) {  // newest first
    if (r.workflow != workflow || r.logical_date != date.ToString()) continue;
    std::vector<std::string> covered = PartnersOfRun(r);
    std::sort(covered.begin(), covered.end());
    if (covered == wanted) return std::optional<ledger::RunRecord>(r);
  }
  return std::optional<ledger::RunRecord>();
}

std::filesystem::path LogsDir(const config::Pipeline& pipeline) {
  return pipeline.Resolve(pipeline.settings.logs.empty() ? "./logs" : pipeline.settings.logs);
}

Result<RunOutcome> StartRun(const config::Pipeline& pipeline, ledger::Ledger& ledger,
                            const RunRequest& request, const SchedulerOptions& options) {
  if (options.sluice_binary.empty()) return Status::InvalidArgument("scheduler: no sluice binary");
  SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> partners,
                          ResolvePartners(pipeline, request.partners));
  Clock* clock = options.clock ? options.clock : SystemClock::Default();
  ledger::RunRecord run;
  run.run_id = MakeRunId(request.date, clock);
  run.workflow = WorkflowName(pipeline);
  run.pipeline_dir = pipeline.dir.string();
  run.logical_date = request.date.ToString();
  run.params = nlohmann::json{{"partners", partners}, {"parallelism", options.parallelism}}.dump();
  run.state = "running";
  run.created_ms = WallMs(clock);
  const ledger::RunOwner me = internal::SelfOwner();
  run.host = me.host;
  run.scheduler_pid = me.pid;
  run.scheduler_start = me.start;
  run.heartbeat_ms = run.created_ms;
  std::vector<InstanceNode> nodes = BuildInstances(pipeline.workflow, partners);
  std::vector<InstanceRecord> records;
  for (const InstanceNode& n : nodes) {
    InstanceRecord r;
    r.run_id = run.run_id;
    r.task_key = n.task->task_key;
    r.partner = n.partner;
    records.push_back(std::move(r));
  }
  // A partner whose configuration is broken gets no attempt; its chain is over before the run
  // starts, and the others run (LoadOptions::isolate_partners).
  FailBrokenPartners(pipeline, nodes, &records, run.created_ms);
  Status created = ledger.CreateRun(run, records);
  if (created.code() == StatusCode::kAlreadyExists) {
    // Name the active run and whether its scheduler still lives (a killed `sluice run` leaves
    // its run `running` until repaired).
    std::string advice =
        "wait for it to finish, or if its scheduler is gone, continue it with "
        "`sluice run " +
        pipeline.dir.string() + " --date " + run.logical_date + " --resume`";
    if (auto runs = ledger.ListRuns(1000); runs.ok()) {
      for (const ledger::RunRecord& r : *runs) {
        if (r.state != "running" || r.workflow != run.workflow ||
            r.logical_date != run.logical_date) {
          continue;
        }
        if (OwnerAlive(r, WallMs(clock))) {
          advice = internal::DescribeOwner(r) +
                   " is running it: wait for it to finish, or stop it (" + internal::HowToStop(r) +
                   ")";
        } else {
          advice = internal::DescribeOwner(r) + " is gone: continue the run with `sluice run " +
                   pipeline.dir.string() + " --date " + run.logical_date +
                   " --resume` (or `sluice repair " + pipeline.dir.string() + " " + r.run_id + "`)";
        }
        break;
      }
    }
    return Status::AlreadyExists("refusing to start a second run: " + created.message() + "; " +
                                 advice);
  }
  SLUICE_RETURN_IF_ERROR(created);
  log::Info("run {}: workflow {} for {}, {} instances, {} partners, parallelism {}", run.run_id,
            run.workflow, run.logical_date, nodes.size(), partners.size(), options.parallelism);
  return DriveRun(pipeline, ledger, options, std::move(run), std::move(nodes), std::move(records));
}

bool OwnerAlive(const ledger::RunRecord& run, int64_t now_ms) {
  if (run.host == Hostname()) {
    if (!ProcessRunning(run.scheduler_pid)) return false;
    // Recorded by an older sluice: no start time, so ask whether that pid is a sluice.
    if (run.scheduler_start.empty()) return SchedulerAlive(run.scheduler_pid);
    return ProcessStartToken(run.scheduler_pid) == run.scheduler_start;
  }
  return run.heartbeat_ms > 0 && now_ms - run.heartbeat_ms < ledger::kOwnerLeaseMs;
}

bool SchedulerGone(const ledger::RunRecord& run) {
  return run.state == "running" && !OwnerAlive(run, WallMs(SystemClock::Default()));
}

}  // namespace sluice::workflow
