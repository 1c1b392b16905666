// warehouse/sqlite_writer.cpp: one table merge as one SQLite transaction (SqliteTableWriter):
// batched INSERT ... SELECT over the rows virtual table, upsert counting, sluice_merges.
#include <sqlite3.h>

#include <algorithm>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "core/logging.h"
#include "core/strings.h"
#include "warehouse/sqlite_internal.h"

namespace sluice::warehouse::sqlite {

namespace {

// The first parameter of the one-row statement that holds a column (?1..?4 are lineage).
constexpr size_t kFirstColumnParam = 5;

// One row per load: a file merged into a table for a date by a run. Rows point here through
// _load_id; "which run and file loaded this row" is a join (docs/config.md, "Row lineage").
constexpr const char* kCreateLoads =
    "CREATE TABLE IF NOT EXISTS sluice_loads (load_id INTEGER PRIMARY KEY, table_name TEXT NOT "
    "NULL, ingest_date TEXT NOT NULL, run_id TEXT NOT NULL, partner TEXT NOT NULL, source_file "
    "TEXT NOT NULL, loaded_at TEXT NOT NULL, UNIQUE (table_name, ingest_date, run_id, "
    "source_file))";

// The numbers of the loads of a date and run, handed out before the loads happen (see
// MergeTarget::date_loads): ids are deterministic, and sluice_loads keeps only loads that ran.
constexpr const char* kCreateLoadIds =
    "CREATE TABLE IF NOT EXISTS sluice_load_ids (load_id INTEGER PRIMARY KEY, table_name TEXT NOT "
    "NULL, ingest_date TEXT NOT NULL, run_id TEXT NOT NULL, source_file TEXT NOT NULL, UNIQUE "
    "(table_name, ingest_date, run_id, source_file))";

// Reserves the next id for a load unless it has one: after every id either table holds, so an
// id is never reused for another load (not even one an append re-run removed from sluice_loads).
constexpr const char* kReserveLoadId =
    "INSERT INTO sluice_load_ids (load_id, table_name, ingest_date, run_id, source_file) "
    "SELECT max(coalesce((SELECT max(load_id) FROM sluice_loads), 0), coalesce((SELECT "
    "max(load_id) FROM sluice_load_ids), 0)) + 1, ?1, ?2, ?3, ?4 WHERE true "
    "ON CONFLICT (table_name, ingest_date, run_id, source_file) DO NOTHING";

class SqliteTableWriter : public TableWriter {
 public:
  SqliteTableWriter(SqliteWarehouse* wh, const MergeTarget& target, bool legacy_lineage)
      : wh_(wh), target_(target), schema_(*target.schema), legacy_(legacy_lineage) {}
  ~SqliteTableWriter() override { Rollback(); }
  SqliteTableWriter(const SqliteTableWriter&) = delete;
  SqliteTableWriter& operator=(const SqliteTableWriter&) = delete;

