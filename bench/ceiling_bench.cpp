// bench/ceiling_bench: the SQLite prepared-insert ceiling for the rows a sluice run loaded.
//
// For every partner database of a warehouse folder (the one `sluice run` just filled), creates a
// fresh database with the same tables and indexes (the same DDL, page size, journal and cache as
// the warehouse: 64 KiB pages, WAL, synchronous=NORMAL, 64 MiB cache) and inserts the same rows,
// already typed, with one prepared INSERT per table in one transaction per table, then closes it
// (SQLite's checkpoint of the WAL into the database). Rows are read from the source in chunks
// of 20,000 outside the timer; only the inserting, committing and closing are timed: what SQLite
// itself needs for these rows, with no parsing, conversion, upsert or lineage to look up. That is
// the upper bound of any loader that writes them through SQLite.
//
// Rows go in the order the source's table was filled (rowid order). A source table WITHOUT
// ROWID has no such order; its rows are read by _load_id and then its key columns last to first,
// which for the generated set (bench/run_pipeline) is the file order again (event logs:
// (device, seq) in file order is seq-major).
//
// Databases are spread over --threads threads (default: cores), as `sluice run` spreads merges
// over attempts. Prints one line per database and a last line
//   ceiling: R rows, T tables, insert_seconds=S, cpu_seconds=C, db_bytes=B
// where S is the longest thread's timed seconds (the wall time if reading were free).
//
// Usage: ceiling_bench WAREHOUSE_DIR OUT_DIR [--threads N] [--without-rowid]
//   --without-rowid: tables with a primary key are created WITHOUT ROWID (to measure that layout)
#include <sqlite3.h>
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;

namespace {

void Die(sqlite3* db, const std::string& what) {
  std::fprintf(stderr, "ceiling_bench: %s: %s\n", what.c_str(),
               db ? sqlite3_errmsg(db) : "cannot open");
  std::exit(1);
}

void Exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::fprintf(stderr, "ceiling_bench: %s: %s\n", sql.c_str(), err ? err : "?");
    std::exit(1);
  }
}

double ThreadCpu() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// One value of a chunk, typed as the source stored it.
struct Cell {
  int type = SQLITE_NULL;
  int64_t i = 0;
  double d = 0;
  size_t off = 0;  // into Chunk::text, for TEXT and BLOB
  int len = 0;
};

struct Chunk {
  std::vector<Cell> cells;
  std::string text;
  size_t rows = 0;
};

struct Timer {
  double wall = 0, cpu = 0;
  std::chrono::steady_clock::time_point t0;
  double c0 = 0;
  void Start() {
    t0 = std::chrono::steady_clock::now();
    c0 = ThreadCpu();
  }
  void Stop() {
    wall += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    cpu += ThreadCpu() - c0;
  }
};

std::vector<std::string> Column0(sqlite3* db, const std::string& sql) {
  std::vector<std::string> out;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) Die(db, sql);
  while (sqlite3_step(st) == SQLITE_ROW) {
    const unsigned char* t = sqlite3_column_text(st, 0);
    out.emplace_back(t ? reinterpret_cast<const char*>(t) : "");
  }
  sqlite3_finalize(st);
  return out;
}

