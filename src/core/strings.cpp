#include "core/strings.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace sluice {

std::string_view Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.emplace_back(s.substr(start));
      return out;
    }
    out.emplace_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

std::string Join(std::span<const std::string> parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool StartsWith(std::string_view s, std::string_view prefix) { return s.starts_with(prefix); }
bool EndsWith(std::string_view s, std::string_view suffix) { return s.ends_with(suffix); }

size_t EditDistance(std::string_view a, std::string_view b) {
  // Optimal string alignment: insertions, deletions, substitutions and adjacent transpositions
  // ("int46" for "int64") each cost one.
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::optional<std::string> NearestMatch(std::string_view word,
                                        std::span<const std::string> candidates) {
  std::optional<std::string> best;
  size_t best_distance = std::numeric_limits<size_t>::max();
  std::string lower = ToLower(word);
  for (const std::string& c : candidates) {
    size_t d = EditDistance(lower, ToLower(c));
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  // A typo is at most a third of the word (and at least one edit) away.
  size_t limit = std::max<size_t>(1, std::max(word.size(), best ? best->size() : 0) / 3);
  if (!best || best_distance > limit) return std::nullopt;
  return best;
}

std::string DidYouMean(std::string_view word, std::span<const std::string> candidates) {
  auto match = NearestMatch(word, candidates);
  if (!match) return "";
  return " (did you mean \"" + *match + "\"?)";
}

Result<std::string> ExpandEnv(std::string_view text) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '{') {
      size_t end = text.find('}', i + 2);
      if (end == std::string_view::npos) {
        return Status::InvalidArgument("unterminated ${ in \"" + std::string(text) + "\"");
      }
      std::string name(text.substr(i + 2, end - i - 2));
      const char* value = std::getenv(name.c_str());
      if (value == nullptr) {
        return Status::NotFound("environment variable " + name + " is not set");
      }
      out += value;
      i = end + 1;
    } else {
      out += text[i++];
    }
  }
  return out;
}

Result<int64_t> ParseByteSize(std::string_view text) {
  std::string_view s = Trim(text);
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  if (i == 0) return Status::InvalidArgument("\"" + std::string(text) + "\" is not a byte size");
  std::string number(s.substr(0, i));
  std::string unit = ToLower(Trim(s.substr(i)));
  char* end = nullptr;
  double value = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size()) {
    return Status::InvalidArgument("\"" + std::string(text) + "\" is not a byte size");
  }
  double mult = 1;
  if (unit.empty() || unit == "b")
    mult = 1;
  else if (unit == "k" || unit == "kib")
    mult = 1024.0;
  else if (unit == "m" || unit == "mib")
    mult = 1024.0 * 1024;
  else if (unit == "g" || unit == "gib")
    mult = 1024.0 * 1024 * 1024;
  else if (unit == "t" || unit == "tib")
    mult = 1024.0 * 1024 * 1024 * 1024;
  else if (unit == "kb")
    mult = 1e3;
  else if (unit == "mb")
    mult = 1e6;
  else if (unit == "gb")
    mult = 1e9;
  else if (unit == "tb")
    mult = 1e12;
  else {
    return Status::InvalidArgument("\"" + std::string(text) +
                                   "\": unknown unit (use B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)");
  }
  double bytes = value * mult;
  if (!std::isfinite(bytes) || bytes > 9.0e18) {
    return Status::InvalidArgument("\"" + std::string(text) + "\" is too large");
  }
  return static_cast<int64_t>(bytes);
}

std::string FormatBytes(int64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (v >= 1024 && unit < 4) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  if (unit == 0)
    std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(bytes));
  else
    std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[unit]);
  return buf;
}

bool IsValidPartnerId(std::string_view id) {
  if (id.empty() || id.size() > 63) return false;
  auto lower_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_digit(id[0])) return false;
  for (char c : id.substr(1)) {
    if (!lower_digit(c) && c != '_' && c != '-') return false;
  }
  return true;
}

bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  auto cont = [](unsigned char b) { return (b & 0xC0) == 0x80; };
  while (p < end) {
    // ASCII, eight bytes at a time (most of any CSV, also between the letters of a script).
    while (end - p >= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      if (w & 0x8080808080808080ULL) break;
      p += 8;
    }
    if (p == end) break;
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    // The well-formed sequences of Unicode 15 table 3-7: no overlong forms, no surrogates,
    // nothing above U+10FFFF.
    const ptrdiff_t left = end - p;
    if (c >= 0xC2 && c <= 0xDF) {
      if (left < 2 || !cont(p[1])) return false;
      p += 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      if (left < 3 || !cont(p[2])) return false;
      const unsigned char lo = c == 0xE0 ? 0xA0 : 0x80;
      const unsigned char hi = c == 0xED ? 0x9F : 0xBF;
      if (p[1] < lo || p[1] > hi) return false;
      p += 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      if (left < 4 || !cont(p[2]) || !cont(p[3])) return false;
      const unsigned char lo = c == 0xF0 ? 0x90 : 0x80;
      const unsigned char hi = c == 0xF4 ? 0x8F : 0xBF;
      if (p[1] < lo || p[1] > hi) return false;
      p += 4;
    } else {
      return false;  // a continuation byte first, C0/C1 (overlong) or F5..FF
    }
  }
  return true;
}

std::string Printable(std::string_view s, size_t max_len) {
  std::string out;
  // Text in another encoding (a cp949 file name) is escaped whole: a few of its byte pairs
  // that happen to be UTF-8 would otherwise show as unrelated letters.
  const bool utf8 = IsValidUtf8(s);
  size_t i = 0;
  while (i < s.size() && out.size() < max_len) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    // A letter of any script stays as it is; control characters (C0, DEL, C1) and bytes that
    // are not UTF-8 become \xHH. The result is the same when printed again.
    const size_t n = c >= 0xC2 && c <= 0xDF   ? 2
                     : c >= 0xE0 && c <= 0xEF ? 3
                     : c >= 0xF0 && c <= 0xF4 ? 4
                                              : 0;
    if (utf8 && n > 0 && i + n <= s.size() && !HasC1Control(s.substr(i, n))) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02X", c);
    out += buf;
    ++i;
  }
  if (i < s.size()) out += "...";
  return out;
}

std::optional<std::string> NameMatchingGlob(std::string_view pattern, std::string_view star,
                                            char one) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    const size_t close = c == '[' ? pattern.find(']', i + 2) : std::string_view::npos;
    if (c == '*') {
      out += star;
    } else if (c == '?') {
      out += one;
    } else if (close != std::string_view::npos) {
      if (pattern[i + 1] == '!' || pattern[i + 1] == '^') return std::nullopt;
      out += pattern[i + 1];
      i = close;
    } else {
      out += c;
    }
  }
  return out;
}

bool HasC1Control(std::string_view utf8) {
  for (size_t i = 0; i + 1 < utf8.size(); ++i) {
    if (static_cast<unsigned char>(utf8[i]) == 0xC2 &&
        static_cast<unsigned char>(utf8[i + 1]) < 0xA0 &&
        static_cast<unsigned char>(utf8[i + 1]) >= 0x80) {
      return true;
    }
  }
  return false;
}

namespace {

// One code point of `s` at `*i` (advanced past it). A stray byte (not UTF-8) is returned as itself.
char32_t NextCodePoint(std::string_view s, size_t* i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[*i + k]); };
  const unsigned char c = b(0);
  const size_t left = s.size() - *i;
  if (c >= 0xF0 && left >= 4) {
    const char32_t cp =
        ((c & 0x07u) << 18) | ((b(1) & 0x3Fu) << 12) | ((b(2) & 0x3Fu) << 6) | (b(3) & 0x3Fu);
    *i += 4;
    return cp;
  }
  if (c >= 0xE0 && left >= 3) {
    const char32_t cp = ((c & 0x0Fu) << 12) | ((b(1) & 0x3Fu) << 6) | (b(2) & 0x3Fu);
    *i += 3;
    return cp;
  }
  if (c >= 0xC0 && left >= 2) {
    const char32_t cp = ((c & 0x1Fu) << 6) | (b(1) & 0x3Fu);
    *i += 2;
    return cp;
  }
  *i += 1;
  return c;
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Spaces of any kind: exports from spreadsheets put no-break spaces in headers.
bool IsHeaderSpace(char32_t c) {
  return c == ' ' || c == '\t' || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200B) ||
         c == 0x202F || c == 0x205F || c == 0x3000 || c == 0xFEFF;
}

