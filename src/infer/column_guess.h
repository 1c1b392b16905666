// infer/column_guess.h: guesses one column's type from its values, DuckDB's way (a ladder of
// candidate types, the first that every value fits wins) with the types and formats a sluice
// schema can say and the loader's own parsers (csv/conform.h) as the judge of "fits".
//
// Ladder: bool (needs a word such as true/yes, not only 0/1) -> int64 (no leading zeros: "007"
// stays text, as DuckDB keeps it) -> fixed-point numbers: decimal(p,s) for up to 4 decimals,
// float64 for more or for exponents, in one of these notations, the first that reads every value:
// 1234.5, 1,234.5, 1234,5, 1.234,5, 1 234,5 (decimal_separator/thousands_separator; whole numbers
// with thousands separators become int64) -> date (ISO, dd.mm.yyyy, yyyy.mm.dd, mm/dd/yyyy,
// dd/mm/yyyy, yyyy/mm/dd, dd-mm-yyyy, mm-dd-yyyy, dd.mm.yy) -> timestamp (ISO, and each date
// format with " %H:%M:%S", " %H:%M" or fractions; US 12-hour clock) -> string.
// Empty unquoted fields and NULL / null / \N are nulls; a column with a null is nullable.
// Every candidate's share of fitting values is kept, so the report can say "string: 98% would
// be int64, not 'N/A' (line 14)".
// Thread-safety: one guesser per column per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/pipeline_config.h"

namespace sluice::infer {

// The texts read as NULL besides the empty field, when a sample has them.
inline constexpr std::string_view kNullTokens[] = {"NULL", "null", "\\N"};

struct ColumnGuess {
  config::ColumnSchema column;  // name left empty; type, formats, separators, nullable
  int64_t values = 0;           // non-null values seen
  int64_t nulls = 0;
  int64_t fits = 0;                   // values that fit the chosen type (== values)
  std::vector<std::string> examples;  // up to 3 distinct values
  std::string note;                   // near misses and ambiguities, "" when none
  bool unique = false;                // every value distinct (only tracked when asked)
};

class ColumnGuesser {
 public:
  // `track_unique`: keep the values to tell whether the column is unique (key candidates).
  explicit ColumnGuesser(bool track_unique = false);
  ~ColumnGuesser();
  ColumnGuesser(const ColumnGuesser&) = delete;
  ColumnGuesser& operator=(const ColumnGuesser&) = delete;
  ColumnGuesser(ColumnGuesser&&) noexcept;
  ColumnGuesser& operator=(ColumnGuesser&&) noexcept;

  // One field of the column; `line` names it in notes.
  void Add(std::string_view value, bool quoted, int64_t line);
  // The guess from every value added so far.
  ColumnGuess Finish() const;
  // Which of kNullTokens the column held.
  const std::set<std::string>& null_tokens_seen() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// True when `value` (not null) converts to `column`'s type as the merge converts it.
bool FitsType(std::string_view value, const config::ColumnSchema& column);

// True when `value` is null under the dialect sluice infer writes (empty unquoted, kNullTokens).
bool IsNullValue(std::string_view value, bool quoted);

}  // namespace sluice::infer
