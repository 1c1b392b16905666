// warehouse/postgres_writer.cpp: one table merge as one PostgreSQL transaction (PgTableWriter).
//
// Rows are streamed with COPY (binary format, postgres_copy_binary.h) into a temporary table
// that the transaction drops, and merged into the target (postgres_merge_sql.h: an INSERT ...
// SELECT; for an upsert an UPDATE of the keys the table holds and an INSERT of the others) when
// the merge commits, or earlier when another statement needs the connection (a new source file's
// load row, a query inside the merge). An upsert into an empty table COPYs straight into it while
// its keys stay distinct, with its primary key built after the rows (Mode below). Between client
// and server nothing waits: sluice converts the next rows while the server stores the last ones.
// Counts equal the SQLite back-end's (warehouse.h):
//   upsert   per distinct key of a flush with m rows: inserted 1 and updated m-1 when the key
//            is new, updated m when the table's row was replaced, kept_newer m when the table
//            holds the key from a later date; the last row of a key wins.
//   append / replace_date   the date's rows (and loads) deleted first, then every row inserted.
#include <libpq-fe.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "core/logging.h"
#include "core/strings.h"
#include "warehouse/postgres_copy_binary.h"
#include "warehouse/postgres_internal.h"
#include "warehouse/postgres_key_hash.h"
#include "warehouse/postgres_loads.h"
#include "warehouse/postgres_merge_sql.h"

namespace sluice::warehouse::pg {

namespace {

// Bytes of COPY data buffered before they are handed to libpq.
constexpr size_t kCopyChunk = size_t{1} << 20;

class PgTableWriter : public TableWriter {
 public:
  PgTableWriter(PgWarehouse* wh, const MergeTarget& target)
      : wh_(wh), conn_(wh->conn()), target_(target), schema_(*target.schema) {}
  ~PgTableWriter() override { Rollback(); }
  PgTableWriter(const PgTableWriter&) = delete;
  PgTableWriter& operator=(const PgTableWriter&) = delete;

  Status Begin() {
    table_ = wh_->Qualified(schema_.table);
    rescue_ = schema_.on_extra_columns == config::ExtraColumnsPolicy::kRescue;
    int32_t date_days = 0;
    if (!BinaryDate(target_.ingest_date, &date_days)) {
      return Status::InvalidArgument("warehouse: the ingest date \"" + target_.ingest_date +
                                     "\" is not YYYY-MM-DD");
    }
    AppendBinaryDate(date_days, &ingest_date_binary_);
    sql_ = BuildMergeSql(schema_, table_, rescue_);
    upsert_ = schema_.merge == config::MergeMode::kUpsert && !schema_.primary_key.empty();
    if (upsert_) {
      direct_copy_sql_ = sql_.direct_copy;
      for (const std::string& k : schema_.primary_key) {
        for (size_t c = 0; c < schema_.columns.size(); ++c) {
          if (schema_.columns[c].name == k) key_columns_.push_back(c);
        }
      }
    }
    return Status::Ok();
  }

