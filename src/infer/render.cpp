// The drafted files' text and the report of what was guessed.
#include <algorithm>
#include <cstdio>

#include "core/strings.h"
#include "csv/conform.h"
#include "infer/infer.h"

namespace sluice::infer {

namespace {

std::string Json(std::string_view s) {
  std::string out;
  csv::AppendJsonString(s, &out);
  return out;
}

// A YAML double-quoted scalar: JSON's escapes are YAML's.
std::string Yaml(std::string_view s) { return Json(s); }

std::string Percent(double share) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.0f%%", share * 100);
  return buf;
}

std::string JsonList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + Json(items[i]);
  return out + "]";
}

std::string Pad(std::string s, size_t width) {
  // Pads by characters, not bytes, so Korean headers line up roughly.
  size_t chars = 0;
  for (char c : s) chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  if (chars < width) s.append(width - chars, ' ');
  return s + " ";
}

std::string TypeText(const config::ColumnSchema& c) {
  std::string t = c.TypeName();
  if (!c.formats.empty()) t += " " + c.formats.front();
  if (c.decimal_separator != '.') t += std::string(" decimal ") + c.decimal_separator;
  if (!c.thousands_separator.empty()) t += " thousands \"" + c.thousands_separator + "\"";
  return t;
}

}  // namespace

std::string RenderPartnerYaml(const PartnerDraft& draft) {
  const config::CsvDialect& d = draft.dialect.dialect;
  std::string out;
  out += "# Drafted by `sluice infer` from " + Printable(draft.sample_name) +
         ". Every value is a guess from that sample:\n"
         "# check them, then run `sluice validate`.\n";
  out += "id: " + draft.partner + "\n";
  out += "name: " + Yaml(draft.partner) + "\n";
  out += "archive: " + Yaml(draft.archive_pattern) + "\n";
  out += "complete: {marker: _SUCCESS}\n";
  out += "csv: {encoding: " + d.encoding + ", delimiter: " +
         (d.delimiter == '\t' ? std::string("\"\\t\"") : Yaml(std::string(1, d.delimiter)));
  out += ", quote: " + (d.quoting ? Yaml(std::string(1, d.quote)) : std::string("none"));
  out += std::string(", header: ") + (d.header ? "true" : "false");
  if (d.skip_lines > 0) out += ", skip_lines: " + std::to_string(d.skip_lines);
  out += ", null_values: " + JsonList(d.null_values) + "}\n";
  out += "tables:\n";
  for (const TableDraft& t : draft.tables) {
    out += "  " + t.table + ": {file: " + Yaml(t.file_pattern) + "}\n";
  }
  return out;
}

std::string RenderSchemaJson(const TableDraft& table) {
  const config::TableSchema& s = table.schema;
  std::string out = "{\n  \"table\": " + Json(s.table) + ",\n  \"columns\": [\n";
  for (size_t i = 0; i < s.columns.size(); ++i) {
    const config::ColumnSchema& c = s.columns[i];
    out += "    {\"name\": " + Json(c.name) + ", \"type\": " + Json(c.TypeName());
    if (!c.nullable) out += ", \"nullable\": false";
    if (c.formats.size() == 1) out += ", \"format\": " + Json(c.formats.front());
    if (c.decimal_separator != '.') {
      out += ", \"decimal_separator\": " + Json(std::string(1, c.decimal_separator));
    }
    if (!c.thousands_separator.empty()) {
      out += ", \"thousands_separator\": " + Json(c.thousands_separator);
    }
    if (!c.aliases.empty()) out += ", \"aliases\": " + JsonList(c.aliases);
    out += i + 1 < s.columns.size() ? "},\n" : "}\n";
  }
  out += "  ],\n";
  out += "  \"merge\": \"append\",\n";
  out += "  \"on_extra_columns\": \"rescue\",\n";
  out += "  \"on_missing_columns\": \"null\"\n}\n";
  return out;
}

