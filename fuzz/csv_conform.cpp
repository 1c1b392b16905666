// fuzz/csv_conform.cpp: a merge's reading path end to end, without the warehouse: bytes in a
// partner's encoding -> UTF-8 -> tokenizer -> header mapping -> typed conversion, as
// tasks/merge.cpp drives it. One row in, a row of cells or a reject out, never a crash.
//
// Input: choices for a schema (built as JSON and read by config's ReadSchema, so only schemas
// `sluice validate` accepts are tried) and a dialect (one partner.yaml accepts), then the file.
// Checked, besides "no crash, no sanitizer report":
//   - a converted row has one cell per column, of the kind its type stores; strings are valid
//     UTF-8 within max_length; decimal, date and timestamp text is canonical (converting it
//     again gives the same text);
//   - the rescued extra columns are a JSON object;
//   - a rejected row's diagnostic carries a known code and a message.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/encodings.h"
#include "config/pipeline_config.h"
#include "core/strings.h"
#include "csv/conform.h"
#include "csv/encoding.h"
#include "csv/tokenizer.h"
#include "fuzz_input.h"

namespace {

using sluice::config::ColumnType;
using sluice::fuzz::FuzzInput;

const char* const kNames[] = {"id", "amount", "name", "ordered_at", "day", "ok", "ratio", "x"};
const char* const kAliases[] = {"ID",    "Order ID", "order-id", "Amount (KRW)", "Name",
                                "naïve", "ÉTAT",     "x_y",      " id ",         "Straße"};
const char* const kTypes[] = {"string", "int64", "float64",   "decimal",
                              "bool",   "date",  "timestamp", "varchar(10)"};
const char* const kFormats[] = {"%Y-%m-%d",
                                "%d/%m/%Y",
                                "%m/%d/%y",
                                "%Y%m%d",
                                "%d %b %Y",
                                "%B %d, %Y",
                                "%Y-%m-%d %H:%M:%S",
                                "%d.%m.%Y %I:%M %p",
                                "%s",
                                "%Y-%m-%dT%H:%M:%S%z",
                                "%H:%M:%S.%f %Y/%m/%d",
                                "%%%Y"};
const char* const kThousands[] = {"", ",", ".", " ", "'"};
const char* const kNulls[] = {"", "NULL", "null", "\\N", "-", "NA"};

nlohmann::json Column(FuzzInput& in, int index) {
  nlohmann::json c;
  c["name"] = std::string(kNames[index % 8]) + (index >= 8 ? std::to_string(index) : "");
  std::string type = kTypes[in.Pick(8)];
  if (type == "decimal") {
    int p = 1 + static_cast<int>(in.Pick(38));
    int s = static_cast<int>(in.Pick(static_cast<size_t>(p) + 1));
    type = "decimal(" + std::to_string(p) + "," + std::to_string(s) + ")";
  }
  c["type"] = type;
  const uint8_t flags = in.Byte();
  if (flags & 1) c["nullable"] = false;
  if (flags & 2) {
    c["aliases"] = nlohmann::json::array();
    for (size_t n = 1 + in.Pick(2); n > 0; --n) c["aliases"].push_back(kAliases[in.Pick(10)]);
  }
  if (flags & 4) {
    if (type == "date" || type == "timestamp") {
      c["format"] = nlohmann::json::array();
      for (size_t n = 1 + in.Pick(2); n > 0; --n) {
        std::string f = (flags & 0x40) ? in.String(12) : kFormats[in.Pick(12)];
        c["format"].push_back(f);
      }
    } else if (type == "string") {
      c["max_length"] = 1 + in.Pick(20);
    } else if (type == "bool") {
      c["true_values"] = {"oui", "Ja"};
      c["false_values"] = {"non", "Nein"};
    } else if (type != "varchar(10)") {
      const std::string thousands = kThousands[in.Pick(5)];
      const std::string decimal = (flags & 8) && type != "int64" ? "," : ".";
      if (thousands != decimal) {
        if (!thousands.empty()) c["thousands_separator"] = thousands;
        if (type != "int64") c["decimal_separator"] = decimal;
      }
    }
  }
  return c;
}

// Valid UTF-8 text of a kText cell of `type`, canonical: converting it again gives itself.
void CheckCell(const sluice::config::ColumnSchema& col, const sluice::csv::Cell& cell) {
  using sluice::csv::CellKind;
  if (cell.kind == CellKind::kNull) {
    FUZZ_CHECK(col.nullable, "NULL only in a nullable column " + col.name);
    return;
  }
  switch (col.type) {
    case ColumnType::kInt64:
    case ColumnType::kBool:
      FUZZ_CHECK(cell.kind == CellKind::kInt, "int64/bool store an integer");
      if (col.type == ColumnType::kBool) FUZZ_CHECK(cell.i == 0 || cell.i == 1, "bool is 0/1");
      return;
    case ColumnType::kFloat64:
      FUZZ_CHECK(cell.kind == CellKind::kReal, "float64 stores a real");
      FUZZ_CHECK(cell.d == cell.d && cell.d - cell.d == 0, "no NaN or infinity");
      return;
    default:
      break;
  }
  FUZZ_CHECK(cell.kind == CellKind::kText, "text kinds store text");
  const std::string text(cell.s);
  FUZZ_CHECK(sluice::IsValidUtf8(text), "stored text is UTF-8 in " + col.name);
  std::string again, error;
  switch (col.type) {
    case ColumnType::kString:
      FUZZ_CHECK(col.max_length == 0 || static_cast<int64_t>(text.size()) <= col.max_length,
                 "max_length holds");
      break;
    case ColumnType::kDecimal:
      FUZZ_CHECK(sluice::csv::CanonicalDecimal(text, col.precision, col.scale, &again, &error),
                 "a stored decimal converts again: " + text + ": " + error);
      FUZZ_CHECK(again == text, "decimal text is canonical: " + text + " -> " + again);
      break;
    case ColumnType::kDate:
      FUZZ_CHECK(sluice::csv::ParseDateValue(text, "", &again), "a stored date reads as ISO");
      FUZZ_CHECK(again == text, "date text is canonical: " + text + " -> " + again);
      break;
    case ColumnType::kTimestamp:
      FUZZ_CHECK(sluice::csv::ParseTimestampValue(text, "", &again),
                 "a stored timestamp reads as ISO: " + text);
      FUZZ_CHECK(again == text, "timestamp text is canonical: " + text + " -> " + again);
      break;
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  // The schema.
  nlohmann::json schema;
  schema["table"] = "t";
  const int ncols = 1 + static_cast<int>(in.Pick(6));
  for (int i = 0; i < ncols; ++i) schema["columns"].push_back(Column(in, i));
  const uint8_t policy = in.Byte();
  static const char* const kExtra[] = {"ignore", "rescue", "fail"};
  schema["on_extra_columns"] = kExtra[policy % 3];
  schema["on_missing_columns"] = (policy & 4) ? "fail" : "null";
  sluice::config::Diagnostics diags;
  // Fuzzed format strings may not be UTF-8: JSON carries them as U+FFFD, as a file would.
  auto root = sluice::config::ParseJson(
      schema.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "t.json");
  FUZZ_CHECK(root.ok(), "the built schema is JSON");
  const sluice::config::TableSchema table = sluice::config::ReadSchema(*root, &diags);
  if (diags.HasErrors()) return 0;  // validate would refuse it: not an input a merge sees

  // The dialect.
  sluice::config::CsvDialect dialect;
  const uint8_t d = in.Byte();
  static constexpr char kDelims[] = {',', ';', '\t', '|'};
  dialect.delimiter = kDelims[d & 3];
  dialect.quoting = (d & 4) == 0;
  dialect.quote = (d & 8) ? '\'' : '"';
  dialect.header = (d & 16) == 0;
  dialect.null_values = {kNulls[in.Pick(6)]};
  if (d & 32) dialect.null_values.push_back(kNulls[in.Pick(6)]);
  const auto& labels = sluice::config::EncodingLabels();
  dialect.encoding = (d & 64) ? labels[in.Pick(labels.size())] : "utf-8";
  dialect.max_record_bytes = 4096;

  // The file, read as tasks/merge.cpp reads it.
  sluice::csv::StringSource raw(in.Rest());
  auto utf8 = sluice::csv::MakeUtf8Source(&raw, dialect.encoding);
  FUZZ_CHECK(utf8.ok(), "every listed encoding opens");
  sluice::csv::TokenizerOptions topt;
  topt.delimiter = dialect.delimiter;
  topt.quote = dialect.quote;
  topt.quoting = dialect.quoting;
  topt.max_record_bytes = static_cast<size_t>(dialect.max_record_bytes);
  topt.max_field_bytes = topt.max_record_bytes;
  topt.buffer_bytes = 4096;
  sluice::csv::Tokenizer tokenizer(utf8->get(), topt);
  sluice::csv::Record rec;
  std::unique_ptr<sluice::csv::RowConverter> rc;
  if (dialect.header) {
    auto has = tokenizer.Next(&rec);
    if (!has.ok() || !*has) return 0;
    auto made = sluice::csv::RowConverter::Create(table, dialect, &rec.fields);
    if (!made.ok()) {
      FUZZ_CHECK(made.status().code() == sluice::StatusCode::kInvalidArgument,
                 "a header that does not map is InvalidArgument: " + made.status().ToString());
      return 0;
    }
    rc = std::move(*made);
  } else {
    auto made = sluice::csv::RowConverter::Create(table, dialect, nullptr);
    FUZZ_CHECK(made.ok(), "without a header the schema's columns are taken in order");
    rc = std::move(*made);
  }
  sluice::csv::Diagnostic diag;
  static const std::vector<std::string> kCodes = {"field_count", "null", "type",        "too_long",
                                                  "encoding",    "csv",  "extra_column"};
  for (int rows = 0; rows < 256; ++rows) {
    auto has = tokenizer.Next(&rec);
    if (!has.ok() || !*has) break;
    if (!rc->Convert(rec, &diag)) {
      FUZZ_CHECK(!diag.code.empty() && !diag.message.empty(), "a reject says why");
      FUZZ_CHECK(std::find(kCodes.begin(), kCodes.end(), diag.code) != kCodes.end(),
                 "unknown reject code " + diag.code);
      FUZZ_CHECK(diag.line == rec.line, "a reject names the record's line");
      continue;
    }
    const auto& cells = rc->cells();
    FUZZ_CHECK(cells.size() == table.columns.size(), "one cell per column");
    for (size_t i = 0; i < cells.size(); ++i) CheckCell(table.columns[i], cells[i]);
    if (!rc->rescued().empty()) {
      FUZZ_CHECK(rc->rescue(), "rescued text only under on_extra_columns: rescue");
      auto j = nlohmann::json::parse(rc->rescued(), nullptr, /*allow_exceptions=*/false);
      FUZZ_CHECK(j.is_object(), "rescued columns are a JSON object: " + std::string(rc->rescued()));
    }
  }
  return 0;
}
