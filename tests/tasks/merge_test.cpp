// Tests of the merge, summary, check and sql builtins, called directly with a TaskContext built
// from a pipeline folder in a TempDir.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/strings.h"
#include "store/object_store.h"
#include "tasks/builtins.h"
#include "testing/pipeline_fixture.h"
#include "testing/temp_dir.h"
#include "warehouse/warehouse.h"

namespace sluice::tasks {
namespace {

using testing::TempDir;

const char* kDate = "2026-11-24";

class MergeTest : public ::testing::Test {
 protected:
  void SetUp() override { testing::WriteSamplePipeline(dir_); }

  // Replaces acme's orders schema.
  void Schema(const std::string& json, const std::string& partner = "acme") {
    dir_.Write("partners/" + partner + "/schemas/orders.json", json);
  }
  // acme's orders as an upsert of (order_id int64 not null, amount decimal(12,2), status) that
  // tolerates `max_reject_ratio` of bad rows.
  void UpsertOrders(const std::string& max_reject_ratio) {
    Schema(R"JSON({"table": "orders", "columns": [
    {"name": "order_id", "type": "int64", "nullable": false},
    {"name": "amount", "type": "decimal(12,2)"}, {"name": "status", "type": "string"}],
    "primary_key": ["order_id"], "merge": "upsert", "max_reject_ratio": )JSON" +
           max_reject_ratio + "}");
  }
  void PartnerCsv(const std::string& csv_line, const std::string& partner = "acme") {
    std::string yaml = testing::PartnerYaml(partner);
    auto pos = yaml.find("csv: ");
    auto end = yaml.find('\n', pos);
    yaml.replace(pos, end - pos, csv_line);
    dir_.Write("partners/" + partner + "/partner.yaml", yaml);
  }

  // Writes the partner's partner.yaml with `source` for its orders table.
  void OrdersSource(const std::string& source, const std::string& partner = "acme") {
    std::string yaml = testing::PartnerYaml(partner);
    const std::string table = "{file: \"orders*.csv\"}";
    yaml.replace(yaml.find(table), table.size(), source);
    dir_.Write("partners/" + partner + "/partner.yaml", yaml);
  }
  // Marks the partner's orders table `optional: true`.
  void OrdersOptional(const std::string& partner = "acme") {
    OrdersSource("{file: \"orders*.csv\", optional: true}", partner);
  }

  config::Pipeline& Load() {
    auto p = config::LoadPipeline(dir_.path());
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    pipeline_ = std::move(*p);
    return pipeline_;
  }

  store::ObjectStore* Store() {
    if (!store_) store_ = std::move(*store::OpenStore("file://./data", dir_.path()));
    return store_.get();
  }

  // Puts raw files and the extract manifest the merge reads.
  void Extracted(const std::vector<std::pair<std::string, std::string>>& files,
                 const std::string& partner = "acme", const std::string& table = "orders") {
    nlohmann::json m = {{"partner", partner}, {"date", date_}, {"run_id", "r1"}};
    m["files"] = nlohmann::json::array();
    for (const auto& [name, content] : files) {
      std::string key = "raw/" + partner + "/" + date_ + "/" + name;
      ASSERT_TRUE(Store()->Put(key, content).ok());
      m["files"].push_back({{"member", name},
                            {"key", key},
                            {"table", table},
                            {"bytes", content.size()},
                            {"checksum", "x"}});
    }
    ASSERT_TRUE(
        Store()->Put("manifests/" + partner + "/" + date_ + "/extract.json", m.dump()).ok());
  }

  Status Run(const std::string& builtin, const std::string& partner = "acme",
             const std::string& params_yaml = "{table: orders}", nlohmann::json* result = nullptr,
             std::function<void(const Progress&)> progress = {}) {
    Load();
    task_ = config::TaskConfig();
    task_.task_key = builtin + "_task";
    task_.builtin = builtin;
    task_.for_each_partner = !partner.empty();
    auto node = config::ParseYaml(params_yaml, "params.yaml");
    EXPECT_TRUE(node.ok()) << node.status().ToString();
    task_.params = *node;
    TaskContext ctx;
    ctx.pipeline = &pipeline_;
    ctx.task = &task_;
    ctx.run_id = "run-1";
    ctx.date = *ParseDate(date_);
    ctx.partner = partner;
    ctx.parallelism = parallelism_;
    ctx.progress = std::move(progress);
    ctx.release_slot = release_slot_;
    Status st = RunBuiltin(ctx);
    if (result) *result = ctx.result;
    return st;
  }

  std::vector<std::vector<std::optional<std::string>>> Query(const std::string& sql,
                                                             const std::string& partner = "acme") {
    auto wh = warehouse::OpenWarehouse("sqlite://./warehouse", dir_.path(), partner);
    EXPECT_TRUE(wh.ok());
    auto r = (*wh)->Query(sql);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->rows : decltype(r->rows){};
  }
  std::string Scalar(const std::string& sql) {
    auto rows = Query(sql);
    return rows.empty() || !rows[0][0] ? "NULL" : *rows[0][0];
  }

  std::string date_ = kDate;
  int parallelism_ = 0;  // the run's --parallelism the task sees (SLUICE_PARALLELISM)
  std::function<void()> release_slot_;  // TaskContext::release_slot
  TempDir dir_;
  config::Pipeline pipeline_;
  config::TaskConfig task_;
  std::unique_ptr<store::ObjectStore> store_;
};

TEST_F(MergeTest, MergesReorderedAliasedColumnsAndWritesStats) {
  Extracted({{"orders.csv", "status,amount,OrderID\npaid,12.3,1\nrefunded,0.5,2\n"}});
  nlohmann::json result;
  Status st = Run("merge", "acme", "{table: orders}", &result);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(result["rows_read"], 2);
  EXPECT_EQ(result["rows_inserted"], 2);
  EXPECT_EQ(result["rows_rejected"], 0);
  EXPECT_EQ(Scalar("SELECT amount FROM orders WHERE order_id=1"), "12.30");
  EXPECT_EQ(Scalar("SELECT l.source_file FROM orders JOIN sluice_loads l ON l.load_id = "
                   "orders._load_id WHERE order_id=2"),
            "raw/acme/2026-11-24/orders.csv");
  auto stats = Store()->Get("manifests/acme/2026-11-24/merge/orders.json");
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(nlohmann::json::parse(*stats)["rows_loaded"], 2);
  EXPECT_EQ(nlohmann::json::parse(*stats)["one_statement_per_row"], false);
}

TEST_F(MergeTest, WithParallelismOneAMergeParsesOnItsWritersThread) {
  // --parallelism 1 is one core: the merge says it used one thread, and loads the same rows.
  Extracted({{"orders.csv", "status,amount,OrderID\npaid,12.3,1\nrefunded,0.5,2\n"}});
  for (int parallelism : {1, 2, 0}) {
    parallelism_ = parallelism;
    ::testing::internal::CaptureStderr();
    Status st = Run("merge");
    const std::string log = ::testing::internal::GetCapturedStderr();
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_EQ(log.find("parsed and written on one thread (--parallelism 1)") != std::string::npos,
              parallelism == 1)
        << parallelism << ": " << log;
    EXPECT_EQ(Scalar("SELECT group_concat(order_id || ':' || amount) FROM orders"),
              "1:12.30,2:0.50");
  }
}

