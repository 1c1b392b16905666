// End-to-end: command alerts for success and duration_warning, fired by `sluice run`.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "e2e/engine_e2e_util.h"
#include "warehouse/warehouse.h"

namespace sluice {
namespace {

using namespace testing;  // NOLINT: test helpers

TEST(EngineAlert, DurationWarningFiresWhileTheRunIsStillGoing) {
  TempDir dir;
  // The task only finishes once the warning has been delivered, which proves it was sent
  // during the run (and the run fails if it never comes).
  WriteEnginePipeline(dir, R"(name: long
tasks:
  - task_key: long
    command: 'for i in $(seq 1 400); do [ -e warned ] && exit 0; sleep 0.05; done; exit 1'
)",
                      "alerts:\n"
                      "  - on: [duration_warning]\n    threshold_seconds: 1\n"
                      "    command: 'echo \"$SLUICE_ALERT_EVENT $SLUICE_STATE\" > warned'\n"
                      "  - on: [success]\n"
                      "    command: 'echo \"$SLUICE_RUN_ID $SLUICE_STATE\" > succeeded'\n");
  auto r = RunCommand(Sluice() + " run " + Q(dir.path()) + " --date 2026-11-24");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(ReadFile(dir / "warned"), "duration_warning running\n");
  EXPECT_EQ(ReadFile(dir / "succeeded"), LatestRunId(dir) + " success\n");
}

TEST(EngineAlert, NoFailureAlertForASuccessfulRunAfterRetries) {
  TempDir dir;
  WriteEnginePipeline(dir, R"(name: retry
tasks:
  - task_key: flaky
    command: 'if [ -e once ]; then exit 0; fi; touch once; exit 1'
    max_retries: 1
    min_retry_interval_millis: 1
)",
                      "alerts:\n  - on: [failure]\n    command: 'touch alerted'\n");
  auto r = RunCommand(Sluice() + " run " + Q(dir.path()) + " --date 2026-11-24");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "alerted")) << "a retried failure is not an alert";
}

TEST(EngineAlert, ARepairsAlertGivesTheRunsWholeDuration) {
  TempDir dir;
  WriteEnginePipeline(dir, R"(name: late
tasks:
  - task_key: a
    command: '[ -e fixed ]'
)",
                      "alerts:\n  - on: [success]\n    command: 'echo \"$SLUICE_ALERT_JSON\" > "
                      "alert.json'\n");
  auto r = RunCommand(Sluice() + " run " + Q(dir.path()) + " --date 2026-11-24");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  const std::string run_id = LatestRunId(dir);
  // The run started an hour ago (written into the ledger, not waited for).
  {
    auto ledger = warehouse::OpenWarehouse("sqlite://./state", dir.path(), "ledger");
    ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
    ASSERT_TRUE((*ledger)->Execute("UPDATE runs SET created_ms = created_ms - 3600000").ok());
  }
  dir.Write("fixed", "");
  auto repair = RunCommand(Sluice() + " repair " + Q(dir.path()) + " " + run_id);
  EXPECT_EQ(repair.exit_code, 0) << repair.output;
  auto alert = nlohmann::json::parse(ReadFile(dir / "alert.json"), nullptr, false);
  ASSERT_TRUE(alert.is_object()) << ReadFile(dir / "alert.json");
  EXPECT_GE(alert["duration_seconds"].get<double>(), 3600.0) << alert.dump();
}

TEST(EngineAlert, ACommandAlertThatHangsHoldsUpNoTaskAndSecretsStayOutOfItsLogTail) {
  TempDir dir;
  // `fail` fails at once: its failure alert blocks on a FIFO. Meanwhile `slow` must still be
  // timed out after its 1 s, which the test sees in the ledger before it lets the alert go.
  WriteEnginePipeline(dir, R"(name: hang
tasks:
  - task_key: fail
    command: 'echo "key=$SLUICE_TEST_SECRET_KEY"; exit 1'
  - task_key: slow
    command: 'exec sleep 300'
    timeout_seconds: 1
)",
                      "alerts:\n  - on: [failure]\n    command: 'cat alert.fifo > /dev/null; "
                      "echo \"$SLUICE_ALERT_JSON\" > alert.json'\n    timeout_seconds: 120\n");
  MakeFifo(dir / "alert.fifo");
  const std::string secret = "s3cr3t-value-42";
  setenv("SLUICE_TEST_SECRET_KEY", secret.c_str(), 1);
  pid_t pid = StartSluice({"run", dir.path().string(), "--date", "2026-11-24"}, dir / "run.log");
  unsetenv("SLUICE_TEST_SECRET_KEY");
  bool timed_out = false;
  for (int i = 0; i < 30000 && !timed_out; ++i) {
    const std::string log = ReadFile(dir / "run.log");
    timed_out = log.find("slow attempt 1 timed out") != std::string::npos;
    if (!timed_out) usleep(1000);
  }
  WriteFifo(dir / "alert.fifo", "go");
  EXPECT_EQ(WaitExit(pid), 1);
  ASSERT_TRUE(timed_out) << ReadFile(dir / "run.log");
  const std::string alert = ReadFile(dir / "alert.json");
  EXPECT_NE(alert.find("key=***"), std::string::npos) << alert;
  EXPECT_EQ(alert.find(secret), std::string::npos) << alert;
}

TEST(EngineAlert, ASilentWebhookHoldsUpNoTaskAndItsUrlIsNeverPrinted) {
  // An endpoint that takes the connection and never answers: each of the webhook's three tries
  // waits its whole timeout. Meanwhile a task must still be timed out on time, and the URL
  // (a token) must not show up even in what a task printed before the first alert went out.
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(listener, 16), 0);  // never accept()ed: the kernel completes the handshake
  socklen_t len = sizeof addr;
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string url =
      "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/hooks/T0KEN-s3cret";
  TempDir dir;
  WriteEnginePipeline(dir, R"(name: silent
tasks:
  - task_key: fails
    command: 'echo "posting to $HOOK" >&2; sleep 0.3; exit 1'
  - task_key: slow
    command: 'sleep 30'
    timeout_seconds: 1
)",
                      "alerts:\n  - on: [failure]\n    webhook: ${HOOK}\n    timeout_seconds: 3\n");
  auto r = RunCommand("HOOK='" + url + "' " + Sluice() + " run " + Q(dir.path()) +
                      " --date 2026-11-24 --kill-grace-seconds 0 --parallelism 2");
  close(listener);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(r.output.find("T0KEN-s3cret"), std::string::npos) << r.output;
  auto show = ShowJson(dir, LatestRunId(dir));
  EXPECT_EQ(show.dump().find("T0KEN-s3cret"), std::string::npos) << show.dump();
  auto inst = InstancesByName(show);
  EXPECT_EQ(inst["slow"]["state"], "timed_out");
  // Timed out after about its 1 s, not after the webhook's ~10 s of tries.
  const auto& h = inst["slow"]["history"][0];
  EXPECT_LT(h["ended_ms"].get<int64_t>() - h["started_ms"].get<int64_t>(), 6000) << h.dump();
}

}  // namespace
}  // namespace sluice
