// Tests of `sluice serve` over HTTP (a real server on 127.0.0.1, a free port, stopped by pid) and
// of the pieces it is built from: the safety rules (actions off by default; with actions, token
// and Origin), escaping of partners' values, logs only from the logs folder.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "ledger/ledger.h"
#include "serve/backend.h"
#include "serve/dag_export.h"
#include "serve/report.h"
#include "testing/pipeline_fixture.h"

namespace sluice::serve {
namespace {

constexpr char kRunId[] = "2026-11-24_090000_abcd";
constexpr char kToken[] = "test-token-0123456789abcdef";
constexpr char kEvil[] = "<script>window.__xss=1</script>";

// A pipeline with one failed run in its ledger: acme's extract failed with an error naming a
// header "<script>...", its log holds it too, and a rejects file holds it as a rejected value.
// One attempt's log path points outside the logs folder (a tampered ledger).
class ServeFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::WriteSamplePipeline(dir_);
    auto ledger = ledger::OpenLedger("sqlite://./state/ledger.db", dir_.path());
    ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
    ledger::RunRecord run;
    run.run_id = kRunId;
    run.workflow = "test_pipeline";
    run.pipeline_dir = dir_.path().string();
    run.logical_date = "2026-11-24";
    run.params = "{}";
    run.created_ms = 1000;
    std::vector<ledger::InstanceRecord> instances;
    for (const char* task : {"batch_extract", "merge_orders"}) {
      for (const char* partner : {"acme", "globex"}) {
        ledger::InstanceRecord i;
        i.run_id = kRunId;
        i.task_key = task;
        i.partner = partner;
        i.state = ledger::State::kSuccess;
        instances.push_back(i);
      }
    }
    ASSERT_TRUE((*ledger)->CreateRun(run, instances).ok());
    ASSERT_TRUE((*ledger)->FinishRun(kRunId, "failed", 5000).ok());
    log_ =
        dir_.Write(std::string("logs/") + kRunId + "/batch_extract.acme/1.log",
                   std::string("extract: bad header ") + kEvil + "\nuser=x token=" + kToken + "\n");
    Record("batch_extract", "acme", ledger::State::kFailed, log_.string(),
           std::string("column ") + kEvil + " is not in the schema");
    Record("batch_extract", "globex", ledger::State::kSuccess, "/etc/passwd", "");
    dir_.Write("data/rejects/acme/2026-11-24/orders.csv",
               std::string("file,line,column,reason,raw_line\n") + "orders.csv,2,amount,\"" +
                   kEvil + " is not a decimal\",\"1," + kEvil + "\"\n");
  }

  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
      EXPECT_TRUE(WIFEXITED(status)) << "the server did not stop on SIGTERM";
      if (WIFEXITED(status)) {
        EXPECT_EQ(WEXITSTATUS(status), 0);
      }
    }
  }

  void Record(const std::string& task, const std::string& partner, ledger::State state,
              const std::string& log, const std::string& error) {
    auto ledger = ledger::OpenLedger("sqlite://./state/ledger.db", dir_.path());
    ASSERT_TRUE(ledger.ok());
    ledger::InstanceRecord i;
    i.run_id = kRunId;
    i.task_key = task;
    i.partner = partner;
    i.state = state;
    i.attempts = 1;
    i.started_ms = 1000;
    i.ended_ms = 2000;
    i.error = error;
    ledger::AttemptRecord a;
    a.run_id = kRunId;
    a.task_key = task;
    a.partner = partner;
    a.attempt = 1;
    a.state = state;
    a.started_ms = 1000;
    a.ended_ms = 2000;
    a.log_path = log;
    a.error = error;
    a.result = "{}";
    ASSERT_TRUE((*ledger)->RecordAttempt(i, a).ok());
  }

  // Starts `sluice serve DIR --port 0 [extra]`; returns a client for the port it prints.
  std::unique_ptr<httplib::Client> Start(const std::vector<std::string>& extra,
                                         const char* token_env) {
    int out[2];
    EXPECT_EQ(pipe(out), 0);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      close(out[0]);
      if (token_env != nullptr) {
        setenv("SLUICE_SERVE_TOKEN", token_env, 1);
      } else {
        unsetenv("SLUICE_SERVE_TOKEN");
      }
      std::vector<std::string> args = {SLUICE_BINARY, "serve", dir_.path().string(), "--port", "0"};
      args.insert(args.end(), extra.begin(), extra.end());
      std::vector<char*> argv;
      for (auto& s : args) argv.push_back(s.data());
      argv.push_back(nullptr);
      execv(SLUICE_BINARY, argv.data());
      _exit(127);
    }
    close(out[1]);
    // The first line names the port: "sluice serve: http://127.0.0.1:PORT/ (...)".
    std::string line;
    char c;
    while (read(out[0], &c, 1) == 1 && c != '\n') line += c;
    close(out[0]);
    const std::string marker = "http://127.0.0.1:";
    size_t at = line.find(marker);
    EXPECT_NE(at, std::string::npos) << "serve printed: " << line;
    if (at == std::string::npos) return nullptr;
    port_ = std::stoi(line.substr(at + marker.size()));
    auto client = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client->set_read_timeout(30, 0);
    return client;
  }

  std::string Origin() const { return "http://127.0.0.1:" + std::to_string(port_); }

  testing::TempDir dir_;
  std::filesystem::path log_;
  pid_t pid_ = -1;
  int port_ = 0;
};

