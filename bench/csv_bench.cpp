// bench/csv_bench.cpp: tokenizer alone, and tokenize + header mapping + typed validation, on
// generated order-like CSV held in memory, beside a memchr line count of the same bytes (the
// memory-bandwidth ceiling) measured in the same run.
// Then cp949 (Korean) text to UTF-8: csv::MakeUtf8Source beside glibc's iconv over the same bytes
// in 1 MiB calls (its best case) and beside iconv called once per run of non-ASCII characters
// (what the decoder did before it read iconv's mapping into a table). Then UTF-16LE to UTF-8
// beside iconv, on mostly-ASCII and on Korean text.
// Times are CPU seconds of the benchmark thread (one core).
// Usage: csv_bench [MB]   (default 256; SLUICE_BENCH_MB works too)
#include <iconv.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "csv/conform.h"
#include "csv/encoding.h"
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

// `in` converted whole by glibc's iconv (test data only: no error handling needed).
std::string IconvAll(const std::string& in, const char* from, const char* to) {
  iconv_t cd = iconv_open(to, from);
  std::string out(in.size() * 4 + 16, '\0');
  char* ip = const_cast<char*>(in.data());
  char* op = out.data();
  size_t il = in.size(), ol = out.size();
  iconv(cd, &ip, &il, &op, &ol);
  iconv_close(cd);
  out.resize(out.size() - ol);
  return out;
}

// CPU seconds csv::MakeUtf8Source(`encoding`) takes to decode `data` through *out; *bytes gets
// the UTF-8 size.
double TimeMakeUtf8Source(const std::string& data, const char* encoding, std::vector<char>* out,
                          size_t* bytes) {
  csv::StringSource src(data);
  auto decoded = csv::MakeUtf8Source(&src, encoding);
  if (!decoded.ok()) {
    std::printf("%s\n", decoded.status().ToString().c_str());
    std::exit(1);
  }
  double t0 = CpuNow();
  size_t total = 0;
  while (size_t n = *(*decoded)->Read(out->data(), out->size())) total += n;
  *bytes = total;
  return CpuNow() - t0;
}

// The same with glibc's iconv from `from`, 512 KiB per call (its best case).
double TimeIconvBulk(const std::string& data, const char* from, std::vector<char>* out,
                     size_t* bytes) {
  iconv_t cd = iconv_open("UTF-8", from);
  double t0 = CpuNow();
  size_t total = 0;
  for (size_t pos = 0; pos < data.size();) {
    size_t chunk = std::min(data.size() - pos, size_t{1} << 19);
    char* ip = const_cast<char*>(data.data()) + pos;
    size_t il = chunk;
    char* op = out->data();
    size_t ol = out->size();
    iconv(cd, &ip, &il, &op, &ol);  // may stop inside a character: the rest comes next
    pos += chunk - il;
    total += out->size() - ol;
  }
  double seconds = CpuNow() - t0;
  iconv_close(cd);
  *bytes = total;
  return seconds;
}

// cp949 rows of Korean names, cities and notes, about `mb` MB.
std::string Cp949Rows(double mb) {
  const char* utf8_words[] = {"김민준",
                              "서울특별시",
                              "부산",
                              "배송 전 연락 바랍니다",
                              "이서연",
                              "대전광역시",
                              "문 앞에 놓아 주세요",
                              "박지호",
                              "인천",
                              "똠방각하"};
  std::vector<std::string> words;
  for (const char* w : utf8_words) words.push_back(IconvAll(w, "UTF-8", "CP949"));
  std::string data = "id,name,city,note\n";
  uint32_t x = 7;
  for (int64_t id = 1; static_cast<double>(data.size()) < mb * 1e6; ++id) {
    data += std::to_string(id);
    for (int f = 0; f < 3; ++f) {
      x = x * 1103515245 + 12345;
      data += ',';
      data += words[(x >> 16) % words.size()];
    }
    data += '\n';
  }
  return data;
}

