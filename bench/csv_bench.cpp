// bench/csv_bench.cpp: tokenizer alone, and tokenize + header mapping + typed validation, on
// generated order-like CSV held in memory, beside a memchr line count of the same bytes (the
// memory-bandwidth ceiling) measured in the same run.
// Then cp949 (Korean) text to UTF-8: csv::MakeUtf8Source beside glibc's iconv over the same bytes
// in 1 MiB calls (its best case) and beside iconv called once per run of non-ASCII characters
// (what the decoder did before it read iconv's mapping into a table). Then UTF-16LE to UTF-8
// beside iconv, on mostly-ASCII and on Korean text.
// Then the same rows as JSON lines (`format: ndjson`): the simdjson reader alone, and read + map +
// typed validation through the same RowConverter, beside the CSV path. Then the same rows as an
// Excel sheet (`format: xlsx`): unzip + SAX + the same conversion.
// Times are CPU seconds of the benchmark thread (one core).
// Usage: csv_bench [MB]   (default 256; SLUICE_BENCH_MB works too)
#include <archive.h>
#include <archive_entry.h>
#include <iconv.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "csv/conform.h"
#include "csv/encoding.h"
#include "csv/ndjson_reader.h"
#include "csv/tokenizer.h"
#include "csv/xlsx_reader.h"
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

// JSON lines (`format: ndjson`) of the same rows: csv::NdjsonReader + RowConverter, the merge's
// path for such tables, beside the CSV path's MB/s measured above (`csv_mbs`).
int ConformNdjson(double target_mb, double csv_mbs) {
  std::string data;
  data.reserve(static_cast<size_t>(target_mb * 1e6) + 1024);
  bench::GenRow row;
  int64_t n = 0;
  while (data.size() < target_mb * 1e6) {
    bench::MakeRow(n++, &row);
    bench::AppendJson(row, &data);
  }
  const double mb = static_cast<double>(data.size()) / 1e6;
  const config::TableSchema schema = bench::OrdersSchema();
  const config::CsvDialect dialect;
  double best_read = 1e9, best_conv = 1e9;
  int64_t rows = 0, bad = 0;
  csv::Diagnostic diag;
  for (int rep = 0; rep < 3; ++rep) {
    {
      csv::StringSource src(data);
      csv::NdjsonReader reader(&src, {});
      csv::Record rec;
      double t0 = CpuNow();
      int64_t count = 0;
      while (*reader.Next(&rec)) ++count;
      best_read = std::min(best_read, CpuNow() - t0);
      if (count != n) std::printf("ndjson row count mismatch\n");
    }
    csv::StringSource src(data);
    csv::NdjsonReader reader(&src, {});
    csv::Record rec;
    std::unique_ptr<csv::RowConverter> rc;
    int64_t version = -1;
    double t0 = CpuNow();
    rows = bad = 0;
    while (*reader.Next(&rec)) {
      if (reader.field_names_version() != version) {
        version = reader.field_names_version();
        auto made = csv::RowConverter::Create(schema, dialect, reader.field_names(), true);
        if (!made.ok()) {
          std::printf("%s\n", made.status().ToString().c_str());
          return 1;
        }
        rc = std::move(*made);
      }
      ++rows;
      if (!rc->Convert(rec, &diag)) ++bad;
    }
    best_conv = std::min(best_conv, CpuNow() - t0);
  }
  std::printf("\nJSON lines (format: ndjson), the same rows: %.1f MB, %.1f bytes/row\n", mb,
              static_cast<double>(data.size()) / static_cast<double>(n));
  std::printf("%-36s %9.1f MB/s %12.0f rows/s\n", "ndjson reader alone (simdjson)", mb / best_read,
              static_cast<double>(rows) / best_read);
  std::printf("%-36s %9.1f MB/s %12.0f rows/s  (CSV path above: %.1f MB/s)\n",
              "ndjson read + map + typed validation", mb / best_conv,
              static_cast<double>(rows) / best_conv, csv_mbs);
  std::printf("target: ndjson read+map+validate >= 300 MB/s\n");
  if (bad != 0) {
    std::printf("unexpected ndjson rejects: %lld (%s)\n", static_cast<long long>(bad),
                diag.message.c_str());
    return 1;
  }
  return 0;
}

