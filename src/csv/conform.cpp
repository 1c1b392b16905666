#include "csv/conform.h"

#include <fast_float/fast_float.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <map>
#include <unordered_set>

#include "core/strings.h"
#include "csv/encoding.h"

namespace sluice::csv {

namespace {

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

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

// True when `header` (trimmed) maps to a column of `schema` by any rule of the header mapping:
// its name or an alias, exactly or case- and space-insensitively.
bool MatchesAnyColumn(const config::TableSchema& schema, std::string_view header) {
  std::string folded = FoldHeader(header);
  for (const config::ColumnSchema& col : schema.columns) {
    if (folded == FoldHeader(col.name)) return true;
    for (const std::string& a : col.aliases) {
      if (folded == FoldHeader(a)) return true;
    }
  }
  return false;
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

bool ParseInt64(std::string_view text, int64_t* out) {
  text = TrimSpaces(text);
  if (text.empty()) return false;
  size_t p = 0;
  bool neg = false;
  if (text[0] == '+' || text[0] == '-') {
    neg = text[0] == '-';
    p = 1;
  }
  if (p == text.size()) return false;
  uint64_t v = 0;
  for (; p < text.size(); ++p) {
    char c = text[p];
    if (!IsDigit(c)) return false;
    if (v > (UINT64_MAX - 9) / 10) return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (neg) {
    if (v > uint64_t{1} << 63) return false;
    *out = static_cast<int64_t>(0 - v);
  } else {
    if (v > static_cast<uint64_t>(INT64_MAX)) return false;
    *out = static_cast<int64_t>(v);
  }
  return true;
}

bool PlainNumber(std::string_view text, const config::ColumnSchema& column, std::string* out,
                 std::string* error) {
  text = TrimSpaces(text);
  out->clear();
  const std::string& sep = column.thousands_separator;
  const char mark = column.decimal_separator;
  size_t p = 0;
  if (p < text.size() && (text[p] == '+' || text[p] == '-')) out->push_back(text[p++]);
  auto bad_groups = [&] {
    *error = "digits must be grouped by \"" + sep + "\" in threes (1 to 3 digits, then 3 each)";
    return false;
  };
  size_t group = 0;  // digits since the last separator
  bool grouped = false;
  while (p < text.size()) {
    if (IsDigit(text[p])) {
      out->push_back(text[p++]);
      ++group;
      continue;
    }
    size_t len = 0;
    if (!sep.empty() && text.substr(p, sep.size()) == sep) {
      len = sep.size();
    } else if (sep == " " && text.substr(p, 2) == "\xC2\xA0") {  // no-break space
      len = 2;
    } else if (sep == " " && text.substr(p, 3) == "\xE2\x80\xAF") {  // narrow no-break space
      len = 3;
    }
    if (len == 0) break;
    if (group == 0 || (grouped ? group != 3 : group > 3)) return bad_groups();
    grouped = true;
    group = 0;
    p += len;
  }
  if (grouped && group != 3) return bad_groups();
  if (p < text.size() && text[p] == mark) {
    out->push_back('.');
    ++p;
  }
  for (; p < text.size(); ++p) {
    if (text[p] == '.' && mark != '.') {
      *error = "\".\" is not the decimal mark here (\"decimal_separator\" is \"" +
               std::string(1, mark) + "\")";
      return false;
    }
    out->push_back(text[p]);  // the fraction and exponent; the parser judges them
  }
  return true;
}

bool ParseFloat64(std::string_view text, double* out) {
  text = TrimSpaces(text);
  if (!text.empty() && text[0] == '+') text.remove_prefix(1);
  if (text.empty()) return false;
  auto r = fast_float::from_chars(text.data(), text.data() + text.size(), *out);
  return r.ec == std::errc() && r.ptr == text.data() + text.size() && std::isfinite(*out);
}

bool CanonicalDecimal(std::string_view text, int precision, int scale, std::string* out,
                      std::string* error) {
  text = TrimSpaces(text);
  size_t p = 0;
  bool neg = false;
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
    neg = text[0] == '-';
    p = 1;
  }
  size_t int_start = p;
  while (p < text.size() && IsDigit(text[p])) ++p;
  std::string_view int_part = text.substr(int_start, p - int_start);
  std::string_view frac_part;
  if (p < text.size() && text[p] == '.') {
    size_t fs = ++p;
    while (p < text.size() && IsDigit(text[p])) ++p;
    frac_part = text.substr(fs, p - fs);
  }
  if (p != text.size() || (int_part.empty() && frac_part.empty())) {
    *error = "not a decimal number";
    return false;
  }
  while (int_part.size() > 1 && int_part[0] == '0') int_part.remove_prefix(1);
  if (int_part == "0") int_part = {};
  while (frac_part.size() > static_cast<size_t>(scale) && frac_part.back() == '0') {
    frac_part.remove_suffix(1);
  }
  if (frac_part.size() > static_cast<size_t>(scale)) {
    *error = "has more than " + std::to_string(scale) + " decimal places";
    return false;
  }
  if (int_part.size() > static_cast<size_t>(precision - scale)) {
    *error = "has more than " + std::to_string(precision - scale) + " integer digits";
    return false;
  }
  bool zero = int_part.empty() && frac_part.find_first_not_of('0') == std::string_view::npos;
  out->clear();
  if (neg && !zero) out->push_back('-');
  if (int_part.empty()) {
    out->push_back('0');
  } else {
    out->append(int_part);
  }
  if (scale > 0) {
    out->push_back('.');
    out->append(frac_part);
    out->append(static_cast<size_t>(scale) - frac_part.size(), '0');
  }
  return true;
}

int ParseBool(std::string_view text, const config::ColumnSchema& column) {
  text = TrimSpaces(text);
  auto ieq = [](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      // ASCII case folding, inline: std::tolower goes through the locale on every call.
      auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
      if (lower(a[i]) != lower(b[i])) {
        return false;
      }
    }
    return true;
  };
  for (std::string_view v : config::kBuiltinTrue) {
    if (ieq(text, v)) return 1;
  }
  for (std::string_view v : config::kBuiltinFalse) {
    if (ieq(text, v)) return 0;
  }
  for (const std::string& v : column.true_values) {
    if (ieq(text, v)) return 1;
  }
  for (const std::string& v : column.false_values) {
    if (ieq(text, v)) return 0;
  }
  return -1;
}

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

std::string FoldHeader(std::string_view header) { return FoldName(header); }

std::string LooseHeader(std::string_view header) { return LooseName(header); }

void AppendJsonString(std::string_view s, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(ch);
    } else if (c < 0x20) {
      out->append("\\u00");
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    } else {
      out->push_back(ch);
    }
  }
  out->push_back('"');
}

