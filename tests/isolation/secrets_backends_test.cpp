// Secrets canaries beyond the local executor (docs/reliability.md "Secrets"): the `sluice serve`
// token and every dashboard page; runs through the Slurm executor (the generated .sbatch
// scripts, sbatch's arguments, `scontrol show job`, the accounting and the cluster's logs); runs
// with the S3 store (the endpoint's request log and output, and every object it stores); runs
// with the PostgreSQL warehouse and ledger (the server's log with every statement logged, and
// the bytes of its data folder: every table, the ledger's included, and the write-ahead log).
// In each, credentials carry canary values (where a server must accept them, the canary is the
// credential the test server was started with), a command task prints them and fails, the
// failure fires a webhook and a command alert, and every process's command line on the machine
// is sampled while the run goes on. Each canary must appear nowhere.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "isolation/secrets_canary.h"
#include "pg/pg_example.h"
#include "s3/s3_fixture.h"
#include "slurm/slurm_cluster.h"
#include "testing/pipeline_fixture.h"
#include "testing/run_command.h"
#include "testing/temp_dir.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;
using testing::CanaryEnv;
using testing::CanaryValue;
using testing::RunCommand;
using testing::Sluice;
using testing::TempDir;

constexpr char kServeToken[] = "canary-serve-token-4c1b9e27d0";
constexpr char kWebhookToken[] = "canaryWebhookTokenB7e3f1";
// Unique to this test process: the PostgreSQL test starts its server with this password on a
// command line (`PG_PASSWORD=... pg_server.sh start`), which another of these tests running
// beside it (ctest -j) would otherwise find when it samples every process's arguments.
const std::string& PgPasswordCanary() {
  static const std::string value = "canary-pg-password-91d3e5-" + std::to_string(getpid());
  return value;
}

std::string Q(const fs::path& p) { return "'" + p.string() + "'"; }

// The canaries of a run: AWS keys (the S3 test endpoint's own when `s3`), PGPASSWORD, the serve
// token and the webhook URL with its token.
std::vector<CanaryValue> Canaries(bool s3, const std::string& pg_password) {
  std::vector<CanaryValue> c = {
      {"PGPASSWORD", pg_password},
      {"SLUICE_SERVE_TOKEN", kServeToken},
  };
  if (s3) {
    c.push_back({"AWS_ACCESS_KEY_ID", testing::kS3AccessKey});
    c.push_back({"AWS_SECRET_ACCESS_KEY", testing::kS3SecretKey});
  } else {
    c.push_back({"AWS_ACCESS_KEY_ID", "AKIACANARYB7W1M4Q8ZD"});
    c.push_back({"AWS_SECRET_ACCESS_KEY", "canary-aws-secret-e94c2a1f"});
    c.push_back({"AWS_SESSION_TOKEN", "canary-aws-session-0d7b3c"});
  }
  return c;
}

// Counts the places searched; each must hold no canary.
struct Search {
  const CanaryEnv& env;
  int places = 0;
  int files = 0;
  void Check(const std::string& where, const std::string& text) {
    ++places;
    const auto found = env.Found(text);
    EXPECT_TRUE(found.empty()) << where << " holds " << ::testing::PrintToString(found);
  }
  // Every file under `root` but those `skip` names.
  void Tree(const std::string& label, const fs::path& root,
            const std::function<bool(const std::string&)>& skip = nullptr) {
    files += testing::ForEachFile(root, skip, [&](const std::string& rel, const std::string& text) {
      Check(label + "/" + rel, text);
    });
  }
  void Print(const char* what) const {
    std::printf("secrets canaries (%s): %zu secrets searched in %d places (%d files), %s\n", what,
                env.canaries().size() + 1, places, files,
                ::testing::Test::HasFailure() ? "SOME FOUND (see above)" : "0 found");
  }
};

// The canary task (prints every credential, fails) and the alerts its failure fires.
const char* const kLeakTask =
    "  - task_key: leak\n"
    "    command: 'echo \"$AWS_ACCESS_KEY_ID $AWS_SECRET_ACCESS_KEY $AWS_SESSION_TOKEN "
    "$PGPASSWORD $SLACK_WEBHOOK_URL $SLUICE_SERVE_TOKEN\"; exit 1'\n";

