#include "infer/column_guess.h"

#include <algorithm>
#include <cstdio>
#include <unordered_set>

#include "core/strings.h"
#include "csv/conform.h"

namespace sluice::infer {

namespace {

// Number notations, in the order they are preferred when several read every value.
struct Notation {
  char decimal;
  const char* thousands;
};
constexpr Notation kNotations[] = {
    {'.', ""}, {'.', ","}, {',', ""}, {',', "."}, {',', " "},
};
constexpr size_t kNumNotations = std::size(kNotations);

// Date formats: "" is ISO 8601. Day-first before month-first for '.', the other way round for '/'
// and '-' (DuckDB's order); the report says when both read every value.
const std::vector<std::string>& DateFormats() {
  static const std::vector<std::string> f = {"",         "%d.%m.%Y", "%Y.%m.%d",
                                             "%m/%d/%Y", "%d/%m/%Y", "%Y/%m/%d",
                                             "%m-%d-%Y", "%d-%m-%Y", "%d.%m.%y"};
  return f;
}

const std::vector<std::string>& TimestampFormats() {
  static const std::vector<std::string> f = [] {
    std::vector<std::string> out = {""};
    for (const std::string& d : DateFormats()) {
      if (d.empty()) continue;
      out.push_back(d + " %H:%M:%S");
      out.push_back(d + " %H:%M");
      out.push_back(d + " %H:%M:%S.%f");
    }
    out.push_back("%m/%d/%Y %I:%M:%S %p");
    out.push_back("%m/%d/%Y %I:%M %p");
    return out;
  }();
  return f;
}

struct Candidate {
  int64_t fits = 0;
  int64_t misses = 0;
  std::string first_miss;
  int64_t first_miss_line = 0;
  // Stop trying a candidate that clearly lost: its share is then only reported as low.
  bool Hopeless(int64_t values) const { return misses > values / 5 + 20; }
  void Record(bool ok, std::string_view value, int64_t line) {
    if (ok) {
      ++fits;
      return;
    }
    if (misses++ == 0) {
      first_miss = Printable(value, 40);
      first_miss_line = line;
    }
  }
};

struct NumberStats {
  Candidate fixed;  // [+-]digits[.digits] in this notation
  Candidate real;   // anything fast_float reads, exponents included
  int max_int_digits = 0;
  int max_scale = 0;
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// "007", "-012": an integer part with a leading zero is a code, not a number.
bool HasLeadingZero(std::string_view plain) {
  if (!plain.empty() && (plain[0] == '+' || plain[0] == '-')) plain.remove_prefix(1);
  return plain.size() > 1 && plain[0] == '0' && IsDigit(plain[1]);
}

// Digits before and after the '.' of a plain fixed-point number; false when it is not one.
bool FixedPoint(std::string_view plain, int* int_digits, int* scale) {
  size_t p = 0;
  if (p < plain.size() && (plain[p] == '+' || plain[p] == '-')) ++p;
  size_t start = p;
  while (p < plain.size() && IsDigit(plain[p])) ++p;
  std::string_view ip = plain.substr(start, p - start);
  size_t fs = p;
  if (p < plain.size() && plain[p] == '.') {
    fs = ++p;
    while (p < plain.size() && IsDigit(plain[p])) ++p;
  }
  if (p != plain.size()) return false;
  std::string_view fp = fs <= p ? plain.substr(fs, p - fs) : std::string_view();
  if (ip.empty() && fp.empty()) return false;
  while (ip.size() > 1 && ip[0] == '0') ip.remove_prefix(1);
  while (!fp.empty() && fp.back() == '0') fp.remove_suffix(1);
  *int_digits = ip == "0" ? 0 : static_cast<int>(ip.size());
  *scale = static_cast<int>(fp.size());
  return true;
}

std::string Share(int64_t part, int64_t whole) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.0f%%", whole == 0 ? 0.0 : 100.0 * part / whole);
  return buf;
}

}  // namespace

struct ColumnGuesser::State {
  bool track_unique = false;
  int64_t values = 0;
  int64_t nulls = 0;
  std::vector<std::string> examples;
  Candidate boolean;
  bool bool_word = false;  // a value other than 0/1
  Candidate integer;
  NumberStats numbers[kNumNotations];
  std::vector<Candidate> dates = std::vector<Candidate>(DateFormats().size());
  std::vector<Candidate> timestamps = std::vector<Candidate>(TimestampFormats().size());
  std::set<std::string> null_tokens;
  std::unordered_set<std::string> seen;
  bool unique = true;
  std::string plain;
  std::string scratch;
  config::ColumnSchema probe;
};

ColumnGuesser::ColumnGuesser(bool track_unique) : state_(std::make_unique<State>()) {
  state_->track_unique = track_unique;
}
ColumnGuesser::~ColumnGuesser() = default;
ColumnGuesser::ColumnGuesser(ColumnGuesser&&) noexcept = default;
ColumnGuesser& ColumnGuesser::operator=(ColumnGuesser&&) noexcept = default;

const std::set<std::string>& ColumnGuesser::null_tokens_seen() const { return state_->null_tokens; }

bool IsNullValue(std::string_view value, bool quoted) {
  if (quoted) return false;
  if (value.empty()) return true;
  return std::find(std::begin(kNullTokens), std::end(kNullTokens), value) != std::end(kNullTokens);
}

void ColumnGuesser::Add(std::string_view value, bool quoted, int64_t line) {
  State& s = *state_;
  if (IsNullValue(value, quoted)) {
    ++s.nulls;
    if (!value.empty()) s.null_tokens.insert(std::string(value));
    s.unique = false;
    return;
  }
  ++s.values;
  if (s.examples.size() < 3 &&
      std::find(s.examples.begin(), s.examples.end(), value) == s.examples.end()) {
    s.examples.emplace_back(value);
  }
  if (s.track_unique && s.unique) {
    if (s.seen.size() >= 1000000 || !s.seen.emplace(value).second) {
      s.unique = false;
      s.seen.clear();
    }
  }
  const std::string_view trimmed = Trim(value);
  const bool digit_first =
      !trimmed.empty() && (IsDigit(trimmed[0]) || ((trimmed[0] == '-' || trimmed[0] == '+' ||
                                                    trimmed[0] == '.' || trimmed[0] == ',') &&
                                                   trimmed.size() > 1));
  // bool
  if (!s.boolean.Hopeless(s.values)) {
    const bool ok = csv::ParseBool(value, s.probe) >= 0;
    if (ok && trimmed != "0" && trimmed != "1") s.bool_word = true;
    s.boolean.Record(ok, value, line);
  } else {
    s.boolean.Record(false, value, line);
  }
  // int64
  {
    int64_t v = 0;
    const bool ok = digit_first && !s.integer.Hopeless(s.values) && csv::ParseInt64(value, &v) &&
                    !HasLeadingZero(trimmed);
    s.integer.Record(ok, value, line);
  }
  // numbers, in each notation
  for (size_t k = 0; k < kNumNotations; ++k) {
    NumberStats& n = s.numbers[k];
    bool fixed = false, real = false;
    if (digit_first && !(n.fixed.Hopeless(s.values) && n.real.Hopeless(s.values))) {
      bool plain_ok = true;
      if (k == 0) {
        s.plain.assign(trimmed);
      } else {
        s.probe.decimal_separator = kNotations[k].decimal;
        s.probe.thousands_separator = kNotations[k].thousands;
        plain_ok = csv::PlainNumber(value, s.probe, &s.plain, &s.scratch);
        s.probe.decimal_separator = '.';
        s.probe.thousands_separator.clear();
      }
      if (plain_ok && !HasLeadingZero(s.plain)) {
        int int_digits = 0, scale = 0;
        if (FixedPoint(s.plain, &int_digits, &scale)) {
          fixed = true;
          n.max_int_digits = std::max(n.max_int_digits, int_digits);
          n.max_scale = std::max(n.max_scale, scale);
        }
        double d = 0;
        real = csv::ParseFloat64(s.plain, &d);
      }
    }
    n.fixed.Record(fixed, value, line);
    n.real.Record(real, value, line);
  }
  // dates and timestamps
  // ISO timestamps may be a bare date (midnight); the other formats all hold a time.
  const bool has_colon = trimmed.find(':') != std::string_view::npos;
  for (size_t k = 0; k < s.dates.size(); ++k) {
    const bool ok = digit_first && !s.dates[k].Hopeless(s.values) &&
                    csv::ParseDateValue(value, DateFormats()[k], &s.scratch);
    s.dates[k].Record(ok, value, line);
  }
  for (size_t k = 0; k < s.timestamps.size(); ++k) {
    const bool ok = digit_first && (k == 0 || has_colon) && !s.timestamps[k].Hopeless(s.values) &&
                    csv::ParseTimestampValue(value, TimestampFormats()[k], &s.scratch);
    s.timestamps[k].Record(ok, value, line);
  }
}

ColumnGuess ColumnGuesser::Finish() const {
  const State& s = *state_;
  ColumnGuess g;
  g.values = s.values;
  g.nulls = s.nulls;
  g.examples = s.examples;
  g.unique = s.track_unique && s.unique && s.values > 0;
  g.column.nullable = s.nulls > 0 || s.values == 0;
  config::ColumnSchema& c = g.column;
  const int64_t n = s.values;
  auto all = [&](const Candidate& cand) { return n > 0 && cand.fits == n; };
  // The best near miss of the types above `chosen` (rank), for the note.
  struct Miss {
    std::string type;
    const Candidate* cand;
  };
  std::vector<Miss> misses;
  bool chosen = false;
  if (n == 0) {
    c.type = config::ColumnType::kString;
    g.note = "every value is empty or NULL: typed string until a delivery says more";
    chosen = true;
  }
  if (!chosen && all(s.boolean) && s.bool_word) {
    c.type = config::ColumnType::kBool;
    chosen = true;
  }
  misses.push_back({"bool", &s.boolean});
  if (!chosen && all(s.integer)) {
    c.type = config::ColumnType::kInt64;
    chosen = true;
  }
  misses.push_back({"int64", &s.integer});
  for (size_t k = 0; k < kNumNotations && !chosen; ++k) {
    const NumberStats& ns = s.numbers[k];
    const Notation& nt = kNotations[k];
    if (all(ns.fixed)) {
      const int digits = ns.max_int_digits + ns.max_scale;
      if (ns.max_scale == 0 && ns.max_int_digits <= 18) {
        c.type = config::ColumnType::kInt64;
        c.thousands_separator = nt.thousands;
        chosen = true;
      } else if (ns.max_scale <= 4 && digits <= 38) {
        c.type = config::ColumnType::kDecimal;
        c.scale = ns.max_scale;
        // Room for larger amounts than the sample's: at least 18 digits, as money columns have.
        c.precision = std::min(38, std::max(18, digits));
        c.precision = std::max(c.precision, c.scale + ns.max_int_digits);
        c.decimal_separator = nt.decimal;
        c.thousands_separator = nt.thousands;
        g.note = "up to " + std::to_string(ns.max_int_digits) + " integer digits and " +
                 std::to_string(ns.max_scale) + " decimals seen";
        chosen = true;
      }
    }
    if (!chosen && all(ns.real)) {
      c.type = config::ColumnType::kFloat64;
      c.decimal_separator = nt.decimal;
      c.thousands_separator = nt.thousands;
      if (ns.max_scale > 4) g.note = std::to_string(ns.max_scale) + " decimals seen: float64";
      chosen = true;
    }
  }
  // A column sluice reads as int64 must not hold a separator that is also its decimal mark.
  if (chosen && c.type == config::ColumnType::kInt64) c.decimal_separator = '.';
  misses.push_back({"a number", &s.numbers[0].real});
  auto pick_format = [&](const std::vector<Candidate>& cands, const std::vector<std::string>& fmts,
                         config::ColumnType type) {
    for (size_t k = 0; k < cands.size(); ++k) {
      if (!all(cands[k])) continue;
      c.type = type;
      if (!fmts[k].empty()) c.formats = {fmts[k]};
      std::vector<std::string> others;
      for (size_t j = k + 1; j < cands.size(); ++j) {
        if (all(cands[j])) others.push_back(fmts[j].empty() ? "ISO 8601" : fmts[j]);
      }
      if (!others.empty()) {
        g.note = "ambiguous: every value also reads as " + Join(others, ", ") +
                 "; check a day above 12 in a later delivery";
      }
      return true;
    }
    return false;
  };
  if (!chosen) chosen = pick_format(s.dates, DateFormats(), config::ColumnType::kDate);
  if (!chosen)
    chosen = pick_format(s.timestamps, TimestampFormats(), config::ColumnType::kTimestamp);
  if (!chosen) {
    c.type = config::ColumnType::kString;
    // The closest type that did not make it, when most values fit it.
    const Candidate* best = nullptr;
    std::string best_type;
    for (const Miss& m : misses) {
      if (best == nullptr || m.cand->fits > best->fits) {
        best = m.cand;
        best_type = m.type;
      }
    }
    auto consider = [&](const std::vector<Candidate>& cands, const char* type) {
      for (const Candidate& cand : cands) {
        if (cand.fits > best->fits) {
          best = &cand;
          best_type = type;
        }
      }
    };
    consider(s.dates, "a date");
    consider(s.timestamps, "a timestamp");
    if (best != nullptr && best->fits * 5 >= n * 4 && best->fits < n) {
      g.note = Share(best->fits, n) + " of the values are " + best_type + ", not all: \"" +
               best->first_miss + "\" (line " + std::to_string(best->first_miss_line) + ")";
    }
  }
  g.fits = n;
  return g;
}

bool FitsType(std::string_view value, const config::ColumnSchema& column) {
  std::string out, error;
  switch (column.type) {
    case config::ColumnType::kString:
      return IsValidUtf8(value);
    case config::ColumnType::kBool:
      return csv::ParseBool(value, column) >= 0;
    case config::ColumnType::kInt64: {
      int64_t v = 0;
      if (column.thousands_separator.empty()) return csv::ParseInt64(value, &v);
      return csv::PlainNumber(value, column, &out, &error) && csv::ParseInt64(out, &v);
    }
    case config::ColumnType::kFloat64: {
      double d = 0;
      return csv::PlainNumber(value, column, &out, &error) && csv::ParseFloat64(out, &d);
    }
    case config::ColumnType::kDecimal: {
      std::string canonical;
      return csv::PlainNumber(value, column, &out, &error) &&
             csv::CanonicalDecimal(out, column.precision, column.scale, &canonical, &error);
    }
    case config::ColumnType::kDate:
    case config::ColumnType::kTimestamp:
      return csv::ParseTimeValue(value, column, &out);
  }
  return false;
}

}  // namespace sluice::infer
