#include "example/sample_values.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "core/strings.h"

namespace sluice::example::sample {

using config::ColumnSchema;
using config::ColumnType;
using config::TableSchema;

int64_t DayNumber(const Date& d) {
  int64_t y = d.year - (d.month <= 2 ? 1 : 0);
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t mp = (d.month + 9) % 12;
  int64_t doy = (153 * mp + 2) / 5 + d.day - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// ---- vocabulary -------------------------------------------------------------------------------

const Vocabulary& Latin() {
  static const Vocabulary v{
      {"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret",
       "Dennis", "Radia", "Niklaus", "Sophie", "Leslie", "Hedy", "Linus"},
      {"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson",
       "Hamilton", "Ritchie", "Perlman", "Wirth", "Wilson", "Lamport", "Lamarr", "O'Neil"},
      {"Springfield", "Riverside", "Fairview", "Madison", "Georgetown", "Salem", "Franklin",
       "Clinton", "Greenville", "Bristol", "Oxford", "Dover"},
      {"steel", "garden", "lamp", "kettle", "chair", "cable", "notebook", "hammer", "puzzle",
       "blanket", "mug", "drill", "kite", "skillet", "pliers", "atlas"},
      {"leave at the door", "call before delivery", "gift, please wrap", "fragile",
       "ring \"twice\", then wait", "back entrance; not the front", "deliver after 6pm"},
      {"USD", "EUR", "GBP"}};
  return v;
}

const Vocabulary& Korean() {
  static const Vocabulary v{
      {"민준", "서연", "도윤", "하은", "시우", "지우", "주원", "서윤", "예준", "지민"},
      {"김", "이", "박", "최", "정", "강", "조", "윤", "장", "임"},
      {"서울", "부산", "인천", "대구", "대전", "광주", "수원", "울산", "제주", "전주"},
      {"사과", "노트북", "의자", "전기주전자", "이불", "머그컵", "공구세트", "연필", "우산",
       "운동화"},
      {"문 앞에 놓아주세요", "부재 시 경비실에 맡겨주세요", "배송 전 연락 바랍니다",
       "선물 포장, \"꼼꼼히\" 부탁드려요", "깨지기 쉬움, 취급 주의"},
      {"KRW"}};
  return v;
}

// ---- formatting -------------------------------------------------------------------------------

// strftime for generated values, every directive a column's format may use (config's
// kTimeFormatDirectives): %Y %m %d %H %M %S %y %f %z %I %p %b %B %s %%.
std::string FormatTime(std::string_view format, const Date& d, int hour, int minute, int second) {
  static const char* const kMonths[] = {"January",   "February", "March",    "April",
                                        "May",       "June",     "July",     "August",
                                        "September", "October",  "November", "December"};
  std::string out;
  char buf[8];
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%' || i + 1 == format.size()) {
      out += format[i];
      continue;
    }
    char f = format[++i];
    switch (f) {
      case 'Y':
        std::snprintf(buf, sizeof buf, "%04d", d.year);
        break;
      case 'y':
        std::snprintf(buf, sizeof buf, "%02d", d.year % 100);
        break;
      case 'm':
        std::snprintf(buf, sizeof buf, "%02d", d.month);
        break;
      case 'd':
        std::snprintf(buf, sizeof buf, "%02d", d.day);
        break;
      case 'H':
        std::snprintf(buf, sizeof buf, "%02d", hour);
        break;
      case 'M':
        std::snprintf(buf, sizeof buf, "%02d", minute);
        break;
      case 'S':
        std::snprintf(buf, sizeof buf, "%02d", second);
        break;
      case 'f':
        std::snprintf(buf, sizeof buf, "%03d", (hour * 7 + minute * 13 + second) % 1000);
        break;
      case 'z':
        std::snprintf(buf, sizeof buf, "+0000");
        break;
      case 'I':
        std::snprintf(buf, sizeof buf, "%02d", hour % 12 == 0 ? 12 : hour % 12);
        break;
      case 'p':
        std::snprintf(buf, sizeof buf, "%s", hour < 12 ? "AM" : "PM");
        break;
      case 'b':
        std::snprintf(buf, sizeof buf, "%.3s", kMonths[d.month - 1]);
        break;
      case 'B':
        out += kMonths[d.month - 1];
        buf[0] = '\0';
        break;
      case 's':
        out += std::to_string(DayNumber(d) * 86400 + hour * 3600 + minute * 60 + second);
        buf[0] = '\0';
        break;
      default:
        buf[0] = f;
        buf[1] = '\0';
        break;
    }
    out += buf;
  }
  return out;
}