  Status Begin() {
    const std::string table = QuoteIdentifier(schema_.table);
    rescue_ = schema_.on_extra_columns == config::ExtraColumnsPolicy::kRescue;
    std::vector<std::string> names;
    for (const auto& c : schema_.columns) names.push_back(QuoteIdentifier(c.name));
    // Lineage parameters: ?1 _ingest_date, ?2 _load_id, and for a table of wave one also
    // ?3 _run_id and ?4 _source_file (its columns are NOT NULL).
    names.insert(names.end(), {"_ingest_date", "_load_id"});
    std::string lineage = "?1,?2";
    if (legacy_) {
      names.insert(names.end(), {"_run_id", "_source_file"});
      lineage += ",?3,?4";
    }
    if (rescue_) names.push_back("_rescued");
    // Every row of a batch comes from the rows table; the lineage values are parameters.
    SLUICE_ASSIGN_OR_RETURN(std::string rows_table, wh_->RowsTable(schema_.columns.size()));
    std::string select;
    for (size_t i = 0; i < schema_.columns.size(); ++i) select += "c" + std::to_string(i) + ",";
    select += lineage;
    if (rescue_) select += ",rescued";
    // "WHERE true" keeps ON CONFLICT from being parsed as a join constraint.
    std::string sql = "INSERT INTO " + table + " (" + Join(names, ",") + ") SELECT " + select +
                      " FROM " + rows_table + " WHERE true";
    // The same for one row, from parameters: ?1..?4 lineage, ?5.. the columns, then rescued.
    std::string values = "?5";
    for (size_t i = 1; i < schema_.columns.size(); ++i) {
      values += ",?" + std::to_string(kFirstColumnParam + i);
    }
    values += "," + lineage;
    if (rescue_) values += ",?" + std::to_string(kFirstColumnParam + schema_.columns.size());
    std::string row_sql =
        "INSERT INTO " + table + " (" + Join(names, ",") + ") VALUES (" + values + ")";
    if (schema_.merge == config::MergeMode::kUpsert) {
      std::vector<std::string> keys, sets;
      for (const auto& k : schema_.primary_key) keys.push_back(QuoteIdentifier(k));
      for (const std::string& n : names) {
        if (n == "_load_id") {
          sets.push_back("_load_id=sluice_updated(excluded._load_id)");
        } else if (std::find(keys.begin(), keys.end(), n) == keys.end()) {
          sets.push_back(n + "=excluded." + n);
        }
      }
      // A row of an older date (a late delivery, or a repair of a day that failed before later
      // days loaded) never overwrites what a later date loaded: the table ends the same
      // whatever order the dates are merged in. Within one date the last row of a key wins.
      const std::string conflict = " ON CONFLICT (" + Join(keys, ",") + ") DO UPDATE SET " +
                                   Join(sets, ",") + " WHERE excluded._ingest_date >= " + table +
                                   "._ingest_date";
      sql += conflict;
      row_sql += conflict;
    }
    insert_sql_ = std::move(sql);
    row_insert_sql_ = std::move(row_sql);
    return Status::Ok();
  }

  // Takes the write lock only when the first row is ready (or at commit), so parsing the
  // header and the first rows does not hold up other merges of the same partner.
  Status EnsureOpen() {
    if (open_) return Status::Ok();
    if (done_) return Status::Internal("merge of " + schema_.table + " already finished");
    const std::string table = QuoteIdentifier(schema_.table);
    SLUICE_RETURN_IF_ERROR(wh_->Exec("BEGIN IMMEDIATE"));
    open_ = true;
    SLUICE_RETURN_IF_ERROR(insert_.Prepare(wh_->db(), insert_sql_));
    BindLineage(insert_.get());
    sqlite3* db = wh_->db();
    SLUICE_RETURN_IF_ERROR(wh_->Exec(kCreateLoads));
    SLUICE_RETURN_IF_ERROR(wh_->Exec(kCreateLoadIds));
    // append and replace_date: a re-run or a re-delivery of the date replaces the rows this
    // table got for it, whatever files they came from, so the table equals a clean run.
    if (schema_.merge != config::MergeMode::kUpsert) {
      Stmt del;
      SLUICE_RETURN_IF_ERROR(del.Prepare(db, "DELETE FROM " + table + " WHERE _ingest_date=?"));
      sqlite3_bind_text(del.get(), 1, target_.ingest_date.data(),
                        static_cast<int>(target_.ingest_date.size()), SQLITE_STATIC);
      int rc = sqlite3_step(del.get());
      if (rc != SQLITE_DONE) return SqliteError(db, rc, "deleting the date's rows");
      counts_.deleted += sqlite3_changes(db);
      // Their loads go with them: each load of the date is replaced by this merge's.
      Stmt loads;
      SLUICE_RETURN_IF_ERROR(
          loads.Prepare(db, "DELETE FROM sluice_loads WHERE table_name = ?1 AND ingest_date = ?2"));
      BindText(loads.get(), 1, schema_.table);
      BindText(loads.get(), 2, target_.ingest_date);
      rc = sqlite3_step(loads.get());
      if (rc != SQLITE_DONE) return SqliteError(db, rc, "deleting the date's loads");
    } else {
      wh_->upserts_updated() = 0;
      changes_at_begin_ = sqlite3_total_changes64(db);
    }
    return Status::Ok();
  }

