#include "infer/dialect_sniff.h"

#include <algorithm>
#include <map>
#include <optional>

#include "csv/tokenizer.h"

namespace sluice::infer {

namespace {

struct Candidate {
  char delimiter = ',';
  char quote = '"';
  bool quoting = true;
  int priority = 0;  // lower wins ties
  // Results.
  bool ok = false;
  std::string failure;
  int columns = 0;
  int skip = 0;
  int64_t records = 0;
  int64_t consistent = 0;
  int64_t row_errors = 0;
  int64_t quoted = 0;
  int64_t multiline = 0;
  std::vector<int64_t> odd_lines;
  char declared = '\0';
};

std::string QuoteName(const Candidate& c) {
  if (!c.quoting) return "no quoting";
  return c.quote == '"' ? "quote \"" : "quote '";
}

// Tokenizes up to `max_records` records under `c`'s dialect and fills its results.
void Evaluate(std::string_view text, int64_t max_records, Candidate* c) {
  csv::StringSource source(text);
  csv::TokenizerOptions opts;
  opts.delimiter = c->delimiter;
  opts.quote = c->quote;
  opts.quoting = c->quoting;
  csv::Tokenizer tok(&source, opts);
  csv::Record rec;
  std::vector<int> counts;
  std::vector<int64_t> lines;
  while (static_cast<int64_t>(counts.size()) < max_records) {
    Result<bool> more = tok.Next(&rec);
    if (!more.ok()) {
      c->failure = more.status().message();
      return;
    }
    if (!*more) break;
    if (rec.error != csv::RowError::kNone) ++c->row_errors;
    counts.push_back(static_cast<int>(rec.fields.size()));
    lines.push_back(rec.line);
    for (uint8_t q : rec.quoted) c->quoted += q;
    if (rec.raw.find_first_of("\r\n") != std::string_view::npos) ++c->multiline;
  }
  c->declared = tok.declared_delimiter();
  if (counts.empty()) {
    c->failure = "no records";
    return;
  }
  // Leading records (at most 10) whose field count differs from the rest: title lines.
  std::map<int, int64_t> freq;
  for (int n : counts) ++freq[n];
  int mode = 0;
  int64_t best = -1;
  for (const auto& [n, f] : freq) {
    if (f > best || (f == best && n > mode)) {
      mode = n;
      best = f;
    }
  }
  int skip = 0;
  while (skip < 10 && skip < static_cast<int>(counts.size()) - 1 && counts[skip] != mode) ++skip;
  if (skip == 10 || skip >= static_cast<int>(counts.size())) skip = 0;
  c->skip = skip;
  c->columns = mode;
  c->records = static_cast<int64_t>(counts.size()) - skip;
  c->consistent = 0;
  for (size_t i = static_cast<size_t>(skip); i < counts.size(); ++i) {
    if (counts[i] == mode) {
      ++c->consistent;
    } else if (c->odd_lines.size() < 5) {
      c->odd_lines.push_back(lines[i]);
    }
  }
  c->ok = true;
}

// True when `a` reads the file better than `b`.
bool Better(const Candidate& a, const Candidate& b) {
  if (a.ok != b.ok) return a.ok;
  // A single column is what every wrong delimiter gives; it only wins when nothing splits.
  const bool a_multi = a.columns > 1, b_multi = b.columns > 1;
  if (a_multi != b_multi) return a_multi;
  const int64_t a_good = a.consistent - a.row_errors, b_good = b.consistent - b.row_errors;
  if (a_good != b_good) return a_good > b_good;
  if (a.columns != b.columns) return a.columns > b.columns;
  return a.priority < b.priority;
}

}  // namespace

std::string ShowDelimiter(char delimiter) {
  if (delimiter == '\t') return "\\t";
  return std::string(1, delimiter);
}

std::string DescribeLineEndings(std::string_view text) {
  int64_t crlf = 0, lf = 0, cr = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      if (i + 1 < text.size() && text[i + 1] == '\n') {
        ++crlf;
        ++i;
      } else {
        ++cr;
      }
    } else if (text[i] == '\n') {
      ++lf;
    }
  }
  const int kinds = (crlf > 0) + (lf > 0) + (cr > 0);
  if (kinds == 0) return "none (one line)";
  if (kinds == 1) return crlf > 0 ? "CRLF" : lf > 0 ? "LF" : "CR";
  std::string out = "mixed (";
  std::string sep;
  if (crlf > 0) out += std::to_string(crlf) + " CRLF", sep = ", ";
  if (lf > 0) out += sep + std::to_string(lf) + " LF", sep = ", ";
  if (cr > 0) out += sep + std::to_string(cr) + " CR";
  return out + "; sluice reads each)";
}