void AppendCsvField(std::string_view s, std::string* out) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) {
    out->append(s);
    return;
  }
  out->push_back('"');
  for (char c : s) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

RowConverter::RowConverter(const config::TableSchema& schema, const config::CsvDialect& dialect)
    : schema_(schema), dialect_(dialect) {
  for (const std::string& v : dialect_.null_values) {
    if (v.empty()) {
      empty_is_null_ = true;
    } else {
      null_values_.push_back(v);
    }
  }
}

Result<std::unique_ptr<RowConverter>> RowConverter::Create(
    const config::TableSchema& schema, const config::CsvDialect& dialect,
    const std::vector<std::string_view>* header) {
  std::unique_ptr<RowConverter> rc(new RowConverter(schema, dialect));
  const size_t ncols = schema.columns.size();
  rc->source_of_.assign(ncols, -1);
  rc->cells_.resize(ncols);
  rc->text_.resize(ncols);
  rc->rescue_ = schema.on_extra_columns == config::ExtraColumnsPolicy::kRescue;
  if (header == nullptr) {
    for (size_t i = 0; i < ncols; ++i) rc->source_of_[i] = static_cast<int>(i);
    for (const auto& c : schema.columns) rc->field_names_.push_back(c.name);
    rc->expected_fields_ = ncols;
    return rc;
  }
  rc->expected_fields_ = header->size();
  // Exact names first, then loose, then aliases; a field is claimed once.
  std::vector<int> column_of(header->size(), -1);
  std::map<std::string, size_t> seen_exact;
  for (size_t f = 0; f < header->size(); ++f) {
    std::string h(TrimSpaces((*header)[f]));
    if (!IsValidUtf8(h)) {
      return Status::InvalidArgument("header field " + std::to_string(f + 1) +
                                     " is not valid text in encoding " + dialect.encoding + ": \"" +
                                     (CanonicalEncoding(dialect.encoding).value_or("") == "utf-8"
                                          ? Printable(h)
                                          : ShowUndecodable(h)) +
                                     "\"; check the partner's csv.encoding");
    }
    if (h.empty()) continue;  // unnamed (a trailing delimiter): see unnamed_fields_
    auto [it, inserted] = seen_exact.emplace(h, f);
    if (inserted) continue;
    // A repeated header is ambiguous only when its values are used. One the schema does not know
    // is dropped under on_extra_columns: ignore anyway, so it is accepted there (the mapping below
    // leaves both fields unclaimed and they become one extra column).
    std::string where = "duplicate header \"" + Printable(h) + "\" (fields " +
                        std::to_string(it->second + 1) + " and " + std::to_string(f + 1) + ")";
    if (MatchesAnyColumn(schema, h)) {
      return Status::InvalidArgument(where + "; each column must appear once");
    }
    if (schema.on_extra_columns == config::ExtraColumnsPolicy::kRescue) {
      return Status::InvalidArgument(
          where + ": on_extra_columns \"rescue\" keeps extra columns as one JSON object in " +
          "_rescued, which cannot hold two values under one JSON key; rename one in the file, or " +
          "use \"ignore\" to drop them");
    }
    if (schema.on_extra_columns == config::ExtraColumnsPolicy::kFail) {
      return Status::InvalidArgument(where + "; each column must appear once");
    }
  }
  auto claim = [&](size_t f, size_t c) -> Status {
    if (column_of[f] != -1) return Status::Ok();
    if (rc->source_of_[c] != -1) {
      return Status::InvalidArgument(
          "duplicate header: \"" + Printable((*header)[rc->source_of_[c]]) + "\" and \"" +
          Printable((*header)[f]) + "\" both map to column \"" + schema.columns[c].name +
          "\"; remove one or fix the schema's aliases");
    }
    rc->source_of_[c] = static_cast<int>(f);
    column_of[f] = static_cast<int>(c);
    return Status::Ok();
  };
  // Every spelling folded once: a header may have many thousands of fields (time linear in them).
  struct Spellings {
    std::string folded, loose;
    std::vector<std::string> folded_aliases, loose_aliases;
  };
  std::vector<Spellings> spell(ncols);
  for (size_t c = 0; c < ncols; ++c) {
    const config::ColumnSchema& col = schema.columns[c];
    spell[c].folded = FoldHeader(col.name);
    spell[c].loose = LooseHeader(col.name);
    for (const std::string& a : col.aliases) {
      spell[c].folded_aliases.push_back(FoldHeader(a));
      spell[c].loose_aliases.push_back(LooseHeader(a));
    }
  }
  std::vector<std::string> folded_header(header->size());
  for (size_t f = 0; f < header->size(); ++f)
    folded_header[f] = FoldHeader(TrimSpaces((*header)[f]));
  for (int pass = 0; pass < 4; ++pass) {
    for (size_t f = 0; f < header->size(); ++f) {
      if (column_of[f] != -1) continue;
      std::string_view h = TrimSpaces((*header)[f]);
      const std::string& folded = folded_header[f];
      for (size_t c = 0; c < ncols; ++c) {
        const config::ColumnSchema& col = schema.columns[c];
        bool match = false;
        if (pass == 0) match = h == col.name;
        if (pass == 1) match = folded == spell[c].folded;
        if (pass == 2)
          match = std::find(col.aliases.begin(), col.aliases.end(), h) != col.aliases.end();
        if (pass == 3) {
          match = std::find(spell[c].folded_aliases.begin(), spell[c].folded_aliases.end(),
                            folded) != spell[c].folded_aliases.end();
        }
        if (match) {
          SLUICE_RETURN_IF_ERROR(claim(f, c));
          break;
        }
      }
    }
  }
  // Last, ignoring punctuation and accents too ("Order-ID", "order.id", "Order ID" for order_id):
  // only when exactly one column (by name, then by alias) fits and it is still unclaimed;
  // anything else stays an extra column.
  std::vector<std::string> loose_header(header->size());
  for (size_t f = 0; f < header->size(); ++f) {
    if (column_of[f] == -1) loose_header[f] = LooseHeader(TrimSpaces((*header)[f]));
  }
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t f = 0; f < header->size(); ++f) {
      if (column_of[f] != -1) continue;
      const std::string& loose = loose_header[f];
      if (loose.empty()) continue;
      int found = -1;
      int matches = 0;
      // Every column counts, taken or not: "Côte" fits both `cote` (taken) and `côté`, so it is
      // no guess at côté. Only a single fit that is still free is claimed.
      for (size_t c = 0; c < ncols; ++c) {
        const bool match =
            pass == 0 ? loose == spell[c].loose
                      : std::find(spell[c].loose_aliases.begin(), spell[c].loose_aliases.end(),
                                  loose) != spell[c].loose_aliases.end();
        if (match) {
          found = static_cast<int>(c);
          ++matches;
        }
      }
      if (matches == 1 && rc->source_of_[static_cast<size_t>(found)] == -1) {
        SLUICE_RETURN_IF_ERROR(claim(f, static_cast<size_t>(found)));
      }
    }
  }
  std::unordered_set<std::string> extra_seen;
  std::vector<std::string> missing_required;
  for (size_t c = 0; c < ncols; ++c) {
    if (rc->source_of_[c] != -1) continue;
    rc->missing_.push_back(schema.columns[c].name);
    if (!schema.columns[c].nullable) missing_required.push_back(schema.columns[c].name);
  }
  for (size_t f = 0; f < header->size(); ++f) {
    if (column_of[f] != -1) continue;
    std::string h(TrimSpaces((*header)[f]));
    if (h.empty()) {
      // No header: most often every line ends with a delimiter. Not an extra column; a row that
      // does put a value there is handled per on_extra_columns in Convert().
      rc->unnamed_fields_.push_back(static_cast<int>(f));
      continue;
    }
    // A repeated extra header (accepted under ignore only) is reported once.
    if (extra_seen.insert(h).second) rc->extra_.push_back(h);
    rc->extra_fields_.push_back(static_cast<int>(f));
    std::string json;
    AppendJsonString(h, &json);
    rc->extra_names_json_.push_back(json);
  }
  for (size_t f = 0; f < header->size(); ++f) {
    rc->field_names_.push_back(column_of[f] >= 0
                                   ? schema.columns[static_cast<size_t>(column_of[f])].name
                                   : "field " + std::to_string(f + 1));
  }
  std::vector<std::string> names;
  for (const auto& c : schema.columns) names.push_back(c.name);
  if (!missing_required.empty()) {
    return Status::InvalidArgument(
        "the header lacks non-nullable column(s) " + Join(missing_required, ", ") +
        "; add them to the file, or add the file's spelling to the column's \"aliases\"");
  }
  if (!rc->missing_.empty() && schema.on_missing_columns == config::MissingColumnsPolicy::kFail) {
    return Status::InvalidArgument(
        "the header lacks column(s) " + Join(rc->missing_, ", ") +
        " and on_missing_columns is \"fail\"; ask the partner for the column, add the file's "
        "spelling to the column's \"aliases\", or set on_missing_columns to \"null\" if the "
        "column may be absent");
  }
  if (!rc->extra_.empty() && schema.on_extra_columns == config::ExtraColumnsPolicy::kFail) {
    std::string hint;
    if (!rc->extra_.empty()) hint = DidYouMean(rc->extra_[0], names);
    return Status::InvalidArgument("the header has column(s) not in the schema: " +
                                   Printable(Join(rc->extra_, ", "), 400) + hint +
                                   " and on_extra_columns is \"fail\"; add them to the schema, "
                                   "map them with \"aliases\", or use \"ignore\" or \"rescue\"");
  }
  return rc;
}