  // SQLite's words, and for a repeated key in an append or replace_date table (an upsert
  // replaces the row instead) what the key means there and what to change.
  Status InsertError(int rc) {
    Status st = SqliteError(wh_->db(), rc, "inserting into " + schema_.table);
    const int extended = sqlite3_extended_errcode(wh_->db());
    if (schema_.merge != config::MergeMode::kUpsert && !schema_.primary_key.empty() &&
        extended == SQLITE_CONSTRAINT_PRIMARYKEY) {
      return Status::InvalidArgument(
          st.message() + ": the row's key is already in the table. " +
          (schema_.merge == config::MergeMode::kAppend ? "An append" : "A replace_date") +
          " table keeps every date's rows, so its primary key (" + Join(schema_.primary_key, ", ") +
          ") must be unique across all dates and within the file; to keep the latest row of "
          "each key use \"merge\": \"upsert\", or remove \"primary_key\" from the schema");
    }
    return st;
  }

  Status Add(std::span<const Value> values, std::string_view source_file,
             std::string_view rescued) override {
    return AddRows(values, 1, source_file, std::span<const std::string_view>(&rescued, 1), nullptr);
  }

  Status AddRows(std::span<const Value> values, size_t rows, std::string_view source_file,
                 std::span<const std::string_view> rescued, size_t* failed_row) override {
    if (rows == 0) return Status::Ok();
    const size_t ncols = schema_.columns.size();
    if (values.size() != rows * ncols || (!rescued.empty() && rescued.size() != rows)) {
      return Status::Internal("AddRows: " + std::to_string(values.size()) + " values and " +
                              std::to_string(rescued.size()) + " rescued for " +
                              std::to_string(rows) + " rows of " + std::to_string(ncols) +
                              " columns");
    }
    if (failed_) {
      return Status::Internal("merge of " + schema_.table +
                              " already failed; roll it back instead of adding rows");
    }
    if (!open_) SLUICE_RETURN_IF_ERROR(EnsureOpen());
    Status st = one_by_one_ ? AddOneByOne(values, rows, source_file, rescued, failed_row)
                            : AddAsBatch(values, rows, source_file, rescued, failed_row);
    if (!st.ok()) {
      failed_ = true;
      return st;
    }
    counts_.loaded += static_cast<int64_t>(rows);
    return Status::Ok();
  }

  // One INSERT ... SELECT over the rows table for the whole batch. Switches the rest of the
  // merge to one statement per row when the batch's statement journal shows its rows landed
  // all over the table (input out of key order for an upsert into existing rows): then each
  // batch would copy nearly every page of the table into the journal, while a one-row
  // statement needs no statement journal at all. In key order the journal is about the size of
  // the rows themselves (the pages they fill); out of order, a 64 KiB page per row.
  Status AddAsBatch(std::span<const Value> values, size_t rows, std::string_view source_file,
                    std::span<const std::string_view> rescued, size_t* failed_row) {
    // Out of order means a journal well past both ~a page per 32 rows and 8x the rows' own
    // bytes (wide rows in key order journal about their own size).
    constexpr int64_t kMaxJournalPerRow = 2048;
    constexpr int64_t kMaxJournalPerRowByte = 8;
    const size_t ncols = schema_.columns.size();
    const int64_t journal_before = t_statement_journal_bytes;
    RowSource& src = wh_->row_source();
    src.values = values.data();
    src.ncols = ncols;
    src.rows = rows;
    src.rescued = rescued.empty() ? nullptr : rescued.data();
    src.current = 0;
    sqlite3_stmt* st = insert_.get();
    SLUICE_RETURN_IF_ERROR(BindFile(st, source_file));
    int rc = sqlite3_step(st);
    size_t at = src.current;
    sqlite3_reset(st);
    src = RowSource{};  // nothing may read the caller's rows after this call
    if (rc != SQLITE_DONE) {
      if (failed_row) *failed_row = std::min(at, rows - 1);
      return InsertError(rc);
    }
    const int64_t journal = t_statement_journal_bytes - journal_before;
    // (Small batches are allowed a few pages whatever their size.) The rows' bytes are only
    // summed when the cheap bounds are passed, so in-order batches pay nothing for the check.
    auto batch_bytes = [&] {
      int64_t n = 0;
      for (const Value& v : values) {
        n += v.kind == ValueKind::kText ? static_cast<int64_t>(v.s.size()) : 8;
      }
      return n;
    };
    if (journal > std::max(kMaxJournalPerRow * static_cast<int64_t>(rows), kCacheBytes >> 4) &&
        journal > kMaxJournalPerRowByte * batch_bytes()) {
      one_by_one_ = true;
      counts_.row_by_row = true;
      // Rows all over the table also miss the page cache, each miss a 64 KiB read and a 64 KiB
      // write when the changed page is evicted: let the cache hold the database, up to a bound.
      constexpr int64_t kMaxCacheBytes = int64_t{512} << 20;
      const int64_t db_bytes = wh_->DatabaseBytes();
      const int64_t cache = std::clamp(db_bytes + (db_bytes >> 3), kCacheBytes, kMaxCacheBytes);
      if (cache > kCacheBytes) {
        SLUICE_RETURN_IF_ERROR(wh_->Exec("PRAGMA cache_size=-" + std::to_string(cache >> 10)));
      }
      log::Info(
          "warehouse: rows of {} arrive out of key order ({} KiB of statement journal for "
          "{} rows); adding the rest one statement per row, page cache {} MiB",
          schema_.table, journal >> 10, rows, cache >> 20);
    }
    return Status::Ok();
  }