  Status EnsureOpen() {
    if (open_) return Status::Ok();
    if (done_) return Status::Internal("merge of " + schema_.table + " already finished");
    if (!date_loads_reserved_) {
      SLUICE_RETURN_IF_ERROR(ReserveDateLoads(conn_, *wh_, target_));
      date_loads_reserved_ = true;
    }
    SLUICE_RETURN_IF_ERROR(conn_.Exec("BEGIN", "warehouse: BEGIN"));
    open_ = true;
    wh_->set_active_writer([this] { return Flush(); });
    SLUICE_RETURN_IF_ERROR(conn_.Exec("SET LOCAL work_mem = '256MB'; " + sql_.stage,
                                      "warehouse: creating the staging table of " + schema_.table,
                                      "TEMPORARY on the database"));
    if (schema_.merge != config::MergeMode::kUpsert) {
      // A re-run or re-delivery of the date replaces the rows (and loads) the table got for it.
      SLUICE_ASSIGN_OR_RETURN(
          PgResult del,
          conn_.Run("DELETE FROM " + table_ + " WHERE _ingest_date = $1", {target_.ingest_date},
                    "warehouse: deleting the date's rows of " + schema_.table,
                    "DELETE on the table"));
      counts_.deleted += PgConn::Affected(del.get());
      SLUICE_RETURN_IF_ERROR(conn_
                                 .Run("DELETE FROM " + wh_->Qualified("sluice_loads") +
                                          " WHERE table_name = $1 AND ingest_date = $2",
                                      {schema_.table, target_.ingest_date},
                                      "warehouse: deleting the date's loads",
                                      "DELETE on sluice_loads")
                                 .status());
    }
    return Status::Ok();
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
    // What the table would refuse, found here so the row can be named and nothing of the batch
    // is sent: NULL in a NOT NULL column, NUL characters (PostgreSQL text cannot hold them).
    for (size_t r = 0; r < rows; ++r) {
      for (size_t c = 0; c < ncols; ++c) {
        const Value& v = values[r * ncols + c];
        std::string why;
        if (v.kind == ValueKind::kNull && !schema_.columns[c].nullable) {
          why = "NOT NULL constraint failed: " + schema_.table + "." + schema_.columns[c].name;
        } else if (v.kind == ValueKind::kText && v.s.find('\0') != std::string_view::npos) {
          why = "column " + schema_.columns[c].name +
                " holds a NUL character, which PostgreSQL text cannot store";
        }
        if (!why.empty()) {
          failed_ = true;
          if (failed_row) *failed_row = r;
          return Status::InvalidArgument("inserting into " + schema_.table + ": " + why);
        }
      }
    }
    Status st = AddChecked(values, rows, source_file, rescued);
    if (!st.ok()) {
      failed_ = true;
      if (failed_row) *failed_row = bad_row_;
      return st;
    }
    counts_.loaded += static_cast<int64_t>(rows);
    return Status::Ok();
  }

  // How the rows of an upsert reach the table: through the stage and one INSERT ... SELECT (the
  // general way), or, into a table that was empty when the merge began, by COPY straight into
  // it while the keys stay distinct (no stage, no second pass over the rows). The first key
  // seen again (or kMaxDirectRows rows) ends the direct COPY; the rows after it go through the
  // stage, whose upsert then finds the direct rows in the table: the counts come out as one
  // flush of all the rows would give (a new key: inserted 1, updated m-1).
  enum class Mode { kUndecided, kDirect, kStaged };
  static constexpr int64_t kMaxDirectRows = int64_t{1} << 20;

  Status DecideMode() {
    if (mode_ != Mode::kUndecided) return Status::Ok();
    mode_ = Mode::kStaged;
    if (!upsert_) return Status::Ok();
    SLUICE_ASSIGN_OR_RETURN(bool empty, TargetEmpty());
    if (empty) {
      mode_ = Mode::kDirect;
      SLUICE_RETURN_IF_ERROR(DropKeyForLoad());
    }
    return Status::Ok();
  }

  // Into the empty table the direct COPY sends distinct keys only, so the primary key's index
  // can be built once after the load (a sorted build) instead of row by row: the per-row index
  // insertion was a third of the server's CPU on a first load. The constraint is dropped in
  // this transaction and added back (same name, same definition) before anything else reads
  // the table or the transaction commits; a rollback or a kill brings the old one back. The
  // drop takes the table's ACCESS EXCLUSIVE lock to the end of the merge: readers of this
  // (empty) table wait for it, other tables and partners are not touched. Skipped when the
  // session's role does not own the table or another table's foreign key references it.
  Status DropKeyForLoad() {
    SLUICE_ASSIGN_OR_RETURN(
        PgResult r,
        conn_.Run("SELECT con.conname, pg_get_constraintdef(con.oid) FROM pg_constraint con "
                  "JOIN pg_class c ON c.oid = con.conrelid WHERE c.oid = $1::regclass AND "
                  "con.contype = 'p' AND pg_has_role(c.relowner, 'USAGE') AND NOT EXISTS "
                  "(SELECT 1 FROM pg_constraint f WHERE f.confrelid = c.oid)",
                  {table_}, "warehouse: reading the primary key of " + schema_.table,
                  "SELECT on pg_constraint"));
    if (PQntuples(r.get()) != 1) return Status::Ok();
    const std::string name = QuoteIdentifier(PQgetvalue(r.get(), 0, 0));
    add_key_sql_ = "ALTER TABLE " + table_ +
                   " ALTER COLUMN _ingest_date DROP DEFAULT, ALTER COLUMN _load_id DROP DEFAULT; "
                   "SET LOCAL maintenance_work_mem = '256MB'; SET LOCAL "
                   "max_parallel_maintenance_workers = 0; ALTER TABLE " +
                   table_ + " ADD CONSTRAINT " + name + " " + PQgetvalue(r.get(), 0, 1);
    SLUICE_RETURN_IF_ERROR(conn_.Exec("ALTER TABLE " + table_ + " DROP CONSTRAINT " + name,
                                      "warehouse: dropping the primary key of " + schema_.table +
                                          " for the load (it is built again after it)",
                                      "ownership of the table"));
    key_dropped_ = true;
    // Emptied in this transaction, the table takes COPY ... FREEZE: its pages are written
    // frozen and all-visible, so the first reads (the checks) and the vacuum after the load do
    // not rewrite every page to set hint bits and visibility. (The rows are visible to every
    // snapshot once the merge commits, as COPY FREEZE documents; the table was empty before.)
    SLUICE_RETURN_IF_ERROR(conn_.Exec("TRUNCATE " + table_,
                                      "warehouse: emptying " + schema_.table + " for the load",
                                      "TRUNCATE on the table"));
    direct_copy_sql_ = sql_.direct_copy_defaults;
    lineage_defaults_ = true;
    return Status::Ok();
  }

