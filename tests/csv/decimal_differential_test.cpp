// Differential test: decimal and int64 conversion against exact integer arithmetic.
//
// CanonicalDecimal (csv/conform.h) works on the digits as text. The oracle here works on the
// value: it reads the same random string into an exact rational N / 10^k (N a digit string of
// any length), applies conform's documented rules (decimal(p,s): no rounding, ever; at most s
// fraction digits once trailing zeros are dropped; at most p-s integer digits; canonical text
// with exactly s fraction digits and no negative zero), and computes the expected text with
// unsigned __int128 arithmetic (10^38 < 2^127). ParseInt64 is checked the same way against
// __int128 for the overflow edges. Seeded generators: a failure prints its input.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "config/pipeline_config.h"
#include "csv/conform.h"

namespace sluice::csv {
namespace {

__extension__ typedef unsigned __int128 U128;  // GCC and clang; -Wpedantic knows

std::string ToString(U128 v) {
  if (v == 0) return "0";
  std::string s;
  while (v > 0) {
    s.insert(s.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  }
  return s;
}

U128 Pow10(int n) {
  U128 v = 1;
  for (int i = 0; i < n; ++i) v *= 10;
  return v;
}

struct Expected {
  bool ok = false;
  std::string text;   // when ok
  std::string error;  // "places" or "integer digits" or "not a decimal"
};

// The oracle. `text` = spaces, [+-], digits, optional '.', digits, spaces (or garbage).
Expected Oracle(const std::string& text, int p, int s) {
  Expected e;
  size_t b = text.find_first_not_of(" \t");
  size_t t = text.find_last_not_of(" \t");
  if (b == std::string::npos) {
    e.error = "not a decimal";
    return e;
  }
  std::string body = text.substr(b, t - b + 1);
  bool neg = false;
  if (body[0] == '+' || body[0] == '-') {
    neg = body[0] == '-';
    body.erase(0, 1);
  }
  const size_t dot = body.find('.');
  std::string ip = dot == std::string::npos ? body : body.substr(0, dot);
  std::string fp = dot == std::string::npos ? "" : body.substr(dot + 1);
  auto digits = [](const std::string& x) {
    return x.find_first_not_of("0123456789") == std::string::npos;
  };
  if (!digits(ip) || !digits(fp) || (ip.empty() && fp.empty())) {
    e.error = "not a decimal";
    return e;
  }
  // Value = N / 10^k, N = ip fp (as one integer), k = |fp|. Scaled to s places: M = N*10^(s-k)
  // when k <= s, else N / 10^(k-s), exact only when N's last k-s digits are zeros.
  std::string n = ip + fp;
  const int k = static_cast<int>(fp.size());
  if (k > s) {
    const size_t drop = static_cast<size_t>(k - s);
    if (n.substr(n.size() - drop).find_first_not_of('0') != std::string::npos) {
      e.error = "places";
      return e;
    }
    n.resize(n.size() - drop);
  } else {
    n.append(static_cast<size_t>(s - k), '0');
  }
  // M < 10^p, i.e. fewer than p+1 significant digits.
  const size_t first = n.find_first_not_of('0');
  const std::string m_digits = first == std::string::npos ? "0" : n.substr(first);
  if (m_digits.size() > static_cast<size_t>(p)) {
    e.error = "integer digits";
    return e;
  }
  U128 m = 0;
  for (char c : m_digits) m = m * 10 + static_cast<U128>(c - '0');
  const U128 scale = Pow10(s);
  std::string out = (neg && m != 0) ? "-" : "";
  out += ToString(m / scale);
  if (s > 0) {
    std::string frac = ToString(m % scale);
    out += "." + std::string(static_cast<size_t>(s) - frac.size(), '0') + frac;
  }
  e.ok = true;
  e.text = out;
  return e;
}

std::string RandomDigits(std::mt19937_64& rng, size_t max) {
  std::string d;
  const size_t n = rng() % (max + 1);
  for (size_t i = 0; i < n; ++i) d.push_back(static_cast<char>('0' + rng() % 10));
  // Leading and trailing zeros are where canonical forms go wrong: add runs of them.
  if (rng() % 4 == 0) d.insert(0, rng() % 30, '0');
  if (rng() % 4 == 0) d.append(rng() % 30, '0');
  return d;
}

std::string RandomDecimalText(std::mt19937_64& rng) {
  std::string t;
  if (rng() % 8 == 0) t += std::string(rng() % 3, ' ') + (rng() % 2 ? "\t" : "");
  switch (rng() % 4) {
    case 0:
      t += "-";
      break;
    case 1:
      t += "+";
      break;
    default:
      break;
  }
  t += RandomDigits(rng, 40);
  if (rng() % 3 != 0) t += "." + RandomDigits(rng, 40);
  if (rng() % 8 == 0) t += " ";
  switch (rng() % 40) {  // now and then, something that is not a decimal
    case 0:
      t += "e5";
      break;
    case 1:
      t.insert(t.size() / 2, ",");
      break;
    case 2:
      t += ".1";
      break;
    case 3:
      t = "-";
      break;
    case 4:
      t = ".";
      break;
    case 5:
      t.insert(0, "--");
      break;
    default:
      break;
  }
  return t;
}

TEST(DecimalDifferential, CanonicalDecimalAgreesWithExactArithmeticOnRandomText) {
  int accepted = 0, refused = 0;
  for (uint64_t seed = 1; seed <= 200000; ++seed) {
    std::mt19937_64 rng(seed);
    const int p = 1 + static_cast<int>(rng() % 38);
    const int s = static_cast<int>(rng() % static_cast<uint64_t>(p + 1));
    const std::string text = RandomDecimalText(rng);
    const Expected want = Oracle(text, p, s);
    std::string out, error;
    const bool ok = CanonicalDecimal(text, p, s, &out, &error);
    ASSERT_EQ(ok, want.ok) << "decimal(" << p << "," << s << ") of \"" << text << "\": got "
                           << (ok ? out : error) << ", oracle "
                           << (want.ok ? want.text : want.error);
    if (ok) {
      ASSERT_EQ(out, want.text) << "decimal(" << p << "," << s << ") of \"" << text << "\"";
      ++accepted;
    } else {
      // The reason names the rule the oracle found broken.
      if (want.error == "places") {
        EXPECT_NE(error.find("decimal places"), std::string::npos) << text << ": " << error;
      } else if (want.error == "integer digits") {
        EXPECT_NE(error.find("integer digits"), std::string::npos) << text << ": " << error;
      } else {
        EXPECT_EQ(error, "not a decimal number") << text;
      }
      ++refused;
    }
  }
  // Both outcomes were exercised often, so the comparison means something.
  EXPECT_GT(accepted, 10000);
  EXPECT_GT(refused, 10000);
}

TEST(DecimalDifferential, BoundariesOfEveryPrecisionAndScale) {
  for (int p = 1; p <= 38; ++p) {
    for (int s = 0; s <= p; ++s) {
      // The largest value: p-s nines, '.', s nines; one more unit in the last place overflows.
      const std::string nines_int(static_cast<size_t>(p - s), '9');
      const std::string nines_frac(static_cast<size_t>(s), '9');
      const std::string max =
          (nines_int.empty() ? "0" : nines_int) + (s > 0 ? "." + nines_frac : std::string());
      for (const std::string& text : {max, "-" + max, "1" + std::string(p - s, '0'),
                                      "0." + std::string(static_cast<size_t>(s), '0') + "1"}) {
        const Expected want = Oracle(text, p, s);
        std::string out, error;
        const bool ok = CanonicalDecimal(text, p, s, &out, &error);
        ASSERT_EQ(ok, want.ok) << "decimal(" << p << "," << s << ") of " << text << ": " << error;
        if (ok) {
          EXPECT_EQ(out, want.text) << "decimal(" << p << "," << s << ") of " << text;
        }
      }
    }
  }
}

TEST(DecimalDifferential, ParseInt64AgreesWithWideArithmeticAtTheEdges) {
  __extension__ typedef __int128 I128;
  const I128 kMin = -(I128{1} << 63), kMax = (I128{1} << 63) - 1;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100000; ++i) {
    // Values around the int64 edges and anywhere, written with signs, zeros and spaces.
    I128 v;
    switch (rng() % 4) {
      case 0:
        v = kMax - static_cast<I128>(rng() % 1000) + 500;
        break;
      case 1:
        v = kMin + static_cast<I128>(rng() % 1000) - 500;
        break;
      case 2:
        v = static_cast<I128>(static_cast<int64_t>(rng()));
        break;
      default:
        v = static_cast<I128>(rng() % 100000) - 50000;
        break;
    }
    const bool neg = v < 0;
    const U128 mag = neg ? static_cast<U128>(-v) : static_cast<U128>(v);
    std::string text = std::string(rng() % 2, ' ') + (neg ? "-" : (rng() % 3 == 0 ? "+" : "")) +
                       std::string(rng() % 3, '0') + ToString(mag) + std::string(rng() % 2, '\t');
    int64_t got = 0;
    const bool ok = ParseInt64(text, &got);
    const bool fits = v >= kMin && v <= kMax;
    ASSERT_EQ(ok, fits) << "\"" << text << "\"";
    if (ok) {
      ASSERT_EQ(static_cast<I128>(got), v) << "\"" << text << "\"";
    }
  }
}

}  // namespace
}  // namespace sluice::csv