TEST_F(MergeTest, ALargeMergeGivesItsSlotBackBeforeItCommitsButNotWhenItFailsOrWithParallelismOne) {
  // 5,000 rows of ~1 KiB: over the 4 MiB from which a merge gives its slot back early.
  UpsertOrders("0.1");  // status without a length limit
  auto orders = [](bool half_bad) {
    std::string csv = "order_id,amount,status\n";
    for (int i = 0; i < 5000; ++i) {
      csv += (half_bad && i % 2 ? std::string("bad") : std::to_string(i)) + ",1.5," +
             std::string(1000, 'p') + "\n";
    }
    return csv;
  };
  int releases = 0;
  // What the release says: every row is added and only the commit and closing files remain
  // (another connection sees none of the rows yet, nor the stats).
  release_slot_ = [&] {
    ++releases;
    EXPECT_EQ(Scalar("SELECT count(*) FROM orders"), "0");
    EXPECT_FALSE(Store()->Get("manifests/acme/2026-11-24/merge/orders.json").ok());
  };
  parallelism_ = 2;
  Extracted({{"orders.csv", orders(false)}});
  ASSERT_TRUE(Run("merge").ok());
  EXPECT_EQ(releases, 1);
  EXPECT_EQ(Scalar("SELECT count(*) FROM orders"), "5000");
  release_slot_ = [&] { ++releases; };
  parallelism_ = 1;  // one core: the next attempt waits for this one's end
  ASSERT_TRUE(Run("merge").ok());
  EXPECT_EQ(releases, 1);
  parallelism_ = 2;
  Extracted({{"orders.csv", orders(true)}});
  ASSERT_FALSE(Run("merge").ok());  // over max_reject_ratio: fails before the commit
  EXPECT_EQ(releases, 1);
  // A small merge commits and closes in a few milliseconds: it keeps its slot.
  Extracted({{"orders.csv", "order_id,amount,status\n1,12.3,paid\n2,0.5,refunded\n"}});
  ASSERT_TRUE(Run("merge").ok());
  EXPECT_EQ(releases, 1);
}

TEST_F(MergeTest, BadRowsGoToRejectsWithLineColumnAndReason) {
  UpsertOrders("0.7");
  Extracted(
      {{"orders.csv",
        "order_id,amount,status\n1,1.00,a\nx,2.00,b\n3,12,5,c\n4,\"multi\nline\",d\n5,5,e\n"}});
  nlohmann::json result;
  ASSERT_TRUE(Run("merge", "acme", "{table: orders}", &result).ok());
  EXPECT_EQ(result["rows_read"], 5);
  EXPECT_EQ(result["rows_loaded"], 2);
  EXPECT_EQ(result["rows_rejected"], 3);
  auto rejects = Store()->Get("rejects/acme/2026-11-24/orders.csv");
  ASSERT_TRUE(rejects.ok());
  EXPECT_NE(rejects->find("raw/acme/2026-11-24/orders.csv,3,order_id,\"type: \"\"x\"\" is not an "
                          "int64\",\"x,2.00,b\""),
            std::string::npos)
      << *rejects;
  EXPECT_NE(rejects->find(",4,,\"field_count: expected 3 fields, found 4\""), std::string::npos);
  EXPECT_NE(rejects->find(",5,amount,"), std::string::npos) << *rejects;
}

TEST_F(MergeTest, OverMaxRejectRatioNothingIsMerged) {
  Extracted({{"orders.csv", "order_id,amount,status\n1,1.00,a\nbad,2.00,b\n"}});
  nlohmann::json result;
  Status st = Run("merge", "acme", "{table: orders}", &result);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.ToString().find("max_reject_ratio"), std::string::npos) << st.ToString();
  EXPECT_NE(st.ToString().find("partner acme"), std::string::npos) << st.ToString();
  EXPECT_EQ(Scalar("SELECT count(*) FROM orders"), "0");
  EXPECT_TRUE(Store()->Get("rejects/acme/2026-11-24/orders.csv").ok());
  EXPECT_EQ(result["status"], "failed");
}

TEST_F(MergeTest, UnterminatedQuoteAtEndIsAFileErrorNamingFileAndLine) {
  Extracted({{"orders.csv", "order_id,amount,status\n1,1.00,a\n2,\"3.00,b\n"}});
  Status st = Run("merge");
  ASSERT_FALSE(st.ok());
  std::string s = st.ToString();
  EXPECT_NE(s.find("raw/acme/2026-11-24/orders.csv"), std::string::npos) << s;
  EXPECT_NE(s.find("line 3"), std::string::npos) << s;
  EXPECT_NE(s.find("table orders"), std::string::npos) << s;
  EXPECT_EQ(Scalar("SELECT count(*) FROM orders"), "0");
}

TEST_F(MergeTest, DuplicateHeaderIsAFileError) {
  Extracted({{"orders.csv", "order_id,amount,Amount\n1,1.00,2.00\n"}});
  Status st = Run("merge");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.ToString().find("duplicate header"), std::string::npos) << st.ToString();
  EXPECT_NE(st.ToString().find("orders.csv:1"), std::string::npos) << st.ToString();
}

TEST_F(MergeTest, CrlfBomAndQuotedNewlinesLoad) {
  Extracted({{"orders.csv",
              "\xEF\xBB\xBForder_id,amount,status\r\n1,1.00,\"two\r\nlines\"\r\n2,2.00,x\r\n"}});
  ASSERT_TRUE(Run("merge").ok());
  EXPECT_EQ(Scalar("SELECT status FROM orders WHERE order_id=1"), "two\r\nlines");
  EXPECT_EQ(Scalar("SELECT count(*) FROM orders"), "2");
}

TEST_F(MergeTest, Cp949FileWithKoreanText) {
  PartnerCsv("csv: {encoding: cp949, delimiter: \",\", header: true}");
  // status "서울" in CP949.
  Extracted({{"orders.csv", "order_id,amount,status\n1,1.00,\xBC\xAD\xBF\xEF\n"}});
  Status st = Run("merge");
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Scalar("SELECT status FROM orders"), "서울");
}

// Text in UTF-16 (little-endian, two bytes per ASCII character), the way Excel's "Unicode
// text" saves it.
std::string Utf16Le(std::string_view ascii_or_utf8) {
  std::string out;
  for (size_t i = 0; i < ascii_or_utf8.size();) {
    const auto c = static_cast<unsigned char>(ascii_or_utf8[i]);
    uint32_t cp = c;
    size_t n = 1;
    if (c >= 0xF0) {
      cp = c & 0x07, n = 4;
    } else if (c >= 0xE0) {
      cp = c & 0x0F, n = 3;
    } else if (c >= 0xC0) {
      cp = c & 0x1F, n = 2;
    }
    for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (ascii_or_utf8[i + k] & 0x3F);
    i += n;
    auto unit = [&](uint32_t u) {
      out.push_back(static_cast<char>(u & 0xFF));
      out.push_back(static_cast<char>(u >> 8));
    };
    if (cp >= 0x10000) {
      unit(0xD800 + ((cp - 0x10000) >> 10));
      unit(0xDC00 + ((cp - 0x10000) & 0x3FF));
    } else {
      unit(cp);
    }
  }
  return out;
}

TEST_F(MergeTest, Utf16TabSeparatedTextLoadsWithLineNumbers) {
  PartnerCsv("csv: {encoding: utf-16, delimiter: \"\\t\", header: true}");
  UpsertOrders("0.5");
  Extracted({{"orders.txt", "\xFF\xFE" + Utf16Le("order_id\tamount\tstatus\r\n1\t1.00\t서울\r\n"
                                                 "2\tnot a number\tx\r\n3\t3.00\tcafé 😀\r\n")}});
  nlohmann::json result;
  Status st = Run("merge", "acme", "{table: orders}", &result);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Scalar("SELECT status FROM orders WHERE order_id=1"), "서울");
  EXPECT_EQ(Scalar("SELECT status FROM orders WHERE order_id=3"), "café 😀");
  EXPECT_EQ(result["rows_rejected"], 1);
  auto rejects = Store()->Get("rejects/acme/2026-11-24/orders.csv");
  ASSERT_TRUE(rejects.ok());
  EXPECT_NE(rejects->find("orders.txt,3,amount,"), std::string::npos) << *rejects;
  EXPECT_NE(rejects->find("2\tnot a number\tx"), std::string::npos) << *rejects;
}

TEST_F(MergeTest, AByteOrderMarkOverridesTheDeclaredEncoding) {
  // Declared cp949, delivered as UTF-16 with its mark: the mark says what the bytes are.
  PartnerCsv("csv: {encoding: cp949, delimiter: \",\", header: true}");
  Extracted({{"orders.csv", "\xFF\xFE" + Utf16Le("order_id,amount,status\n1,1.00,서울\n")}});
  Status st = Run("merge");
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Scalar("SELECT status FROM orders"), "서울");
}