Result<DialectGuess> SniffDialect(std::string_view utf8, const DialectOptions& options) {
  std::vector<Candidate> candidates;
  int priority = 0;
  // Quote rules outer, delimiters inner, so equal scores prefer '"' and then ','.
  for (int q = 0; q < 3; ++q) {
    for (char d : {',', ';', '\t', '|'}) {
      Candidate c;
      c.delimiter = d;
      c.quoting = q != 1;
      c.quote = q == 2 ? '\'' : '"';
      c.priority = priority++;
      candidates.push_back(c);
    }
  }
  for (Candidate& c : candidates) Evaluate(utf8, options.max_records, &c);
  // An Excel "sep=X" line names the delimiter: keep only those candidates.
  char declared = '\0';
  for (const Candidate& c : candidates) {
    if (c.declared != '\0') declared = c.declared;
  }
  size_t best = 0;
  for (size_t i = 1; i < candidates.size(); ++i) {
    if (declared != '\0' && candidates[i].delimiter != declared) continue;
    if ((declared != '\0' && candidates[best].delimiter != declared) ||
        Better(candidates[i], candidates[best])) {
      best = i;
    }
  }
  const Candidate& w = candidates[best];
  if (!w.ok) {
    return Status::InvalidArgument("no CSV dialect reads the sample: with delimiter \"" +
                                   ShowDelimiter(w.delimiter) + "\" and " + QuoteName(w) + ": " +
                                   w.failure);
  }
  DialectGuess g;
  g.dialect.delimiter = w.delimiter;
  g.dialect.quote = w.quote;
  g.dialect.quoting = w.quoting;
  g.dialect.skip_lines = w.skip;
  g.columns = w.columns;
  g.records = w.records;
  g.consistent = w.consistent;
  g.odd_lines = w.odd_lines;
  g.quoted_fields = w.quoted;
  g.multiline_records = w.multiline;
  g.line_ending = DescribeLineEndings(utf8);
  g.confidence = w.records == 0 ? 0 : static_cast<double>(w.consistent) / w.records;
  g.reason = std::to_string(w.consistent) + " of " + std::to_string(w.records) + " records have " +
             std::to_string(w.columns) + " fields";
  if (declared != '\0') g.reason += "; the file's \"sep=\" line names the delimiter";
  // The runner-up with another delimiter, for the user to judge how close it was.
  std::optional<size_t> second;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (i == best || candidates[i].delimiter == w.delimiter || !candidates[i].ok) continue;
    if (!second || Better(candidates[i], candidates[*second])) second = i;
  }
  if (second) {
    const Candidate& s = candidates[*second];
    g.reason += "; with \"" + ShowDelimiter(s.delimiter) + "\": " + std::to_string(s.consistent) +
                " of " + std::to_string(s.records) + " have " + std::to_string(s.columns);
  }
  if (w.quoting) {
    // Quoting on costs nothing when no field is quoted, and reads quoted fields that come later.
    g.reason += w.quoted > 0 ? "; " + std::to_string(w.quoted) + " quoted fields" : "";
    for (const Candidate& c : candidates) {
      if (c.delimiter == w.delimiter && !c.quoting && c.ok && w.quoted > 0 &&
          c.consistent - c.row_errors < w.consistent - w.row_errors) {
        g.reason += " (without quoting only " + std::to_string(c.consistent - c.row_errors) +
                    " records would be consistent)";
      }
    }
  }
  if (w.multiline > 0) {
    g.reason += "; " + std::to_string(w.multiline) + " records hold a line break inside quotes";
  }
  if (w.skip > 0) {
    g.reason += "; the first " + std::to_string(w.skip) +
                " records have another field count and are skipped (skip_lines)";
  }
  return g;
}

}  // namespace sluice::infer
