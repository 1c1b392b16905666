// Tests of the embedded example folder and the sample-data generator. Archives are read back
// with libarchive and cp949 text with iconv, independently of the code under test.
#include "example/sample_data.h"

#include <archive.h>
#include <archive_entry.h>
#include <fnmatch.h>
#include <gtest/gtest.h>
#include <iconv.h>

#include <map>
#include <set>

#include "config/pipeline_config.h"
#include "core/strings.h"
#include "csv/conform.h"
#include "csv/encoding.h"
#include "csv/tokenizer.h"
#include "example/example_files.h"
#include "testing/pipeline_fixture.h"
#include "testing/temp_dir.h"

namespace sluice::example {
namespace {

namespace fs = std::filesystem;
using testing::ReadFile;
using testing::TempDir;

// Every member of an archive, by name, in archive order.
std::vector<std::pair<std::string, std::string>> ReadArchive(const fs::path& path) {
  std::vector<std::pair<std::string, std::string>> out;
  archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_all(a);
  EXPECT_EQ(archive_read_open_filename(a, path.c_str(), 1 << 16), ARCHIVE_OK) << path;
  archive_entry* entry;
  while (archive_read_next_header(a, &entry) == ARCHIVE_OK) {
    std::string data;
    char buf[1 << 16];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0)
      data.append(buf, static_cast<size_t>(n));
    EXPECT_GE(n, 0) << archive_error_string(a);
    out.emplace_back(archive_entry_pathname(entry), std::move(data));
  }
  archive_read_free(a);
  return out;
}

std::string Member(const fs::path& archive, const std::string& name) {
  for (auto& [n, data] : ReadArchive(archive)) {
    if (n == name) return data;
  }
  ADD_FAILURE() << name << " not in " << archive;
  return "";
}

std::string FromCp949(const std::string& bytes) {
  iconv_t cd = iconv_open("UTF-8", "CP949");
  std::string out(bytes.size() * 2 + 16, '\0');
  char* in = const_cast<char*>(bytes.data());
  size_t in_left = bytes.size();
  char* dst = out.data();
  size_t dst_left = out.size();
  size_t r = iconv(cd, &in, &in_left, &dst, &dst_left);
  iconv_close(cd);
  EXPECT_NE(r, static_cast<size_t>(-1)) << "not valid cp949";
  out.resize(out.size() - dst_left);
  return out;
}

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n') + 1); }

size_t CountLines(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

config::Pipeline LoadExample(const TempDir& dir, int partners = 0) {
  auto written = WriteExampleFolder(dir.path(), {.partners = partners});
  EXPECT_TRUE(written.ok()) << written.status().ToString();
  auto pipeline = config::LoadPipeline(dir.path());
  EXPECT_TRUE(pipeline.ok()) << pipeline.status().ToString();
  return std::move(pipeline).value();
}

SampleDataOptions Options(int64_t rows, uint64_t seed = 7) {
  SampleDataOptions o;
  o.date = Date{2026, 11, 24};
  o.seed = seed;
  o.rows = rows;
  return o;
}

TEST(ExampleFolder, EmbedsTheSeedWorkflowAndFourPartners) {
  TempDir dir;
  config::Pipeline p = LoadExample(dir);
  EXPECT_EQ(ExamplePartnerIds(), (std::vector<std::string>{"acme", "globex", "hanbit", "initech"}));
  ASSERT_EQ(p.partners.size(), 4u);
  std::vector<std::string> keys;
  for (const auto& t : p.workflow.tasks) keys.push_back(t.task_key);
  EXPECT_EQ(keys, (std::vector<std::string>{"pre_set_date", "wait_for_all_sources", "batch_extract",
                                            "merge_table_1", "merge_table_2", "merge_table_3",
                                            "merge_summary", "post_merge_check"}));
  for (const auto& t : p.workflow.tasks) {
    EXPECT_EQ(t.max_retries, 3) << t.task_key;
    EXPECT_EQ(t.timeout_seconds, t.task_key == "batch_extract" ? 7200 : 3600) << t.task_key;
  }
  const config::TaskConfig* extract = p.workflow.Find("batch_extract");
  EXPECT_TRUE(extract->for_each_partner);
  EXPECT_EQ(extract->depends_on, std::vector<std::string>{"wait_for_all_sources"});
  for (const char* m : {"merge_table_1", "merge_table_2", "merge_table_3"}) {
    EXPECT_EQ(p.workflow.Find(m)->depends_on, std::vector<std::string>{"batch_extract"}) << m;
    EXPECT_EQ(p.workflow.Find(m)->builtin, "merge");
  }
  EXPECT_EQ(p.workflow.Find("merge_summary")->depends_on,
            (std::vector<std::string>{"merge_table_1", "merge_table_2", "merge_table_3"}));
  EXPECT_EQ(p.FindPartner("hanbit")->csv.encoding, "cp949");
}

TEST(ExampleFolder, RefusesANonEmptyFolderUnlessForced) {
  TempDir dir;
  dir.Write("notes.txt", "mine");
  auto r = WriteExampleFolder(dir.path());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(r.status().message().find("--force"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir / "sluice.yaml"));  // nothing half-written
  auto forced = WriteExampleFolder(dir.path(), {.force = true});
  ASSERT_TRUE(forced.ok()) << forced.status().ToString();
  EXPECT_TRUE(fs::exists(dir / "sluice.yaml"));
  EXPECT_EQ(ReadFile(dir / "notes.txt"), "mine");
}

TEST(ExampleFolder, RefusesAFileInPlaceOfTheFolder) {
  TempDir dir;
  fs::path file = dir.Write("file", "x");
  EXPECT_FALSE(WriteExampleFolder(file).ok());
}

TEST(ExampleFolder, WidensToMorePartnersByCopyingUnderNewIds) {
  TempDir dir;
  config::Pipeline p = LoadExample(dir, 6);
  std::vector<std::string> ids;
  for (const auto& [id, _] : p.partners) ids.push_back(id);
  EXPECT_EQ(
      ids, (std::vector<std::string>{"acme", "acme-2", "globex", "globex-2", "hanbit", "initech"}));
  EXPECT_EQ(p.FindPartner("globex-2")->name, "Globex Corporation (copy 2)");
  EXPECT_EQ(p.FindPartner("globex-2")->csv.delimiter, ';');
  TempDir two;
  EXPECT_EQ(LoadExample(two, 2).partners.size(), 2u);
}

TEST(SampleData, SameSeedGivesByteIdenticalArchives) {
  TempDir dir;
  config::Pipeline p = LoadExample(dir);
  SampleDataOptions a = Options(300);
  a.landing_dir = dir / "a";
  SampleDataOptions b = a;
  b.landing_dir = dir / "b";
  b.threads = 1;  // thread count must not matter either
  SampleDataOptions c = a;
  c.landing_dir = dir / "c";
  c.seed = 8;
  auto ra = GenerateSampleData(p, a);
  auto rb = GenerateSampleData(p, b);
  auto rc = GenerateSampleData(p, c);
  ASSERT_TRUE(ra.ok()) << ra.status().ToString();
  ASSERT_TRUE(rb.ok() && rc.ok());
  ASSERT_EQ(ra->archives.size(), 4u);
  for (size_t i = 0; i < ra->archives.size(); ++i) {
    std::string x = ReadFile(ra->archives[i].path);
    EXPECT_FALSE(x.empty());
    EXPECT_EQ(x, ReadFile(rb->archives[i].path)) << ra->archives[i].partner;
    EXPECT_NE(x, ReadFile(rc->archives[i].path)) << ra->archives[i].partner;
  }
}

TEST(SampleData, WritesArchivesAndMarkersIntoTheStoresLandingArea) {
  TempDir dir;
  config::Pipeline p = LoadExample(dir);
  auto r = GenerateSampleData(p, Options(100));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  fs::path landing = dir / "data/landing";
  EXPECT_EQ(r->archives[0].path, landing / "acme/2026-11-24/acme_20261124.tar.gz");
  EXPECT_TRUE(fs::exists(landing / "acme/2026-11-24/_SUCCESS"));
  EXPECT_TRUE(fs::exists(landing / "globex/2026-11-24/globex_export_2026-11-24.tar.gz"));
  EXPECT_TRUE(fs::exists(landing / "hanbit/2026-11-24/HANBIT_20261124.zip"));
  EXPECT_TRUE(fs::exists(landing / "initech/2026-11-24/initech-2026-11-24.tar.gz"));
  EXPECT_FALSE(fs::exists(landing / "initech/2026-11-24/_SUCCESS"));  // stable_seconds partner
  // Nothing but archives and markers is left behind (no temporary files).
  size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(landing)) files += e.is_regular_file();
  EXPECT_EQ(files, 7u);
  // Each archive holds one file per table, named to match the table's glob.
  for (const GeneratedArchive& a : r->archives) {
    auto members = ReadArchive(a.path);
    ASSERT_EQ(members.size(), 3u) << a.partner;
    const config::PartnerConfig* partner = p.FindPartner(a.partner);
    for (size_t i = 0; i < members.size(); ++i) {
      EXPECT_EQ(fnmatch(partner->tables[i].file.c_str(), members[i].first.c_str(), 0), 0)
          << members[i].first;
      EXPECT_EQ(static_cast<int64_t>(members[i].second.size()), a.tables[i].csv_bytes);
      EXPECT_EQ(CountLines(members[i].second), 101u) << a.partner << " " << members[i].first;
    }
  }
}

TEST(SampleData, AcmeIsPlainUtf8WithSchemaHeaders) {
  TempDir dir;
  config::Pipeline p = LoadExample(dir);
  ASSERT_TRUE(GenerateSampleData(p, Options(1000)).ok());
  std::string orders =
      Member(dir / "data/landing/acme/2026-11-24/acme_20261124.tar.gz", "orders_20261124.csv");
  EXPECT_EQ(FirstLine(orders), "order_id,customer_id,amount,currency,status,ordered_at,note\n");
  EXPECT_EQ(orders.find('\r'), std::string::npos);
  EXPECT_TRUE(IsValidUtf8(orders));
  // A note with a quote and a comma is quoted the CSV way.
  EXPECT_NE(orders.find("\"ring \"\"twice\"\", then wait\""), std::string::npos);
}

TEST(SampleData, GlobexHasBomCrlfAliasesShuffledColumnsAndAnExtraColumn) {
  TempDir dir;
  config::Pipeline p = LoadExample(dir);
  ASSERT_TRUE(GenerateSampleData(p, Options(200)).ok());
  std::string orders =
      Member(dir / "data/landing/globex/2026-11-24/globex_export_2026-11-24.tar.gz",
             "Orders_20261124.csv");
  ASSERT_TRUE(orders.starts_with("\xEF\xBB\xBF"));
  std::string header = FirstLine(orders.substr(3));
  ASSERT_TRUE(header.ends_with("\r\n")) << header;
  std::vector<std::string> columns = Split(header.substr(0, header.size() - 2), ';');
  std::set<std::string> got(columns.begin(), columns.end());
  EXPECT_EQ(got, (std::set<std::string>{"OrderID", "CustomerID", "Order Amount", "Currency",
                                        "Order Status", "Order Date", "Comment", "coupon_code"}));
  EXPECT_NE(columns.front(), "OrderID");  // not in schema order
  EXPECT_EQ(CountLines(orders),
            static_cast<size_t>(std::count(orders.begin(), orders.end(), '\r')));
}

TEST(SampleData, HanbitIsCp949WithKoreanHeadersAndText) {
  TempDir dir;
  config::Pipeline p = LoadExample(dir);
  ASSERT_TRUE(GenerateSampleData(p, Options(200)).ok());
  std::string raw = Member(dir / "data/landing/hanbit/2026-11-24/HANBIT_20261124.zip",
                           "hanbit_customers_20261124.csv");
  EXPECT_FALSE(IsValidUtf8(raw));  // really cp949 on the wire, not UTF-8
  std::string text = FromCp949(raw);
  EXPECT_EQ(FirstLine(text), "고객번호,고객명,이메일,도시,전화번호,가입일,우수고객\r\n");
  EXPECT_NE(text.find("서울"), std::string::npos);
}

TEST(SampleData, InitechLeavesOutOptionalColumnsAndReversesTheOrder) {
  TempDir dir;
  config::Pipeline p = LoadExample(dir);
  ASSERT_TRUE(GenerateSampleData(p, Options(200)).ok());
  fs::path archive = dir / "data/landing/initech/2026-11-24/initech-2026-11-24.tar.gz";
  EXPECT_EQ(FirstLine(Member(archive, "orders_20261124.csv")),
            "ordered_at|status|currency|amount|customer_id|order_id\n");
  EXPECT_EQ(FirstLine(Member(archive, "customers_20261124.csv")),
            "vip|signup_date|city|email|name|customer_id\n");
}

TEST(SampleData, BadRowsStayBelowTheRejectRatio) {
  TempDir dir;
  config::Pipeline p = LoadExample(dir);
  auto small = GenerateSampleData(p, Options(50));  // 50 rows * 0.02 / 2 < 1: no bad rows
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(small->TotalBadRows(), 0);
  SampleDataOptions again = Options(2000);
  again.overwrite = true;  // the same date's archives are generated a second time
  auto big = GenerateSampleData(p, again);
  ASSERT_TRUE(big.ok());
  // acme 2, globex 3, hanbit 2, initech 4 per table, three tables each.
  EXPECT_EQ(big->TotalBadRows(), 3 * (2 + 3 + 2 + 4));
  std::string products =
      Member(dir / "data/landing/acme/2026-11-24/acme_20261124.tar.gz", "products_20261124.csv");
  EXPECT_NE(products.find("\n,"), std::string::npos);  // a row without its key
}

TEST(SampleData, APartnerWithoutAProfileGetsPlainDefaults) {
  TempDir dir;
  testing::WriteSamplePipeline(dir);
  auto p = config::LoadPipeline(dir.path());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  auto r = GenerateSampleData(*p, Options(20));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::string orders =
      Member(dir / "data/landing/globex/2026-11-24/globex_20261124.tar.gz", "orders_20261124.csv");
  EXPECT_EQ(FirstLine(orders), "order_id,amount,status\n");
  EXPECT_EQ(CountLines(orders), 21u);
  EXPECT_TRUE(fs::exists(dir / "data/landing/globex/2026-11-24/_SUCCESS"));
}

TEST(SampleData, ValuesFollowTheSchemasNumberNotationsAndTimeFormats) {
  // A partner whose schema reads German numbers, 12-hour US timestamps and month names: the
  // generated files must load under that schema without a reject.
  TempDir dir;
  testing::WriteSamplePipeline(dir);
  dir.Write("partners/acme/schemas/orders.json", R"JSON({"table": "orders", "columns": [
    {"name": "order_id", "type": "int64", "nullable": false, "thousands_separator": "."},
    {"name": "amount", "type": "decimal(12,2)", "decimal_separator": ",",
     "thousands_separator": "."},
    {"name": "ratio", "type": "float64", "decimal_separator": ","},
    {"name": "ordered_at", "type": "timestamp", "format": ["%m/%d/%Y %I:%M:%S %p", "%Y"]},
    {"name": "shipped", "type": "date", "format": "%d-%b-%Y"},
    {"name": "stamp", "type": "timestamp", "format": "%d %B %Y %H:%M:%S.%f%z"},
    {"name": "epoch", "type": "timestamp", "format": "%s"}],
    "primary_key": ["order_id"], "merge": "upsert"})JSON");
  auto p = config::LoadPipeline(dir.path());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  auto r = GenerateSampleData(*p, Options(3000));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const std::string orders =
      Member(dir / "data/landing/acme/2026-11-24/acme_20261124.tar.gz", "orders_20261124.csv");
  csv::StringSource src(orders);
  csv::Tokenizer tok(&src, {});
  csv::Record rec;
  ASSERT_TRUE(*tok.Next(&rec));
  const config::TableSchema& schema = p->partners.at("acme").schemas.at("orders");
  auto rc = csv::RowConverter::Create(schema, p->partners.at("acme").csv, &rec.fields);
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  int64_t rows = 0, pm = 0, rejected = 0;
  csv::Diagnostic d;
  std::string reasons;
  while (*tok.Next(&rec)) {
    ++rows;
    if (!(*rc)->Convert(rec, &d)) {
      ++rejected;
      reasons += std::to_string(d.line) + ": " + d.column + ": " + d.message + "\n";
    }
    pm += rec.raw.find(" PM\"") != std::string_view::npos ||
          rec.raw.find(" PM,") != std::string_view::npos;
  }
  // Only the deliberately bad rows (a few per table) are rejected.
  ASSERT_EQ(r->archives.front().partner, "acme");
  const int64_t bad = r->archives.front().tables.front().bad_rows;
  EXPECT_EQ(rejected, bad) << reasons;
  EXPECT_GT(bad, 0);
  EXPECT_EQ(rows, 3000);
  EXPECT_GT(pm, 0);
  EXPECT_NE(orders.find(".000,"), std::string::npos);  // grouped keys such as 1.000
  EXPECT_NE(orders.find("-Nov-2026"), std::string::npos) << orders.substr(0, 400);
}