TEST_F(MergeTest, Windows1252SmartQuotesAndEuro) {
  PartnerCsv("csv: {encoding: windows-1252, delimiter: \";\", header: true}");
  // 0x81 is undefined in windows-1252: that row is rejected, and the rejects file shows the
  // byte the file had (not the decoder's marker).
  Extracted({{"orders.csv",
              "order_id;amount;status\n1;1.00;\x93paid\x94 \x80\n"
              "2;2.00;A\x81"
              "B\n3;3.00;ok\n4;4.00;ok\n"}});
  UpsertOrders("0.5");
  Status st = Run("merge");
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Scalar("SELECT status FROM orders WHERE order_id = 1"),
            "\xE2\x80\x9Cpaid\xE2\x80\x9D \xE2\x82\xAC");
  auto rejects = Store()->Get("rejects/acme/2026-11-24/orders.csv");
  ASSERT_TRUE(rejects.ok());
  EXPECT_NE(rejects->find(",3,status,encoding: invalid bytes for encoding windows-1252,"
                          "2;2.00;A\\x81B\n"),
            std::string::npos)
      << *rejects;
}

TEST_F(MergeTest, GermanNumbersWithSemicolons) {
  PartnerCsv("csv: {encoding: windows-1252, delimiter: \";\", header: true}");
  Schema(R"JSON({"table": "orders", "columns": [
    {"name": "order_id", "type": "int64", "nullable": false, "thousands_separator": "."},
    {"name": "amount", "type": "decimal(12,2)", "decimal_separator": ",",
     "thousands_separator": "."}, {"name": "status", "type": "string"}],
    "primary_key": ["order_id"], "merge": "upsert", "max_reject_ratio": 0.5})JSON");
  Extracted({{"orders.csv",
              "order_id;amount;status\n1.001;1.234,5;bezahlt \x80\n"
              "2;7,25;offen\n3;1.5;falsch\n"}});
  nlohmann::json result;
  Status st = Run("merge", "acme", "{table: orders}", &result);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Scalar("SELECT amount || ' ' || status FROM orders WHERE order_id=1001"),
            "1234.50 bezahlt €");
  EXPECT_EQ(Scalar("SELECT amount FROM orders WHERE order_id=2"), "7.25");
  EXPECT_EQ(result["rows_rejected"], 1);
  auto rejects = Store()->Get("rejects/acme/2026-11-24/orders.csv");
  ASSERT_TRUE(rejects.ok());
  EXPECT_NE(rejects->find("orders.csv,4,amount,"), std::string::npos) << *rejects;
}

TEST_F(MergeTest, TsvDumpWithoutQuotingKeepsQuotesAsText) {
  PartnerCsv("csv: {delimiter: \"\\t\", quote: none, header: true}");
  Extracted({{"orders.csv",
              "order_id\tamount\tstatus\n1\t1.00\t\"Big\" deal\n2\t2.00\t\"\n"
              "3\t3.00\t5\" tv\n"}});
  Status st = Run("merge");
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Scalar("SELECT group_concat(status, '|') FROM (SELECT status FROM orders ORDER BY "
                   "order_id)"),
            "\"Big\" deal|\"|5\" tv");
}

TEST_F(MergeTest, ExcelSepLineIsSkippedOrNamesTheWrongDelimiter) {
  PartnerCsv("csv: {delimiter: \";\", header: true}");
  Extracted({{"orders.csv", "sep=;\r\norder_id;amount;status\r\n1;1.00;a\r\n2;x;b\r\n"}});
  nlohmann::json result;
  Status st = Run("merge", "acme", "{table: orders}", &result);
  ASSERT_FALSE(st.ok());  // one bad row of two is over the ratio: the line number is what counts
  auto rejects = Store()->Get("rejects/acme/2026-11-24/orders.csv");
  ASSERT_TRUE(rejects.ok());
  EXPECT_NE(rejects->find("orders.csv,4,amount,"), std::string::npos) << *rejects;
  Extracted({{"orders.csv", "sep=;\r\norder_id;amount;status\r\n1;1.00;a\r\n"}});
  st = Run("merge", "acme", "{table: orders}", &result);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Scalar("SELECT status FROM orders WHERE order_id=1"), "a");
  PartnerCsv("csv: {delimiter: \",\", header: true}");
  st = Run("merge");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.ToString().find("raw/acme/2026-11-24/orders.csv:1"), std::string::npos)
      << st.ToString();
  EXPECT_NE(st.ToString().find("\"sep=;\" (Excel's delimiter line) names a delimiter other than "
                               "csv.delimiter \",\""),
            std::string::npos)
      << st.ToString();
}

TEST_F(MergeTest, SkipLinesDropsAReportTitleAboveTheHeader) {
  PartnerCsv("csv: {delimiter: \",\", header: true, skip_lines: 2}");
  UpsertOrders("0.5");
  Extracted({{"orders.csv",
              "Orders report, all regions\nGenerated 2026-11-24 03:00\n\n"
              "order_id,amount,status\n1,1.00,a\n2,x,b\n3,3.00,c\n"}});
  nlohmann::json result;
  Status st = Run("merge", "acme", "{table: orders}", &result);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Scalar("SELECT count(*) FROM orders"), "2");
  auto rejects = Store()->Get("rejects/acme/2026-11-24/orders.csv");
  ASSERT_TRUE(rejects.ok());
  EXPECT_NE(rejects->find("orders.csv,6,amount,"), std::string::npos) << *rejects;
  // A file shorter than the lines to skip has no header: like an empty file, an error (the
  // table is not optional), and the rows loaded before stay.
  Extracted({{"orders.csv", "Orders report\n"}});
  st = Run("merge", "acme", "{table: orders}", &result);
  ASSERT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  EXPECT_NE(st.message().find("the file has no header line after the 2 line(s) csv.skip_lines "
                              "drops"),
            std::string::npos)
      << st.message();
  EXPECT_EQ(Scalar("SELECT count(*) FROM orders"), "2");
}

TEST_F(MergeTest, AFileAnEarlierTablesPatternTookIsNamedWithTheFix) {
  // partner.yaml lists orders ("orders*.csv") first: extract gave orders_extra.csv to orders.
  std::string yaml = testing::PartnerYaml("acme");
  yaml += "  orders_extra: {file: \"orders_extra*.csv\"}\n";
  dir_.Write("partners/acme/partner.yaml", yaml);
  std::string extra = testing::kOrdersSchema;
  extra.replace(extra.find("\"orders\""), 8, "\"orders_extra\"");
  dir_.Write("partners/acme/schemas/orders_extra.json", extra);
  Extracted({{"orders.csv", "order_id,amount,status\n1,1.00,a\n"},
             {"orders_extra.csv", "order_id,amount,status\n2,2.00,b\n"}});
  Status st = Run("merge", "acme", "{table: orders_extra}");
  ASSERT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  EXPECT_NE(st.message().find("\"orders_extra.csv\" matches the pattern but went to table orders, "
                              "whose pattern comes first in partner.yaml and matches it too: list "
                              "orders_extra before orders, or make the patterns exclusive."),
            std::string::npos)
      << st.message();
}

TEST_F(MergeTest, ARedeliveryAfterTheExtractIsNotMergedFromTheOldFiles) {
  // The extract took a 7-byte archive; the partner has since sent a corrected one.
  ASSERT_TRUE(Store()->Put("landing/acme/2026-11-24/acme_20261124.tar.gz", "archive").ok());
  auto head = Store()->Head("landing/acme/2026-11-24/acme_20261124.tar.gz");
  ASSERT_TRUE(head.ok());
  Extracted({{"orders.csv", "order_id,amount,status\n1,1.00,a\n"}});
  auto manifest = nlohmann::json::parse(*Store()->Get("manifests/acme/2026-11-24/extract.json"));
  manifest["archive"] = {{"key", "landing/acme/2026-11-24/acme_20261124.tar.gz"},
                         {"bytes", head->size},
                         {"mtime_ms", head->mtime_ms}};
  ASSERT_TRUE(Store()->Put("manifests/acme/2026-11-24/extract.json", manifest.dump()).ok());
  Status st = Run("merge");
  ASSERT_TRUE(st.ok()) << st.ToString();  // unchanged: merged as usual

  ASSERT_TRUE(
      Store()->Put("landing/acme/2026-11-24/acme_20261124.tar.gz", "corrected archive").ok());
  st = Run("merge");
  ASSERT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  EXPECT_NE(st.message().find("the partner delivered again: "
                              "landing/acme/2026-11-24/acme_20261124.tar.gz changed after it was "
                              "extracted (now 17 bytes; extracted: 7 bytes)"),
            std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find(" --tasks batch_extract --downstream --partners acme"),
            std::string::npos)
      << st.message();
  // Cleaned out of landing after the extract: nothing newer waits, the merge goes on.
  ASSERT_TRUE(Store()->Delete("landing/acme/2026-11-24/acme_20261124.tar.gz").ok());
  EXPECT_TRUE(Run("merge").ok());
}

