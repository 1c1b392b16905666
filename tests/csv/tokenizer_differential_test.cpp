// Differential test: the tokenizer (SSE2 fast path, streaming buffer, state machine) against a
// straightforward reference reader, on random valid CSV written from random tables.
//
// Three views must agree on every case: the table the generator wrote, the reference reader's
// records (one character at a time over the whole string, no buffering), and the tokenizer's
// records at several buffer sizes (so records straddle reads). A seeded generator makes every
// failure reproducible: the message prints the seed and the CSV.
#include <gtest/gtest.h>

#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "core/strings.h"
#include "csv/tokenizer.h"

namespace sluice::csv {
namespace {

struct Dialect {
  char delimiter;
  char quote;
};

struct RefRecord {
  std::vector<std::string> fields;
  std::vector<uint8_t> quoted;
  int64_t line = 0;
  int64_t offset = 0;
  std::string raw;
  bool operator==(const RefRecord&) const = default;
  friend void PrintTo(const RefRecord& r, std::ostream* os) {
    *os << "{line " << r.line << ", offset " << r.offset << ", raw \"" << Printable(r.raw, 200)
        << "\", " << r.fields.size() << " fields}";
  }
};

// The reference: RFC 4180 read one character at a time, as a person would write it. Records end
// at LF, CRLF or a lone CR; a line with nothing on it is skipped; inside quotes a doubled quote
// is one quote and line breaks are data (and count as lines).
std::vector<RefRecord> ReferenceRead(const std::string& s, Dialect d) {
  std::vector<RefRecord> out;
  size_t i = 0;
  int64_t line = 1;
  auto at_break = [&](size_t k) { return k < s.size() && (s[k] == '\n' || s[k] == '\r'); };
  auto skip_break = [&](size_t k) {  // index after the line break at k
    return s[k] == '\r' && k + 1 < s.size() && s[k + 1] == '\n' ? k + 2 : k + 1;
  };
  while (i < s.size()) {
    if (at_break(i)) {  // a blank line
      i = skip_break(i);
      ++line;
      continue;
    }
    RefRecord r;
    r.line = line;
    r.offset = static_cast<int64_t>(i);
    int64_t lines_inside = 0;
    while (true) {
      std::string field;
      uint8_t quoted = 0;
      if (i < s.size() && s[i] == d.quote) {
        quoted = 1;
        ++i;
        while (true) {
          if (s[i] == d.quote) {
            if (i + 1 < s.size() && s[i + 1] == d.quote) {
              field += d.quote;
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (s[i] == '\n' || (s[i] == '\r' && (i + 1 >= s.size() || s[i + 1] != '\n'))) {
            ++lines_inside;
          }
          field += s[i++];
        }
      } else {
        while (i < s.size() && s[i] != d.delimiter && !at_break(i)) field += s[i++];
      }
      r.fields.push_back(field);
      r.quoted.push_back(quoted);
      if (i < s.size() && s[i] == d.delimiter) {
        ++i;
        if (i == s.size()) {  // "a,b," at the end of the file: one more empty field
          r.fields.emplace_back();
          r.quoted.push_back(0);
          break;
        }
        continue;
      }
      break;
    }
    r.raw = s.substr(static_cast<size_t>(r.offset), i - static_cast<size_t>(r.offset));
    if (i < s.size()) i = skip_break(i);
    line += 1 + lines_inside;
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<RefRecord> Tokenize(const std::string& s, Dialect d, size_t buffer, Status* status) {
  StringSource source(s);
  TokenizerOptions o;
  o.delimiter = d.delimiter;
  o.quote = d.quote;
  o.buffer_bytes = buffer;
  Tokenizer tok(&source, o);
  std::vector<RefRecord> out;
  Record rec;
  while (true) {
    auto has = tok.Next(&rec);
    if (!has.ok()) {
      *status = has.status();
      break;
    }
    if (!*has) break;
    EXPECT_EQ(rec.error, RowError::kNone) << rec.error_message;
    RefRecord r;
    r.fields.assign(rec.fields.begin(), rec.fields.end());
    r.quoted = rec.quoted;
    r.line = rec.line;
    r.offset = rec.byte_offset;
    r.raw = std::string(rec.raw);
    out.push_back(std::move(r));
  }
  return out;
}

// A random field: mostly short plain text, sometimes the dialect's special characters, UTF-8
// and spaces, sometimes long (past the 16-byte SIMD blocks).
std::string RandomField(std::mt19937_64& rng, Dialect d) {
  static const std::vector<std::string> kPieces = {"a",  "Z", "0",   "7", " ", "é",
                                                   "한", "😀", "x y", "-", ".", "\t"};
  std::string special = {d.delimiter, d.quote, '\n', '\r'};
  std::uniform_int_distribution<int> len_kind(0, 9);
  const int kind = len_kind(rng);
  const size_t len = kind < 6 ? rng() % 6 : kind < 9 ? rng() % 40 : 100 + rng() % 200;
  std::string f;
  for (size_t k = 0; k < len; ++k) {
    if (rng() % 10 == 0) {
      f += special[rng() % special.size()];
      if (rng() % 4 == 0) f += "\r\n";
    } else {
      f += kPieces[rng() % kPieces.size()];
    }
  }
  return f;
}

struct Case {
  std::string csv;
  std::vector<RefRecord> expected;  // from the generator
};

Case Generate(std::mt19937_64& rng, Dialect d) {
  Case c;
  const size_t rows = 1 + rng() % 12;
  const size_t cols = 1 + rng() % 6;
  int64_t line = 1;
  static const char* const kBreaks[] = {"\n", "\r\n", "\r"};
  for (size_t r = 0; r < rows; ++r) {
    RefRecord rec;
    rec.line = line;
    rec.offset = static_cast<int64_t>(c.csv.size());
    for (size_t k = 0; k < cols; ++k) {
      std::string f = RandomField(rng, d);
      const bool must_quote =
          f.find_first_of(std::string{d.delimiter, d.quote, '\n', '\r'}) != std::string::npos ||
          (cols == 1 && f.empty());  // an empty line would be a blank line, not a record
      // A first record starting "sep=" would be read as Excel's delimiter line.
      const bool sep_like = r == 0 && k == 0 && ToLower(f.substr(0, 4)) == "sep=";
      const bool quote = must_quote || sep_like || rng() % 8 == 0;
      if (k > 0) c.csv += d.delimiter;
      if (quote) {
        c.csv += d.quote;
        for (char ch : f) {
          if (ch == d.quote) c.csv += d.quote;
          c.csv += ch;
        }
        c.csv += d.quote;
        for (size_t i = 0; i < f.size(); ++i) {
          if (f[i] == '\n' || (f[i] == '\r' && (i + 1 >= f.size() || f[i + 1] != '\n'))) ++line;
        }
      } else {
        c.csv += f;
      }
      rec.fields.push_back(f);
      rec.quoted.push_back(quote ? 1 : 0);
    }
    rec.raw = c.csv.substr(static_cast<size_t>(rec.offset));
    ++line;
    const bool last = r + 1 == rows;
    if (!last || rng() % 2 == 0) {
      // A lone CR before a quoted first field is fine; before the next record it is a break.
      const char* brk = kBreaks[rng() % 3];
      c.csv += brk;
      if (!last && rng() % 10 == 0) {  // a blank line between records
        // The same break again: "\r" then "\n" would be one CRLF, not a blank line.
        c.csv += brk;
        ++line;
      }
    }
    c.expected.push_back(std::move(rec));
  }
  return c;
}

TEST(CsvTokenizerDifferential, AgreesWithAReferenceReaderOnRandomValidCsv) {
  const Dialect kDialects[] = {{',', '"'}, {';', '"'}, {'\t', '"'}, {'|', '\''}, {',', '\''}};
  int cases = 0;
  for (uint64_t seed = 1; seed <= 3000; ++seed) {
    std::mt19937_64 rng(seed);
    const Dialect d = kDialects[seed % 5];
    const Case c = Generate(rng, d);
    const std::vector<RefRecord> ref = ReferenceRead(c.csv, d);
    ASSERT_EQ(ref, c.expected) << "the reference reader disagrees with the generator; seed " << seed
                               << ", csv: " << Printable(c.csv, 2000);
    for (size_t buffer : {size_t{1}, size_t{7}, size_t{64}, size_t{1} << 20}) {
      Status st;
      const std::vector<RefRecord> got = Tokenize(c.csv, d, buffer, &st);
      ASSERT_TRUE(st.ok()) << "seed " << seed << ": " << st.ToString();
      ASSERT_EQ(got.size(), ref.size())
          << "seed " << seed << ", buffer " << buffer << ", csv: " << Printable(c.csv, 2000);
      for (size_t i = 0; i < got.size(); ++i) {
        ASSERT_EQ(got[i].fields, ref[i].fields)
            << "seed " << seed << ", buffer " << buffer << ", record " << i
            << ", csv: " << Printable(c.csv, 2000);
        ASSERT_EQ(got[i].quoted, ref[i].quoted) << "seed " << seed << ", record " << i;
        ASSERT_EQ(got[i].line, ref[i].line) << "seed " << seed << ", record " << i;
        ASSERT_EQ(got[i].offset, ref[i].offset) << "seed " << seed << ", record " << i;
        ASSERT_EQ(got[i].raw, ref[i].raw) << "seed " << seed << ", record " << i;
      }
    }
    ++cases;
  }
  EXPECT_EQ(cases, 3000);
}

}  // namespace
}  // namespace sluice::csv
