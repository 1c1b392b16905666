#include "core/date.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <mutex>

namespace sluice {

std::string Date::ToString() const {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", year, month, day);
  return buf;
}

Result<std::string> Date::Format(std::string_view pattern) const {
  std::string out;
  char buf[16];
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '%') {
      out += pattern[i];
      continue;
    }
    if (i + 1 >= pattern.size()) return Status::InvalidArgument("date format ends with %");
    char c = pattern[++i];
    switch (c) {
      case 'Y':
        std::snprintf(buf, sizeof buf, "%04d", year);
        break;
      case 'y':
        std::snprintf(buf, sizeof buf, "%02d", year % 100);
        break;
      case 'm':
        std::snprintf(buf, sizeof buf, "%02d", month);
        break;
      case 'd':
        std::snprintf(buf, sizeof buf, "%02d", day);
        break;
      case 'j': {
        auto ymd = std::chrono::year_month_day(std::chrono::year(year),
                                               std::chrono::month(static_cast<unsigned>(month)),
                                               std::chrono::day(static_cast<unsigned>(day)));
        auto jan1 = std::chrono::year_month_day(std::chrono::year(year), std::chrono::January,
                                                std::chrono::day(1));
        int doy = (std::chrono::sys_days(ymd) - std::chrono::sys_days(jan1)).count() + 1;
        std::snprintf(buf, sizeof buf, "%03d", doy);
        break;
      }
      case '%':
        std::snprintf(buf, sizeof buf, "%%");
        break;
      default:
        return Status::InvalidArgument(std::string("unsupported date placeholder %") + c +
                                       " (use %Y, %y, %m, %d, %j)");
    }
    out += buf;
  }
  return out;
}

Date Date::AddDays(int days) const {
  auto ymd = std::chrono::year_month_day(std::chrono::year(year),
                                         std::chrono::month(static_cast<unsigned>(month)),
                                         std::chrono::day(static_cast<unsigned>(day)));
  auto shifted = std::chrono::year_month_day(std::chrono::sys_days(ymd) + std::chrono::days(days));
  return Date{static_cast<int>(shifted.year()), static_cast<int>(unsigned(shifted.month())),
              static_cast<int>(unsigned(shifted.day()))};
}

Result<Date> ParseDate(std::string_view text) {
  auto bad = [&] {
    return Status::InvalidArgument("\"" + std::string(text) +
                                   "\" is not a date; use YYYY-MM-DD, e.g. 2026-11-24");
  };
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return bad();
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (text[i] < '0' || text[i] > '9') return bad();
  }
  Date d;
  d.year = std::atoi(std::string(text.substr(0, 4)).c_str());
  d.month = std::atoi(std::string(text.substr(5, 2)).c_str());
  d.day = std::atoi(std::string(text.substr(8, 2)).c_str());
  auto ymd = std::chrono::year_month_day(std::chrono::year(d.year),
                                         std::chrono::month(static_cast<unsigned>(d.month)),
                                         std::chrono::day(static_cast<unsigned>(d.day)));
  if (!ymd.ok()) return bad();
  return d;
}

Result<LocalTime> LocalTimeAt(int64_t unix_seconds, const std::string& tz) {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  std::time_t now = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  if (tz.empty() || tz == "UTC" || tz == "Etc/UTC") {
    gmtime_r(&now, &tm);
  } else {
    if (tz.find("..") != std::string::npos ||
        !std::filesystem::exists("/usr/share/zoneinfo/" + tz)) {
      return Status::InvalidArgument("unknown time zone \"" + tz +
                                     "\" (use an IANA name such as Asia/Seoul)");
    }
    const char* old = std::getenv("TZ");
    std::string saved = old ? old : "";
    setenv("TZ", tz.c_str(), 1);
    tzset();
    localtime_r(&now, &tm);
    if (old)
      setenv("TZ", saved.c_str(), 1);
    else
      unsetenv("TZ");
    tzset();
  }
  return LocalTime{Date{tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday}, tm.tm_hour * 60 + tm.tm_min};
}

Result<Date> Today(const std::string& tz) {
  SLUICE_ASSIGN_OR_RETURN(LocalTime now, LocalTimeAt(std::time(nullptr), tz));
  return now.date;
}

Result<int> ParseTimeOfDay(std::string_view text) {
  auto digit = [&](size_t i) { return text[i] >= '0' && text[i] <= '9'; };
  if (text.size() != 5 || text[2] != ':' || !digit(0) || !digit(1) || !digit(3) || !digit(4)) {
    return Status::InvalidArgument("\"" + std::string(text) +
                                   "\" is not a time of day; write HH:MM, as in \"09:00\"");
  }
  const int h = (text[0] - '0') * 10 + (text[1] - '0');
  const int m = (text[3] - '0') * 10 + (text[4] - '0');
  if (h > 23 || m > 59) {
    return Status::InvalidArgument("\"" + std::string(text) +
                                   "\" is not a time of day (00:00 to 23:59)");
  }
  return h * 60 + m;
}

}  // namespace sluice
