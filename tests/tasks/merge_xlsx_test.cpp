// MergeTableFiles with `format: xlsx` (issue 24): an Excel sheet, written here as a real zip with
// libarchive (no binary committed), loads the same rows as the same data in CSV: shared and
// inline strings, numbers, booleans, date cells (serial numbers, 1900 and 1904 systems) read by
// the column's type, formula cells by their cached value, an empty row skipped, the sheet chosen
// by name, and the zip's parts in an order that needs both passes.
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/pipeline_config.h"
#include "csv/tokenizer.h"
#include "tasks/merge_table.h"
#include "warehouse/warehouse.h"

namespace sluice::tasks {
namespace {

// A zip of `parts` (name, content) in that order, deflated, in memory.
std::string Zip(const std::vector<std::pair<std::string, std::string>>& parts) {
  std::string out(size_t{4} << 20, '\0');
  size_t used = 0;
  archive* a = archive_write_new();
  archive_write_set_format_zip(a);
  EXPECT_EQ(archive_write_open_memory(a, out.data(), out.size(), &used), ARCHIVE_OK);
  for (const auto& [name, content] : parts) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    EXPECT_EQ(archive_write_header(a, e), ARCHIVE_OK);
    EXPECT_EQ(archive_write_data(a, content.data(), content.size()),
              static_cast<la_ssize_t>(content.size()));
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  out.resize(used);
  return out;
}

constexpr const char* kNs =
    "xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
    "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\"";

std::string Workbook(bool date1904) {
  return std::string("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<workbook ") +
         kNs + ">" + (date1904 ? "<workbookPr date1904=\"1\"/>" : "<workbookPr/>") +
         "<sheets><sheet name=\"Notes\" sheetId=\"1\" r:id=\"rId1\"/>"
         "<sheet name=\"Stores\" sheetId=\"2\" r:id=\"rId2\"/></sheets></workbook>";
}

constexpr const char* kRels =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships "
    "xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
    "<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/"
    "relationships/worksheet\" Target=\"worksheets/sheet1.xml\"/>"
    "<Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/"
    "relationships/worksheet\" Target=\"worksheets/sheet2.xml\"/>"
    "<Relationship Id=\"rId3\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/"
    "relationships/sharedStrings\" Target=\"sharedStrings.xml\"/></Relationships>";

// Shared strings 0..4; 3 is rich text in two runs with a phonetic run that is not its text.
constexpr const char* kSharedStrings =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><sst "
    "xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" count=\"5\" "
    "uniqueCount=\"5\"><si><t>store_id</t></si><si><t>Name</t></si><si><t>opened_at</t></si>"
    "<si><r><t>Seoul, </t></r><r><rPr><b/></rPr><t>Gangnam</t></r><rPh sb=\"0\" eb=\"1\">"
    "<t>ソウル</t></rPh></si><si><t xml:space=\"preserve\">active</t></si></sst>";

// The Stores sheet: a header of shared and inline strings; rows with numbers, a date and
// timestamp as serial numbers, booleans, a formula's cached string and number; an empty row (a
// styled cell without a value), a row whose trailing cells are left out.
constexpr const char* kStoresSheet =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><worksheet "
    "xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>"
    "<row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c><c r=\"B1\" t=\"s\"><v>1</v></c>"
    "<c r=\"C1\" t=\"inlineStr\"><is><t>opened_on</t></is></c><c r=\"D1\" t=\"s\"><v>2</v></c>"
    "<c r=\"E1\" t=\"s\"><v>4</v></c><c r=\"F1\" t=\"inlineStr\"><is><t>revenue</t></is></c></row>"
    "<row r=\"2\"><c r=\"A2\"><v>1</v></c><c r=\"B2\" t=\"s\"><v>3</v></c><c r=\"C2\" s=\"1\">"
    "<v>45658</v></c><c r=\"D2\" s=\"2\"><v>45658.5</v></c><c r=\"E2\" t=\"b\"><v>1</v></c>"
    "<c r=\"F2\"><v>1234.5</v></c></row>"
    "<row r=\"3\"><c r=\"A3\" s=\"1\"/><c r=\"B3\" t=\"s\" s=\"3\"/></row>"
    "<row r=\"4\"><c r=\"A4\"><v>2</v></c><c r=\"B4\" t=\"str\"><f>CONCAT(\"Busan "
    "\",\"\"\"Port\"\"\")"
    "</f><v>Busan \"Port\"</v></c><c r=\"C4\"><v>45292</v></c><c r=\"D4\"><v>45292.25</v></c>"
    "<c r=\"E4\" t=\"b\"><v>0</v></c><c r=\"F4\"><f>F2*2</f><v>2469</v></c></row>"
    "<row r=\"6\"><c r=\"A6\"><v>3</v></c><c r=\"B6\" t=\"inlineStr\"><is><t>Daegu</t></is></c>"
    "</row></sheetData></worksheet>";

constexpr const char* kNotesSheet =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><worksheet "
    "xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>"
    "<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>not this sheet</t></is></c></row>"
    "</sheetData></worksheet>";

// The sheets come before the shared strings and the workbook: the reader cannot know which part
// is its sheet, or what a string index means, until it has read past them.
std::string StoresWorkbook(bool date1904 = false, const std::string& stores = kStoresSheet) {
  return Zip({{"[Content_Types].xml", "<Types/>"},
              {"xl/worksheets/sheet1.xml", kNotesSheet},
              {"xl/worksheets/sheet2.xml", stores},
              {"xl/sharedStrings.xml", kSharedStrings},
              {"xl/_rels/workbook.xml.rels", kRels},
              {"xl/workbook.xml", Workbook(date1904)}});
}

class RecordingWriter : public warehouse::TableWriter {
 public:
  explicit RecordingWriter(std::vector<std::string>* rows) : rows_(rows) {}
  Status Add(std::span<const warehouse::Value> values, std::string_view,
             std::string_view rescued) override {
    std::string row;
    for (const warehouse::Value& v : values) {
      switch (v.kind) {
        case warehouse::ValueKind::kNull:
          row += "NULL|";
          break;
        case warehouse::ValueKind::kInt:
          row += "i" + std::to_string(v.i) + "|";
          break;
        case warehouse::ValueKind::kReal:
          row += "d" + std::to_string(v.d) + "|";
          break;
        case warehouse::ValueKind::kText:
          row += "s" + std::string(v.s) + "|";
          break;
      }
    }
    rows_->push_back(row + std::string(rescued));
    return Status::Ok();
  }
  Result<warehouse::MergeCounts> Commit() override {
    warehouse::MergeCounts c;
    c.loaded = c.inserted = static_cast<int64_t>(rows_->size());
    return c;
  }
  void Rollback() override { rows_->clear(); }