TEST_F(MergeTest, ARecordLongerThanTheLimitNamesItsLineAndTheSettingThatRaisesIt) {
  const std::string note(3000, 'n');  // no quote anywhere: a long field, not an open quote
  Schema(R"JSON({"table": "orders", "columns": [
    {"name": "order_id", "type": "int64", "nullable": false},
    {"name": "amount", "type": "decimal(12,2)"}, {"name": "status", "type": "string"}],
    "primary_key": ["order_id"], "merge": "upsert"})JSON");
  Extracted({{"orders.csv", "order_id,amount,status\n1,1.00,a\n2,2.00," + note + "\n"}});
  PartnerCsv("csv: {delimiter: \",\", header: true, max_record_bytes: 2KiB}");
  Status st = Run("merge");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.ToString().find("raw/acme/2026-11-24/orders.csv: line 3: a record starting here "
                               "is longer than 2.0 KiB"),
            std::string::npos)
      << st.ToString();
  EXPECT_NE(st.message().find("raise csv.max_record_bytes in partner.yaml"), std::string::npos);
  PartnerCsv("csv: {delimiter: \",\", header: true, max_record_bytes: 4KiB}");
  st = Run("merge");
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Scalar("SELECT length(status) FROM orders WHERE order_id = 2"), "3000");
}

TEST_F(MergeTest, AFieldAsLongAsTheRecordLimitAllowsLoads) {
  // A 3 MiB quoted note with line breaks and doubled quotes: bigger than any fixed per-field
  // limit would allow, well within csv.max_record_bytes (16 MiB by default).
  std::string note;
  for (int i = 0; note.size() < (size_t{3} << 20); ++i)
    note += "line " + std::to_string(i) + " \"\"q\"\"\n";
  Schema(R"JSON({"table": "orders", "columns": [
    {"name": "order_id", "type": "int64", "nullable": false},
    {"name": "amount", "type": "decimal(12,2)"}, {"name": "status", "type": "string"}],
    "primary_key": ["order_id"], "merge": "upsert"})JSON");
  Extracted(
      {{"orders.csv", "order_id,amount,status\n1,1.00,a\n2,2.00,\"" + note + "\"\n3,3.00,c\n"}});
  nlohmann::json result;
  ASSERT_TRUE(Run("merge", "acme", "{table: orders}", &result).ok()) << result.dump();
  EXPECT_EQ(result["rows_rejected"], 0);
  EXPECT_EQ(Scalar("SELECT count(*) FROM orders"), "3");
  // Each doubled quote is one quote in the table.
  size_t pairs = 0;
  for (size_t at = 0; (at = note.find("\"\"", at)) != std::string::npos; at += 2) ++pairs;
  EXPECT_EQ(Scalar("SELECT length(status) FROM orders WHERE order_id = 2"),
            std::to_string(note.size() - pairs));
}

TEST_F(MergeTest, AnEmptyFileFailsTheTableUnlessItIsOptional) {
  Extracted({{"orders.csv", ""}});
  Status st = Run("merge");
  ASSERT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  EXPECT_NE(st.ToString().find("raw/acme/2026-11-24/orders.csv: the file is empty: no header "
                               "line and no rows"),
            std::string::npos)
      << st.ToString();
  EXPECT_NE(st.ToString().find("(partner acme, table orders"), std::string::npos);
  // Marked optional, an empty file means no data that day.
  OrdersOptional();
  st = Run("merge");
  ASSERT_TRUE(st.ok()) << st.ToString();
}

TEST_F(MergeTest, WrongEncodingEverywhereFailsWithAHint) {
  // Declared utf-8, delivered in CP949: every row with Korean text is invalid.
  Extracted({{"orders.csv", "order_id,amount,status\n1,1.00,\xBC\xAD\n2,2.00,\xBF\xEF\n"}});
  Status st = Run("merge");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("encoding: 2"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("check the partner's csv.encoding"), std::string::npos)
      << st.message();
  auto rejects = Store()->Get("rejects/acme/2026-11-24/orders.csv");
  ASSERT_TRUE(rejects.ok());
  EXPECT_NE(rejects->find(",2,status,encoding: invalid bytes for encoding utf-8,"),
            std::string::npos)
      << *rejects;
  // The rejects file stays UTF-8 (spreadsheets and JSON tools read it); the bytes show as \xHH.
  EXPECT_TRUE(IsValidUtf8(*rejects)) << *rejects;
  EXPECT_NE(rejects->find("1,1.00,\\xBC\\xAD"), std::string::npos) << *rejects;
  // The message says where the rejects are.
  EXPECT_NE(st.message().find("Read the rejects file rejects/acme/2026-11-24/orders.csv for line "
                              "and reason"),
            std::string::npos)
      << st.message();
}

TEST_F(MergeTest, MostRowsUndecodableFailsWhateverTheRejectRatioAllows) {
  UpsertOrders("0.9");
  // Declared utf-8, sent in Latin-1: three of four rows have an accent.
  Extracted({{"orders.csv",
              "order_id,amount,status\n1,1.00,pay\xE9\n2,2.00,ok\n3,3.00,d\xE9j\xE0\n"
              "4,4.00,r\xE9gl\xE9\n"}});
  Status st = Run("merge");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("3 of 4 rows rejected (75.00%; encoding: 3): most rows of "
                              "raw/acme/2026-11-24/orders.csv (3 of 4 rows) are not valid utf-8, "
                              "so csv.encoding in partner.yaml is not what the partner sends"),
            std::string::npos)
      << st.message();
  EXPECT_EQ(Scalar("SELECT count(*) FROM orders"), "0");
  // Judged per file: one Latin-1 file among good ones is no handful of bad rows.
  std::string good = "order_id,amount,status\n";
  for (int i = 10; i < 40; ++i) good += std::to_string(i) + ",1.00,ok\n";
  Extracted(
      {{"orders_a.csv", "order_id,amount,status\n1,1.00,pay\xE9\n2,2.00,d\xE9j\xE0\n3,caf\xE9\n"},
       {"orders_b.csv", good}});
  st = Run("merge");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("most rows of raw/acme/2026-11-24/orders_a.csv (2 of 3 rows)"),
            std::string::npos)
      << st.message();
  // A row rejected for another reason that has invalid bytes shows them escaped too.
  auto rejects = Store()->Get("rejects/acme/2026-11-24/orders.csv");
  ASSERT_TRUE(rejects.ok());
  EXPECT_TRUE(IsValidUtf8(*rejects)) << *rejects;
  EXPECT_NE(rejects->find(",4,,\"field_count: expected 3 fields, found 2\",\"3,caf\\xE9\""),
            std::string::npos)
      << *rejects;
  // One row of four is bad data, not a wrong encoding: the ratio decides.
  Extracted({{"orders.csv",
              "order_id,amount,status\n1,1.00,pay\xE9\n2,2.00,ok\n3,3.00,a\n"
              "4,4.00,b\n"}});
  nlohmann::json result;
  st = Run("merge", "acme", "{table: orders}", &result);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(result["rows_loaded"], 3);
}

TEST_F(MergeTest, RescuedColumnsAreKeptAsJson) {
  Schema(R"JSON({"table": "orders", "columns": [
    {"name": "order_id", "type": "int64", "nullable": false}],
    "primary_key": ["order_id"], "merge": "upsert", "on_extra_columns": "rescue"})JSON");
  Extracted({{"orders.csv", "order_id,coupon\n1,SAVE10\n"}});
  nlohmann::json result;
  ASSERT_TRUE(Run("merge", "acme", "{table: orders}", &result).ok());
  EXPECT_EQ(Scalar("SELECT _rescued FROM orders"), "{\"coupon\":\"SAVE10\"}");
  EXPECT_EQ(result["columns_extra"], nlohmann::json::array({"coupon"}));
}

