// End-to-end tests of `sluice infer`: for samples in each encoding and dialect, the drafted
// partner validates and a full `sluice run` loads every sample row with no reject.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "infer/infer_test_util.h"

namespace sluice::testing {
namespace {

constexpr const char* kDate = "2026-11-24";

class InferCli : public ::testing::Test {
 protected:
  void SetUp() override { WriteMergeAllPipeline(dir_); }

  std::filesystem::path Sample(const std::string& name, const std::string& bytes) {
    return dir_.Write("samples/" + name, bytes);
  }

  CommandResult Infer(const std::string& partner, const std::filesystem::path& sample,
                      const std::string& extra = "") {
    return RunCommand(Sluice() + " infer " + Quote(dir_.path()) + " --partner " + partner +
                      " --sample " + Quote(sample) + extra);
  }

  std::string Schema(const std::string& partner, const std::string& table) {
    return ReadFile(dir_ / ("partners/" + partner + "/schemas/" + table + ".json"));
  }

  // Validates the folder, delivers `files` (in samples/) as `archive`, runs the date, and
  // returns the merge results by table.
  nlohmann::json ValidateDeliverRun(const std::string& partner, const std::string& archive,
                                    const std::vector<std::string>& files) {
    auto v = RunCommand(Sluice() + " validate " + Quote(dir_.path()));
    EXPECT_EQ(v.exit_code, 0) << v.output;
    const auto landing = dir_ / ("data/landing/" + partner + "/" + kDate);
    EXPECT_TRUE(Tar(landing / archive, dir_ / "samples", files));
    dir_.Write("data/landing/" + partner + "/" + kDate + "/_SUCCESS", "");
    auto run = RunCommand(Sluice() + " run " + Quote(dir_.path()) + " --date " + kDate);
    EXPECT_EQ(run.exit_code, 0) << run.output;
    const std::string run_id = RunIdOf(run.output);
    EXPECT_FALSE(run_id.empty()) << run.output;
    return MergeTables(dir_, run_id);
  }

  void ExpectLoaded(const nlohmann::json& tables, const std::string& table, int64_t rows) {
    ASSERT_TRUE(tables.contains(table)) << tables.dump(2);
    EXPECT_EQ(tables[table].value("rows_loaded", -1), rows) << tables.dump(2);
    EXPECT_EQ(tables[table].value("rows_rejected", -1), 0) << tables.dump(2);
  }

