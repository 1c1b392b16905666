// Dates and timestamps of csv/conform.h: ISO 8601 and the strptime-style formats of a column.
#include <cctype>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "csv/conform.h"
#include "csv/conform_internal.h"

namespace sluice::csv {

using internal::IsDigit;
using internal::TrimSpaces;

namespace {

int DaysInMonth(int y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
  return kDays[m - 1];
}

// Days since 1970-01-01 (Howard Hinnant's algorithm), and back.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}
void CivilFromDays(int64_t z, int* y, int* m, int* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t yy = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = static_cast<int>(yy + (*m <= 2));
}

struct DateTime {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  std::string_view fraction;  // digits only
  bool has_offset = false;
  int offset_minutes = 0;
};

// Reads exactly `n` digits (or 1..n when `at_most`).
bool Digits(std::string_view s, size_t* pos, int n, int* out, bool at_most = false) {
  int v = 0, k = 0;
  while (k < n && *pos < s.size() && IsDigit(s[*pos])) {
    v = v * 10 + (s[*pos] - '0');
    ++*pos;
    ++k;
  }
  if (k == 0 || (!at_most && k != n)) return false;
  *out = v;
  return true;
}

bool ParseOffset(std::string_view s, size_t* pos, DateTime* dt) {
  if (*pos < s.size() && (s[*pos] == 'Z' || s[*pos] == 'z')) {
    ++*pos;
    dt->has_offset = true;
    return true;
  }
  if (*pos >= s.size() || (s[*pos] != '+' && s[*pos] != '-')) return false;
  int sign = s[*pos] == '-' ? -1 : 1;
  ++*pos;
  int hh = 0, mm = 0;
  if (!Digits(s, pos, 2, &hh)) return false;
  if (*pos < s.size() && s[*pos] == ':') ++*pos;
  if (*pos < s.size() && IsDigit(s[*pos]) && !Digits(s, pos, 2, &mm)) return false;
  if (hh > 23 || mm > 59) return false;
  dt->has_offset = true;
  dt->offset_minutes = sign * (hh * 60 + mm);
  return true;
}

bool ValidDateTime(const DateTime& dt) {
  return dt.year >= 1 && dt.year <= 9999 && dt.month >= 1 && dt.month <= 12 && dt.day >= 1 &&
         dt.day <= DaysInMonth(dt.year, dt.month) && dt.hour <= 23 && dt.minute <= 59 &&
         dt.second <= 59;  // no leap second: SQLite's date functions reject :60 too
}

bool ParseFraction(std::string_view s, size_t* pos, DateTime* dt) {
  size_t start = *pos;
  while (*pos < s.size() && IsDigit(s[*pos])) ++*pos;
  size_t n = *pos - start;
  if (n == 0 || n > 9) return false;
  dt->fraction = s.substr(start, n);
  return true;
}

// ISO: YYYY-MM-DD[(T| )HH:MM[:SS[.f]][Z|+hh[:mm]]]
bool ParseIso(std::string_view s, bool want_time, DateTime* dt) {
  size_t p = 0;
  if (!Digits(s, &p, 4, &dt->year) || p >= s.size() || s[p++] != '-' ||
      !Digits(s, &p, 2, &dt->month) || p >= s.size() || s[p++] != '-' ||
      !Digits(s, &p, 2, &dt->day)) {
    return false;
  }
  if (p == s.size()) return ValidDateTime(*dt);
  if (!want_time) return false;
  if (s[p] != 'T' && s[p] != ' ' && s[p] != 't') return false;
  ++p;
  if (!Digits(s, &p, 2, &dt->hour) || p >= s.size() || s[p++] != ':' ||
      !Digits(s, &p, 2, &dt->minute)) {
    return false;
  }
  if (p < s.size() && s[p] == ':') {
    ++p;
    if (!Digits(s, &p, 2, &dt->second)) return false;
    if (p < s.size() && (s[p] == '.' || s[p] == ',')) {
      ++p;
      if (!ParseFraction(s, &p, dt)) return false;
    }
  }
  if (p < s.size() && !ParseOffset(s, &p, dt)) return false;
  return p == s.size() && ValidDateTime(*dt);
}

// An English month name or its three-letter abbreviation (any case) at *pos, as 1..12.
bool MonthName(std::string_view s, size_t* pos, int* month) {
  static const char* const kNames[] = {"january",   "february", "march",    "april",
                                       "may",       "june",     "july",     "august",
                                       "september", "october",  "november", "december"};
  auto matches = [&](std::string_view name) {
    if (s.size() - *pos < name.size()) return false;
    for (size_t k = 0; k < name.size(); ++k) {
      if (std::tolower(static_cast<unsigned char>(s[*pos + k])) != name[k]) return false;
    }
    return true;
  };
  for (int m = 0; m < 12; ++m) {
    const std::string_view full = kNames[m];
    for (std::string_view name :
         {full, std::string_view(m == 8 ? "sept" : ""), full.substr(0, 3)}) {
      if (!name.empty() && matches(name)) {
        *pos += name.size();
        *month = m + 1;
        return true;
      }
    }
  }
  return false;
}

// strptime-style subset: %Y %m %d %H %M %S %y %f %z, %I with %p, %b/%B, %% and literal
// characters. sluice validate accepts exactly config::kTimeFormatDirectives; keep the two in
// step (a test checks).
bool ParseWithFormat(std::string_view s, std::string_view f, DateTime* dt) {
  size_t p = 0;
  dt->year = 1970;
  dt->month = 1;
  dt->day = 1;
  int hour12 = -1;  // %I, made 0..23 by %p
  int pm = -1;      // %p: 0 AM, 1 PM
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%' || i + 1 == f.size()) {
      if (p >= s.size() || s[p] != f[i]) return false;
      ++p;
      continue;
    }
    char c = f[++i];
    bool ok = true;
    switch (c) {
      case 'Y':
        ok = Digits(s, &p, 4, &dt->year);
        break;
      case 'y': {
        int y = 0;
        ok = Digits(s, &p, 2, &y);
        dt->year = y < 69 ? 2000 + y : 1900 + y;
        break;
      }
      case 'm':
        ok = Digits(s, &p, 2, &dt->month, true);
        break;
      case 'd':
        ok = Digits(s, &p, 2, &dt->day, true);
        break;
      case 'H':
        ok = Digits(s, &p, 2, &dt->hour, true);
        break;
      case 'I':
        ok = Digits(s, &p, 2, &hour12, true) && hour12 >= 1 && hour12 <= 12;
        break;
      case 'p': {
        // AM/PM, any case, also written a.m./p.m.
        auto at = [&](size_t k) {
          return p + k < s.size()
                     ? static_cast<char>(std::tolower(static_cast<unsigned char>(s[p + k])))
                     : '\0';
        };
        if ((at(0) == 'a' || at(0) == 'p') && at(1) == 'm') {
          pm = at(0) == 'p';
          p += 2;
        } else if ((at(0) == 'a' || at(0) == 'p') && at(1) == '.' && at(2) == 'm' && at(3) == '.') {
          pm = at(0) == 'p';
          p += 4;
        } else {
          ok = false;
        }
        break;
      }
      case 'b':
      case 'B':
        ok = MonthName(s, &p, &dt->month);
        break;
      case 's': {
        // Seconds since 1970-01-01 UTC (Unix time), optionally negative: the date and time,
        // in UTC (a %f after a '.' may add the fraction).
        bool negative = p < s.size() && s[p] == '-';
        if (negative) ++p;
        const size_t start = p;
        int64_t secs = 0;
        while (p < s.size() && IsDigit(s[p]) && p - start < 12) secs = secs * 10 + (s[p++] - '0');
        ok = p > start && (p == s.size() || !IsDigit(s[p]));
        if (ok) {
          if (negative) secs = -secs;
          int64_t days = secs / 86400, rest = secs % 86400;
          if (rest < 0) {
            rest += 86400;
            --days;
          }
          CivilFromDays(days, &dt->year, &dt->month, &dt->day);
          dt->hour = static_cast<int>(rest / 3600);
          dt->minute = static_cast<int>(rest / 60 % 60);
          dt->second = static_cast<int>(rest % 60);
          dt->has_offset = true;  // UTC
        }
        break;
      }
      case 'M':
        ok = Digits(s, &p, 2, &dt->minute, true);
        break;
      case 'S':
        ok = Digits(s, &p, 2, &dt->second, true);
        break;
      case 'f':
        ok = ParseFraction(s, &p, dt);
        break;
      case 'z':
        ok = ParseOffset(s, &p, dt);
        break;
      case '%':
        ok = p < s.size() && s[p++] == '%';
        break;
      default:
        return false;
    }
    if (!ok) return false;
  }
  if (hour12 >= 0) {
    if (pm < 0) return false;  // validation makes %I come with %p
    dt->hour = hour12 % 12 + (pm == 1 ? 12 : 0);
  }
  return p == s.size() && ValidDateTime(*dt);
}