TEST_F(MergeTest, MissingNonNullableColumnFailsTheMerge) {
  Extracted({{"orders.csv", "amount,status\n1.00,a\n"}});
  Status st = Run("merge");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.ToString().find("order_id"), std::string::npos);
}

TEST_F(MergeTest, ReRunGivesTheSameTableInEveryMode) {
  for (std::string mode : {"upsert", "append", "replace_date"}) {
    Schema(R"JSON({"table": "orders", "columns": [
      {"name": "order_id", "type": "int64", "nullable": false},
      {"name": "amount", "type": "decimal(12,2)"}], "primary_key": ["order_id"],
      "merge": ")JSON" +
           mode + "\"}");
    dir_.Write("warehouse/.keep", "");
    std::filesystem::remove(dir_ / "warehouse/acme.db");
    Extracted({{"orders_1.csv", "order_id,amount\n1,1\n2,2\n"},
               {"orders_2.csv", "order_id,amount\n3,3\n"}});
    ASSERT_TRUE(Run("merge").ok()) << mode;
    auto first = Query(
        "SELECT order_id, amount, l.source_file FROM orders JOIN sluice_loads l ON l.load_id = "
        "orders._load_id ORDER BY 1");
    ASSERT_TRUE(Run("merge").ok()) << mode;
    auto second = Query(
        "SELECT order_id, amount, l.source_file FROM orders JOIN sluice_loads l ON l.load_id = "
        "orders._load_id ORDER BY 1");
    EXPECT_EQ(first, second) << mode;
    EXPECT_EQ(second.size(), 3u) << mode;
  }
}

TEST_F(MergeTest, KilledMidTableLeavesTableAsItWasAndReRunCompletes) {
  std::string csv = "order_id,amount,status\n";
  for (int i = 0; i < 50000; ++i) csv += std::to_string(i) + ",1.00,s\n";
  Extracted({{"orders.csv", "order_id,amount,status\n1,9.00,old\n"}});
  ASSERT_TRUE(Run("merge").ok());
  Extracted({{"orders.csv", csv}});
  Load();
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The progress callback fires mid-table; the child kills itself there.
    (void)Run("merge", "acme", "{table: orders}", nullptr, [](const Progress& p) {
      if (p.rows_done > 20000) raise(SIGKILL);
    });
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  EXPECT_EQ(Scalar("SELECT count(*) FROM orders"), "1");
  EXPECT_EQ(Scalar("SELECT amount FROM orders WHERE order_id=1"), "9.00");
  ASSERT_TRUE(Run("merge").ok());
  EXPECT_EQ(Scalar("SELECT count(*) FROM orders"), "50000");
  EXPECT_EQ(Scalar("SELECT amount FROM orders WHERE order_id=1"), "1.00");
}

TEST_F(MergeTest, KilledRightAfterGivingItsSlotBackLeavesTheTableAsItWasAndTheRetryLoadsAll) {
  // A large merge gives its slot back before its commit; a kill there (the scheduler's next
  // attempt already running) must lose nothing committed and leave nothing half-merged.
  UpsertOrders("0.1");
  Extracted({{"orders.csv", "order_id,amount,status\n1,9.00,old\n"}});
  ASSERT_TRUE(Run("merge").ok());
  std::string csv = "order_id,amount,status\n";
  for (int i = 0; i < 5000; ++i)
    csv += std::to_string(i) + ",1.50," + std::string(1000, 'p') + "\n";
  Extracted({{"orders.csv", csv}});
  parallelism_ = 2;
  Load();
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    release_slot_ = [] { raise(SIGKILL); };
    (void)Run("merge");
    _exit(0);  // reached only if the merge never released
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the merge did not release";
  EXPECT_EQ(Scalar("SELECT count(*) FROM orders"), "1");
  EXPECT_EQ(Scalar("SELECT amount || ':' || status FROM orders WHERE order_id=1"), "9.00:old");
  int releases = 0;
  release_slot_ = [&] { ++releases; };
  ASSERT_TRUE(Run("merge").ok());
  EXPECT_EQ(releases, 1);
  EXPECT_EQ(
      Scalar("SELECT count(*) || ':' || sum(amount) || ':' || sum(length(status)) FROM orders"),
      "5000:7500.0:5000000");
  EXPECT_EQ(Scalar("SELECT amount FROM orders WHERE order_id=1"), "1.50");
}

TEST_F(MergeTest, ThreeConcurrentMergeProcessesOfOnePartnerAllSucceed) {
  std::string yaml = testing::PartnerYaml("acme");
  yaml = yaml.substr(0, yaml.find("tables:")) + "tables:\n";
  std::vector<std::pair<std::string, std::string>> files;
  for (int t = 1; t <= 3; ++t) {
    std::string name = "merge_table_" + std::to_string(t);
    yaml += "  " + name + ": {file: \"" + name + "*.csv\"}\n";
    dir_.Write("partners/acme/schemas/" + name + ".json",
               R"JSON({"table": ")JSON" + name + R"JSON(", "columns": [
      {"name": "id", "type": "int64", "nullable": false}, {"name": "v", "type": "string"}],
      "primary_key": ["id"], "merge": "upsert"})JSON");
    std::string csv = "id,v\n";
    for (int i = 0; i < 30000; ++i) csv += std::to_string(i) + ",value\n";
    files.push_back({name + ".csv", csv});
  }
  dir_.Write("partners/acme/partner.yaml", yaml);
  std::filesystem::remove(dir_ / "partners/acme/schemas/orders.json");
  // One manifest listing all three tables' files.
  nlohmann::json m = {{"partner", "acme"}, {"date", kDate}};
  m["files"] = nlohmann::json::array();
  for (const auto& [name, content] : files) {
    std::string key = "raw/acme/" + std::string(kDate) + "/" + name;
    ASSERT_TRUE(Store()->Put(key, content).ok());
    m["files"].push_back({{"key", key}, {"table", name.substr(0, name.size() - 4)}});
  }
  ASSERT_TRUE(
      Store()->Put("manifests/acme/" + std::string(kDate) + "/extract.json", m.dump()).ok());
  Load();
  std::vector<pid_t> children;
  for (int t = 1; t <= 3; ++t) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      Status st = Run("merge", "acme", "{table: merge_table_" + std::to_string(t) + "}");
      if (!st.ok()) std::fprintf(stderr, "child %d: %s\n", t, st.ToString().c_str());
      _exit(st.ok() ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  for (int t = 1; t <= 3; ++t) {
    EXPECT_EQ(Scalar("SELECT count(*) FROM merge_table_" + std::to_string(t)), "30000");
  }
}

TEST_F(MergeTest, PartnerWithoutTheTableSucceedsSayingSo) {
  nlohmann::json result;
  Status st = Run("merge", "acme", "{table: customers}", &result);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_NE(result.value("skipped", "").find("no schema for table customers"), std::string::npos);
}

// acme gets a second table, refunds, that no merge task of the workflow names.
class MergeEveryOtherTableTest : public MergeTest {
 protected:
  void SetUp() override {
    MergeTest::SetUp();
    dir_.Write("partners/acme/partner.yaml",
               testing::PartnerYaml("acme") + "  refunds: {file: \"refunds*.csv\"}\n");
    dir_.Write("partners/acme/schemas/refunds.json", R"JSON({"table": "refunds", "columns": [
      {"name": "refund_id", "type": "int64", "nullable": false},
      {"name": "amount", "type": "decimal(12,2)"}],
      "primary_key": ["refund_id"], "merge": "upsert",
      "checks": [{"type": "row_count", "min": 1}]})JSON");
    nlohmann::json m = {{"partner", "acme"}, {"date", date_}, {"run_id", "r1"}};
    m["files"] = nlohmann::json::array();
    for (auto [table, csv] : {std::pair<std::string, std::string>{"orders", "order_id\n1\n"},
                              {"refunds", "refund_id,amount\n7,1.50\n8,x\n"}}) {
      std::string key = "raw/acme/" + date_ + "/" + table + ".csv";
      ASSERT_TRUE(Store()->Put(key, csv).ok());
      m["files"].push_back({{"member", table + ".csv"}, {"key", key}, {"table", table}});
    }
    ASSERT_TRUE(Store()->Put("manifests/acme/" + date_ + "/extract.json", m.dump()).ok());
  }
  void AddCatchAllMerge() {
    dir_.Write("workflow.yaml", std::string(testing::kWorkflowYaml) +
                                    "  - task_key: merge_rest\n    builtin: merge\n"
                                    "    for_each: partner\n    params: {table: \"*\"}\n");
  }
};