std::string Quote(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

struct DbResult {
  std::string name;
  int64_t rows = 0;
  int tables = 0;
  Timer timer;
  int64_t bytes = 0;
};

DbResult CopyDatabase(const fs::path& src_path, const fs::path& dst_path, bool without_rowid) {
  DbResult r;
  r.name = src_path.filename().string();
  sqlite3* src = nullptr;
  if (sqlite3_open_v2(src_path.c_str(), &src, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    Die(src, "opening " + src_path.string());
  }
  fs::remove(dst_path);
  fs::remove(dst_path.string() + "-wal");
  fs::remove(dst_path.string() + "-shm");
  sqlite3* dst = nullptr;
  if (sqlite3_open(dst_path.c_str(), &dst) != SQLITE_OK) Die(dst, "creating " + dst_path.string());
  Exec(dst,
       "PRAGMA page_size=65536; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
       "PRAGMA cache_size=-65536");
  const std::vector<std::string> tables = Column0(
      src,
      "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sluice_%' AND name "
      "NOT LIKE 'sqlite_%' ORDER BY name");
  for (const std::string& table : tables) {
    std::string ddl = Column0(src, "SELECT sql FROM sqlite_master WHERE type='table' AND name=" +
                                       std::string("'") + table + "'")[0];
    const bool source_without_rowid = ddl.find("WITHOUT ROWID") != std::string::npos;
    const std::vector<std::string> keys = Column0(
        src, "SELECT name FROM pragma_table_info('" + table + "') WHERE pk > 0 ORDER BY pk");
    if (without_rowid && !source_without_rowid && !keys.empty()) ddl += " WITHOUT ROWID";
    if (!without_rowid && source_without_rowid) ddl.resize(ddl.find(" WITHOUT ROWID"));
    const std::vector<std::string> indexes =
        Column0(src,
                "SELECT sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL AND "
                "tbl_name='" +
                    table + "'");
    const std::vector<std::string> columns =
        Column0(src, "SELECT name FROM pragma_table_info('" + table + "') ORDER BY cid");
    std::string order = "rowid";
    if (source_without_rowid) {
      order = "_load_id";
      for (auto k = keys.rbegin(); k != keys.rend(); ++k) order += "," + Quote(*k);
    }
    sqlite3_stmt* read = nullptr;
    const std::string select = "SELECT * FROM " + Quote(table) + " ORDER BY " + order;
    if (sqlite3_prepare_v2(src, select.c_str(), -1, &read, nullptr) != SQLITE_OK) {
      Die(src, select);
    }
    std::string insert = "INSERT INTO " + Quote(table) + " VALUES (";
    for (size_t c = 0; c < columns.size(); ++c) insert += c ? ",?" : "?";
    insert += ")";

    r.timer.Start();
    Exec(dst, ddl);
    for (const std::string& index : indexes) Exec(dst, index);
    Exec(dst, "BEGIN IMMEDIATE");
    sqlite3_stmt* ins = nullptr;
    if (sqlite3_prepare_v2(dst, insert.c_str(), -1, &ins, nullptr) != SQLITE_OK) Die(dst, insert);
    r.timer.Stop();

    const int ncols = static_cast<int>(columns.size());
    Chunk chunk;
    bool more = true;
    while (more) {
      // Read a chunk (not timed).
      chunk.cells.clear();
      chunk.text.clear();
      chunk.rows = 0;
      while (chunk.rows < 20000) {
        int rc = sqlite3_step(read);
        if (rc == SQLITE_DONE) {
          more = false;
          break;
        }
        if (rc != SQLITE_ROW) Die(src, "reading " + table);
        for (int c = 0; c < ncols; ++c) {
          Cell cell;
          cell.type = sqlite3_column_type(read, c);
          if (cell.type == SQLITE_INTEGER) {
            cell.i = sqlite3_column_int64(read, c);
          } else if (cell.type == SQLITE_FLOAT) {
            cell.d = sqlite3_column_double(read, c);
          } else if (cell.type != SQLITE_NULL) {
            const void* p = cell.type == SQLITE_TEXT
                                ? static_cast<const void*>(sqlite3_column_text(read, c))
                                : sqlite3_column_blob(read, c);
            cell.len = sqlite3_column_bytes(read, c);
            cell.off = chunk.text.size();
            chunk.text.append(static_cast<const char*>(p), static_cast<size_t>(cell.len));
          }
          chunk.cells.push_back(cell);
        }
        ++chunk.rows;
      }
      // Insert it (timed).
      r.timer.Start();
      for (size_t row = 0; row < chunk.rows; ++row) {
        for (int c = 0; c < ncols; ++c) {
          const Cell& cell = chunk.cells[row * static_cast<size_t>(ncols) + static_cast<size_t>(c)];
          switch (cell.type) {
            case SQLITE_INTEGER:
              sqlite3_bind_int64(ins, c + 1, cell.i);
              break;
            case SQLITE_FLOAT:
              sqlite3_bind_double(ins, c + 1, cell.d);
              break;
            case SQLITE_TEXT:
              sqlite3_bind_text(ins, c + 1, chunk.text.data() + cell.off, cell.len, SQLITE_STATIC);
              break;
            case SQLITE_BLOB:
              sqlite3_bind_blob(ins, c + 1, chunk.text.data() + cell.off, cell.len, SQLITE_STATIC);
              break;
            default:
              sqlite3_bind_null(ins, c + 1);
          }
        }
        if (sqlite3_step(ins) != SQLITE_DONE) Die(dst, "inserting into " + table);
        sqlite3_reset(ins);
      }
      r.timer.Stop();
      r.rows += static_cast<int64_t>(chunk.rows);
    }
    sqlite3_finalize(read);
    r.timer.Start();
    sqlite3_finalize(ins);
    Exec(dst, "COMMIT");
    r.timer.Stop();
    ++r.tables;
  }
  r.timer.Start();
  sqlite3_close(dst);  // the last connection: checkpoints the WAL into the database
  r.timer.Stop();
  sqlite3_close(src);
  std::error_code ec;
  r.bytes = static_cast<int64_t>(fs::file_size(dst_path, ec));
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: ceiling_bench WAREHOUSE_DIR OUT_DIR [--threads N] [--without-rowid]\n");
    return 2;
  }
  const fs::path in = argv[1], out = argv[2];
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  bool without_rowid = false;
  for (int i = 3; i < argc; ++i) {
    if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      threads = static_cast<unsigned>(std::max(1, std::atoi(argv[++i])));
    } else if (std::strcmp(argv[i], "--without-rowid") == 0) {
      without_rowid = true;
    } else {
      std::fprintf(stderr, "ceiling_bench: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  std::vector<fs::path> dbs;
  for (const auto& e : fs::directory_iterator(in)) {
    if (e.path().extension() == ".db") dbs.push_back(e.path());
  }
  // Largest first, so the threads end together.
  std::sort(dbs.begin(), dbs.end(), [](const fs::path& a, const fs::path& b) {
    return fs::file_size(a) > fs::file_size(b);
  });
  fs::create_directories(out);
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::vector<DbResult> results;
  std::vector<double> thread_wall(threads, 0), thread_cpu(threads, 0);
  auto worker = [&](unsigned t) {
    for (size_t i = next++; i < dbs.size(); i = next++) {
      DbResult r = CopyDatabase(dbs[i], out / dbs[i].filename(), without_rowid);
      thread_wall[t] += r.timer.wall;
      thread_cpu[t] += r.timer.cpu;
      std::lock_guard<std::mutex> lock(mu);
      std::printf("%-20s %2d tables %10lld rows %8.2f s %8.2f cpu-s %8.1f MB\n", r.name.c_str(),
                  r.tables, static_cast<long long>(r.rows), r.timer.wall, r.timer.cpu,
                  static_cast<double>(r.bytes) / 1e6);
      std::fflush(stdout);
      results.push_back(std::move(r));
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) pool.emplace_back(worker, t);
  for (auto& th : pool) th.join();
  int64_t rows = 0, bytes = 0;
  int tables = 0;
  for (const DbResult& r : results) {
    rows += r.rows;
    bytes += r.bytes;
    tables += r.tables;
  }
  double cpu = 0;
  for (double c : thread_cpu) cpu += c;
  std::printf(
      "ceiling: %lld rows, %d tables, insert_seconds=%.2f, cpu_seconds=%.2f, db_bytes=%lld\n",
      static_cast<long long>(rows), tables,
      *std::max_element(thread_wall.begin(), thread_wall.end()), cpu,
      static_cast<long long>(bytes));
  return 0;
}
