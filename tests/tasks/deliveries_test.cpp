// Several deliveries a day (two archives and a bare .csv.gz for one partner and date) through
// the extract and merge builtins: name order, precedence per merge mode, a re-delivery of one
// of them, compressed members expanded under the extract limits.
#include <zlib.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "archive/test_archive_builder.h"
#include "tasks/builtins.h"
#include "tasks/extract.h"
#include "tasks/extract_test_support.h"
#include "warehouse/warehouse.h"

namespace sluice::tasks {
namespace {

using testing::BuildArchive;
using testing::Format;

// gzip of `text` (zlib's gzip wrapper), as `gzip` writes it.
std::string Gzip(const std::string& text) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, text.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

class Deliveries : public testing::PipelineFixture {
 protected:
  // acme's archive is any file of the day starting with "acme_", its orders schema `mode`.
  void Configure(const std::string& mode) {
    std::string yaml = testing::PartnerYaml("acme");
    yaml.replace(yaml.find("acme_{date:%Y%m%d}.tar.gz"), 25, "acme_{date:%Y%m%d}_*");
    yaml.replace(yaml.find("orders*.csv"), 11, "*orders*.csv");
    dir_.Write("partners/acme/partner.yaml", yaml);
    std::string schema = testing::kOrdersSchema;
    schema.replace(schema.find("\"upsert\""), 8, "\"" + mode + "\"");
    if (mode != "upsert") {
      // Every row is kept, so a key may repeat: no primary key, no unique check.
      const std::string key = R"("primary_key": ["order_id"],)";
      schema.replace(schema.find(key), key.size(), "");
      const std::string checks = R"("checks": [{"type": "unique", "columns": ["order_id"]}])";
      schema.replace(schema.find(checks), checks.size(), R"("checks": [])");
    }
    dir_.Write("partners/acme/schemas/orders.json", schema);
    Load();
  }
  void Deliver(const std::string& name, const std::string& bytes) {
    dir_.Write("area/data/landing/acme/2026-11-24/" + name, bytes);
  }
  // The three deliveries of the day: 09:00 and 12:00 archives and a bare 15:00 correction.
  void DeliverTheDay() {
    Deliver("acme_20261124_0900.tar.gz",
            BuildArchive({{"orders.csv", "order_id,amount,status\n1,10.00,paid\n2,20.00,paid\n"}},
                         Format::kTarGz));
    Deliver("acme_20261124_1200.tar.gz",
            BuildArchive({{"orders.csv.gz", Gzip("order_id,amount,status\n2,22.00,refunded\n"
                                                 "3,30.00,paid\n")}},
                         Format::kTarGz));
    Deliver("acme_20261124_1500_orders.csv.gz",
            Gzip("order_id,amount,status\n3,33.00,refunded\n4,40.00,paid\n"));
    MarkComplete("acme");
  }
  Status Extract() {
    TaskContext ctx = Ctx("acme", "batch_extract");
    return ExtractPartner(ctx, nullptr);
  }
  // "" when the extract succeeds, else its error (for ASSERT_EQ(ExtractError(), "")).
  std::string ExtractError() {
    Status st = Extract();
    return st.ok() ? "" : st.ToString();
  }
  Status Merge() {
    TaskContext ctx = Ctx("acme", "merge_orders");
    return RunMerge(ctx);
  }
  // "id:amount:status" of every row, by id then amount.
  std::string Rows() {
    auto wh = warehouse::OpenWarehouse("sqlite://./warehouse", dir_.path(), "acme");
    EXPECT_TRUE(wh.ok()) << wh.status().ToString();
    if (!wh.ok()) return "";
    auto r = (*wh)->Query(
        "SELECT group_concat(order_id || ':' || amount || ':' || status, ' ') FROM "
        "(SELECT * FROM orders ORDER BY order_id, amount)");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() && !r->rows.empty() && r->rows[0][0] ? *r->rows[0][0] : "";
  }
  nlohmann::json Manifest() {
    return nlohmann::json::parse(
        testing::ReadFile(StoreRoot() / "manifests/acme/2026-11-24/extract.json"));
  }
};

TEST_F(Deliveries, UpsertLetsLaterDeliveriesWinForTheSameKey) {
  Configure("upsert");
  DeliverTheDay();
  ASSERT_EQ(ExtractError(), "");
  const nlohmann::json m = Manifest();
  ASSERT_EQ(m["deliveries"].size(), 3u) << m.dump(2);
  EXPECT_EQ(m["deliveries"][2]["name"], "acme_20261124_1500_orders.csv.gz");
  EXPECT_EQ(m["deliveries"][2]["format"], "file");
  // The compressed member and the bare file are kept expanded, as orders.csv.
  EXPECT_EQ(m["files"][1]["key"], "raw/acme/2026-11-24/acme_20261124_1200.tar.gz/orders.csv");
  EXPECT_EQ(m["files"][1]["compression"], "gzip");
  EXPECT_EQ(testing::ReadFile(StoreRoot() / "raw/acme/2026-11-24/acme_20261124_1500_orders.csv.gz/"
                                            "acme_20261124_1500_orders.csv"),
            "order_id,amount,status\n3,33.00,refunded\n4,40.00,paid\n");
  Status st = Merge();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Rows(), "1:10.00:paid 2:22.00:refunded 3:33.00:refunded 4:40.00:paid");
}

TEST_F(Deliveries, AppendKeepsEveryDeliverysRows) {
  Configure("append");
  DeliverTheDay();
  ASSERT_EQ(ExtractError(), "");
  Status st = Merge();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(
      Rows(),
      "1:10.00:paid 2:20.00:paid 2:22.00:refunded 3:30.00:paid 3:33.00:refunded 4:40.00:paid");
}

TEST_F(Deliveries, ReplaceDateReplacesTheDayWithTheirUnionAndARedeliveryReplacesOnlyItself) {
  Configure("replace_date");
  DeliverTheDay();
  ASSERT_EQ(ExtractError(), "");
  ASSERT_TRUE(Merge().ok());
  EXPECT_EQ(
      Rows(),
      "1:10.00:paid 2:20.00:paid 2:22.00:refunded 3:30.00:paid 3:33.00:refunded 4:40.00:paid");
  const std::string first_0900 =
      testing::ReadFile(StoreRoot() / "raw/acme/2026-11-24/acme_20261124_0900.tar.gz/orders.csv");
  // The 12:00 export is sent again, corrected: without order 3.
  Deliver("acme_20261124_1200.tar.gz",
          BuildArchive({{"orders.csv", "order_id,amount,status\n2,25.00,paid\n"}}, Format::kTarGz));
  Status stale = Merge();
  EXPECT_EQ(stale.code(), StatusCode::kInvalidArgument) << stale.ToString();
  EXPECT_NE(stale.message().find("acme_20261124_1200.tar.gz changed after it was extracted"),
            std::string::npos)
      << stale.message();
  ASSERT_EQ(ExtractError(), "");
  ASSERT_TRUE(Merge().ok());
  EXPECT_EQ(Rows(), "1:10.00:paid 2:20.00:paid 2:25.00:paid 3:33.00:refunded 4:40.00:paid");
  EXPECT_EQ(
      testing::ReadFile(StoreRoot() / "raw/acme/2026-11-24/acme_20261124_0900.tar.gz/orders.csv"),
      first_0900)
      << "the other deliveries are as they were";
}

TEST_F(Deliveries, ADeliveryThatArrivesAfterTheExtractStopsTheMerge) {
  Configure("upsert");
  DeliverTheDay();
  ASSERT_EQ(ExtractError(), "");
  Deliver("acme_20261124_1800.tar.gz",
          BuildArchive({{"orders.csv", "order_id,amount,status\n9,9.00,paid\n"}}, Format::kTarGz));
  Status st = Merge();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  EXPECT_NE(st.message().find("acme_20261124_1800.tar.gz arrived after"), std::string::npos)
      << st.message();
}

TEST_F(Deliveries, AManifestOfAnEarlierVersionStillMerges) {
  // Wave one's layout: raw/<p>/<date>/<file> and a manifest with "archive" but no "deliveries".
  Configure("upsert");
  const std::string archive = BuildArchive({{"orders.csv", "x"}}, Format::kTarGz);
  dir_.Write("area/data/landing/acme/2026-11-24/acme_20261124_0900.tar.gz", archive);
  dir_.Write("area/data/raw/acme/2026-11-24/orders.csv", "order_id,amount,status\n7,7.00,paid\n");
  nlohmann::json m = {{"partner", "acme"},
                      {"date", "2026-11-24"},
                      {"run_id", "old"},
                      {"archive",
                       {{"key", "landing/acme/2026-11-24/acme_20261124_0900.tar.gz"},
                        {"bytes", static_cast<int64_t>(archive.size())}}},
                      {"files",
                       {{{"member", "orders.csv"},
                         {"key", "raw/acme/2026-11-24/orders.csv"},
                         {"table", "orders"},
                         {"bytes", 35},
                         {"checksum", "xxh128:0"}}}},
                      {"skipped", nlohmann::json::array()}};
  dir_.Write("area/data/manifests/acme/2026-11-24/extract.json", m.dump());
  Status st = Merge();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Rows(), "7:7.00:paid");
}

