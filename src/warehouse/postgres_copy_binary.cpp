// warehouse/postgres_copy_binary.cpp: see postgres_copy_binary.h.
#include "warehouse/postgres_copy_binary.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace sluice::warehouse::pg {

namespace {

void Put16(uint16_t v, std::string* out) {
  const char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
  out->append(b, 2);
}

void Put32(uint32_t v, std::string* out) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 8), static_cast<char>(v)};
  out->append(b, 4);
}

void Put64(uint64_t v, std::string* out) {
  Put32(static_cast<uint32_t>(v >> 32), out);
  Put32(static_cast<uint32_t>(v), out);
}

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

constexpr int64_t kPgEpochDays = 10957;  // 2000-01-01 in days since 1970-01-01
constexpr int64_t kMicrosPerDay = int64_t{86400} * 1000000;

// numeric's send format from "[+-]digits[.digits]": int16 ndigits, weight, sign, dscale, then
// the base-10000 digits, most significant first, with leading and trailing zero groups left out.
bool AppendNumeric(std::string_view s, std::string* out) {
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  const size_t dot = s.find('.');
  std::string_view int_part = s.substr(0, dot);
  std::string_view frac_part =
      dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  if (int_part.empty() && frac_part.empty()) return false;
  for (std::string_view part : {int_part, frac_part}) {
    for (char c : part) {
      if (c < '0' || c > '9') return false;
    }
  }
  if (frac_part.size() > 0x3FFF) return false;
  while (!int_part.empty() && int_part[0] == '0') int_part.remove_prefix(1);
  // Groups of 4 decimal digits aligned on the decimal point.
  const size_t int_groups = (int_part.size() + 3) / 4;
  const size_t frac_groups = (frac_part.size() + 3) / 4;
  std::vector<uint16_t> groups(int_groups + frac_groups, 0);
  const size_t lead = int_groups * 4 - int_part.size();  // zeros padding the first group
  for (size_t i = 0; i < int_part.size(); ++i) {
    uint16_t& g = groups[(lead + i) / 4];
    g = static_cast<uint16_t>(g * 10 + (int_part[i] - '0'));
  }
  for (size_t i = 0; i < frac_groups * 4; ++i) {
    uint16_t& g = groups[int_groups + i / 4];
    g = static_cast<uint16_t>(g * 10 + (i < frac_part.size() ? frac_part[i] - '0' : 0));
  }
  int weight = static_cast<int>(int_groups) - 1;
  size_t first = 0, last = groups.size();
  while (first < last && groups[first] == 0) {
    ++first;
    --weight;
  }
  while (last > first && groups[last - 1] == 0) --last;
  const size_t ndigits = last - first;
  if (ndigits == 0) {
    weight = 0;
    neg = false;
  }
  Put32(static_cast<uint32_t>(8 + 2 * ndigits), out);
  Put16(static_cast<uint16_t>(ndigits), out);
  Put16(static_cast<uint16_t>(static_cast<int16_t>(weight)), out);
  Put16(neg ? 0x4000 : 0x0000, out);
  Put16(static_cast<uint16_t>(frac_part.size()), out);
  for (size_t i = first; i < last; ++i) Put16(groups[i], out);
  return true;
}

}  // namespace

void AppendBinaryHeader(std::string* out) {
  static constexpr char kSignature[] = "PGCOPY\n\377\r\n";  // 11 bytes with its NUL
  out->append(kSignature, 11);
  Put32(0, out);  // flags: no OIDs
  Put32(0, out);  // no header extension
}

void AppendBinaryTrailer(std::string* out) { Put16(0xFFFF, out); }

void AppendBinaryRowStart(int fields, std::string* out) {
  Put16(static_cast<uint16_t>(fields), out);
}

void AppendBinaryNull(std::string* out) { Put32(0xFFFFFFFFu, out); }

void AppendBinaryInt8(int64_t v, std::string* out) {
  Put32(8, out);
  Put64(static_cast<uint64_t>(v), out);
}

void AppendBinaryDate(int32_t days, std::string* out) {
  Put32(4, out);
  Put32(static_cast<uint32_t>(days), out);
}

void AppendBinaryText(std::string_view s, std::string* out) {
  Put32(static_cast<uint32_t>(s.size()), out);
  out->append(s);
}

bool BinaryDate(std::string_view s, int32_t* days) {
  int y = 0, m = 0, d = 0;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' || !Digits(s, 0, 4, &y) ||
      !Digits(s, 5, 2, &m) || !Digits(s, 8, 2, &d) || y < 1) {
    return false;
  }
  const std::chrono::year_month_day ymd{std::chrono::year(y),
                                        std::chrono::month(static_cast<unsigned>(m)),
                                        std::chrono::day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return false;
  *days =
      static_cast<int32_t>(std::chrono::sys_days(ymd).time_since_epoch().count() - kPgEpochDays);
  return true;
}

