// Scheduler overhead: 1,000 trivial `command: "true"` tasks (no dependencies) through the real
// engine (ledger writes, `sluice task exec` child per attempt, /bin/sh -c true), reported as
// attempts per second. Baseline in the same run: spawning `/bin/sh -c true` 1,000 times with
// the same parallelism and nothing else, i.e. the floor any process-per-attempt engine pays.
// Target: >= 100 attempts/s on the 2-core dev machine.
//
//   make build && build/release/bench/scheduler_bench
// The sluice binary is taken from $SLUICE_BINARY, else ../sluice next to this benchmark.
//
// The scheduler alone at scale (issue 16): BM_Scheduler_FakeExecutor drives the example DAG's
// shape (set_date, wait, then per partner extract and three merges, then summary and check:
// 4 x partners + 4 instances) through the real ledger with the scripted FakeExecutor on a
// FakeClock, so every microsecond measured is the scheduler's own (resolving, launching,
// ledger writes), none a task's. cpu_us_per_instance must not grow with the partners:
//   build/release/bench/scheduler_bench --benchmark_filter=FakeExecutor
#include <benchmark/benchmark.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "config/pipeline_config.h"
#include "core/logging.h"
#include "ledger/ledger.h"
#include "workflow/scheduler.h"
#include "workflow/testing/fake_executor.h"

extern char** environ;

namespace {

constexpr int kTasks = 1000;

std::string SluiceBinary() {
  if (const char* env = std::getenv("SLUICE_BINARY")) return env;
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  std::filesystem::path self(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0));
  return (self.parent_path().parent_path() / "sluice").string();
}

int Parallelism() {
  unsigned cores = std::thread::hardware_concurrency();
  return cores > 0 ? static_cast<int>(cores) : 2;
}

std::filesystem::path MakePipeline() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "sluice-bench-XXXXXX").string();
  std::filesystem::path dir(mkdtemp(tmpl.data()));
  std::ofstream(dir / "sluice.yaml") << "name: bench\ntimezone: UTC\n";
  std::ofstream wf(dir / "workflow.yaml");
  wf << "name: bench\ntasks:\n";
  for (int i = 0; i < kTasks; ++i) wf << "  - task_key: t" << i << "\n    command: \"true\"\n";
  wf.close();
  std::filesystem::create_directories(dir / "partners/p1/schemas");
  std::ofstream(dir / "partners/p1/partner.yaml")
      << "id: p1\narchive: \"p1_{date:%Y%m%d}.tar.gz\"\ntables:\n  t: {file: \"t*.csv\"}\n";
  std::ofstream(dir / "partners/p1/schemas/t.json")
      << R"({"table": "t", "columns": [{"name": "a", "type": "int64"}]})";
  return dir;
}

