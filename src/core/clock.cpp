#include "core/clock.h"

#include <thread>

namespace sluice {

void SystemClock::SleepFor(Duration d) { std::this_thread::sleep_for(d); }

SystemClock* SystemClock::Default() {
  static SystemClock* clock = new SystemClock();
  return clock;
}

}  // namespace sluice
