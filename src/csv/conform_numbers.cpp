// Numbers and booleans of csv/conform.h: int64, float64, decimal(p,s), local digit grouping.
#include <fast_float/fast_float.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include "csv/conform.h"
#include "csv/conform_internal.h"

namespace sluice::csv {

using internal::IsDigit;
using internal::TrimSpaces;

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

}  // namespace sluice::csv
