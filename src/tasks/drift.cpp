#include "tasks/drift.h"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_set>

#include "core/strings.h"
#include "infer/column_guess.h"
#include "infer/infer.h"

namespace sluice::tasks {

struct DriftTracker::State {
  const config::TableSchema* schema = nullptr;
  SchemaDrift drift;
  std::map<std::string, size_t> extra_index;   // header -> index in drift.extra
  std::vector<infer::ColumnGuesser> guessers;  // per drift.extra
  // The current file: its field count and which field feeds which extra column.
  size_t fields = 0;
  std::vector<std::pair<size_t, size_t>> extra_fields;  // field -> extra index
  std::set<std::string> missing_seen;
  std::set<std::pair<std::string, std::string>> renamed_seen;
  int64_t sampled = 0;  // records whose extra values were typed
};

constexpr int64_t kSampleRows = 20480;

DriftTracker::DriftTracker(const config::TableSchema& schema) : state_(std::make_unique<State>()) {
  state_->schema = &schema;
}
DriftTracker::~DriftTracker() = default;

void DriftTracker::OnHeader(const std::vector<std::string_view>& header,
                            const csv::RowConverter* rc, const config::CsvDialect& dialect,
                            std::string_view file) {
  State& s = *state_;
  const config::TableSchema& schema = *s.schema;
  s.fields = header.size();
  s.extra_fields.clear();
  // A refused header is mapped again under a schema that refuses nothing, to say what drifted.
  std::unique_ptr<csv::RowConverter> permissive;
  config::TableSchema loose;
  if (rc == nullptr) {
    loose = schema;
    for (config::ColumnSchema& c : loose.columns) c.nullable = true;
    loose.primary_key.clear();
    loose.on_extra_columns = config::ExtraColumnsPolicy::kIgnore;
    loose.on_missing_columns = config::MissingColumnsPolicy::kNull;
    auto made = csv::RowConverter::Create(loose, dialect, &header);
    if (!made.ok()) return;  // duplicate headers and the like: not drift
    permissive = std::move(*made);
    rc = permissive.get();
  }
  const std::vector<int>& source = rc->source_fields();
  std::vector<bool> used(header.size(), false);
  bool drifted = false;
  for (size_t c = 0; c < schema.columns.size() && c < source.size(); ++c) {
    const config::ColumnSchema& col = schema.columns[c];
    if (source[c] < 0) {
      if (s.missing_seen.insert(col.name).second) s.drift.missing.push_back(col.name);
      drifted = true;
      continue;
    }
    used[static_cast<size_t>(source[c])] = true;
    const std::string h(Trim(header[static_cast<size_t>(source[c])]));
    if (csv::FoldHeader(h) == csv::FoldHeader(col.name)) continue;  // the name, any case
    const bool alias = std::any_of(col.aliases.begin(), col.aliases.end(), [&](const auto& a) {
      return csv::FoldHeader(a) == csv::FoldHeader(h);
    });
    if (s.renamed_seen.insert({h, col.name}).second) {
      s.drift.renamed.push_back({h, col.name, alias});
    }
    drifted = true;
  }
  std::unordered_set<std::string> taken;  // lower-cased: one look-up per column, however wide
  for (const config::ColumnSchema& c : schema.columns) taken.insert(ToLower(c.name));
  for (const ExtraColumn& e : s.drift.extra) taken.insert(ToLower(e.suggested.name));
  for (size_t f = 0; f < header.size(); ++f) {
    const std::string h(Trim(header[f]));
    if (used[f] || h.empty()) continue;
    drifted = true;
    auto [it, inserted] = s.extra_index.emplace(h, s.drift.extra.size());
    if (inserted) {
      ExtraColumn e;
      e.header = h;
      e.suggested.name = infer::ColumnNameFor(h, schema.columns.size() + f, &taken);
      s.drift.extra.push_back(e);
      s.guessers.emplace_back();
    }
    s.extra_fields.emplace_back(f, it->second);
  }
  if (drifted) s.drift.files.emplace_back(file);
}

void DriftTracker::OnRecord(const csv::Record& record) {
  State& s = *state_;
  // Typing every row of a large file would slow the merge; DuckDB's sample size is plenty for a
  // suggestion.
  if (s.extra_fields.empty() || record.fields.size() != s.fields || s.sampled >= kSampleRows) {
    return;
  }
  ++s.sampled;
  for (const auto& [f, e] : s.extra_fields) {
    s.guessers[e].Add(record.fields[f], record.quoted[f] != 0, record.line);
  }
}

SchemaDrift DriftTracker::Finish() const {
  SchemaDrift d = state_->drift;
  for (size_t i = 0; i < d.extra.size(); ++i) {
    infer::ColumnGuess g = state_->guessers[i].Finish();
    const std::string name = d.extra[i].suggested.name;
    d.extra[i].suggested = g.column;
    d.extra[i].suggested.name = name;
    // A column new to the schema is nullable: earlier deliveries did not have it.
    d.extra[i].suggested.nullable = true;
    d.extra[i].values = g.values;
    if (csv::FoldHeader(d.extra[i].header) != csv::FoldHeader(name)) {
      d.extra[i].suggested.aliases = {d.extra[i].header};
    }
  }
  return d;
}

namespace {

nlohmann::json ColumnJson(const config::ColumnSchema& c) {
  nlohmann::json j = {{"name", c.name}, {"type", c.TypeName()}};
  if (!c.formats.empty())
    j["format"] = c.formats.size() == 1 ? nlohmann::json(c.formats[0]) : nlohmann::json(c.formats);
  if (c.decimal_separator != '.') j["decimal_separator"] = std::string(1, c.decimal_separator);
  if (!c.thousands_separator.empty()) j["thousands_separator"] = c.thousands_separator;
  if (!c.aliases.empty()) j["aliases"] = c.aliases;
  return j;
}

}  // namespace

nlohmann::json DriftPatch(const SchemaDrift& drift, const config::TableSchema& schema) {
  nlohmann::json ops = nlohmann::json::array();
  for (size_t c = 0; c < schema.columns.size(); ++c) {
    const config::ColumnSchema& col = schema.columns[c];
    const std::string at = "/columns/" + std::to_string(c);
    if (std::find(drift.missing.begin(), drift.missing.end(), col.name) != drift.missing.end() &&
        !col.nullable &&
        std::find(schema.primary_key.begin(), schema.primary_key.end(), col.name) ==
            schema.primary_key.end()) {
      ops.push_back({{"op", "add"}, {"path", at + "/nullable"}, {"value", true}});
    }
    std::vector<std::string> aliases = col.aliases;
    for (const RenamedColumn& r : drift.renamed) {
      if (r.column == col.name && !r.by_alias) aliases.push_back(r.header);
    }
    if (aliases.size() != col.aliases.size()) {
      ops.push_back({{"op", "add"}, {"path", at + "/aliases"}, {"value", aliases}});
    }
  }
  for (const ExtraColumn& e : drift.extra) {
    ops.push_back({{"op", "add"}, {"path", "/columns/-"}, {"value", ColumnJson(e.suggested)}});
  }
  if (!drift.missing.empty() && schema.on_missing_columns == config::MissingColumnsPolicy::kFail) {
    ops.push_back({{"op", "add"}, {"path", "/on_missing_columns"}, {"value", "null"}});
  }
  return ops;
}

nlohmann::json DriftJson(const SchemaDrift& drift, const config::TableSchema& schema) {
  nlohmann::json extra = nlohmann::json::array();
  for (const ExtraColumn& e : drift.extra) {
    extra.push_back({{"header", e.header},
                     {"column", e.suggested.name},
                     {"type", e.suggested.TypeName()},
                     {"values", e.values}});
  }
  nlohmann::json renamed = nlohmann::json::array();
  for (const RenamedColumn& r : drift.renamed) {
    renamed.push_back({{"header", r.header},
                       {"column", r.column},
                       {"via", r.by_alias ? "alias" : "loose match"}});
  }
  return {
      {"extra", extra},       {"missing", drift.missing},   {"renamed", renamed},
      {"files", drift.files}, {"schema_file", schema.file}, {"patch", DriftPatch(drift, schema)}};
}

std::string DescribeDrift(const SchemaDrift& drift, const config::TableSchema& schema) {
  if (drift.empty()) return "";
  return DescribeDriftJson(DriftJson(drift, schema), schema.table);
}

namespace {
std::string JsonString(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}
}  // namespace

std::string DriftDifferences(const nlohmann::json& drift) {
  if (!drift.is_object()) return "";
  std::vector<std::string> parts;
  std::vector<std::string> names;
  for (const auto& e : drift.value("extra", nlohmann::json::array())) {
    names.push_back("\"" + Printable(JsonString(e, "header"), 60) + "\" (" + JsonString(e, "type") +
                    ")");
  }
  if (!names.empty()) parts.push_back("extra columns " + Join(names, ", "));
  names.clear();
  for (const auto& m : drift.value("missing", nlohmann::json::array())) {
    if (m.is_string()) names.push_back(m.get<std::string>());
  }
  if (!names.empty()) parts.push_back("missing columns " + Join(names, ", "));
  names.clear();
  for (const auto& r : drift.value("renamed", nlohmann::json::array())) {
    names.push_back(
        "\"" + Printable(JsonString(r, "header"), 60) + "\" -> " + JsonString(r, "column") + " (" +
        (JsonString(r, "via") == "alias" ? "alias" : "loose match, not an alias yet") + ")");
  }
  if (!names.empty()) parts.push_back("renamed " + Join(names, ", "));
  return Join(parts, "; ");
}

std::string DescribeDriftJson(const nlohmann::json& drift, std::string_view table) {
  const std::string differences = DriftDifferences(drift);
  if (differences.empty()) return "";
  std::string out = "header drift in table " + std::string(table) + ": " + differences;
  const nlohmann::json patch = drift.value("patch", nlohmann::json::array());
  const std::string file = JsonString(drift, "schema_file");
  if (patch.empty()) {
    out += ". The schema already accepts this header; nothing to patch";
  } else {
    out += ". To accept it, apply this JSON Patch (RFC 6902) to " +
           (file.empty() ? std::string("the table's schema") : file) + ": " + patch.dump();
    if (patch.dump().find("/nullable\"") != std::string::npos) {
      out +=
          " (a table already created with those columns NOT NULL keeps them so: the next "
          "merge says how to migrate it)";
    }
  }
  return out;
}

bool DriftIsNotable(const nlohmann::json& drift) {
  if (!drift.is_object()) return false;
  for (const char* key : {"extra", "missing", "patch"}) {
    if (drift.contains(key) && drift[key].is_array() && !drift[key].empty()) return true;
  }
  return false;
}

Status WithDrift(Status st, const DriftTracker& tracker, const config::TableSchema& schema) {
  const SchemaDrift drift = tracker.Finish();
  if (st.ok() || drift.empty()) return st;
  Status out(st.code(), st.message() + ". " + DescribeDrift(drift, schema));
  const ErrorContext& c = st.context();
  if (!c.file.empty()) out.WithFile(c.file, c.line, c.column);
  if (!c.partner.empty()) out.WithPartner(c.partner);
  if (!c.table.empty()) out.WithTable(c.table);
  if (!c.task.empty()) out.WithTask(c.task);
  return out;
}

}  // namespace sluice::tasks
