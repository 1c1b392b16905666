// workflow/live_display.h: the live progress lines a run draws on stderr (a terminal only):
// one line per running instance, redrawn in place at most four times a second, cleared before
// any log line is printed. Lines are cut to the terminal's width (a wrapped line would break
// the redraw), show percent and ETA when the task reports a byte total (extract, merge), and
// colour the state unless NO_COLOR is set. Without a terminal, LogNotes() writes a progress
// note as a log line each time it changes (the sensor's "waiting for ..."), so a run under cron
// still says why it waits. Thread-safety: one thread (the scheduler's).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
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
  // Without a terminal: logs each row's progress note when it differs from the last one logged
  // for that row (at most every `Due()` interval).
  void LogNotes(Clock::TimePoint now, const std::vector<LiveRow>& rows);

  // "  12.0 MiB / 48.0 MiB  25%  ETA 0:31" from a progress snapshot; "" when it has nothing.
  static std::string Detail(int64_t bytes_done, int64_t bytes_total, int64_t rows_done,
                            const std::string& note, Clock::Duration elapsed);

 private:
  std::vector<std::pair<std::string, std::string>> logged_notes_;  // row name -> note
  Clock::TimePoint last_draw_{};
  int lines_ = 0;
};

}  // namespace sluice::workflow
