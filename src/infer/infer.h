// infer/infer.h: `sluice infer`'s library: drafts a partner's partner.yaml and one schema per
// table from a sample delivery (one CSV file, or an archive of them), and says what it guessed
// and how sure it is.
//
// Steps, per CSV file: the encoding (encoding_sniff.h), the dialect (dialect_sniff.h), the column
// types over EVERY record of the sample (column_guess.h; DuckDB samples 20,480 rows), the header
// (DuckDB's rule: the first record is a header when one of its values does not fit its column's
// type; when every column is text, when its values are distinct, non-empty and not repeated
// below), then column names (SQL identifiers; the header as an alias when it differs), and last
// a check that the draft loads the sample with the merge's own converter (csv/conform.h): a
// column that would reject a row is widened (nullable, then string) until no row is rejected.
// Rows with another field count than the header cannot be fixed by a schema; they are reported.
// Partner-level settings (encoding, dialect) come from the first file; files that disagree are
// reported. Files whose names differ only in a date or number are one table.
// Thread-safety: pure functions over their arguments.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <unordered_set>
#include <vector>

#include "config/pipeline_config.h"
#include "core/status.h"
#include "infer/column_guess.h"
#include "infer/dialect_sniff.h"
#include "infer/encoding_sniff.h"

namespace sluice::infer {

// One CSV file of the sample: its name (the archive member's path, or the file's name) and bytes.
struct SampleFile {
  std::string name;
  std::string bytes;
};

// The CSV files of `path`: the file itself, or the .csv/.tsv/.txt members of an archive (tar,
// zip, compressed tar; read with archive/safe_reader.h and its limits). `*skipped` (when given)
// gets the members left out. InvalidArgument/NotFound/Corrupt name the file.
Result<std::vector<SampleFile>> ReadSample(const std::filesystem::path& path,
                                           std::vector<std::string>* skipped = nullptr);

struct NamedColumn {
  ColumnGuess guess;    // guess.column holds the final name, type, aliases
  std::string header;   // as the file spells it ("" without a header)
  std::string widened;  // why the load check widened it, "" when it did not
};

struct TableDraft {
  std::string table;         // SQL identifier
  std::string file_pattern;  // glob for partner.yaml
  std::vector<std::string> files;
  int64_t rows = 0;  // data records
  std::vector<NamedColumn> columns;
  std::vector<std::string> primary_key_suggestion;  // empty: none
  std::string header_reason;
  std::vector<std::string> notes;  // odd records, dialect disagreements, ...
  int64_t rejected_by_check = 0;   // rows the merge would still reject (field counts)
  config::TableSchema schema;      // what the JSON says
};

struct PartnerDraft {
  std::string partner;
  std::string sample_name;  // base name of the sample
  EncodingGuess encoding;
  DialectGuess dialect;  // dialect.dialect is the partner's csv: section (encoding, header set)
  std::string header_reason;
  std::string archive_pattern;
  std::vector<TableDraft> tables;
  std::vector<std::string> notes;
};

struct InferOptions {
  std::string partner;
  std::string sample_name;  // the sample's file name (for the archive pattern)
  bool sample_is_archive = false;
};

// Drafts the partner from `files`. InvalidArgument when no file holds a CSV table.
Result<PartnerDraft> InferPartner(const std::vector<SampleFile>& files,
                                  const InferOptions& options);

// The files' text, as written to partners/<id>/.
std::string RenderPartnerYaml(const PartnerDraft& draft);
std::string RenderSchemaJson(const TableDraft& table);
// What was guessed and how sure: a few lines per table, for the terminal.
std::string RenderReport(const PartnerDraft& draft);

// A SQL-identifier column name for `header` (column `index`, 0-based), unique among `taken`
// (compared case-insensitively; the name is added to it).
std::string ColumnNameFor(std::string_view header, size_t index, std::vector<std::string>* taken);
// The same with `taken_lower` holding the lower-cased names already used: constant time per
// name, where the vector form compares with every name taken (a header of 100,000 columns took
// minutes in a merge's drift report).
std::string ColumnNameFor(std::string_view header, size_t index,
                          std::unordered_set<std::string>* taken_lower);

}  // namespace sluice::infer