  TempDir dir_;
};

TEST_F(InferCli, Utf8WithBomCrlfAndQuotedNewlinesLoadsEveryRow) {
  std::string csv = "\xEF\xBB\xBForder_id,customer,amount,ordered_on,note\r\n";
  const char* names[] = {"김민수", "Lee, Ji-eun", "박서준", "O'Brien"};
  for (int i = 0; i < 40; ++i) {
    std::string name = names[i % 4];
    if (name.find(',') != std::string::npos) name = "\"" + name + "\"";
    csv += std::to_string(1001 + i) + "," + name + "," + std::to_string(i * 7) + "." +
           std::to_string(10 + i % 90) + ",2026-11-" + std::to_string(10 + i % 18) + "," +
           (i % 3 == 0   ? "\"첫 줄\r\n둘째 줄\""
            : i % 3 == 1 ? ""
                         : "\"say \"\"hi\"\"\"") +
           "\r\n";
  }
  auto sample = Sample("orders_20261124.csv", csv);
  auto r = Infer("bom", sample);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("UTF-8 byte order mark"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("line ends    CRLF"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("records span lines"), std::string::npos) << r.output;
  const std::string schema = Schema("bom", "orders");
  EXPECT_NE(schema.find(R"J({"name": "order_id", "type": "int64", "nullable": false})J"),
            std::string::npos)
      << schema;
  EXPECT_NE(schema.find(R"J({"name": "amount", "type": "decimal(18,2)", "nullable": false})J"),
            std::string::npos)
      << schema;
  EXPECT_NE(schema.find(R"J({"name": "ordered_on", "type": "date", "nullable": false})J"),
            std::string::npos)
      << schema;
  EXPECT_NE(schema.find(R"J({"name": "note", "type": "string"})J"), std::string::npos) << schema;
  EXPECT_NE(r.output.find(R"J(suggestion: "primary_key": ["order_id"])J"), std::string::npos)
      << r.output;
  auto tables = ValidateDeliverRun("bom", "bom_20261124.tar.gz", {"orders_20261124.csv"});
  ExpectLoaded(tables, "orders", 40);
}

TEST_F(InferCli, Cp949SemicolonEuropeanDecimalsAndDottedDatesLoadEveryRow) {
  std::string csv = "주문번호;고객명;결제금액;주문일;상태\r\n";
  const char* names[] = {"홍길동", "김철수", "이영희"};
  for (int i = 0; i < 30; ++i) {
    csv += std::to_string(i + 1) + ";" + names[i % 3] + ";" + std::to_string(1 + i) + "." +
           std::to_string(100 + i * 7) + "," + std::to_string(10 + i) + ";" +
           std::to_string(10 + i % 19) + ".11.2026;" + (i % 2 ? "결제완료" : "환불") + "\r\n";
  }
  const std::string bytes = Encode(csv, "CP949");
  ASSERT_FALSE(bytes.empty());
  auto sample = Sample("hanbit_orders_20261124.csv", bytes);
  auto r = Infer("hanbit", sample);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("encoding     cp949"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("delimiter    \";\""), std::string::npos) << r.output;
  const std::string yaml = ReadFile(dir_ / "partners/hanbit/partner.yaml");
  EXPECT_NE(yaml.find("encoding: cp949, delimiter: \";\""), std::string::npos) << yaml;
  const std::string schema = Schema("hanbit", "hanbit_orders");
  EXPECT_NE(
      schema.find(
          R"J("type": "decimal(18,2)", "nullable": false, "decimal_separator": ",", "thousands_separator": ".", "aliases": ["결제금액"])J"),
      std::string::npos)
      << schema;
  EXPECT_NE(
      schema.find(
          R"J("type": "date", "nullable": false, "format": "%d.%m.%Y", "aliases": ["주문일"])J"),
      std::string::npos)
      << schema;
  auto tables =
      ValidateDeliverRun("hanbit", "hanbit_20261124.tar.gz", {"hanbit_orders_20261124.csv"});
  ExpectLoaded(tables, "hanbit_orders", 30);
}

TEST_F(InferCli, EucKrTextIsReadAsCp949AndLoads) {
  std::string csv =
      "id,도시,인구\n1,서울,9700000\n2,부산,3400000\n3,대구,2400000\n4,인천,2900000\n";
  const std::string bytes = Encode(csv, "EUC-KR");
  ASSERT_FALSE(bytes.empty());
  auto sample = Sample("cities.csv", bytes);
  auto r = Infer("euckr", sample);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("encoding     cp949"), std::string::npos) << r.output;
  auto tables = ValidateDeliverRun("euckr", "euckr_20261124.tar.gz", {"cities.csv"});
  ExpectLoaded(tables, "cities", 4);
}

TEST_F(InferCli, Utf16WithBomAndTabsLoadsEveryRow) {
  std::string csv = "id\tproduct\tprice\tactive\n";
  for (int i = 0; i < 25; ++i) {
    csv += std::to_string(i) + "\tΠροϊόν " + std::to_string(i) + "\t" + std::to_string(i) +
           ".14159" + std::to_string(i % 10) + "\t" + (i % 2 ? "true" : "false") + "\n";
  }
  const std::string bytes = "\xFF\xFE" + Encode(csv, "UTF-16LE");
  auto sample = Sample("products.tsv", bytes);
  auto r = Infer("wide", sample);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("UTF-16 little-endian byte order mark"), std::string::npos) << r.output;
  const std::string schema = Schema("wide", "products");
  EXPECT_NE(schema.find(R"J({"name": "price", "type": "float64", "nullable": false})J"),
            std::string::npos)
      << schema;
  EXPECT_NE(schema.find(R"J({"name": "active", "type": "bool", "nullable": false})J"),
            std::string::npos)
      << schema;
  const std::string yaml = ReadFile(dir_ / "partners/wide/partner.yaml");
  EXPECT_NE(yaml.find("encoding: utf-16, delimiter: \"\\t\""), std::string::npos) << yaml;
  auto tables = ValidateDeliverRun("wide", "wide_20261124.tar.gz", {"products.tsv"});
  ExpectLoaded(tables, "products", 25);
}

TEST_F(InferCli, Windows1252PipesAndEuropeanTimestampsLoadEveryRow) {
  std::string csv = "Kunden-Nr|Name|Betrag|Zeitpunkt|Aktiv\n";
  const char* names[] = {"Müller", "Françoise Dupré", "Straßburger", "Øster"};
  for (int i = 0; i < 20; ++i) {
    csv += std::to_string(500 + i) + "|" + names[i % 4] + "|" + std::to_string(i) + "," +
           std::to_string(i % 10) + "|" + std::to_string(10 + i) + ".11.2026 0" +
           std::to_string(i % 10) + ":3" + std::to_string(i % 6) + "|" + (i % 2 ? "yes" : "no") +
           "\n";
  }
  const std::string bytes = Encode(csv, "WINDOWS-1252");
  ASSERT_FALSE(bytes.empty());
  auto sample = Sample("kunden.csv", bytes);
  auto r = Infer("euro", sample);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("encoding     windows-1252"), std::string::npos) << r.output;
  const std::string schema = Schema("euro", "kunden");
  EXPECT_NE(
      schema.find(
          R"J({"name": "kunden_nr", "type": "int64", "nullable": false, "aliases": ["Kunden-Nr"]})J"),
      std::string::npos)
      << schema;
  EXPECT_NE(schema.find(R"J("type": "timestamp", "nullable": false, "format": "%d.%m.%Y %H:%M")J"),
            std::string::npos)
      << schema;
  EXPECT_NE(
      schema.find(R"J("type": "decimal(18,1)", "nullable": false, "decimal_separator": ",")J"),
      std::string::npos)
      << schema;
  auto tables = ValidateDeliverRun("euro", "euro_20261124.tar.gz", {"kunden.csv"});
  ExpectLoaded(tables, "kunden", 20);
}

