// fake_executor.cpp: see fake_executor.h.
#include "workflow/testing/fake_executor.h"

#include <signal.h>

#include <algorithm>
#include <fstream>

#include "workflow/attempt_files.h"

namespace sluice::workflow {

FakeExecutor::FakeExecutor(FakeClock* clock, Script script)
    : clock_(clock), script_(std::move(script)) {}

void FakeExecutor::AddOrphan(const std::string& id, const FakeAttempt& behaviour,
                             Clock::TimePoint ends_at, const std::filesystem::path& outcome) {
  Live live;
  live.spec.outcome = outcome;
  live.behaviour = behaviour;
  live.ends_at = ends_at;
  live.orphan = true;
  attempts_[id] = std::move(live);
}

Result<std::string> FakeExecutor::Launch(const LaunchSpec& spec) {
  FakeAttempt behaviour = script_ ? script_(spec) : FakeAttempt{};
  if (behaviour.launch_fails) {
    return Status::IoError("cannot start " + (spec.argv.empty() ? std::string("?") : spec.argv[0]) +
                           " (scripted launch failure)");
  }
  launches_.push_back(spec);
  std::string id = "fake-" + std::to_string(next_id_++);
  if (!spec.log.empty()) std::ofstream(spec.log, std::ios::app) << behaviour.log;
  Live live;
  live.spec = spec;
  live.behaviour = std::move(behaviour);
  live.ends_at = clock_->Now() + live.behaviour.duration;
  if (live.behaviour.releases_after && *live.behaviour.releases_after < live.behaviour.duration) {
    live.release_at = clock_->Now() + *live.behaviour.releases_after;
  }
  attempts_[id] = std::move(live);
  running_.insert(id);
  max_running_ = std::max(max_running_, running());
  int holding = 0;
  for (const std::string& r : running_) holding += !attempts_[r].released;
  max_holding_ = std::max(max_holding_, holding);
  return id;
}

const LaunchSpec* FakeExecutor::SpecOf(const std::string& id) const {
  auto it = attempts_.find(id);
  return it == attempts_.end() ? nullptr : &it->second.spec;
}

ExitInfo FakeExecutor::End(const std::string& id, Live& live) {
  live.ended = true;
  running_.erase(id);
  const FakeAttempt& b = live.behaviour;
  ExitInfo info;
  info.id = id;
  if (live.end_signal == SIGKILL) {
    // The whole attempt died with its leader: nothing recorded an outcome.
    info.signal = SIGKILL;
    return info;
  }
  if (live.end_signal == 0 && b.vanish != VanishReason::kNone) {
    info.vanished = b.vanish;
    info.detail = "scripted: " + std::string(VanishReasonName(b.vanish));
    return info;
  }
  Outcome o;
  if (live.end_signal != 0) {
    // Like the shim: the command died of the signal, the leader records it and exits 128+N.
    o.signal = live.end_signal;
    o.error = "command killed by signal " + std::to_string(o.signal);
    o.exit_code = -1;
    info.exit_code = 128 + o.signal;
  } else {
    o.exit_code = b.exit_code;
    o.signal = b.signal;
    o.error = b.error;
    if (o.error.empty() && (b.exit_code != 0 || b.signal != 0)) {
      o.error = "exited with code " + std::to_string(b.exit_code);
    }
    o.permanent = b.permanent;
    o.result = b.result;
    info.exit_code = b.signal != 0 ? -1 : b.exit_code;
    info.signal = b.signal;
  }
  if (!live.spec.outcome.empty()) (void)WriteOutcome(live.spec.outcome, o);
  return info;
}

std::vector<ExitInfo> FakeExecutor::Wait(Clock::Duration timeout) {
  auto collect = [&] {
    std::vector<std::pair<Clock::TimePoint, std::string>> due;
    for (const std::string& id : running_) {
      const Live& live = attempts_[id];
      if (live.ends_at <= clock_->Now()) due.emplace_back(live.ends_at, id);
    }
    std::sort(due.begin(), due.end());
    std::vector<ExitInfo> out;
    for (const auto& [at, id] : due) out.push_back(End(id, attempts_[id]));
    return out;
  };
  // Releases that are due; whether there were any.
  auto release = [&] {
    bool any = false;
    for (const std::string& id : running_) {
      Live& live = attempts_[id];
      if (live.release_at && !live.released && *live.release_at <= clock_->Now()) {
        live.released = true;
        released_.push_back(id);
        any = true;
      }
    }
    return any;
  };
  std::vector<ExitInfo> out = collect();
  if (release() || !out.empty()) return out;
  std::optional<Clock::TimePoint> next;
  for (const std::string& id : running_) {
    const Live& live = attempts_[id];
    if (!next || live.ends_at < *next) next = live.ends_at;
    if (live.release_at && !live.released && *live.release_at < *next) next = live.release_at;
  }
  const Clock::TimePoint now = clock_->Now();
  if (next && *next - now <= timeout) {
    clock_->Advance(*next - now);
  } else if (timeout > Clock::Duration(0)) {
    clock_->Advance(timeout);
  }
  out = collect();
  release();
  return out;
}

void FakeExecutor::Cancel(const std::string& id, bool force) {
  auto it = attempts_.find(id);
  if (it == attempts_.end() || it->second.ended) return;
  Live& live = it->second;
  if (live.orphan && live.ends_at <= clock_->Now()) return;  // already over
  cancels_.emplace_back(id, force);
  if (!force && live.behaviour.ignores_term) return;
  live.end_signal = force ? SIGKILL : SIGTERM;
  live.ends_at = clock_->Now();
  if (live.orphan) End(id, live);
}

ProbeResult FakeExecutor::Probe(const std::string& id, const std::filesystem::path& /*lock*/,
                                const std::filesystem::path& outcome) {
  ProbeResult r;
  auto it = attempts_.find(id);
  if (it != attempts_.end()) {
    Live& live = it->second;
    if (!live.ended && live.ends_at > clock_->Now()) {
      r.state = ProbeResult::State::kAlive;
      return r;
    }
    if (!live.ended) {
      ExitInfo info = End(id, live);
      if (info.vanished != VanishReason::kNone) {
        r.state = ProbeResult::State::kVanished;
        r.reason = info.vanished;
        r.detail = info.detail;
        return r;
      }
    }
  }
  if (ReadOutcome(outcome)) {
    r.state = ProbeResult::State::kEnded;
    return r;
  }
  r.state = ProbeResult::State::kVanished;
  r.reason = it != attempts_.end() ? it->second.behaviour.vanish : VanishReason::kUnknown;
  if (r.reason == VanishReason::kNone) r.reason = VanishReason::kUnknown;
  r.detail = "no attempt " + id + " and no outcome";
  return r;
}

}  // namespace sluice::workflow
