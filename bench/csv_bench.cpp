// bench/csv_bench.cpp: tokenizer alone, and tokenize + header mapping + typed validation, on
// generated order-like CSV held in memory, beside a memchr line count of the same bytes (the
// memory-bandwidth ceiling) measured in the same run.
// Times are CPU seconds of the benchmark thread (one core).
// Usage: csv_bench [MB]   (default 256; SLUICE_BENCH_MB works too)
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "csv/conform.h"
#include "csv/tokenizer.h"
#include "csv_gen.h"

using namespace sluice;

namespace {

// CPU time of this thread: the targets are per core, and this machine's cores are shared with
// other work, which would otherwise show up as noise in wall-clock numbers.
double CpuNow() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void Report(const char* name, double mb, int64_t rows, double secs, double baseline_mbs) {
  std::printf("%-36s %9.1f MB/s %12.0f rows/s  (%5.1f%% of the memchr baseline)\n", name, mb / secs,
              static_cast<double>(rows) / secs, 100.0 * (mb / secs) / baseline_mbs);
}

}  // namespace

int main(int argc, char** argv) {
  double target_mb = 256;
  if (const char* env = std::getenv("SLUICE_BENCH_MB")) target_mb = std::atof(env);
  if (argc > 1) target_mb = std::atof(argv[1]);
  std::string data = bench::kCsvHeader;
  data.reserve(static_cast<size_t>(target_mb * 1e6) + 1024);
  bench::GenRow row;
  int64_t n = 0;
  while (data.size() < target_mb * 1e6) {
    bench::MakeRow(n++, &row);
    bench::AppendCsv(row, &data);
  }
  const double mb = static_cast<double>(data.size()) / 1e6;
  std::printf("csv_bench: %.1f MB of CSV, %lld rows, %.1f bytes/row\n", mb,
              static_cast<long long>(n), static_cast<double>(data.size()) / n);

  double best_base = 1e9, best_tok = 1e9, best_conv = 1e9;
  int64_t rows_tok = 0, rows_conv = 0, rejected = 0;
  for (int rep = 0; rep < 3; ++rep) {
    {
      double t0 = CpuNow();
      int64_t lines = 0;
      const char* p = data.data();
      const char* end = p + data.size();
      while ((p = static_cast<const char*>(std::memchr(p, '\n', end - p))) != nullptr) {
        ++lines;
        ++p;
      }
      best_base = std::min(best_base, (CpuNow() - t0));
      if (lines != n + 1) std::printf("line count mismatch\n");
    }
    {
      csv::StringSource src(data);
      csv::Tokenizer tok(&src, {});
      csv::Record rec;
      double t0 = CpuNow();
      int64_t rows = 0;
      size_t fields = 0;
      while (*tok.Next(&rec)) {
        ++rows;
        fields += rec.fields.size();
      }
      best_tok = std::min(best_tok, (CpuNow() - t0));
      rows_tok = rows - 1;
      if (fields != static_cast<size_t>(rows) * 7) std::printf("field count mismatch\n");
    }
    {
      config::TableSchema schema = bench::OrdersSchema();
      config::CsvDialect dialect;
      csv::StringSource src(data);
      csv::Tokenizer tok(&src, {});
      csv::Record rec;
      double t0 = CpuNow();
      if (!*tok.Next(&rec)) return 1;
      auto rc = csv::RowConverter::Create(schema, dialect, &rec.fields);
      if (!rc.ok()) {
        std::printf("%s\n", rc.status().ToString().c_str());
        return 1;
      }
      csv::Diagnostic diag;
      int64_t rows = 0, bad = 0;
      while (*tok.Next(&rec)) {
        ++rows;
        if (!(*rc)->Convert(rec, &diag)) ++bad;
      }
      best_conv = std::min(best_conv, (CpuNow() - t0));
      rows_conv = rows;
      rejected = bad;
    }
  }
  const double base_mbs = mb / best_base;
  std::printf("%-36s %9.1f MB/s\n", "baseline: memchr line count", base_mbs);
  Report("tokenizer alone", mb, rows_tok, best_tok, base_mbs);
  Report("tokenize + map + typed validation", mb, rows_conv, best_conv, base_mbs);
  if (rejected != 0) std::printf("unexpected rejects: %lld\n", static_cast<long long>(rejected));
  std::printf("targets: tokenizer >= 1000 MB/s, tokenize+map+validate >= 400 MB/s\n");
  return 0;
}