 private:
  std::vector<std::string>* rows_;
};

class RecordingWarehouse : public warehouse::Warehouse {
 public:
  Result<std::unique_ptr<warehouse::TableWriter>> BeginMerge(
      const warehouse::MergeTarget&) override {
    return std::unique_ptr<warehouse::TableWriter>(new RecordingWriter(&rows));
  }
  Result<warehouse::QueryResult> Query(std::string_view, int64_t, int64_t*) override {
    return warehouse::QueryResult{};
  }
  Status Execute(std::string_view) override { return Status::Ok(); }
  Result<bool> TableExists(std::string_view) override { return true; }
  Result<std::vector<std::vector<std::string>>> UniqueKeys(std::string_view) override {
    return std::vector<std::vector<std::string>>{};
  }
  std::string Describe() const override { return "recording"; }
  std::vector<std::string> rows;
};

config::TableSchema StoresSchema() {
  config::TableSchema s;
  s.table = "stores";
  auto col = [](std::string name, config::ColumnType type, bool nullable = true) {
    config::ColumnSchema c;
    c.name = std::move(name);
    c.type = type;
    c.nullable = nullable;
    return c;
  };
  config::ColumnSchema revenue = col("revenue", config::ColumnType::kDecimal);
  revenue.precision = 12;
  revenue.scale = 2;
  s.columns = {col("store_id", config::ColumnType::kInt64, false),
               col("name", config::ColumnType::kString),
               col("opened_on", config::ColumnType::kDate),
               col("opened_at", config::ColumnType::kTimestamp),
               col("active", config::ColumnType::kBool),
               revenue};
  s.max_reject_ratio = 1.0;
  return s;
}

struct Loaded {
  Status status;
  std::vector<std::string> rows;
  std::string rejects;
  TableMergeStats stats;
};

Loaded Load(std::string data, config::TableFormat format, std::string sheet = "Stores",
            int64_t max_shared = int64_t{1} << 20) {
  config::TableSchema schema = StoresSchema();
  RecordingWarehouse wh;
  warehouse::MergeTarget target;
  target.schema = &schema;
  MergeOptions options;
  options.format = format;
  options.sheet = std::move(sheet);
  options.max_shared_strings_bytes = max_shared;
  auto held = std::make_shared<std::string>(std::move(data));
  MergeFile file{"stores.file", [held]() -> Result<std::unique_ptr<csv::ByteSource>> {
                   return std::unique_ptr<csv::ByteSource>(new csv::StringSource(*held));
                 }};
  Loaded out;
  auto stats = MergeTableFiles(
      schema, config::CsvDialect{}, &wh, target, {file},
      [&](std::string_view chunk) {
        out.rejects.append(chunk);
        return Status::Ok();
      },
      options);
  out.status = stats.status();
  if (stats.ok()) out.stats = *stats;
  out.rows = wh.rows;
  return out;
}

TEST(MergeXlsx, ASheetLoadsTheSameRowsAsTheSameDataInCsv) {
  const std::string csv =
      "store_id,Name,opened_on,opened_at,active,revenue\n"
      "1,\"Seoul, Gangnam\",2025-01-01,2025-01-01 12:00:00,true,1234.5\n"
      "2,\"Busan \"\"Port\"\"\",2024-01-01,2024-01-01 06:00:00,false,2469\n"
      "3,Daegu,,,,\n";
  Loaded from_csv = Load(csv, config::TableFormat::kCsv);
  Loaded from_xlsx = Load(StoresWorkbook(), config::TableFormat::kXlsx);
  ASSERT_TRUE(from_csv.status.ok()) << from_csv.status.ToString();
  ASSERT_TRUE(from_xlsx.status.ok()) << from_xlsx.status.ToString();
  ASSERT_EQ(from_csv.rows.size(), 3u) << from_csv.rejects;
  EXPECT_EQ(from_xlsx.rows, from_csv.rows) << from_xlsx.rejects;
  EXPECT_EQ(from_xlsx.stats.rows_read, 3);  // the empty row 3 is skipped, not rejected
  EXPECT_EQ(from_xlsx.stats.rows_rejected, 0);
  // The rows are the right ones, not merely equal.
  EXPECT_EQ(from_xlsx.rows[0], "i1|sSeoul, Gangnam|s2025-01-01|s2025-01-01 12:00:00|i1|s1234.50|");
  EXPECT_EQ(from_xlsx.rows[2], "i3|sDaegu|NULL|NULL|NULL|NULL|");
}

TEST(MergeXlsx, The1904DateSystemCountsFrom1904) {
  const std::string sheet =
      "<worksheet><sheetData><row r=\"1\"><c t=\"inlineStr\"><is><t>store_id</t></is></c>"
      "<c t=\"inlineStr\"><is><t>opened_on</t></is></c></row>"
      "<row r=\"2\"><c><v>7</v></c><c><v>0</v></c></row>"
      "<row r=\"3\"><c><v>8</v></c><c><v>44196</v></c></row></sheetData></worksheet>";
  Loaded got = Load(StoresWorkbook(/*date1904=*/true, sheet), config::TableFormat::kXlsx);
  ASSERT_TRUE(got.status.ok()) << got.status.ToString();
  ASSERT_EQ(got.rows.size(), 2u) << got.rejects;
  EXPECT_EQ(got.rows[0], "i7|NULL|s1904-01-01|NULL|NULL|NULL|");
  EXPECT_EQ(got.rows[1], "i8|NULL|s2025-01-01|NULL|NULL|NULL|");  // 44196 + 1462 = 45658 in 1900's
}

TEST(MergeXlsx, CellsThatAreNoValueOfTheColumnAreRejectedWithTheirRow) {
  const std::string sheet =
      "<worksheet><sheetData><row r=\"1\"><c t=\"inlineStr\"><is><t>store_id</t></is></c>"
      "<c t=\"inlineStr\"><is><t>opened_on</t></is></c></row>"
      "<row r=\"2\"><c><v>1</v></c><c><v>45658.75</v></c></row>"
      "<row r=\"5\"><c t=\"e\"><v>#N/A</v></c></row>"
      "<row r=\"6\"><c><v>2</v></c><c><v>60</v></c></row>"
      "<row r=\"7\"><c><v>3</v></c><c><v>45659</v></c></row></sheetData></worksheet>";
  Loaded got = Load(StoresWorkbook(false, sheet), config::TableFormat::kXlsx);
  ASSERT_TRUE(got.status.ok()) << got.status.ToString();
  EXPECT_EQ(got.rows, std::vector<std::string>{"i3|NULL|s2025-01-02|NULL|NULL|NULL|"});
  EXPECT_EQ(got.stats.rows_rejected, 3);
  EXPECT_NE(got.rejects.find("stores.file,2,opened_on,type: the spreadsheet number 45658.75 is "
                             "not a date"),
            std::string::npos)
      << got.rejects;
  EXPECT_NE(got.rejects.find("stores.file,5,store_id,\"type: \"\"#N/A\"\" is not an int64"),
            std::string::npos)
      << got.rejects;
  // 60 is the 29th of February 1900, which Excel counts and the calendar does not.
  EXPECT_NE(got.rejects.find("stores.file,6,opened_on,type: the spreadsheet number 60"),
            std::string::npos)
      << got.rejects;
}

TEST(MergeXlsx, AnUnknownSheetNamesTheSheetsThereAre) {
  Loaded got = Load(StoresWorkbook(), config::TableFormat::kXlsx, "Stors");
  ASSERT_FALSE(got.status.ok());
  const std::string message = got.status.ToString();
  EXPECT_NE(message.find("no sheet \"Stors\""), std::string::npos) << message;
  EXPECT_NE(message.find("(its sheets: Notes, Stores)"), std::string::npos) << message;
  EXPECT_NE(message.find("stores.file"), std::string::npos) << message;
  EXPECT_TRUE(got.rows.empty());
}

TEST(MergeXlsx, TheFirstSheetWithoutASheetName) {
  Loaded got = Load(StoresWorkbook(), config::TableFormat::kXlsx, "");
  // Notes has no store_id column: its header is what fails, which shows it was the one read.
  ASSERT_FALSE(got.status.ok());
  EXPECT_NE(got.status.ToString().find("store_id"), std::string::npos) << got.status.ToString();
}

TEST(MergeXlsx, SharedStringsOverTheirBoundFailTheFileNamingTheSetting) {
  Loaded got = Load(StoresWorkbook(), config::TableFormat::kXlsx, "Stores", /*max_shared=*/16);
  ASSERT_FALSE(got.status.ok());
  EXPECT_NE(got.status.ToString().find("max_shared_strings_bytes"), std::string::npos)
      << got.status.ToString();
}

TEST(MergeXlsx, AFileThatIsNoWorkbookIsRefused) {
  Loaded got = Load("store_id\n1\n", config::TableFormat::kXlsx);
  ASSERT_FALSE(got.status.ok());
  EXPECT_NE(got.status.ToString().find("not an xlsx workbook"), std::string::npos)
      << got.status.ToString();
}

}  // namespace
}  // namespace sluice::tasks