TEST_F(InferCli, ShiftJisWithSlashedDatesLoadsEveryRow) {
  std::string csv = "社員番号,氏名,入社日,部署\n";
  const char* names[] = {"山田太郎", "さくら", "カタカナ", "鈴木一郎"};
  for (int i = 0; i < 16; ++i) {
    csv += std::to_string(100 + i) + "," + names[i % 4] + ",2026/" + std::to_string(1 + i % 12) +
           "/" + std::to_string(13 + i) + ",営業部\n";
  }
  const std::string bytes = Encode(csv, "SHIFT_JIS");
  ASSERT_FALSE(bytes.empty());
  auto sample = Sample("staff.csv", bytes);
  auto r = Infer("tokyo", sample);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("encoding     shift_jis"), std::string::npos) << r.output;
  const std::string schema = Schema("tokyo", "staff");
  EXPECT_NE(
      schema.find(
          R"J("type": "date", "nullable": false, "format": "%Y/%m/%d", "aliases": ["入社日"])J"),
      std::string::npos)
      << schema;
  auto tables = ValidateDeliverRun("tokyo", "tokyo_20261124.tar.gz", {"staff.csv"});
  ExpectLoaded(tables, "staff", 16);
}

TEST_F(InferCli, ArchiveWithSeveralCsvFilesDraftsOneSchemaEach) {
  std::string orders = "order_id,amount,status\n";
  for (int i = 0; i < 12; ++i) {
    orders += std::to_string(i + 1) + "," + std::to_string(i) + ".5,paid\n";
  }
  std::string customers = "customer_id;name;since\n";
  for (int i = 0; i < 7; ++i) {
    customers += std::to_string(i + 1) + ";Name " + std::to_string(i) + ";2020-01-0" +
                 std::to_string(i + 1) + "\n";
  }
  dir_.Write("pack/orders_20261124.csv", orders);
  dir_.Write("pack/customers_20261124.csv", orders.substr(0, 0) + customers);
  const auto archive = dir_ / "samples/acme_20261124.tar.gz";
  ASSERT_TRUE(Tar(archive, dir_ / "pack", {"orders_20261124.csv", "customers_20261124.csv"}));
  auto r = Infer("acme", archive);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(std::filesystem::exists(dir_ / "partners/acme/schemas/orders.json")) << r.output;
  EXPECT_TRUE(std::filesystem::exists(dir_ / "partners/acme/schemas/customers.json")) << r.output;
  const std::string yaml = ReadFile(dir_ / "partners/acme/partner.yaml");
  EXPECT_NE(yaml.find(R"J(archive: "acme_{date:%Y%m%d}.tar.gz")J"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find(R"J(orders: {file: "orders_*.csv"})J"), std::string::npos) << yaml;
  // One dialect per partner: the second file's ';' is named as a disagreement.
  EXPECT_NE(r.output.find("looks like delimiter \";\""), std::string::npos) << r.output;
}

TEST_F(InferCli, ArchiveWithTwoTablesInOneDialectLoadsBoth) {
  std::string orders = "order_id,amount,ordered_at\n";
  for (int i = 0; i < 12; ++i) {
    orders += std::to_string(i + 1) + "," + std::to_string(i) + ".25,2026-11-24 10:0" +
              std::to_string(i % 10) + ":00\n";
  }
  std::string customers = "customer_id,name,vip\n";
  for (int i = 0; i < 7; ++i) {
    customers += std::to_string(i + 1) + ",\"Name, " + std::to_string(i) + "\"," +
                 (i % 2 ? "Y" : "N") + "\n";
  }
  dir_.Write("samples/orders_20261124.csv", orders);
  dir_.Write("samples/customers_20261124.csv", customers);
  const auto archive = dir_ / "samples/multi_20261124.tar.gz";
  ASSERT_TRUE(Tar(archive, dir_ / "samples", {"orders_20261124.csv", "customers_20261124.csv"}));
  auto r = Infer("multi", archive);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(Schema("multi", "orders").find(R"J("type": "timestamp")J"), std::string::npos);
  EXPECT_NE(
      Schema("multi", "customers").find(R"J({"name": "vip", "type": "bool", "nullable": false})J"),
      std::string::npos)
      << Schema("multi", "customers");
  auto tables = ValidateDeliverRun("multi", "multi_20261124.tar.gz",
                                   {"orders_20261124.csv", "customers_20261124.csv"});
  ExpectLoaded(tables, "orders", 12);
  ExpectLoaded(tables, "customers", 7);
}

TEST_F(InferCli, ArchiveWithTablesOfDifferentWidthsLoadsEveryRowOfEach) {
  std::string orders = "order_id,customer_id,amount,currency,status,ordered_at,note\n";
  for (int i = 1; i <= 11; ++i) {
    orders += std::to_string(i) + "," + std::to_string(i * 3) + "," + std::to_string(i) +
              ".75,EUR,paid,2026-11-24 10:0" + std::to_string(i % 10) + ":00,\"a, b\"\n";
  }
  std::string products = "sku,title,price\n";
  for (int i = 1; i <= 6; ++i) products += "SKU-" + std::to_string(i) + ",Thing,9.99\n";
  dir_.Write("samples/orders_20261124.csv", orders);
  dir_.Write("samples/products_20261124.csv", products);
  dir_.Write("samples/regions_20261124.csv", "region\nnorth\nsouth\neast\n");
  const auto archive = dir_ / "samples/wide_20261124.tar.gz";
  const std::vector<std::string> members = {"regions_20261124.csv", "orders_20261124.csv",
                                            "products_20261124.csv"};
  ASSERT_TRUE(Tar(archive, dir_ / "samples", members));
  auto r = Infer("wide", archive);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find("do not have"), std::string::npos) << r.output;
  EXPECT_NE(Schema("wide", "orders").find(R"J("name": "note")J"), std::string::npos)
      << Schema("wide", "orders");
  EXPECT_NE(Schema("wide", "products").find(R"J("name": "price")J"), std::string::npos)
      << Schema("wide", "products");
  auto tables = ValidateDeliverRun("wide", "wide_20261124.tar.gz", members);
  ExpectLoaded(tables, "orders", 11);
  ExpectLoaded(tables, "products", 6);
  ExpectLoaded(tables, "regions", 3);
}