  Status AddOneByOne(std::span<const Value> values, size_t rows, std::string_view source_file,
                     std::span<const std::string_view> rescued, size_t* failed_row) {
    const size_t ncols = schema_.columns.size();
    if (row_insert_.get() == nullptr) {
      SLUICE_RETURN_IF_ERROR(row_insert_.Prepare(wh_->db(), row_insert_sql_));
      BindLineage(row_insert_.get());
    }
    sqlite3_stmt* st = row_insert_.get();
    SLUICE_RETURN_IF_ERROR(BindFile(st, source_file));
    for (size_t r = 0; r < rows; ++r) {
      for (size_t c = 0; c < ncols; ++c) {
        const Value& v = values[r * ncols + c];
        const int param = static_cast<int>(kFirstColumnParam + c);
        switch (v.kind) {
          case ValueKind::kNull:
            sqlite3_bind_null(st, param);
            break;
          case ValueKind::kInt:
            sqlite3_bind_int64(st, param, v.i);
            break;
          case ValueKind::kReal:
            sqlite3_bind_double(st, param, v.d);
            break;
          case ValueKind::kText:
            sqlite3_bind_text(st, param, v.s.data(), static_cast<int>(v.s.size()), SQLITE_STATIC);
            break;
        }
      }
      if (rescue_) {
        const int param = static_cast<int>(kFirstColumnParam + ncols);
        if (rescued.empty() || rescued[r].empty()) {
          sqlite3_bind_null(st, param);
        } else {
          sqlite3_bind_text(st, param, rescued[r].data(), static_cast<int>(rescued[r].size()),
                            SQLITE_STATIC);
        }
      }
      int rc = sqlite3_step(st);
      sqlite3_reset(st);
      if (rc != SQLITE_DONE) {
        if (failed_row) *failed_row = r;
        return InsertError(rc);
      }
    }
    return Status::Ok();
  }

  Result<MergeCounts> Commit() override {
    if (failed_) {
      return Status::Internal("merge of " + schema_.table +
                              " failed while adding rows; it can only be rolled back");
    }
    SLUICE_RETURN_IF_ERROR(EnsureOpen());
    if (schema_.merge == config::MergeMode::kUpsert) {
      // Rows whose DO UPDATE was skipped (the key holds a later date's row) change nothing.
      // (sluice_loads rows written meanwhile are no rows of the table.)
      const int64_t changed =
          sqlite3_total_changes64(wh_->db()) - changes_at_begin_ - load_changes_;
      counts_.updated = wh_->upserts_updated();
      counts_.inserted = changed - counts_.updated;
      counts_.kept_newer = counts_.loaded - changed;
    } else {
      counts_.inserted = counts_.loaded;
    }
    if (!target_.inputs.empty()) SLUICE_RETURN_IF_ERROR(RecordOrRepeatCounts());
    SLUICE_RETURN_IF_ERROR(wh_->Exec("COMMIT"));
    open_ = false;
    done_ = true;
    return counts_;
  }

