// tasks/drift.h: schema drift of a delivery: how a file's header differs from the table's schema
// (extra columns, missing columns, columns found through an alias or a looser spelling), and the
// JSON Patch (RFC 6902) that makes the schema file accept it.
//
// The merge hands each file's header and the csv::RowConverter made from it (whose mapping is
// the one that loads the rows, csv/conform.h) to a DriftTracker, and every record, so the values
// of extra columns can be typed the way `sluice infer` types columns (infer/column_guess.h).
// When the converter refused the header (a missing non-nullable column, on_extra_columns: fail),
// the tracker maps it again under a permissive copy of the schema to say what drifted. Extra
// columns are typed from the first 20,480 records (DuckDB's sample size), not the whole file.
// The patch adds each extra column (typed from its values, the header as an alias when it is no
// SQL identifier), makes missing columns nullable, and adds as aliases the spellings that only
// matched loosely (ignoring punctuation), so the next load maps them on purpose.
// Thread-safety: one tracker per merge thread.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "config/pipeline_config.h"
#include "core/status.h"
#include "csv/conform.h"
#include "csv/tokenizer.h"

namespace sluice::tasks {

struct RenamedColumn {
  std::string header;    // as the file spells it
  std::string column;    // the schema column it was read into
  bool by_alias = true;  // false: only the loosest match (punctuation, accents) found it
};

struct ExtraColumn {
  std::string header;
  config::ColumnSchema suggested;  // name, type, nullable, aliases
  int64_t values = 0;              // non-empty values seen
};

struct SchemaDrift {
  std::vector<ExtraColumn> extra;
  std::vector<std::string> missing;  // schema columns no header field feeds
  std::vector<RenamedColumn> renamed;
  std::vector<std::string> files;  // the files whose header drifted
  bool empty() const { return extra.empty() && missing.empty() && renamed.empty(); }
};

class DriftTracker {
 public:
  // `schema` must outlive the tracker.
  explicit DriftTracker(const config::TableSchema& schema);
  ~DriftTracker();
  DriftTracker(const DriftTracker&) = delete;
  DriftTracker& operator=(const DriftTracker&) = delete;

  // The header of `file` and the converter made from it; `rc` null when Create refused it.
  void OnHeader(const std::vector<std::string_view>& header, const csv::RowConverter* rc,
                const config::CsvDialect& dialect, std::string_view file);
  // A record of the current file (its extra columns' values are sampled).
  void OnRecord(const csv::Record& record);
  SchemaDrift Finish() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The RFC 6902 patch that accepts `drift` in `schema`'s file: an array of operations.
nlohmann::json DriftPatch(const SchemaDrift& drift, const config::TableSchema& schema);
// {"extra": [{"header", "type", "values"}], "missing": [...], "renamed": [{"header", "column",
// "via": "alias"|"loose match"}], "files": [...], "patch": DriftPatch}.
nlohmann::json DriftJson(const SchemaDrift& drift, const config::TableSchema& schema);
// One paragraph for logs, messages and alerts: what differs, then the patch to apply and where.
std::string DescribeDrift(const SchemaDrift& drift, const config::TableSchema& schema);
// What differs in DriftJson's document, one line without the patch: `extra columns "Neu"
// (string); missing columns name; renamed "Kunden-Nr" -> kunden_nr (alias)`; "" when nothing.
std::string DriftDifferences(const nlohmann::json& drift);
// The same from DriftJson's document (a merge result's "drift"), for summaries; "" for null.
std::string DescribeDriftJson(const nlohmann::json& drift, std::string_view table);
// True when DriftJson's document holds more than columns read through their aliases (what
// aliases are for): an extra or missing column, or something to patch. Logs and printed
// summaries show only these; results keep every difference.
bool DriftIsNotable(const nlohmann::json& drift);

// `st` (a refused header) with the tracker's drift appended, so the failure, `show` and the
// failure alert say what differs and how to accept it; `st` unchanged without drift.
Status WithDrift(Status st, const DriftTracker& tracker, const config::TableSchema& schema);

}  // namespace sluice::tasks