  // The direct COPY into the table this merge emptied sends no lineage: _ingest_date and
  // _load_id, the same for every row of a load, come from column defaults set here for the load
  // (in the merge's transaction, under the lock DropKeyForLoad took) and dropped again before
  // the key is built (add_key_sql_), so the table keeps no default after the merge; a rollback
  // or a kill takes them with it. Two fields fewer per row: the server's COPY receives and
  // converts about a fifth fewer fields, and 20 bytes a row stay off the socket.
  Status SetLineageDefaults(int64_t load_id) {
    if (!lineage_defaults_ || default_load_id_ == load_id) return Status::Ok();
    SLUICE_RETURN_IF_ERROR(conn_.Exec(
        "ALTER TABLE " + table_ + " ALTER COLUMN _ingest_date SET DEFAULT '" + target_.ingest_date +
            "'::date, ALTER COLUMN _load_id SET DEFAULT " + std::to_string(load_id),
        "warehouse: setting the load's lineage on " + schema_.table, "ownership of the table"));
    default_load_id_ = load_id;
    return Status::Ok();
  }

  // Builds the primary key DropKeyForLoad dropped, over the rows loaded so far.
  Status RestoreKey() {
    if (!key_dropped_) return Status::Ok();
    key_dropped_ = false;
    // add_key_sql_ drops the lineage defaults: rows sent straight in after it (a query inside
    // the merge made it build the key early) carry their lineage again.
    lineage_defaults_ = false;
    default_load_id_ = -1;
    direct_copy_sql_ = sql_.direct_copy;
    direct_copy_sql_.insert(direct_copy_sql_.size() - 1, ", FREEZE");
    return conn_.Exec(add_key_sql_,
                      "warehouse: building the primary key of " + schema_.table + " after the load",
                      "ownership of the table");
  }

  // The key hashes of an upsert's batch go into their set (KeyHashSet::InsertUntilRepeat) before
  // the rows are encoded: in direct mode the count of leading rows that may go straight in
  // (distinct keys, within kMaxDirectRows); in staged mode whether the stage still holds each
  // key once. Returns `rows` when nothing stops the direct rows (or the mode is staged).
  size_t CheckBatchKeys(std::span<const Value> values, size_t rows) {
    if (!upsert_ || (mode_ != Mode::kDirect && !stage_distinct_)) return rows;
    const size_t ncols = schema_.columns.size();
    row_hashes_.resize(rows);
    for (size_t r = 0; r < rows; ++r) {
      row_hashes_[r] = KeyHash(values.subspan(r * ncols, ncols), key_columns_);
    }
    if (mode_ == Mode::kDirect) {
      const size_t room = static_cast<size_t>(kMaxDirectRows - direct_rows_);
      return direct_keys_.InsertUntilRepeat(std::span(row_hashes_).first(std::min(rows, room)));
    }
    if (stage_keys_.InsertUntilRepeat(row_hashes_) < rows) {
      stage_distinct_ = false;  // a repeated key (or a hash collision): the stage is deduped
    }
    stage_checked_ = true;
    return rows;
  }

