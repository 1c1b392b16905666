// core/clock.h: injectable time, so backoff and timeout logic is testable without sleeps.
//
// SystemClock reads the steady and system clocks. FakeClock only moves when told to; SleepFor()
// on it advances the time instantly. Thread-safety: both are safe to share between threads.
#pragma once

#include <chrono>
#include <mutex>

namespace sluice {

class Clock {
 public:
  using Duration = std::chrono::nanoseconds;
  using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;
  virtual ~Clock() = default;
  // Monotonic time, for durations and deadlines.
  virtual TimePoint Now() = 0;
  // Wall-clock time, for timestamps that people read.
  virtual std::chrono::system_clock::time_point WallNow() = 0;
  virtual void SleepFor(Duration d) = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint Now() override { return std::chrono::steady_clock::now(); }
  std::chrono::system_clock::time_point WallNow() override {
    return std::chrono::system_clock::now();
  }
  void SleepFor(Duration d) override;
  // The process-wide instance.
  static SystemClock* Default();
};

class FakeClock final : public Clock {
 public:
  TimePoint Now() override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }
  std::chrono::system_clock::time_point WallNow() override {
    std::lock_guard<std::mutex> lock(mu_);
    return wall_origin_ +
           std::chrono::duration_cast<std::chrono::system_clock::duration>(now_.time_since_epoch());
  }
  void SleepFor(Duration d) override { Advance(d); }
  void Advance(Duration d) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += d;
  }

 private:
  std::mutex mu_;
  TimePoint now_{};
  std::chrono::system_clock::time_point wall_origin_ =
      std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
};

}  // namespace sluice