std::string Alerts(const fs::path& dir) {
  return "alerts:\n"
         "  - on: [failure]\n    webhook: ${SLACK_WEBHOOK_URL}\n    timeout_seconds: 2\n"
         "  - on: [failure]\n    command: 'printf %s \"$SLUICE_ALERT_JSON\" > " +
         (dir / "alert.json").string() + "'\n";
}

void Append(const fs::path& file, const std::string& text) {
  std::ofstream(file, std::ios::app) << text;
}

// Sets the webhook URL (its token in the path: nothing listens on port 9).
void UseWebhook(CanaryEnv& env) {
  ::setenv("SLACK_WEBHOOK_URL",
           (std::string("http://127.0.0.1:9/services/T000/B000/") + kWebhookToken).c_str(), 1);
  env.AlsoSearch("webhook token", kWebhookToken);
}

// Searches what every run leaves: its output, the sampled command lines, the alert payload,
// show/runs in text and JSON, and every file in the pipeline folder but sluice.yaml.
void SearchRun(Search& s, const fs::path& dir, const std::string& run_output,
               const std::string& cmdlines) {
  s.Check("sluice run's output", run_output);
  s.Check("/proc/*/cmdline during the run", cmdlines);
  const std::string alert = testing::SlurpFile(dir / "alert.json");
  EXPECT_FALSE(alert.empty()) << "the command alert fired";
  s.Check("the failure alert's payload", alert);
  auto runs = RunCommand(Sluice() + " runs " + Q(dir) + " --json 2>/dev/null");
  auto j = nlohmann::json::parse(runs.output, nullptr, false);
  ASSERT_TRUE(j.is_array() && !j.empty()) << runs.output;
  const std::string run_id = j[0]["run_id"];
  for (const std::string& cmd :
       {"show " + Q(dir) + " " + run_id, "show " + Q(dir) + " " + run_id + " --json",
        "runs " + Q(dir), "runs " + Q(dir) + " --json", "summary " + Q(dir) + " " + run_id,
        "logs " + Q(dir) + " " + run_id + " leak"}) {
    s.Check("sluice " + cmd, RunCommand(Sluice() + " " + cmd).output);
  }
  s.Tree("pipeline", dir, [](const std::string& rel) { return rel == "sluice.yaml"; });
}

// ---- sluice serve --------------------------------------------------------------------------