TEST(SampleData, ACompositeKeyInterleavesGroupsLikeAnEventLogAndStaysUnique) {
  // A text + integer key (device, sequence number), as event logs are keyed: rows in file order
  // cycle through the devices, each device's numbers ascend, and no key repeats.
  TempDir dir;
  testing::WriteSamplePipeline(dir);
  dir.Write("partners/acme/schemas/orders.json", R"JSON({"table": "orders", "columns": [
    {"name": "device_id", "type": "string", "nullable": false, "max_length": 32},
    {"name": "event_seq", "type": "int64", "nullable": false},
    {"name": "amount", "type": "decimal(12,2)"}],
    "primary_key": ["device_id", "event_seq"], "merge": "upsert"})JSON");
  auto p = config::LoadPipeline(dir.path());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  SampleDataOptions options = Options(2500);
  options.partners = {"acme"};
  auto r = GenerateSampleData(*p, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const std::string orders =
      Member(dir / "data/landing/acme/2026-11-24/acme_20261124.tar.gz", "orders_20261124.csv");
  csv::StringSource src(orders);
  csv::Tokenizer tok(&src, {});
  csv::Record rec;
  ASSERT_TRUE(*tok.Next(&rec));
  ASSERT_EQ(rec.fields.size(), 3u);
  EXPECT_EQ(rec.fields[0], "device_id");
  std::set<std::pair<std::string, std::string>> keys;
  std::map<std::string, int64_t> last_seq;
  int64_t rows = 0, complete = 0, ascending = 0;
  std::string first_device, second_device;
  while (*tok.Next(&rec)) {
    ++rows;
    if (rec.fields.size() != 3 || rec.fields[0].empty() || rec.fields[1].empty()) continue;
    ++complete;
    const std::string device(rec.fields[0]), seq(rec.fields[1]);
    if (rows == 1) first_device = device;
    if (rows == 2) second_device = device;
    EXPECT_TRUE(device.starts_with("DEV-")) << device;
    keys.emplace(device, seq);
    const int64_t n = std::stoll(seq);
    auto it = last_seq.find(device);
    if (it != last_seq.end() && n > it->second) ++ascending;
    last_seq[device] = n;
  }
  EXPECT_EQ(rows, 2500);
  EXPECT_EQ(static_cast<int64_t>(keys.size()), complete);  // no key twice
  EXPECT_NE(first_device, second_device);                  // consecutive rows: other devices
  EXPECT_EQ(last_seq.size(), 1000u);                       // 2,500 rows over 1,000 devices
  EXPECT_EQ(ascending, complete - static_cast<int64_t>(last_seq.size()));
}

