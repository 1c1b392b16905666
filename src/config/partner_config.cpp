// Reading and validation of partners/<id>/partner.yaml.
#include <fnmatch.h>

#include <algorithm>

#include "config/encodings.h"
#include "config/pipeline_config.h"
#include "core/date.h"
#include "core/strings.h"

namespace sluice::config {

const TableSource* PartnerConfig::FindTable(std::string_view table) const {
  for (const TableSource& t : tables) {
    if (t.name == table) return &t;
  }
  return nullptr;
}

bool TableSource::Matches(std::string_view normalized_path) const {
  const bool full = file.find('/') != std::string::npos;
  const size_t slash = normalized_path.rfind('/');
  const std::string subject(full || slash == std::string_view::npos
                                ? normalized_path
                                : normalized_path.substr(slash + 1));
  return ::fnmatch(file.c_str(), subject.c_str(), full ? FNM_PATHNAME : 0) == 0;
}

Result<std::string> PartnerConfig::ArchiveName(const Date& date) const {
  return ExpandNamePattern(archive, id, date);
}

Status CheckNamePattern(std::string_view pattern) {
  return ExpandNamePattern(pattern, "partner", Date{2000, 1, 1}).status();
}

Result<std::string> ExpandNamePattern(std::string_view pattern, std::string_view partner,
                                      const Date& date) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '{') {
      if (pattern[i] == '}') {
        return Status::InvalidArgument("unmatched } in \"" + std::string(pattern) + "\"");
      }
      out += pattern[i];
      continue;
    }
    size_t end = pattern.find('}', i);
    if (end == std::string_view::npos) {
      return Status::InvalidArgument("unmatched { in \"" + std::string(pattern) + "\"");
    }
    std::string_view field = pattern.substr(i + 1, end - i - 1);
    if (field == "partner") {
      out += partner;
    } else if (field == "date") {
      out += date.ToString();
    } else if (field.starts_with("date:")) {
      SLUICE_ASSIGN_OR_RETURN(std::string formatted, date.Format(field.substr(5)));
      out += formatted;
    } else {
      return Status::InvalidArgument("unknown placeholder {" + std::string(field) + "} in \"" +
                                     std::string(pattern) +
                                     "\"; use {partner}, {date} or {date:%Y%m%d}");
    }
    i = end;
  }
  if (out.find('/') != std::string::npos || out == "." || out == "..") {
    return Status::InvalidArgument("\"" + std::string(pattern) +
                                   "\" must name a file, without \"/\"");
  }
  return out;
}

namespace {

std::optional<char> ReadSingleChar(MapReader& r, std::string_view key) {
  auto v = r.String(key);
  if (!v) return std::nullopt;
  if (*v == "\\t" || *v == "tab" || *v == "\t") return '\t';
  // NUL is never a delimiter or quote: the tokenizer rejects a row holding one (found by
  // fuzz/csv_tokenizer: a "\0" delimiter split fields on its fast path and not on its slow one).
  if (v->size() != 1 || static_cast<unsigned char>((*v)[0]) >= 0x80 || (*v)[0] == '\n' ||
      (*v)[0] == '\r' || (*v)[0] == '\0') {
    r.ErrorAtKey(key, "\"" + std::string(key) +
                          "\" must be one ASCII character other than NUL, CR or LF (or \"\\t\"" +
                          (key == "quote" ? std::string(", or none to turn quoting off") : "") +
                          "), got \"" + Printable(*v) + "\"");
    return std::nullopt;
  }
  return (*v)[0];
}

// Why a table's file pattern (an fnmatch glob over archive member names) can never match a
// member that extract accepts; "" when it is fine.
std::string CheckFilePattern(std::string_view pattern) {
  if (pattern.empty()) return "is empty; give a glob such as \"orders*.csv\"";
  if (!IsValidUtf8(pattern)) return "is not valid UTF-8";
  for (unsigned char c : pattern) {
    if (c < 0x20 || c == 0x7f) return "contains a control character";
  }
  if (pattern.find('\\') != std::string_view::npos) {
    return "contains a backslash; use \"/\" between folders (archives with \"\\\" are refused)";
  }
  if (pattern.front() == '/') return "must be relative to the archive root (no leading \"/\")";
  for (const std::string& seg : Split(pattern, '/')) {
    if (seg == "..") return "must not contain \"..\"";
  }
  return "";
}

}  // namespace