char* Put2(int v, char* o) {
  o[0] = static_cast<char>('0' + v / 10);
  o[1] = static_cast<char>('0' + v % 10);
  return o + 2;
}
char* PutDate(int y, int m, int d, char* o) {
  o = Put2(y / 100, o);
  o = Put2(y % 100, o);
  *o++ = '-';
  o = Put2(m, o);
  *o++ = '-';
  return Put2(d, o);
}

}  // namespace

bool ParseDateValue(std::string_view text, const std::string& format, std::string* out) {
  text = TrimSpaces(text);
  DateTime dt;
  bool ok = format.empty() ? ParseIso(text, false, &dt) : ParseWithFormat(text, format, &dt);
  if (!ok) return false;
  char buf[16];
  char* e = PutDate(dt.year, dt.month, dt.day, buf);
  out->assign(buf, static_cast<size_t>(e - buf));
  return true;
}

bool ParseTimeValue(std::string_view text, const config::ColumnSchema& column, std::string* out) {
  static const std::string kIso;
  const bool date = column.type == config::ColumnType::kDate;
  if (column.formats.empty()) {
    return date ? ParseDateValue(text, kIso, out) : ParseTimestampValue(text, kIso, out);
  }
  for (const std::string& format : column.formats) {
    if (date ? ParseDateValue(text, format, out) : ParseTimestampValue(text, format, out)) {
      return true;
    }
  }
  return false;
}

