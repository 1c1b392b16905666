// The example pipeline on PostgreSQL (warehouse and ledger in one database) under failures:
//   - a merge attempt SIGKILLed while its COPY streams leaves its table unchanged, and
//     `sluice repair` completes the run with the tables of a clean run;
//   - the server restarted mid-run (stopped by pid, started again on the same port): the
//     affected attempts fail as retryable with a message saying so, their retries succeed, the
//     scheduler's ledger connection comes back, and the tables equal a clean run's.
// Synchronisation is on what the server shows (pg_stat_activity: a COPY in progress) and on the
// attempt processes themselves, never on time.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "chaos/attempt_processes.h"
#include "pg/pg_example.h"
#include "pg/pg_test_server.h"
#include "testing/run_command.h"
#include "testing/temp_dir.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;
using testing::RunCommand;
using testing::ShellQuote;
using testing::Sluice;
using testing::TempDir;

// Rows per table: enough that a merge's COPY lasts long enough to be seen in pg_stat_activity.
constexpr int kRows = 12000;
constexpr auto kPatience = std::chrono::seconds(90);

// Rows of `sql` on the database at `url` (first column of each row), or nullopt when the server
// cannot be reached.
std::optional<std::vector<std::vector<std::string>>> PgRows(const std::string& url,
                                                            const std::string& sql) {
  PGconn* c = PQconnectdb(url.c_str());
  std::optional<std::vector<std::vector<std::string>>> out;
  if (PQstatus(c) == CONNECTION_OK) {
    PGresult* r = PQexec(c, sql.c_str());
    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
      out.emplace();
      for (int i = 0; i < PQntuples(r); ++i) {
        std::vector<std::string> row;
        for (int j = 0; j < PQnfields(r); ++j) row.emplace_back(PQgetvalue(r, i, j));
        out->push_back(std::move(row));
      }
    }
    PQclear(r);
  }
  PQfinish(c);
  return out;
}

// The backend pids of the merges streaming a COPY right now (into their stage, or straight into
// an empty table).
std::vector<std::string> CopyingBackends(const std::string& url) {
  auto rows = PgRows(url,
                     "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND "
                     "application_name = 'sluice' AND state = 'active' AND query LIKE 'COPY "
                     "%FROM STDIN%'");
  std::vector<std::string> pids;
  if (rows) {
    for (const auto& r : *rows) pids.push_back(r[0]);
  }
  return pids;
}

using chaos::AttemptProcess;

// The live merge attempts of the pipeline in `dir`, found by the lock each holds on its log
// (tests/chaos/attempt_processes.h: a forked attempt keeps the scheduler's command line).
std::vector<AttemptProcess> MergeAttempts(const fs::path& dir) {
  std::vector<AttemptProcess> out;
  for (const AttemptProcess& p : chaos::AttemptProcesses(dir)) {
    if (p.task.rfind("merge_table_", 0) == 0) out.push_back(p);
  }
  return out;
}

std::string TableOfTask(const std::string& task) {
  if (task == "merge_table_1") return "orders";
  if (task == "merge_table_2") return "customers";
  return "products";
}

// `sluice run` in the background; its result once Join() returns.
class BackgroundRun {
 public:
  explicit BackgroundRun(std::string command)
      : thread_([this, command] { result_ = RunCommand(command); }) {}
  ~BackgroundRun() {
    if (thread_.joinable()) thread_.join();
  }
  const testing::CommandResult& Join() {
    if (thread_.joinable()) thread_.join();
    return result_;
  }

 private:
  testing::CommandResult result_;
  std::thread thread_;
};

std::string RunCommandLine(const fs::path& dir, int parallelism) {
  return Sluice() + " run " + ShellQuote(dir) + " --date " + testing::kExampleDay +
         " --parallelism " + std::to_string(parallelism);
}

nlohmann::json ShowRun(const fs::path& dir, std::string* run_id) {
  auto runs = RunCommand(Sluice() + " runs " + ShellQuote(dir) + " --json");
  EXPECT_EQ(runs.exit_code, 0) << runs.output;
  auto j = nlohmann::json::parse(runs.output, nullptr, false);
  if (j.is_object() && j.contains("runs")) j = j["runs"];
  EXPECT_TRUE(j.is_array() && j.size() == 1) << runs.output;
  if (!j.is_array() || j.empty()) return {};
  *run_id = j[0]["run_id"].get<std::string>();
  auto show = RunCommand(Sluice() + " show " + ShellQuote(dir) + " " + *run_id + " --json");
  EXPECT_EQ(show.exit_code, 0) << show.output;
  return nlohmann::json::parse(show.output, nullptr, false);
}