TEST_F(Deliveries, ACompressedMemberIsHeldToTheLimitsByItsExpandedBytes) {
  Configure("upsert");
  std::string yaml = testing::ReadFile(dir_ / "partners/acme/partner.yaml");
  yaml += "limits: {max_entry_bytes: 1000}\n";
  dir_.Write("partners/acme/partner.yaml", yaml);
  Load();
  std::string big = "order_id,amount,status\n";
  while (big.size() < 5000) big += "1,1.00,paid\n";  // compresses far below 1000 bytes
  Deliver("acme_20261124_0900_orders.csv.gz", Gzip(big));
  MarkComplete("acme");
  Status st = Extract();
  ASSERT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  EXPECT_NE(st.message().find("max_entry_bytes"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("acme_20261124_0900_orders.csv.gz"), std::string::npos)
      << st.message();
  EXPECT_FALSE(std::filesystem::exists(StoreRoot() / "manifests/acme/2026-11-24/extract.json"));
  EXPECT_FALSE(std::filesystem::exists(StoreRoot() / "raw/acme/2026-11-24"));
}

TEST_F(Deliveries, ATruncatedGzipDeliveryIsRefusedNamingIt) {
  Configure("upsert");
  std::string gz = Gzip("order_id,amount,status\n1,1.00,paid\n");
  Deliver("acme_20261124_0900_orders.csv.gz", gz.substr(0, gz.size() - 6));
  MarkComplete("acme");
  Status st = Extract();
  ASSERT_EQ(st.code(), StatusCode::kCorrupt) << st.ToString();
  EXPECT_NE(st.message().find("acme_20261124_0900_orders.csv.gz"), std::string::npos)
      << st.message();
  EXPECT_FALSE(std::filesystem::exists(StoreRoot() / "manifests/acme/2026-11-24/extract.json"));
}

}  // namespace
}  // namespace sluice::tasks
