// core/date.h: calendar dates (the run's logical date) and strftime-style formatting.
// Thread-safety: pure functions, except Today(), which briefly switches TZ under a lock.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice {

struct Date {
  int year = 1970;
  int month = 1;
  int day = 1;

  // "YYYY-MM-DD".
  std::string ToString() const;
  // strftime-style: %Y %m %d %y %j %%; anything else is InvalidArgument.
  Result<std::string> Format(std::string_view pattern) const;
  // The day before / after (proleptic Gregorian).
  Date AddDays(int days) const;
  friend bool operator==(const Date&, const Date&) = default;
  friend auto operator<=>(const Date&, const Date&) = default;
};

// Parses "YYYY-MM-DD" (a real calendar date). InvalidArgument otherwise.
Result<Date> ParseDate(std::string_view text);
// Today's date in the IANA time zone `tz` ("Asia/Seoul"; "" or "UTC" for UTC).
// InvalidArgument when the zone is unknown.
Result<Date> Today(const std::string& tz);

// A wall-clock moment as seen in a time zone.
struct LocalTime {
  Date date;
  int minute_of_day = 0;  // 0..1439
};
// `unix_seconds` in the IANA time zone `tz` ("" or "UTC" for UTC). InvalidArgument when the
// zone is unknown.
Result<LocalTime> LocalTimeAt(int64_t unix_seconds, const std::string& tz);
// Parses "HH:MM" (00:00..23:59) into minutes of the day. InvalidArgument otherwise.
Result<int> ParseTimeOfDay(std::string_view text);

}  // namespace sluice