// The same rows as an Excel sheet (`format: xlsx`): customer and status as shared strings, note
// as an inline string, ordered_at as a serial day number (a date cell), the rest numbers;
// zipped (deflate) in memory with libarchive. csv::XlsxReader + RowConverter beside the CSV
// path's rows/s (`csv_rows_per_s`). About `mb_target` MB of sheet XML.
int ConformXlsx(double mb_target, double csv_rows_per_s) {
  std::vector<std::string> shared;
  std::string sheet =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?><worksheet "
      "xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData><row "
      "r=\"1\">";
  for (const char* h : {"order_id", "customer", "amount", "qty", "ordered_at", "status", "note"}) {
    sheet += std::string("<c t=\"inlineStr\"><is><t>") + h + "</t></is></c>";
  }
  sheet += "</row>";
  std::map<std::string, size_t> index;
  auto shared_index = [&](const std::string& text) {
    auto [it, added] = index.emplace(text, shared.size());
    if (added) shared.push_back(text);
    return std::to_string(it->second);
  };
  bench::GenRow row;
  int64_t n = 0;
  while (static_cast<double>(sheet.size()) < mb_target * 1e6) {
    bench::MakeRow(n, &row);
    const int64_t r = n + 2;
    ++n;
    // ordered_at "2026-MM-DD HH:MM:SS" as a 1900-system serial number.
    const int month = std::atoi(row.ordered_at.c_str() + 5),
              day = std::atoi(row.ordered_at.c_str() + 8);
    const int hh = std::atoi(row.ordered_at.c_str() + 11),
              mm = std::atoi(row.ordered_at.c_str() + 14),
              ss = std::atoi(row.ordered_at.c_str() + 17);
    static const int kBefore[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    const double serial =
        46023 + kBefore[month - 1] + (day - 1) + (hh * 3600 + mm * 60 + ss) / 86400.0;
    char serial_text[32];
    std::snprintf(serial_text, sizeof serial_text, "%.10g", serial);
    std::string note;
    for (char c : row.note) note += c == '"' ? std::string("&quot;") : std::string(1, c);
    sheet += "<row r=\"" + std::to_string(r) + "\"><c><v>" + std::to_string(row.order_id) +
             "</v></c><c t=\"s\"><v>" + shared_index(row.customer) + "</v></c><c><v>" + row.amount +
             "</v></c><c><v>" + std::to_string(row.qty) + "</v></c><c s=\"1\"><v>" + serial_text +
             "</v></c><c t=\"s\"><v>" + shared_index(row.status) +
             "</v></c><c t=\"inlineStr\"><is><t>" + note + "</t></is></c></row>";
  }
  sheet += "</sheetData></worksheet>";
  std::string sst = "<sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">";
  for (const std::string& text : shared) sst += "<si><t>" + text + "</t></si>";
  sst += "</sst>";
  const std::vector<std::pair<std::string, std::string>> parts = {
      {"xl/workbook.xml",
       "<workbook xmlns:r=\"r\"><sheets><sheet name=\"Orders\" sheetId=\"1\" "
       "r:id=\"rId1\"/></sheets></workbook>"},
      {"xl/_rels/workbook.xml.rels",
       "<Relationships><Relationship Id=\"rId1\" Target=\"worksheets/sheet1.xml\"/>"
       "</Relationships>"},
      {"xl/sharedStrings.xml", sst},
      {"xl/worksheets/sheet1.xml", sheet}};
  std::string zip(sheet.size() + sst.size() + (size_t{1} << 20), '\0');
  size_t used = 0;
  archive* a = archive_write_new();
  archive_write_set_format_zip(a);
  archive_write_open_memory(a, zip.data(), zip.size(), &used);
  for (const auto& [name, content] : parts) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_write_header(a, e);
    archive_write_data(a, content.data(), content.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  zip.resize(used);
  const config::TableSchema schema = bench::OrdersSchema();
  const config::CsvDialect dialect;
  double best = 1e9;
  int64_t rows = 0, bad = 0;
  csv::Diagnostic diag;
  for (int rep = 0; rep < 3; ++rep) {
    double t0 = CpuNow();
    auto reader = csv::XlsxReader::Open(
        [&]() -> Result<std::unique_ptr<csv::ByteSource>> {
          return std::unique_ptr<csv::ByteSource>(new csv::StringSource(zip));
        },
        {});
    if (!reader.ok()) {
      std::printf("%s\n", reader.status().ToString().c_str());
      return 1;
    }
    csv::Record rec;
    if (!*(*reader)->Next(&rec)) return 1;
    auto rc = csv::RowConverter::Create(schema, dialect, &rec.fields);
    if (!rc.ok()) {
      std::printf("%s\n", rc.status().ToString().c_str());
      return 1;
    }
    rows = bad = 0;
    while (true) {
      auto has = (*reader)->Next(&rec);
      if (!has.ok()) {
        std::printf("%s\n", has.status().ToString().c_str());
        return 1;
      }
      if (!*has) break;
      ++rows;
      if (!(*rc)->Convert(rec, &diag)) ++bad;
    }
    best = std::min(best, CpuNow() - t0);
  }
  std::printf(
      "\nExcel sheet (format: xlsx), the same rows: %.1f MB of sheet XML, %.1f MB zipped, "
      "%zu shared strings\n",
      static_cast<double>(sheet.size()) / 1e6, static_cast<double>(zip.size()) / 1e6,
      shared.size());
  std::printf("%-36s %9.1f MB/s %12.0f rows/s  (CSV path above: %.0f rows/s)\n",
              "xlsx unzip + SAX + map + validation", static_cast<double>(sheet.size()) / 1e6 / best,
              static_cast<double>(rows) / best, csv_rows_per_s);
  if (bad != 0 || rows != n) {
    std::printf("unexpected xlsx rejects: %lld of %lld (%s)\n", static_cast<long long>(bad),
                static_cast<long long>(rows), diag.message.c_str());
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
  if (int rc = ConformNdjson(target_mb, mb / best_conv); rc != 0) return rc;
  if (int rc = ConformXlsx(target_mb / 4, static_cast<double>(rows_conv) / best_conv); rc != 0)
    return rc;
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