TEST(SampleData, FilesAreInThePartnersEncodingAndLoadBack) {
  // Every encoding family: the generated bytes decode (BOM or label) and only the deliberately
  // bad rows are rejected.
  for (const char* encoding : {"utf-16", "utf-16be", "windows-1252", "shift_jis", "cp949"}) {
    TempDir dir;
    testing::WriteSamplePipeline(dir);
    std::string yaml = testing::PartnerYaml("acme");
    yaml.replace(yaml.find("encoding: utf-8"), 15,
                 std::string("encoding: ") + encoding + ", skip_lines: 1");
    dir.Write("partners/acme/partner.yaml", yaml);
    dir.Write("partners/acme/sample_data.yaml", "text: korean\n");
    auto p = config::LoadPipeline(dir.path());
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    auto r = GenerateSampleData(*p, Options(2000));
    ASSERT_TRUE(r.ok()) << encoding << ": " << r.status().ToString();
    const std::string raw =
        Member(dir / "data/landing/acme/2026-11-24/acme_20261124.tar.gz", "orders_20261124.csv");
    const bool utf16 = std::string_view(encoding).starts_with("utf-16");
    EXPECT_EQ(raw.starts_with("\xFF\xFE"), std::string_view(encoding) == "utf-16") << encoding;
    if (utf16) {
      EXPECT_EQ(raw.size() % 2, 0u);
    }
    csv::StringSource bytes(raw);
    auto decoded = csv::MakeUtf8Source(&bytes, encoding);
    ASSERT_TRUE(decoded.ok());
    csv::Tokenizer tok(decoded->get(), {});
    csv::Record rec;
    ASSERT_TRUE(*tok.Next(&rec));  // the line skip_lines skips
    EXPECT_EQ(rec.fields.size(), 1u) << encoding;
    ASSERT_TRUE(*tok.Next(&rec));
    auto rc = csv::RowConverter::Create(p->partners.at("acme").schemas.at("orders"),
                                        p->partners.at("acme").csv, &rec.fields);
    ASSERT_TRUE(rc.ok()) << encoding << ": " << rc.status().ToString();
    int64_t rows = 0, rejected = 0;
    csv::Diagnostic d;
    while (*tok.Next(&rec)) {
      ++rows;
      rejected += !(*rc)->Convert(rec, &d);
    }
    EXPECT_EQ(rows, 2000) << encoding;
    EXPECT_EQ(rejected, r->archives.front().tables.front().bad_rows) << encoding;
  }
}

