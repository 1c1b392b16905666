// workflow/live_display.h: the live progress lines a run draws on stderr (a terminal only):
// one line per running instance, redrawn in place at most four times a second, cleared before
// any log line is printed. Thread-safety: one thread (the scheduler's).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/clock.h"

namespace sluice::workflow {

// One running attempt, as the display shows it.
struct LiveRow {
  std::string name;  // "merge[acme]"
  bool stopping = false;
  Clock::Duration elapsed{};
  std::filesystem::path progress;  // the attempt's progress file (attempt_files.h)
};

class LiveDisplay {
 public:
  // Whether a redraw is due at `now` (the last one was long enough ago, or nothing is drawn).
  bool Due(Clock::TimePoint now) const;
  // Clears what was drawn and draws `rows`; `now` is remembered for Due().
  void Draw(Clock::TimePoint now, const std::vector<LiveRow>& rows);
  // Removes the drawn lines (before a log line, and at the end of the run).
  void Clear();

 private:
  Clock::TimePoint last_draw_{};
  int lines_ = 0;
};

}  // namespace sluice::workflow