bool ParseTimestampValue(std::string_view text, const std::string& format, std::string* out) {
  text = TrimSpaces(text);
  DateTime dt;
  bool ok = format.empty() ? ParseIso(text, true, &dt) : ParseWithFormat(text, format, &dt);
  if (!ok) return false;
  if (dt.has_offset && dt.offset_minutes != 0) {
    int64_t minutes =
        DaysFromCivil(dt.year, static_cast<unsigned>(dt.month), static_cast<unsigned>(dt.day)) *
            1440 +
        dt.hour * 60 + dt.minute - dt.offset_minutes;
    int64_t days = minutes >= 0 ? minutes / 1440 : (minutes - 1439) / 1440;
    int64_t rem = minutes - days * 1440;
    CivilFromDays(days, &dt.year, &dt.month, &dt.day);
    dt.hour = static_cast<int>(rem / 60);
    dt.minute = static_cast<int>(rem % 60);
    if (dt.year < 1 || dt.year > 9999) return false;
  }
  char buf[40];
  char* e = PutDate(dt.year, dt.month, dt.day, buf);
  *e++ = ' ';
  e = Put2(dt.hour, e);
  *e++ = ':';
  e = Put2(dt.minute, e);
  *e++ = ':';
  e = Put2(dt.second, e);
  // The stored text is an upsert key, so one instant must have one spelling: trailing zeros of
  // the fraction are dropped, and the '.' with them when nothing remains (.500 -> .5, .0 -> "").
  while (!dt.fraction.empty() && dt.fraction.back() == '0') dt.fraction.remove_suffix(1);
  if (!dt.fraction.empty()) {  // at most 9 digits
    *e++ = '.';
    std::memcpy(e, dt.fraction.data(), dt.fraction.size());
    e += dt.fraction.size();
  }
  out->assign(buf, static_cast<size_t>(e - buf));
  return true;
}

}  // namespace sluice::csv
