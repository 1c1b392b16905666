// Secrets canaries (docs/reliability.md): credentials get unique canary values in the
// environment, a run of a pipeline whose command task prints them (and samples the command line
// of every process on the machine while the run is going) fails and fires a failing webhook
// alert and a command alert; then every place sluice writes or prints is searched for the
// canaries: its own output, sluice's log lines, the ledger file, manifests and the rest of the
// store, the alert's payload, `show`/`runs`/`summary` output, and the command lines sampled.
//
// The attempt log of a task that prints a secret is filtered as it is written (the test below).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "testing/pipeline_fixture.h"
#include "testing/run_command.h"
#include "testing/temp_dir.h"

namespace sluice {
namespace {

using testing::RunCommand;
using testing::Sluice;
using testing::TempDir;

struct Canary {
  const char* env;
  const char* value;
};
// Each value is unique and long enough to be registered (8+ bytes).
constexpr Canary kCanaries[] = {
    {"AWS_ACCESS_KEY_ID", "AKIACANARY7Q3X9K2M1P"},
    {"AWS_SECRET_ACCESS_KEY", "canary-aws-secret-5d1f0c9e7b"},
    {"AWS_SESSION_TOKEN", "canary-aws-session-8e2a4b6c"},
    {"PGPASSWORD", "canary-pg-password-3f7d"},
};
// The webhook's URL carries a token in its path, as Slack's do.
constexpr char kWebhookToken[] = "canaryWebhookToken9b8c7d";
// A credential whose name says nothing: masked only because sluice.yaml lists it in redact_env.
constexpr char kListedEnv[] = "ACME_PORTAL_PASSPHRASE";
constexpr char kListedValue[] = "canary-listed-passphrase-6a2e";

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string Q(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

class SecretsCanary : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const Canary& c : kCanaries) setenv(c.env, c.value, 1);
    setenv(kListedEnv, kListedValue, 1);
    // Port 9 (discard) on 127.0.0.1: nothing listens, so the webhook alert fails.
    setenv("SLACK_WEBHOOK_URL",
           (std::string("http://127.0.0.1:9/services/T000/B000/") + kWebhookToken).c_str(), 1);
    testing::WriteSamplePipeline(dir_);
    const std::string dump = (dir_ / "cmdlines.txt").string();
    dir_.Write("sluice.yaml",
               std::string(testing::kSluiceYaml) + "redact_env: [" + kListedEnv + "]\n" +
                   "alerts:\n"
                   "  - on: [failure]\n    webhook: ${SLACK_WEBHOOK_URL}\n    timeout_seconds: 2\n"
                   "  - on: [failure]\n    command: 'printf %s \"$SLUICE_ALERT_JSON\" > " +
                   (dir_ / "alert.json").string() + "'\n");
    // The task prints every credential, samples every process's command line (the scheduler,
    // its attempt processes, this shell) while the run is going, and fails.
    dir_.Write("workflow.yaml",
               "name: canary\ntasks:\n"
               "  - task_key: leak\n"
               "    command: 'echo \"$AWS_ACCESS_KEY_ID $AWS_SECRET_ACCESS_KEY $AWS_SESSION_TOKEN "
               "$PGPASSWORD $SLACK_WEBHOOK_URL\"; echo \"listed: $" +
                   std::string(kListedEnv) +
                   "\"; for f in /proc/[0-9]*/cmdline; do tr \"\\000\" "
                   "\" \" < \"$f\" 2>/dev/null; echo; done > " +
                   dump + "; exit 1'\n");
  }
  void TearDown() override {
    for (const Canary& c : kCanaries) unsetenv(c.env);
    unsetenv(kListedEnv);
    unsetenv("SLACK_WEBHOOK_URL");
  }

  // Every canary found in `text`, for a message.
  static std::vector<std::string> Found(const std::string& text) {
    std::vector<std::string> found;
    for (const Canary& c : kCanaries) {
      if (text.find(c.value) != std::string::npos) found.push_back(c.env);
    }
    if (text.find(kWebhookToken) != std::string::npos) found.push_back("webhook token");
    if (text.find(kListedValue) != std::string::npos) found.push_back(kListedEnv);
    return found;
  }

