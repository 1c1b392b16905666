// The fault sweeps of issue 23 (docs/reliability.md "Fault injection"): a real `sluice run` of a
// small example (fault_run_util.h) with its Nth store call, or its Nth warehouse call, failed as
// ENOSPC, EIO, EACCES, a short write, a timeout, an S3 503 or a dropped connection, counted over
// every process of the run (core/fault_plan.h). First a run only counts the calls; then for each
// N and kind:
//   - the run ends classified: the fault is retried and the run succeeds (retryable kinds), or
//     the attempt fails without a retry and the run exits 1 (EACCES), or the task absorbs it
//     (a sensor's next look, a best-effort cleanup) and the run succeeds;
//   - what the failed run leaves visible is never half-written (DescribeHalfWritten);
//   - after `sluice repair` (when it failed), data/ and the warehouse equal a clean run's, byte
//     for byte, lineage included, and no temporary is left.
// By default (make test) every 7th store call and every 3rd warehouse call, each with the next
// kind in turn; SLUICE_FAULT_SWEEP_STRIDE=1 (`make fault-sweep`) runs every N with every kind, a
// test per (layer, kind). Each test prints its tally by kind and outcome.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/fault_plan.h"
#include "faults/fault_run_util.h"
#include "store/fault_store.h"
#include "testing/run_command.h"
#include "testing/temp_dir.h"
#include "warehouse/fault_warehouse.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::ReadFile;
using testing::Snapshot;
using testing::TempDir;

// The calls of one layer that a clean run makes, in order ("write raw/acme/...", "BeginMerge").
std::vector<std::string> ReadTrace(const fs::path& trace) {
  std::vector<std::string> calls;
  std::istringstream in(ReadFile(trace));
  std::string line;
  while (std::getline(in, line)) {
    const size_t tab = line.find('\t', line.find('\t') + 1);
    calls.push_back(tab == std::string::npos ? line : line.substr(tab + 1));
  }
  return calls;
}

// The environment of a run that only counts (and traces) the calls of both layers.
std::string CountingPlans(const fs::path& s, const fs::path& w) {
  return "SLUICE_FAULT_STORE='nth=0;counter=" + s.string() + ".n;trace=" + s.string() +
         ".trace' SLUICE_FAULT_WAREHOUSE='nth=0;counter=" + w.string() + ".n;trace=" + w.string() +
         ".trace'";
}

class FaultSweepEnvironment {
 public:
  static FaultSweepEnvironment& Get() {
    static FaultSweepEnvironment env;
    return env;
  }
  fs::path tpl() const { return tmp_ / "template"; }
  fs::path work() const { return tmp_ / "work"; }
  fs::path scratch() const { return tmp_.path(); }
  const Snapshot& clean() const { return clean_; }
  const std::vector<std::string>& store_calls() const { return store_calls_; }
  const std::vector<std::string>& warehouse_calls() const { return warehouse_calls_; }
  bool ready() const { return ready_; }

 private:
  FaultSweepEnvironment() { Prepare(); }
  void Prepare() {
    if (!fault::FaultInjectionBuilt()) return;
    ASSERT_NO_FATAL_FAILURE(testing::WriteExampleTemplate(tpl()));
    // The reference run counts the calls through both wrappers (FaultSweepCount checks that a
    // run without them is the same run).
    ASSERT_NO_FATAL_FAILURE(testing::ResetWorkFolder(tpl(), work()));
    const fs::path s = tmp_ / "count-store", w = tmp_ / "count-warehouse";
    auto run = testing::RunExample(work(), CountingPlans(s, w));
    ASSERT_EQ(run.exit_code, 0) << run.output;
    clean_ = testing::TakeSnapshot(work());
    ASSERT_TRUE(clean_.leftovers.empty()) << clean_.leftovers.front();
    ASSERT_GT(clean_.database.size(), 3u);
    ASSERT_TRUE(clean_.files.count("rejects/acme/2026-11-24/orders.csv"));
    store_calls_ = ReadTrace(s.string() + ".trace");
    warehouse_calls_ = ReadTrace(w.string() + ".trace");
    ready_ = !store_calls_.empty() && !warehouse_calls_.empty();
  }

  TempDir tmp_;
  Snapshot clean_;
  std::vector<std::string> store_calls_, warehouse_calls_;
  bool ready_ = false;
};

// Full sweep (`make fault-sweep`): SLUICE_FAULT_SWEEP_STRIDE=1, every N with every kind, one
// test per (layer, kind). Default (`make test`): one test per layer, every stride-th N, each with
// the next kind in turn.
int Stride(int fallback) {
  const char* s = std::getenv("SLUICE_FAULT_SWEEP_STRIDE");
  return s && std::atoi(s) > 0 ? std::atoi(s) : fallback;
}
bool FullSweep() { return Stride(0) == 1; }

