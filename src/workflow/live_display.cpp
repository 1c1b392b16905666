// live_display.cpp: see live_display.h.
#include "workflow/live_display.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/logging.h"
#include "core/strings.h"
#include "workflow/attempt_files.h"
#include "workflow/scheduler_internal.h"

namespace sluice::workflow {

namespace {

// The terminal's width in columns (stderr's window, else $COLUMNS, else 80).
int TerminalWidth() {
  winsize ws{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  if (const char* c = std::getenv("COLUMNS"); c != nullptr && std::atoi(c) > 0) {
    return std::atoi(c);
  }
  return 80;
}

// NO_COLOR (https://no-color.org) set to anything non-empty turns colour off.
bool ColorWanted() {
  const char* no_color = std::getenv("NO_COLOR");
  return no_color == nullptr || *no_color == '\0';
}

// `text` cut to `width` display columns (UTF-8 continuation bytes take no column).
std::string FitWidth(const std::string& text, int width) {
  int columns = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
    if (++columns > width) return text.substr(0, i);
  }
  return text;
}

}  // namespace

std::string LiveDisplay::Detail(int64_t bytes_done, int64_t bytes_total, int64_t rows_done,
                                const std::string& note, Clock::Duration elapsed) {
  std::string detail;
  if (bytes_total > 0) {
    detail = FormatBytes(bytes_done) + " / " + FormatBytes(bytes_total);
    const int64_t done = std::clamp<int64_t>(bytes_done, 0, bytes_total);
    detail += fmt::format("  {:3d}%", static_cast<int>(done * 100 / bytes_total));
    const double seconds = std::chrono::duration<double>(elapsed).count();
    if (done > 0 && done < bytes_total && seconds >= 1) {
      const auto left = static_cast<int64_t>(seconds * static_cast<double>(bytes_total - done) /
                                             static_cast<double>(done));
      detail += fmt::format("  ETA {}:{:02d}", left / 60, left % 60);
    }
  } else if (bytes_done > 0) {
    detail = FormatBytes(bytes_done);
  }
  if (rows_done > 0) detail += (detail.empty() ? "" : ", ") + std::to_string(rows_done) + " rows";
  if (!note.empty()) detail += (detail.empty() ? "" : "  ") + note;
  return detail;
}

bool LiveDisplay::Due(Clock::TimePoint now) const {
  return lines_ == 0 || now - last_draw_ >= std::chrono::milliseconds(250);
}

void LiveDisplay::Draw(Clock::TimePoint now, const std::vector<LiveRow>& rows) {
  Clear();
  last_draw_ = now;
  const int width = std::max(20, TerminalWidth() - 1);
  const bool color = ColorWanted();
  std::string out;
  for (const LiveRow& row : rows) {
    std::string detail;
    if (auto p = ReadProgress(row.progress)) {
      detail = Detail(p->bytes_done, p->bytes_total, p->rows_done, p->note, row.elapsed);
    }
    const char* state = row.stopping ? "stopping" : "running";
    std::string line = fmt::format("  {:<32} {:<9} {:>8}  {}", row.name, state,
                                   internal::FormatSeconds(row.elapsed), detail);
    line = FitWidth(line, width);
    if (color) {
      // Colour only the state word, after the cut, so the width stays what it was measured.
      const size_t at = line.find(state, std::min(line.size(), row.name.size() + 2));
      if (at != std::string::npos) {
        line.replace(at, std::strlen(state),
                     std::string(row.stopping ? "\x1b[31m" : "\x1b[33m") + state + "\x1b[0m");
      }
    }
    out += line + "\n";
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

void LiveDisplay::LogNotes(Clock::TimePoint now, const std::vector<LiveRow>& rows) {
  if (now - last_draw_ < std::chrono::milliseconds(250)) return;
  last_draw_ = now;
  for (const LiveRow& row : rows) {
    auto p = ReadProgress(row.progress);
    if (!p || p->note.empty()) continue;
    auto it = std::find_if(logged_notes_.begin(), logged_notes_.end(),
                           [&](const auto& e) { return e.first == row.name; });
    if (it != logged_notes_.end() && it->second == p->note) continue;
    if (it == logged_notes_.end()) {
      logged_notes_.emplace_back(row.name, p->note);
    } else {
      it->second = p->note;
    }
    log::Info("{}: {}", row.name, p->note);
  }
}

}  // namespace sluice::workflow
