// expected_by and the late_partner alert: the sensor, on a scripted clock, sends the alert once
// when a partner's delivery is not complete by its time in the pipeline's time zone, and keeps
// waiting.
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/strings.h"
#include "tasks/extract_test_support.h"
#include "tasks/wait_for_sources.h"

namespace sluice::tasks {
namespace {

// A fake clock whose n-th SleepFor() first runs a hook: the world acting while the sensor waits.
// Its wall time starts at 2027-01-15 08:00:00 UTC (17:00 in Asia/Seoul).
class ScriptedClock final : public Clock {
 public:
  TimePoint Now() override { return fake_.Now(); }
  std::chrono::system_clock::time_point WallNow() override { return fake_.WallNow(); }
  void SleepFor(Duration d) override {
    ++sleeps;
    fake_.Advance(d);
    if (on_sleep) on_sleep(sleeps);
  }
  int sleeps = 0;
  std::function<void(int)> on_sleep;

 private:
  FakeClock fake_;
};

class LatePartner : public testing::PipelineFixture {
 protected:
  void SetUp() override {
    PipelineFixture::SetUp();
    // 17:30 in Seoul is 08:30 UTC: late after 30 minutes of the clock; in UTC it would not be.
    dir_.Write("sluice.yaml",
               "name: test_pipeline\ntimezone: Asia/Seoul\n"
               "store: file://./area/data\nparallelism: 2\n"
               "alerts:\n  - on: [late_partner]\n"
               "    command: 'printf \"%s\\n\" \"$SLUICE_ALERT_JSON\" >> " +
                   (dir_ / "alerts.txt").string() + "'\n");
    dir_.Write("workflow.yaml",
               "name: test_pipeline\ntasks:\n  - task_key: wait_all\n"
               "    builtin: wait_for_sources\n"
               "    params: {poke_interval_seconds: 60, timeout_seconds: 7200}\n");
    std::string yaml = testing::PartnerYaml("acme") + "expected_by: \"17:30\"\n";
    dir_.Write("partners/acme/partner.yaml", yaml);
    Load();
    // globex has delivered; acme has not.
    Deliver("globex");
  }
  void Deliver(const std::string& partner) {
    dir_.Write("area/data/landing/" + partner + "/2027-01-15/" + partner + "_20270115.tar.gz",
               "archive");
    dir_.Write("area/data/landing/" + partner + "/2027-01-15/_SUCCESS", "");
  }
  Status Wait() {
    TaskContext ctx = Ctx("", "wait_all");
    ctx.date = Date{2027, 1, 15};
    return WaitForSources(ctx, &clock_);
  }
  std::vector<std::string> Alerts() {
    std::vector<std::string> lines;
    for (const std::string& line : Split(testing::ReadFile(dir_ / "alerts.txt"), '\n')) {
      if (!line.empty()) lines.push_back(line);
    }
    return lines;
  }
  ScriptedClock clock_;
};

TEST_F(LatePartner, AlertFiresOnceAtExpectedByWhileTheSensorKeepsWaiting) {
  int alerts_at_29 = -1;
  int alerts_at_30 = -1;
  clock_.on_sleep = [&](int n) {
    // The n-th sleep ends at 17:00 + n minutes; the poke after it sees that time.
    if (n == 29) alerts_at_29 = static_cast<int>(Alerts().size());
    if (n == 31) alerts_at_30 = static_cast<int>(Alerts().size());
    if (n == 50) Deliver("acme");
  };
  Status st = Wait();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(clock_.sleeps, 50) << "the sensor kept waiting after the alert, until acme came";
  EXPECT_EQ(alerts_at_29, 0) << "not late at 17:29";
  EXPECT_EQ(alerts_at_30, 1) << "late at 17:30";
  std::vector<std::string> alerts = Alerts();
  ASSERT_EQ(alerts.size(), 1u) << "once, though 20 more pokes found acme missing";
  nlohmann::json j = nlohmann::json::parse(alerts[0]);
  EXPECT_EQ(j["event"], "late_partner");
  EXPECT_EQ(j["partner"], "acme");
  EXPECT_EQ(j["expected_by"], "17:30");
  EXPECT_EQ(j["date"], "2027-01-15");
  EXPECT_NE(j["missing"].get<std::string>().find("landing/acme/2027-01-15/acme_20270115.tar.gz"),
            std::string::npos)
      << j.dump();
}

TEST_F(LatePartner, ARetriedSensorDoesNotAlertAgainForTheSameDate) {
  Status first = Wait();
  EXPECT_EQ(first.code(), StatusCode::kTimeout) << first.ToString();
  ASSERT_EQ(Alerts().size(), 1u);
  Status retry = Wait();
  EXPECT_EQ(retry.code(), StatusCode::kTimeout) << retry.ToString();
  EXPECT_EQ(Alerts().size(), 1u) << "the date's alert was sent by the first attempt";
}

TEST_F(LatePartner, APartnerOnTimeGetsNoAlert) {
  clock_.on_sleep = [&](int n) {
    if (n == 10) Deliver("acme");
  };
  ASSERT_TRUE(Wait().ok());
  EXPECT_TRUE(Alerts().empty());
}

TEST_F(LatePartner, ExpectedByMustBeATimeOfDay) {
  dir_.Write("partners/acme/partner.yaml", testing::PartnerYaml("acme") + "expected_by: \"9am\"\n");
  auto p = config::LoadPipeline(dir_.path());
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("partner.yaml:"), std::string::npos) << p.status().message();
  EXPECT_NE(p.status().message().find("\"9am\" is not a time of day; write HH:MM"),
            std::string::npos)
      << p.status().message();
}

}  // namespace
}  // namespace sluice::tasks
