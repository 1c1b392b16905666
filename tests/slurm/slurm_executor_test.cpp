// The Slurm executor (workflow/slurm_executor.h) on a real single-node (or two-node) Slurm
// cluster started by the test (tests/slurm/cluster.sh: munged, slurmctld, slurmd on
// 127.0.0.1), and its state mapping on Slurm's own words without a cluster.
#include "workflow/slurm_executor.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>

#include "slurm/slurm_cluster.h"
#include "testing/run_command.h"
#include "testing/temp_dir.h"
#include "workflow/attempt_files.h"

namespace sluice::workflow {
namespace {

namespace fs = std::filesystem;
using sluice::testing::Q;
using sluice::testing::ReadFile;
using sluice::testing::RunCommand;
using sluice::testing::Sluice;
using sluice::testing::SlurmCluster;
using sluice::testing::TempDir;

// ---- Slurm's words, no cluster ---------------------------------------------------------------

TEST(SlurmStates, EndedJobsMapOntoSluiceOutcomes) {
  auto info = [](const char* state, int exit_code = 0, const char* reason = "") {
    return SlurmExitInfo("812", {state, reason, exit_code, 0});
  };
  EXPECT_EQ(info("COMPLETED").exit_code, 0);
  EXPECT_EQ(info("COMPLETED").vanished, VanishReason::kNone);
  EXPECT_EQ(info("FAILED", 3).exit_code, 3);
  EXPECT_TRUE(info("TIMEOUT").timed_out);
  EXPECT_EQ(info("NODE_FAIL").vanished, VanishReason::kNodeLost);
  EXPECT_EQ(info("BOOT_FAIL").vanished, VanishReason::kNodeLost);
  EXPECT_EQ(info("PREEMPTED").vanished, VanishReason::kPreempted);
  EXPECT_EQ(info("OUT_OF_MEMORY").vanished, VanishReason::kOutOfMemory);
  ExitInfo cancelled = info("CANCELLED", 0, "by uid 1001");
  EXPECT_EQ(cancelled.vanished, VanishReason::kUnknown);
  EXPECT_EQ(cancelled.detail, "Slurm job 812 CANCELLED by uid 1001");
  EXPECT_NE(cancelled.exit_code, 0);
  for (const char* alive : {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED"}) {
    EXPECT_TRUE(SlurmStateAlive(alive)) << alive;
  }
  for (const char* ended : {"COMPLETED", "FAILED", "TIMEOUT", "NODE_FAIL", "CANCELLED+"}) {
    EXPECT_FALSE(SlurmStateAlive(ended)) << ended;
  }
}

TEST(SlurmStates, SqueueAndSacctOutputIsRead) {
  auto q = ParseSqueue("7|RUNNING|None|0|\n8|FAILED|NonZeroExitCode|768|\n9|CANCELLED|None|15|\n");
  ASSERT_EQ(q.size(), 3u);
  EXPECT_EQ(q["7"].state, "RUNNING");
  EXPECT_EQ(q["7"].exit_code, -1);
  EXPECT_EQ(q["8"].exit_code, 3);
  EXPECT_EQ(q["9"].signal, 15);
  auto a = ParseSacct("10|COMPLETED|0:0\n10.batch|COMPLETED|0:0\n11|CANCELLED by 0|0:15\n");
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a["10"].state, "COMPLETED");
  EXPECT_EQ(a["11"].state, "CANCELLED");
  EXPECT_EQ(a["11"].reason, "by uid 0");
  EXPECT_EQ(a["11"].signal, 15);
}

TEST(SlurmOptions, ComeFromTheExecutorMapAndBadValuesNameTheKey) {
  config::Node none;
  auto d = ReadSlurmOptions(none);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->poll_interval, std::chrono::milliseconds(1000));
  TempDir tmp;
  tmp.Write("e.yaml",
            "executor: {type: slurm, partition: etl, account: data, qos: normal, extra_args: "
            "[--mem=1G], poll_seconds: 0.2}\n");
  auto root = config::LoadFile(tmp / "e.yaml", "e.yaml");
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  auto o = ReadSlurmOptions(*root->Get("executor"));
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->partition, "etl");
  EXPECT_EQ(o->account, "data");
  EXPECT_EQ(o->qos, "normal");
  EXPECT_EQ(o->extra_args, std::vector<std::string>{"--mem=1G"});
  EXPECT_EQ(o->poll_interval, std::chrono::milliseconds(200));
  tmp.Write("e.yaml", "executor: {type: slurm, partiton: etl}\n");
  root = config::LoadFile(tmp / "e.yaml", "e.yaml");
  ASSERT_TRUE(root.ok());
  auto bad = ReadSlurmOptions(*root->Get("executor"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("partiton"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("partition"), std::string::npos) << bad.status().message();
}

// ---- a real cluster --------------------------------------------------------------------------

LaunchSpec Spec(const fs::path& dir, const std::string& name, const std::string& shell) {
  LaunchSpec s;
  s.run_id = "r1";
  s.task_key = name;
  s.attempt = 1;
  s.argv = {"/bin/sh", "-c", shell};
  s.extra_env = {"SLUICE_TEST_VALUE=a,b c'd"};
  s.cwd = dir;
  s.log = dir / (name + ".log");
  s.lock = dir / (name + ".lock");
  s.outcome = dir / (name + ".outcome.json");
  return s;
}

// Collects what an executor's Wait() reports, so waiting for one attempt keeps the others' ends.
class Ends {
 public:
  explicit Ends(Executor& e) : e_(e) {}
  // Waits (real time, bounded) until `id` ends; its ExitInfo, or a failure.
  ExitInfo For(const std::string& id, std::chrono::seconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (ended_.count(id) == 0 && std::chrono::steady_clock::now() < until) {
      for (ExitInfo& x : e_.Wait(std::chrono::milliseconds(200))) ended_[x.id] = std::move(x);
    }
    if (ended_.count(id) == 0) {
      ADD_FAILURE() << "job " << id << " did not end within " << limit.count() << "s";
      return {};
    }
    return ended_[id];
  }

 private:
  Executor& e_;
  std::map<std::string, ExitInfo> ended_;
};

SlurmOptions FastPolling() {
  SlurmOptions o;
  o.poll_interval = std::chrono::milliseconds(200);
  return o;
}

TEST(SlurmExecutor, AttemptsRunAsJobsAndEndWithTheirExitCodesLogsAndEnvironment) {
  SlurmCluster cluster;
  ASSERT_TRUE(cluster.started()) << cluster.output();
  auto e = NewSlurmExecutor(FastPolling());
  auto ok = e->Launch(Spec(cluster.dir(), "ok", "echo \"value=$SLUICE_TEST_VALUE\""));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  auto bad = e->Launch(Spec(cluster.dir(), "bad", "echo failing; exit 3"));
  ASSERT_TRUE(bad.ok()) << bad.status().ToString();
  EXPECT_NE(*ok, *bad);
  Ends ends(*e);
  ExitInfo x = ends.For(*ok, std::chrono::seconds(60));
  EXPECT_EQ(x.exit_code, 0);
  EXPECT_EQ(x.vanished, VanishReason::kNone);
  ExitInfo y = ends.For(*bad, std::chrono::seconds(60));
  EXPECT_EQ(y.exit_code, 3);
  EXPECT_EQ(ReadFile(cluster.dir() / "ok.log"), "value=a,b c'd\n");
  EXPECT_EQ(ReadFile(cluster.dir() / "bad.log"), "failing\n");
  EXPECT_EQ(e->Name(), "slurm");
}

TEST(SlurmExecutor, CancelStopsARunningJobAndAFreshExecutorProbesIt) {
  SlurmCluster cluster;
  ASSERT_TRUE(cluster.started()) << cluster.output();
  auto e = NewSlurmExecutor(FastPolling());
  const fs::path pidfile = cluster.dir() / "sleeper.pid";
  LaunchSpec spec =
      Spec(cluster.dir(), "sleeper", "echo $$ > " + pidfile.string() + "; exec sleep 300");
  auto id = e->Launch(spec);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  // Another process's view (repair, cancel): alive while it runs.
  auto fresh = NewSlurmExecutor(FastPolling());
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  // Until the pid is written whole: `>` creates the file before echo writes into it.
  while (!ReadFile(pidfile).ends_with('\n') && std::chrono::steady_clock::now() < until) {
    (void)e->Wait(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(ReadFile(pidfile).ends_with('\n')) << "the job never started";
  EXPECT_EQ(fresh->Probe(*id, spec.lock, spec.outcome).state, ProbeResult::State::kAlive);
  e->Cancel(*id, /*force=*/false);
  ExitInfo x = Ends(*e).For(*id, std::chrono::seconds(60));
  EXPECT_TRUE(x.exit_code != 0 || x.signal != 0) << x.detail;
  const pid_t pid = std::stoi(ReadFile(pidfile));
  EXPECT_NE(kill(pid, 0), 0) << "the job's process is gone";
  // Ended without an outcome file: vanished, and Slurm's word (the job's state) says how.
  ProbeResult p = fresh->Probe(*id, spec.lock, spec.outcome);
  EXPECT_EQ(p.state, ProbeResult::State::kVanished);
  EXPECT_NE(p.detail.find("Slurm job " + *id + " "), std::string::npos) << p.detail;
  // With the outcome written, it ended.
  std::ofstream(spec.outcome) << R"({"exit_code": 0})";
  EXPECT_EQ(fresh->Probe(*id, spec.lock, spec.outcome).state, ProbeResult::State::kEnded);
  EXPECT_EQ(fresh->Probe("999999", spec.lock, cluster.dir() / "none.json").state,
            ProbeResult::State::kVanished);
}

TEST(SlurmExecutor, AJobCancelledOutsideSluiceVanishesNamingIt) {
  SlurmCluster cluster;
  ASSERT_TRUE(cluster.started()) << cluster.output();
  auto e = NewSlurmExecutor(FastPolling());
  auto id = e->Launch(Spec(cluster.dir(), "victim", "exec sleep 300"));
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  auto r = RunCommand("scancel " + *id);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ExitInfo x = Ends(*e).For(*id, std::chrono::seconds(60));
  EXPECT_EQ(x.vanished, VanishReason::kUnknown);
  EXPECT_NE(x.detail.find("Slurm job " + *id + " CANCELLED by someone other than sluice"),
            std::string::npos)
      << x.detail;
  EXPECT_TRUE(x.stopped_outside) << "the scheduler does not retry what a person stopped";
}

TEST(SlurmExecutor, SbatchRefusingAJobIsAnUnavailableErrorSayingWhatToCheck) {
  SlurmCluster cluster;
  ASSERT_TRUE(cluster.started()) << cluster.output();
  SlurmOptions o = FastPolling();
  o.partition = "nosuch";
  auto e = NewSlurmExecutor(o);
  auto id = e->Launch(Spec(cluster.dir(), "x", "true"));
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(id.status().message().find("partition"), std::string::npos) << id.status().message();
}

TEST(SlurmExecutor, ProbingManyJobsAsksSlurmOnceForAllOfThem) {
  // A repair after a large run probes every orphan each poll: one squeue for all, not one each.
  SlurmCluster cluster;
  ASSERT_TRUE(cluster.started()) << cluster.output();
  auto e = NewSlurmExecutor(FastPolling());
  std::vector<LaunchSpec> specs;
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    const std::string name = "sleeper" + std::to_string(i);
    specs.push_back(Spec(cluster.dir(), name, "touch " + name + ".started; exec sleep 300"));
    auto id = e->Launch(specs.back());
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    ids.push_back(*id);
  }
  const fs::path calls = cluster.dir() / "squeue.calls";
  const fs::path wrapper = cluster.dir() / "squeue-counting";
  std::ofstream(wrapper) << "#!/bin/sh\necho \"$*\" >> " << Q(calls) << "\nexec squeue \"$@\"\n";
  fs::permissions(wrapper, fs::perms::owner_all);
  SlurmOptions counted = FastPolling();
  counted.squeue = wrapper.string();
  auto fresh = NewSlurmExecutor(counted);
  std::vector<ProbeTarget> targets;
  for (size_t i = 0; i < specs.size(); ++i) {
    targets.push_back({ids[i], specs[i].lock, specs[i].outcome});
  }
  std::vector<ProbeResult> r = fresh->ProbeAll(targets);
  ASSERT_EQ(r.size(), 5u);
  for (const ProbeResult& p : r) EXPECT_EQ(p.state, ProbeResult::State::kAlive) << p.detail;
  const std::string asked = ReadFile(calls);
  EXPECT_EQ(std::count(asked.begin(), asked.end(), '\n'), 1) << asked;
  for (const std::string& id : ids) EXPECT_NE(asked.find(id), std::string::npos) << asked;
  // Once one has recorded its end, it is not asked about at all.
  std::ofstream(specs[0].outcome) << R"({"exit_code": 0})";
  r = fresh->ProbeAll(targets);
  EXPECT_EQ(r[0].state, ProbeResult::State::kEnded);
  const std::string again = ReadFile(calls);
  EXPECT_EQ(std::count(again.begin(), again.end(), '\n'), 2) << again;
  // The second call's --jobs= list: the four still without an outcome.
  const std::string second = again.substr(asked.size());
  const size_t list_at = second.find("--jobs=");
  ASSERT_NE(list_at, std::string::npos) << second;
  const std::string list = second.substr(list_at + 7, second.find(' ', list_at) - list_at - 7);
  std::set<std::string> listed;
  for (size_t at = 0; at <= list.size();) {
    const size_t comma = std::min(list.find(',', at), list.size());
    listed.insert(list.substr(at, comma - at));
    at = comma + 1;
  }
  EXPECT_EQ(listed, std::set<std::string>(ids.begin() + 1, ids.end())) << second;
  for (const std::string& id : ids) e->Cancel(id, /*force=*/true);
  Ends ends(*e);
  for (const std::string& id : ids) (void)ends.For(id, std::chrono::seconds(60));
}

// ---- sluice run through Slurm ----------------------------------------------------------------

void WriteSlurmYaml(const fs::path& dir) {
  std::string yaml = ReadFile(dir / "sluice.yaml");
  std::ofstream(dir / "sluice.yaml", std::ios::binary | std::ios::trunc)
      << yaml << "executor: {type: slurm, partition: etl, poll_seconds: 0.2}\n";
}

std::string DumpTables(const fs::path& dir) {
  std::string dump;
  for (const auto& entry : fs::directory_iterator(dir / "warehouse")) {
    if (entry.path().extension() != ".db") continue;
    for (const char* table : {"orders", "customers", "products"}) {
      auto cols = RunCommand("sqlite3 " + Q(entry.path()) +
                             " \"SELECT group_concat(name, ',') FROM pragma_table_info('" + table +
                             "') WHERE name NOT IN ('_run_id', '_load_id')\"");
      std::string c = cols.output.substr(0, cols.output.find('\n'));
      if (c.empty()) continue;
      auto rows = RunCommand("sqlite3 " + Q(entry.path()) + " \"SELECT " + c + " FROM " + table +
                             " ORDER BY " + c + "\"");
      dump += "== " + entry.path().filename().string() + "." + table + "\n" + rows.output;
    }
  }
  return dump;
}

nlohmann::json Show(const fs::path& dir) {
  auto runs = RunCommand(Sluice() + " runs " + Q(dir) + " --json 2>/dev/null");
  auto j = nlohmann::json::parse(runs.output, nullptr, false);
  if (!j.is_array() || j.empty()) return nullptr;
  const std::string id = j[0]["run_id"];
  auto show = RunCommand(Sluice() + " show " + Q(dir) + " " + id + " --json 2>/dev/null");
  return nlohmann::json::parse(show.output, nullptr, false);
}

TEST(SlurmRun, TheExampleThroughSlurmGivesTheTablesOfTheLocalExecutor) {
  SlurmCluster cluster;
  ASSERT_TRUE(cluster.started()) << cluster.output();
  const fs::path local = cluster.dir() / "local", slurm = cluster.dir() / "slurm";
  for (const fs::path& d : {local, slurm}) {
    auto r = RunCommand(Sluice() + " init " + Q(d) +
                        " --sample-data --rows 200 --seed 5 --date 2026-11-24");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  WriteSlurmYaml(slurm);
  auto a = RunCommand(Sluice() + " run " + Q(local) + " --date 2026-11-24 --parallelism 2");
  ASSERT_EQ(a.exit_code, 0) << a.output;
  auto b = RunCommand(Sluice() + " run " + Q(slurm) + " --date 2026-11-24 --parallelism 4");
  ASSERT_EQ(b.exit_code, 0) << b.output;
  EXPECT_EQ(DumpTables(slurm), DumpTables(local));
  EXPECT_NE(DumpTables(slurm), "");
  // Every attempt was a Slurm job: show --json names the executor and the job id.
  nlohmann::json show = Show(slurm);
  ASSERT_TRUE(show.is_object());
  int attempts = 0;
  for (const auto& inst : show["instances"]) {
    for (const auto& h : inst["history"]) {
      EXPECT_EQ(h["executor"], "slurm") << h.dump();
      EXPECT_EQ(h["pid"], 0) << h.dump();
      EXPECT_FALSE(h["executor_id"].get<std::string>().empty());
      ++attempts;
    }
  }
  EXPECT_GT(attempts, 10);
}

TEST(SlurmRun, ATaskPastItsTimeoutIsTimedOutAndItsJobCancelled) {
  SlurmCluster cluster;
  ASSERT_TRUE(cluster.started()) << cluster.output();
  const fs::path dir = cluster.dir() / "p";
  auto r = RunCommand(Sluice() + " init " + Q(dir));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ofstream(dir / "workflow.yaml", std::ios::trunc)
      << "name: slow\ntasks:\n  - task_key: slow\n    command: 'echo $$ > slow.pid; exec sleep "
         "300'\n    timeout_seconds: 2\n";
  WriteSlurmYaml(dir);
  r = RunCommand(Sluice() + " run " + Q(dir) + " --date 2026-11-24 --kill-grace-seconds 1");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  nlohmann::json show = Show(dir);
  ASSERT_TRUE(show.is_object()) << r.output;
  EXPECT_EQ(show["instances"][0]["state"], "timed_out") << show.dump(1);
  // On a loaded machine the job may reach its timeout before its script started: then no pid,
  // and what must hold is that Slurm runs nothing of it any more.
  // The file may also exist empty: `>` creates it before echo writes the pid.
  const std::string pid_text = ReadFile(dir / "slow.pid");
  if (pid_text.ends_with('\n')) {
    EXPECT_NE(kill(std::stoi(pid_text), 0), 0) << "the job's sleep is gone";
  }
  auto queue = RunCommand("squeue -h -t pending,running,completing -o %i");
  EXPECT_EQ(queue.output, "") << "the job is cancelled in Slurm too";
}

TEST(SlurmRun, ATasksResourcesBecomeItsJobsCpusMemoryAndTimeLimit) {
  SlurmCluster cluster;
  ASSERT_TRUE(cluster.started()) << cluster.output();
  const fs::path dir = cluster.dir() / "p";
  auto r = RunCommand(Sluice() + " init " + Q(dir));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // extra_args asks for 1 CPU for every job; the task's own request wins.
  std::ofstream(dir / "workflow.yaml", std::ios::trunc)
      << "name: res\ntasks:\n  - task_key: big\n    command: 'true'\n    timeout_seconds: 600\n"
         "    resources: {cpus: 2, memory: 300MiB, time_limit_seconds: 90}\n"
         "  - task_key: small\n    command: 'true'\n    timeout_seconds: 60\n";
  std::string yaml = ReadFile(dir / "sluice.yaml");
  std::ofstream(dir / "sluice.yaml", std::ios::binary | std::ios::trunc)
      << yaml << "executor: {type: slurm, poll_seconds: 0.2, extra_args: [--cpus-per-task=1]}\n";
  r = RunCommand(Sluice() + " run " + Q(dir) + " --date 2026-11-24");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  nlohmann::json show = Show(dir);
  ASSERT_TRUE(show.is_object());
  std::map<std::string, std::string> job;
  for (const auto& inst : show["instances"]) {
    job[inst["task"]] =
        RunCommand("scontrol show job " + inst["history"][0]["executor_id"].get<std::string>())
            .output;
  }
  EXPECT_NE(job["big"].find("NumCPUs=2"), std::string::npos) << job["big"];
  EXPECT_NE(job["big"].find("MinMemoryNode=300M"), std::string::npos) << job["big"];
  // 90 s: Slurm counts whole minutes.
  EXPECT_NE(job["big"].find("TimeLimit=00:02:00"), std::string::npos) << job["big"];
  // Without resources: extra_args, and timeout_seconds plus two minutes as the backstop.
  EXPECT_NE(job["small"].find("NumCPUs=1"), std::string::npos) << job["small"];
  EXPECT_NE(job["small"].find("TimeLimit=00:03:00"), std::string::npos) << job["small"];
}

TEST(SlurmRun, ANodeSetDownFailsItsAttemptAndTheRetryCompletesOnTheOtherNode) {
  SlurmCluster cluster(2);
  ASSERT_TRUE(cluster.started()) << cluster.output();
  const fs::path dir = cluster.dir() / "p";
  auto r = RunCommand(Sluice() + " init " + Q(dir));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // The first attempt writes which node it is on and waits; later attempts succeed at once.
  std::ofstream(dir / "workflow.yaml", std::ios::trunc)
      << "name: nodes\ntasks:\n  - task_key: work\n    max_retries: 2\n"
         "    min_retry_interval_millis: 100\n"
         "    command: 'if [ \"$SLUICE_ATTEMPT\" = 1 ]; then echo $SLURMD_NODENAME > first.node; "
         "exec sleep 300; fi; echo $SLURMD_NODENAME > done.node'\n";
  WriteSlurmYaml(dir);
  pid_t run = fork();
  ASSERT_GE(run, 0);
  if (run == 0) {
    execl("/bin/sh", "sh", "-c",
          (Sluice() + " run " + Q(dir) + " --date 2026-11-24 > " + Q(dir / "run.log") + " 2>&1")
              .c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fs::exists(dir / "first.node") && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a file, bounded
  }
  ASSERT_TRUE(fs::exists(dir / "first.node")) << ReadFile(dir / "run.log");
  std::string node = ReadFile(dir / "first.node");
  node = node.substr(0, node.find('\n'));
  auto down = RunCommand("scontrol update nodename=" + node + " state=down reason=sluice-test");
  ASSERT_EQ(down.exit_code, 0) << down.output;
  int status = 0;
  ASSERT_EQ(waitpid(run, &status, 0), run);
  EXPECT_EQ(WEXITSTATUS(status), 0) << ReadFile(dir / "run.log");
  std::string done = ReadFile(dir / "done.node");
  EXPECT_NE(done.substr(0, done.find('\n')), node) << "the retry ran on the other node";
  nlohmann::json show = Show(dir);
  ASSERT_TRUE(show.is_object());
  const auto& history = show["instances"][0]["history"];
  ASSERT_GE(history.size(), 2u) << show.dump(1);
  EXPECT_EQ(history[0]["state"], "failed");
  EXPECT_NE(history[0]["error"].get<std::string>().find("vanished (node lost)"), std::string::npos)
      << history[0].dump();
  EXPECT_EQ(history.back()["state"], "success");
}

TEST(SlurmRun, ASchedulerKilledMidRunIsRepairedThroughSlurm) {
  SlurmCluster cluster;
  ASSERT_TRUE(cluster.started()) << cluster.output();
  const fs::path dir = cluster.dir() / "p";
  auto r = RunCommand(Sluice() + " init " + Q(dir));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // `a` runs until the file `go` appears; `b` after it.
  std::ofstream(dir / "workflow.yaml", std::ios::trunc)
      << "name: killed\ntasks:\n  - task_key: a\n    command: 'touch a.started; while [ ! -f go "
         "]; do sleep 0.1; done; touch a.done'\n  - task_key: b\n    depends_on: [a]\n"
         "    command: 'touch b.done'\n";
  WriteSlurmYaml(dir);
  pid_t run = fork();
  ASSERT_GE(run, 0);
  if (run == 0) {
    setpgid(0, 0);
    execl(SLUICE_BINARY, SLUICE_BINARY, "run", dir.c_str(), "--date", "2026-11-24",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fs::exists(dir / "a.started") && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a file, bounded
  }
  ASSERT_TRUE(fs::exists(dir / "a.started"));
  kill(run, SIGKILL);  // the scheduler only; its job lives on in Slurm
  int status = 0;
  waitpid(run, &status, 0);
  nlohmann::json before = Show(dir);
  ASSERT_TRUE(before.is_object());
  const std::string run_id = before["run_id"];
  const std::string job = before["instances"][0]["history"][0]["executor_id"];
  // `sluice repair` finds the job through Slurm (executor_id = job id), waits while it runs...
  pid_t repair = fork();
  ASSERT_GE(repair, 0);
  if (repair == 0) {
    execl("/bin/sh", "sh", "-c",
          (Sluice() + " repair " + Q(dir) + " " + run_id + " > " + Q(dir / "repair.log") + " 2>&1")
              .c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  const std::string waiting = "(slurm id " + job + ") is still running; waiting for it";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (ReadFile(dir / "repair.log").find(waiting) == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a file, bounded
  }
  EXPECT_NE(ReadFile(dir / "repair.log").find(waiting), std::string::npos)
      << ReadFile(dir / "repair.log");
  // ...and, once it ends, takes its outcome and finishes the run.
  std::ofstream(dir / "go") << "";
  ASSERT_EQ(waitpid(repair, &status, 0), repair);
  EXPECT_EQ(WEXITSTATUS(status), 0) << ReadFile(dir / "repair.log");
  EXPECT_TRUE(fs::exists(dir / "a.done"));
  EXPECT_TRUE(fs::exists(dir / "b.done"));
  nlohmann::json show = Show(dir);
  ASSERT_TRUE(show.is_object());
  EXPECT_EQ(show["state"], "success") << show.dump(1);
  EXPECT_EQ(show["instances"][0]["attempts"], 1) << "the orphaned job's own end, not a rerun";
}

}  // namespace
}  // namespace sluice::workflow
