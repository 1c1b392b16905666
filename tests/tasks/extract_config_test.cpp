// partner.yaml checks that extract relies on: table file patterns and limits, reported by
// LoadPipeline (and so `sluice validate`) with file:line.
#include <gtest/gtest.h>

#include "config/pipeline_config.h"
#include "testing/pipeline_fixture.h"
#include "testing/temp_dir.h"

namespace sluice::config {
namespace {

Status LoadWithPartner(const testing::TempDir& dir, const std::string& tables_and_more) {
  testing::WriteSamplePipeline(dir);
  dir.Write("partners/acme/partner.yaml",
            "id: acme\narchive: \"acme_{date:%Y%m%d}.tar.gz\"\n" + tables_and_more);
  return LoadPipeline(dir.path()).status();
}

TEST(PartnerTablePatterns, UnsafeOrUselessPatternsAreRejectedWithFileAndLine) {
  struct Case {
    std::string yaml;
    std::string expect;
  };
  for (const Case& c : std::vector<Case>{
           {"tables:\n  orders: {file: \"\"}\n", "is empty"},
           {"tables:\n  orders: {file: \"..\\\\orders*.csv\"}\n", "backslash"},
           {"tables:\n  orders: {file: \"/export/orders*.csv\"}\n", "no leading"},
           {"tables:\n  orders: {file: \"../orders*.csv\"}\n", "\"..\""},
           {"tables:\n  orders: {file: \"o*.csv\"}\n  refunds: {file: \"o*.csv\"}\n",
            "same file pattern"},
       }) {
    testing::TempDir dir;
    Status st = LoadWithPartner(dir, c.yaml);
    ASSERT_FALSE(st.ok()) << c.yaml;
    EXPECT_NE(st.message().find(c.expect), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("partner.yaml:"), std::string::npos) << st.message();
  }
}

TEST(PartnerTablePatterns, FolderPatternsAndLimitsAreAccepted) {
  testing::TempDir dir;
  dir.Write("partners/acme/schemas/customers.json",
            R"({"table": "customers", "columns": [{"name": "id", "type": "int64"}]})");
  Status st = LoadWithPartner(
      dir,
      "limits: {max_entries: 10, max_entry_bytes: 1MiB, max_total_bytes: 2MiB, max_ratio: 50}\n"
      "tables:\n  orders: {file: \"export/orders_*.csv\"}\n  customers: \"customers*.csv\"\n");
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto p = LoadPipeline(dir.path());
  const PartnerConfig* acme = p->FindPartner("acme");
  ASSERT_NE(acme, nullptr);
  EXPECT_EQ(acme->limits.max_entries, 10);
  EXPECT_EQ(acme->limits.max_entry_bytes, 1 << 20);
  EXPECT_EQ(acme->limits.max_ratio, 50);
  ASSERT_EQ(acme->tables.size(), 2u);
  EXPECT_EQ(acme->tables[0].file, "export/orders_*.csv");
}

}  // namespace
}  // namespace sluice::config
