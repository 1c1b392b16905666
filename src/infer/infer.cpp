#include "infer/infer.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "core/strings.h"
#include "csv/conform.h"
#include "csv/tokenizer.h"

namespace sluice::infer {

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string StripExtension(std::string_view base, std::string* ext) {
  const std::string lower = ToLower(base);
  for (const char* e : {".csv.gz", ".csv.zst", ".csv", ".tsv", ".txt", ".psv", ".dat"}) {
    if (EndsWith(lower, e)) {
      const size_t n = std::string_view(e).size();
      *ext = std::string(base.substr(base.size() - n));
      return std::string(base.substr(0, base.size() - n));
    }
  }
  *ext = "";
  return std::string(base);
}

// The length of a date written at s[i] (20261124, 2026-11-24, 2026_11_24, 2026.11.24), or 0;
// `*format` gets its strftime form.
size_t DateTokenAt(std::string_view s, size_t i, std::string* format) {
  auto digits = [&](size_t at, size_t n) {
    if (at + n > s.size()) return false;
    for (size_t k = at; k < at + n; ++k) {
      if (!IsDigit(s[k])) return false;
    }
    return true;
  };
  if (i > 0 && IsDigit(s[i - 1])) return 0;
  if (!digits(i, 4) || (s.substr(i, 2) != "19" && s.substr(i, 2) != "20")) return 0;
  if (digits(i, 8) && !(i + 8 < s.size() && IsDigit(s[i + 8]))) {
    *format = "%Y%m%d";
    return 8;
  }
  if (i + 10 <= s.size()) {
    const char sep = s[i + 4];
    if ((sep == '-' || sep == '_' || sep == '.') && s[i + 7] == sep && digits(i + 5, 2) &&
        digits(i + 8, 2) && !(i + 10 < s.size() && IsDigit(s[i + 10]))) {
      *format = sep == '-' ? "" : std::string("%Y") + sep + "%m" + sep + "%d";
      return 10;
    }
  }
  return 0;
}

// The file-name stem of a table: dates and a trailing number (part1, _003) become '*'.
struct NameShape {
  std::string pattern;  // glob
  std::string stem;     // the name without the variable parts
};

NameShape ShapeOf(std::string_view base) {
  std::string ext;
  const std::string stem = StripExtension(base, &ext);
  NameShape shape;
  bool variable = false;
  for (size_t i = 0; i < stem.size();) {
    std::string format;
    if (size_t n = DateTokenAt(stem, i, &format); n > 0) {
      shape.pattern += '*';
      i += n;
      variable = true;
      continue;
    }
    shape.pattern += stem[i];
    shape.stem += stem[i];
    ++i;
  }
  // A trailing number ("orders_part2", "orders_003") varies between files of one table.
  size_t end = shape.stem.size();
  while (end > 0 && IsDigit(shape.stem[end - 1])) --end;
  if (end < shape.stem.size() && end > 0) {
    const size_t digits = shape.stem.size() - end;
    shape.stem.resize(end);
    // Only when the pattern ends with those digits too (they were not inside a date).
    if (shape.pattern.size() >= digits &&
        std::all_of(shape.pattern.end() - static_cast<std::ptrdiff_t>(digits), shape.pattern.end(),
                    IsDigit)) {
      shape.pattern.resize(shape.pattern.size() - digits);
      shape.pattern += '*';
      variable = true;
    }
  }
  // "orders_*" and "orders*" -> "orders*"
  std::string collapsed;
  for (char c : shape.pattern) {
    if (c == '*' && !collapsed.empty() && collapsed.back() == '*') continue;
    collapsed += c;
  }
  shape.pattern = collapsed + ext;
  (void)variable;
  return shape;
}

// A SQL identifier from free text: ASCII letters and digits kept (lower case), the rest '_'.
std::string Identifier(std::string_view text) {
  std::string out;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) != 0 && c < 0x80) {
      out += static_cast<char>(std::tolower(c));
    } else if (!out.empty() && out.back() != '_') {
      out += '_';
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  while (!out.empty() && out.front() == '_') out.erase(out.begin());
  if (!out.empty() && IsDigit(out[0])) out = "c_" + out;
  if (out.size() > 60) out.resize(60);
  return out;
}

