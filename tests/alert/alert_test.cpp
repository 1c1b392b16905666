// Alerts: webhooks reach a real HTTP server on 127.0.0.1 with the expected JSON, are retried on
// 5xx with backoff from the injected clock, never throw or fail the caller, never log the URL.
#include "alert/alert.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <nlohmann/json.hpp>

#include "alert/http_sink.h"
#include "testing/temp_dir.h"

namespace sluice::alert {
namespace {

RunReport SampleReport() {
  RunReport r;
  r.run_id = "2026-11-24_101010_abcd";
  r.workflow = "partner_ingestion";
  r.date = "2026-11-24";
  r.state = "failed";
  r.duration_ms = 1500;
  r.failed.push_back({"batch_extract", "globex", "failed", 3, "exit code 1", "line1\nboom"});
  return r;
}

NotifierOptions Opts(FakeClock* clock, int tries = 3,
                     Clock::Duration base = std::chrono::milliseconds(500)) {
  NotifierOptions o;
  o.clock = clock;
  o.webhook_tries = tries;
  o.retry_base = base;
  return o;
}

config::AlertConfig Webhook(const std::string& url, std::vector<std::string> on = {"failure"}) {
  config::AlertConfig a;
  a.on = std::move(on);
  a.webhook = url;
  a.timeout_seconds = 5;
  return a;
}

TEST(Alert, WebhookPostsTheRunReportAsJson) {
  testing::HttpSink sink;
  FakeClock clock;
  Notifier n({Webhook(sink.Url())}, Opts(&clock));
  EXPECT_EQ(n.Notify("failure", SampleReport()), 1);
  auto reqs = sink.WaitFor(1);
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].path, "/hook");
  EXPECT_NE(reqs[0].headers.find("application/json"), std::string::npos);
  auto j = nlohmann::json::parse(reqs[0].body);
  EXPECT_EQ(j["event"], "failure");
  EXPECT_EQ(j["run_id"], "2026-11-24_101010_abcd");
  EXPECT_EQ(j["workflow"], "partner_ingestion");
  EXPECT_EQ(j["date"], "2026-11-24");
  EXPECT_EQ(j["state"], "failed");
  ASSERT_EQ(j["failed"].size(), 1u);
  EXPECT_EQ(j["failed"][0]["task"], "batch_extract");
  EXPECT_EQ(j["failed"][0]["partner"], "globex");
  EXPECT_EQ(j["failed"][0]["attempts"], 3);
  EXPECT_EQ(j["failed"][0]["log_tail"], "line1\nboom");
}

TEST(Alert, OnlyAlertsSubscribedToTheEventFire) {
  testing::HttpSink sink;
  FakeClock clock;
  Notifier n({Webhook(sink.Url("/fail"), {"failure"}), Webhook(sink.Url("/ok"), {"success"})},
             Opts(&clock));
  EXPECT_EQ(n.Notify("success", SampleReport()), 1);
  auto reqs = sink.WaitFor(1);
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].path, "/ok");
  EXPECT_TRUE(n.Wants("failure"));
  EXPECT_FALSE(n.Wants("duration_warning"));
}

TEST(Alert, ServerErrorsAreRetriedWithBackoffFromTheClock) {
  testing::HttpSink sink({500, 503, 200});
  FakeClock clock;
  auto start = clock.Now();
  Notifier n({Webhook(sink.Url())}, Opts(&clock, 3, std::chrono::seconds(2)));
  EXPECT_EQ(n.Notify("failure", SampleReport()), 1);
  EXPECT_EQ(sink.Requests().size(), 3u);
  // 2s then 4s of backoff, taken from the fake clock (no real sleeping).
  EXPECT_EQ(clock.Now() - start, std::chrono::seconds(6));
}

TEST(Alert, ClientErrorsAreNotRetried) {
  testing::HttpSink sink({404});
  FakeClock clock;
  Notifier n({Webhook(sink.Url())}, Opts(&clock));
  EXPECT_EQ(n.Notify("failure", SampleReport()), 0);
  EXPECT_EQ(sink.Requests().size(), 1u);
}

TEST(Alert, UnreachableWebhookIsLoggedWithoutTheSecretUrlAndDoesNotThrow) {
  // A port nobody listens on: bind one, read its number, close it.
  int port;
  {
    testing::HttpSink probe;
    port = probe.port();
  }
  setenv("SLUICE_TEST_HOOK", ("http://127.0.0.1:" + std::to_string(port) + "/T0KEN-s3cret").c_str(),
         1);
  FakeClock clock;
  Notifier n({Webhook("${SLUICE_TEST_HOOK}")}, Opts(&clock, 2));
  ::testing::internal::CaptureStderr();
  int sent = n.Notify("failure", SampleReport());
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(sent, 0);
  EXPECT_NE(err.find("was not delivered"), std::string::npos) << err;
  EXPECT_EQ(err.find("T0KEN-s3cret"), std::string::npos) << err;
  unsetenv("SLUICE_TEST_HOOK");
}

TEST(Alert, UnsetEnvironmentVariableIsReportedNotSent) {
  unsetenv("SLUICE_TEST_UNSET_HOOK");
  FakeClock clock;
  Notifier n({Webhook("${SLUICE_TEST_UNSET_HOOK}")}, Opts(&clock));
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(n.Notify("failure", SampleReport()), 0);
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("SLUICE_TEST_UNSET_HOOK"), std::string::npos) << err;
}

TEST(Alert, CommandAlertGetsTheReportInItsEnvironment) {
  testing::TempDir dir;
  config::AlertConfig a;
  a.on = {"failure"};
  a.command =
      "printf '%s|%s|%s' \"$SLUICE_RUN_ID\" \"$SLUICE_STATE\" \"$SLUICE_ALERT_JSON\" > out.txt";
  a.timeout_seconds = 10;
  NotifierOptions o;
  o.working_dir = dir.path();
  Notifier n({a}, o);
  EXPECT_EQ(n.Notify("failure", SampleReport()), 1);
  std::string out = testing::ReadFile(dir / "out.txt");
  EXPECT_EQ(out.rfind("2026-11-24_101010_abcd|failed|{", 0), 0u) << out;
  EXPECT_NE(out.find("\"partner\":\"globex\""), std::string::npos) << out;
}

TEST(Alert, FailingCommandIsReportedNotThrown) {
  config::AlertConfig a;
  a.on = {"failure"};
  a.command = "exit 3";
  Notifier n({a}, {});
  EXPECT_EQ(n.Notify("failure", SampleReport()), 0);
}

TEST(Alert, TailOfFileKeepsTheLastLines) {
  testing::TempDir dir;
  auto p = dir.Write("a.log", "one\ntwo\nthree\nfour\n");
  EXPECT_EQ(TailOfFile(p, 2), "three\nfour");
  EXPECT_EQ(TailOfFile(p, 10), "one\ntwo\nthree\nfour");
  EXPECT_EQ(TailOfFile(dir / "missing.log"), "");
}

}  // namespace
}  // namespace sluice::alert