TEST_F(InferCli, RefusesToOverwriteWithoutForceNamingTheFile) {
  auto sample = Sample("orders.csv", "id,name\n1,a\n2,b\n");
  ASSERT_EQ(Infer("acme", sample).exit_code, 0);
  const auto yaml_path = dir_ / "partners/acme/partner.yaml";
  dir_.Write("partners/acme/partner.yaml", "# edited by hand\n");
  auto second = Infer("acme", sample);
  EXPECT_EQ(second.exit_code, 2) << second.output;
  EXPECT_NE(second.output.find(yaml_path.string() + " exists; nothing was written"),
            std::string::npos)
      << second.output;
  EXPECT_NE(second.output.find("--force"), std::string::npos) << second.output;
  EXPECT_EQ(ReadFile(yaml_path), "# edited by hand\n");
  auto forced = Infer("acme", sample, " --force");
  EXPECT_EQ(forced.exit_code, 0) << forced.output;
  EXPECT_NE(ReadFile(yaml_path).find("id: acme"), std::string::npos);
}

TEST_F(InferCli, RefusesWhenOnlyASchemaExists) {
  auto sample = Sample("orders.csv", "id,name\n1,a\n2,b\n");
  dir_.Write("partners/acme/schemas/orders.json", "{}\n");
  auto r = Infer("acme", sample);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("orders.json exists"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "partners/acme/partner.yaml"));
  EXPECT_EQ(ReadFile(dir_ / "partners/acme/schemas/orders.json"), "{}\n");
}

TEST_F(InferCli, RefusesABadPartnerIdAndAMissingSample) {
  auto bad = Infer("Not_Valid", dir_ / "samples/none.csv");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find("must match [a-z0-9]"), std::string::npos) << bad.output;
  auto missing = Infer("acme", dir_ / "samples/none.csv");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.output.find("none.csv is not a file"), std::string::npos) << missing.output;
}

}  // namespace
}  // namespace sluice::testing
