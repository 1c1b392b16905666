// The check builtin: runs the data-quality checks of each partner's schemas against its
// warehouse for the run's date. Per partner, or every enabled partner when not per-partner;
// params {table: NAME} limits it to one table.
//   not_null, accepted_values   rows of this date (_ingest_date) that break the rule
//   unique                      the whole table (keys repeated across dates count too); passes
//                               without a scan when the table enforces a key within the columns
//   row_count                   rows of this date within min..max
//   reject_ratio                rows_rejected / rows_read from the merge stats
//   change_vs_previous          |loaded(date) - loaded(date-1)| / loaded(date-1) in percent, from
//                               the merge stats (rows delivered each day, also for upserts)
//   sql                         a query that must return no rows; {date}, {partner} and
//                               {run_id} are replaced by quoted literals
// A failed check with severity "error" fails the task, naming the check and sample rows;
// "warn" is logged. Every outcome is in ctx.result["checks"].
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/logging.h"
#include "core/strings.h"
#include "csv/conform.h"
#include "store/object_store.h"
#include "tasks/builtins.h"
#include "tasks/manifests.h"
#include "warehouse/warehouse.h"

namespace sluice::tasks {

namespace {

std::string RowsText(const warehouse::QueryResult& r) {
  std::vector<std::string> lines;
  for (const auto& row : r.rows) {
    std::vector<std::string> cells;
    for (size_t i = 0; i < row.size(); ++i) {
      // A column a query names twice (a key selected again beside *) is shown once.
      if (std::find(r.columns.begin(), r.columns.begin() + static_cast<ptrdiff_t>(i),
                    r.columns[i]) != r.columns.begin() + static_cast<ptrdiff_t>(i)) {
        continue;
      }
      cells.push_back(r.columns[i] + "=" + (row[i] ? Printable(*row[i], 60) : "NULL"));
    }
    lines.push_back("(" + Join(cells, ", ") + ")");
  }
  return Join(lines, "; ");
}

struct Outcome {
  bool passed = true;
  std::string message;
};

// The SQL literal of an accepted value as the merge stores it in `column`, so `values: [true]`
// matches a bool column's 1, "1.5" a decimal(5,2) column's "1.50" and "07" an int64's 7.
Result<std::string> StoredLiteral(const config::ColumnSchema& column, const std::string& v) {
  auto invalid = [&]() {
    return Status::InvalidArgument("accepted value \"" + Printable(v, 60) + "\" is not a valid " +
                                   column.TypeName() + " for column " + column.name +
                                   "; write it as the CSV would")
        .WithFile(column.loc.file, column.loc.line);
  };
  switch (column.type) {
    case config::ColumnType::kInt64: {
      int64_t i = 0;
      if (!csv::ParseInt64(v, &i)) return invalid();
      return std::to_string(i);
    }
    case config::ColumnType::kBool: {
      int b = csv::ParseBool(v, column);
      if (b < 0) return invalid();
      // Quoted: PostgreSQL's boolean takes '1'/'0' (not the integers); SQLite's INTEGER column
      // compares them as numbers.
      return std::string(b ? "'1'" : "'0'");
    }
    case config::ColumnType::kFloat64: {
      double d = 0;
      if (!csv::ParseFloat64(v, &d) || !std::isfinite(d)) return invalid();
      char buf[40];
      std::snprintf(buf, sizeof buf, "%.17g", d);
      return std::string(buf);
    }
    case config::ColumnType::kDecimal: {
      std::string out, error;
      if (!csv::CanonicalDecimal(v, column.precision, column.scale, &out, &error)) return invalid();
      return SqlLiteral(out);
    }
    case config::ColumnType::kDate:
    case config::ColumnType::kTimestamp: {
      // Written in ISO 8601 in the schema, or in the column's own format.
      std::string out;
      const bool iso = column.type == config::ColumnType::kDate
                           ? csv::ParseDateValue(v, "", &out)
                           : csv::ParseTimestampValue(v, "", &out);
      if (!iso && !csv::ParseTimeValue(v, column, &out)) return invalid();
      return SqlLiteral(out);
    }
    default:
      return SqlLiteral(v);
  }
}

// Rows the merge loaded for `date`, or nullopt when that day was not merged. Counting
// `_ingest_date` in the table instead would miss an upsert table's rows that a later day
// re-delivered (their _ingest_date moved on).
Result<std::optional<int64_t>> LoadedRows(store::ObjectStore* base, const std::string& partner,
                                          const std::string& date, const std::string& table) {
  SLUICE_ASSIGN_OR_RETURN(auto stats, manifests::ReadMergeStats(base, partner, date, table));
  if (!stats) return std::optional<int64_t>();
  if (!stats->contains("rows_loaded") || !(*stats)["rows_loaded"].is_number_integer()) {
    return Status::Corrupt("the merge stats of " + table + " for " + date +
                           " have no rows_loaded; re-run that date's merge");
  }
  return std::optional<int64_t>((*stats)["rows_loaded"].get<int64_t>());
}

Result<int64_t> CountRows(warehouse::Warehouse* wh, const std::string& sql) {
  SLUICE_ASSIGN_OR_RETURN(auto r, wh->Query(sql, 1));
  if (r.rows.empty() || !r.rows[0][0]) return int64_t{0};
  return static_cast<int64_t>(std::stoll(*r.rows[0][0]));
}

Result<Outcome> RunOne(TaskContext& ctx, warehouse::Warehouse* wh, store::ObjectStore* base,
                       const config::PartnerConfig& partner, const config::TableSchema& schema,
                       const config::CheckConfig& check) {
  const std::string t = warehouse::QuoteIdentifier(schema.table);
  const std::string date = SqlLiteral(ctx.date.ToString());
  Outcome out;
  SLUICE_ASSIGN_OR_RETURN(bool exists, wh->TableExists(schema.table));
  if (check.type == "reject_ratio") {
    SLUICE_ASSIGN_OR_RETURN(
        auto stats, manifests::ReadMergeStats(base, partner.id, ctx.date.ToString(), schema.table));
    if (!stats) {
      return Outcome{false, "no merge stats for " + schema.table + " on " + ctx.date.ToString() +
                                "; did the merge task run?"};
    }
    double read = stats->value("rows_read", 0.0), rejected = stats->value("rows_rejected", 0.0);
    double ratio = read > 0 ? rejected / read : 0;
    out.passed = ratio <= *check.max_ratio;
    out.message = std::to_string(static_cast<int64_t>(rejected)) + " of " +
                  std::to_string(static_cast<int64_t>(read)) + " rows rejected (ratio " +
                  std::to_string(ratio) + ", max " + std::to_string(*check.max_ratio) + ")";
    return out;
  }
  if (!exists) {
    if (check.type == "row_count" && check.min.value_or(0) > 0) {
      return Outcome{false,
                     "table does not exist yet (0 rows, min " + std::to_string(*check.min) + ")"};
    }
    return Outcome{true, "table does not exist yet; nothing to check"};
  }
  std::vector<std::string> cols;
  for (const auto& c : check.columns) cols.push_back(warehouse::QuoteIdentifier(c));
  if (check.type == "not_null") {
    std::vector<std::string> conds;
    for (const auto& c : cols) conds.push_back(c + " IS NULL");
    std::string where = "_ingest_date=" + date + " AND (" + Join(conds, " OR ") + ")";
    SLUICE_ASSIGN_OR_RETURN(int64_t n,
                            CountRows(wh, "SELECT count(*) FROM " + t + " WHERE " + where));
    out.passed = n == 0;
    out.message = std::to_string(n) + " row(s) with NULL in " + Join(check.columns, ", ");
    if (n > 0) {
      SLUICE_ASSIGN_OR_RETURN(auto sample,
                              wh->Query("SELECT * FROM " + t + " WHERE " + where + " LIMIT 5"));
      out.message += ", e.g. " + RowsText(sample);
    }
  } else if (check.type == "unique") {
    // A key the table itself enforces (primary key, unique index; NOT NULL) cannot repeat:
    // grouping the whole table to prove it costs a full scan per table and run.
    SLUICE_ASSIGN_OR_RETURN(auto keys, wh->UniqueKeys(schema.table));
    for (const std::vector<std::string>& key : keys) {
      bool covered = std::all_of(key.begin(), key.end(), [&](const std::string& k) {
        return std::any_of(check.columns.begin(), check.columns.end(),
                           [&](const std::string& c) { return ToLower(c) == ToLower(k); });
      });
      if (covered) {
        return Outcome{true, "0 duplicated value(s) of (" + Join(check.columns, ", ") +
                                 "): the table enforces (" + Join(key, ", ") +
                                 ") as unique and NOT NULL"};
      }
    }
    std::string c = Join(cols, ", ");
    int64_t total = 0;
    SLUICE_ASSIGN_OR_RETURN(auto dup, wh->Query("SELECT " + c + ", count(*) AS copies FROM " + t +
                                                    " GROUP BY " + c + " HAVING count(*) > 1",
                                                5, &total));
    out.passed = total == 0;
    out.message =
        std::to_string(total) + " duplicated value(s) of (" + Join(check.columns, ", ") + ")";
    if (total > 0) out.message += ", e.g. " + RowsText(dup);
  } else if (check.type == "accepted_values") {
    const config::ColumnSchema* column = schema.FindColumn(check.columns[0]);
    std::vector<std::string> lits;
    for (const auto& v : check.values) {
      if (column == nullptr) {
        lits.push_back(SqlLiteral(v));
        continue;
      }
      SLUICE_ASSIGN_OR_RETURN(std::string lit, StoredLiteral(*column, v));
      lits.push_back(std::move(lit));
    }
    int64_t total = 0;
    std::string value = column ? cols[0] : "CAST(" + cols[0] + " AS TEXT)";
    SLUICE_ASSIGN_OR_RETURN(
        auto bad,
        wh->Query("SELECT " + cols[0] + ", count(*) AS rows FROM " + t +
                      " WHERE _ingest_date=" + date + " AND " + cols[0] + " IS NOT NULL AND " +
                      value + " NOT IN (" + Join(lits, ", ") + ") GROUP BY 1 ORDER BY 2 DESC",
                  5, &total));
    out.passed = total == 0;
    out.message = std::to_string(total) + " value(s) of " + check.columns[0] + " outside [" +
                  Join(check.values, ", ") + "]";
    if (total > 0) out.message += ", e.g. " + RowsText(bad);
  } else if (check.type == "row_count") {
    SLUICE_ASSIGN_OR_RETURN(
        int64_t n, CountRows(wh, "SELECT count(*) FROM " + t + " WHERE _ingest_date=" + date));
    out.passed = (!check.min || n >= *check.min) && (!check.max || n <= *check.max);
    out.message = std::to_string(n) + " row(s) for " + ctx.date.ToString() + " (min " +
                  (check.min ? std::to_string(*check.min) : "-") + ", max " +
                  (check.max ? std::to_string(*check.max) : "-") + ")";
  } else if (check.type == "change_vs_previous") {
    // Rows delivered (loaded by the merge) on each day, from the merge stats.
    std::string prev_date = ctx.date.AddDays(-1).ToString();
    SLUICE_ASSIGN_OR_RETURN(auto cur_loaded,
                            LoadedRows(base, partner.id, ctx.date.ToString(), schema.table));
    if (!cur_loaded) {
      return Outcome{false, "no merge stats for " + ctx.date.ToString() +
                                "; did the merge task run for this date?"};
    }
    SLUICE_ASSIGN_OR_RETURN(auto prev_loaded,
                            LoadedRows(base, partner.id, prev_date, schema.table));
    if (!prev_loaded || *prev_loaded == 0) {
      return Outcome{true, "no rows loaded on " + prev_date + " to compare with"};
    }
    int64_t cur = *cur_loaded, prev = *prev_loaded;
    double change = 100.0 * static_cast<double>(cur - prev) / static_cast<double>(prev);
    out.passed = std::abs(change) <= *check.max_change_percent;
    char buf[160];
    std::snprintf(buf, sizeof buf, "%lld rows vs %lld on %s: %+.1f%% (max %.1f%%)",
                  static_cast<long long>(cur), static_cast<long long>(prev), prev_date.c_str(),
                  change, *check.max_change_percent);
    out.message = buf;
  } else if (check.type == "sql") {
    int64_t total = 0;
    SLUICE_ASSIGN_OR_RETURN(
        auto rows, wh->Query(ExpandSqlPlaceholders(check.sql, ctx, partner.id), 5, &total));
    out.passed = total == 0;
    out.message = std::to_string(total) + " row(s) returned";
    if (total > 0) out.message += ", e.g. " + RowsText(rows);
  } else {
    return Status::InvalidArgument("unknown check type \"" + check.type + "\"");
  }
  return out;
}

}  // namespace

Status RunCheck(TaskContext& ctx) {
  std::string only_table;
  if (const config::Node* n = ctx.task->params.Get("table"); n != nullptr && n->IsScalar()) {
    only_table = n->scalar();
  }
  SLUICE_ASSIGN_OR_RETURN(
      auto base,
      store::OpenStore(ctx.pipeline->settings.store, ctx.pipeline->dir, ctx.pipeline->settings.s3));
  SLUICE_ASSIGN_OR_RETURN(auto partners, ctx.TargetPartners());
  nlohmann::json results = nlohmann::json::array();
  std::vector<std::string> failures;
  int warnings = 0;
  for (const config::PartnerConfig* p : partners) {
    SLUICE_ASSIGN_OR_RETURN(
        auto wh,
        warehouse::OpenWarehouse(ctx.pipeline->settings.warehouse, ctx.pipeline->dir, p->id,
                                 {.partner_roles = ctx.pipeline->settings.isolation == "roles"}));
    // A table no merge task loads never reaches the warehouse: nothing else would say so.
    for (const std::string& name : config::TablesNeverMerged(ctx.pipeline->workflow, *p)) {
      if (!only_table.empty() && name != only_table) continue;
      std::string message =
          "no merge task of workflow.yaml loads this table, so its rows are extracted and never "
          "loaded; add a merge task with params: {table: " +
          name + "} (or {table: \"*\"} for every table no other merge task names)";
      results.push_back({{"partner", p->id},
                         {"table", name},
                         {"check", "merged"},
                         {"type", "merged"},
                         {"severity", "error"},
                         {"passed", false},
                         {"message", message}});
      log::Error("check failed: {}.{} merged: {}", p->id, name, message);
      failures.push_back(p->id + "." + name + " merged: " + message);
    }
    for (const auto& [name, schema] : p->schemas) {
      if (!only_table.empty() && name != only_table) continue;
      for (const config::CheckConfig& check : schema.checks) {
        // Several unnamed sql checks of a table are told apart by where they are written.
        const std::string where = check.loc.file + ":" + std::to_string(check.loc.line);
        const bool unnamed_sql = check.name.empty() && check.type == "sql";
        const std::string label = !check.name.empty() ? check.name
                                  : unnamed_sql       ? "sql (" + where + ")"
                                                      : check.type;
        auto outcome = RunOne(ctx, wh.get(), base.get(), *p, schema, check);
        std::string severity = check.severity;
        if (!outcome.ok()) {
          const StatusCode code = outcome.status().code();
          if (code != StatusCode::kInvalidArgument && code != StatusCode::kPermissionDenied &&
              code != StatusCode::kNotFound) {
            // The warehouse is busy or unreadable: the whole task is retried.
            return std::move(outcome).status().WithPartner(p->id).WithTable(name).Prefix("check " +
                                                                                         label);
          }
          // A check that cannot run (a refused or broken sql query) fails as a check, whatever
          // its severity, and the other checks still run and report.
          outcome = Outcome{false, "cannot run: " + outcome.status().message() +
                                       "; fix the check in the schema file"};
          severity = "error";
        }
        results.push_back({{"partner", p->id},
                           {"table", name},
                           {"check", label},
                           {"type", check.type},
                           {"severity", severity},
                           {"passed", outcome->passed},
                           {"message", outcome->message}});
        std::string line = p->id + "." + name + " " + label + ": " + outcome->message;
        if (outcome->passed) {
          log::Info("check passed: {}", line);
        } else if (severity == "warn") {
          ++warnings;
          log::Warn("check failed (warn): {}", line);
        } else {
          log::Error("check failed: {}", line);
          failures.push_back(unnamed_sql ? line : line + " (" + where + ")");
        }
      }
    }
  }
  ctx.result = {{"checks", results},
                {"failed", failures.size()},
                {"warnings", warnings},
                {"date", ctx.date.ToString()}};
  if (!failures.empty()) {
    return Status::InvalidArgument(std::to_string(failures.size()) +
                                   " data-quality check(s) failed: " + Join(failures, "; "));
  }
  return Status::Ok();
}

}  // namespace sluice::tasks
