// Row conversion of csv/conform.h: one record's fields into typed cells, or a Diagnostic that
// becomes a reject. The value parsers are in conform_numbers.cpp and conform_time.cpp, the
// header mapping in conform_header.cpp.
#include "csv/conform.h"

#include <fast_float/fast_float.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>

#include "core/date.h"
#include "core/strings.h"
#include "csv/conform_internal.h"
#include "csv/encoding.h"

namespace sluice::csv {

using internal::IsDigit;
using internal::TrimSpaces;

void AppendJsonString(std::string_view s, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(ch);
    } else if (c < 0x20) {
      out->append("\\u00");
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    } else {
      out->push_back(ch);
    }
  }
  out->push_back('"');
}

void AppendCsvField(std::string_view s, std::string* out) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) {
    out->append(s);
    return;
  }
  out->push_back('"');
  for (char c : s) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

bool RowConverter::IsNull(std::string_view field, uint8_t how) const {
  if (how == kFieldAbsent) return true;
  if (how == kFieldQuoted) return false;
  if (field.empty()) return empty_is_null_;
  for (const std::string& v : null_values_) {
    if (field == v) return true;
  }
  return false;
}

namespace {

// Fills `diag` for a rejected row of `record`; false, for `return Reject(...)`.
bool Reject(const Record& record, Diagnostic* diag, std::string column, const char* code,
            std::string message) {
  diag->line = record.line;
  diag->byte_offset = record.byte_offset;
  diag->column = std::move(column);
  diag->code = code;
  diag->message = std::move(message);
  return false;
}

// Why a number did not load, when it is a number at all: for messages only.
std::string Int64Problem(std::string_view text) {
  text = TrimSpaces(text);
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) text.remove_prefix(1);
  if (text.empty() || !std::all_of(text.begin(), text.end(), IsDigit)) return "";
  return " (out of range: -9223372036854775808..9223372036854775807; use decimal(38,0) or "
         "string for larger numbers)";
}

std::string Float64Problem(std::string_view text) {
  text = TrimSpaces(text);
  if (!text.empty() && text[0] == '+') text.remove_prefix(1);
  double d = 0;
  auto r = fast_float::from_chars(text.data(), text.data() + text.size(), d);
  if (r.ptr != text.data() + text.size() || text.empty()) return "";
  if (std::isnan(d))
    return " (NaN is not loaded: leave the field empty, or list it in csv.null_values)";
  return " (beyond a double's range; infinity is not loaded)";
}

// PlainNumber for Convert: rewrites *number (into *scratch), or rejects the row saying why.
// Out of line: local notations are rare and the usual path stays tight.
[[gnu::noinline]] bool ToPlain(const config::ColumnSchema& col, std::string_view* number,
                               std::string* scratch, const Record& record, Diagnostic* diag) {
  std::string error;
  if (!PlainNumber(*number, col, scratch, &error)) {
    return Reject(record, diag, col.name, "type",
                  "\"" + Printable(*number, 40) + "\" is not " +
                      (col.type == config::ColumnType::kInt64 ? "an " : "a ") + col.TypeName() +
                      ": " + error);
  }
  *number = *scratch;
  return true;
}

}  // namespace

bool SerialToTimeValue(std::string_view text, bool date1904, bool with_time, std::string* out) {
  double serial = 0;
  if (!ParseFloat64(text, &serial) || !(serial >= 0) || serial >= 2958466) return false;
  int64_t days = static_cast<int64_t>(serial);
  int64_t ms = std::llround((serial - static_cast<double>(days)) * 86400000.0);
  if (ms >= 86400000) {  // rounds up to the next midnight
    ++days;
    ms = 0;
  }
  if (!with_time && ms != 0) return false;  // a time of day is no date
  Date date;
  if (date1904) {
    date = Date{1904, 1, 1}.AddDays(static_cast<int>(days));
  } else if (days == 60 || days == 0) {
    return false;  // 1900-02-29 (Lotus's leap-year bug) and 1900-01-00 are no dates
  } else {
    // Serial 1 is 1900-01-01; Excel counts the 29th of February 1900 that never was.
    date = Date{1899, 12, days < 60 ? 31 : 30}.AddDays(static_cast<int>(days));
  }
  *out = date.ToString();
  if (!with_time) return true;
  char buf[32];
  std::snprintf(buf, sizeof buf, " %02d:%02d:%02d", static_cast<int>(ms / 3600000),
                static_cast<int>(ms / 60000 % 60), static_cast<int>(ms / 1000 % 60));
  out->append(buf);
  if (int frac = static_cast<int>(ms % 1000); frac != 0) {
    std::snprintf(buf, sizeof buf, ".%03d", frac);
    std::string f(buf);
    while (f.back() == '0') f.pop_back();
    out->append(f);
  }
  return true;
}