PartnerConfig ReadPartner(const Node& root, Diagnostics* diags) {
  PartnerConfig p;
  p.loc = root.location();
  MapReader r(root, "partner.yaml", diags);
  if (auto v = r.String("id", true)) {
    p.id = *v;
    if (!IsValidPartnerId(*v)) {
      r.ErrorAtKey("id",
                   "partner id \"" + Printable(*v) + "\" must match [a-z0-9][a-z0-9_-]{0,62}");
    }
  }
  if (auto v = r.String("name")) p.name = *v;
  if (auto v = r.String("expected_by")) {
    if (auto minute = ParseTimeOfDay(*v); minute.ok()) {
      p.expected_by = *v;
      p.expected_by_minute = *minute;
    } else {
      r.ErrorAtKey("expected_by", minute.status().message() +
                                      " in the pipeline's time zone (sluice.yaml timezone)");
    }
  }
  if (auto v = r.Bool("enabled")) p.enabled = *v;
  if (auto v = r.String("archive", true)) {
    p.archive = *v;
    if (Status st = CheckNamePattern(*v); !st.ok()) r.ErrorAtKey("archive", st.message());
  }
  if (const Node* c = r.Value("complete")) {
    MapReader cr(*c, "partner.yaml complete", diags);
    if (auto v = cr.String("marker")) p.complete.marker = *v;
    if (auto v = cr.Int("stable_seconds", false, 1, 86400)) p.complete.stable_seconds = *v;
    // By the keys written, so a bad value or a misspelt key gets its own error and no second,
    // contradicting one.
    const bool has_marker = c->IsMap() && c->Get("marker") != nullptr;
    const bool has_stable = c->IsMap() && c->Get("stable_seconds") != nullptr;
    if (has_marker && has_stable) {
      diags->Error(c->location(),
                   "partner.yaml complete: set only one of \"marker\" and \"stable_seconds\"");
    } else if (has_marker && cr.ok() && p.complete.marker.empty()) {
      cr.ErrorAtKey("marker",
                    "\"marker\" is empty; name the file the partner writes last (e.g. _SUCCESS)");
    } else if (!has_marker && !has_stable && c->IsMap() && c->map_items().empty()) {
      diags->Error(c->location(),
                   "partner.yaml complete: set one of \"marker\" and \"stable_seconds\"");
    }
    if (p.complete.marker.find_first_of("/\\") != std::string::npos || p.complete.marker == "." ||
        p.complete.marker == "..") {
      cr.ErrorAtKey("marker", "\"marker\" must be a file name (not \".\" or \"..\", no \"/\")");
    }
    cr.Finish();
  }
  if (const Node* c = r.Value("csv")) {
    MapReader cr(*c, "partner.yaml csv", diags);
    if (auto v = cr.String("encoding")) {
      std::string enc = ToLower(*v);
      if (!FindEncoding(enc)) {
        cr.ErrorAtKey("encoding", "unknown encoding \"" + *v + "\"" +
                                      DidYouMean(enc, EncodingLabels()) +
                                      "; supported: " + SupportedEncodingsText());
      }
      p.csv.encoding = enc;
    }
    if (auto v = ReadSingleChar(cr, "delimiter")) p.csv.delimiter = *v;
    // `quote: none` (or "") turns quoting off: database dumps in TSV write a field that starts
    // with a quote character as plain text, which CSV quoting would read to the next quote.
    if (const Node* q = c->IsMap() ? c->Get("quote") : nullptr;
        q != nullptr && q->IsScalar() && (q->scalar().empty() || ToLower(q->scalar()) == "none")) {
      p.csv.quoting = false;
      cr.Allow("quote");
    } else if (auto v = ReadSingleChar(cr, "quote")) {
      p.csv.quote = *v;
    }
    if (auto v = cr.Bool("header")) p.csv.header = *v;
    if (auto v = cr.Int("skip_lines", false, 0, 1000)) p.csv.skip_lines = static_cast<int>(*v);
    if (auto v = cr.ByteSize("max_record_bytes")) {
      if (*v < 1024 || *v > (int64_t{1} << 30)) {
        cr.ErrorAtKey("max_record_bytes",
                      "\"max_record_bytes\" must be between 1KiB and 1GiB (default 16MiB)");
      } else {
        p.csv.max_record_bytes = *v;
      }
    }
    if (auto v = cr.Int("max_columns", false, 1, 1000000)) p.csv.max_columns = *v;
    // YAML reads a bare NULL, null or ~ as "no value", which would silently keep the default
    // null_values; a user who wrote one meant the text NULL (or a list), so say so.
    if (const Node* nv = c->IsMap() ? c->Get("null_values") : nullptr;
        nv != nullptr && nv->IsNull() && !nv->scalar().empty()) {
      cr.ErrorAt(*nv, "\"null_values\" must be a list of strings, got " + nv->scalar() +
                          " (YAML null); write null_values: [\"\", \"" + nv->scalar() +
                          "\"] to read empty fields and the text " + nv->scalar() + " as NULL");
    }
    if (auto v = cr.StringList("null_values")) p.csv.null_values = *v;
    if (p.csv.quoting && p.csv.delimiter == p.csv.quote) {
      diags->Error(c->location(), "partner.yaml csv: delimiter and quote must differ");
    }
    cr.Finish();
  }
  if (const Node* l = r.Value("limits")) {
    MapReader lr(*l, "partner.yaml limits", diags);
    if (auto v = lr.Int("max_entries", false, 1)) p.limits.max_entries = *v;
    if (auto v = lr.ByteSize("max_entry_bytes")) p.limits.max_entry_bytes = *v;
    if (auto v = lr.ByteSize("max_total_bytes")) p.limits.max_total_bytes = *v;
    if (auto v = lr.Double("max_ratio")) {
      if (*v < 1)
        lr.ErrorAtKey("max_ratio", "\"max_ratio\" must be at least 1");
      else
        p.limits.max_ratio = *v;
    }
    lr.Finish();
  }
  if (const Node* t = r.Value("tables", true)) {
    if (!t->IsMap() || t->map_items().empty()) {
      r.ErrorAt(*t, "\"tables\" must map each table name to {file: \"pattern\"}");
    } else {
      for (const Node::MapItem& item : t->map_items()) {
        TableSource src;
        src.name = item.key;
        src.loc = item.key_loc;
        if (!IsValidIdentifier(item.key)) {
          diags->Error(item.key_loc, "table name \"" + Printable(item.key) +
                                         "\" must be letters, digits and _ (a SQL identifier)");
        } else if (ToLower(item.key).starts_with("sluice_")) {
          // (Names a warehouse back-end keeps for itself, such as SQLite's sqlite_*, are its
          // TableRules, checked by tasks::CheckTableRules.)
          // The merge reads its batches from virtual tables named sluice_rows_N and keeps
          // what each date's merge did in sluice_merges.
          diags->Error(item.key_loc, "table name \"" + item.key +
                                         "\" is reserved: sluice's own tables in a partner's "
                                         "database start with \"sluice_\"; rename the table");
        }
        for (const TableSource& other : p.tables) {
          // SQLite table names are case-insensitive: both would be one table of the partner's
          // database, with two schemas fighting over it.
          if (other.name != item.key && ToLower(other.name) == ToLower(item.key)) {
            diags->Error(item.key_loc,
                         "tables \"" + other.name + "\" and \"" + item.key +
                             "\" differ only in case, and SQLite table names are "
                             "case-insensitive, so they would be one table; rename one");
          }
        }
        if (item.value.IsScalar()) {
          src.file = item.value.scalar();  // shorthand: `orders: "orders*.csv"`
        } else {
          MapReader tr(item.value, "table \"" + item.key + "\"", diags);
          if (auto v = tr.String("file", true)) src.file = *v;
          if (auto v = tr.Bool("optional")) src.optional = *v;
          if (auto v = tr.String("format")) {
            if (*v == "ndjson" || *v == "jsonl") {
              src.format = TableFormat::kNdjson;
            } else if (*v == "xlsx") {
              src.format = TableFormat::kXlsx;
            } else if (*v != "csv") {
              tr.ErrorAtKey("format", "table \"" + item.key + "\": format \"" + Printable(*v) +
                                          "\" is not one sluice reads; use csv (the default), "
                                          "ndjson (one JSON object per line) or xlsx (an Excel "
                                          "sheet)");
            }
          }
          if (auto v = tr.String("sheet")) src.sheet = *v;
          if (auto v = tr.ByteSize("max_shared_strings_bytes")) {
            if (*v < 1 || *v > (int64_t{16} << 30)) {
              tr.ErrorAtKey(
                  "max_shared_strings_bytes",
                  "table \"" + item.key + "\": max_shared_strings_bytes must be 1 to 16GiB");
            } else {
              src.max_shared_strings_bytes = *v;
            }
          }
          if (src.format != TableFormat::kXlsx &&
              (tr.Has("sheet") || tr.Has("max_shared_strings_bytes"))) {
            tr.ErrorAtKey(tr.Has("sheet") ? "sheet" : "max_shared_strings_bytes",
                          "table \"" + item.key +
                              "\": sheet and max_shared_strings_bytes are for format: xlsx");
          }
          tr.Finish();
        }
        if (std::string why = CheckFilePattern(src.file); !why.empty()) {
          diags->Error(item.value.location(), "table \"" + item.key + "\" file pattern \"" +
                                                  Printable(src.file) + "\" " + why);
        }
        for (const TableSource& other : p.tables) {
          if (!src.file.empty() && other.file == src.file) {
            diags->Error(item.value.location(),
                         "tables \"" + other.name + "\" and \"" + item.key +
                             "\" use the same file pattern \"" + Printable(src.file) +
                             "\"; each archive member must belong to one table");
          } else if (const std::string example = NameMatchingGlob(src.file, "", 'x').value_or("");
                     !example.empty() && other.Matches(example)) {
            // The first table whose pattern matches takes a member: this one would lose its
            // files (e.g. "shipments*.csv" listed before "shipments_extra*.csv"). Checked on
            // its plainest file name ("shipments_extra.csv").
            diags->Warn(item.value.location(),
                        "table \"" + item.key + "\" would get no file named like \"" +
                            Printable(example) + "\": table \"" + other.name +
                            "\", listed before it, has the pattern \"" + Printable(other.file) +
                            "\", which matches it too, and the first match takes a file; list "
                            "\"" +
                            item.key + "\" first or make the patterns exclusive");
          }
        }
        p.tables.push_back(std::move(src));
      }
    }
  }
  r.Finish();
  return p;
}

}  // namespace sluice::config