TEST_F(ServeFixture, ApiRunsHasTheShapeOfRunsJson) {
  auto client = Start({}, nullptr);
  ASSERT_TRUE(client);
  auto res = client->Get("/api/runs");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  auto runs = nlohmann::json::parse(res->body);
  ASSERT_TRUE(runs.is_array());
  ASSERT_EQ(runs.size(), 1u);
  for (const char* key : {"run_id", "workflow", "date", "state", "started_ms", "ended_ms",
                          "duration_seconds", "scheduler_pid", "scheduler_gone"}) {
    EXPECT_TRUE(runs[0].contains(key)) << key;
  }
  EXPECT_EQ(runs[0]["state"], "failed");
  auto filtered = client->Get("/api/runs?state=success");
  ASSERT_TRUE(filtered);
  EXPECT_EQ(nlohmann::json::parse(filtered->body).size(), 0u);
  auto later = client->Get("/api/runs?from=2026-11-25");
  ASSERT_TRUE(later);
  EXPECT_EQ(nlohmann::json::parse(later->body).size(), 0u);
  auto in_range = client->Get("/api/runs?from=2026-11-24&to=2026-11-24&counts=1");
  ASSERT_TRUE(in_range);
  auto counted = nlohmann::json::parse(in_range->body);
  ASSERT_EQ(counted.size(), 1u);
  EXPECT_EQ(counted[0]["partner_count"], 2);
  EXPECT_EQ(counted[0]["instance_states"]["failed"], 1);
}

TEST_F(ServeFixture, WithoutAllowActionsEveryPostIsRefused) {
  auto client = Start({}, kToken);
  ASSERT_TRUE(client);
  httplib::Headers headers = {{"X-Sluice-Token", kToken}, {"Origin", Origin()}};
  for (const std::string& path : {std::string("/api/runs/") + kRunId + "/repair",
                                  std::string("/api/runs/") + kRunId + "/cancel", std::string("/"),
                                  std::string("/api/anything")}) {
    auto res = client->Post(path.c_str(), headers, "", "text/plain");
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 403) << path;
    EXPECT_NE(res->body.find("--allow-actions"), std::string::npos) << res->body;
  }
  auto actions = client->Get("/api/actions");
  ASSERT_TRUE(actions);
  EXPECT_EQ(nlohmann::json::parse(actions->body).size(), 0u) << "nothing was started";
}

TEST_F(ServeFixture, WithActionsAPostWithoutTheTokenOrFromAnotherOriginIsRefused) {
  auto client = Start({"--allow-actions"}, kToken);
  ASSERT_TRUE(client);
  const std::string path = std::string("/api/runs/") + kRunId + "/cancel";
  auto no_token =
      client->Post(path.c_str(), httplib::Headers{{"Origin", Origin()}}, "", "text/plain");
  ASSERT_TRUE(no_token);
  EXPECT_EQ(no_token->status, 401);
  auto wrong_token = client->Post(
      path.c_str(), httplib::Headers{{"Origin", Origin()}, {"X-Sluice-Token", "wrong"}}, "",
      "text/plain");
  ASSERT_TRUE(wrong_token);
  EXPECT_EQ(wrong_token->status, 401);
  auto foreign = client->Post(
      path.c_str(), httplib::Headers{{"Origin", "http://evil.example"}, {"X-Sluice-Token", kToken}},
      "", "text/plain");
  ASSERT_TRUE(foreign);
  EXPECT_EQ(foreign->status, 403);
  EXPECT_NE(foreign->body.find("Origin"), std::string::npos);
  auto cross_site = client->Post(
      path.c_str(), httplib::Headers{{"Sec-Fetch-Site", "cross-site"}, {"X-Sluice-Token", kToken}},
      "", "text/plain");
  ASSERT_TRUE(cross_site);
  EXPECT_EQ(cross_site->status, 403);
  auto actions = client->Get("/api/actions");
  ASSERT_TRUE(actions);
  EXPECT_EQ(nlohmann::json::parse(actions->body).size(), 0u) << "nothing was started";
  // The same request with the token from the dashboard's own origin is accepted.
  auto ok =
      client->Post(path.c_str(), httplib::Headers{{"Origin", Origin()}, {"X-Sluice-Token", kToken}},
                   "", "text/plain");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 202) << ok->body;
}

