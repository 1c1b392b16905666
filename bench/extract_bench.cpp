// bench/extract_bench.cpp: extraction throughput, driven by bench/bench_extract.sh.
//
//   extract_bench gen DIR MB   writes a pipeline folder DIR/pipeline with 4 partners whose
//                              landing archives (tar.gz, gzip -6) hold MB MiB of CSV in total,
//                              and DIR/csv_bytes with the exact CSV byte count
//   extract_bench run DIR      extracts every partner's archive and prints MB/s of uncompressed
//                              CSV for: the real `extract` builtin (store writes + fsync +
//                              manifest), and read-only passes that isolate decode (ISA-L vs
//                              libarchive's zlib filter) and the per-file checksum (xxh128 vs
//                              sha256)
// One thread throughout: the numbers are per core.
#include <archive.h>
#include <archive_entry.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "archive/checksum.h"
#include "archive/safe_reader.h"
#include "config/pipeline_config.h"
#include "store/object_store.h"
#include "tasks/extract.h"

namespace fs = std::filesystem;
using namespace sluice;

namespace {

constexpr int kPartners = 4;
constexpr int kFilesPerArchive = 4;
const char* kDate = "2026-11-24";

// Realistic-looking order rows: ids grow, amounts and statuses vary, so gzip -6 gets ~4-6x.
class RowMaker {
 public:
  explicit RowMaker(uint64_t seed) : s_(seed * 0x9E3779B97F4A7C15ull + 1) {}
  void Append(std::string* out, int64_t id) {
    static const char* kStatus[] = {"paid", "refunded", "pending", "shipped", "cancelled"};
    static const char* kCur[] = {"KRW", "USD", "EUR", "JPY"};
    char buf[256];
    uint64_t r = Next();
    int n =
        std::snprintf(buf, sizeof buf,
                      "%lld,C%07llu,%llu.%02llu,%s,%s,2026-11-%02llu %02llu:%02llu:%02llu,"
                      "\"note %llx\"\n",
                      static_cast<long long>(id), static_cast<unsigned long long>(r % 9999991),
                      static_cast<unsigned long long>((r >> 20) % 500000),
                      static_cast<unsigned long long>((r >> 8) % 100), kCur[(r >> 40) % 4],
                      kStatus[(r >> 44) % 5], static_cast<unsigned long long>(1 + (r >> 48) % 28),
                      static_cast<unsigned long long>((r >> 53) % 24),
                      static_cast<unsigned long long>((r >> 32) % 60),
                      static_cast<unsigned long long>((r >> 26) % 60),
                      static_cast<unsigned long long>(Next() & 0xffff));
    out->append(buf, static_cast<size_t>(n));
  }

 private:
  uint64_t Next() {
    s_ ^= s_ << 13;
    s_ ^= s_ >> 7;
    s_ ^= s_ << 17;
    return s_;
  }
  uint64_t s_;
};

int64_t WriteArchive(const fs::path& path, int partner, int64_t bytes) {
  struct archive* a = archive_write_new();
  archive_write_set_format_gnutar(a);
  archive_write_add_filter_gzip(a);
  archive_write_set_filter_option(a, "gzip", "compression-level", "6");
  if (archive_write_open_filename(a, path.c_str()) != ARCHIVE_OK) {
    std::fprintf(stderr, "cannot write %s: %s\n", path.c_str(), archive_error_string(a));
    std::exit(1);
  }
  RowMaker rows(static_cast<uint64_t>(partner) + 7);
  int64_t total = 0, id = 1;
  for (int f = 0; f < kFilesPerArchive; ++f) {
    std::string csv = "order_id,customer_id,amount,currency,status,ordered_at,note\n";
    csv.reserve(static_cast<size_t>(bytes / kFilesPerArchive + 256));
    while (static_cast<int64_t>(csv.size()) < bytes / kFilesPerArchive) rows.Append(&csv, id++);
    struct archive_entry* e = archive_entry_new();
    std::string name = "export/orders_" + std::to_string(f + 1) + ".csv";
    archive_entry_copy_pathname(e, name.c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, static_cast<la_int64_t>(csv.size()));
    archive_write_header(a, e);
    archive_write_data(a, csv.data(), csv.size());
    archive_entry_free(e);
    total += static_cast<int64_t>(csv.size());
  }
  archive_write_close(a);
  archive_write_free(a);
  return total;
}

std::string PartnerId(int i) { return "p" + std::to_string(i); }

int Gen(const fs::path& dir, int64_t mb) {
  fs::path pipe = dir / "pipeline";
  fs::create_directories(pipe);
  std::ofstream(pipe / "sluice.yaml") << "name: bench\nstore: file://./data\n";
  std::ofstream(pipe / "workflow.yaml") << "name: bench\ntasks:\n  - task_key: extract\n    "
                                           "builtin: extract\n    for_each: partner\n";
  for (int i = 0; i < kPartners; ++i) {
    fs::path pd = pipe / "partners" / PartnerId(i);
    fs::create_directories(pd / "schemas");
    std::ofstream(pd / "partner.yaml") << "id: " << PartnerId(i) << "\narchive: \"" << PartnerId(i)
                                       << "_{date:%Y%m%d}.tar.gz\"\ntables:\n  orders: {file: "
                                          "\"orders*.csv\"}\n";
    std::ofstream(pd / "schemas/orders.json")
        << R"({"table": "orders", "columns": [{"name": "order_id", "type": "int64"}]})";
    fs::create_directories(pipe / "data/landing" / PartnerId(i) / kDate);
  }
  int64_t per = (mb << 20) / kPartners;
  std::vector<int64_t> totals(kPartners);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kPartners; i += 2) {
        totals[i] = WriteArchive(
            pipe / "data/landing" / PartnerId(i) / kDate / (PartnerId(i) + "_20261124.tar.gz"), i,
            per);
      }
    });
  }
  for (auto& th : threads) th.join();
  int64_t sum = 0;
  for (int64_t t : totals) sum += t;
  std::ofstream(dir / "csv_bytes") << sum << "\n";
  return 0;
}

