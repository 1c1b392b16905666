// Reading and validation of partners/<id>/schemas/<table>.json.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <set>

#include "config/pipeline_config.h"
#include "core/strings.h"

namespace sluice::config {

bool IsValidIdentifier(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(name[0])) return false;
  for (char c : name) {
    if (!alpha(c) && !(c >= '0' && c <= '9')) return false;
  }
  return true;
}

std::string ColumnSchema::TypeName() const {
  switch (type) {
    case ColumnType::kString:
      return "string";
    case ColumnType::kInt64:
      return "int64";
    case ColumnType::kFloat64:
      return "float64";
    case ColumnType::kDecimal:
      return "decimal(" + std::to_string(precision) + "," + std::to_string(scale) + ")";
    case ColumnType::kBool:
      return "bool";
    case ColumnType::kDate:
      return "date";
    case ColumnType::kTimestamp:
      return "timestamp";
  }
  return "string";
}

const ColumnSchema* TableSchema::FindColumn(std::string_view column) const {
  for (const ColumnSchema& c : columns) {
    if (c.name == column) return &c;
  }
  return nullptr;
}

bool ParseColumnType(std::string_view text, ColumnSchema* column, std::string* error) {
  std::string t = ToLower(Trim(text));
  // The types, and the SQL and programming spellings people write for them.
  static const std::pair<const char*, ColumnType> kSimple[] = {
      {"string", ColumnType::kString},       {"text", ColumnType::kString},
      {"varchar", ColumnType::kString},      {"str", ColumnType::kString},
      {"int64", ColumnType::kInt64},         {"integer", ColumnType::kInt64},
      {"int", ColumnType::kInt64},           {"bigint", ColumnType::kInt64},
      {"long", ColumnType::kInt64},          {"float64", ColumnType::kFloat64},
      {"double", ColumnType::kFloat64},      {"float", ColumnType::kFloat64},
      {"real", ColumnType::kFloat64},        {"bool", ColumnType::kBool},
      {"boolean", ColumnType::kBool},        {"date", ColumnType::kDate},
      {"timestamp", ColumnType::kTimestamp}, {"datetime", ColumnType::kTimestamp}};
  // varchar(n) and char(n): a string. n counts characters in SQL and max_length counts bytes,
  // so no limit is derived from it (set max_length for one).
  for (const char* prefix : {"varchar(", "char("}) {
    if (t.starts_with(prefix) && t.ends_with(")")) {
      const std::string n = t.substr(std::strlen(prefix), t.size() - std::strlen(prefix) - 1);
      int64_t len = 0;
      auto r = std::from_chars(n.data(), n.data() + n.size(), len);
      if (r.ec == std::errc() && r.ptr == n.data() + n.size() && len >= 1) {
        column->type = ColumnType::kString;
        return true;
      }
    }
  }
  if (t.starts_with("numeric(")) t = "decimal(" + t.substr(8);
  for (const auto& [name, type] : kSimple) {
    if (t == name) {
      column->type = type;
      return true;
    }
  }
  if (t.starts_with("decimal(") && t.ends_with(")")) {
    std::string inner = t.substr(8, t.size() - 9);
    auto parts = Split(inner, ',');
    if (parts.size() == 2) {
      int p = 0, s = 0;
      std::string ps(Trim(parts[0])), ss(Trim(parts[1]));
      auto r1 = std::from_chars(ps.data(), ps.data() + ps.size(), p);
      auto r2 = std::from_chars(ss.data(), ss.data() + ss.size(), s);
      if (r1.ec == std::errc() && r1.ptr == ps.data() + ps.size() && r2.ec == std::errc() &&
          r2.ptr == ss.data() + ss.size() && p >= 1 && p <= 38 && s >= 0 && s <= p) {
        column->type = ColumnType::kDecimal;
        column->precision = p;
        column->scale = s;
        return true;
      }
    }
    *error = "\"" + std::string(text) +
             "\": decimal needs precision 1..38 and scale 0..precision, e.g. decimal(12,2)";
    return false;
  }
  static const std::vector<std::string> kNames = {"string", "int64", "float64",  "decimal(p,s)",
                                                  "bool",   "date",  "timestamp"};
  *error = "unknown type \"" + std::string(text) + "\"" + DidYouMean(t, kNames) + "; use one of " +
           Join(kNames, ", ");
  return false;
}