std::string RenderReport(const PartnerDraft& draft) {
  const DialectGuess& g = draft.dialect;
  const config::CsvDialect& d = g.dialect;
  std::string out;
  out += "partner " + draft.partner + ", from " + Printable(draft.sample_name) + "\n";
  out += "  encoding     " + d.encoding + " (" + Percent(draft.encoding.confidence) +
         " sure: " + draft.encoding.reason + ")\n";
  out += "  delimiter    \"" + ShowDelimiter(d.delimiter) + "\" (" + Percent(g.confidence) +
         " sure: " + g.reason + ")\n";
  out += "  quoting      " +
         (d.quoting ? std::string(d.quote == '"' ? "double quotes" : "single quotes") + " (" +
                          std::to_string(g.quoted_fields) + " quoted fields, " +
                          std::to_string(g.multiline_records) + " records span lines)"
                    : std::string("none")) +
         "\n";
  out += "  header       " + draft.header_reason + "\n";
  if (d.skip_lines > 0) out += "  skip_lines   " + std::to_string(d.skip_lines) + "\n";
  out += "  line ends    " + g.line_ending + "\n";
  out += "  null values  " + JsonList(d.null_values) + "\n";
  out += "  archive      " + draft.archive_pattern + "\n";
  for (const TableDraft& t : draft.tables) {
    out += "\ntable " + t.table + " (file " + t.file_pattern + ": " + Join(t.files, ", ") + "; " +
           std::to_string(t.rows) + " rows)\n";
    size_t name_w = 6, type_w = 4;
    for (const NamedColumn& c : t.columns) {
      name_w = std::max(name_w, c.guess.column.name.size());
      type_w = std::max(type_w, TypeText(c.guess.column).size());
    }
    name_w = std::min<size_t>(name_w, 28);
    type_w = std::min<size_t>(type_w, 40);
    out += "  " + Pad("column", name_w) + Pad("type", type_w) + Pad("fits", 13) + Pad("nulls", 6) +
           "examples\n";
    for (const NamedColumn& c : t.columns) {
      const ColumnGuess& cg = c.guess;
      std::string fits = std::to_string(cg.fits) + "/" + std::to_string(cg.values);
      if (cg.values > 0) fits += " " + Percent(static_cast<double>(cg.fits) / cg.values);
      std::vector<std::string> ex;
      for (const std::string& e : cg.examples) ex.push_back(Printable(e, 24));
      out += "  " + Pad(cg.column.name, name_w) + Pad(TypeText(cg.column), type_w) + Pad(fits, 13) +
             Pad(std::to_string(cg.nulls), 6) + Join(ex, " | ") + "\n";
      if (!c.header.empty() && !cg.column.aliases.empty()) {
        out += "      header \"" + Printable(c.header, 60) + "\" kept as an alias\n";
      }
      if (!cg.note.empty()) out += "      " + cg.note + "\n";
      if (!c.widened.empty()) out += "      load check: " + c.widened + "\n";
    }
    if (std::any_of(t.columns.begin(), t.columns.end(), [](const NamedColumn& c) {
          return c.guess.column.name.starts_with("column_") && !c.header.empty();
        })) {
      out +=
          "  rename: headers without letters a-z became column_N; give them SQL names (the "
          "header stays an alias, so files still map)\n";
    }
    if (!t.primary_key_suggestion.empty()) {
      out += "  suggestion: \"primary_key\": " + JsonList(t.primary_key_suggestion) +
             " and \"merge\": \"upsert\" (unique and never empty in the sample, and named like a "
             "key); not written: add them if deliveries update rows by that key\n";
    }
    for (const std::string& n : t.notes) out += "  note: " + n + "\n";
    out += "  load check: " +
           (t.rejected_by_check == 0
                ? std::string("every sample row loads with this schema")
                : std::to_string(t.rejected_by_check) + " rows would be rejected (see note)") +
           "\n";
  }
  for (const std::string& n : draft.notes) out += "\nnote: " + n + "\n";
  return out;
}

}  // namespace sluice::infer