  // In the merge's transaction: keeps what this merge of the date did in sluice_merges, or,
  // when the date's last committed merge had the same inputs, takes that merge's counts (its
  // rows were the ones just loaded again: a re-run deletes or updates its own rows).
  Status RecordOrRepeatCounts() {
    sqlite3* db = wh_->db();
    SLUICE_RETURN_IF_ERROR(wh_->Exec(
        "CREATE TABLE IF NOT EXISTS sluice_merges (table_name TEXT NOT NULL, ingest_date TEXT "
        "NOT NULL, inputs TEXT NOT NULL, run_id TEXT NOT NULL, rows_inserted INTEGER NOT NULL, "
        "rows_updated INTEGER NOT NULL, rows_deleted INTEGER NOT NULL, rows_kept_newer INTEGER "
        "NOT NULL, PRIMARY KEY (table_name, ingest_date))"));
    auto bind_key = [&](sqlite3_stmt* st) {
      sqlite3_bind_text(st, 1, schema_.table.data(), static_cast<int>(schema_.table.size()),
                        SQLITE_STATIC);
      sqlite3_bind_text(st, 2, target_.ingest_date.data(),
                        static_cast<int>(target_.ingest_date.size()), SQLITE_STATIC);
    };
    {
      Stmt get;
      SLUICE_RETURN_IF_ERROR(
          get.Prepare(db,
                      "SELECT inputs, run_id, rows_inserted, rows_updated, rows_deleted, "
                      "rows_kept_newer FROM sluice_merges WHERE table_name = ?1 "
                      "AND ingest_date = ?2"));
      bind_key(get.get());
      int rc = sqlite3_step(get.get());
      if (rc == SQLITE_ROW) {
        const auto* inputs = reinterpret_cast<const char*>(sqlite3_column_text(get.get(), 0));
        if (inputs != nullptr && target_.inputs == inputs) {
          counts_.same_inputs_as_run =
              reinterpret_cast<const char*>(sqlite3_column_text(get.get(), 1));
          counts_.inserted = sqlite3_column_int64(get.get(), 2);
          counts_.updated = sqlite3_column_int64(get.get(), 3);
          counts_.deleted = sqlite3_column_int64(get.get(), 4);
          counts_.kept_newer = sqlite3_column_int64(get.get(), 5);
          return Status::Ok();
        }
      } else if (rc != SQLITE_DONE) {
        return SqliteError(db, rc, "reading sluice_merges");
      }
    }
    Stmt put;
    SLUICE_RETURN_IF_ERROR(put.Prepare(
        db,
        "INSERT OR REPLACE INTO sluice_merges (table_name, ingest_date, inputs, run_id, "
        "rows_inserted, rows_updated, rows_deleted, rows_kept_newer) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
    bind_key(put.get());
    sqlite3_bind_text(put.get(), 3, target_.inputs.data(), static_cast<int>(target_.inputs.size()),
                      SQLITE_STATIC);
    sqlite3_bind_text(put.get(), 4, target_.run_id.data(), static_cast<int>(target_.run_id.size()),
                      SQLITE_STATIC);
    sqlite3_bind_int64(put.get(), 5, counts_.inserted);
    sqlite3_bind_int64(put.get(), 6, counts_.updated);
    sqlite3_bind_int64(put.get(), 7, counts_.deleted);
    sqlite3_bind_int64(put.get(), 8, counts_.kept_newer);
    int rc = sqlite3_step(put.get());
    if (rc != SQLITE_DONE) return SqliteError(db, rc, "recording the merge in sluice_merges");
    return Status::Ok();
  }

  // Binds ?1 _ingest_date and, for a table of wave one, ?3 _run_id.
  void BindLineage(sqlite3_stmt* st) {
    BindText(st, 1, target_.ingest_date);
    if (legacy_) BindText(st, 3, target_.run_id);
  }

  // Binds ?2 _load_id (and ?4 _source_file for a table of wave one) for rows of `source_file`.
  Status BindFile(sqlite3_stmt* st, std::string_view source_file) {
    SLUICE_ASSIGN_OR_RETURN(int64_t load_id, LoadId(source_file));
    sqlite3_bind_int64(st, 2, load_id);
    if (legacy_) {
      sqlite3_bind_text(st, 4, source_file.data(), static_cast<int>(source_file.size()),
                        SQLITE_STATIC);
    }
    return Status::Ok();
  }

  // The load of `source_file` in this merge: one row of sluice_loads per table, date, run and
  // file. A retry or repair of the run merges the date again and reuses its load (the same
  // _load_id as a clean run), refreshing loaded_at.
  Result<int64_t> LoadId(std::string_view source_file) {
    if (auto it = loads_.find(std::string(source_file)); it != loads_.end()) return it->second;
    sqlite3* db = wh_->db();
    // The date's loads are numbered together, in the order MergeTarget::date_loads gives, by
    // whichever merge of the date gets here first (merges of one database hold its write lock
    // in turn, so this is atomic); then this load's own, if the list lacks it.
    Stmt reserve;
    SLUICE_RETURN_IF_ERROR(reserve.Prepare(db, kReserveLoadId));
    auto reserve_one = [&](std::string_view table, std::string_view file) -> Status {
      sqlite3_reset(reserve.get());
      BindText(reserve.get(), 1, table);
      BindText(reserve.get(), 2, target_.ingest_date);
      BindText(reserve.get(), 3, target_.run_id);
      BindText(reserve.get(), 4, file);
      int rc = sqlite3_step(reserve.get());
      if (rc != SQLITE_DONE) return SqliteError(db, rc, "numbering the date's loads");
      load_changes_ += sqlite3_changes(db);  // no rows of the table
      return Status::Ok();
    };
    if (!date_loads_reserved_) {
      for (const auto& [table, file] : target_.date_loads) {
        SLUICE_RETURN_IF_ERROR(reserve_one(table, file));
      }
      date_loads_reserved_ = true;
    }
    SLUICE_RETURN_IF_ERROR(reserve_one(schema_.table, source_file));
    Stmt put;
    SLUICE_RETURN_IF_ERROR(put.Prepare(
        db,
        "INSERT INTO sluice_loads (load_id, table_name, ingest_date, run_id, partner, "
        "source_file, loaded_at) SELECT load_id, ?1, ?2, ?3, ?4, ?5, "
        "strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM sluice_load_ids WHERE table_name = ?1 AND "
        "ingest_date = ?2 AND run_id = ?3 AND source_file = ?5 "
        "ON CONFLICT (table_name, ingest_date, run_id, source_file) DO UPDATE SET "
        "loaded_at = excluded.loaded_at RETURNING load_id"));
    BindText(put.get(), 1, schema_.table);
    BindText(put.get(), 2, target_.ingest_date);
    BindText(put.get(), 3, target_.run_id);
    BindText(put.get(), 4, wh_->partner());
    BindText(put.get(), 5, source_file);
    int rc = sqlite3_step(put.get());
    if (rc != SQLITE_ROW) return SqliteError(db, rc, "recording the load in sluice_loads");
    const int64_t id = sqlite3_column_int64(put.get(), 0);
    rc = sqlite3_step(put.get());
    if (rc != SQLITE_DONE) return SqliteError(db, rc, "recording the load in sluice_loads");
    ++load_changes_;
    loads_.emplace(std::string(source_file), id);
    return id;
  }

  static void BindText(sqlite3_stmt* st, int param, std::string_view text) {
    sqlite3_bind_text(st, param, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
  }

  void Rollback() override {
    done_ = true;
    if (!open_) return;
    open_ = false;
    (void)wh_->Exec("ROLLBACK");
  }

 private:
  SqliteWarehouse* wh_;
  MergeTarget target_;
  const config::TableSchema& schema_;
  Stmt insert_;
  std::string insert_sql_;
  Stmt row_insert_;  // prepared once the merge goes one row per statement
  std::string row_insert_sql_;
  bool one_by_one_ = false;
  bool failed_ = false;           // an AddRows failed: only Rollback() is left
  int64_t changes_at_begin_ = 0;  // sqlite3_total_changes64 when the upsert began
  bool open_ = false;
  bool done_ = false;
  bool rescue_ = false;
  bool legacy_ = false;                   // the table has wave one's _run_id and _source_file
  std::map<std::string, int64_t> loads_;  // source file -> its load id in this merge
  bool date_loads_reserved_ = false;      // target_.date_loads are numbered
  int64_t load_changes_ = 0;  // rows written to sluice_loads and sluice_load_ids by this merge
  MergeCounts counts_;
};

}  // namespace

Result<std::unique_ptr<TableWriter>> SqliteWarehouse::BeginMerge(const MergeTarget& target) {
  SLUICE_ASSIGN_OR_RETURN(SchemaPlan plan, EnsureTable(*target.schema));
  auto writer = std::make_unique<SqliteTableWriter>(this, target, plan.legacy_lineage);
  SLUICE_RETURN_IF_ERROR(writer->Begin());
  return std::unique_ptr<TableWriter>(std::move(writer));
}

}  // namespace sluice::warehouse::sqlite
