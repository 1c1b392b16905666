// Resource bounds (docs/reliability.md "Resource bounds"): an extract and a merge hold memory
// bounded by configuration whatever the input, and fail cleanly at their limit: a field longer
// than csv.max_record_bytes, a header wider than csv.max_columns, an archive of more members than
// limits.max_entries. Each test delivers a generated archive (streamed through libarchive, never
// whole in memory) to a one-partner pipeline, runs `sluice run` and checks: exit 1, an error
// naming the file, its line or member, and the limit; nothing half-written (no table rows, no raw
// files of a refused archive); and the peak RSS of the whole run (every process, from wait4)
// below a bound that does not grow with the input.
//
// make test uses small limits and inputs a few times past them. SLUICE_BOUNDS_REAL=1 runs the
// issue's inputs once with the default limits: a 2 GiB single-line field, 10 million tiny
// members (docs/reliability.md has the figures).
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "faults/fault_run_util.h"
#include "testing/run_command.h"
#include "testing/temp_dir.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::ReadFile;
using testing::TempDir;

constexpr const char* kDay = "2026-11-24";

bool RealInputs() {
  const char* v = std::getenv("SLUICE_BOUNDS_REAL");
  return v != nullptr && std::string(v) == "1";
}

// A one-partner pipeline (acme, table orders, extract then merge, no retries) with `csv` and
// `limits` lines added to partner.yaml.
void WritePipeline(const TempDir& dir, const std::string& csv_extra,
                   const std::string& limits = "") {
  dir.Write("sluice.yaml",
            "name: bounds\ntimezone: UTC\nstore: file://./data\nwarehouse: sqlite://./warehouse\n"
            "ledger: sqlite://./state/ledger.db\nparallelism: 1\n");
  dir.Write("workflow.yaml",
            "name: bounds\ntasks:\n"
            "  - task_key: batch_extract\n    builtin: extract\n    for_each: partner\n"
            "  - task_key: merge_orders\n    depends_on: [batch_extract]\n    builtin: merge\n"
            "    for_each: partner\n    params: {table: orders}\n");
  dir.Write("partners/acme/partner.yaml",
            "id: acme\nname: ACME\narchive: \"acme_{date:%Y%m%d}.tar.gz\"\n"
            "complete: {marker: _SUCCESS}\n"
            "csv: {encoding: utf-8, delimiter: \",\", header: true, null_values: [\"\"]" +
                csv_extra + "}\n" + limits + "tables:\n  orders: {file: \"orders*.csv\"}\n");
  dir.Write("partners/acme/schemas/orders.json",
            "{\"table\": \"orders\", \"columns\": ["
            "{\"name\": \"order_id\", \"type\": \"int64\", \"nullable\": false}, "
            "{\"name\": \"amount\", \"type\": \"decimal(12,2)\"}, "
            "{\"name\": \"status\", \"type\": \"string\"}], "
            "\"primary_key\": [\"order_id\"], \"merge\": \"upsert\", "
            "\"on_extra_columns\": \"rescue\"}\n");
}

// One archive member whose bytes come from `produce`, called until it returns false; `size` must
// be their total (tar headers carry it).
struct Member {
  std::string name;
  int64_t size = 0;
  std::function<bool(std::string* chunk)> produce;
};

// Streams members (from `next`, until it returns false) into landing/acme/<day>/ as a tar.gz,
// then the completion marker.
void WriteDelivery(const TempDir& dir, const std::function<bool(Member*)>& next) {
  const fs::path folder = dir / ("data/landing/acme/" + std::string(kDay));
  fs::create_directories(folder);
  const fs::path path = folder / "acme_20261124.tar.gz";
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_add_filter_gzip(a);
  archive_write_set_filter_option(a, "gzip", "compression-level", "1");
  ASSERT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK) << archive_error_string(a);
  archive_entry* e = archive_entry_new();
  Member m;
  std::string chunk;
  while (next(&m)) {
    archive_entry_clear(e);
    archive_entry_set_pathname(e, m.name.c_str());
    archive_entry_set_size(e, m.size);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_mtime(e, 1795000000, 0);
    ASSERT_EQ(archive_write_header(a, e), ARCHIVE_OK) << archive_error_string(a);
    int64_t written = 0;
    while (m.produce && m.produce(&chunk)) {
      ASSERT_EQ(archive_write_data(a, chunk.data(), chunk.size()),
                static_cast<la_ssize_t>(chunk.size()));
      written += static_cast<int64_t>(chunk.size());
    }
    ASSERT_EQ(written, m.size) << m.name;
  }
  archive_entry_free(e);
  ASSERT_EQ(archive_write_close(a), ARCHIVE_OK) << archive_error_string(a);
  archive_write_free(a);
  dir.Write("data/landing/acme/" + std::string(kDay) + "/_SUCCESS", "");
}

// Produces `text` once.
std::function<bool(std::string*)> Once(std::string text) {
  return [text = std::move(text), done = false](std::string* chunk) mutable {
    if (done) return false;
    *chunk = text;
    done = true;
    return true;
  };
}