// Cuts `s` to at most `max_bytes` bytes without splitting a UTF-8 sequence.
void TruncateUtf8(std::string* s, int64_t max_bytes) {
  if (max_bytes <= 0 || static_cast<int64_t>(s->size()) <= max_bytes) return;
  size_t n = static_cast<size_t>(max_bytes);
  while (n > 0 && (static_cast<unsigned char>((*s)[n]) & 0xC0) == 0x80) --n;
  s->resize(n);
}

// ---- column value generators ------------------------------------------------------------------

namespace {

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

}  // namespace

ColumnGen MakeColumnGen(const ColumnSchema& c, const TableSchema& schema, bool is_key,
                        bool alias_header) {
  ColumnGen g;
  g.schema = &c;
  g.header = alias_header && !c.aliases.empty() ? c.aliases.front() : c.name;
  g.nullable = c.nullable && !is_key;
  if (is_key) {
    const auto& pk = schema.primary_key;
    g.key_parts = static_cast<int>(pk.size());
    g.key_part = static_cast<int>(std::find(pk.begin(), pk.end(), c.name) - pk.begin());
  }
  std::string name = ToLower(c.name);
  for (const config::CheckConfig& check : schema.checks) {
    if (check.type == "accepted_values" && check.columns.size() == 1 &&
        check.columns[0] == c.name) {
      g.choices = check.values;
    }
  }
  switch (c.type) {
    case ColumnType::kInt64:
      g.kind = is_key ? Kind::kKeyInt : Kind::kInt;
      break;
    case ColumnType::kDecimal:
      g.kind = Kind::kDecimal;
      break;
    case ColumnType::kFloat64:
      g.kind = Kind::kFloat;
      break;
    case ColumnType::kBool:
      g.kind = Kind::kBool;
      break;
    case ColumnType::kDate:
      g.kind = Kind::kDate;
      break;
    case ColumnType::kTimestamp:
      g.kind = Kind::kTimestamp;
      break;
    case ColumnType::kString:
      if (is_key) {
        g.kind = Kind::kKeyString;
        std::string prefix;
        for (char ch : c.name) {
          if (std::isalpha(static_cast<unsigned char>(ch)) && prefix.size() < 3) {
            prefix += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
          }
        }
        g.key_prefix = (prefix.empty() ? "K" : prefix) + "-";
      } else if (!g.choices.empty()) {
        g.kind = Kind::kChoice;
      } else if (Contains(name, "mail")) {
        g.kind = Kind::kEmail;
      } else if (Contains(name, "phone") || Contains(name, "tel")) {
        g.kind = Kind::kPhone;
      } else if (Contains(name, "city") || Contains(name, "town")) {
        g.kind = Kind::kCity;
      } else if (Contains(name, "currency")) {
        g.kind = Kind::kCurrency;
      } else if (name == "name" || Contains(name, "_name") || Contains(name, "customer")) {
        g.kind = Kind::kPersonName;
      } else if (Contains(name, "title") || Contains(name, "product")) {
        g.kind = Kind::kTitle;
      } else if (Contains(name, "note") || Contains(name, "comment") || Contains(name, "memo")) {
        g.kind = Kind::kNote;
      } else if (Contains(name, "category") || Contains(name, "status") || Contains(name, "type")) {
        g.kind = Kind::kChoice;
      } else {
        g.kind = Kind::kText;
      }
      break;
  }
  if (g.kind == Kind::kChoice && g.choices.empty()) {
    if (Contains(name, "status")) {
      g.choices = {"paid", "refunded", "pending"};
    } else if (Contains(name, "category")) {
      g.choices = {"books", "garden", "kitchen", "toys", "tools"};
    } else {
      g.choices = {"standard", "express", "bulk"};
    }
  }
  if (g.nullable) g.null_percent = g.kind == Kind::kNote ? 40 : 3;
  return g;
}

