// live_display.cpp: see live_display.h.
#include "workflow/live_display.h"

#include <cstdio>

#include "core/logging.h"
#include "core/strings.h"
#include "workflow/attempt_files.h"
#include "workflow/scheduler_internal.h"

namespace sluice::workflow {

bool LiveDisplay::Due(Clock::TimePoint now) const {
  return lines_ == 0 || now - last_draw_ >= std::chrono::milliseconds(250);
}

void LiveDisplay::Draw(Clock::TimePoint now, const std::vector<LiveRow>& rows) {
  Clear();
  last_draw_ = now;
  std::string out;
  for (const LiveRow& row : rows) {
    std::string detail;
    if (auto p = ReadProgress(row.progress)) {
      if (p->bytes_total > 0) {
        detail = FormatBytes(p->bytes_done) + " / " + FormatBytes(p->bytes_total);
      } else if (p->bytes_done > 0) {
        detail = FormatBytes(p->bytes_done);
      }
      if (p->rows_done > 0)
        detail += (detail.empty() ? "" : ", ") + std::to_string(p->rows_done) + " rows";
      if (!p->note.empty()) detail += "  " + p->note;
    }
    out +=
        fmt::format("  {:<32} {:<9} {:>8}  {}\n", row.name, row.stopping ? "stopping" : "running",
                    internal::FormatSeconds(row.elapsed), detail);
  }
  fputs(out.c_str(), stderr);
  lines_ = static_cast<int>(rows.size());
}

void LiveDisplay::Clear() {
  if (lines_ == 0) return;
  std::string out;
  for (int i = 0; i < lines_; ++i) out += "\x1b[1A\x1b[2K";
  fputs(out.c_str(), stderr);
  lines_ = 0;
}

}  // namespace sluice::workflow