struct Measured {
  int exit_code = -1;
  std::string output;
  int64_t max_rss_kib = 0;  // the largest resident set of the command or any process it waited for
  double seconds = 0;
};

// Runs `command` under sh; with GNU time (/usr/bin/time, Debian's `time`) also the peak RSS of
// its process tree: time's wait4 covers the command and every descendant reaped below it (sluice
// run reaps its attempts). A process forked from this test would count the test's own pages.
bool HaveGnuTime() { return access("/usr/bin/time", X_OK) == 0; }

Measured RunMeasured(const std::string& command, const fs::path& log) {
  Measured m;
  const fs::path rss = log.string() + ".rss";
  const auto started = std::chrono::steady_clock::now();
  const std::string timed =
      HaveGnuTime() ? "/usr/bin/time -f %M -o " + testing::Quoted(rss) + " " + command : command;
  auto r = testing::RunCommand(timed + " >" + testing::Quoted(log) + " 2>&1");
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  m.exit_code = r.exit_code;
  m.output = ReadFile(log);
  // The last line (GNU time puts "Command exited with non-zero status N" before it).
  std::string text = ReadFile(rss);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  if (HaveGnuTime()) m.max_rss_kib = std::atoll(text.substr(text.rfind('\n') + 1).c_str());
  return m;
}

Measured RunPipeline(const TempDir& dir) {
  return RunMeasured(testing::SluiceBinary() + " run " + testing::Quoted(dir.path()) + " --date " +
                         kDay + " --parallelism 1",
                     dir / "run.log");
}

// The error of the last attempt of task[acme], from the ledger.
std::string AttemptError(const TempDir& dir, const std::string& task) {
  const json show = testing::ShowRun(dir.path(), testing::NewestRun(dir.path()));
  for (const auto& inst : show.value("instances", json::array())) {
    if (inst.value("task", "") != task) continue;
    const auto& h = inst["history"];
    return h.empty() ? "" : h.back().value("error", "");
  }
  return "";
}

// Rows of acme's orders table (0 when the database or table does not exist).
int64_t TableRows(const TempDir& dir) {
  const fs::path db = dir / "warehouse/acme.db";
  if (!fs::exists(db)) return 0;
  auto dump = testing::DumpDatabase(db);
  auto it = dump.find("orders");
  if (it == dump.end()) return 0;
  return static_cast<int64_t>(std::count(it->second.begin(), it->second.end(), '\n')) - 1;
}

void Report(const std::string& what, const Measured& m) {
  std::cout << "[resource bounds] " << what << ": exit " << m.exit_code << ", peak RSS "
            << m.max_rss_kib / 1024 << " MiB, " << m.seconds << " s\n";
}

// The RSS every run stays under here: the ASan build's own footprint plus the limits used. The
// inputs are several times larger, so a merge or extract that buffered them would exceed it.
constexpr int64_t kRssBoundKib = 400 * 1024;

TEST(ResourceBounds, AFieldPastMaxRecordBytesFailsItsFileNamingLineAndLimitInBoundedMemory) {
  TempDir dir;
  // The real input: a 2 GiB field against the default 16 MiB. make test: 64 MiB against 1 MiB.
  const int64_t field = RealInputs() ? (int64_t{2} << 30) : (int64_t{64} << 20);
  // A field of one repeated byte compresses 1000:1: the archive's ratio limit is raised so the
  // extract lets it through to the merge.
  WritePipeline(dir, RealInputs() ? "" : ", max_record_bytes: 1MiB",
                "limits: {max_ratio: 100000}\n");
  const std::string head = "order_id,amount,status\n1,1.00,paid\n2,2.00,";
  const int64_t size = static_cast<int64_t>(head.size()) + field + 1;
  bool sent_head = false;
  int64_t left = field;
  bool tail = false;
  bool given = false;
  ASSERT_NO_FATAL_FAILURE(WriteDelivery(dir, [&](Member* m) {
    if (given) return false;
    given = true;
    m->name = "orders_20261124.csv";
    m->size = size;
    m->produce = [&](std::string* chunk) {
      if (!sent_head) {
        sent_head = true;
        *chunk = head;
        return true;
      }
      if (left > 0) {
        const int64_t n = std::min<int64_t>(left, 1 << 20);
        chunk->assign(static_cast<size_t>(n), 'x');
        left -= n;
        return true;
      }
      if (tail) return false;
      tail = true;
      *chunk = "\n";
      return true;
    };
    return true;
  }));
  const Measured run = RunPipeline(dir);
  Report(std::to_string(field >> 20) + " MiB field", run);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  const std::string error = AttemptError(dir, "merge_orders");
  EXPECT_NE(error.find("raw/acme/2026-11-24/orders_20261124.csv"), std::string::npos) << error;
  EXPECT_NE(error.find("line 3"), std::string::npos) << error;
  EXPECT_NE(error.find(RealInputs() ? "16.0 MiB" : "1.0 MiB"), std::string::npos) << error;
  EXPECT_NE(error.find("csv.max_record_bytes"), std::string::npos) << error;
  EXPECT_EQ(TableRows(dir), 0) << "nothing merged";
  EXPECT_FALSE(fs::exists(dir / "data/rejects/acme/2026-11-24/orders.csv"))
      << "no rejects file of a file that failed half-way";
  if (HaveGnuTime()) {
    EXPECT_LT(run.max_rss_kib, kRssBoundKib);
  }
}

