// tests/chaos/chaos_harness.h: SIGKILL chaos on full runs of the example pipeline, for any
// back-end combination (docs/reliability.md "Chaos").
//
// One trial: a fresh copy of the example (same sample rows every time) is run with
// `sluice run`; at random points chosen by a seeded generator the scheduler, or one of its live
// attempt processes (found in /proc by the lock each holds on its log: attempt_processes.h),
// gets SIGKILL. After each round ends (the scheduler killed, or the run finished failed),
// `sluice repair RUN` or `sluice run --resume` goes on until the run succeeds. Then every table,
// every reject and every manifest must equal a clean run's, and the ledger must be consistent: one
// run for the date, every instance succeeded once and last, every attempt closed, no attempt
// process left. An experiment must have killed at least one attempt (not only schedulers): a
// harness that can no longer find attempts fails instead of passing quietly.
//
// The random delays choose the kill points: they are the experiment, not a synchronisation.
// Everything waited for (a round's end, an attempt to kill) is polled on pids and /proc with a
// bound, never slept for a fixed time.
//
// Seeds: SLUICE_CHAOS_SEED (the base seed, decimal or 0x hex) and SLUICE_CHAOS_KILLS (the kills
// to reach per combination) override a test's defaults. The schedule (delays, targets, repair
// or resume) is a function of the seed; where a kill lands in the run is not (it depends on the
// machine's speed), so a reproduction replays the same schedule, not the same interleaving.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "chaos/attempt_processes.h"
#include "pg/pg_example.h"
#include "store/object_store.h"
#include "testing/run_command.h"
#include "testing/temp_dir.h"

namespace sluice::chaos {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct ChaosOptions {
  uint64_t seed = 0;
  int kills = 0;  // kills to reach (SIGKILLs that landed on a live process)
};

// The test's defaults, overridden by SLUICE_CHAOS_SEED / SLUICE_CHAOS_KILLS.
inline ChaosOptions OptionsFromEnv(uint64_t default_seed, int default_kills) {
  ChaosOptions o{default_seed, default_kills};
  if (const char* s = std::getenv("SLUICE_CHAOS_SEED"); s && *s) {
    o.seed = std::strtoull(s, nullptr, 0);
  }
  if (const char* k = std::getenv("SLUICE_CHAOS_KILLS"); k && *k) o.kills = std::atoi(k);
  return o;
}

// A back-end combination: how to write the example for it and how to read what a run left.
struct Combination {
  std::string name;  // "local+sqlite", for messages and the tally
  // Writes the example with its sample deliveries into `dir` (a new folder), configured for this
  // combination; the same rows on every call.
  std::function<void(const fs::path& dir)> init;
  // The warehouse URL of `dir`'s pipeline ("" for the default SQLite one).
  std::function<std::string(const fs::path& dir)> warehouse_url = [](const fs::path&) {
    return std::string();
  };
  // The store of `dir`'s pipeline.
  std::function<std::unique_ptr<store::ObjectStore>(const fs::path& dir)> open_store;
  int parallelism = 2;
  // The longest one round (one sluice command) may take before the trial fails as hung.
  std::chrono::seconds patience{150};
};

// Starts the sluice binary with `args`, stdout and stderr appended to `log`. Its pid.
inline pid_t StartSluice(const std::vector<std::string>& args, const fs::path& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<std::string> storage = {SLUICE_BINARY};
    storage.insert(storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : storage) argv.push_back(s.data());
    argv.push_back(nullptr);
    ::execv(SLUICE_BINARY, argv.data());
    ::_exit(127);
  }
  return pid;
}

// Polls `pid` until it exits or `until` passes. True (and its exit code, or -signal) when it
// exited.
inline bool WaitUntil(pid_t pid, Clock::time_point until, int* code) {
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      *code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
      return true;
    }
    if (r < 0 && errno != EINTR) {
      *code = -1000;
      return true;
    }
    if (Clock::now() >= until) return false;
    ::usleep(2000);  // between two looks at the process
  }
}