TEST(SecretsCanaryBackends, TheServeTokenAndEveryDashboardPageHoldNoCredential) {
  TempDir dir;
  CanaryEnv env(Canaries(false, PgPasswordCanary()));
  UseWebhook(env);
  testing::WriteSamplePipeline(dir);
  dir.Write("sluice.yaml", std::string(testing::kSluiceYaml) + Alerts(dir.path()));
  dir.Write("workflow.yaml", std::string("name: canary\ntasks:\n") + kLeakTask);
  testing::CmdlineSampler sampler;
  auto run = RunCommand(Sluice() + " run " + Q(dir.path()) + " --date 2026-11-24");
  ASSERT_EQ(run.exit_code, 1) << run.output;

  // The dashboard, with actions (so the token is in use), SLUICE_SERVE_TOKEN from the
  // environment as an operator sets it.
  const fs::path out = dir / "serve.out";
  const pid_t serve = fork();
  ASSERT_GE(serve, 0);
  if (serve == 0) {
    const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execl(SLUICE_BINARY, SLUICE_BINARY, "serve", dir.path().c_str(), "--port", "0",
            "--allow-actions", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const std::string marker = "http://127.0.0.1:";
  int port = 0;
  for (int i = 0; i < 3000 && port == 0; ++i) {  // polled: the server prints its port
    const std::string text = testing::SlurpFile(out);
    if (auto at = text.find(marker); at != std::string::npos) {
      port = std::atoi(text.c_str() + at + marker.size());
    } else {
      ::usleep(10000);
    }
  }
  ASSERT_GT(port, 0) << testing::SlurpFile(out);
  const std::string base = marker + std::to_string(port);
  auto runs = nlohmann::json::parse(
      RunCommand(Sluice() + " runs " + Q(dir.path()) + " --json 2>/dev/null").output, nullptr,
      false);
  ASSERT_TRUE(runs.is_array() && !runs.empty());
  const std::string run_id = runs[0]["run_id"];

  Search s{env};
  auto get = [&](const std::string& path) {
    auto r = RunCommand("curl -s -i --max-time 30 " + Q(base + path));
    EXPECT_EQ(r.exit_code, 0) << path << ": " << r.output;
    s.Check("GET " + path, r.output);
    return r.output;
  };
  const std::string page = get("/");
  get("/index.html");
  std::set<std::string> assets;
  for (size_t at = 0; (at = page.find("assets/", at)) != std::string::npos; ++at) {
    const size_t end = page.find_first_not_of(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-", at + 7);
    assets.insert("/" + page.substr(at, end - at));
  }
  EXPECT_FALSE(assets.empty()) << page;
  for (const std::string& a : assets) get(a);
  for (const std::string& path :
       {std::string("/api/config"), std::string("/api/runs"), std::string("/api/dag"),
        std::string("/api/grid"), std::string("/api/partners"), std::string("/api/partners/acme"),
        "/api/runs/" + run_id, "/api/runs/" + run_id + "/log?task=leak&attempt=1",
        "/api/runs/" + run_id + "/rejects", "/api/runs/" + run_id + "/repair-plan",
        "/api/actions?run=" + run_id}) {
    get(path);
  }
  // A repair started from the dashboard with the token: its child runs without the token, and
  // its log, like every other file, holds no canary.
  // The token goes to curl in a file, not in its arguments (the sampler reads those).
  TempDir headers;
  headers.Write("h", std::string("X-Sluice-Token: ") + kServeToken + "\nOrigin: " + base + "\n");
  auto post = RunCommand("curl -s -i --max-time 30 -X POST --data '' -H @" + Q(headers / "h") +
                         " " + Q(base + "/api/runs/" + run_id + "/repair"));
  EXPECT_NE(post.output.find(" 202"), std::string::npos) << post.output;
  s.Check("POST repair", post.output);
  bool repaired = false;
  for (int i = 0; i < 6000 && !repaired; ++i) {  // polled: the repair's second attempt of leak
    auto show = nlohmann::json::parse(
        RunCommand(Sluice() + " show " + Q(dir.path()) + " " + run_id + " --json 2>/dev/null")
            .output,
        nullptr, false);
    repaired = show.is_object() && show["state"] != "running" &&
               show["instances"][0]["attempts"].get<int>() >= 2;
    if (!repaired) ::usleep(20000);
  }
  EXPECT_TRUE(repaired) << "the dashboard's repair ran leak again";
  get("/api/actions?run=" + run_id);
  get("/api/runs/" + run_id + "/log?task=leak&attempt=2");
  ::kill(serve, SIGTERM);
  int status = 0;
  ::waitpid(serve, &status, 0);
  s.Check("sluice serve's output", testing::SlurpFile(out));
  SearchRun(s, dir.path(), run.output, sampler.Stop());
  s.Print("serve");
}

// ---- the Slurm executor --------------------------------------------------------------------

TEST(SecretsCanaryBackends, SlurmJobScriptsArgumentsAndAccountingHoldNoCredential) {
  testing::SlurmCluster cluster;
  ASSERT_TRUE(cluster.started()) << cluster.output();
  const fs::path dir = cluster.dir() / "p";
  CanaryEnv env(Canaries(false, PgPasswordCanary()));
  UseWebhook(env);
  auto r = RunCommand(Sluice() + " init " + Q(dir) + " --sample-data --rows 50 --date 2026-11-24");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  Append(dir / "sluice.yaml",
         "executor: {type: slurm, partition: etl, poll_seconds: 0.2}\n" + Alerts(dir));
  Append(dir / "workflow.yaml", kLeakTask);
  testing::CmdlineSampler sampler;
  auto run = RunCommand(Sluice() + " run " + Q(dir) + " --date 2026-11-24 --parallelism 4");
  ASSERT_EQ(run.exit_code, 1) << run.output;
  const std::string cmdlines = sampler.Stop();
  EXPECT_NE(cmdlines.find("sbatch"), std::string::npos) << "sbatch's arguments were sampled";

  Search s{env};
  SearchRun(s, dir, run.output, cmdlines);
  // Every job: scontrol show job (with its batch script) and the accounting.
  auto runs = nlohmann::json::parse(
      RunCommand(Sluice() + " runs " + Q(dir) + " --json 2>/dev/null").output, nullptr, false);
  auto show =
      nlohmann::json::parse(RunCommand(Sluice() + " show " + Q(dir) + " " +
                                       runs[0]["run_id"].get<std::string>() + " --json 2>/dev/null")
                                .output,
                            nullptr, false);
  int jobs = 0, scripts = 0;
  std::string job_text;
  for (const auto& inst : show["instances"]) {
    for (const auto& a : inst["history"]) {
      EXPECT_EQ(a["executor"], "slurm");
      const std::string id = a["executor_id"];
      job_text += RunCommand("scontrol show job -dd " + id).output;
      job_text += RunCommand("scontrol write batch_script " + id + " -").output;
      ++jobs;
      scripts += fs::exists(a["log"].get<std::string>() + ".sbatch");
    }
  }
  EXPECT_GT(jobs, 10);
  EXPECT_EQ(scripts, jobs) << "each job's .sbatch script is in the logs folder (searched above)";
  s.Check("scontrol show job -dd / write batch_script of every job", job_text);
  s.Check("sacct -c", RunCommand("sacct -c -a -P -o JobID,JobName,State,ExitCode,WorkDir").output);
  // The cluster's files: logs, the completion log, slurmd's spool and slurmctld's state (the job
  // scripts it keeps). Not searched: the job's environment slurmctld keeps beside the script
  // (state/hash.N/job.N/environment): sbatch hands the job the submitting environment, the
  // credentials included, as the attempt needs them (docs/reliability.md says so).
  int environments = 0, holding = 0;
  s.Tree("cluster", cluster.dir() / "cluster", [&](const std::string& rel) {
    const bool skip = rel.ends_with("/environment");
    environments += skip;
    holding += skip && !env.Found(testing::SlurpFile(cluster.dir() / "cluster" / rel)).empty();
    return skip;
  });
  std::printf("slurm: %d jobs, %d .sbatch scripts, %d job environment files not searched\n", jobs,
              scripts, environments);
  // The search does see the credentials where they are: the jobs' environments.
  EXPECT_GT(environments, 0);
  EXPECT_EQ(holding, environments);
  s.Print("slurm");
}

// ---- the S3 store --------------------------------------------------------------------------

TEST(SecretsCanaryBackends, AnS3RunLeavesNoCredentialInTheEndpointsLogsObjectsOrArguments) {
  TempDir tmp;
  testing::S3TestServer server(tmp / "s3");
  ASSERT_EQ(server.Start(), "");
  testing::S3TestServer::UseCredentials();
  CanaryEnv env(Canaries(true, PgPasswordCanary()));
  UseWebhook(env);
  const fs::path dir = tmp / "p";
  auto r = RunCommand(Sluice() + " init " + Q(dir));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string yaml = testing::ReadFileText(dir / "sluice.yaml");
  const std::string local = "store: file://./data";
  ASSERT_NE(yaml.find(local), std::string::npos);
  yaml.replace(yaml.find(local), local.size(),
               std::string("store: s3://") + testing::kS3Bucket + "/canary");
  std::ofstream(dir / "sluice.yaml", std::ios::trunc)
      << yaml << "s3:\n  endpoint: " << server.endpoint() << "\n  path_style: true\n"
      << Alerts(dir);
  Append(dir / "workflow.yaml", kLeakTask);
  r = RunCommand(Sluice() + " init --data-only " + Q(dir) +
                 " --rows 50 --seed 11 --date 2026-11-24");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  testing::CmdlineSampler sampler;
  auto run = RunCommand(Sluice() + " run " + Q(dir) + " --date 2026-11-24 --parallelism 2");
  ASSERT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("merge_table_1[acme] attempt 1 succeeded"), std::string::npos)
      << "the run worked on S3: " << run.output;
  Search s{env};
  SearchRun(s, dir, run.output, sampler.Stop());
  EXPECT_GT(server.Requests().size(), 20u);
  s.Tree("the S3 endpoint's folder (request log, output, stored objects)", tmp / "s3");
  s.Print("s3");
}

// ---- PostgreSQL ----------------------------------------------------------------------------

TEST(SecretsCanaryBackends, APostgresqlRunLeavesNoPasswordInTheServersLogTablesOrArguments) {
  TempDir tmp;
  const fs::path state = tmp / "pg";
  const std::string script = std::string(SLUICE_SOURCE_DIR) + "/tests/pg/pg_server.sh";
  // A server of this test's own whose password is the canary, logging every connection and
  // every statement, so whatever sluice sends is in its log.
  auto started = RunCommand("PG_PASSWORD='" + PgPasswordCanary() +
                            "' PG_SETTINGS='-c log_statement=all -c log_connections=on' " + script +
                            " start " + Q(state));
  ASSERT_EQ(started.exit_code, 0) << started.output;
  struct Stop {
    std::string cmd;
    ~Stop() { (void)RunCommand(cmd); }
  } stop{script + " stop " + Q(state)};
  const std::string state_env = testing::ReadFileText(state / "env");
  const size_t at = state_env.find("PGPORT=");
  ASSERT_NE(at, std::string::npos) << state_env;
  const std::string port = state_env.substr(at + 7, state_env.find('\n', at) - at - 7);
  const std::string url = "postgresql://postgres@127.0.0.1:" + port + "/postgres";
  CanaryEnv env(Canaries(false, PgPasswordCanary()));
  UseWebhook(env);
  const fs::path dir = tmp / "p";
  testing::InitExample(dir, url, 50);
  Append(dir / "sluice.yaml", Alerts(dir));
  Append(dir / "workflow.yaml", kLeakTask);
  testing::CmdlineSampler sampler;
  auto run = RunCommand(Sluice() + " run " + Q(dir) + " --date 2026-11-24 --parallelism 2");
  ASSERT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("merge_table_1[acme] attempt 1 succeeded"), std::string::npos)
      << "the run worked on PostgreSQL: " << run.output;
  Search s{env};
  SearchRun(s, dir, run.output, sampler.Stop());
  // The server's log (every statement) and the bytes of its data folder: every table (the
  // ledger's in _sluice, the warehouse's, the catalogs) and the write-ahead log. The password
  // file pg_server.sh wrote for initdb is the test's, not sluice's.
  const fs::path data = testing::ReadFileText(state / "datadir")
                            .substr(0, testing::ReadFileText(state / "datadir").find('\n'));
  const std::string log = testing::SlurpFile(data / "server.log");
  EXPECT_NE(log.find("_sluice"), std::string::npos) << "the server logged sluice's statements";
  s.Check("the server's log (log_statement = all)", log);
  (void)RunCommand("psql " + Q(url) + " -c CHECKPOINT");
  s.Tree("the server's data folder", data, [](const std::string& rel) { return rel == "pwfile"; });
  // Compressed (TOASTed) values hide from a byte search: every table as text too, the ledger's
  // (schema _sluice) and every partner's warehouse.
  const std::string dump =
      RunCommand("/usr/lib/postgresql/15/bin/pg_dump --data-only " + Q(url)).output;
  EXPECT_NE(dump.find("COPY _sluice.attempts"), std::string::npos) << dump.substr(0, 2000);
  EXPECT_NE(dump.find("COPY acme.orders"), std::string::npos);
  s.Check("pg_dump --data-only of the database (ledger and warehouse tables)", dump);
  // The search does see the password where it is: the test server's own state file.
  EXPECT_EQ(env.Found(testing::SlurpFile(state / "env")), std::vector<std::string>{"PGPASSWORD"});
  s.Print("postgresql");
}

}  // namespace
}  // namespace sluice