// Lower case for the scripts partners' headers come in: ASCII, Latin-1, Latin Extended-A, Greek,
// Cyrillic and fullwidth Latin ("QUANTITÉ" = "Quantité", "ИМЯ" = "имя").
char32_t LowerCase(char32_t c) {
  if (c < 0x80) return c >= 'A' && c <= 'Z' ? c + 32 : c;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 0x20;
  if (c == 0x130) return 'i';   // İ
  if (c == 0x178) return 0xFF;  // Ÿ
  if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) return c | 1;
  if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return (c & 1) ? c + 1 : c;
  if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 0x20;
  if (c == 0x386) return 0x3AC;
  if (c >= 0x388 && c <= 0x38A) return c + 0x25;
  if (c == 0x38C) return 0x3CC;
  if (c == 0x38E || c == 0x38F) return c + 0x3F;
  if (c == 0x3C2) return 0x3C3;  // final sigma
  if (c >= 0x410 && c <= 0x42F) return c + 0x20;
  if (c >= 0x400 && c <= 0x40F) return c + 0x50;
  if (c >= 0xFF21 && c <= 0xFF3A) return c + 0x20;
  return c;
}

// The letter without its accent, for the loosest match ("Quantite" for "Quantité"); nullptr for
// anything else. `c` is lower case.
const char* LatinBase(char32_t c) {
  struct Range {
    char32_t first, last;
    const char* base;
  };
  static constexpr Range kRanges[] = {
      {0xDF, 0xDF, "ss"},  {0xE0, 0xE5, "a"},    {0xE6, 0xE6, "ae"},  {0xE7, 0xE7, "c"},
      {0xE8, 0xEB, "e"},   {0xEC, 0xEF, "i"},    {0xF0, 0xF0, "d"},   {0xF1, 0xF1, "n"},
      {0xF2, 0xF6, "o"},   {0xF8, 0xF8, "o"},    {0xF9, 0xFC, "u"},   {0xFD, 0xFD, "y"},
      {0xFE, 0xFE, "th"},  {0xFF, 0xFF, "y"},    {0x100, 0x105, "a"}, {0x106, 0x10D, "c"},
      {0x10E, 0x111, "d"}, {0x112, 0x11B, "e"},  {0x11C, 0x123, "g"}, {0x124, 0x127, "h"},
      {0x128, 0x131, "i"}, {0x132, 0x133, "ij"}, {0x134, 0x135, "j"}, {0x136, 0x138, "k"},
      {0x139, 0x142, "l"}, {0x143, 0x14B, "n"},  {0x14C, 0x151, "o"}, {0x152, 0x153, "oe"},
      {0x154, 0x159, "r"}, {0x15A, 0x161, "s"},  {0x162, 0x167, "t"}, {0x168, 0x173, "u"},
      {0x174, 0x175, "w"}, {0x176, 0x178, "y"},  {0x179, 0x17E, "z"}, {0x17F, 0x17F, "s"},
  };
  if (c < 0xDF || c > 0x17F) return nullptr;
  for (const Range& r : kRanges) {
    if (c >= r.first && c <= r.last) return r.base;
  }
  return nullptr;
}

// A Greek vowel without its tonos or dialytika (capitals are written without them), else `c`.
char32_t GreekBase(char32_t c) {
  switch (c) {
    case 0x3AC:
      return 0x3B1;  // ά
    case 0x3AD:
      return 0x3B5;  // έ
    case 0x3AE:
      return 0x3B7;  // ή
    case 0x3AF:
    case 0x3CA:
    case 0x390:
      return 0x3B9;  // ί ϊ ΐ
    case 0x3CC:
      return 0x3BF;  // ό
    case 0x3CD:
    case 0x3CB:
    case 0x3B0:
      return 0x3C5;  // ύ ϋ ΰ
    case 0x3CE:
      return 0x3C9;  // ώ
    default:
      return c;
  }
}

std::string FoldHeaderText(std::string_view header, bool loose) {
  std::string out;
  out.reserve(header.size());
  for (size_t i = 0; i < header.size();) {
    const char32_t c = LowerCase(NextCodePoint(header, &i));
    if (IsHeaderSpace(c)) continue;
    if (loose) {
      if (c == '_' || c == '-' || c == '.' || c == '/') continue;
      if (c >= 0x300 && c <= 0x36F) continue;  // a combining accent (decomposed text)
      if (const char* base = LatinBase(c)) {
        out.append(base);
        continue;
      }
      AppendUtf8(GreekBase(c), &out);
      continue;
    }
    AppendUtf8(c, &out);
  }
  return out;
}

}  // namespace

std::string FoldName(std::string_view name) { return FoldHeaderText(name, false); }

std::string LooseName(std::string_view name) { return FoldHeaderText(name, true); }

}  // namespace sluice