bool RowConverter::IsNull(std::string_view field, bool quoted) const {
  if (quoted) return false;
  if (field.empty()) return empty_is_null_;
  for (const std::string& v : null_values_) {
    if (field == v) return true;
  }
  return false;
}

namespace {

// Fills `diag` for a rejected row of `record`; false, for `return Reject(...)`.
bool Reject(const Record& record, Diagnostic* diag, std::string column, const char* code,
            std::string message) {
  diag->line = record.line;
  diag->byte_offset = record.byte_offset;
  diag->column = std::move(column);
  diag->code = code;
  diag->message = std::move(message);
  return false;
}

// Why a number did not load, when it is a number at all: for messages only.
std::string Int64Problem(std::string_view text) {
  text = TrimSpaces(text);
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) text.remove_prefix(1);
  if (text.empty() || !std::all_of(text.begin(), text.end(), IsDigit)) return "";
  return " (out of range: -9223372036854775808..9223372036854775807; use decimal(38,0) or "
         "string for larger numbers)";
}

std::string Float64Problem(std::string_view text) {
  text = TrimSpaces(text);
  if (!text.empty() && text[0] == '+') text.remove_prefix(1);
  double d = 0;
  auto r = fast_float::from_chars(text.data(), text.data() + text.size(), d);
  if (r.ptr != text.data() + text.size() || text.empty()) return "";
  if (std::isnan(d))
    return " (NaN is not loaded: leave the field empty, or list it in csv.null_values)";
  return " (beyond a double's range; infinity is not loaded)";
}