namespace {

std::string Decimal(Rng& rng, int precision, int scale) {
  int int_digits = std::min(precision - scale, 6);
  uint64_t limit = 1;
  for (int i = 0; i < int_digits; ++i) limit *= 10;
  std::string out = std::to_string(1 + rng.Below(limit > 1 ? limit - 1 : 1));
  if (scale > 0) {
    out += '.';
    for (int i = 0; i < scale; ++i) out += static_cast<char>('0' + rng.Below(10));
  }
  return out;
}

// A plain number ("-1234567.5") in `column`'s decimal_separator and thousands_separator.
std::string LocalNotation(const std::string& plain, const config::ColumnSchema& column) {
  if (column.decimal_separator == '.' && column.thousands_separator.empty()) return plain;
  const size_t sign = !plain.empty() && (plain[0] == '-' || plain[0] == '+') ? 1 : 0;
  size_t int_end = plain.find_first_not_of("0123456789", sign);
  if (int_end == std::string::npos) int_end = plain.size();
  std::string out = plain.substr(0, sign);
  for (size_t i = sign; i < int_end; ++i) {
    if (i > sign && (int_end - i) % 3 == 0) out += column.thousands_separator;
    out += plain[i];
  }
  for (size_t i = int_end; i < plain.size(); ++i) {
    out += plain[i] == '.' ? column.decimal_separator : plain[i];
  }
  return out;
}

}  // namespace

int64_t KeyComponent(const ColumnGen& g, int64_t key) {
  if (g.key_parts < 2) return key;
  return g.key_part + 1 < g.key_parts ? key % kKeyGroups : key / kKeyGroups;
}

std::string GenerateValue(const ColumnGen& g, RowContext& r) {
  Rng& rng = *r.rng;
  const Vocabulary& v = *r.vocab;
  std::string out;
  switch (g.kind) {
    case Kind::kKeyInt:
      out = std::to_string(KeyComponent(g, r.key));
      break;
    case Kind::kKeyString: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%08lld", static_cast<long long>(KeyComponent(g, r.key)));
      out = g.key_prefix + buf;
      break;
    }
    case Kind::kInt:
      out = std::to_string(1 + static_cast<int64_t>(rng.Below(static_cast<uint64_t>(r.key_space))));
      break;
    case Kind::kDecimal:
      out = Decimal(rng, g.schema->precision, g.schema->scale);
      break;
    case Kind::kFloat: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(rng.Below(10'000'000)) / 1000.0);
      out = buf;
      break;
    }
    case Kind::kBool: {
      bool b = rng.Percent(30);
      const auto& spellings = b ? g.schema->true_values : g.schema->false_values;
      out = spellings.empty() ? (b ? "true" : "false") : spellings.front();
      break;
    }
    case Kind::kDate: {
      Date d = r.date->AddDays(-static_cast<int>(rng.Below(1500)));
      out = FormatTime(g.schema->formats.empty() ? "%Y-%m-%d" : g.schema->formats.front(), d, 0, 0,
                       0);
      break;
    }
    case Kind::kTimestamp: {
      Date d = r.date->AddDays(-static_cast<int>(rng.Below(2)));
      int secs = static_cast<int>(rng.Below(86400));
      out = FormatTime(g.schema->formats.empty() ? "%Y-%m-%d %H:%M:%S" : g.schema->formats.front(),
                       d, secs / 3600, secs / 60 % 60, secs % 60);
      break;
    }
    case Kind::kEmail:
      out = ToLower(Latin().given[rng.Below(Latin().given.size())]) + "." +
            std::to_string(rng.Below(100000)) + "@example.com";
      break;
    case Kind::kPersonName:
      if (r.vocab == &Korean()) {
        out = rng.Pick(v.family) + rng.Pick(v.given);
      } else {
        out = rng.Pick(v.given) + " " + rng.Pick(v.family);
      }
      break;
    case Kind::kCity:
      out = rng.Pick(v.cities);
      break;
    case Kind::kPhone: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "010-%04d-%04d", static_cast<int>(rng.Below(10000)),
                    static_cast<int>(rng.Below(10000)));
      out = buf;
      break;
    }
    case Kind::kCurrency:
      out = rng.Pick(v.currencies);
      break;
    case Kind::kChoice:
      out = rng.Pick(g.choices);
      break;
    case Kind::kTitle:
      out = rng.Pick(v.words) + " " + rng.Pick(v.words) + " " + std::to_string(rng.Below(1000));
      break;
    case Kind::kNote:
      out = rng.Pick(v.notes);
      break;
    case Kind::kText:
      out = rng.Pick(v.words);
      break;
    case Kind::kExtra:
      out = rng.Percent(50) ? "" : "SAVE" + std::to_string(5 * (1 + rng.Below(6)));
      break;
  }
  if (g.schema != nullptr && g.schema->type == ColumnType::kString) {
    TruncateUtf8(&out, g.schema->max_length);
  }
  if (g.schema != nullptr && (g.kind == Kind::kKeyInt || g.kind == Kind::kInt ||
                              g.kind == Kind::kDecimal || g.kind == Kind::kFloat)) {
    out = LocalNotation(out, *g.schema);
  }
  return out;
}

}  // namespace sluice::example::sample