  Status StartCopy(int64_t load_id) {
    if (copying_) return Status::Ok();
    copy_direct_ = mode_ == Mode::kDirect;
    if (copy_direct_) SLUICE_RETURN_IF_ERROR(SetLineageDefaults(load_id));
    const std::string& sql = copy_direct_ ? direct_copy_sql_ : sql_.copy;
    PgResult r(PQexec(conn_.get(), sql.c_str()));
    if (!r || PQresultStatus(r.get()) != PGRES_COPY_IN) {
      return conn_.Error(r.get(), "warehouse: starting COPY into " + schema_.table,
                         "INSERT on the table");
    }
    copying_ = true;
    AppendBinaryHeader(&buffer_);
    return Status::Ok();
  }

  void AppendRescued(std::string_view rescued) {
    if (rescued.empty()) {
      AppendBinaryNull(&buffer_);
    } else {
      AppendBinaryText(rescued, &buffer_);
    }
  }

  Status AddChecked(std::span<const Value> values, size_t rows, std::string_view source_file,
                    std::span<const std::string_view> rescued) {
    SLUICE_RETURN_IF_ERROR(EnsureOpen());
    SLUICE_ASSIGN_OR_RETURN(int64_t load_id, LoadId(source_file));
    SLUICE_RETURN_IF_ERROR(DecideMode());
    const size_t ncols = schema_.columns.size();
    stage_checked_ = false;
    const size_t direct_end = CheckBatchKeys(values, rows);
    for (size_t r = 0; r < rows; ++r) {
      const std::span<const Value> row = values.subspan(r * ncols, ncols);
      if (mode_ == Mode::kDirect && r == direct_end) {  // a key seen before, or enough rows
        SLUICE_RETURN_IF_ERROR(EndCopy());              // the rows so far are in the table
        mode_ = Mode::kStaged;
        direct_keys_.Clear();
      }
      SLUICE_RETURN_IF_ERROR(StartCopy(load_id));
      const size_t row_start = buffer_.size();
      const bool direct = mode_ == Mode::kDirect;
      const int lineage = direct ? (lineage_defaults_ ? 0 : 2) + (rescue_ ? 1 : 0) : 3;
      AppendBinaryRowStart(static_cast<int>(ncols) + lineage, &buffer_);
      for (size_t c = 0; c < ncols; ++c) {
        if (!AppendBinaryValue(row[c], schema_.columns[c], &buffer_, &error_)) {
          buffer_.resize(row_start);
          bad_row_ = r;
          return Status::InvalidArgument("inserting into " + schema_.table + ": " + error_);
        }
      }
      const bool has_rescued = rescue_ && !rescued.empty() && !rescued[r].empty();
      if (direct) {
        // The target's columns: ..., _ingest_date, _load_id[, _rescued] (the first two from
        // the defaults SetLineageDefaults set, when it did).
        if (!lineage_defaults_) {
          buffer_.append(ingest_date_binary_);
          AppendBinaryInt8(load_id, &buffer_);
        }
        if (rescue_) AppendRescued(has_rescued ? rescued[r] : std::string_view());
        ++direct_rows_;
        ++direct_pending_;
      } else {
        // The stage's: ..., _load_id, _rescued, _seq.
        AppendBinaryInt8(load_id, &buffer_);
        AppendRescued(has_rescued ? rescued[r] : std::string_view());
        AppendBinaryInt8(seq_++, &buffer_);
        ++staged_;
        if (upsert_ && stage_distinct_ && !stage_checked_ && !stage_keys_.Insert(row_hashes_[r])) {
          stage_distinct_ = false;  // a repeated key (or a hash collision): the stage is deduped
        }
      }
      if (buffer_.size() >= kCopyChunk) SLUICE_RETURN_IF_ERROR(SendBuffer());
    }
    return SendBuffer();
  }

  Status SendBuffer() {
    if (buffer_.empty()) return Status::Ok();
    if (PQputCopyData(conn_.get(), buffer_.data(), static_cast<int>(buffer_.size())) != 1) {
      return conn_.Error(nullptr, "warehouse: sending rows of " + schema_.table);
    }
    buffer_.clear();
    return Status::Ok();
  }