std::string TableNameFor(const std::string& stem, size_t index, std::set<std::string>* taken) {
  std::string name = Identifier(stem);
  if (name.empty()) name = "table_" + std::to_string(index + 1);
  const std::string lower = ToLower(name);
  if (lower.starts_with("sqlite_") || lower.starts_with("sluice_") || lower == "excluded") {
    name = "t_" + name;
  }
  std::string unique = name;
  for (int k = 2; taken->count(ToLower(unique)) != 0; ++k) unique = name + "_" + std::to_string(k);
  taken->insert(ToLower(unique));
  return unique;
}

bool IdLike(std::string_view header) {
  const std::string loose = LooseName(header);
  const std::string fold = ToLower(header);
  for (const char* end : {"id", "key", "번호", "no", "code", "number", "nr"}) {
    if (EndsWith(loose, end) || EndsWith(fold, end)) {
      // "no"/"nr" alone (a yes/no column) or inside a word ("casino") are not keys.
      if ((std::string_view(end) == "no" || std::string_view(end) == "nr") &&
          !(EndsWith(fold, std::string("_") + end) || EndsWith(fold, std::string(" ") + end) ||
            EndsWith(fold, std::string(".") + end))) {
        continue;
      }
      return true;
    }
  }
  return false;
}

csv::TokenizerOptions TokenizerFor(const config::CsvDialect& d) {
  csv::TokenizerOptions o;
  o.delimiter = d.delimiter;
  o.quote = d.quote;
  o.quoting = d.quoting;
  o.max_record_bytes = static_cast<size_t>(d.max_record_bytes);
  o.max_field_bytes = static_cast<size_t>(d.max_record_bytes);
  return o;
}

// Calls `fn(record, is_first)` for every record of `text` after `skip_lines`; Corrupt and the
// like as the tokenizer reports them.
template <typename Fn>
Status ForEachRecord(const std::string& text, const config::CsvDialect& dialect, Fn&& fn) {
  csv::StringSource source(text);
  csv::Tokenizer tok(&source, TokenizerFor(dialect));
  csv::Record rec;
  int skipped = 0;
  bool first = true;
  while (true) {
    SLUICE_ASSIGN_OR_RETURN(bool more, tok.Next(&rec));
    if (!more) break;
    if (skipped < dialect.skip_lines) {
      ++skipped;
      continue;
    }
    fn(rec, first);
    first = false;
  }
  return Status::Ok();
}

// The field count most of the first `max_records` records of `text` have (after skip_lines),
// ties to the larger count; 0 for a text without records. A table's own column count: the
// tables of one archive share a dialect, not a width.
int ModalFieldCount(const std::string& text, const config::CsvDialect& dialect,
                    int64_t max_records) {
  csv::StringSource source(text);
  csv::Tokenizer tok(&source, TokenizerFor(dialect));
  csv::Record rec;
  std::map<size_t, int64_t> counts;
  int skipped = 0;
  for (int64_t seen = 0; seen < max_records;) {
    Result<bool> more = tok.Next(&rec);
    if (!more.ok() || !*more) break;
    if (skipped < dialect.skip_lines) {
      ++skipped;
      continue;
    }
    ++counts[rec.fields.size()];
    ++seen;
  }
  size_t best = 0;
  int64_t best_count = 0;
  for (const auto& [fields, count] : counts) {
    if (count >= best_count) {
      best = fields;
      best_count = count;
    }
  }
  return static_cast<int>(best);
}

struct TableWork {
  TableDraft draft;
  int columns = 0;                        // the field count most records of its first file have
  std::vector<const std::string*> texts;  // decoded files
  std::vector<std::string> first_row;     // first record of the first file
  int64_t first_line = 0;
  std::vector<std::vector<std::string>> other_first_rows;  // of the other files
  std::vector<ColumnGuesser> guessers;
  std::set<std::string> null_tokens;
  bool header = true;
};

void Widen(config::ColumnSchema* c) {
  c->type = config::ColumnType::kString;
  c->formats.clear();
  c->precision = 0;
  c->scale = 0;
  c->decimal_separator = '.';
  c->thousands_separator.clear();
}