TEST(SampleData, ABadProfileNamesFileLineAndReason) {
  TempDir dir;
  config::Pipeline p = LoadExample(dir);
  dir.Write("partners/acme/sample_data.yaml", "line_ending: lf\ncolumn_order: sideways\n");
  p = config::LoadPipeline(dir.path()).value();
  auto r = GenerateSampleData(p, Options(10));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().ToString().find("partners/acme/sample_data.yaml:2"), std::string::npos)
      << r.status().ToString();
  EXPECT_NE(r.status().ToString().find("sideways"), std::string::npos);

  dir.Write("partners/acme/sample_data.yaml", "omit_columns: [order_id]\n");
  SampleDataOptions again = Options(10);
  again.overwrite = true;  // the first call wrote the other partners' archives
  r = GenerateSampleData(p, again);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("not nullable"), std::string::npos) << r.status().ToString();
}

TEST(SampleData, RefusesAStoreThatIsNotAFolder) {
  TempDir dir;
  config::Pipeline p = LoadExample(dir);
  p.settings.store = "s3://bucket/prefix";
  auto r = GenerateSampleData(p, Options(10));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("file://"), std::string::npos);
  p.settings.store = "file://./data";
  EXPECT_FALSE(GenerateSampleData(p, Options(0)).ok());
}

}  // namespace
}  // namespace sluice::example