  // Ends the COPY in progress; the server's verdict on the rows it parsed.
  Status EndCopy() {
    if (!copying_) return Status::Ok();
    copying_ = false;
    AppendBinaryTrailer(&buffer_);
    SLUICE_RETURN_IF_ERROR(SendBuffer());
    if (PQputCopyEnd(conn_.get(), nullptr) != 1) {
      return conn_.Error(nullptr, "warehouse: ending COPY into " + schema_.table);
    }
    Status st;
    while (PGresult* raw = PQgetResult(conn_.get())) {
      PgResult r(raw);
      if (PQresultStatus(raw) != PGRES_COMMAND_OK && st.ok()) {
        st = conn_.Error(raw, "warehouse: COPY into " + schema_.table, "INSERT on the table");
      }
    }
    if (st.ok() && copy_direct_) {
      counts_.inserted += direct_pending_;  // distinct new keys, each in the table now
    }
    direct_pending_ = 0;
    return st;
  }

  // True when the upsert target holds no row; then it stays empty until this merge ends: the
  // lock keeps other writers of the table out (readers are not blocked).
  Result<bool> TargetEmpty() {
    auto empty = [&]() -> Result<bool> {
      SLUICE_ASSIGN_OR_RETURN(PgResult r,
                              conn_.Run(sql_.empty, {}, "warehouse: looking into " + schema_.table,
                                        "SELECT on the table"));
      return std::string_view(PQgetvalue(r.get(), 0, 0)) == "t";
    };
    SLUICE_ASSIGN_OR_RETURN(bool looks_empty, empty());
    if (!looks_empty) return false;
    SLUICE_RETURN_IF_ERROR(conn_.Exec(sql_.lock, "warehouse: locking " + schema_.table,
                                      "INSERT and UPDATE on the table"));
    return empty();  // again, now that no other merge can fill it
  }

  // Merges the staged rows into the table and empties the stage.
  Status Flush() {
    if (!open_) return Status::Ok();
    SLUICE_RETURN_IF_ERROR(EndCopy());
    SLUICE_RETURN_IF_ERROR(RestoreKey());
    if (staged_ == 0) return Status::Ok();
    if (!upsert_) {
      auto result =
          conn_.Run(sql_.insert_all, {target_.ingest_date},
                    "warehouse: inserting rows into " + schema_.table, "INSERT on the table");
      if (!result.ok()) return MergeError(result.status());
      counts_.inserted += PgConn::Affected(result->get());
      return EmptyStage();
    }
    SLUICE_ASSIGN_OR_RETURN(bool empty, TargetEmpty());
    if (empty) {
      auto result =
          conn_.Run(sql_.first_load, {target_.ingest_date},
                    "warehouse: loading rows into " + schema_.table, "INSERT on the table");
      if (!result.ok()) return MergeError(result.status());
      const int64_t inserted = PgConn::Affected(result->get());
      counts_.inserted += inserted;
      counts_.updated += staged_ - inserted;  // the earlier rows of a repeated key
      return EmptyStage();
    }
    SLUICE_RETURN_IF_ERROR(Upsert());
    return EmptyStage();
  }

  // The staged rows into a table that holds rows: the last row of each key replaces the
  // table's (unless the table's is from a later date) or is inserted. Counts as warehouse.h
  // says: per key with m staged rows, inserted 1 + updated m-1 (new), updated m (replaced),
  // kept_newer m (the table's is later; Commit counts those from the rest).
  Status Upsert() {
    SLUICE_RETURN_IF_ERROR(
        conn_.Exec(sql_.lock, "warehouse: locking " + schema_.table, "UPDATE on the table"));
    std::string source = kStage;
    int64_t keys = staged_;
    if (!stage_distinct_) {
      SLUICE_RETURN_IF_ERROR(conn_.Exec("DROP TABLE IF EXISTS " + std::string(kDeduped),
                                        "warehouse: dropping the deduplicated stage"));
      SLUICE_ASSIGN_OR_RETURN(
          PgResult r, conn_.Run(sql_.dedupe, {},
                                "warehouse: the last staged row of each key of " + schema_.table));
      keys = PgConn::Affected(r.get());
      source = kDeduped;
    }
    auto update = conn_.Run(WithSource(sql_.update, source), {target_.ingest_date},
                            "warehouse: updating rows of " + schema_.table, "UPDATE on the table");
    if (!update.ok()) return MergeError(update.status());
    auto insert =
        conn_.Run(WithSource(sql_.insert, source), {target_.ingest_date},
                  "warehouse: inserting rows into " + schema_.table, "INSERT on the table");
    if (!insert.ok()) return MergeError(insert.status());
    const int64_t updated_keys = PgConn::Affected(update->get());
    const int64_t inserted = PgConn::Affected(insert->get());
    int64_t kept_rows = keys - updated_keys - inserted;  // one row per key when distinct
    if (kept_rows > 0 && !stage_distinct_) {
      SLUICE_ASSIGN_OR_RETURN(PgResult r, conn_.Run(sql_.kept, {target_.ingest_date},
                                                    "warehouse: counting the rows of " +
                                                        schema_.table + " kept from a later date"));
      kept_rows = std::strtoll(PQgetvalue(r.get(), 0, 0), nullptr, 10);
    }
    counts_.inserted += inserted;
    counts_.updated += staged_ - inserted - kept_rows;
    return Status::Ok();
  }

