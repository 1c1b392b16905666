// Header mapping of csv/conform.h: which field of a file feeds which schema column
// (RowConverter::Create), and the missing and extra columns a schema's policies allow.
#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/strings.h"
#include "csv/conform.h"
#include "csv/conform_internal.h"
#include "csv/encoding.h"

namespace sluice::csv {

using internal::TrimSpaces;

namespace {

// True when `header` (trimmed) maps to a column of `schema` by any rule of the header mapping:
// its name or an alias, exactly or case- and space-insensitively.
bool MatchesAnyColumn(const config::TableSchema& schema, std::string_view header) {
  std::string folded = FoldHeader(header);
  for (const config::ColumnSchema& col : schema.columns) {
    if (folded == FoldHeader(col.name)) return true;
    for (const std::string& a : col.aliases) {
      if (folded == FoldHeader(a)) return true;
    }
  }
  return false;
}

}  // namespace

std::string FoldHeader(std::string_view header) { return FoldName(header); }

std::string LooseHeader(std::string_view header) { return LooseName(header); }

RowConverter::RowConverter(const config::TableSchema& schema, const config::CsvDialect& dialect)
    : schema_(schema), dialect_(dialect) {
  for (const std::string& v : dialect_.null_values) {
    if (v.empty()) {
      empty_is_null_ = true;
    } else {
      null_values_.push_back(v);
    }
  }
}

Result<std::unique_ptr<RowConverter>> RowConverter::Create(
    const config::TableSchema& schema, const config::CsvDialect& dialect,
    const std::vector<std::string_view>* header, bool named_fields) {
  std::unique_ptr<RowConverter> rc(new RowConverter(schema, dialect));
  rc->named_fields_ = named_fields;
  const size_t ncols = schema.columns.size();
  rc->source_of_.assign(ncols, -1);
  rc->cells_.resize(ncols);
  rc->text_.resize(ncols);
  rc->rescue_ = schema.on_extra_columns == config::ExtraColumnsPolicy::kRescue;
  if (header == nullptr) {
    for (size_t i = 0; i < ncols; ++i) rc->source_of_[i] = static_cast<int>(i);
    for (const auto& c : schema.columns) rc->field_names_.push_back(c.name);
    rc->expected_fields_ = ncols;
    return rc;
  }
  rc->expected_fields_ = header->size();
  // Exact names first, then loose, then aliases; a field is claimed once.
  std::vector<int> column_of(header->size(), -1);
  std::map<std::string, size_t> seen_exact;
  for (size_t f = 0; f < header->size(); ++f) {
    std::string h(TrimSpaces((*header)[f]));
    if (!IsValidUtf8(h)) {
      return Status::InvalidArgument("header field " + std::to_string(f + 1) +
                                     " is not valid text in encoding " + dialect.encoding + ": \"" +
                                     (CanonicalEncoding(dialect.encoding).value_or("") == "utf-8"
                                          ? Printable(h)
                                          : ShowUndecodable(h)) +
                                     "\"; check the partner's csv.encoding");
    }
    if (h.empty()) continue;  // unnamed (a trailing delimiter): see unnamed_fields_
    auto [it, inserted] = seen_exact.emplace(h, f);
    if (inserted) continue;
    // A repeated header is ambiguous only when its values are used. One the schema does not know
    // is dropped under on_extra_columns: ignore anyway, so it is accepted there (the mapping below
    // leaves both fields unclaimed and they become one extra column).
    std::string where = "duplicate header \"" + Printable(h) + "\" (fields " +
                        std::to_string(it->second + 1) + " and " + std::to_string(f + 1) + ")";
    if (MatchesAnyColumn(schema, h)) {
      return Status::InvalidArgument(where + "; each column must appear once");
    }
    if (schema.on_extra_columns == config::ExtraColumnsPolicy::kRescue) {
      return Status::InvalidArgument(
          where + ": on_extra_columns \"rescue\" keeps extra columns as one JSON object in " +
          "_rescued, which cannot hold two values under one JSON key; rename one in the file, or " +
          "use \"ignore\" to drop them");
    }
    if (schema.on_extra_columns == config::ExtraColumnsPolicy::kFail) {
      return Status::InvalidArgument(where + "; each column must appear once");
    }
  }
  auto claim = [&](size_t f, size_t c) -> Status {
    if (column_of[f] != -1) return Status::Ok();
    if (rc->source_of_[c] != -1) {
      return Status::InvalidArgument(
          "duplicate header: \"" + Printable((*header)[rc->source_of_[c]]) + "\" and \"" +
          Printable((*header)[f]) + "\" both map to column \"" + schema.columns[c].name +
          "\"; remove one or fix the schema's aliases");
    }
    rc->source_of_[c] = static_cast<int>(f);
    column_of[f] = static_cast<int>(c);
    return Status::Ok();
  };
  // Every spelling folded once: a header may have many thousands of fields (time linear in them).
  struct Spellings {
    std::string folded, loose;
    std::vector<std::string> folded_aliases, loose_aliases;
  };
  std::vector<Spellings> spell(ncols);
  for (size_t c = 0; c < ncols; ++c) {
    const config::ColumnSchema& col = schema.columns[c];
    spell[c].folded = FoldHeader(col.name);
    spell[c].loose = LooseHeader(col.name);
    for (const std::string& a : col.aliases) {
      spell[c].folded_aliases.push_back(FoldHeader(a));
      spell[c].loose_aliases.push_back(LooseHeader(a));
    }
  }
  std::vector<std::string> folded_header(header->size());
  for (size_t f = 0; f < header->size(); ++f)
    folded_header[f] = FoldHeader(TrimSpaces((*header)[f]));
  for (int pass = 0; pass < 4; ++pass) {
    for (size_t f = 0; f < header->size(); ++f) {
      if (column_of[f] != -1) continue;
      std::string_view h = TrimSpaces((*header)[f]);
      const std::string& folded = folded_header[f];
      for (size_t c = 0; c < ncols; ++c) {
        const config::ColumnSchema& col = schema.columns[c];
        bool match = false;
        if (pass == 0) match = h == col.name;
        if (pass == 1) match = folded == spell[c].folded;
        if (pass == 2)
          match = std::find(col.aliases.begin(), col.aliases.end(), h) != col.aliases.end();
        if (pass == 3) {
          match = std::find(spell[c].folded_aliases.begin(), spell[c].folded_aliases.end(),
                            folded) != spell[c].folded_aliases.end();
        }
        if (match) {
          SLUICE_RETURN_IF_ERROR(claim(f, c));
          break;
        }
      }
    }
  }
  // Last, ignoring punctuation and accents too ("Order-ID", "order.id", "Order ID" for order_id):
  // only when exactly one column (by name, then by alias) fits and it is still unclaimed;
  // anything else stays an extra column.
  std::vector<std::string> loose_header(header->size());
  for (size_t f = 0; f < header->size(); ++f) {
    if (column_of[f] == -1) loose_header[f] = LooseHeader(TrimSpaces((*header)[f]));
  }
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t f = 0; f < header->size(); ++f) {
      if (column_of[f] != -1) continue;
      const std::string& loose = loose_header[f];
      if (loose.empty()) continue;
      int found = -1;
      int matches = 0;
      // Every column counts, taken or not: "Côte" fits both `cote` (taken) and `côté`, so it is
      // no guess at côté. Only a single fit that is still free is claimed.
      for (size_t c = 0; c < ncols; ++c) {
        const bool match =
            pass == 0 ? loose == spell[c].loose
                      : std::find(spell[c].loose_aliases.begin(), spell[c].loose_aliases.end(),
                                  loose) != spell[c].loose_aliases.end();
        if (match) {
          found = static_cast<int>(c);
          ++matches;
        }
      }
      if (matches == 1 && rc->source_of_[static_cast<size_t>(found)] == -1) {
        SLUICE_RETURN_IF_ERROR(claim(f, static_cast<size_t>(found)));
      }
    }
  }
  std::unordered_set<std::string> extra_seen;
  std::vector<std::string> missing_required;
  for (size_t c = 0; c < ncols; ++c) {
    if (rc->source_of_[c] != -1) continue;
    rc->missing_.push_back(schema.columns[c].name);
    if (!schema.columns[c].nullable) missing_required.push_back(schema.columns[c].name);
  }
  for (size_t f = 0; f < header->size(); ++f) {
    if (column_of[f] != -1) continue;
    std::string h(TrimSpaces((*header)[f]));
    if (h.empty()) {
      // No header: most often every line ends with a delimiter. Not an extra column; a row that
      // does put a value there is handled per on_extra_columns in Convert().
      rc->unnamed_fields_.push_back(static_cast<int>(f));
      continue;
    }
    // A repeated extra header (accepted under ignore only) is reported once.
    if (extra_seen.insert(h).second) rc->extra_.push_back(h);
    rc->extra_fields_.push_back(static_cast<int>(f));
    std::string json;
    AppendJsonString(h, &json);
    rc->extra_names_json_.push_back(json);
  }
  for (size_t f = 0; f < header->size(); ++f) {
    rc->field_names_.push_back(column_of[f] >= 0
                                   ? schema.columns[static_cast<size_t>(column_of[f])].name
                                   : "field " + std::to_string(f + 1));
  }
  std::vector<std::string> names;
  for (const auto& c : schema.columns) names.push_back(c.name);
  if (named_fields) {
    // JSON keys: a key one line lacks is that line's NULL (Convert rejects it where the column
    // is not nullable); which columns never came is known only at the end of the file.
  } else if (!missing_required.empty()) {
    return Status::InvalidArgument(
        "the header lacks non-nullable column(s) " + Join(missing_required, ", ") +
        "; add them to the file, or add the file's spelling to the column's \"aliases\"");
  }
  if (!named_fields && !rc->missing_.empty() &&
      schema.on_missing_columns == config::MissingColumnsPolicy::kFail) {
    return Status::InvalidArgument(
        "the header lacks column(s) " + Join(rc->missing_, ", ") +
        " and on_missing_columns is \"fail\"; ask the partner for the column, add the file's "
        "spelling to the column's \"aliases\", or set on_missing_columns to \"null\" if the "
        "column may be absent");
  }
  if (!rc->extra_.empty() && schema.on_extra_columns == config::ExtraColumnsPolicy::kFail) {
    std::string hint;
    if (!rc->extra_.empty()) hint = DidYouMean(rc->extra_[0], names);
    return Status::InvalidArgument("the header has column(s) not in the schema: " +
                                   Printable(Join(rc->extra_, ", "), 400) + hint +
                                   " and on_extra_columns is \"fail\"; add them to the schema, "
                                   "map them with \"aliases\", or use \"ignore\" or \"rescue\"");
  }
  return rc;
}

}  // namespace sluice::csv
