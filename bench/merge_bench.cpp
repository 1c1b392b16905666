// bench/merge_bench.cpp: the whole merge (read files -> tokenize -> map -> validate -> SQLite
// upsert in one transaction) of a generated set of CSV files, beside a plain SQLite
// prepared-statement INSERT of the same rows, pre-parsed (typed values straight from the
// generator), into a table with the same DDL, in the same program and on the same disk.
// Usage: merge_bench [TOTAL_MB] [DIR] [int|composite]
//   default 1000 MB in $TMPDIR (SLUICE_BENCH_MB works too); `composite` keys the table by
//   (customer TEXT, order_id) instead of the integer order_id.
#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "csv_gen.h"
#include "tasks/merge_table.h"
#include "warehouse/sqlite_warehouse.h"
#include "warehouse/warehouse.h"

using namespace sluice;
namespace fs = std::filesystem;

namespace {

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

class FileSource : public csv::ByteSource {
 public:
  explicit FileSource(const fs::path& p) : f_(std::fopen(p.c_str(), "rb")) {}
  ~FileSource() override {
    if (f_) std::fclose(f_);
  }
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;
  Result<size_t> Read(char* buf, size_t n) override {
    if (!f_) return Status::IoError("cannot open file");
    return std::fread(buf, 1, n, f_);
  }

 private:
  FILE* f_;
};

// CPU seconds (user + system) of every thread of the process (the merge parses on a second
// thread): with other work on the machine, wall-clock numbers swing by a third from run to run.
double ProcessCpu() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

struct Timing {
  double wall = 1e30;
  double cpu = 1e30;
  void Keep(double w, double c) {
    wall = std::min(wall, w);
    cpu = std::min(cpu, c);
  }
};

long PeakRssMiB() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;
}

void Check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    std::fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
    std::exit(1);
  }
}

// The plain insert: same DDL as the warehouse creates, same pragmas, one transaction.
void PlainInsert(const fs::path& db_path, int64_t rows, const config::TableSchema& schema,
                 Timing* timing) {
  sqlite3* db = nullptr;
  Check(sqlite3_open(db_path.c_str(), &db), db, "open");
  Check(sqlite3_exec(db,
                     "PRAGMA page_size=65536; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                     "PRAGMA cache_size=-65536;",
                     nullptr, nullptr, nullptr),
        db, "pragma");
  std::string ddl = "CREATE TABLE orders (";
  for (const auto& c : schema.columns) {
    ddl += warehouse::QuoteIdentifier(c.name) + " " + std::string(warehouse::SqlType(c)) +
           (c.nullable ? "" : " NOT NULL") + ", ";
  }
  std::string key_list;
  for (const auto& k : schema.primary_key) {
    key_list += (key_list.empty() ? "" : ", ") + warehouse::QuoteIdentifier(k);
  }
  ddl +=
      "_ingest_date TEXT NOT NULL, _run_id TEXT NOT NULL, _source_file TEXT NOT NULL, "
      "PRIMARY KEY (" +
      key_list + "))";
  Check(sqlite3_exec(db, ddl.c_str(), nullptr, nullptr, nullptr), db, "create");
  sqlite3_stmt* st = nullptr;
  Check(sqlite3_prepare_v2(db, "INSERT INTO orders VALUES (?,?,?,?,?,?,?,?,?,?)", -1, &st, nullptr),
        db, "prepare");
  // Pre-parse every row first so only the SQLite work is timed... but 1 GB of rows does not fit
  // a memory budget, so rows are generated in batches of typed values outside the timer.
  const int64_t kBatch = 20000;
  std::vector<bench::GenRow> batch(kBatch);
  double secs = 0, cpu = 0;
  auto t0 = std::chrono::steady_clock::now();
  double c0 = ProcessCpu();
  Check(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), db, "begin");
  secs += Seconds(t0);
  cpu += ProcessCpu() - c0;
  const std::string date = "2026-11-24", run = "bench", file = "raw/bench/2026-11-24/orders.csv";
  for (int64_t start = 0; start < rows; start += kBatch) {
    int64_t n = std::min(kBatch, rows - start);
    for (int64_t i = 0; i < n; ++i) bench::MakeRow(start + i, &batch[i]);
    t0 = std::chrono::steady_clock::now();
    c0 = ProcessCpu();
    for (int64_t i = 0; i < n; ++i) {
      const bench::GenRow& r = batch[i];
      sqlite3_bind_int64(st, 1, r.order_id);
      sqlite3_bind_text(st, 2, r.customer.data(), static_cast<int>(r.customer.size()),
                        SQLITE_STATIC);
      sqlite3_bind_text(st, 3, r.amount.data(), static_cast<int>(r.amount.size()), SQLITE_STATIC);
      sqlite3_bind_int64(st, 4, r.qty);
      sqlite3_bind_text(st, 5, r.ordered_at.data(), static_cast<int>(r.ordered_at.size()),
                        SQLITE_STATIC);
      sqlite3_bind_text(st, 6, r.status.data(), static_cast<int>(r.status.size()), SQLITE_STATIC);
      sqlite3_bind_text(st, 7, r.note.data(), static_cast<int>(r.note.size()), SQLITE_STATIC);
      sqlite3_bind_text(st, 8, date.data(), static_cast<int>(date.size()), SQLITE_STATIC);
      sqlite3_bind_text(st, 9, run.data(), static_cast<int>(run.size()), SQLITE_STATIC);
      sqlite3_bind_text(st, 10, file.data(), static_cast<int>(file.size()), SQLITE_STATIC);
      Check(sqlite3_step(st), db, "insert");
      sqlite3_reset(st);
    }
    secs += Seconds(t0);
    cpu += ProcessCpu() - c0;
  }
  t0 = std::chrono::steady_clock::now();
  c0 = ProcessCpu();
  sqlite3_finalize(st);
  Check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
  sqlite3_close(db);
  secs += Seconds(t0);
  cpu += ProcessCpu() - c0;
  timing->Keep(secs, cpu);
}

}  // namespace