bool RowConverter::Convert(const Record& record, Diagnostic* diag) {
  auto fail = [&](std::string column, const char* code, std::string message) {
    return Reject(record, diag, std::move(column), code, std::move(message));
  };
  // A number in the column's local notation ("1.234,5") becomes plain text first (rare: kept
  // out of line so the usual path stays tight).
  auto plain = [&](const config::ColumnSchema& col, std::string_view* number) {
    if (col.decimal_separator == '.' && col.thousands_separator.empty()) [[likely]] {
      return true;
    }
    return ToPlain(col, number, &number_, record, diag);
  };
  if (record.error != RowError::kNone) {
    std::string col;
    if (record.error_field >= 0) col = "field " + std::to_string(record.error_field + 1);
    return fail(col, record.error == RowError::kBadJson ? "json" : "csv", record.error_message);
  }
  if (record.fields.size() != expected_fields_) {
    return fail("", "field_count",
                "expected " + std::to_string(expected_fields_) + " fields, found " +
                    std::to_string(record.fields.size()));
  }
  // One check of the whole record catches invalid bytes in any field (and iconv's marker).
  if (!IsValidUtf8(record.raw)) {
    // Which field: the rejects file's column says where to look.
    std::string column;
    for (size_t f = 0; f < record.fields.size() && f < field_names_.size(); ++f) {
      if (!IsValidUtf8(record.fields[f])) {
        column = field_names_[f];
        break;
      }
    }
    return fail(std::move(column), "encoding", "invalid bytes for encoding " + dialect_.encoding);
  }
  const size_t ncols = schema_.columns.size();
  for (size_t c = 0; c < ncols; ++c) {
    const config::ColumnSchema& col = schema_.columns[c];
    Cell& cell = cells_[c];
    int src = source_of_[c];
    if (src < 0) {
      cell.kind = CellKind::kNull;
      continue;
    }
    std::string_view field = record.fields[static_cast<size_t>(src)];
    bool null = IsNull(field, record.quoted[static_cast<size_t>(src)]);
    if (!null && col.type != config::ColumnType::kString && TrimSpaces(field).empty()) {
      null = true;  // "" or spaces are no number, date or bool
    }
    if (null) {
      if (!col.nullable) {
        // "NULL" (one of csv.null_values) is no empty field: say which rule made it NULL.
        if (record.quoted[static_cast<size_t>(src)] == kFieldAbsent) {
          return fail(col.name, "null",
                      named_fields_ ? "null or no such key in a non-nullable column"
                                    : "no value in a non-nullable column");
        }
        return fail(col.name, "null",
                    TrimSpaces(field).empty()
                        ? std::string("empty value in a non-nullable column")
                        : "\"" + Printable(field, 40) +
                              "\" is one of csv.null_values, so no value, in a non-nullable "
                              "column");
      }
      cell.kind = CellKind::kNull;
      continue;
    }
    std::string_view number = field;  // numbers: in plain notation
    switch (col.type) {
      case config::ColumnType::kString:
        if (col.max_length > 0 && static_cast<int64_t>(field.size()) > col.max_length) {
          return fail(col.name, "too_long",
                      "value of " + std::to_string(field.size()) + " bytes exceeds max_length " +
                          std::to_string(col.max_length));
        }
        cell.kind = CellKind::kText;
        cell.s = field;
        break;
      case config::ColumnType::kInt64:
        if (!plain(col, &number)) return false;
        if (!ParseInt64(number, &cell.i)) {
          return fail(col.name, "type",
                      "\"" + Printable(field, 40) + "\" is not an int64" + Int64Problem(number));
        }
        cell.kind = CellKind::kInt;
        break;
      case config::ColumnType::kFloat64:
        if (!plain(col, &number)) return false;
        if (!ParseFloat64(number, &cell.d)) {
          return fail(col.name, "type",
                      "\"" + Printable(field, 40) + "\" is not a float64" + Float64Problem(number));
        }
        cell.kind = CellKind::kReal;
        break;
      case config::ColumnType::kDecimal: {
        if (!plain(col, &number)) return false;
        std::string error;
        if (!CanonicalDecimal(number, col.precision, col.scale, &text_[c], &error)) {
          return fail(col.name, "type",
                      "\"" + Printable(field, 40) + "\" is not a " + col.TypeName() + ": " + error);
        }
        cell.kind = CellKind::kText;
        cell.s = text_[c];
        break;
      }
      case config::ColumnType::kBool: {
        int b = ParseBool(field, col);
        if (b < 0) {
          return fail(col.name, "type",
                      "\"" + Printable(field, 40) +
                          "\" is not a bool (true/false, yes/no, y/n, t/f, 1/0, or the column's "
                          "true_values/false_values)");
        }
        cell.kind = CellKind::kInt;
        cell.i = b;
        break;
      }
      case config::ColumnType::kDate:
      case config::ColumnType::kTimestamp: {
        const bool date = col.type == config::ColumnType::kDate;
        if (record.quoted[static_cast<size_t>(src)] == kFieldSerial) {
          // A spreadsheet's date cell: a day number, in the workbook's date system.
          if (!SerialToTimeValue(field, record.date1904, !date, &text_[c])) {
            return fail(
                col.name, "type",
                "the spreadsheet number " + Printable(field, 40) + " is not a " +
                    (date ? "date (a whole day number of " : "timestamp (a day number of ") +
                    (record.date1904 ? "the 1904" : "the 1900") + " date system)");
          }
          cell.kind = CellKind::kText;
          cell.s = text_[c];
          break;
        }
        if (!ParseTimeValue(field, col, &text_[c])) {
          std::string expected = date ? "YYYY-MM-DD" : "ISO 8601";
          if (!col.formats.empty()) expected = Join(col.formats, " or ");
          return fail(col.name, "type",
                      "\"" + Printable(field, 40) + "\" is not a " + (date ? "date" : "timestamp") +
                          " (" + expected + ")");
        }
        cell.kind = CellKind::kText;
        cell.s = text_[c];
        break;
      }
    }
  }
  if (!unnamed_fields_.empty() && !ConvertUnnamed(record, diag)) return false;
  if (rescue_) {
    rescued_.clear();
    for (size_t k = 0; k < extra_fields_.size(); ++k) {
      size_t f = static_cast<size_t>(extra_fields_[k]);
      if (record.quoted[f] == kFieldAbsent && named_fields_) continue;  // a key this line lacks
      rescued_.push_back(rescued_.empty() ? '{' : ',');
      rescued_.append(extra_names_json_[k]);
      rescued_.push_back(':');
      if (IsNull(record.fields[f], record.quoted[f])) {
        rescued_.append("null");
      } else {
        AppendJsonString(record.fields[f], &rescued_);
      }
    }
    for (const auto& [name_json, f] : unnamed_values_) {
      rescued_.push_back(rescued_.empty() ? '{' : ',');
      rescued_.append(name_json);
      rescued_.push_back(':');
      AppendJsonString(record.fields[f], &rescued_);
    }
    if (!rescued_.empty()) rescued_.push_back('}');
  }
  return true;
}

bool RowConverter::ConvertUnnamed(const Record& record, Diagnostic* diag) {
  unnamed_values_.clear();
  for (int f : unnamed_fields_) {
    const std::string_view field = record.fields[static_cast<size_t>(f)];
    if (IsNull(field, record.quoted[static_cast<size_t>(f)]) || TrimSpaces(field).empty()) {
      continue;
    }
    const std::string name = "column " + std::to_string(f + 1);
    switch (schema_.on_extra_columns) {
      case config::ExtraColumnsPolicy::kIgnore:
        break;
      case config::ExtraColumnsPolicy::kFail:
        return Reject(record, diag, name, "extra_column",
                      "a value in field " + std::to_string(f + 1) +
                          ", which has no header, and on_extra_columns is \"fail\"");
      case config::ExtraColumnsPolicy::kRescue: {
        std::string json;
        AppendJsonString(name, &json);
        unnamed_values_.emplace_back(std::move(json), static_cast<size_t>(f));
        break;
      }
    }
  }
  return true;
}

}  // namespace sluice::csv