TEST_F(ServeFixture, AllowActionsWithoutATokenDoesNotStart) {
  int out = open("/dev/null", O_WRONLY);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out, 1);
    dup2(out, 2);
    unsetenv("SLUICE_SERVE_TOKEN");
    execl(SLUICE_BINARY, SLUICE_BINARY, "serve", dir_.path().c_str(), "--port", "0",
          "--allow-actions", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
}

TEST_F(ServeFixture, AHostHeaderOfAnotherSiteIsRefused) {
  auto client = Start({}, nullptr);
  ASSERT_TRUE(client);
  auto res = client->Get("/api/runs", httplib::Headers{{"Host", "evil.example:80"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
}

TEST_F(ServeFixture, PartnersValuesComeBackAsJsonDataNeverAsMarkup) {
  auto client = Start({}, nullptr);
  ASSERT_TRUE(client);
  auto run = client->Get((std::string("/api/runs/") + kRunId).c_str());
  ASSERT_TRUE(run);
  EXPECT_EQ(run->get_header_value("Content-Type"), "application/json; charset=utf-8");
  EXPECT_EQ(run->get_header_value("X-Content-Type-Options"), "nosniff");
  // The value is there, as a JSON string (the page sets it as text).
  auto j = nlohmann::json::parse(run->body);
  bool found = false;
  for (const auto& i : j["instances"]) {
    if (i["error"].get<std::string>().find(kEvil) != std::string::npos) found = true;
  }
  EXPECT_TRUE(found);
  auto rejects = client->Get(
      (std::string("/api/runs/") + kRunId + "/rejects?partner=acme&table=orders").c_str());
  ASSERT_TRUE(rejects);
  ASSERT_EQ(rejects->status, 200) << rejects->body;
  auto r = nlohmann::json::parse(rejects->body);
  ASSERT_EQ(r["rows"].size(), 1u);
  EXPECT_EQ(r["rows"][0][3], std::string(kEvil) + " is not a decimal");
  // The page itself carries no data and forbids inline scripts.
  auto page = client->Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->body.find("__xss"), std::string::npos);
  EXPECT_NE(page->get_header_value("Content-Security-Policy").find("script-src 'self'"),
            std::string::npos);
  // The raw rejects file is an attachment, never rendered.
  auto csv = client->Get(
      (std::string("/api/runs/") + kRunId + "/rejects.csv?partner=acme&table=orders").c_str());
  ASSERT_TRUE(csv);
  EXPECT_NE(csv->get_header_value("Content-Disposition").find("attachment"), std::string::npos);
}

TEST_F(ServeFixture, LogsAreServedOnlyFromThePipelinesLogsFolderWithCredentialsMasked) {
  auto client = Start({}, kToken);
  ASSERT_TRUE(client);
  const std::string base = std::string("/api/runs/") + kRunId + "/log?task=batch_extract";
  auto ok = client->Get((base + "&partner=acme").c_str());
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_NE(ok->body.find("bad header"), std::string::npos);
  EXPECT_EQ(ok->body.find(kToken), std::string::npos) << "a credential of the environment leaked";
  EXPECT_NE(ok->body.find("token=***"), std::string::npos) << ok->body;
  EXPECT_EQ(ok->get_header_value("Content-Type"), "text/plain; charset=utf-8");
  auto outside = client->Get((base + "&partner=globex").c_str());
  ASSERT_TRUE(outside);
  EXPECT_EQ(outside->status, 403);
  EXPECT_EQ(outside->body.find("root:"), std::string::npos);
  auto traversal = client->Get(
      (std::string("/api/runs/") + kRunId + "/log?task=../../../etc&partner=passwd").c_str());
  ASSERT_TRUE(traversal);
  EXPECT_EQ(traversal->status, 404);
  auto rejects = client->Get(
      (std::string("/api/runs/") + kRunId + "/rejects?partner=acme&table=../../../etc/passwd")
          .c_str());
  ASSERT_TRUE(rejects);
  EXPECT_NE(rejects->status, 200);
}

TEST_F(ServeFixture, TheReportCarriesTheRunAndNoValueCanCloseItsScript) {
  config::Diagnostics diags;
  auto pipeline = config::LoadPipeline(dir_.path(), {.diagnostics = &diags});
  ASSERT_TRUE(pipeline.ok()) << pipeline.status().ToString();
  auto backend = Backend::Open(std::move(pipeline).value(), true);
  ASSERT_TRUE(backend.ok());
  auto page = RenderReport(**backend, kRunId);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_EQ(page->find(kEvil), std::string::npos) << "a value came out as markup";
  EXPECT_NE(page->find("\\u003cscript\\u003ewindow.__xss=1"), std::string::npos);
  EXPECT_NE(page->find("bad header"), std::string::npos) << "the failed attempt's log is in";
  EXPECT_EQ(page->find("assets/app.js"), std::string::npos) << "the report links nothing";
  EXPECT_FALSE(RenderReport(**backend, "no-such-run").ok());
}

// Runs the binary with `args`; stdout, and the exit code in *code.
std::string RunSluice(const std::string& args, int* code) {
  std::string out;
  FILE* p = popen((std::string(SLUICE_BINARY) + " " + args + " 2>/dev/null").c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  *code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

TEST_F(ServeFixture, DagAndReportCommandsWriteToStdoutAndRefuseWhatTheyCannotDo) {
  int code = -1;
  const std::string dir = "'" + dir_.path().string() + "'";
  std::string svg = RunSluice("dag " + dir + " --format svg", &code);
  EXPECT_EQ(code, 0);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u) << svg.substr(0, 80);
  EXPECT_NE(svg.find(">merge_orders</text>"), std::string::npos);
  std::string mermaid = RunSluice("dag " + dir + " --format mermaid", &code);
  EXPECT_EQ(code, 0);
  EXPECT_NE(mermaid.find("flowchart LR"), std::string::npos);
  RunSluice("dag " + dir + " --format png", &code);
  EXPECT_EQ(code, 2);
  std::string page = RunSluice(std::string("report ") + dir + " " + kRunId, &code);
  EXPECT_EQ(code, 0);
  EXPECT_EQ(page.rfind("<!doctype html>", 0), 0u);
  RunSluice("report " + dir + " no-such-run", &code);
  EXPECT_EQ(code, 2);
}

TEST(ServeDag, ExportsTheWorkflowInLayersAsDotMermaidAndSvg) {
  config::WorkflowConfig wf;
  wf.name = "wf";
  config::TaskConfig a, b, c;
  a.task_key = "start";
  b.task_key = "extract";
  b.depends_on = {"start"};
  b.for_each_partner = true;
  c.task_key = "a\"<b>";
  c.depends_on = {"extract", "start"};
  wf.tasks = {a, b, c};
  auto nodes = LayOut(wf);
  ASSERT_EQ(nodes.size(), 3u);
  EXPECT_EQ(nodes[0].layer, 0);
  EXPECT_EQ(nodes[1].layer, 1);
  EXPECT_EQ(nodes[2].layer, 2);
  const std::string dot = DagToDot(wf);
  EXPECT_NE(dot.find("\"start\" -> \"extract\""), std::string::npos) << dot;
  EXPECT_NE(dot.find("\"a\\\"<b>\""), std::string::npos) << dot;
  const std::string mermaid = DagToMermaid(wf);
  EXPECT_NE(mermaid.find("t0 --> t1"), std::string::npos) << mermaid;
  EXPECT_NE(mermaid.find("a#quot;#lt;b#gt;"), std::string::npos) << mermaid;
  const std::string svg = DagToSvg(wf);
  EXPECT_NE(svg.find("a&quot;&lt;b&gt;"), std::string::npos);
  EXPECT_EQ(svg.find("<b>"), std::string::npos);
}

TEST(ServeCsv, ReadsQuotedFieldsWithCommasQuotesAndNewlines) {
  const std::string text = "a,\"b,1\",\"say \"\"hi\"\"\",\"two\nlines\"\nnext\n";
  size_t pos = 0;
  auto first = ReadCsvRecord(text, &pos);
  ASSERT_EQ(first.size(), 4u);
  EXPECT_EQ(first[1], "b,1");
  EXPECT_EQ(first[2], "say \"hi\"");
  EXPECT_EQ(first[3], "two\nlines");
  auto second = ReadCsvRecord(text, &pos);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0], "next");
  EXPECT_EQ(pos, text.size());
}

}  // namespace
}  // namespace sluice::serve