// Dates the local store's landing files an hour back, as deliveries that arrived earlier: the
// sensor then finds initech's archive (complete: {stable_seconds: 2}) complete at once instead
// of spending two seconds of every trial waiting for it to age.
inline void BackdateLanding(const fs::path& dir) {
  std::error_code ec;
  const auto past = fs::file_time_type::clock::now() - std::chrono::hours(1);
  for (const auto& e : fs::recursive_directory_iterator(dir / "data" / "landing", ec)) {
    if (e.is_regular_file()) fs::last_write_time(e.path(), past, ec);
  }
}

// --- what a run leaves -------------------------------------------------------------------

// A manifest without what differs between two runs by nature: run ids, times, durations.
inline void NormalizeManifest(nlohmann::json& j) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end();) {
      const std::string& k = it.key();
      if (k == "run_id" || k == "seconds" || k == "loaded_at" || k.ends_with("_ms")) {
        it = j.erase(it);
      } else {
        NormalizeManifest(*it);
        ++it;
      }
    }
  } else if (j.is_array()) {
    for (auto& e : j) NormalizeManifest(e);
  }
}

// `text` with every occurrence of `from` replaced by `to`.
inline std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size()) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// Every object of the store's raw/, rejects/ and manifests/ areas as sorted lines: raw objects
// by key, size and content hash, rejects line by line, manifests normalized. The pipeline's
// folder (`dir`, also the S3 prefix's last segment) reads as DIR: manifests name the warehouse.
// The warehouse URL (`warehouse_url`, when not empty) reads as WAREHOUSE: each trial has a
// database of its own.
inline std::vector<std::string> DumpStore(store::ObjectStore& s, const fs::path& dir,
                                          const std::string& warehouse_url = "") {
  std::vector<std::string> out;
  for (const std::string area : {"raw/", "rejects/", "manifests/"}) {
    auto list = s.List(area);
    EXPECT_TRUE(list.ok()) << area << ": " << list.status().ToString();
    if (!list.ok()) continue;
    for (const auto& o : *list) {
      auto data = s.Get(o.key);
      EXPECT_TRUE(data.ok()) << o.key << ": " << data.status().ToString();
      if (!data.ok()) continue;
      if (area != "raw/") {
        *data = ReplaceAll(ReplaceAll(*data, dir.string(), "DIR"),
                           "/" + dir.filename().string() + "/", "/DIR/");
        if (!warehouse_url.empty()) *data = ReplaceAll(*data, warehouse_url, "WAREHOUSE");
      }
      if (area == "raw/") {
        out.push_back(o.key + " " + std::to_string(data->size()) + " bytes, hash " +
                      std::to_string(std::hash<std::string>{}(*data)));
      } else if (area == "rejects/") {
        size_t start = 0;
        while (start < data->size()) {
          size_t nl = data->find('\n', start);
          if (nl == std::string::npos) nl = data->size();
          out.push_back(o.key + ": " + data->substr(start, nl - start));
          start = nl + 1;
        }
      } else {
        auto j = nlohmann::json::parse(*data, nullptr, false);
        EXPECT_FALSE(j.is_discarded()) << o.key << " is not JSON";
        NormalizeManifest(j);
        out.push_back(o.key + ": " + j.dump());
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct RunContents {
  std::vector<std::string> tables;  // testing::DumpWarehouse
  std::vector<std::string> store;   // DumpStore
};

inline RunContents ReadContents(const Combination& c, const fs::path& dir) {
  RunContents r;
  r.tables = testing::DumpWarehouse(testing::ExampleWarehouseUrl(c.warehouse_url(dir)), dir);
  auto s = c.open_store(dir);
  EXPECT_NE(s, nullptr);
  if (s) r.store = DumpStore(*s, dir, c.warehouse_url(dir));
  return r;
}

// --- the ledger --------------------------------------------------------------------------

inline nlohmann::json CliJson(const std::string& args) {
  auto r = testing::RunCommand(testing::Sluice() + " " + args + " 2>/dev/null");
  return nlohmann::json::parse(r.output, nullptr, false);
}

inline nlohmann::json Runs(const fs::path& dir) {
  auto j = CliJson("runs " + testing::ShellQuote(dir) + " --json");
  if (j.is_object() && j.contains("runs")) j = j["runs"];
  return j.is_array() ? j : nlohmann::json::array();
}

// Why the ledger of `dir` is not consistent after a successful run, or "": exactly one run of
// the date, successful; every instance successful, with exactly one successful attempt, its
// last; every attempt closed (a final state and an end time); no attempt process alive.
inline std::string LedgerProblems(const fs::path& dir) {
  const nlohmann::json runs = Runs(dir);
  if (runs.size() != 1) return std::to_string(runs.size()) + " runs of the date: " + runs.dump();
  if (runs[0]["state"] != "success") return "the run is " + runs[0]["state"].dump();
  const std::string run_id = runs[0]["run_id"];
  const nlohmann::json show =
      CliJson("show " + testing::ShellQuote(dir) + " " + run_id + " --json");
  if (!show.is_object() || !show.contains("instances")) return "show --json failed";
  if (show["state"] != "success") return "show: the run is " + show["state"].dump();
  if (show["instances"].empty()) return "no instances";
  for (const auto& i : show["instances"]) {
    const std::string name =
        i["task"].get<std::string>() + (i["partner"].get<std::string>().empty()
                                            ? ""
                                            : "[" + i["partner"].get<std::string>() + "]");
    if (i["state"] != "success") return name + " is " + i["state"].dump();
    const auto& history = i["history"];
    if (history.empty()) return name + " has no attempt";
    int successes = 0;
    for (const auto& a : history) {
      const std::string state = a["state"];
      if (state != "success" && state != "failed" && state != "timed_out") {
        return name + " attempt " + a["attempt"].dump() + " is left " + state;
      }
      if (a["ended_ms"].get<int64_t>() <= 0 ||
          a["ended_ms"].get<int64_t>() < a["started_ms"].get<int64_t>()) {
        return name + " attempt " + a["attempt"].dump() + " was never closed: " + a.dump();
      }
      successes += state == "success";
    }
    if (successes != 1) return name + " has " + std::to_string(successes) + " successful attempts";
    if (history.back()["state"] != "success") return name + "'s last attempt did not succeed";
    if (static_cast<size_t>(i["attempts"].get<int>()) != history.size()) {
      return name + ": attempts " + i["attempts"].dump() + " but " +
             std::to_string(history.size()) + " in its history";
    }
  }
  const auto alive = AttemptProcesses(dir);
  if (!alive.empty())
    return "attempt " + alive[0].name + " still alive (pid " + std::to_string(alive[0].pid) + ")";
  return "";
}

// --- the experiment ----------------------------------------------------------------------

struct Tally {
  int trials = 0;
  int kills = 0;
  int scheduler_kills = 0;
  int attempt_kills = 0;
  int rounds = 0;          // sluice commands started (run, repair, run --resume)
  int missed = 0;          // kill points the round ended before
  int retried_rounds = 0;  // rounds after the first
};

class ChaosExperiment {
 public:
  // Kill points: after attempt k of a round (k below these) has started, plus up to kJitterMs.
  // The example has 23 task instances; a repair or resume re-runs a few.
  static constexpr uint64_t kFirstRoundAttempts = 24;
  static constexpr uint64_t kLaterRoundAttempts = 8;
  static constexpr uint64_t kJitterMs = 300;

  ChaosExperiment(Combination c, ChaosOptions o, fs::path work)
      : c_(std::move(c)), o_(o), work_(std::move(work)) {}

  // Runs trials until o_.kills kills have landed; each trial must converge to the clean run.
  void Run() {
    std::printf("chaos %s: SLUICE_CHAOS_SEED=%llu SLUICE_CHAOS_KILLS=%d\n", c_.name.c_str(),
                static_cast<unsigned long long>(o_.seed), o_.kills);
    const fs::path clean_dir = work_ / "clean";
    ASSERT_NO_FATAL_FAILURE(c_.init(clean_dir));
    const auto t0 = Clock::now();
    auto clean_run = testing::RunCommand(RunLine(clean_dir));
    const auto clean_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
    ASSERT_EQ(clean_run.exit_code, 0) << clean_run.output;
    clean_ = ReadContents(c_, clean_dir);
    ASSERT_GT(clean_.tables.size(), 100u);
    ASSERT_GT(clean_.store.size(), 10u);
    ASSERT_EQ(LedgerProblems(clean_dir), "");
    std::printf("chaos %s: clean run %lld ms, %zu rows, %zu store lines\n", c_.name.c_str(),
                static_cast<long long>(clean_ms), clean_.tables.size(), clean_.store.size());
    std::mt19937_64 rng(o_.seed);
    // Until the kills are reached and at least one of them landed on an attempt.
    while ((t_.kills < o_.kills || (o_.kills > 0 && t_.attempt_kills == 0)) &&
           t_.trials < 3 * o_.kills + 3) {
      const uint64_t trial_seed = rng();
      const int wanted =
          std::max<int>(1, std::min<int>(1 + static_cast<int>(rng() % 4), o_.kills - t_.kills));
      ASSERT_NO_FATAL_FAILURE(Trial(trial_seed, wanted));
      if (::testing::Test::HasFailure()) return;
    }
    std::printf(
        "chaos %s: seed %llu: %d kills (%d scheduler, %d attempt) in %d trials, %d rounds (%d "
        "repair/resume), %d kill points missed; every trial converged to the clean run\n",
        c_.name.c_str(), static_cast<unsigned long long>(o_.seed), t_.kills, t_.scheduler_kills,
        t_.attempt_kills, t_.trials, t_.rounds, t_.retried_rounds, t_.missed);
    EXPECT_GE(t_.kills, o_.kills);
    if (o_.kills > 0) {
      EXPECT_GE(t_.attempt_kills, 1)
          << c_.name << ": no attempt process was ever killed (only schedulers): does "
          << "AttemptProcesses (tests/chaos/attempt_processes.h) still find this executor's "
          << "attempts?";
    }
  }

  const Tally& tally() const { return t_; }

 private:
  std::string RunLine(const fs::path& dir) const {
    return testing::Sluice() + " run " + testing::ShellQuote(dir) + " --date " +
           testing::kExampleDay + " --parallelism " + std::to_string(c_.parallelism);
  }

  void KillLeftovers(const fs::path& dir) {
    for (const auto& a : AttemptProcesses(dir)) ::kill(a.pid, SIGKILL);
  }

  void Trial(uint64_t seed, int wanted) {
    ++t_.trials;
    std::mt19937_64 rng(seed);
    const fs::path dir = work_ / ("trial" + std::to_string(t_.trials));
    ASSERT_NO_FATAL_FAILURE(c_.init(dir));
    const fs::path log = dir / "chaos.log";
    std::string events;
    auto note = [&](const std::string& e) { events += "  " + e + "\n"; };
    int kills = 0;
    bool converged = false;
    const int max_rounds = wanted + 8;
    for (int round = 1; round <= max_rounds && !converged; ++round) {
      ++t_.rounds;
      std::vector<std::string> args;
      const nlohmann::json runs = Runs(dir);
      const std::string run_id = runs.empty() ? "" : runs[0]["run_id"].get<std::string>();
      const bool repair = round > 1 && !run_id.empty() && rng() % 2 == 0;
      if (round > 1) ++t_.retried_rounds;
      if (repair) {
        args = {"repair", dir.string(), run_id, "--parallelism", std::to_string(c_.parallelism)};
      } else {
        args = {"run",           dir.string(),
                "--date",        testing::kExampleDay,
                "--parallelism", std::to_string(c_.parallelism)};
        if (round > 1) args.push_back("--resume");
      }
      const std::string what = repair ? "repair" : round > 1 ? "run --resume" : "run";
      { std::ofstream(log, std::ios::app) << "==== round " << round << ": " << what << "\n"; }
      const auto start = Clock::now();
      const pid_t pid = StartSluice(args, log);
      ASSERT_GT(pid, 0);
      auto since = [&] {
        return std::to_string(
                   std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start)
                       .count()) +
               " ms";
      };
      int code = 0;
      bool ended = false, scheduler_killed = false;
      // Attempts seen starting in this round: the kill point is "after the k-th attempt of the
      // round started, plus a jitter", so kills spread over the DAG's phases (sensor, extracts,
      // merges, summary, checks) instead of falling where the run spends its time.
      std::set<pid_t> seen;
      while (kills < wanted && !ended) {
        const size_t k = rng() % (round == 1 ? kFirstRoundAttempts : kLaterRoundAttempts);
        const int64_t jitter = static_cast<int64_t>(rng() % kJitterMs);
        // The experiment's last kill goes to an attempt when none has yet.
        const bool at_attempt =
            rng() % 2 == 0 || (t_.attempt_kills == 0 && t_.kills + kills + 1 >= o_.kills);
        const uint64_t pick = rng();
        while (seen.size() < k && !ended) {
          for (const auto& a : AttemptProcesses(dir)) seen.insert(a.pid);
          if (seen.size() < k) {
            ended = WaitUntil(pid, Clock::now() + std::chrono::milliseconds(4), &code);
          }
        }
        if (ended || WaitUntil(pid, Clock::now() + std::chrono::milliseconds(jitter), &code)) {
          ended = true;
          ++t_.missed;
          note("round " + std::to_string(round) + " (" + what + ") ended before the kill point " +
               "(attempt " + std::to_string(k) + " + " + std::to_string(jitter) + " ms)");
          break;
        }
        if (!at_attempt) {
          ::kill(pid, SIGKILL);
          WaitUntil(pid, Clock::time_point::max(), &code);
          ended = scheduler_killed = true;
          ++kills;
          ++t_.scheduler_kills;
          note("round " + std::to_string(round) + ": SIGKILL the scheduler (" + what + ") at " +
               since());
          break;
        }
        // The attempt alive now, or the next one to start (polled; the round may end first).
        for (;;) {
          const auto alive = AttemptProcesses(dir);
          if (!alive.empty()) {
            const AttemptProcess& a = alive[pick % alive.size()];
            if (::kill(a.pid, SIGKILL) == 0) {
              ++kills;
              ++t_.attempt_kills;
              seen.insert(a.pid);
              note("round " + std::to_string(round) + ": SIGKILL attempt " + a.name + " (pid " +
                   std::to_string(a.pid) + ") at " + since());
            }
            break;
          }
          if (WaitUntil(pid, Clock::now() + std::chrono::milliseconds(3), &code)) {
            ended = true;
            ++t_.missed;
            note("round " + std::to_string(round) + " (" + what +
                 ") ended before an attempt could be killed");
            break;
          }
        }
      }
      if (!ended && !WaitUntil(pid, start + c_.patience, &code)) {
        ::kill(pid, SIGKILL);
        WaitUntil(pid, Clock::time_point::max(), &code);
        KillLeftovers(dir);
        FAIL() << c_.name << " trial " << t_.trials << " (seed " << seed << "): round " << round
               << " (" << what << ") did not end within " << c_.patience.count() << " s\n"
               << events << testing::ReadFile(log);
      }
      if (!scheduler_killed) {
        note("round " + std::to_string(round) + " (" + what + ") ended: exit " +
             std::to_string(code));
      }
      if (!scheduler_killed && code == 0) {
        const nlohmann::json after = Runs(dir);
        converged = after.size() == 1 && after[0]["state"] == "success";
      }
    }
    t_.kills += kills;
    std::printf("chaos %s trial %d seed %llu: %d of %d kill(s)\n%s", c_.name.c_str(), t_.trials,
                static_cast<unsigned long long>(seed), kills, wanted, events.c_str());
    if (!converged) {
      KillLeftovers(dir);
      FAIL() << c_.name << " trial " << t_.trials << " (seed " << seed << ") never converged in "
             << max_rounds << " rounds\n"
             << events << testing::ReadFile(log);
    }
    const std::string ledger = LedgerProblems(dir);
    EXPECT_EQ(ledger, "") << c_.name << " trial " << t_.trials << " (seed " << seed << ")\n"
                          << events << testing::ReadFile(log);
    const RunContents got = ReadContents(c_, dir);
    EXPECT_TRUE(got.tables == clean_.tables)
        << c_.name << " trial " << t_.trials << " (seed " << seed << "): tables differ from a "
        << "clean run's: " << testing::FirstDifference(got.tables, clean_.tables) << "\n"
        << events;
    EXPECT_TRUE(got.store == clean_.store)
        << c_.name << " trial " << t_.trials << " (seed " << seed << "): raw/rejects/manifests "
        << "differ from a clean run's: " << testing::FirstDifference(got.store, clean_.store)
        << "\n"
        << events;
    KillLeftovers(dir);
  }

  Combination c_;
  ChaosOptions o_;
  fs::path work_;
  RunContents clean_;
  Tally t_;
};

}  // namespace sluice::chaos