  Status EmptyStage() {
    staged_ = 0;
    stage_distinct_ = true;
    stage_keys_.Clear();
    return conn_.Exec("TRUNCATE " + std::string(kStage), "warehouse: emptying the stage");
  }

  // For a repeated key in an append or replace_date table, what the key means there.
  Status MergeError(const Status& st) {
    if (schema_.merge != config::MergeMode::kUpsert && !schema_.primary_key.empty() &&
        st.message().find("duplicate key") != std::string::npos) {
      return Status::InvalidArgument(
          "inserting into " + schema_.table + ": " + st.message() +
          ": the row's key is already in the table. " +
          (schema_.merge == config::MergeMode::kAppend ? "An append" : "A replace_date") +
          " table keeps every date's rows, so its primary key (" + Join(schema_.primary_key, ", ") +
          ") must be unique across all dates and within the file; to keep the latest row of "
          "each key use \"merge\": \"upsert\", or remove \"primary_key\" from the schema");
    }
    return st;
  }

  Result<MergeCounts> Commit() override {
    if (failed_) {
      return Status::Internal("merge of " + schema_.table +
                              " failed while adding rows; it can only be rolled back");
    }
    Status st = CommitInner();
    if (!st.ok()) {
      Rollback();
      return st;
    }
    return counts_;
  }

  Status CommitInner() {
    SLUICE_RETURN_IF_ERROR(EnsureOpen());
    SLUICE_RETURN_IF_ERROR(Flush());
    if (schema_.merge == config::MergeMode::kUpsert) {
      counts_.kept_newer = counts_.loaded - counts_.inserted - counts_.updated;
    }
    if (!target_.inputs.empty()) {
      SLUICE_RETURN_IF_ERROR(RecordOrRepeatCounts(conn_, *wh_, target_, &counts_));
    }
    SLUICE_RETURN_IF_ERROR(
        conn_.Exec("COMMIT", "warehouse: committing the merge of " + schema_.table));
    open_ = false;
    done_ = true;
    wh_->set_active_writer(nullptr);
    return Status::Ok();
  }

  // The load of `source_file` in this merge (one row of sluice_loads per table, date, run and
  // file); a retry of the run reuses it, refreshing loaded_at. A load that date_loads did not
  // list is numbered here, under the lock, to the end of the merge.
  Result<int64_t> LoadId(std::string_view source_file) {
    if (auto it = loads_.find(std::string(source_file)); it != loads_.end()) return it->second;
    SLUICE_RETURN_IF_ERROR(EndCopy());  // the connection is needed for the load's row
    const std::string ids = wh_->Qualified("sluice_load_ids");
    const std::string loads = wh_->Qualified("sluice_loads");
    const bool reserved = date_loads_reserved_ &&
                          std::find(target_.date_loads.begin(), target_.date_loads.end(),
                                    std::pair<std::string, std::string>(
                                        schema_.table, source_file)) != target_.date_loads.end();
    if (!reserved) {
      SLUICE_RETURN_IF_ERROR(LockLoadNumbers(conn_, *wh_));
      SLUICE_RETURN_IF_ERROR(
          ReserveOne(conn_, *wh_, target_, schema_.table, std::string(source_file)));
    }
    SLUICE_ASSIGN_OR_RETURN(
        PgResult r,
        conn_.Run("INSERT INTO " + loads +
                      " (load_id, table_name, ingest_date, run_id, partner, source_file, "
                      "loaded_at) SELECT load_id, $1, $2::date, $3, $4, $5, now() FROM " +
                      ids +
                      " WHERE table_name = $1 AND ingest_date = $2::date AND run_id = $3 AND "
                      "source_file = $5 ON CONFLICT (table_name, ingest_date, run_id, "
                      "source_file) DO UPDATE SET loaded_at = excluded.loaded_at RETURNING "
                      "load_id",
                  {schema_.table, target_.ingest_date, target_.run_id, wh_->partner(),
                   std::string(source_file)},
                  "warehouse: recording the load in sluice_loads", "INSERT on sluice_loads"));
    if (PQntuples(r.get()) != 1) {
      return Status::Internal("warehouse: no load number for " + std::string(source_file) + " of " +
                              schema_.table + " in sluice_load_ids");
    }
    const int64_t id = std::strtoll(PQgetvalue(r.get(), 0, 0), nullptr, 10);
    loads_.emplace(std::string(source_file), id);
    return id;
  }