// PlainNumber for Convert: rewrites *number (into *scratch), or rejects the row saying why.
// Out of line: local notations are rare and the usual path stays tight.
[[gnu::noinline]] bool ToPlain(const config::ColumnSchema& col, std::string_view* number,
                               std::string* scratch, const Record& record, Diagnostic* diag) {
  std::string error;
  if (!PlainNumber(*number, col, scratch, &error)) {
    return Reject(record, diag, col.name, "type",
                  "\"" + Printable(*number, 40) + "\" is not " +
                      (col.type == config::ColumnType::kInt64 ? "an " : "a ") + col.TypeName() +
                      ": " + error);
  }
  *number = *scratch;
  return true;
}

}  // namespace

bool RowConverter::Convert(const Record& record, Diagnostic* diag) {
  auto fail = [&](std::string column, const char* code, std::string message) {
    return Reject(record, diag, std::move(column), code, std::move(message));
  };
  // A number in the column's local notation ("1.234,5") becomes plain text first (rare: kept
  // out of line so the usual path stays tight).
  auto plain = [&](const config::ColumnSchema& col, std::string_view* number) {
    if (col.decimal_separator == '.' && col.thousands_separator.empty()) [[likely]] {
      return true;
    }
    return ToPlain(col, number, &number_, record, diag);
  };
  if (record.error != RowError::kNone) {
    std::string col;
    if (record.error_field >= 0) col = "field " + std::to_string(record.error_field + 1);
    return fail(col, "csv", record.error_message);
  }
  if (record.fields.size() != expected_fields_) {
    return fail("", "field_count",
                "expected " + std::to_string(expected_fields_) + " fields, found " +
                    std::to_string(record.fields.size()));
  }
  // One check of the whole record catches invalid bytes in any field (and iconv's marker).
  if (!IsValidUtf8(record.raw)) {
    // Which field: the rejects file's column says where to look.
    std::string column;
    for (size_t f = 0; f < record.fields.size() && f < field_names_.size(); ++f) {
      if (!IsValidUtf8(record.fields[f])) {
        column = field_names_[f];
        break;
      }
    }
    return fail(std::move(column), "encoding", "invalid bytes for encoding " + dialect_.encoding);
  }
  const size_t ncols = schema_.columns.size();
  for (size_t c = 0; c < ncols; ++c) {
    const config::ColumnSchema& col = schema_.columns[c];
    Cell& cell = cells_[c];
    int src = source_of_[c];
    if (src < 0) {
      cell.kind = CellKind::kNull;
      continue;
    }
    std::string_view field = record.fields[static_cast<size_t>(src)];
    bool quoted = record.quoted[static_cast<size_t>(src)];
    bool null = IsNull(field, quoted);
    if (!null && col.type != config::ColumnType::kString && TrimSpaces(field).empty()) {
      null = true;  // "" or spaces are no number, date or bool
    }
    if (null) {
      if (!col.nullable) {
        // "NULL" (one of csv.null_values) is no empty field: say which rule made it NULL.
        return fail(col.name, "null",
                    TrimSpaces(field).empty()
                        ? std::string("empty value in a non-nullable column")
                        : "\"" + Printable(field, 40) +
                              "\" is one of csv.null_values, so no value, in a non-nullable "
                              "column");
      }
      cell.kind = CellKind::kNull;
      continue;
    }
    std::string_view number = field;  // numbers: in plain notation
    switch (col.type) {
      case config::ColumnType::kString:
        if (col.max_length > 0 && static_cast<int64_t>(field.size()) > col.max_length) {
          return fail(col.name, "too_long",
                      "value of " + std::to_string(field.size()) + " bytes exceeds max_length " +
                          std::to_string(col.max_length));
        }
        cell.kind = CellKind::kText;
        cell.s = field;
        break;
      case config::ColumnType::kInt64:
        if (!plain(col, &number)) return false;
        if (!ParseInt64(number, &cell.i)) {
          return fail(col.name, "type",
                      "\"" + Printable(field, 40) + "\" is not an int64" + Int64Problem(number));
        }
        cell.kind = CellKind::kInt;
        break;
      case config::ColumnType::kFloat64:
        if (!plain(col, &number)) return false;
        if (!ParseFloat64(number, &cell.d)) {
          return fail(col.name, "type",
                      "\"" + Printable(field, 40) + "\" is not a float64" + Float64Problem(number));
        }
        cell.kind = CellKind::kReal;
        break;
      case config::ColumnType::kDecimal: {
        if (!plain(col, &number)) return false;
        std::string error;
        if (!CanonicalDecimal(number, col.precision, col.scale, &text_[c], &error)) {
          return fail(col.name, "type",
                      "\"" + Printable(field, 40) + "\" is not a " + col.TypeName() + ": " + error);
        }
        cell.kind = CellKind::kText;
        cell.s = text_[c];
        break;
      }
      case config::ColumnType::kBool: {
        int b = ParseBool(field, col);
        if (b < 0) {
          return fail(col.name, "type",
                      "\"" + Printable(field, 40) +
                          "\" is not a bool (true/false, yes/no, y/n, t/f, 1/0, or the column's "
                          "true_values/false_values)");
        }
        cell.kind = CellKind::kInt;
        cell.i = b;
        break;
      }
      case config::ColumnType::kDate:
      case config::ColumnType::kTimestamp: {
        const bool date = col.type == config::ColumnType::kDate;
        if (!ParseTimeValue(field, col, &text_[c])) {
          std::string expected = date ? "YYYY-MM-DD" : "ISO 8601";
          if (!col.formats.empty()) expected = Join(col.formats, " or ");
          return fail(col.name, "type",
                      "\"" + Printable(field, 40) + "\" is not a " + (date ? "date" : "timestamp") +
                          " (" + expected + ")");
        }
        cell.kind = CellKind::kText;
        cell.s = text_[c];
        break;
      }
    }
  }
  if (!unnamed_fields_.empty() && !ConvertUnnamed(record, diag)) return false;
  if (rescue_) {
    rescued_.clear();
    for (size_t k = 0; k < extra_fields_.size(); ++k) {
      rescued_.push_back(k == 0 ? '{' : ',');
      rescued_.append(extra_names_json_[k]);
      rescued_.push_back(':');
      size_t f = static_cast<size_t>(extra_fields_[k]);
      if (IsNull(record.fields[f], record.quoted[f])) {
        rescued_.append("null");
      } else {
        AppendJsonString(record.fields[f], &rescued_);
      }
    }
    for (const auto& [name_json, f] : unnamed_values_) {
      rescued_.push_back(rescued_.empty() ? '{' : ',');
      rescued_.append(name_json);
      rescued_.push_back(':');
      AppendJsonString(record.fields[f], &rescued_);
    }
    if (!rescued_.empty()) rescued_.push_back('}');
  }
  return true;
}

bool RowConverter::ConvertUnnamed(const Record& record, Diagnostic* diag) {
  unnamed_values_.clear();
  for (int f : unnamed_fields_) {
    const std::string_view field = record.fields[static_cast<size_t>(f)];
    if (IsNull(field, record.quoted[static_cast<size_t>(f)]) || TrimSpaces(field).empty()) {
      continue;
    }
    const std::string name = "column " + std::to_string(f + 1);
    switch (schema_.on_extra_columns) {
      case config::ExtraColumnsPolicy::kIgnore:
        break;
      case config::ExtraColumnsPolicy::kFail:
        return Reject(record, diag, name, "extra_column",
                      "a value in field " + std::to_string(f + 1) +
                          ", which has no header, and on_extra_columns is \"fail\"");
      case config::ExtraColumnsPolicy::kRescue: {
        std::string json;
        AppendJsonString(name, &json);
        unnamed_values_.emplace_back(std::move(json), static_cast<size_t>(f));
        break;
      }
    }
  }
  return true;
}

}  // namespace sluice::csv