int main(int argc, char** argv) {
  double total_mb = 1000;
  if (const char* env = std::getenv("SLUICE_BENCH_MB")) total_mb = std::atof(env);
  if (argc > 1) total_mb = std::atof(argv[1]);
  fs::path dir = argc > 2 ? fs::path(argv[2]) : fs::temp_directory_path() / "sluice-merge-bench";
  fs::remove_all(dir);
  fs::create_directories(dir / "csv");

  // Generate the files (several, as partners deliver them), streaming to disk.
  const double file_mb = 128;
  std::vector<tasks::MergeFile> files;
  std::vector<fs::path> paths;
  int64_t row_id = 0;
  double written = 0;
  bench::GenRow row;
  std::string chunk;
  while (written < total_mb * 1e6) {
    fs::path p = dir / "csv" / ("orders_" + std::to_string(paths.size()) + ".csv");
    std::ofstream out(p, std::ios::binary);
    chunk = bench::kCsvHeader;
    double file_bytes = 0;
    while (file_bytes < file_mb * 1e6 && written + file_bytes < total_mb * 1e6) {
      bench::MakeRow(row_id++, &row);
      bench::AppendCsv(row, &chunk);
      if (chunk.size() > (1 << 20)) {
        out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        file_bytes += static_cast<double>(chunk.size());
        chunk.clear();
      }
    }
    out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    file_bytes += static_cast<double>(chunk.size());
    written += file_bytes;
    paths.push_back(p);
    files.push_back({"raw/bench/2026-11-24/" + p.filename().string(),
                     [p]() -> Result<std::unique_ptr<csv::ByteSource>> {
                       return std::unique_ptr<csv::ByteSource>(new FileSource(p));
                     }});
  }
  const double mb = written / 1e6;
  std::printf("merge_bench: %.1f MB of CSV in %zu files, %lld rows, in %s\n", mb, paths.size(),
              static_cast<long long>(row_id), dir.c_str());

  config::TableSchema schema = bench::OrdersSchema();
  config::CsvDialect dialect;
  const bool composite = argc > 3 && std::string(argv[3]) == "composite";
  if (composite) {
    schema.primary_key = {"customer", "order_id"};
    schema.columns[1].nullable = false;
  }
  std::printf("primary key: %s\n", composite ? "(customer TEXT, order_id)" : "order_id INTEGER");

  // Alternate the two, twice each, on fresh databases, and keep the best of each.
  Timing plain, merge;
  Result<tasks::TableMergeStats> stats = Status::Internal("not run");
  long merge_rss = 0;
  for (int rep = 0; rep < 2; ++rep) {
    fs::remove_all(dir / "wh");
    sync();  // write back the generated files and the last run first, outside the timers
    // Whole merge into an upsert table, through the warehouse interface.
    auto wh = warehouse::OpenWarehouse("sqlite://" + (dir / "wh").string(), dir, "bench");
    if (!wh.ok()) {
      std::fprintf(stderr, "%s\n", wh.status().ToString().c_str());
      return 1;
    }
    warehouse::MergeTarget target;
    target.schema = &schema;
    target.ingest_date = "2026-11-24";
    target.run_id = "bench";
    auto t0 = std::chrono::steady_clock::now();
    double c0 = ProcessCpu();
    stats = tasks::MergeTableFiles(schema, dialect, wh->get(), target, files, {});
    wh->reset();  // closing is part of the cost, as in the baseline
    merge.Keep(Seconds(t0), ProcessCpu() - c0);
    if (!stats.ok()) {
      std::fprintf(stderr, "%s\n", stats.status().ToString().c_str());
      return 1;
    }
    if (rep == 0) merge_rss = PeakRssMiB();  // before the baseline allocates anything
    fs::remove_all(dir / "plain.db");
    fs::remove(dir / "plain.db-wal");
    fs::remove(dir / "plain.db-shm");
    sync();
    PlainInsert(dir / "plain.db", row_id, schema, &plain);
    fs::remove_all(dir / "plain.db");
    fs::remove(dir / "plain.db-wal");
    fs::remove(dir / "plain.db-shm");
  }

  const double rows = static_cast<double>(row_id);
  std::printf("%-40s %8s %12s %8s | %8s %12s %8s\n", "", "wall MB/s", "rows/s", "s", "cpu MB/s",
              "rows/s", "cpu s");
  auto line = [&](const char* name, const Timing& t) {
    std::printf("%-40s %8.1f %12.0f %8.2f | %8.1f %12.0f %8.2f\n", name, mb / t.wall, rows / t.wall,
                t.wall, mb / t.cpu, rows / t.cpu, t.cpu);
  };
  line("baseline: plain prepared INSERT", plain);
  line("whole merge: files->csv->upsert", merge);
  std::printf("whole merge vs baseline rows/s: %.0f%% (wall), %.0f%% (cpu)\n",
              100.0 * plain.wall / merge.wall, 100.0 * plain.cpu / merge.cpu);
  std::printf("merge: read %lld, loaded %lld, inserted %lld, rejected %lld; peak RSS %ld MiB\n",
              static_cast<long long>(stats->rows_read), static_cast<long long>(stats->rows_loaded),
              static_cast<long long>(stats->rows_inserted),
              static_cast<long long>(stats->rows_rejected), merge_rss);
  std::printf("targets: whole merge >= 75%% of the plain insert's rows/s; memory < 100 MiB\n");
  fs::remove_all(dir);
  return 0;
}