  void Rollback() override {
    done_ = true;
    if (!open_) return;
    open_ = false;
    wh_->set_active_writer(nullptr);
    if (copying_) {
      copying_ = false;
      PQputCopyEnd(conn_.get(), "merge rolled back");
      while (PGresult* raw = PQgetResult(conn_.get())) PQclear(raw);
    }
    (void)conn_.Exec("ROLLBACK", "warehouse: ROLLBACK");
  }

 private:
  PgWarehouse* wh_;
  PgConn& conn_;
  MergeTarget target_;
  const config::TableSchema& schema_;
  std::string table_;
  MergeSql sql_;
  bool upsert_ = false;            // an upsert (it has a primary key)
  std::string direct_copy_sql_;    // COPY straight into the table (FREEZE once it is emptied)
  std::string add_key_sql_;        // builds the primary key again after a direct load
  bool key_dropped_ = false;       // the primary key is dropped until RestoreKey
  bool lineage_defaults_ = false;  // the direct COPY leaves lineage to column defaults
  int64_t default_load_id_ = -1;   // the _load_id default set (SetLineageDefaults)
  Mode mode_ = Mode::kUndecided;
  bool copy_direct_ = false;  // the COPY in progress goes straight into the table
  std::vector<size_t> key_columns_;
  KeyHashSet direct_keys_;            // hashes of the keys sent straight in
  std::vector<uint64_t> row_hashes_;  // the key hashes of AddChecked's batch (CheckBatchKeys)
  bool stage_checked_ = false;        // the batch's keys are in stage_keys_ already
  int64_t direct_rows_ = 0;           // rows sent straight in
  int64_t direct_pending_ = 0;        // of those, in the COPY in progress
  std::string buffer_;
  std::string error_;               // why a value could not be encoded
  size_t bad_row_ = 0;              // and in which row of the batch
  std::string ingest_date_binary_;  // target_.ingest_date as a binary COPY field
  bool rescue_ = false;
  bool open_ = false;
  bool done_ = false;
  bool failed_ = false;
  bool copying_ = false;
  int64_t seq_ = 0;
  int64_t staged_ = 0;  // rows in the stage not merged yet
  // An upsert's stage holds each key once (so far): merged without deduplication.
  bool stage_distinct_ = true;
  KeyHashSet stage_keys_;  // hashes of the staged keys
  std::map<std::string, int64_t> loads_;
  bool date_loads_reserved_ = false;  // target_.date_loads are numbered
  MergeCounts counts_;
};

}  // namespace

Result<std::unique_ptr<TableWriter>> NewTableWriter(PgWarehouse* wh, const MergeTarget& target,
                                                    bool legacy_lineage) {
  if (legacy_lineage) {
    return Status::InvalidArgument(
        "warehouse: table " + target.schema->table + " in " + wh->Describe() +
        " has wave one's _run_id and _source_file columns, which the PostgreSQL back-end does "
        "not fill; drop them (lineage is in _load_id and sluice_loads)");
  }
  auto writer = std::make_unique<PgTableWriter>(wh, target);
  SLUICE_RETURN_IF_ERROR(writer->Begin());
  return std::unique_ptr<TableWriter>(std::move(writer));
}

}  // namespace sluice::warehouse::pg