// Loads every file of `t` with the merge's converter and widens the columns that reject rows,
// until none does (or only rows no schema can fix remain).
Status CheckLoad(const config::CsvDialect& dialect, TableWork* t) {
  TableDraft& d = t->draft;
  for (int round = 0; round < 8; ++round) {
    std::map<std::string, std::string> widen;  // column -> why
    std::map<std::string, std::string> nullable;
    int64_t unfixable = 0;
    std::vector<std::string> unfixable_lines;
    for (size_t f = 0; f < t->texts.size(); ++f) {
      std::unique_ptr<csv::RowConverter> conv;
      Status st = Status::Ok();
      Status walk = ForEachRecord(*t->texts[f], dialect, [&](const csv::Record& rec, bool first) {
        if (!st.ok()) return;
        if (first) {
          auto made =
              csv::RowConverter::Create(d.schema, dialect, dialect.header ? &rec.fields : nullptr);
          if (!made.ok()) {
            st = made.status();
            return;
          }
          conv = std::move(*made);
          if (dialect.header) return;
        }
        csv::Diagnostic diag;
        if (rec.error == csv::RowError::kNone && conv->Convert(rec, &diag)) return;
        if (rec.error != csv::RowError::kNone) diag.code = "csv";
        const config::ColumnSchema* col = d.schema.FindColumn(diag.column);
        if (col != nullptr && diag.code == "null") {
          nullable.emplace(col->name, "line " + std::to_string(rec.line) + " has no value");
        } else if (col != nullptr && (diag.code == "type" || diag.code == "too_long")) {
          widen.emplace(col->name, "line " + std::to_string(rec.line) + ": " + diag.message);
        } else {
          ++unfixable;
          if (unfixable_lines.size() < 5) {
            unfixable_lines.push_back(d.files[f] + ":" + std::to_string(rec.line) + " (" +
                                      (diag.message.empty() ? rec.error_message : diag.message) +
                                      ")");
          }
        }
      });
      SLUICE_RETURN_IF_ERROR(walk);
      if (!st.ok()) {
        return Status::Internal("the drafted schema for " + d.table +
                                " does not read its own sample: " + st.message());
      }
    }
    if (widen.empty() && nullable.empty()) {
      d.rejected_by_check = unfixable;
      if (unfixable > 0) {
        d.notes.push_back(std::to_string(unfixable) +
                          " rows would still be rejected, and no schema can fix them (field "
                          "counts or broken quoting): " +
                          Join(unfixable_lines, ", "));
      }
      return Status::Ok();
    }
    for (size_t i = 0; i < d.schema.columns.size(); ++i) {
      config::ColumnSchema& c = d.schema.columns[i];
      NamedColumn& nc = d.columns[i];
      if (auto it = nullable.find(c.name); it != nullable.end()) {
        c.nullable = true;
        nc.guess.column.nullable = true;
        nc.widened += (nc.widened.empty() ? "" : "; ") + std::string("nullable: ") + it->second;
      }
      if (auto it = widen.find(c.name); it != widen.end()) {
        nc.widened += (nc.widened.empty() ? "" : "; ") + std::string("was ") + c.TypeName() +
                      ", made string: " + it->second;
        Widen(&c);
        Widen(&nc.guess.column);
      }
    }
  }
  return Status::Internal("the drafted schema for " + d.table +
                          " still rejects rows after 8 rounds");
}

}  // namespace

std::string ColumnNameFor(std::string_view header, size_t index, std::vector<std::string>* taken) {
  std::string name = Identifier(header);
  if (name.empty()) name = "column_" + std::to_string(index + 1);
  std::string unique = name;
  auto used = [&](const std::string& n) {
    return std::any_of(taken->begin(), taken->end(),
                       [&](const std::string& t) { return ToLower(t) == ToLower(n); });
  };
  for (int k = 2; used(unique); ++k) unique = name + "_" + std::to_string(k);
  taken->push_back(unique);
  return unique;
}

std::string ColumnNameFor(std::string_view header, size_t index,
                          std::unordered_set<std::string>* taken_lower) {
  std::string name = Identifier(header);
  if (name.empty()) name = "column_" + std::to_string(index + 1);
  std::string unique = name;
  for (int k = 2; taken_lower->count(ToLower(unique)) > 0; ++k) {
    unique = name + "_" + std::to_string(k);
  }
  taken_lower->insert(ToLower(unique));
  return unique;
}