TEST_F(MergeEveryOtherTableTest, CheckFailsOnATableNoMergeTaskLoads) {
  ASSERT_TRUE(Run("merge", "acme", "{table: orders}").ok());
  nlohmann::json result;
  Status st = Run("check", "acme", "{}", &result);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("acme.refunds merged: no merge task of workflow.yaml loads this "
                              "table"),
            std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("params: {table: refunds}"), std::string::npos) << st.message();
  ::testing::internal::CaptureStdout();
  ASSERT_TRUE(Run("summary", "acme", "{}", &result).ok());
  ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(result["tables"][1]["table"], "refunds");
  EXPECT_EQ(result["tables"][1]["status"], "no_merge_task");
  // globex has only orders: its check is untouched.
  EXPECT_TRUE(Run("check", "globex", "{}").ok());
}

TEST_F(MergeEveryOtherTableTest, StarMergesEveryTableNoOtherMergeTaskNames) {
  AddCatchAllMerge();
  nlohmann::json result;
  Status st = Run("merge", "acme", "{table: \"*\"}", &result);
  // refunds has one bad row of two, over max_reject_ratio: the task fails naming the table,
  // after merging whatever else it had (nothing here: orders has its own task).
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.ToString().find("table refunds"), std::string::npos) << st.ToString();
  EXPECT_EQ(result["tables"].size(), 1u) << result.dump();
  EXPECT_EQ(result["tables"]["refunds"]["status"], "failed");
  dir_.Write("partners/acme/schemas/refunds.json", R"JSON({"table": "refunds", "columns": [
      {"name": "refund_id", "type": "int64", "nullable": false},
      {"name": "amount", "type": "decimal(12,2)"}],
      "primary_key": ["refund_id"], "merge": "upsert", "max_reject_ratio": 0.5})JSON");
  st = Run("merge", "acme", "{table: \"*\"}", &result);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(result["tables"]["refunds"]["rows_inserted"], 1);
  EXPECT_EQ(Scalar("SELECT amount FROM refunds WHERE refund_id=7"), "1.50");
  EXPECT_EQ(Scalar("SELECT count(*) FROM sqlite_master WHERE name='orders'"), "0");
  auto stats = Store()->Get("manifests/acme/2026-11-24/merge/refunds.json");
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(nlohmann::json::parse(*stats)["rows_loaded"], 1);
  ASSERT_TRUE(Run("merge", "acme", "{table: orders}").ok());
  EXPECT_TRUE(Run("check", "acme", "{}").ok());
  // A partner whose every table has its own task: nothing to do, and it says so.
  ASSERT_TRUE(Run("merge", "globex", "{table: \"*\"}", &result).ok());
  EXPECT_NE(result.value("skipped", "").find("own merge task"), std::string::npos) << result;
}

TEST_F(MergeEveryOtherTableTest, StarMergeNamesEveryFailedTableAndWhatItMerged) {
  AddCatchAllMerge();
  dir_.Write("partners/acme/partner.yaml", testing::PartnerYaml("acme") +
                                               "  refunds: {file: \"refunds*.csv\"}\n"
                                               "  credits: {file: \"credits*.csv\"}\n"
                                               "  notes: {file: \"notes*.csv\"}\n");
  dir_.Write("partners/acme/schemas/credits.json", R"JSON({"table": "credits", "columns": [
      {"name": "credit_id", "type": "int64", "nullable": false}]})JSON");
  dir_.Write("partners/acme/schemas/notes.json", R"JSON({"table": "notes", "columns": [
      {"name": "note", "type": "string"}]})JSON");
  auto m = nlohmann::json::parse(*Store()->Get("manifests/acme/" + date_ + "/extract.json"));
  for (auto [table, csv] :
       {std::pair<std::string, std::string>{"credits", "id\n1\n"}, {"notes", "note\nhello\n"}}) {
    std::string key = "raw/acme/" + date_ + "/" + table + ".csv";
    ASSERT_TRUE(Store()->Put(key, csv).ok());
    m["files"].push_back({{"member", table + ".csv"}, {"key", key}, {"table", table}});
  }
  ASSERT_TRUE(Store()->Put("manifests/acme/" + date_ + "/extract.json", m.dump()).ok());
  nlohmann::json result;
  Status st = Run("merge", "acme", "{table: \"*\"}", &result);
  ASSERT_FALSE(st.ok());
  // Both failures with their reasons, and the table that did merge.
  EXPECT_NE(st.message().find("2 of 3 tables failed (merged: notes): "), std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("table refunds: "), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find("partner acme"), std::string::npos) << st.message();  // once, outside
  EXPECT_NE(st.message().find("max_reject_ratio"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("table credits"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("lacks non-nullable column(s) credit_id"), std::string::npos)
      << st.message();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Scalar("SELECT note FROM notes"), "hello");
}

TEST_F(MergeTest, ArchiveWithoutTheTablesFileLeavesTheTableAlone) {
  Schema(R"JSON({"table": "orders", "columns": [
    {"name": "order_id", "type": "int64", "nullable": false}], "merge": "replace_date"})JSON");
  Extracted({{"orders.csv", "order_id\n1\n2\n"}});
  ASSERT_TRUE(Run("merge").ok());
  // The next delivery has no orders file (an upper-case .CSV does not match the pattern).
  Extracted({{"ORDERS.CSV", "order_id\n3\n"}}, "acme", "none");
  nlohmann::json result;
  Status st = Run("merge", "acme", "{table: orders}", &result);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);  // not retried: the delivery is what it is
  EXPECT_NE(st.message().find("no file for table orders (pattern \"orders*.csv\", "
                              "case-sensitive; the archive had: ORDERS.CSV)"),
            std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("optional: true"), std::string::npos) << st.message();
  EXPECT_EQ(Scalar("SELECT count(*) FROM orders"), "2");

  // A table the partner may leave out: success, said in the stats. This delivery of the date
  // replaces the one that had the file, so the table ends as a clean run of it would: without
  // the date's rows (and without the rejects the earlier file had).
  ASSERT_TRUE(Store()->Put("rejects/acme/2026-11-24/orders.csv", "file,line\n").ok());
  OrdersOptional();
  ASSERT_TRUE(Run("merge", "acme", "{table: orders}", &result).ok());
  EXPECT_EQ(result["files"], 0);
  EXPECT_NE(result.value("note", "").find("no file"), std::string::npos);
  EXPECT_EQ(result["rows_deleted"], 2);
  EXPECT_EQ(Scalar("SELECT count(*) FROM orders"), "0");
  EXPECT_EQ(Store()->Head("rejects/acme/2026-11-24/orders.csv").status().code(),
            StatusCode::kNotFound);
}

TEST_F(MergeTest, ARetriedOrRepairedMergeWritesTheStatsOfACleanRun) {
  Extracted({{"orders.csv", "order_id,amount,status\n1,1.00,a\n2,2.00,b\n"}});
  nlohmann::json first, again;
  ASSERT_TRUE(Run("merge", "acme", "{table: orders}", &first).ok());
  // Killed after its commit, before its stats: the retry loads the same rows again.
  ASSERT_TRUE(Run("merge", "acme", "{table: orders}", &again).ok());
  for (const char* k : {"rows_inserted", "rows_updated", "rows_deleted", "rows_kept_newer",
                        "rows_loaded", "rows_read", "rows_rejected"}) {
    EXPECT_EQ(again[k], first[k]) << k;
  }
  EXPECT_EQ(first["rows_inserted"], 2);
  auto stored = nlohmann::json::parse(*Store()->Get("manifests/acme/2026-11-24/merge/orders.json"));
  EXPECT_EQ(stored["rows_updated"], 0);
  // The schema changed (an alias): other inputs, the merge counts what it did.
  Schema(R"JSON({"table": "orders", "columns": [
    {"name": "order_id", "type": "int64", "nullable": false, "aliases": ["id"]},
    {"name": "amount", "type": "decimal(12,2)"}, {"name": "status", "type": "string"}],
    "primary_key": ["order_id"], "merge": "upsert"})JSON");
  ASSERT_TRUE(Run("merge", "acme", "{table: orders}", &again).ok());
  EXPECT_EQ(again["rows_updated"], 2);
}