std::string CheckTimeFormat(std::string_view format) {
  if (format.empty())
    return "is empty; give one such as \"%Y-%m-%d\", or drop \"format\" for ISO 8601";
  std::string used;  // the directives, in order
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') continue;
    if (i + 1 == format.size()) return "ends with a lone %; write %% for a literal %";
    char d = format[++i];
    used.push_back(d);
    if (std::string_view(kTimeFormatDirectives).find(d) == std::string_view::npos) {
      size_t n = 1;  // the whole character when it is multi-byte UTF-8
      while (i + n < format.size() && (static_cast<unsigned char>(format[i + n]) & 0xC0) == 0x80) {
        ++n;
      }
      return "has unknown directive %" + std::string(format.substr(i, n)) +
             "; use %Y %m %d %H %M %S %y %f %z %I %p %b %B %s, or %% for a literal %";
    }
  }
  const bool twelve = used.find('I') != std::string::npos;
  const bool ampm = used.find('p') != std::string::npos;
  if (twelve != ampm) {
    return twelve ? "uses %I (12-hour clock) without %p (AM/PM)" : "uses %p without %I";
  }
  if (twelve && used.find('H') != std::string::npos) return "uses both %H and %I";
  return "";
}

namespace {

const std::vector<std::string>& CheckTypes() {
  static const std::vector<std::string> kTypes = {"not_null",  "unique",       "accepted_values",
                                                  "row_count", "reject_ratio", "change_vs_previous",
                                                  "sql"};
  return kTypes;
}

ColumnSchema ReadColumn(const Node& node, Diagnostics* diags) {
  ColumnSchema c;
  c.loc = node.location();
  std::string what = "column";
  if (node.IsMap()) {
    if (const Node* n = node.Get("name"); n != nullptr && n->IsScalar()) {
      what = "column \"" + n->scalar() + "\"";
    }
  }
  MapReader r(node, what, diags);
  if (auto v = r.String("name", true)) {
    c.name = *v;
    if (!IsValidIdentifier(*v)) {
      r.ErrorAtKey("name", "\"" + Printable(*v) +
                               "\" must be letters, digits and _ (a SQL identifier); map other "
                               "header spellings with \"aliases\"");
    } else if (v->starts_with("_")) {
      r.ErrorAtKey("name", "names starting with _ are reserved for lineage columns");
    }
  }
  if (auto v = r.String("type", true)) {
    std::string error;
    if (!ParseColumnType(*v, &c, &error)) r.ErrorAtKey("type", error);
  }
  if (auto v = r.Bool("nullable")) c.nullable = *v;
  if (auto v = r.StringList("aliases")) c.aliases = *v;
  if (auto v = r.StringList("format", false, /*allow_scalar=*/true)) {
    c.formats = *v;
    if (c.type != ColumnType::kDate && c.type != ColumnType::kTimestamp) {
      r.ErrorAtKey("format", "\"format\" applies only to date and timestamp columns");
    } else if (v->empty()) {
      r.ErrorAtKey("format", "\"format\" lists no format; remove it for ISO 8601");
    }
    for (const std::string& f : *v) {
      if (c.type != ColumnType::kDate && c.type != ColumnType::kTimestamp) break;
      if (std::string why = CheckTimeFormat(f); !why.empty()) {
        r.ErrorAtKey("format", "\"format\" \"" + Printable(f) + "\" " + why);
      }
    }
  }
  if (auto v = r.Int("max_length", false, 1)) {
    c.max_length = *v;
    if (c.type != ColumnType::kString) {
      r.ErrorAtKey("max_length", "\"max_length\" applies only to string columns");
    }
  }
  const bool numeric = c.type == ColumnType::kInt64 || c.type == ColumnType::kFloat64 ||
                       c.type == ColumnType::kDecimal;
  if (auto v = r.String("decimal_separator")) {
    if (*v != "." && *v != ",") {
      r.ErrorAtKey("decimal_separator", "\"decimal_separator\" must be \".\" or \",\"");
    } else if (c.type != ColumnType::kFloat64 && c.type != ColumnType::kDecimal) {
      r.ErrorAtKey("decimal_separator",
                   "\"decimal_separator\" applies only to float64 and decimal columns");
    } else {
      c.decimal_separator = (*v)[0];
    }
  }
  if (auto v = r.String("thousands_separator")) {
    // One character: one byte that does not continue a UTF-8 sequence.
    const bool one_char =
        IsValidUtf8(*v) && std::count_if(v->begin(), v->end(), [](char ch) {
                             return (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
                           }) == 1;
    if (!numeric) {
      r.ErrorAtKey("thousands_separator",
                   "\"thousands_separator\" applies only to int64, float64 and decimal columns");
    } else if (!one_char || v->find_first_of("0123456789+-eE") != std::string::npos) {
      r.ErrorAtKey("thousands_separator", "\"thousands_separator\" \"" + Printable(*v) +
                                              "\" must be one character, not a digit, sign or e");
    } else if (c.type != ColumnType::kInt64 && *v == std::string(1, c.decimal_separator)) {
      r.ErrorAtKey("thousands_separator",
                   "\"thousands_separator\" \"" + *v +
                       "\" is also the decimal mark; set \"decimal_separator\" to the other one");
    } else {
      c.thousands_separator = *v;
    }
  }
  if (auto v = r.StringList("true_values")) c.true_values = *v;
  if (auto v = r.StringList("false_values")) c.false_values = *v;
  if ((!c.true_values.empty() || !c.false_values.empty()) && c.type != ColumnType::kBool) {
    diags->Error(c.loc, what + ": \"true_values\"/\"false_values\" apply only to bool columns");
  } else if (c.type == ColumnType::kBool) {
    // Values are matched case-insensitively, built-in spellings first, then true_values, then
    // false_values: a spelling on both sides would silently always read one way.
    static const std::vector<std::string> builtin_true(std::begin(kBuiltinTrue),
                                                       std::end(kBuiltinTrue));
    static const std::vector<std::string> builtin_false(std::begin(kBuiltinFalse),
                                                        std::end(kBuiltinFalse));
    auto contains = [](const std::vector<std::string>& list, const std::string& v) {
      return std::any_of(list.begin(), list.end(),
                         [&](const std::string& x) { return ToLower(x) == ToLower(v); });
    };
    for (const std::string& v : c.true_values) {
      if (contains(builtin_false, v)) {
        r.ErrorAtKey("true_values", "\"" + Printable(v) +
                                        "\" in \"true_values\" is always read as false (a built-in "
                                        "spelling of false); remove it");
      }
    }
    for (const std::string& v : c.false_values) {
      if (contains(builtin_true, v)) {
        r.ErrorAtKey("false_values", "\"" + Printable(v) +
                                         "\" in \"false_values\" is always read as true (a "
                                         "built-in spelling of true); remove it");
      } else if (contains(c.true_values, v)) {
        r.ErrorAtKey("false_values",
                     "\"" + Printable(v) +
                         "\" is in both \"true_values\" and \"false_values\" (compared "
                         "case-insensitively); keep it in one of them");
      }
    }
  }
  r.Allow("description");
  r.Finish();
  return c;
}

CheckConfig ReadCheck(const Node& node, const TableSchema& schema, Diagnostics* diags) {
  CheckConfig c;
  c.loc = node.location();
  MapReader r(node, "check", diags);
  if (auto v = r.String("type", true)) {
    c.type = *v;
    const auto& types = CheckTypes();
    if (std::find(types.begin(), types.end(), *v) == types.end()) {
      r.ErrorAtKey("type", "unknown check type \"" + *v + "\"" + DidYouMean(*v, types) +
                               "; use one of " + Join(types, ", "));
    }
  }
  if (auto v = r.StringList("columns")) c.columns = *v;
  if (auto v = r.String("column")) c.columns.push_back(*v);
  if (auto v = r.StringList("values")) c.values = *v;
  if (auto v = r.Int("min", false, 0)) c.min = *v;
  if (auto v = r.Int("max", false, 0)) c.max = *v;
  if (auto v = r.Double("max_ratio")) c.max_ratio = *v;
  if (auto v = r.Double("max_change_percent")) c.max_change_percent = *v;
  if (auto v = r.String("sql")) c.sql = *v;
  if (auto v = r.String("name")) c.name = *v;
  if (auto v = r.String("severity")) {
    if (*v != "error" && *v != "warn") {
      r.ErrorAtKey("severity", "\"severity\" must be \"error\" or \"warn\", got \"" + *v + "\"");
    }
    c.severity = *v;
  }
  r.Finish();
  if (!r.ok()) return c;
  auto need = [&](bool ok, const std::string& message) {
    if (!ok) diags->Error(c.loc, "check \"" + c.type + "\": " + message);
  };
  if (c.type == "not_null" || c.type == "unique") {
    need(!c.columns.empty(), "needs \"columns\" (or \"column\")");
  } else if (c.type == "accepted_values") {
    need(c.columns.size() == 1, "needs exactly one \"column\"");
    need(!c.values.empty(), "needs a non-empty \"values\" list");
  } else if (c.type == "row_count") {
    need(c.min.has_value() || c.max.has_value(), "needs \"min\" and/or \"max\"");
    if (c.min && c.max) {
      need(*c.min <= *c.max, "\"min\" (" + std::to_string(*c.min) + ") is greater than \"max\" (" +
                                 std::to_string(*c.max) +
                                 "), so no row count can pass; swap them or fix one");
    }
  } else if (c.type == "reject_ratio") {
    need(c.max_ratio.has_value(), "needs \"max_ratio\" (0..1)");
  } else if (c.type == "change_vs_previous") {
    need(c.max_change_percent.has_value(), "needs \"max_change_percent\"");
  } else if (c.type == "sql") {
    // A blank query is no check at all (and fails when run); say so before the run.
    need(!Trim(c.sql).empty(),
         "needs \"sql\": a query, not empty or blank, that returns the offending rows");
  }
  for (const std::string& col : c.columns) {
    if (schema.FindColumn(col) == nullptr) {
      std::vector<std::string> names;
      for (const ColumnSchema& sc : schema.columns) names.push_back(sc.name);
      diags->Error(c.loc, "check \"" + c.type + "\" names unknown column \"" + col + "\"" +
                              DidYouMean(col, names));
    }
  }
  return c;
}

}  // namespace

TableSchema ReadSchema(const Node& root, Diagnostics* diags) {
  TableSchema s;
  s.loc = root.location();
  s.file = root.location().file;
  MapReader r(root, "schema", diags);
  if (auto v = r.String("table", true)) s.table = *v;
  // Columns listed twice; SQLite compares column names case-insensitively, so "Amount" and
  // "amount" are one column and CREATE TABLE would fail at run time.
  std::set<size_t> repeated;
  if (const Node* cols = r.Value("columns", true)) {
    // How many columns a table may have is the warehouse back-end's rule (its TableRules,
    // checked by tasks::CheckTableRules through LoadOptions::check_pipeline).
    s.columns_loc = cols->location();
    if (!cols->IsSequence() || cols->items().empty()) {
      r.ErrorAt(*cols, "\"columns\" must be a non-empty list of columns");
    } else {
      std::map<std::string, size_t> first_of;  // lower-case name -> index
      for (const Node& item : cols->items()) {
        s.columns.push_back(ReadColumn(item, diags));
        const ColumnSchema& c = s.columns.back();
        if (c.name.empty()) continue;
        auto [it, inserted] = first_of.emplace(ToLower(c.name), s.columns.size() - 1);
        if (inserted) continue;
        repeated.insert(s.columns.size() - 1);
        const ColumnSchema& first = s.columns[it->second];
        std::string message = "column \"" + c.name +
                              "\" is listed twice in \"columns\" (also at line " +
                              std::to_string(first.loc.line);
        if (first.name != c.name) {
          message += " as \"" + first.name +
                     "\"); SQLite column names are case-insensitive, so both are one column";
        } else {
          message += ")";
        }
        diags->Error(item.KeyLocation("name"), message + ": remove or rename one");
      }
    }
  }
  // Every name and alias must map to one column, compared as the header mapping compares them
  // (FoldName: case, accents' capitals, every kind of space), because header matching is that
  // loose.
  std::map<std::string, std::string> spellings;
  for (size_t i = 0; i < s.columns.size(); ++i) {
    if (repeated.count(i) != 0) continue;  // already reported
    const ColumnSchema& c = s.columns[i];
    std::vector<std::string> names = c.aliases;
    names.insert(names.begin(), c.name);
    for (const std::string& n : names) {
      auto [it, inserted] = spellings.emplace(FoldName(n), c.name);
      if (!inserted && it->second != c.name) {
        diags->Error(c.loc, "column \"" + c.name + "\": name or alias \"" + n +
                                "\" is already used by column \"" + it->second + "\"");
      }
    }
  }
  if (auto v = r.StringList("primary_key", false, true)) s.primary_key = *v;
  for (const std::string& k : s.primary_key) {
    const ColumnSchema* c = s.FindColumn(k);
    if (c == nullptr) {
      r.ErrorAtKey("primary_key", "primary key column \"" + k + "\" is not in \"columns\"");
    } else if (c->nullable && r.Has("primary_key")) {
      // A nullable key column could never match in an upsert; make it explicit.
      diags->Warn(c->loc, "primary key column \"" + k + "\" is treated as nullable: false");
    }
  }
  for (ColumnSchema& c : s.columns) {
    if (std::find(s.primary_key.begin(), s.primary_key.end(), c.name) != s.primary_key.end()) {
      c.nullable = false;
    }
  }
  if (auto v = r.String("merge")) {
    if (*v == "upsert")
      s.merge = MergeMode::kUpsert;
    else if (*v == "append")
      s.merge = MergeMode::kAppend;
    else if (*v == "replace_date")
      s.merge = MergeMode::kReplaceDate;
    else
      r.ErrorAtKey("merge", "\"merge\" must be upsert, append or replace_date, got \"" + *v + "\"");
  }
  if (s.merge == MergeMode::kUpsert && s.primary_key.empty() && r.ok()) {
    diags->Error(s.loc, "schema \"" + s.table + "\": merge \"upsert\" needs a \"primary_key\"");
  }
  if (auto v = r.String("on_extra_columns")) {
    if (*v == "ignore")
      s.on_extra_columns = ExtraColumnsPolicy::kIgnore;
    else if (*v == "rescue")
      s.on_extra_columns = ExtraColumnsPolicy::kRescue;
    else if (*v == "fail")
      s.on_extra_columns = ExtraColumnsPolicy::kFail;
    else
      r.ErrorAtKey("on_extra_columns", "\"on_extra_columns\" must be ignore, rescue or fail");
  }
  if (auto v = r.String("on_missing_columns")) {
    if (*v == "null")
      s.on_missing_columns = MissingColumnsPolicy::kNull;
    else if (*v == "fail")
      s.on_missing_columns = MissingColumnsPolicy::kFail;
    else
      r.ErrorAtKey("on_missing_columns", "\"on_missing_columns\" must be null or fail");
  }
  if (auto v = r.Double("max_reject_ratio")) {
    if (*v < 0 || *v > 1)
      r.ErrorAtKey("max_reject_ratio", "\"max_reject_ratio\" must be in 0..1");
    else
      s.max_reject_ratio = *v;
  }
  if (const Node* checks = r.Value("checks")) {
    if (!checks->IsSequence()) {
      r.ErrorAt(*checks, "\"checks\" must be a list");
    } else {
      for (const Node& item : checks->items()) s.checks.push_back(ReadCheck(item, s, diags));
    }
  }
  r.Allow("description");
  r.Finish();
  return s;
}

}  // namespace sluice::config
