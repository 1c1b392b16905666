// The merge builtin with tables that are not CSV (issue 24): partner.yaml's `format: ndjson` and
// `format: xlsx` (with `sheet:`) reach the reader, the rows land in the partner's SQLite table,
// and bad lines land in rejects/ with their line; partner.yaml's format keys are validated.
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/pipeline_config.h"
#include "store/object_store.h"
#include "tasks/builtins.h"
#include "testing/pipeline_fixture.h"
#include "testing/temp_dir.h"
#include "warehouse/warehouse.h"

namespace sluice::tasks {
namespace {

using testing::TempDir;

constexpr const char* kDate = "2026-11-24";

class MergeFormatsTest : public ::testing::Test {
 protected:
  void SetUp() override { testing::WriteSamplePipeline(dir_); }

  // acme's orders table read from `source` (the value of `orders:` in partner.yaml).
  void OrdersSource(const std::string& source) {
    std::string yaml = testing::PartnerYaml("acme");
    const std::string table = "{file: \"orders*.csv\"}";
    yaml.replace(yaml.find(table), table.size(), source);
    dir_.Write("partners/acme/partner.yaml", yaml);
  }

  store::ObjectStore* Store() {
    if (!store_) store_ = std::move(*store::OpenStore("file://./data", dir_.path()));
    return store_.get();
  }

  // The raw file and the extract manifest the merge reads.
  void Extracted(const std::string& name, const std::string& content) {
    const std::string key = std::string("raw/acme/") + kDate + "/" + name;
    ASSERT_TRUE(Store()->Put(key, content).ok());
    nlohmann::json m = {{"partner", "acme"}, {"date", kDate}, {"run_id", "r1"}};
    m["files"] = nlohmann::json::array({{{"member", name},
                                         {"key", key},
                                         {"table", "orders"},
                                         {"bytes", content.size()},
                                         {"checksum", "x"}}});
    ASSERT_TRUE(
        Store()->Put(std::string("manifests/acme/") + kDate + "/extract.json", m.dump()).ok());
  }

  Status RunMerge(nlohmann::json* result) {
    auto p = config::LoadPipeline(dir_.path());
    if (!p.ok()) return p.status();
    pipeline_ = std::move(*p);
    task_ = config::TaskConfig();
    task_.task_key = "merge_orders";
    task_.builtin = "merge";
    task_.for_each_partner = true;
    task_.params = *config::ParseYaml("{table: orders}", "params.yaml");
    TaskContext ctx;
    ctx.pipeline = &pipeline_;
    ctx.task = &task_;
    ctx.run_id = "run-1";
    ctx.date = *ParseDate(kDate);
    ctx.partner = "acme";
    Status st = RunBuiltin(ctx);
    *result = ctx.result;
    return st;
  }

  std::vector<std::string> Rows(const std::string& sql) {
    auto wh = warehouse::OpenWarehouse("sqlite://./warehouse", dir_.path(), "acme");
    EXPECT_TRUE(wh.ok());
    auto r = (*wh)->Query(sql);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::vector<std::string> out;
    if (!r.ok()) return out;
    for (const auto& row : r->rows) {
      std::string line;
      for (const auto& v : row) line += (line.empty() ? "" : "|") + v.value_or("NULL");
      out.push_back(line);
    }
    return out;
  }

  TempDir dir_;
  config::Pipeline pipeline_;
  config::TaskConfig task_;
  std::unique_ptr<store::ObjectStore> store_;
};

TEST_F(MergeFormatsTest, AnNdjsonTableLoadsIntoTheWarehouseWithItsRejects) {
  OrdersSource("{file: \"orders*.jsonl\", format: ndjson}");
  dir_.Write("partners/acme/schemas/orders.json", R"JSON({"table": "orders", "columns": [
    {"name": "order_id", "type": "int64", "nullable": false, "aliases": ["OrderID"]},
    {"name": "amount", "type": "decimal(12,2)"}, {"name": "status", "type": "string"}],
    "primary_key": ["order_id"], "merge": "upsert", "max_reject_ratio": 0.5})JSON");
  Extracted("orders.jsonl",
            "{\"OrderID\": 1, \"amount\": 12.3, \"status\": \"paid\"}\n"
            "{\"status\": \"refunded\", \"OrderID\": 2}\n"
            "{\"OrderID\": 3, \"amount\": \"x\"}\n"
            "not json\n");
  nlohmann::json result;
  Status st = RunMerge(&result);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(result["rows_read"], 4);
  EXPECT_EQ(result["rows_loaded"], 2);
  EXPECT_EQ(Rows("SELECT order_id, amount, status FROM orders ORDER BY order_id"),
            (std::vector<std::string>{"1|12.30|paid", "2|NULL|refunded"}));
  auto rejects = Store()->Get(std::string("rejects/acme/") + kDate + "/orders.csv");
  ASSERT_TRUE(rejects.ok());
  EXPECT_NE(rejects->find("raw/acme/2026-11-24/orders.jsonl,3,amount,"), std::string::npos)
      << *rejects;
  EXPECT_NE(rejects->find("raw/acme/2026-11-24/orders.jsonl,4,,"), std::string::npos) << *rejects;
}