void BM_Baseline_SpawnShTrue(benchmark::State& state) {
  const int parallelism = static_cast<int>(state.range(0));
  for (auto _ : state) {
    int running = 0;
    for (int i = 0; i < kTasks; ++i) {
      if (running == parallelism) {
        wait(nullptr);
        --running;
      }
      pid_t pid;
      char sh[] = "/bin/sh", c[] = "-c", t[] = "true";
      char* argv[] = {sh, c, t, nullptr};
      posix_spawn(&pid, "/bin/sh", nullptr, nullptr, argv, environ);
      ++running;
    }
    while (running-- > 0) wait(nullptr);
  }
  state.counters["attempts_per_second"] =
      benchmark::Counter(kTasks, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Scheduler_1000TrueTasks(benchmark::State& state) {
  sluice::log::Options log_options;
  log_options.level = sluice::log::Level::kWarn;
  sluice::log::Init(log_options);
  std::filesystem::path dir = MakePipeline();
  auto pipeline = sluice::config::LoadPipeline(dir);
  if (!pipeline.ok()) {
    state.SkipWithError(pipeline.status().ToString().c_str());
    return;
  }
  auto ledger = sluice::ledger::OpenLedger(pipeline->settings.ledger, pipeline->dir);
  if (!ledger.ok()) {
    state.SkipWithError(ledger.status().ToString().c_str());
    return;
  }
  sluice::workflow::SchedulerOptions options;
  options.parallelism = static_cast<int>(state.range(0));
  options.sluice_binary = SluiceBinary();
  options.handle_signals = false;
  options.send_alerts = false;
  int day = 1;
  for (auto _ : state) {
    sluice::workflow::RunRequest request;
    request.date = sluice::Date{2026, 1, day++};
    auto outcome = sluice::workflow::StartRun(*pipeline, **ledger, request, options);
    if (!outcome.ok() || outcome->state != "success") {
      state.SkipWithError(outcome.ok() ? "run did not succeed"
                                       : outcome.status().ToString().c_str());
      break;
    }
  }
  state.counters["attempts_per_second"] =
      benchmark::Counter(kTasks, benchmark::Counter::kIsIterationInvariantRate);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

std::filesystem::path MakeScalePipeline(int partners) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "sluice-scale-XXXXXX").string();
  std::filesystem::path dir(mkdtemp(tmpl.data()));
  std::ofstream(dir / "sluice.yaml") << "name: scale\ntimezone: UTC\n";
  std::ofstream(dir / "workflow.yaml") << R"(name: scale
tasks:
  - {task_key: set_date, command: x}
  - {task_key: wait, depends_on: [set_date], command: x}
  - {task_key: extract, depends_on: [wait], for_each: partner, command: x}
  - {task_key: merge_orders, depends_on: [extract], for_each: partner, command: x}
  - {task_key: merge_customers, depends_on: [extract], for_each: partner, command: x}
  - {task_key: merge_events, depends_on: [extract], for_each: partner, command: x}
  - {task_key: summary, depends_on: [merge_orders, merge_customers, merge_events], command: x}
  - {task_key: check, depends_on: [summary], command: x}
)";
  for (int i = 0; i < partners; ++i) {
    const std::string id = "p" + std::to_string(i);
    std::filesystem::create_directories(dir / "partners" / id / "schemas");
    std::ofstream(dir / "partners" / id / "partner.yaml")
        << "id: " << id << "\narchive: \"" << id
        << "_{date:%Y%m%d}.tar.gz\"\ntables:\n  orders: {file: \"orders*.csv\"}\n"
           "  customers: {file: \"customers*.csv\"}\n  events: {file: \"events*.csv\"}\n";
    for (const char* t : {"orders", "customers", "events"}) {
      std::ofstream(dir / "partners" / id / "schemas" / (std::string(t) + ".json"))
          << R"({"table": ")" << t << R"(", "columns": [{"name": "a", "type": "int64"}]})";
    }
  }
  return dir;
}

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

void BM_Scheduler_FakeExecutor(benchmark::State& state) {
  sluice::log::Options log_options;
  log_options.level = sluice::log::Level::kWarn;
  sluice::log::Init(log_options);
  const int partners = static_cast<int>(state.range(0));
  std::filesystem::path dir = MakeScalePipeline(partners);
  auto pipeline = sluice::config::LoadPipeline(dir);
  if (!pipeline.ok()) {
    state.SkipWithError(pipeline.status().ToString().c_str());
    return;
  }
  auto ledger = sluice::ledger::OpenLedger(pipeline->settings.ledger, pipeline->dir);
  if (!ledger.ok()) {
    state.SkipWithError(ledger.status().ToString().c_str());
    return;
  }
  sluice::FakeClock clock;
  sluice::workflow::FakeExecutor executor(&clock);
  sluice::workflow::SchedulerOptions options;
  options.parallelism = 2;
  options.sluice_binary = "/nonexistent/sluice";
  options.executor = &executor;
  options.clock = &clock;
  options.handle_signals = false;
  options.send_alerts = false;
  int day = 1;
  double cpu = 0;
  size_t instances = 0;
  for (auto _ : state) {
    sluice::workflow::RunRequest request;
    request.date = sluice::Date{2026, 1, day++};
    const double before = CpuSeconds();
    auto outcome = sluice::workflow::StartRun(*pipeline, **ledger, request, options);
    cpu += CpuSeconds() - before;
    if (!outcome.ok() || outcome->state != "success") {
      state.SkipWithError(outcome.ok() ? "run did not succeed"
                                       : outcome.status().ToString().c_str());
      break;
    }
    instances = executor.launches().size();
  }
  state.counters["instances"] = static_cast<double>(instances);
  state.counters["cpu_us_per_instance"] =
      instances > 0 ? cpu * 1e6 / static_cast<double>(instances) : 0;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace

BENCHMARK(BM_Scheduler_FakeExecutor)
    ->Arg(8)
    ->Arg(100)
    ->Arg(1000)
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();
BENCHMARK(BM_Baseline_SpawnShTrue)
    ->Arg(Parallelism())
    ->Arg(8)
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();
BENCHMARK(BM_Scheduler_1000TrueTasks)
    ->Arg(Parallelism())
    ->Arg(8)
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

BENCHMARK_MAIN();
