// infer/dialect_sniff.h: guesses a CSV file's delimiter, quoting, leading lines to skip and line
// endings from its UTF-8 text, the way DuckDB's sniffer does and a little further.
//
// Every candidate (delimiters , ; TAB |, quote " or ' or none) tokenizes the first records with
// the same tokenizer a merge uses (csv/tokenizer.h). A candidate whose quoting breaks (an
// unterminated quote) is out. The rest are scored as DuckDB scores them: the most records that
// share one field count win, then more columns, then the usual order (" before none before ',
// , before ; before TAB before |). Leading records with another field count (a report title) become
// skip_lines. An Excel "sep=X" first line decides the delimiter outright.
// Header detection needs column types and lives in infer.h.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/pipeline_config.h"
#include "core/status.h"

namespace sluice::infer {

struct DialectGuess {
  config::CsvDialect dialect;  // delimiter, quote/quoting, skip_lines (encoding and header unset)
  int columns = 0;             // the field count most records have
  int64_t records = 0;         // records looked at (after skip_lines)
  int64_t consistent = 0;      // of them, records with `columns` fields
  std::vector<int64_t> odd_lines;  // lines of the first records with another field count
  int64_t quoted_fields = 0;
  int64_t multiline_records = 0;  // records holding a line break inside quotes
  std::string line_ending;        // "LF", "CRLF", "CR", or "mixed (...)"
  std::string reason;             // why this candidate won, and the runner-up
  double confidence = 1.0;        // consistent / records
};

struct DialectOptions {
  int64_t max_records = 20480;  // DuckDB's default sample size
};

// The dialect of `utf8` (a whole decoded file or its start). InvalidArgument when no candidate
// reads it (e.g. every quoting choice leaves a quote open).
Result<DialectGuess> SniffDialect(std::string_view utf8, const DialectOptions& options = {});

// "LF", "CRLF", "CR" or "mixed (12 CRLF, 3 LF)" for the line breaks of `text`.
std::string DescribeLineEndings(std::string_view text);

// The delimiter as partner.yaml writes it and people read it: "," ";" "\t" "|".
std::string ShowDelimiter(char delimiter);

}  // namespace sluice::infer