// A zip of `parts` (name, content), in memory.
std::string Zip(const std::vector<std::pair<std::string, std::string>>& parts) {
  std::string out(size_t{1} << 20, '\0');
  size_t used = 0;
  archive* a = archive_write_new();
  archive_write_set_format_zip(a);
  archive_write_open_memory(a, out.data(), out.size(), &used);
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
  out.resize(used);
  return out;
}

TEST_F(MergeFormatsTest, AnXlsxSheetNamedInPartnerYamlLoadsIntoTheWarehouse) {
  OrdersSource("{file: \"orders*.xlsx\", format: xlsx, sheet: Orders}");
  const std::string sheet =
      "<worksheet><sheetData><row r=\"1\"><c t=\"inlineStr\"><is><t>OrderID</t></is></c>"
      "<c t=\"inlineStr\"><is><t>amount</t></is></c><c t=\"s\"><v>0</v></c></row>"
      "<row r=\"2\"><c><v>1</v></c><c><v>12.3</v></c><c t=\"s\"><v>1</v></c></row>"
      "<row r=\"3\"/>"
      "<row r=\"4\"><c><v>2</v></c><c><f>B2*2</f><v>24.6</v></c></row>"
      "</sheetData></worksheet>";
  Extracted("orders.xlsx",
            Zip({{"xl/worksheets/sheet1.xml", "<worksheet><sheetData/></worksheet>"},
                 {"xl/worksheets/sheet2.xml", sheet},
                 {"xl/sharedStrings.xml", "<sst><si><t>status</t></si><si><t>paid</t></si></sst>"},
                 {"xl/_rels/workbook.xml.rels",
                  "<Relationships><Relationship Id=\"rId1\" Target=\"worksheets/sheet1.xml\"/>"
                  "<Relationship Id=\"rId2\" Target=\"/xl/worksheets/sheet2.xml\"/>"
                  "</Relationships>"},
                 {"xl/workbook.xml",
                  "<workbook xmlns:r=\"r\"><sheets><sheet name=\"Cover\" r:id=\"rId1\"/>"
                  "<sheet name=\"Orders\" r:id=\"rId2\"/></sheets></workbook>"}}));
  nlohmann::json result;
  Status st = RunMerge(&result);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(result["rows_read"], 2);
  EXPECT_EQ(Rows("SELECT order_id, amount, status FROM orders ORDER BY order_id"),
            (std::vector<std::string>{"1|12.30|paid", "2|24.60|NULL"}));
}

TEST_F(MergeFormatsTest, PartnerYamlRefusesAnUnknownFormatAndASheetForCsv) {
  OrdersSource("{file: \"orders*.csv\", format: parquet}");
  auto unknown = config::LoadPipeline(dir_.path());
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("partners/acme/partner.yaml:"), std::string::npos);
  EXPECT_NE(unknown.status().message().find("format \"parquet\" is not one sluice reads"),
            std::string::npos)
      << unknown.status().message();
  OrdersSource("{file: \"orders*.csv\", sheet: Orders}");
  auto sheet = config::LoadPipeline(dir_.path());
  ASSERT_FALSE(sheet.ok());
  EXPECT_NE(
      sheet.status().message().find("sheet and max_shared_strings_bytes are for format: xlsx"),
      std::string::npos)
      << sheet.status().message();
}

}  // namespace
}  // namespace sluice::tasks