TEST_F(MergeTest, AnOptionalTableLeftOutOfARedeliveryKeepsItsKeysUnderUpsert) {
  OrdersOptional();
  Extracted({{"orders.csv", "order_id,amount,status\n1,1.00,a\n2,2.00,b\n"}});
  ASSERT_TRUE(Run("merge").ok());
  // upsert never removes keys a delivery leaves out (docs/config.md): nor a whole file.
  Extracted({{"notes.txt", "x"}}, "acme", "none");
  nlohmann::json result;
  ASSERT_TRUE(Run("merge", "acme", "{table: orders}", &result).ok());
  EXPECT_EQ(result["rows_deleted"], 0);
  EXPECT_EQ(Scalar("SELECT count(*) FROM orders"), "2");
  // A table not created yet is not created by a day without its file.
  Schema(R"JSON({"table": "orders", "columns": [
    {"name": "order_id", "type": "int64", "nullable": false}], "merge": "append"})JSON",
         "globex");
  OrdersOptional("globex");
  Extracted({{"notes.txt", "x"}}, "globex", "none");
  ASSERT_TRUE(Run("merge", "globex", "{table: orders}", &result).ok());
  auto wh = warehouse::OpenWarehouse("sqlite://./warehouse", dir_.path(), "globex");
  ASSERT_TRUE(wh.ok()) << wh.status().ToString();
  EXPECT_FALSE(*(*wh)->TableExists("orders"));
}

TEST_F(MergeTest, AFileTheExtractSkippedThatAChangedPatternTakesNamesTheExtractToRerun) {
  // The extract ran with orders*.csv and skipped ORDERS_20261124.csv; partner.yaml now says
  // [oO][rR]*: the merge cannot load a file the extract never took out of the archive.
  nlohmann::json m = {{"partner", "acme"}, {"date", date_}, {"run_id", "r1"}};
  m["files"] = nlohmann::json::array();
  m["skipped"] = {
      {{"member", "export/ORDERS_20261124.csv"}, {"reason", "matches no table pattern"}}};
  ASSERT_TRUE(Store()->Put("manifests/acme/2026-11-24/extract.json", m.dump()).ok());
  OrdersSource("{file: \"[oO][rR]*.[cC][sS][vV]\"}");
  Status st = Run("merge");
  ASSERT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  EXPECT_NE(st.message().find("The extract skipped \"export/ORDERS_20261124.csv\", which the "
                              "pattern matches now: partner.yaml changed after the extract. "
                              "Extract again, then merge: sluice repair "),
            std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find(" --downstream"), std::string::npos) << st.message();
}

TEST_F(MergeTest, MergeForOnePartnerNeverTouchesAnother) {
  Extracted({{"orders.csv", "order_id,amount,status\n1,1.00,a\n"}}, "acme");
  ASSERT_TRUE(Run("merge", "acme").ok());
  EXPECT_TRUE(std::filesystem::exists(dir_ / "warehouse/acme.db"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "warehouse/globex.db"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "data/rejects/globex"));
  // A manifest that points into another partner's raw area is refused.
  nlohmann::json m = {
      {"files", {{{"key", "raw/globex/2026-11-24/orders.csv"}, {"table", "orders"}}}}};
  ASSERT_TRUE(Store()->Put("manifests/acme/2026-11-24/extract.json", m.dump()).ok());
  Status st = Run("merge", "acme");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied);
}

TEST_F(MergeTest, SummaryCollectsStatsPrintsAndStoresThem) {
  Extracted({{"orders.csv", "order_id,amount,status,extra\n1,1.00,a,z\n2,2.00,b,z\n"}});
  ASSERT_TRUE(Run("merge").ok());
  nlohmann::json result;
  ::testing::internal::CaptureStdout();
  Status st = Run("summary", "", "{}", &result);
  std::string out = ::testing::internal::GetCapturedStdout();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_NE(out.find("acme"), std::string::npos);
  EXPECT_NE(out.find("extra: extra"), std::string::npos) << out;
  EXPECT_EQ(result["partners"]["acme"]["totals"]["rows_loaded"], 2);
  EXPECT_EQ(result["partners"]["globex"]["tables"][0]["status"], "not_merged");
  auto stored = Store()->Get("manifests/acme/2026-11-24/summary.json");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(nlohmann::json::parse(*stored)["tables"][0]["rows_inserted"], 2);
  ASSERT_TRUE(Run("summary", "acme", "{}", &result).ok());
  EXPECT_EQ(result["partner"], "acme");
  // globex's stats are from an earlier run (this run's extract of globex failed, its merge
  // never ran): not this run's result.
  ASSERT_TRUE(Store()
                  ->Put("manifests/globex/2026-11-24/merge/orders.json",
                        R"({"run_id": "run-0", "status": "success", "rows_loaded": 5})")
                  .ok());
  ASSERT_TRUE(Run("summary", "globex", "{}", &result).ok());
  EXPECT_EQ(result["tables"][0]["status"], "not_merged") << result.dump();
  EXPECT_EQ(result["tables"][0]["note"],
            "not merged by this run; the last merge of the table for 2026-11-24 was in run "
            "run-0 (success)");
  EXPECT_EQ(result["totals"]["rows_loaded"], 0);
}

TEST_F(MergeTest, ChecksFailOnErrorSeverityAndNameTheRows) {
  Schema(R"JSON({"table": "orders", "columns": [
    {"name": "order_id", "type": "int64", "nullable": false},
    {"name": "status", "type": "string"}], "primary_key": ["order_id"], "merge": "upsert",
    "checks": [
      {"type": "not_null", "columns": ["status"], "severity": "warn"},
      {"type": "accepted_values", "column": "status", "values": ["paid", "refunded"]},
      {"type": "row_count", "min": 1, "max": 10},
      {"type": "unique", "columns": ["order_id"]},
      {"type": "reject_ratio", "max_ratio": 0.5},
      {"type": "change_vs_previous", "max_change_percent": 50},
      {"type": "sql", "name": "no_big_ids", "sql": "SELECT order_id FROM orders WHERE order_id > 100 AND _ingest_date = {date}"}
    ]})JSON");
  Extracted({{"orders.csv", "order_id,status\n1,paid\n2,\n3,lost\n"}});
  ASSERT_TRUE(Run("merge").ok());
  nlohmann::json result;
  Status st = Run("check", "acme", "{}", &result);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("1 data-quality check(s) failed"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("status=lost"), std::string::npos) << st.message();
  EXPECT_EQ(result["failed"], 1);
  EXPECT_EQ(result["warnings"], 1);
  for (const auto& c : result["checks"]) {
    if (c["type"] == "accepted_values" || c["type"] == "not_null") {
      EXPECT_FALSE(c["passed"].get<bool>()) << c.dump();
      if (c["type"] == "not_null") {
        // The sample rows are the table's own columns, the key first.
        EXPECT_NE(c["message"].get<std::string>().find("e.g. (order_id=2, status=NULL, "),
                  std::string::npos)
            << c.dump();
      }
    } else {
      EXPECT_TRUE(c["passed"].get<bool>()) << c.dump();
    }
  }
}