class PgChaos : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(testing::TestPgServer().error, ""); }

  // The tables a clean run of the same example (same rows) leaves, on a database of its own.
  std::vector<std::string> CleanRunTables() {
    const std::string url = testing::NewPgDatabase();
    EXPECT_FALSE(url.empty());
    const fs::path dir = tmp_ / "clean";
    testing::InitExample(dir, url, kRows);
    auto run = RunCommand(RunCommandLine(dir, 2));
    EXPECT_EQ(run.exit_code, 0) << run.output;
    return testing::DumpWarehouse(url, dir);
  }

  TempDir tmp_;
};

TEST_F(PgChaos, AMergeKilledMidCopyLeavesItsTableUnchangedAndTheRepairCompletesTheRun) {
  const std::string url = testing::NewPgDatabase();
  ASSERT_FALSE(url.empty());
  const fs::path dir = tmp_ / "killed";
  testing::InitExample(dir, url, kRows);
  // No retries: the killed merge stays failed, for the repair to complete.
  std::string workflow = testing::ReadFileText(dir / "workflow.yaml");
  for (size_t p; (p = workflow.find("max_retries: 3")) != std::string::npos;) {
    workflow.replace(p, 14, "max_retries: 0");
  }
  std::ofstream(dir / "workflow.yaml", std::ios::trunc) << workflow;

  // One attempt at a time, so the one merge attempt alive owns the COPY the server shows.
  BackgroundRun run(RunCommandLine(dir, 1));
  std::optional<AttemptProcess> killed;
  const auto give_up = std::chrono::steady_clock::now() + kPatience;
  while (!killed && std::chrono::steady_clock::now() < give_up) {
    if (CopyingBackends(url).empty()) {
      ::usleep(2000);  // a pause between two looks, not a synchronisation
      continue;
    }
    for (const AttemptProcess& a : MergeAttempts(dir)) {
      // Frozen, the attempt cannot end its COPY: if the server still shows it streaming, the
      // kill lands mid-COPY. Otherwise the COPY had just ended; let it go on and look again.
      ASSERT_EQ(::kill(a.pid, SIGSTOP), 0);
      if (!CopyingBackends(url).empty()) {
        ASSERT_EQ(::kill(a.pid, SIGKILL), 0);
        killed = a;
        break;
      }
      ::kill(a.pid, SIGCONT);
    }
  }
  const auto& result = run.Join();
  ASSERT_TRUE(killed) << "no merge was seen streaming its COPY\n" << result.output;
  EXPECT_EQ(result.exit_code, 1) << result.output;
  const std::string table = TableOfTask(killed->task);
  const std::string where = killed->partner + "." + table;

  // The killed merge left nothing: no row, no load; the server ended its session.
  auto rows = PgRows(url, "SELECT (SELECT count(*) FROM " + killed->partner + "." + table +
                              "), (SELECT count(*) FROM " + killed->partner +
                              ".sluice_loads WHERE table_name = '" + table + "')");
  ASSERT_TRUE(rows && rows->size() == 1) << where;
  EXPECT_EQ((*rows)[0][0], "0") << where;
  EXPECT_EQ((*rows)[0][1], "0") << where;
  // A first load drops the table's primary key for its COPY and builds it after: the kill
  // rolled the drop back too.
  auto key = PgRows(url, "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = '" +
                             killed->partner + "." + table + "'::regclass AND contype = 'p'");
  ASSERT_TRUE(key && key->size() == 1) << where << ": no primary key after the kill";
  EXPECT_EQ((*key)[0][0].rfind("PRIMARY KEY (", 0), 0u) << (*key)[0][0];
  EXPECT_TRUE(CopyingBackends(url).empty());
  std::string run_id;
  const auto show = ShowRun(dir, &run_id);
  bool saw_failed = false;
  for (const auto& i : show["instances"]) {
    if (i["task"] == killed->task && i["partner"] == killed->partner) {
      saw_failed = i["state"] == "failed";
    }
  }
  EXPECT_TRUE(saw_failed) << show.dump(1);

  auto repair = RunCommand(Sluice() + " repair " + ShellQuote(dir) + " " + run_id);
  ASSERT_EQ(repair.exit_code, 0) << repair.output;
  const auto repaired = testing::DumpWarehouse(url, dir);
  const auto clean = CleanRunTables();
  EXPECT_GT(repaired.size(), static_cast<size_t>(kRows));
  EXPECT_TRUE(repaired == clean) << testing::FirstDifference(repaired, clean);
}