int DecodeCp949(double mb_target) {
  const std::string data = Cp949Rows(mb_target);
  const double mb = static_cast<double>(data.size()) / 1e6;
  std::vector<char> out(size_t{1} << 20);
  double best_sluice = 1e30, best_bulk = 1e30, best_runs = 1e30;
  size_t sluice_bytes = 0, bulk_bytes = 0;
  for (int rep = 0; rep < 3; ++rep) {
    best_sluice = std::min(best_sluice, TimeMakeUtf8Source(data, "cp949", &out, &sluice_bytes));
    best_bulk = std::min(best_bulk, TimeIconvBulk(data, "CP949", &out, &bulk_bytes));
    {
      iconv_t cd = iconv_open("UTF-8", "CP949");
      double t0 = CpuNow();
      char* op = out.data();
      size_t ol = out.size();
      for (size_t i = 0; i < data.size();) {
        if (static_cast<unsigned char>(data[i]) < 0x80) {
          if (ol < 8) op = out.data(), ol = out.size();
          *op++ = data[i++];
          --ol;
          continue;
        }
        size_t j = i;
        while (j < data.size() && static_cast<unsigned char>(data[j]) >= 0x80) j += 2;
        if (ol < 64) op = out.data(), ol = out.size();
        char* ip = const_cast<char*>(data.data()) + i;
        size_t il = std::min(j, data.size()) - i;
        iconv(cd, &ip, &il, &op, &ol);
        i = std::min(j, data.size());
      }
      best_runs = std::min(best_runs, CpuNow() - t0);
      iconv_close(cd);
    }
  }
  std::printf("\ncp949 (Korean text) to UTF-8, %.1f MB:\n", mb);
  std::printf("%-36s %9.1f MB/s\n", "baseline: iconv, 512 KiB per call", mb / best_bulk);
  std::printf("%-36s %9.1f MB/s\n", "baseline: iconv per non-ASCII run", mb / best_runs);
  std::printf("%-36s %9.1f MB/s  (%.2fx iconv per call)\n", "csv::MakeUtf8Source(cp949)",
              mb / best_sluice, best_bulk / best_sluice);
  if (sluice_bytes != bulk_bytes) {
    std::printf("output size mismatch: %zu vs %zu\n", sluice_bytes, bulk_bytes);
    return 1;
  }
  return 0;
}

// UTF-16LE (Excel's "Unicode text") to UTF-8: csv::MakeUtf8Source beside glibc's iconv in
// 512 KiB calls, over `utf8` (the benchmark's CSV, mostly ASCII) and Korean rows.
int DecodeUtf16(const std::string& utf8, const char* what) {
  const std::string data = IconvAll(utf8, "UTF-8", "UTF-16LE");
  const double mb = static_cast<double>(data.size()) / 1e6;
  std::vector<char> out(size_t{1} << 20);
  double best_sluice = 1e30, best_bulk = 1e30;
  size_t sluice_bytes = 0, bulk_bytes = 0;
  for (int rep = 0; rep < 3; ++rep) {
    best_sluice = std::min(best_sluice, TimeMakeUtf8Source(data, "utf-16le", &out, &sluice_bytes));
    best_bulk = std::min(best_bulk, TimeIconvBulk(data, "UTF-16LE", &out, &bulk_bytes));
  }
  std::printf("\nutf-16le (%s) to UTF-8, %.1f MB of UTF-16:\n", what, mb);
  std::printf("%-36s %9.1f MB/s\n", "baseline: iconv, 512 KiB per call", mb / best_bulk);
  std::printf("%-36s %9.1f MB/s  (%.2fx iconv per call)\n", "csv::MakeUtf8Source(utf-16le)",
              mb / best_sluice, best_bulk / best_sluice);
  if (sluice_bytes != bulk_bytes || sluice_bytes != utf8.size()) {
    std::printf("output size mismatch: %zu vs %zu vs %zu\n", sluice_bytes, bulk_bytes, utf8.size());
    return 1;
  }
  return 0;
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
  if (int rc = DecodeCp949(target_mb / 4); rc != 0) return rc;
  data.resize(std::min(data.size(), static_cast<size_t>(target_mb / 4 * 1e6)));
  data.resize(data.rfind('\n') + 1);
  if (int rc = DecodeUtf16(data, "the CSV above"); rc != 0) return rc;
  // The Korean rows, decoded back to UTF-8 first.
  const std::string korean = Cp949Rows(target_mb / 8);
  csv::StringSource src(korean);
  auto utf8 = csv::MakeUtf8Source(&src, "cp949");
  if (!utf8.ok()) return 1;
  std::string text;
  std::vector<char> buf(size_t{1} << 20);
  while (size_t got = *(*utf8)->Read(buf.data(), buf.size())) text.append(buf.data(), got);
  return DecodeUtf16(text, "Korean rows");
}