TEST_F(MergeTest, UniqueScansOnlyWhenTheTableDoesNotEnforceTheKey) {
  // An append table has no key: a repeated id fails the check, naming the value.
  Schema(R"JSON({"table": "orders", "columns": [
    {"name": "order_id", "type": "int64", "nullable": false},
    {"name": "status", "type": "string"}], "merge": "append",
    "checks": [{"type": "unique", "columns": ["order_id"]},
               {"type": "unique", "name": "pair", "columns": ["order_id", "status"]}]})JSON");
  Extracted({{"orders.csv", "order_id,status\n1,paid\n2,paid\n2,lost\n"}});
  ASSERT_TRUE(Run("merge").ok());
  nlohmann::json result;
  Status st = Run("check", "acme", "{}", &result);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(result["failed"], 1);
  EXPECT_NE(st.message().find("1 duplicated value(s) of (order_id), e.g. (order_id=2, copies=2)"),
            std::string::npos)
      << st.message();
  EXPECT_TRUE(result["checks"][1]["passed"].get<bool>()) << result.dump();

  // Keyed by order_id (globex), the same check passes from the table's own constraint, also
  // for a superset of the key.
  Schema(R"JSON({"table": "orders", "columns": [
    {"name": "order_id", "type": "int64", "nullable": false},
    {"name": "status", "type": "string"}], "primary_key": ["order_id"], "merge": "upsert",
    "checks": [{"type": "unique", "columns": ["status", "order_id"]}]})JSON",
         "globex");
  Extracted({{"orders.csv", "order_id,status\n1,paid\n2,paid\n2,lost\n"}}, "globex");
  ASSERT_TRUE(Run("merge", "globex").ok());
  ASSERT_TRUE(Run("check", "globex", "{}", &result).ok()) << result.dump();
  EXPECT_NE(result["checks"][0]["message"].get<std::string>().find(
                "the table enforces (order_id) as unique and NOT NULL"),
            std::string::npos)
      << result.dump();
}

TEST_F(MergeTest, ASqlCheckCannotChangeTheWarehouse) {
  Schema(R"JSON({"table": "orders", "columns": [
    {"name": "order_id", "type": "int64", "nullable": false}], "primary_key": ["order_id"],
    "merge": "upsert",
    "checks": [{"type": "sql", "severity": "warn", "sql": "DELETE FROM orders RETURNING order_id"},
               {"type": "sql", "sql": "SELEC nonsense"},
               {"type": "row_count", "min": 5}]})JSON");
  Extracted({{"orders.csv", "order_id\n1\n2\n"}});
  ASSERT_TRUE(Run("merge").ok());
  nlohmann::json result;
  Status st = Run("check", "acme", "{}", &result);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("may only read"), std::string::npos) << st.ToString();
  EXPECT_EQ(Query("SELECT count(*) FROM orders")[0][0], "2");
  // A check that cannot run fails as a check (even a warn one); the others still run, and the
  // unnamed sql checks are told apart by file and line.
  ASSERT_EQ(result["checks"].size(), 3u) << result.dump();
  EXPECT_EQ(result["failed"], 3) << result.dump();
  EXPECT_NE(result["checks"][0]["check"].get<std::string>().find("sql (partners/acme/schemas/"),
            std::string::npos)
      << result.dump();
  EXPECT_NE(result["checks"][0]["check"], result["checks"][1]["check"]);
  EXPECT_NE(result["checks"][1]["message"].get<std::string>().find("cannot run: "),
            std::string::npos);
  EXPECT_EQ(result["checks"][2]["type"], "row_count");
  EXPECT_FALSE(result["checks"][2]["passed"]);
}

TEST_F(MergeTest, AcceptedValuesAreComparedAsTheColumnStoresThem) {
  Schema(R"JSON({"table": "orders", "columns": [
    {"name": "order_id", "type": "int64", "nullable": false},
    {"name": "paid", "type": "bool"}, {"name": "rate", "type": "decimal(5,2)"},
    {"name": "qty", "type": "int64"}],
    "primary_key": ["order_id"], "merge": "upsert",
    "checks": [{"type": "accepted_values", "column": "paid", "values": [true, false]},
               {"type": "accepted_values", "column": "rate", "values": ["0.5", "1"]},
               {"type": "accepted_values", "column": "qty", "values": ["01", "2"]}]})JSON");
  Extracted({{"orders.csv", "order_id,paid,rate,qty\n1,true,0.5,1\n2,false,1.00,2\n3,,,\n"}});
  ASSERT_TRUE(Run("merge").ok());
  nlohmann::json result;
  ASSERT_TRUE(Run("check", "acme", "{}", &result).ok()) << result.dump();

  // A value outside the list still fails, shown as stored.
  Extracted({{"orders.csv", "order_id,paid,rate,qty\n1,true,0.75,3\n"}});
  ASSERT_TRUE(Run("merge").ok());
  Status st = Run("check", "acme", "{}", &result);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(result["failed"], 2);
  EXPECT_NE(st.message().find("rate=0.75"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("qty=3"), std::string::npos) << st.message();

  // An accepted value the column could never hold is a configuration error.
  Schema(R"JSON({"table": "orders", "columns": [
    {"name": "order_id", "type": "int64", "nullable": false}, {"name": "paid", "type": "bool"},
    {"name": "rate", "type": "decimal(5,2)"}, {"name": "qty", "type": "int64"}],
    "primary_key": ["order_id"], "merge": "upsert",
    "checks": [{"type": "accepted_values", "column": "paid", "values": ["maybe"]}]})JSON");
  st = Run("check", "acme", "{}");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("accepted value \"maybe\" is not a valid bool for column paid"),
            std::string::npos)
      << st.message();
}

TEST_F(MergeTest, ChangeVsPreviousCountsDeliveredRowsAlsoForUpserts) {
  Schema(R"JSON({"table": "orders", "columns": [
    {"name": "order_id", "type": "int64", "nullable": false}], "primary_key": ["order_id"],
    "merge": "upsert", "checks": [{"type": "change_vs_previous", "max_change_percent": 50}]})JSON");
  std::string day1 = "order_id\n", day2 = "order_id\n";
  for (int i = 1; i <= 10; ++i) day1 += std::to_string(i) + "\n";
  for (int i = 1; i <= 100; ++i) day2 += std::to_string(i) + "\n";  // day 1's keys again + 90
  date_ = "2026-11-23";
  Extracted({{"orders.csv", day1}});
  ASSERT_TRUE(Run("merge").ok());
  date_ = kDate;
  Extracted({{"orders.csv", day2}});
  ASSERT_TRUE(Run("merge").ok());
  // Every row now carries _ingest_date 2026-11-24, yet 10 rows were delivered the day before.
  EXPECT_EQ(Query("SELECT count(*) FROM orders WHERE _ingest_date = '2026-11-23'")[0][0], "0");
  Status st = Run("check", "acme", "{}");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("100 rows vs 10 on 2026-11-23: +900.0%"), std::string::npos)
      << st.message();
}

TEST_F(MergeTest, RowCountAndChangeVsPreviousFailWhenOutOfBounds) {
  Schema(R"JSON({"table": "orders", "columns": [
    {"name": "order_id", "type": "int64", "nullable": false}], "merge": "append",
    "checks": [{"type": "row_count", "min": 3},
               {"type": "change_vs_previous", "max_change_percent": 50}]})JSON");
  date_ = "2026-11-23";
  Extracted({{"orders.csv", "order_id\n1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n"}});
  ASSERT_TRUE(Run("merge").ok());
  nlohmann::json result;
  ASSERT_TRUE(Run("check", "acme", "{}", &result).ok()) << result.dump();
  date_ = kDate;
  Extracted({{"orders.csv", "order_id\n11\n12\n"}});
  ASSERT_TRUE(Run("merge").ok());
  Status st = Run("check", "acme", "{}", &result);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(result["failed"], 2);
  EXPECT_NE(st.message().find("2 row(s) for 2026-11-24 (min 3"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("2 rows vs 10 on 2026-11-23: -80.0%"), std::string::npos)
      << st.message();
}

TEST_F(MergeTest, SqlBuiltinRunsInEachPartnersDatabase) {
  Status st = Run("sql", "",
                  "{sql: \"CREATE TABLE IF NOT EXISTS marks(p TEXT, d TEXT); INSERT "
                  "INTO marks VALUES ({partner}, {date});\"}");
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Query("SELECT p, d FROM marks", "acme")[0][0], "acme");
  EXPECT_EQ(Query("SELECT p FROM marks", "globex")[0][0], "globex");
  Status bad = Run("sql", "acme", "{sql: \"SELECT * FROM missing_table\"}");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.ToString().find("missing_table"), std::string::npos);
}

}  // namespace
}  // namespace sluice::tasks
