// workflow/testing/fake_executor.h: a scripted Executor for scheduler tests and benches. No
// process is started and nothing sleeps: each attempt's script says how long it takes (on the
// FakeClock) and how it ends; Wait() advances the clock to the next scripted end, so retries
// with backoff, timeouts, cancels and vanished attempts play out instantly and deterministically.
// It follows the attempt protocol: the log is created and the outcome file written when an
// attempt ends (unless the script says it vanished).
//
// Orphans (attempts "launched by another process", as repair finds them) are added with
// AddOrphan() and observed through Probe().
// Thread-safety: one thread, like every executor.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "workflow/executor.h"

namespace sluice::workflow {

// How one scripted attempt behaves.
struct FakeAttempt {
  Clock::Duration duration = std::chrono::seconds(1);
  int exit_code = 0;
  int signal = 0;
  std::string error;  // the outcome's error when it fails ("" -> "exited with code N")
  bool permanent = false;
  std::string result = "{}";
  std::string log;  // appended to the attempt's log
  // Ends without an outcome file, reported as vanished for this reason.
  VanishReason vanish = VanishReason::kNone;
  bool ignores_term = false;  // a graceful Cancel() does nothing; only a forced one ends it
  bool launch_fails = false;  // Launch() itself fails (a missing binary, no fork)
  // Gives its slot back this long after it started (TakeReleased), still running until
  // `duration`; unset: holds it to the end.
  std::optional<Clock::Duration> releases_after;
};

class FakeExecutor final : public Executor {
 public:
  // Decides each launched attempt's behaviour; the default: success after one second.
  using Script = std::function<FakeAttempt(const LaunchSpec&)>;

  explicit FakeExecutor(FakeClock* clock, Script script = {});

  void SetScript(Script script) { script_ = std::move(script); }

  // An attempt started by someone else (a scheduler that died): alive until `ends_at`, then
  // ended as `behaviour` says (its outcome written then), as Probe() reports it.
  void AddOrphan(const std::string& id, const FakeAttempt& behaviour, Clock::TimePoint ends_at,
                 const std::filesystem::path& outcome);

  Result<std::string> Launch(const LaunchSpec& spec) override;
  std::vector<ExitInfo> Wait(Clock::Duration timeout) override;
  void Cancel(const std::string& id, bool force) override;
  ProbeResult Probe(const std::string& id, const std::filesystem::path& lock,
                    const std::filesystem::path& outcome) override;
  std::vector<std::string> TakeReleased() override { return std::exchange(released_, {}); }
  std::string_view Name() const override { return "fake"; }
  bool WaitsInRealTime() const override { return false; }

  // What happened, for assertions.
  const std::vector<LaunchSpec>& launches() const { return launches_; }
  // (id, forced) of every Cancel() that reached a live attempt.
  const std::vector<std::pair<std::string, bool>>& cancels() const { return cancels_; }
  int running() const { return static_cast<int>(running_.size()); }
  int max_running() const { return max_running_; }
  // The most attempts running at once that had not released their slot.
  int max_holding() const { return max_holding_; }
  // The spec an id was launched with (nullptr for unknown ids).
  const LaunchSpec* SpecOf(const std::string& id) const;

 private:
  struct Live {
    LaunchSpec spec;
    FakeAttempt behaviour;
    Clock::TimePoint ends_at;
    bool ended = false;                          // reported by Wait (or resolved for an orphan)
    bool orphan = false;                         // not ours: never reported by Wait
    std::optional<Clock::TimePoint> release_at;  // when it gives its slot back, if it does
    bool released = false;
    int end_signal = 0;  // set by a Cancel
  };
  // Writes the outcome of an attempt that ends now; returns what Wait reports.
  ExitInfo End(const std::string& id, Live& live);

  FakeClock* clock_;
  Script script_;
  std::map<std::string, Live> attempts_;
  std::set<std::string> running_;  // launched here and not ended: what Wait() looks at
  std::vector<LaunchSpec> launches_;
  std::vector<std::pair<std::string, bool>> cancels_;
  int next_id_ = 1;
  int max_running_ = 0;
  int max_holding_ = 0;
  std::vector<std::string> released_;
};

}  // namespace sluice::workflow