double CpuSeconds() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

void Report(const char* what, int64_t bytes, double wall, double cpu) {
  double mb = static_cast<double>(bytes) / 1e6;
  std::printf("  %-48s %6.0f MB/s wall  %6.0f MB/s cpu  (%.2f s wall, %.2f s cpu)\n", what,
              mb / wall, mb / cpu, wall, cpu);
}

class NullSink final : public archive::EntrySink {
 public:
  explicit NullSink(const char* checksum) : algo_(checksum) {}
  Result<bool> Begin(const archive::EntryInfo&) override {
    if (algo_ == nullptr) return false;
    sum_ = std::move(archive::MakeChecksum(algo_).value());
    return true;
  }
  Status Data(std::string_view chunk) override {
    sum_->Update(chunk.data(), chunk.size());
    return Status::Ok();
  }
  Status End() override {
    (void)sum_->Finish();
    return Status::Ok();
  }

 private:
  const char* algo_;
  std::unique_ptr<archive::Checksum> sum_;
};

int Run(const fs::path& dir) {
  auto pipeline = config::LoadPipeline(dir / "pipeline");
  if (!pipeline.ok()) {
    std::fprintf(stderr, "%s\n", pipeline.status().ToString().c_str());
    return 1;
  }
  int64_t csv_bytes = 0;
  std::ifstream(dir / "csv_bytes") >> csv_bytes;
  auto store = store::OpenStore(pipeline->settings.store, pipeline->dir);
  if (!store.ok()) return 1;

  // Read-only passes: decode + every safety check, then the per-file checksum, no writes.
  struct Pass {
    const char* name;
    bool isal;
    const char* archive_checksum;
    const char* file_checksum;
  };
  for (const Pass& pass :
       {Pass{"read+check, libarchive zlib (baseline)", false, "xxh128", nullptr},
        Pass{"read+check, ISA-L, archive sha256", true, "sha256", nullptr},
        Pass{"read+check, ISA-L, archive xxh128", true, "xxh128", nullptr},
        Pass{"read+check, ISA-L, archive+files sha256", true, "sha256", "sha256"},
        Pass{"read+check, ISA-L, archive+files xxh128", true, "xxh128", "xxh128"}}) {
    auto t0 = std::chrono::steady_clock::now();
    double c0 = CpuSeconds();
    int64_t out = 0;
    for (int i = 0; i < kPartners; ++i) {
      std::string key =
          "landing/" + PartnerId(i) + "/" + kDate + "/" + PartnerId(i) + "_20261124.tar.gz";
      auto in = (*store)->Open(key);
      if (!in.ok()) return 1;
      archive::ReadOptions o;
      o.archive_name = key;
      o.use_isal = pass.isal;
      o.checksum = pass.archive_checksum;
      NullSink sink(pass.file_checksum);
      store::InputStream* src = in->get();
      auto stats =
          archive::ReadArchive([src](char* b, size_t n) { return src->Read(b, n); }, o, &sink);
      if (!stats.ok()) {
        std::fprintf(stderr, "%s\n", stats.status().ToString().c_str());
        return 1;
      }
      out += stats->uncompressed_bytes;
    }
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    Report(pass.name, out, wall, CpuSeconds() - c0);
  }

  // The real builtin: staging writes, fsync, publish, manifest.
  auto t0 = std::chrono::steady_clock::now();
  double c0 = CpuSeconds();
  for (int i = 0; i < kPartners; ++i) {
    tasks::TaskContext ctx;
    ctx.pipeline = &*pipeline;
    ctx.task = pipeline->workflow.Find("extract");
    ctx.run_id = "bench";
    ctx.date = Date{2026, 11, 24};
    ctx.partner = PartnerId(i);
    Status st = tasks::ExtractPartner(ctx, store->get());
    if (!st.ok()) {
      std::fprintf(stderr, "%s\n", st.ToString().c_str());
      return 1;
    }
  }
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  Report("extract builtin -> file:// store (xxh128, fsync)", csv_bytes, wall, CpuSeconds() - c0);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::strcmp(argv[1], "gen") == 0) return Gen(argv[2], std::atoll(argv[3]));
  if (argc == 3 && std::strcmp(argv[1], "run") == 0) return Run(argv[2]);
  std::fprintf(stderr, "usage: extract_bench gen DIR MB | extract_bench run DIR\n");
  return 2;
}