// A PostgreSQL server of this test's own (it is restarted), with the shared server's password.
class OwnPgServer {
 public:
  explicit OwnPgServer(const fs::path& state) : state_(state) {
    const std::string start = "PG_PASSWORD=\"$PGPASSWORD\" " + testing::pg_detail::Script() +
                              " start " + ShellQuote(state_) + " >/dev/null";
    if (std::system(start.c_str()) != 0 || !testing::pg_detail::ReadState(state_, &server_)) {
      server_.port = 0;
    }
  }
  ~OwnPgServer() {
    (void)std::system(
        (testing::pg_detail::Script() + " stop " + ShellQuote(state_) + " >/dev/null 2>&1")
            .c_str());
  }
  bool ok() const { return server_.port > 0; }
  std::string Url(const std::string& db) const { return server_.Url(db); }
  bool Restart() const {
    return std::system(
               (testing::pg_detail::Script() + " restart " + ShellQuote(state_) + " >/dev/null")
                   .c_str()) == 0;
  }

 private:
  fs::path state_;
  testing::PgTestServer server_;
};

TEST_F(PgChaos, AServerRestartedMidRunFailsTheAffectedAttemptsAsRetryableAndTheRunCompletes) {
  OwnPgServer server(tmp_ / "server");
  ASSERT_TRUE(server.ok());
  ASSERT_TRUE(PgRows(server.Url("postgres"), "SELECT 1"));
  {
    PGconn* c = PQconnectdb(server.Url("postgres").c_str());
    PGresult* r = PQexec(c, "CREATE DATABASE restarted");
    ASSERT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQerrorMessage(c);
    PQclear(r);
    PQfinish(c);
  }
  const std::string url = server.Url("restarted");
  const fs::path dir = tmp_ / "restarted";
  testing::InitExample(dir, url, kRows);

  BackgroundRun run(RunCommandLine(dir, 2));
  bool restarted = false;
  const auto give_up = std::chrono::steady_clock::now() + kPatience;
  while (std::chrono::steady_clock::now() < give_up) {
    if (!CopyingBackends(url).empty()) {
      // The merge attempts frozen: if the server still shows a COPY, one of them is mid-COPY
      // and stays so until the restart has cut it off.
      const auto attempts = MergeAttempts(dir);
      for (const AttemptProcess& a : attempts) ::kill(a.pid, SIGSTOP);
      // (No merge attempt found means none is frozen: then no restart, and the test fails below
      // rather than restarting under attempts it cannot see.)
      if (!attempts.empty() && !CopyingBackends(url).empty()) {
        // Stopped by pid (fast shutdown ends every session) and started on the same port.
        ASSERT_TRUE(server.Restart());
        restarted = true;
      }
      for (const AttemptProcess& a : attempts) ::kill(a.pid, SIGCONT);
      if (restarted) break;
    }
    ::usleep(2000);  // a pause between two looks, not a synchronisation
  }
  const auto& result = run.Join();
  ASSERT_TRUE(restarted) << "no merge attempt (tests/chaos/attempt_processes.h) was seen while "
                            "the server showed a COPY\n"
                         << result.output;
  EXPECT_EQ(result.exit_code, 0) << result.output;

  // The attempts the restart cut off failed with a message that says what happened and that the
  // task is retried; a later attempt of each succeeded.
  std::string run_id;
  const auto show = ShowRun(dir, &run_id);
  int retried = 0;
  for (const auto& i : show["instances"]) {
    EXPECT_EQ(i["state"], "success") << i.dump(1);
    const auto& history = i["history"];
    if (history.size() < 2) continue;
    ++retried;
    const std::string error = history[0]["error"].get<std::string>();
    EXPECT_EQ(history[0]["state"], "failed") << i.dump(1);
    EXPECT_TRUE(error.find("the task is retried") != std::string::npos ||
                error.find("a retry may succeed") != std::string::npos)
        << error;
    EXPECT_EQ(history.back()["state"], "success") << i.dump(1);
  }
  EXPECT_GE(retried, 1) << show.dump(1);
  const auto after = testing::DumpWarehouse(url, dir);
  const auto clean = CleanRunTables();
  EXPECT_TRUE(after == clean) << testing::FirstDifference(after, clean);
}

}  // namespace
}  // namespace sluice