bool BinaryTimestamp(std::string_view s, int64_t* micros) {
  int32_t days = 0;
  int hh = 0, mi = 0, ss = 0;
  if (s.size() < 19 || !BinaryDate(s.substr(0, 10), &days) || (s[10] != ' ' && s[10] != 'T') ||
      s[13] != ':' || s[16] != ':' || !Digits(s, 11, 2, &hh) || !Digits(s, 14, 2, &mi) ||
      !Digits(s, 17, 2, &ss) || hh > 23 || mi > 59 || ss > 59) {
    return false;
  }
  int64_t fraction = 0;
  if (s.size() > 19) {
    std::string_view f = s.substr(19);
    if (f.size() < 2 || f.size() > 10 || f[0] != '.') return false;
    for (size_t i = 1; i < f.size(); ++i) {
      if (f[i] < '0' || f[i] > '9') return false;
    }
    // As the server reads a fraction: strtod of ".fff", times 10^6, rint (ParseFractionalSecond).
    char buf[12] = {};
    std::memcpy(buf, f.data(), f.size());
    fraction = static_cast<int64_t>(std::rint(std::strtod(buf, nullptr) * 1000000));
  }
  *micros =
      int64_t{days} * kMicrosPerDay + ((int64_t{hh} * 60 + mi) * 60 + ss) * 1000000 + fraction;
  return true;
}

bool AppendBinaryValue(const Value& v, const config::ColumnSchema& column, std::string* out,
                       std::string* error) {
  if (v.kind == ValueKind::kNull) {
    AppendBinaryNull(out);
    return true;
  }
  auto refuse = [&](const char* what) {
    *error = "column " + column.name + ": " +
             (v.kind == ValueKind::kText ? "\"" + std::string(v.s.substr(0, 40)) + "\""
                                         : std::string("the value")) +
             " is not " + what;
    return false;
  };
  switch (column.type) {
    case config::ColumnType::kInt64: {
      int64_t i = v.i;
      if (v.kind == ValueKind::kText) {
        auto r = std::from_chars(v.s.data(), v.s.data() + v.s.size(), i);
        if (r.ec != std::errc() || r.ptr != v.s.data() + v.s.size()) return refuse("a bigint");
      } else if (v.kind != ValueKind::kInt) {
        return refuse("a bigint");
      }
      AppendBinaryInt8(i, out);
      return true;
    }
    case config::ColumnType::kFloat64: {
      double d = v.d;
      if (v.kind == ValueKind::kInt) {
        d = static_cast<double>(v.i);
      } else if (v.kind == ValueKind::kText) {
        auto r = std::from_chars(v.s.data(), v.s.data() + v.s.size(), d);
        if (r.ec != std::errc() || r.ptr != v.s.data() + v.s.size()) {
          return refuse("a double precision");
        }
      }
      uint64_t bits = 0;
      std::memcpy(&bits, &d, sizeof bits);
      Put32(8, out);
      Put64(bits, out);
      return true;
    }
    case config::ColumnType::kBool: {
      bool b = v.i != 0;
      if (v.kind == ValueKind::kText) {
        if (v.s == "t" || v.s == "true") {
          b = true;
        } else if (v.s == "f" || v.s == "false") {
          b = false;
        } else {
          return refuse("a boolean");
        }
      } else if (v.kind != ValueKind::kInt) {
        return refuse("a boolean");
      }
      Put32(1, out);
      out->push_back(b ? 1 : 0);
      return true;
    }
    case config::ColumnType::kDecimal: {
      char buf[400];
      std::string_view text = v.s;
      if (v.kind == ValueKind::kInt) {
        text = std::string_view(buf, std::to_chars(buf, buf + sizeof buf, v.i).ptr - buf);
      } else if (v.kind == ValueKind::kReal) {
        auto r = std::to_chars(buf, buf + sizeof buf, v.d, std::chars_format::fixed);
        if (r.ec != std::errc()) return refuse("a numeric");
        text = std::string_view(buf, static_cast<size_t>(r.ptr - buf));
      }
      if (!AppendNumeric(text, out)) return refuse("a numeric ([-]digits[.digits])");
      return true;
    }
    case config::ColumnType::kDate: {
      int32_t days = 0;
      if (v.kind != ValueKind::kText || !BinaryDate(v.s, &days)) {
        return refuse("a date (YYYY-MM-DD)");
      }
      AppendBinaryDate(days, out);
      return true;
    }
    case config::ColumnType::kTimestamp: {
      int64_t micros = 0;
      if (v.kind != ValueKind::kText || !BinaryTimestamp(v.s, &micros)) {
        return refuse("a timestamp (YYYY-MM-DD HH:MM:SS[.fraction])");
      }
      AppendBinaryInt8(micros, out);
      return true;
    }
    default:
      break;
  }
  // text: the value as the text back-end would have written it.
  if (v.kind == ValueKind::kText) {
    AppendBinaryText(v.s, out);
  } else if (v.kind == ValueKind::kInt) {
    char buf[24];
    AppendBinaryText(std::string_view(buf, std::to_chars(buf, buf + sizeof buf, v.i).ptr - buf),
                     out);
  } else {
    std::string s;
    if (std::isnan(v.d)) {
      s = "NaN";
    } else if (std::isinf(v.d)) {
      s = v.d > 0 ? "Infinity" : "-Infinity";
    } else {
      char buf[32];
      s.assign(buf, std::to_chars(buf, buf + sizeof buf, v.d).ptr);
    }
    AppendBinaryText(s, out);
  }
  return true;
}

}  // namespace sluice::warehouse::pg
