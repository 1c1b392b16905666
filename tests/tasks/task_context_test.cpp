#include "tasks/task_context.h"

#include <gtest/gtest.h>

#include "config/pipeline_config.h"
#include "testing/pipeline_fixture.h"

namespace sluice::tasks {
namespace {

TEST(TaskContext, SqlPlaceholdersBecomeQuotedLiterals) {
  TaskContext ctx;
  ctx.date = Date{2026, 11, 24};
  ctx.run_id = "r'1";
  EXPECT_EQ(ExpandSqlPlaceholders("SELECT * FROM t WHERE d = {date} AND p = {partner} "
                                  "AND r = {run_id} AND d2 = {date}",
                                  ctx, "acme"),
            "SELECT * FROM t WHERE d = '2026-11-24' AND p = 'acme' AND r = 'r''1' AND "
            "d2 = '2026-11-24'");
}

TEST(TaskContext, TargetPartnersIsOwnPartnerOrEveryEnabledOne) {
  sluice::testing::TempDir dir;
  sluice::testing::WriteSamplePipeline(dir);
  auto pipeline = config::LoadPipeline(dir.path());
  ASSERT_TRUE(pipeline.ok()) << pipeline.status().ToString();
  TaskContext ctx;
  ctx.pipeline = &*pipeline;
  auto all = ctx.TargetPartners();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0]->id, "acme");
  ctx.partner = "globex";
  auto one = ctx.TargetPartners();
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0]->id, "globex");
  ctx.partner = "nobody";
  EXPECT_EQ(ctx.TargetPartners().status().code(), StatusCode::kNotFound);

  // A run of chosen partners (sluice run --partners): whole-run tasks work on those only.
  ctx.partner = "";
  ctx.run_partners = {"globex"};
  auto chosen = ctx.TargetPartners();
  ASSERT_TRUE(chosen.ok());
  ASSERT_EQ(chosen->size(), 1u);
  EXPECT_EQ((*chosen)[0]->id, "globex");
  ctx.partner = "acme";  // a per-partner task still works on its own partner
  EXPECT_EQ((*ctx.TargetPartners())[0]->id, "acme");
}

}  // namespace
}  // namespace sluice::tasks