struct SweepCase {
  std::string layer;               // "store" or "warehouse"
  std::vector<std::string> kinds;  // one (full sweep) or all in turn
  std::string name;
};
void PrintTo(const SweepCase& c, std::ostream* os) { *os << c.name; }

std::string CaseName(const ::testing::TestParamInfo<SweepCase>& info) { return info.param.name; }

template <typename Kinds>
std::vector<SweepCase> Cases(const std::string& layer, const Kinds& kinds) {
  std::vector<std::string> all(std::begin(kinds), std::end(kinds));
  if (!FullSweep()) return {{layer, all, layer + "_every_kind_in_turn"}};
  std::vector<SweepCase> out;
  for (const std::string& k : all) out.push_back({layer, {k}, layer + "_" + k});
  return out;
}

bool IsPermanentKind(const std::string& kind) { return kind == "eacces"; }

// How one injected run ended.
enum class Outcome { kAbsorbed, kRetried, kFailedNotRetried };
const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kAbsorbed:
      return "absorbed by the task";
    case Outcome::kRetried:
      return "retried, run succeeded";
    case Outcome::kFailedNotRetried:
      return "failed without retry, repaired";
  }
  return "?";
}

class FaultSweep : public ::testing::TestWithParam<SweepCase> {};

// Runs the sweep of one case; prints its tally.
void Sweep(const SweepCase& c) {
  auto& env = FaultSweepEnvironment::Get();
  if (!fault::FaultInjectionBuilt()) {
    GTEST_SKIP()
        << "this build ignores SLUICE_FAULT_* (configure with -DSLUICE_FAULT_INJECTION=ON)";
  }
  ASSERT_TRUE(env.ready()) << "the counting run failed (see above)";
  const bool is_store = c.layer == "store";
  const std::vector<std::string>& calls = is_store ? env.store_calls() : env.warehouse_calls();
  const int stride = Stride(is_store ? 7 : 3);
  // (call number, kind) to inject: every stride-th call, kinds in turn; a short write only where
  // the call is a write (other calls get the next kind).
  std::vector<std::pair<int64_t, std::string>> plan;
  size_t next_kind = 0, writes = 0;
  const bool has_short_write =
      std::find(c.kinds.begin(), c.kinds.end(), "short_write") != c.kinds.end();
  for (size_t i = 0; i < calls.size(); i += stride) {
    // Every other write chosen gets the short write, so the rotation does not skip it.
    if (has_short_write && calls[i].starts_with("write ") && writes++ % 2 == 0) {
      plan.push_back({static_cast<int64_t>(i) + 1, "short_write"});
      continue;
    }
    for (size_t tries = 0; tries < c.kinds.size(); ++tries) {
      const std::string& kind = c.kinds[next_kind++ % c.kinds.size()];
      if (kind == "short_write" && !calls[i].starts_with("write ")) continue;
      plan.push_back({static_cast<int64_t>(i) + 1, kind});
      break;
    }
  }
  std::map<std::string, std::map<Outcome, int>> tally;  // kind -> outcome -> runs
  std::map<std::string, std::string> absorbed;          // kind -> the calls a task absorbed
  int injected = 0;
  const auto started = std::chrono::steady_clock::now();
  for (const auto& [n, kind] : plan) {
    const std::string what =
        c.layer + " call " + std::to_string(n) + " (" + calls[n - 1] + ") as " + kind;
    SCOPED_TRACE(what);
    ASSERT_NO_FATAL_FAILURE(testing::ResetWorkFolder(env.tpl(), env.work()));
    const fs::path counter = env.scratch() / ("counter-" + c.name);
    fs::remove(counter);
    const std::string vars =
        std::string(is_store ? "SLUICE_FAULT_STORE" : "SLUICE_FAULT_WAREHOUSE") +
        "='nth=" + std::to_string(n) + ";kind=" + kind + ";counter=" + counter.string() + "'";
    auto run = testing::RunExample(env.work(), vars);
    ASSERT_TRUE(run.exit_code == 0 || run.exit_code == 1) << run.output;
    // The run got as far as the call (the calls before it are those of the clean run).
    ASSERT_GE(std::atoll(ReadFile(counter).c_str()), n) << run.output;
    ++injected;
    const std::string run_id = testing::NewestRun(env.work());
    const json show = testing::ShowRun(env.work(), run_id);
    ASSERT_TRUE(show.contains("instances")) << show.dump();
    // The attempts that failed with the injected fault, and whether their instance tried again.
    int failed = 0, retried = 0;
    for (const auto& inst : show["instances"]) {
      const auto& history = inst["history"];
      for (size_t a = 0; a < history.size(); ++a) {
        const std::string error = history[a].value("error", "");
        if (error.find("injected") == std::string::npos) continue;
        ++failed;
        EXPECT_NE(history[a].value("exit_code", 0), 0) << error;
        if (a + 1 < history.size()) ++retried;
      }
    }
    Outcome outcome;
    if (run.exit_code == 0) {
      ASSERT_EQ(failed, retried) << run.output;
      outcome = failed == 0 ? Outcome::kAbsorbed : Outcome::kRetried;
    } else {
      ASSERT_EQ(failed, 1) << "the run failed, but not on the injected fault: " << run.output;
      ASSERT_EQ(retried, 0) << run.output;
      outcome = Outcome::kFailedNotRetried;
    }
    // Classified as the error deserves: permission problems are not retried, the rest is.
    if (IsPermanentKind(kind)) {
      EXPECT_NE(outcome, Outcome::kRetried) << "a permission error was retried: " << run.output;
    } else {
      EXPECT_NE(outcome, Outcome::kFailedNotRetried)
          << "a retryable fault failed the run without a retry: " << run.output;
    }
    if (outcome == Outcome::kFailedNotRetried) {
      EXPECT_EQ(testing::DescribeHalfWritten(env.clean(), testing::TakeSnapshot(env.work())), "");
      auto repair = testing::RepairExample(env.work(), run_id);
      ASSERT_EQ(repair.exit_code, 0) << repair.output;
    }
    const std::string diff =
        testing::DescribeDifference(env.clean(), testing::TakeSnapshot(env.work()));
    ASSERT_EQ(diff, "") << run.output;
    ++tally[kind][outcome];
    if (outcome == Outcome::kAbsorbed) absorbed[kind] += " " + std::to_string(n);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "[fault sweep] " << c.name << ": " << injected << " runs, " << calls.size() << " "
            << c.layer << " calls, stride " << stride << ", " << seconds << " s\n";
  for (const auto& [kind, outcomes] : tally) {
    int runs = 0;
    for (const auto& [o, count] : outcomes) runs += count;
    std::cout << "[fault sweep]   " << c.layer << " " << kind << ": " << runs << " injected;";
    for (const auto& [o, count] : outcomes)
      std::cout << " " << OutcomeName(o) << " " << count << ";";
    std::cout << " equal to a clean run at the end: " << runs << "\n";
    if (!absorbed[kind].empty()) {
      std::cout << "[fault sweep]     absorbed at calls" << absorbed[kind] << "\n";
    }
  }
  EXPECT_GT(injected, 0);
}

TEST_P(FaultSweep, EveryChosenCallFailedEndsClassifiedAndEqualsACleanRunAfterRepair) {
  Sweep(GetParam());
}

INSTANTIATE_TEST_SUITE_P(Store, FaultSweep, ::testing::ValuesIn(Cases("store", store::kFaultKinds)),
                         CaseName);
INSTANTIATE_TEST_SUITE_P(Warehouse, FaultSweep,
                         ::testing::ValuesIn(Cases("warehouse", warehouse::kWarehouseFaultKinds)),
                         CaseName);

TEST(FaultSweepCount, ACleanRunMakesTheSameCallsEveryTimeAndCountingChangesNothing) {
  auto& env = FaultSweepEnvironment::Get();
  if (!fault::FaultInjectionBuilt()) GTEST_SKIP() << "this build ignores SLUICE_FAULT_*";
  ASSERT_TRUE(env.ready());
  // Without the wrappers: the same files and tables as the counting run.
  ASSERT_NO_FATAL_FAILURE(testing::ResetWorkFolder(env.tpl(), env.work()));
  auto run = testing::RunExample(env.work());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(testing::DescribeDifference(env.clean(), testing::TakeSnapshot(env.work())), "");
  // A second counting run numbers the same calls in the same order.
  ASSERT_NO_FATAL_FAILURE(testing::ResetWorkFolder(env.tpl(), env.work()));
  const fs::path s = env.scratch() / "recount-store", w = env.scratch() / "recount-warehouse";
  run = testing::RunExample(env.work(), CountingPlans(s, w));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  // Staging folder names carry the run id; mask them.
  auto masked = [](std::vector<std::string> calls) {
    for (std::string& c : calls) {
      const size_t at = c.find("/.staging/");
      if (at == std::string::npos) continue;
      const size_t end = c.find('/', at + 10);
      c = c.substr(0, at) + "/.staging/*" + (end == std::string::npos ? "" : c.substr(end));
    }
    return calls;
  };
  EXPECT_EQ(masked(ReadTrace(s.string() + ".trace")), masked(env.store_calls()));
  EXPECT_EQ(ReadTrace(w.string() + ".trace"), env.warehouse_calls());
  std::cout << "[fault sweep] a clean run makes " << env.store_calls().size() << " store calls and "
            << env.warehouse_calls().size() << " warehouse calls\n";
}

}  // namespace
}  // namespace sluice