// A header of `columns` fields (order_id, amount, status, then c4, c5, ...) and `rows` rows.
void WriteWideDelivery(const TempDir& dir, int64_t columns, int rows) {
  std::string header = "order_id,amount,status";
  for (int64_t c = 4; c <= columns; ++c) header += ",c" + std::to_string(c);
  std::string body;
  for (int r = 1; r <= rows; ++r) {
    body += std::to_string(r) + ",1.00,paid";
    for (int64_t c = 4; c <= columns; ++c) body += ",v";
    body += "\n";
  }
  const std::string text = header + "\n" + body;
  bool given = false;
  ASSERT_NO_FATAL_FAILURE(WriteDelivery(dir, [&](Member* m) {
    if (given) return false;
    given = true;
    m->name = "orders_20261124.csv";
    m->size = static_cast<int64_t>(text.size());
    m->produce = Once(text);
    return true;
  }));
}

TEST(ResourceBounds, AHeaderOf100000ColumnsFailsItsFileNamingTheLimitInBoundedMemory) {
  TempDir dir;
  WritePipeline(dir, "");  // the default csv.max_columns: 10000
  ASSERT_NO_FATAL_FAILURE(WriteWideDelivery(dir, 100000, 3));
  const Measured run = RunPipeline(dir);
  Report("100000 columns", run);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  const std::string error = AttemptError(dir, "merge_orders");
  EXPECT_NE(error.find("raw/acme/2026-11-24/orders_20261124.csv:1"), std::string::npos) << error;
  EXPECT_NE(error.find("100000 fields, more than csv.max_columns (10000)"), std::string::npos)
      << error;
  EXPECT_EQ(TableRows(dir), 0);
  if (HaveGnuTime()) {
    EXPECT_LT(run.max_rss_kib, kRssBoundKib);
  }
}

TEST(ResourceBounds, AHeaderAtTheColumnLimitLoadsItsRowsRescuingTheExtraColumnsPromptly) {
  // Naming the extra columns for the drift report compared each name with every name before it:
  // 100,000 columns kept a merge busy for more than ten minutes. 10,000 now take seconds.
  TempDir dir;
  WritePipeline(dir, "");
  ASSERT_NO_FATAL_FAILURE(WriteWideDelivery(dir, 10000, 3));
  const Measured run = RunPipeline(dir);
  Report("10000 columns (the limit), loaded", run);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(TableRows(dir), 3);
  EXPECT_LT(run.seconds, 60) << "the drift report's naming is no longer linear";
  // The drift report types every extra column from its first rows (one guesser per column):
  // ~45 KiB a column in this build, so the widest header allowed costs ~470 MiB.
  if (HaveGnuTime()) {
    EXPECT_LT(run.max_rss_kib, 700 * 1024);
  }
}

TEST(ResourceBounds, AnArchiveOfMoreMembersThanMaxEntriesIsRefusedWholeInBoundedMemory) {
  TempDir dir;
  // The real input: 10 million one-byte members against the default 10000. make test: 100,000
  // against 1,000.
  const int64_t members = RealInputs() ? 10'000'000 : 100'000;
  const int64_t limit = RealInputs() ? 10000 : 1000;
  WritePipeline(dir, "", RealInputs() ? "" : "limits: {max_entries: 1000}\n");
  int64_t i = 0;
  ASSERT_NO_FATAL_FAILURE(WriteDelivery(dir, [&](Member* m) {
    if (i >= members) return false;
    // The first member is a table's file, so the archive is not refused as matching nothing.
    m->name = i == 0 ? "orders_20261124.csv" : "parts/p" + std::to_string(i) + ".txt";
    m->size = i == 0 ? 25 : 1;
    m->produce = Once(i == 0 ? "order_id,amount,status\n1\n" : "x");
    ++i;
    return true;
  }));
  const Measured run = RunPipeline(dir);
  Report(std::to_string(members) + " members", run);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  const std::string error = AttemptError(dir, "batch_extract");
  EXPECT_NE(error.find("acme_20261124.tar.gz"), std::string::npos) << error;
  EXPECT_NE(error.find("max_entries"), std::string::npos) << error;
  EXPECT_NE(error.find("more than " + std::to_string(limit) + " entries"), std::string::npos)
      << error;
  EXPECT_NE(error.find("p" + std::to_string(limit)), std::string::npos) << "names the member";
  // Refused whole: nothing extracted, no manifest.
  EXPECT_FALSE(fs::exists(dir / "data/raw/acme/2026-11-24")) << "raw files of a refused archive";
  EXPECT_FALSE(fs::exists(dir / "data/manifests/acme/2026-11-24/extract.json"));
  if (HaveGnuTime()) {
    EXPECT_LT(run.max_rss_kib, kRssBoundKib);
  }
}

}  // namespace
}  // namespace sluice