Result<PartnerDraft> InferPartner(const std::vector<SampleFile>& files,
                                  const InferOptions& options) {
  if (files.empty()) return Status::InvalidArgument("the sample holds no CSV file");
  PartnerDraft draft;
  draft.partner = options.partner;
  draft.sample_name = options.sample_name;

  // Encoding: the first file with non-ASCII text decides (ASCII reads the same in each).
  std::vector<EncodingGuess> encodings;
  for (const SampleFile& f : files) encodings.push_back(GuessEncoding(f.bytes));
  draft.encoding = encodings.front();
  for (const EncodingGuess& e : encodings) {
    if (e.reason != "plain ASCII (read as UTF-8)") {
      draft.encoding = e;
      break;
    }
  }
  for (size_t i = 0; i < files.size(); ++i) {
    const EncodingGuess& e = encodings[i];
    const bool ascii = e.reason == "plain ASCII (read as UTF-8)";
    const bool same =
        e.encoding == draft.encoding.encoding ||
        (e.encoding.starts_with("utf-16") && draft.encoding.encoding.starts_with("utf-16"));
    if (!ascii && !same) {
      draft.notes.push_back(files[i].name + " looks like " + e.encoding + " (" + e.reason +
                            "), but partner.yaml has one encoding: " + draft.encoding.encoding);
    }
  }
  std::vector<std::string> texts;
  for (const SampleFile& f : files) {
    int64_t undecodable = 0;
    SLUICE_ASSIGN_OR_RETURN(std::string text,
                            DecodeToUtf8(f.bytes, draft.encoding.encoding, &undecodable));
    if (undecodable > 0) {
      draft.notes.push_back(f.name + ": " + std::to_string(undecodable) + " bytes are not " +
                            draft.encoding.encoding +
                            "; the rows holding them would be rejected (the encoding guess may "
                            "be wrong: set csv.encoding and check)");
    }
    texts.push_back(std::move(text));
  }

  // Dialect: the file that says most about it decides (more than one column, then the most
  // records that agree), the first on a tie; the others are checked against it. A one-column
  // file (a list of ids, a header alone) reads the same under every delimiter and says nothing.
  std::vector<Result<DialectGuess>> sniffed;
  for (const std::string& text : texts) sniffed.push_back(SniffDialect(text));
  size_t primary = 0;
  auto informative = [&](size_t i) {
    return std::make_pair(sniffed[i].ok() && sniffed[i]->columns > 1,
                          sniffed[i].ok() ? sniffed[i]->consistent : -1);
  };
  for (size_t i = 1; i < sniffed.size(); ++i) {
    if (informative(i) > informative(primary)) primary = i;
  }
  if (!sniffed[primary].ok()) return sniffed[primary].status();
  draft.dialect = *sniffed[primary];
  config::CsvDialect& dialect = draft.dialect.dialect;
  dialect.encoding = draft.encoding.encoding;
  for (size_t i = 0; i < files.size(); ++i) {
    if (i == primary) continue;
    const Result<DialectGuess>& other = sniffed[i];
    if (!other.ok()) {
      draft.notes.push_back(files[i].name + ": " + other.status().message());
    } else if (other->columns <= 1) {
      continue;  // one column: any delimiter reads it
    } else if (other->dialect.delimiter != dialect.delimiter ||
               other->dialect.quoting != dialect.quoting ||
               (dialect.quoting && other->dialect.quote != dialect.quote)) {
      draft.notes.push_back(files[i].name + " looks like delimiter \"" +
                            ShowDelimiter(other->dialect.delimiter) +
                            "\", but partner.yaml has one dialect (from " + files[primary].name +
                            ", delimiter \"" + ShowDelimiter(dialect.delimiter) + "\")");
    }
  }

  // Tables: files whose names differ only in dates or a trailing number are one table.
  std::vector<TableWork> tables;
  std::map<std::string, size_t> by_pattern;
  std::set<std::string> table_names;
  for (size_t i = 0; i < files.size(); ++i) {
    const size_t slash = files[i].name.rfind('/');
    const std::string base =
        slash == std::string::npos ? files[i].name : files[i].name.substr(slash + 1);
    NameShape shape = ShapeOf(base);
    auto [it, inserted] = by_pattern.emplace(shape.pattern, tables.size());
    if (inserted) {
      tables.emplace_back();
      tables.back().draft.table = TableNameFor(shape.stem, tables.size() - 1, &table_names);
      tables.back().draft.file_pattern = shape.pattern;
    }
    TableWork& t = tables[it->second];
    t.draft.files.push_back(files[i].name);
    t.texts.push_back(&texts[i]);
  }

  // Column statistics over every record; the first record of each file is held back until
  // the header is decided.
  DialectOptions sample_size;
  for (TableWork& t : tables) {
    t.columns = ModalFieldCount(*t.texts.front(), dialect, sample_size.max_records);
    const int columns = t.columns;
    for (size_t f = 0; f < t.texts.size(); ++f) {
      int64_t odd = 0;
      std::vector<int64_t> odd_lines;
      Status st = ForEachRecord(*t.texts[f], dialect, [&](const csv::Record& rec, bool first) {
        std::vector<std::string> fields(rec.fields.begin(), rec.fields.end());
        if (first) {
          if (f == 0) {
            t.first_row = fields;
            t.first_line = rec.line;
            for (size_t c = 0; c < static_cast<size_t>(columns); ++c) {
              t.guessers.emplace_back(c < fields.size() && IdLike(fields[c]));
            }
          } else {
            t.other_first_rows.push_back(fields);
          }
          return;
        }
        if (static_cast<int>(rec.fields.size()) != columns) {
          if (++odd <= 3) odd_lines.push_back(rec.line);
          return;
        }
        for (size_t c = 0; c < rec.fields.size(); ++c) {
          t.guessers[c].Add(rec.fields[c], rec.quoted[c] != 0, rec.line);
        }
        ++t.draft.rows;
      });
      if (!st.ok()) return Status::InvalidArgument(t.draft.files[f] + ": " + st.message());
      if (odd > 0) {
        std::string lines;
        for (int64_t l : odd_lines) lines += (lines.empty() ? "" : ", ") + std::to_string(l);
        t.draft.notes.push_back(t.draft.files[f] + ": " + std::to_string(odd) +
                                " records do not have " + std::to_string(columns) +
                                " fields (lines " + lines + (odd > 3 ? ", ..." : "") +
                                "); the merge rejects them");
      }
    }
  }

  // Header, DuckDB's way: the first record is a header when a value of it does not fit its
  // column's type. When every column is text, when its values are distinct and non-empty.
  std::vector<int> votes;  // 1 header, 0 not, per table
  for (TableWork& t : tables) {
    if (t.guessers.empty()) continue;
    std::string reason;
    int vote = -1;
    std::vector<std::string> misfits;
    int typed = 0;
    for (size_t c = 0; c < t.guessers.size() && c < t.first_row.size(); ++c) {
      ColumnGuess g = t.guessers[c].Finish();
      if (g.values == 0 || g.column.type == config::ColumnType::kString) continue;
      ++typed;
      const std::string& v = t.first_row[c];
      if (!IsNullValue(v, false) && !FitsType(v, g.column)) {
        misfits.push_back("\"" + Printable(v, 30) + "\" is not " + g.column.TypeName());
      }
    }
    if (!misfits.empty()) {
      vote = 1;
      reason = "yes: in the first row " + Join(misfits, ", ");
      if (misfits.size() > 3)
        reason = "yes: " + std::to_string(misfits.size()) +
                 " values of the first row do not fit their column's type "
                 "(" +
                 misfits[0] + ", ...)";
    } else if (typed > 0) {
      vote = 0;
      reason = "no: every value of the first row fits its column's type";
    } else {
      std::set<std::string> distinct(t.first_row.begin(), t.first_row.end());
      const bool names = distinct.size() == t.first_row.size() &&
                         std::none_of(t.first_row.begin(), t.first_row.end(),
                                      [](const std::string& v) { return Trim(v).empty(); });
      vote = names ? 1 : 0;
      reason = names ? "yes (a guess: every column is text; the first row's values are distinct "
                       "and non-empty, as names are)"
                     : "no (a guess: every column is text and the first row has empty or "
                       "repeated values, which names are not)";
    }
    t.draft.header_reason = reason;
    votes.push_back(vote);
  }
  bool header = votes.empty() || votes.front() == 1;
  draft.header_reason = tables.front().draft.header_reason;
  for (size_t i = 1; i < votes.size(); ++i) {
    if ((votes[i] == 1) != header) {
      draft.notes.push_back("table " + tables[i].draft.table + " looks " +
                            (votes[i] == 1 ? "headed" : "headerless") + " (" +
                            tables[i].draft.header_reason +
                            "), but partner.yaml has one header "
                            "setting (" +
                            (header ? "true" : "false") + ")");
    }
  }
  dialect.header = header;
  dialect.null_values = {""};

  for (TableWork& t : tables) {
    TableDraft& d = t.draft;
    if (!header) {
      // The first records are data after all.
      auto add = [&](const std::vector<std::string>& row, int64_t line) {
        if (static_cast<int>(row.size()) != t.columns) return;
        for (size_t c = 0; c < row.size(); ++c) t.guessers[c].Add(row[c], false, line);
        ++d.rows;
      };
      add(t.first_row, t.first_line);
      for (const auto& row : t.other_first_rows) add(row, 1);
    }
    std::vector<std::string> taken;
    std::set<std::string> spellings;  // folded names and aliases, as validation compares them
    d.schema.table = d.table;
    d.schema.merge = config::MergeMode::kAppend;
    d.schema.on_extra_columns = config::ExtraColumnsPolicy::kRescue;
    for (size_t c = 0; c < t.guessers.size(); ++c) {
      NamedColumn nc;
      nc.guess = t.guessers[c].Finish();
      for (const std::string& tok : t.guessers[c].null_tokens_seen()) t.null_tokens.insert(tok);
      if (header && c < t.first_row.size()) nc.header = t.first_row[c];
      nc.guess.column.name = ColumnNameFor(nc.header, c, &taken);
      spellings.insert(FoldName(nc.guess.column.name));
      d.columns.push_back(std::move(nc));
    }
    for (NamedColumn& nc : d.columns) {
      if (nc.header.empty() || FoldName(nc.header) == FoldName(nc.guess.column.name)) continue;
      if (spellings.insert(FoldName(nc.header)).second) nc.guess.column.aliases = {nc.header};
    }
    for (const NamedColumn& nc : d.columns) {
      if (nc.guess.unique && !nc.guess.column.nullable && IdLike(nc.header) &&
          d.primary_key_suggestion.empty()) {
        d.primary_key_suggestion.push_back(nc.guess.column.name);
      }
      d.schema.columns.push_back(nc.guess.column);
    }
    for (const std::string& tok : t.null_tokens) {
      if (std::find(dialect.null_values.begin(), dialect.null_values.end(), tok) ==
          dialect.null_values.end()) {
        dialect.null_values.push_back(tok);
      }
    }
  }
  // The load check needs the final null_values, so it runs once every table is drafted.
  for (TableWork& t : tables) {
    if (t.draft.columns.empty()) {
      return Status::InvalidArgument(t.draft.files.front() + " holds no records to infer from");
    }
    SLUICE_RETURN_IF_ERROR(CheckLoad(dialect, &t));
  }
  // More specific file patterns first: extract gives a file to the first table that matches.
  std::stable_sort(tables.begin(), tables.end(), [](const TableWork& a, const TableWork& b) {
    return a.draft.file_pattern.size() > b.draft.file_pattern.size();
  });
  for (TableWork& t : tables) draft.tables.push_back(std::move(t.draft));

  // The archive: its own name with the date as a placeholder; a bare CSV sample gets a tar.gz.
  if (options.sample_is_archive) {
    std::string pattern;
    const std::string& n = options.sample_name;
    for (size_t i = 0; i < n.size();) {
      std::string format;
      if (size_t len = DateTokenAt(n, i, &format); len > 0) {
        pattern += format.empty() ? "{date}" : "{date:" + format + "}";
        i += len;
      } else {
        pattern += (n[i] == '{' || n[i] == '}') ? '_' : n[i];
        ++i;
      }
    }
    draft.archive_pattern = pattern;
  } else {
    draft.archive_pattern = options.partner + "_{date:%Y%m%d}.tar.gz";
    draft.notes.push_back(
        "the sample is a single CSV file and sluice loads archives: partner.yaml "
        "expects " +
        draft.archive_pattern + " holding " + draft.tables.front().file_pattern +
        "; change \"archive\" to the name the partner really sends");
  }
  return draft;
}

}  // namespace sluice::infer