  std::string RunId() {
    auto r = RunCommand(Sluice() + " runs " + Q(dir_.path()) + " --json 2>/dev/null");
    auto at = r.output.find("\"run_id\":");
    if (at == std::string::npos) return "";
    auto open = r.output.find('"', at + 9);
    return r.output.substr(open + 1, r.output.find('"', open + 1) - open - 1);
  }

  TempDir dir_;
};

TEST_F(SecretsCanary, NoCredentialAppearsAnywhereSluiceWritesOrPrints) {
  auto run = RunCommand(Sluice() + " run " + Q(dir_.path()) + " --date 2026-11-24");
  ASSERT_EQ(run.exit_code, 1) << "the task fails, so the run does: " << run.output;
  const std::string run_id = RunId();
  ASSERT_FALSE(run_id.empty());

  int places = 0;
  auto check = [&](const std::string& where, const std::string& text) {
    ++places;
    EXPECT_TRUE(Found(text).empty()) << where << " holds " << ::testing::PrintToString(Found(text));
  };
  check("sluice run's output", run.output);
  // The sampled command lines prove the task ran while the scheduler was alive.
  const std::string cmdlines = Slurp(dir_ / "cmdlines.txt");
  ASSERT_NE(cmdlines.find("run"), std::string::npos) << "the task sampled /proc/*/cmdline";
  check("/proc/*/cmdline during the run", cmdlines);
  const std::string alert = Slurp(dir_ / "alert.json");
  ASSERT_FALSE(alert.empty()) << "the command alert fired";
  check("the failure alert's payload", alert);
  for (const std::string& cmd : {"show " + Q(dir_.path()) + " " + run_id,
                                 "show " + Q(dir_.path()) + " " + run_id + " --json",
                                 "runs " + Q(dir_.path()), "runs " + Q(dir_.path()) + " --json"}) {
    auto r = RunCommand(Sluice() + " " + cmd);
    check("sluice " + cmd, r.output);
  }
  // Every file sluice wrote: the ledger (binary SQLite, searched as bytes), the store, sluice's
  // own logs (attempt logs: the test below).
  int files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir_.path())) {
    if (!e.is_regular_file()) continue;
    const std::string rel = e.path().lexically_relative(dir_.path()).string();
    if (rel == "cmdlines.txt" || rel == "alert.json" || rel == "sluice.yaml") continue;
    const bool attempt_log = rel.starts_with("logs/") && e.path().extension() == ".log" &&
                             rel.find("/leak/") != std::string::npos;
    if (attempt_log) continue;
    ++files;
    check(rel, Slurp(e.path()));
  }
  EXPECT_GT(files, 0);
  std::printf(
      "secrets canaries: %zu credentials + 1 webhook token searched in %d places (%d "
      "files), %d found\n",
      std::size(kCanaries), places, files, ::testing::Test::HasFailure() ? -1 : 0);
}

// A command task's output reaches its attempt log through the redaction filter: every
// credential it prints (and the value of the variable listed under redact_env:) is masked, in
// the log file and in `sluice logs`, and the rest of its output is kept.
TEST_F(SecretsCanary, AttemptLogsMaskCredentialsATaskPrints) {
  auto run = RunCommand(Sluice() + " run " + Q(dir_.path()) + " --date 2026-11-24");
  ASSERT_EQ(run.exit_code, 1) << run.output;
  auto logs = RunCommand(Sluice() + " logs " + Q(dir_.path()) + " " + RunId() + " leak");
  EXPECT_TRUE(Found(logs.output).empty()) << logs.output;
  EXPECT_NE(logs.output.find("listed: ***"), std::string::npos)
      << "the task's own words stay, the secret is masked: " << logs.output;
  int attempt_logs = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir_.path() / "logs")) {
    if (e.path().extension() != ".log" || e.path().string().find("/leak/") == std::string::npos) {
      continue;
    }
    ++attempt_logs;
    const std::string text = Slurp(e.path());
    EXPECT_TRUE(Found(text).empty())
        << e.path() << " holds " << ::testing::PrintToString(Found(text));
  }
  EXPECT_GT(attempt_logs, 0) << "the leak task's attempt logs were searched";
}

}  // namespace
}  // namespace sluice
