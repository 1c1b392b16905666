// fuzz/csv_values.cpp: the single-value conversions of csv/conform.h with any text and any
// column settings `sluice validate` accepts (formats checked by CheckTimeFormat).
//
// Input: [function byte][settings bytes][format string] then the value's text.
// Checked, besides "no crash, no sanitizer report": every accepted value's stored form is
// canonical (reading it again gives the same text; an int64 prints back as it reads), a
// decimal keeps within its precision and scale, stored text is valid UTF-8, and header folding
// is idempotent (a folded name folds to itself, so matching is stable).
#include <charconv>
#include <cstdint>
#include <string>

#include "config/pipeline_config.h"
#include "core/strings.h"
#include "csv/conform.h"
#include "fuzz_input.h"

namespace {

using sluice::fuzz::FuzzInput;

// Digits before and after the '.' of canonical decimal text.
void CheckDecimalShape(const std::string& text, int precision, int scale) {
  size_t start = !text.empty() && text[0] == '-' ? 1 : 0;
  size_t dot = text.find('.');
  size_t int_digits = (dot == std::string::npos ? text.size() : dot) - start;
  size_t frac_digits = dot == std::string::npos ? 0 : text.size() - dot - 1;
  FUZZ_CHECK(int_digits >= 1, "a decimal has an integer digit: " + text);
  FUZZ_CHECK(int_digits <= static_cast<size_t>(precision - scale) || text.substr(start) == "0" ||
                 text.substr(start, 2) == "0.",
             "integer digits within p-s: " + text);
  FUZZ_CHECK(frac_digits <= static_cast<size_t>(scale), "fraction digits within s: " + text);
  for (size_t i = start; i < text.size(); ++i) {
    FUZZ_CHECK(i == dot || (text[i] >= '0' && text[i] <= '9'), "only digits: " + text);
  }
  if (start == 1) {
    FUZZ_CHECK(text.find_first_of("123456789") != std::string::npos, "no negative zero: " + text);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const uint8_t which = in.Byte();
  const uint8_t settings = in.Byte();
  std::string format = in.String(24);
  std::string_view text = in.Rest();
  std::string out, error, again;
  switch (which % 9) {
    case 0: {
      int64_t v = 0;
      if (sluice::csv::ParseInt64(text, &v)) {
        int64_t w = 1;
        FUZZ_CHECK(sluice::csv::ParseInt64(std::to_string(v), &w) && w == v,
                   "an int64 prints back as it reads");
      }
      break;
    }
    case 1: {
      double v = 0;
      if (sluice::csv::ParseFloat64(text, &v)) {
        FUZZ_CHECK(v == v && v - v == 0, "no NaN or infinity is accepted");
      }
      break;
    }
    case 2: {
      const int p = 1 + settings % 38;
      const int s =
          static_cast<int>(static_cast<uint8_t>(format.empty() ? 0 : format[0]) % (p + 1));
      if (sluice::csv::CanonicalDecimal(text, p, s, &out, &error)) {
        CheckDecimalShape(out, p, s);
        FUZZ_CHECK(sluice::csv::CanonicalDecimal(out, p, s, &again, &error) && again == out,
                   "canonical decimal text reads as itself: " + out);
      } else {
        FUZZ_CHECK(!error.empty(), "a refused decimal says why");
      }
      break;
    }
    case 3: {
      sluice::config::ColumnSchema col;
      col.type = (settings & 1) ? sluice::config::ColumnType::kDecimal
                                : sluice::config::ColumnType::kFloat64;
      col.precision = 38;
      col.scale = 10;
      static const char* const kThousands[] = {"", ",", ".", " ", "'"};
      col.thousands_separator = kThousands[(settings >> 1) % 5];
      col.decimal_separator = (settings & 0x10) ? ',' : '.';
      if (col.thousands_separator == std::string(1, col.decimal_separator)) break;
      if (sluice::csv::PlainNumber(text, col, &out, &error)) {
        // Separators go, digits stay: no digit is lost or invented (whatever else the text
        // holds passes through for the number parsers to refuse).
        auto digits = [](std::string_view v) {
          std::string d;
          for (char c : v) {
            if (c >= '0' && c <= '9') d.push_back(c);
          }
          return d;
        };
        FUZZ_CHECK(digits(out) == digits(text), "plain notation keeps the digits: " + out);
      } else {
        FUZZ_CHECK(!error.empty(), "a refused number says why");
      }
      break;
    }
    case 4: {
      sluice::config::ColumnSchema col;
      col.type = sluice::config::ColumnType::kBool;
      if (settings & 1) col.true_values = {format};
      if (settings & 2) col.false_values = {"non"};
      const int b = sluice::csv::ParseBool(text, col);
      FUZZ_CHECK(b >= -1 && b <= 1, "bool is -1, 0 or 1");
      break;
    }
    case 5:
    case 6: {
      const bool date = which % 9 == 5;
      if (settings & 1) format.clear();  // ISO
      if (!format.empty() && !sluice::config::CheckTimeFormat(format).empty()) break;
      const bool ok = date ? sluice::csv::ParseDateValue(text, format, &out)
                           : sluice::csv::ParseTimestampValue(text, format, &out);
      if (!ok) break;
      FUZZ_CHECK(sluice::IsValidUtf8(out), "stored text is UTF-8");
      const bool again_ok = date ? sluice::csv::ParseDateValue(out, "", &again)
                                 : sluice::csv::ParseTimestampValue(out, "", &again);
      FUZZ_CHECK(again_ok && again == out,
                 "stored " + std::string(date ? "date" : "timestamp") + " [" + out +
                     "] reads back as itself (read [" + sluice::Printable(text) + "] with [" +
                     sluice::Printable(format) + "], got [" + again + "])");
      break;
    }
    case 7: {
      const std::string folded = sluice::csv::FoldHeader(text);
      FUZZ_CHECK(sluice::csv::FoldHeader(folded) == folded, "FoldHeader is idempotent");
      break;
    }
    case 8: {
      const std::string loose = sluice::csv::LooseHeader(text);
      FUZZ_CHECK(sluice::csv::LooseHeader(loose) == loose, "LooseHeader is idempotent");
      break;
    }
  }
  return 0;
}
