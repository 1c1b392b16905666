// LoadOptions::isolate_partners (issue 24): a partner whose own files are invalid is set aside
// with its errors (file:line) while the others load; an error outside every partner's folder
// still fails the load; without the option (validate, --strict-config) any error fails it.
#include <gtest/gtest.h>

#include "config/pipeline_config.h"
#include "config/reader.h"
#include "testing/pipeline_fixture.h"

namespace sluice::config {
namespace {

using sluice::testing::TempDir;

TEST(PartnerIsolation, ABrokenSchemaSetsItsPartnerAsideWithTheErrorAndLoadsTheOthers) {
  TempDir dir;
  sluice::testing::WriteSamplePipeline(dir);
  dir.Write("partners/globex/schemas/orders.json",
            "{\n  \"table\": \"orders\",\n  \"columns\": [\n    {\"name\": \"order_id\", "
            "\"type\": \"int46\"}\n  ]\n}\n");
  auto strict = LoadPipeline(dir.path());
  ASSERT_FALSE(strict.ok());
  EXPECT_NE(strict.status().message().find("partners/globex/schemas/orders.json:4"),
            std::string::npos)
      << strict.status().message();

  Diagnostics diags;
  LoadOptions options;
  options.diagnostics = &diags;
  options.isolate_partners = true;
  auto isolated = LoadPipeline(dir.path(), options);
  ASSERT_TRUE(isolated.ok()) << isolated.status().ToString();
  EXPECT_EQ(isolated->partners.count("acme"), 1u);
  EXPECT_EQ(isolated->partners.count("globex"), 0u);
  ASSERT_EQ(isolated->broken_partners.count("globex"), 1u);
  const BrokenPartner& globex = isolated->broken_partners.at("globex");
  EXPECT_TRUE(globex.enabled);
  ASSERT_EQ(globex.errors.size(), 1u);
  EXPECT_TRUE(globex.errors[0].starts_with("partners/globex/schemas/orders.json:4:"))
      << globex.errors[0];
  EXPECT_NE(globex.errors[0].find("int46"), std::string::npos) << globex.errors[0];
  EXPECT_TRUE(diags.HasErrors());  // still reported, for the run to print
}

TEST(PartnerIsolation, AnUnparsablePartnerYamlAndAnIdMismatchAreThePartnersOwn) {
  TempDir dir;
  sluice::testing::WriteSamplePipeline(dir);
  dir.Write("partners/acme/partner.yaml", "id: acme\ntables: [unclosed\n");
  dir.Write("partners/globex/partner.yaml",
            sluice::testing::PartnerYaml("globex").replace(0, 10, "id: other\n"));
  LoadOptions options;
  options.isolate_partners = true;
  Diagnostics diags;
  options.diagnostics = &diags;
  auto p = LoadPipeline(dir.path(), options);
  // Both partners are set aside; the pipeline itself is fine.
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(p->partners.empty());
  EXPECT_EQ(p->broken_partners.count("acme"), 1u);
  EXPECT_EQ(p->broken_partners.count("globex"), 1u);
}

TEST(PartnerIsolation, AnErrorOutsideThePartnersStillFailsTheLoad) {
  TempDir dir;
  sluice::testing::WriteSamplePipeline(dir);
  dir.Write("partners/globex/schemas/orders.json", "{ not json");
  dir.Write("workflow.yaml", std::string(sluice::testing::kWorkflowYaml) + "bogus_key: 1\n");
  LoadOptions options;
  options.isolate_partners = true;
  auto p = LoadPipeline(dir.path(), options);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("workflow.yaml"), std::string::npos);
  EXPECT_NE(p.status().message().find("partners/globex/schemas/orders.json"), std::string::npos);
}

TEST(PartnerIsolation, PartnerFolderOfNamesOnlyFilesInsideAPartnersFolder) {
  EXPECT_EQ(PartnerFolderOf("partners/acme/partner.yaml"), "acme");
  EXPECT_EQ(PartnerFolderOf("partners/acme/schemas/orders.json"), "acme");
  EXPECT_EQ(PartnerFolderOf("partners/acme/"), "acme");
  EXPECT_EQ(PartnerFolderOf("partners/"), "");
  EXPECT_EQ(PartnerFolderOf("workflow.yaml"), "");
  EXPECT_EQ(PartnerFolderOf("sluice.yaml"), "");
}

}  // namespace
}  // namespace sluice::config
