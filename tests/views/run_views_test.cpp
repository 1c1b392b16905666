#include "views/run_views.h"

#include <gtest/gtest.h>

namespace sluice::views {
namespace {

ledger::RunRecord FinishedRun() {
  ledger::RunRecord run;
  run.run_id = "2026-11-24_090000_ab12";
  run.workflow = "wf";
  run.logical_date = "2026-11-24";
  run.state = "failed";
  run.created_ms = 1000;
  run.ended_ms = 3500;
  return run;
}

TEST(RunViews, RunJsonHasTheKeysRunsJsonDocuments) {
  nlohmann::json j = RunJson(FinishedRun());
  EXPECT_EQ(j["run_id"], "2026-11-24_090000_ab12");
  EXPECT_EQ(j["date"], "2026-11-24");
  EXPECT_EQ(j["state"], "failed");
  EXPECT_DOUBLE_EQ(j["duration_seconds"].get<double>(), 2.5);
  EXPECT_TRUE(j.contains("scheduler_gone"));
}

TEST(RunViews, ShowJsonListsEachInstancesAttemptsInOrderAndTheSuccessfulResult) {
  config::Pipeline pipeline;
  pipeline.dir = "/nonexistent";
  ledger::InstanceRecord i;
  i.run_id = "r";
  i.task_key = "merge";
  i.partner = "acme";
  i.state = ledger::State::kSuccess;
  i.attempts = 2;
  ledger::AttemptRecord second;
  second.task_key = "merge";
  second.partner = "acme";
  second.attempt = 2;
  second.state = ledger::State::kSuccess;
  second.result = R"({"rows_loaded": 7})";
  ledger::AttemptRecord first = second;
  first.attempt = 1;
  first.state = ledger::State::kFailed;
  first.result = "not json";
  nlohmann::json j = ShowJson(pipeline, FinishedRun(), {i}, {second, first});
  ASSERT_EQ(j["instances"].size(), 1u);
  const auto& inst = j["instances"][0];
  ASSERT_EQ(inst["history"].size(), 2u);
  EXPECT_EQ(inst["history"][0]["attempt"], 1);
  EXPECT_EQ(inst["history"][0]["result"], nlohmann::json::object());
  EXPECT_EQ(inst["result"]["rows_loaded"], 7);
  EXPECT_TRUE(inst["progress"].is_null());
}

TEST(RunViews, EveryDocumentCarriesTheSchemaVersionAndTheRunsPartners) {
  ledger::RunRecord run = FinishedRun();
  run.params = R"({"partners": ["globex", "acme"], "parallelism": 2})";
  nlohmann::json j = RunJson(run);
  EXPECT_EQ(j["schema_version"], kJsonSchemaVersion);
  EXPECT_EQ(j["partners"], nlohmann::json::array({"acme", "globex"}));
  config::Pipeline pipeline;
  pipeline.dir = "/nonexistent";
  ledger::InstanceRecord i;
  i.task_key = "extract";
  i.partner = "hanbit";
  run.params = "{}";  // a run recorded without partners: its instances say which
  nlohmann::json show = ShowJson(pipeline, run, {i}, {});
  EXPECT_EQ(show["schema_version"], kJsonSchemaVersion);
  EXPECT_EQ(show["partners"], nlohmann::json::array({"hanbit"}));
}

}  // namespace
}  // namespace sluice::views
