// End-to-end: the example pipeline with `store: s3://...` against the SigV4-verifying S3 test
// endpoint. `sluice init --sample-data` uploads the deliveries, then wait -> extract -> merge ->
// summary -> check run on S3 and load what a local store loads; the endpoint dying mid-extract,
// throttling, and refused credentials each end the way the issue asks.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>

#include "core/strings.h"
#include "s3/s3_fixture.h"
#include "store/s3_store.h"
#include "testing/run_command.h"
#include "testing/temp_dir.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::CommandResult;
using testing::RunCommand;
using testing::S3ServerOptions;
using testing::S3TestServer;
using testing::Sluice;
using testing::TempDir;

constexpr const char* kDay = "2026-11-24";
const char* const kPartners[] = {"acme", "globex", "hanbit", "initech"};

std::string Quote(const fs::path& p) { return "'" + p.string() + "'"; }

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Writes the example into `dir` with its store on the test endpoint under `prefix`, and uploads
// the sample deliveries for kDay. `max_retries` replaces the example's 3 when >= 0.
void InitS3Example(const fs::path& dir, const S3TestServer& server, const std::string& prefix,
                   int max_retries = -1) {
  auto r = RunCommand(Sluice() + " init " + Quote(dir));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string yaml = ReadAll(dir / "sluice.yaml");
  const std::string local = "store: file://./data";
  ASSERT_NE(yaml.find(local), std::string::npos) << yaml;
  yaml.replace(yaml.find(local), local.size(),
               std::string("store: s3://") + testing::kS3Bucket + "/" + prefix);
  yaml += "s3:\n  endpoint: " + server.endpoint() +
          "\n  path_style: true\n  multipart_threshold: 5242880\n";
  std::ofstream(dir / "sluice.yaml", std::ios::trunc) << yaml;
  if (max_retries >= 0) {
    auto sed = RunCommand("sed -i 's/max_retries: 3/max_retries: " + std::to_string(max_retries) +
                          "/' " + Quote(dir / "workflow.yaml"));
    ASSERT_EQ(sed.exit_code, 0) << sed.output;
  }
  r = RunCommand(Sluice() + " init --data-only " + Quote(dir) + " --rows 300 --seed 11 --date " +
                 kDay);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("uploaded s3://sluice-test/" + prefix + "/landing/acme/"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(dir / "data")) << "an s3 store must not write a local data/ folder";
}

CommandResult RunPipeline(const fs::path& dir) {
  return RunCommand(Sluice() + " run " + Quote(dir) + " --date " + kDay + " --parallelism 2");
}

// Every table's rows, lineage included: _load_id is numbered per delivery, not in the order the
// concurrent merges commit, so a repaired run and a clean one number their loads alike.
std::string DumpTables(const fs::path& dir) {
  std::string dump;
  for (const char* partner : kPartners) {
    fs::path db = dir / "warehouse" / (std::string(partner) + ".db");
    for (const char* table : {"orders", "customers", "products"}) {
      auto cols = RunCommand("sqlite3 " + Quote(db) + " \"SELECT group_concat(name, ',') FROM " +
                             "pragma_table_info('" + table + "') WHERE name NOT IN ('_run_id')\"");
      std::string c = cols.output.substr(0, cols.output.find('\n'));
      EXPECT_FALSE(c.empty()) << partner << "." << table << ": " << cols.output;
      auto rows = RunCommand("sqlite3 " + Quote(db) + " \"SELECT " + c + " FROM " + table +
                             " ORDER BY " + c + "\"");
      dump += std::string("== ") + partner + "." + table + "\n" + rows.output;
    }
  }
  return dump;
}

// The tables `runs` clean runs of the same example and date with a local store load (a second
// run re-loads every delivery, so the lineage columns name its loads).
std::string LocalTables(const TempDir& tmp, int runs = 1) {
  fs::path dir = tmp / "local";
  auto r = RunCommand(Sluice() + " init " + Quote(dir) + " --sample-data --rows 300 --seed 11 " +
                      "--date " + kDay);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  for (int i = 0; i < runs; ++i) {
    r = RunPipeline(dir);
    EXPECT_EQ(r.exit_code, 0) << r.output;
  }
  return DumpTables(dir);
}

std::unique_ptr<store::ObjectStore> OpenStore(const S3TestServer& server,
                                              const std::string& prefix) {
  config::S3Config c;
  c.endpoint = server.endpoint();
  c.path_style = true;
  auto s = store::OpenS3Store(std::string("s3://") + testing::kS3Bucket + "/" + prefix, c);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

// For every partner whose extract manifest is visible, the raw objects are exactly the ones it
// lists, with the sizes it gives: what a reader sees is never half-published.
void ExpectNoHalfPublishedDate(store::ObjectStore& s) {
  for (const char* p : kPartners) {
    auto manifest = s.Get(std::string("manifests/") + p + "/" + kDay + "/extract.json");
    if (!manifest.ok()) {
      EXPECT_EQ(manifest.status().code(), StatusCode::kNotFound) << manifest.status().ToString();
      continue;
    }
    json m = json::parse(*manifest);
    std::map<std::string, int64_t> listed;
    for (const auto& f : m["files"])
      listed[f["key"].get<std::string>()] = f["bytes"].get<int64_t>();
    std::map<std::string, int64_t> present;
    auto raw = s.List(std::string("raw/") + p + "/" + kDay + "/");
    ASSERT_TRUE(raw.ok()) << raw.status().ToString();
    for (const auto& o : *raw) {
      present[o.key] = o.size;
    }
    EXPECT_EQ(present, listed) << p;
  }
}

// No staging folder of any partner is left in the store.
void ExpectNoStagingLeft(store::ObjectStore& s) {
  for (const char* p : kPartners) {
    auto staging = s.ListFolders("raw/" + std::string(p) + "/.staging/");
    ASSERT_TRUE(staging.ok()) << p << ": " << staging.status().ToString();
    EXPECT_TRUE(staging->empty()) << p << ": " << Join(*staging, ", ");
  }
}

std::string NewestRunId(const fs::path& dir) {
  auto r = RunCommand(Sluice() + " runs " + Quote(dir) + " --json 2>/dev/null");
  json j = json::parse(r.output, nullptr, false);
  if (j.is_object() && j.contains("runs")) j = j["runs"];
  if (!j.is_array() || j.empty()) return "";
  return j[0].contains("run_id") ? j[0]["run_id"].get<std::string>() : j[0]["id"].dump();
}

TEST(S3Pipeline, TheExampleRunsOnS3AndLoadsWhatALocalStoreLoads) {
  TempDir tmp;
  S3TestServer server(tmp / "s3");
  ASSERT_EQ(server.Start(), "");
  S3TestServer::UseCredentials();
  fs::path dir = tmp / "s3example";
  InitS3Example(dir, server, "pipe");
  auto run = RunPipeline(dir);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(DumpTables(dir), LocalTables(tmp));
  auto s = OpenStore(server, "pipe");
  ASSERT_NE(s, nullptr);
  for (const char* p : kPartners) {
    const std::string d = std::string(p) + "/" + kDay;
    EXPECT_TRUE(s->Head("manifests/" + d + "/extract.json").ok()) << p;
    EXPECT_TRUE(s->Head("manifests/" + d + "/summary.json").ok() ||
                !s->List("manifests/").value().empty());
    EXPECT_TRUE(s->Head("rejects/" + d + "/orders.csv").ok()) << p;
  }
  ExpectNoHalfPublishedDate(*s);
  ExpectNoStagingLeft(*s);
  // The secret reached no output, log or ledger.
  EXPECT_EQ(run.output.find(testing::kS3SecretKey), std::string::npos);
  // The pattern from a file, not the command line: the secrets test running beside this one
  // (ctest -j) samples every process's arguments for this very value.
  const std::string pattern = (dir.parent_path() / "secret.pattern").string();
  std::ofstream(pattern, std::ios::binary | std::ios::trunc) << testing::kS3SecretKey << "\n";
  auto grep = RunCommand("grep -rlF -f " + Quote(pattern) + " " + Quote(dir));
  EXPECT_EQ(grep.exit_code, 1) << "grep finds the secret (0) or failed (2): " << grep.output;
}

// Points the pipeline in `dir` from the endpoint on `*port` to `server`'s, and keeps its port.
void MoveEndpoint(const fs::path& dir, int* port, const S3TestServer& server) {
  const std::string yaml = ReadAll(dir / "sluice.yaml");
  const std::string old_endpoint = "endpoint: http://127.0.0.1:" + std::to_string(*port);
  ASSERT_NE(yaml.find(old_endpoint), std::string::npos) << yaml;
  std::string moved = yaml;
  moved.replace(moved.find(old_endpoint), old_endpoint.size(), "endpoint: " + server.endpoint());
  std::ofstream(dir / "sluice.yaml", std::ios::trunc) << moved;
  *port = server.port();
}

// Runs the example on an endpoint that dies at the `nth` request whose "METHOD URL" contains
// `die_on` (after doing it, before answering: the worst moment), then starts the endpoint again
// on the same objects and repairs the run. The failed run publishes nothing half-way, and the
// repaired run ends with the tables and objects of a clean run and no staging folder left.
// The death is at an exact request, not after a timing guess: a kill timed by polling lands
// anywhere under load (even after the extracts are done), which made this test flaky.
// With `committed_first` a clean run commits the date before the dying one, so its extracts
// replace a committed set (through staging and a copying publish) instead of writing a first one
// straight into raw/<p>/<date>/.
void DieThenRepair(const std::string& name, const std::string& die_on, int nth,
                   bool committed_first = false) {
  TempDir tmp;
  S3TestServer server(tmp / "s3");
  ASSERT_EQ(server.Start(), "");
  S3TestServer::UseCredentials();
  fs::path dir = tmp / name;
  InitS3Example(dir, server, name, /*max_retries=*/1);
  if (committed_first) {
    CommandResult clean = RunPipeline(dir);
    ASSERT_EQ(clean.exit_code, 0) << clean.output;
  }
  // Each restart takes a fresh port and the config follows it: a port given back to the system
  // may be taken at once by another test running beside this one (or by any process's outgoing
  // connection), and then the endpoint could not start on it.
  int port = server.port();
  server.Stop();
  S3ServerOptions dying;
  dying.die_on = die_on;
  dying.die_nth = nth;
  ASSERT_EQ(server.Start(dying), "");
  ASSERT_NO_FATAL_FAILURE(MoveEndpoint(dir, &port, server));
  CommandResult first = RunPipeline(dir);
  ASSERT_TRUE(server.WaitForExit(5000)) << "the endpoint never reached \"" << die_on << "\"\n"
                                        << first.output;
  EXPECT_NE(first.exit_code, 0) << first.output;
  EXPECT_NE(first.output.find("attempt(s)"), std::string::npos) << first.output;
  // Back with the same objects.
  ASSERT_EQ(server.Start(), "");
  ASSERT_NO_FATAL_FAILURE(MoveEndpoint(dir, &port, server));
  auto s = OpenStore(server, name);
  ASSERT_NE(s, nullptr);
  ExpectNoHalfPublishedDate(*s);
  const std::string run_id = NewestRunId(dir);
  ASSERT_FALSE(run_id.empty());
  auto repair = RunCommand(Sluice() + " repair " + Quote(dir) + " " + run_id);
  ASSERT_EQ(repair.exit_code, 0) << repair.output;
  ExpectNoHalfPublishedDate(*s);
  EXPECT_EQ(DumpTables(dir), LocalTables(tmp, committed_first ? 2 : 1));
  ExpectNoStagingLeft(*s);
}

TEST(S3Pipeline, AnEndpointKilledMidExtractFailsCleanlyAndARepairMatchesACleanRun) {
  // A first extract writes straight into raw/acme/<date>/ (S3 has no folder rename, and nothing
  // is committed there yet): acme's second raw file is written, then the endpoint dies.
  DieThenRepair("killed", std::string("PUT /sluice-test/killed/raw/acme/") + kDay + "/", 2);
}

TEST(S3Pipeline, AnEndpointKilledMidReextractFailsCleanlyAndARepairMatchesACleanRun) {
  // Over a committed date the extract stages: acme's second raw file reaches its staging
  // folder, then the endpoint dies.
  DieThenRepair("restaged", "PUT /sluice-test/restaged/raw/acme/.staging/", 2,
                /*committed_first=*/true);
}

TEST(S3Pipeline, AnEndpointKilledMidPublishFailsCleanlyAndARepairMatchesACleanRun) {
  // A re-extract over a committed date: acme's publish has copied its first file into
  // raw/acme/<date>/ (S3 has no folder rename): the date is uncommitted (its manifest was
  // removed first), the staging copies still there.
  DieThenRepair("publish", std::string("PUT /sluice-test/publish/raw/acme/") + kDay + "/", 1,
                /*committed_first=*/true);
}

TEST(S3Pipeline, SampleDataNeverReplacesADeliveryAlreadyInTheS3LandingArea) {
  TempDir tmp;
  S3TestServer server(tmp / "s3");
  ASSERT_EQ(server.Start(), "");
  S3TestServer::UseCredentials();
  fs::path dir = tmp / "again";
  InitS3Example(dir, server, "again");
  auto s = OpenStore(server, "again");
  ASSERT_NE(s, nullptr);
  const std::string archive = std::string("landing/acme/") + kDay + "/acme_20261124.tar.gz";
  ASSERT_TRUE(s->Put(archive, "a real delivery").ok());
  const size_t before = server.Requests().size();
  auto r = RunCommand(Sluice() + " init --data-only " + Quote(dir) + " --rows 300 --seed 12 " +
                      "--date " + kDay);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("sample data never replaces a delivery"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("s3://sluice-test/again/" + archive), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--force"), std::string::npos) << r.output;
  EXPECT_EQ(s->Get(archive).value_or(""), "a real delivery");
  for (size_t i = before; i < server.Requests().size(); ++i) {
    EXPECT_EQ(server.Requests()[i].rfind("GET ", 0), 0u)
        << "nothing written or deleted: " << server.Requests()[i];
  }
  // --force is the one way to replace it.
  r = RunCommand(Sluice() + " init --data-only " + Quote(dir) + " --rows 300 --seed 12 --date " +
                 kDay + " --partners acme --force");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(s->Get(archive).value_or(""), "a real delivery");
}

TEST(S3Pipeline, AnEndpointThatThrottlesAShareOfRequestsStillCompletesTheRun) {
  TempDir tmp;
  S3TestServer server(tmp / "s3");
  S3ServerOptions o;
  o.slowdown = 5;  // one request in five: 503 SlowDown
  ASSERT_EQ(server.Start(o), "");
  S3TestServer::UseCredentials();
  fs::path dir = tmp / "throttled";
  InitS3Example(dir, server, "throttled");
  auto run = RunPipeline(dir);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  int throttled = 0;
  for (const std::string& line : server.Requests()) throttled += line.ends_with(" 503");
  EXPECT_GT(throttled, 10);
}

TEST(S3Pipeline, AMemberRefusedPartWayThroughItsStreamedPutIsNeverStoredOrListed) {
  TempDir tmp;
  S3TestServer server(tmp / "s3");
  ASSERT_EQ(server.Start(), "");
  S3TestServer::UseCredentials();
  fs::path dir = tmp / "midstream";
  InitS3Example(dir, server, "midstream", /*max_retries=*/0);
  // acme delivers three members of 1.5 MiB (over the 1 MiB a writer keeps in memory: each one's
  // PUT starts with its first bytes) under a day limit of 4 MiB, which the third crosses
  // part-way.
  const fs::path src = tmp / "acme_delivery";
  fs::create_directories(src);
  const char* const members[] = {"orders_20261124.csv", "customers_20261124.csv",
                                 "products_20261124.csv"};
  for (const char* name : members) {
    std::string body = "id,value\n";
    for (int i = 0; body.size() < (3u << 19); ++i) body += std::to_string(i) + ",v" + name + "\n";
    std::ofstream(src / name, std::ios::binary) << body;
  }
  const fs::path archive = tmp / "acme_20261124.tar.gz";
  auto tar = RunCommand("tar -C " + Quote(src) + " -czf " + Quote(archive) + " " + members[0] +
                        " " + members[1] + " " + members[2]);
  ASSERT_EQ(tar.exit_code, 0) << tar.output;
  auto s = OpenStore(server, "midstream");
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(
      s->Put(std::string("landing/acme/") + kDay + "/acme_20261124.tar.gz", ReadAll(archive)).ok());
  auto sed = RunCommand("sed -i 's/max_total_bytes: 50GiB/max_total_bytes: 4MiB/' " +
                        Quote(dir / "partners" / "acme" / "partner.yaml"));
  ASSERT_EQ(sed.exit_code, 0) << sed.output;
  auto run = RunPipeline(dir);
  EXPECT_NE(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("max_total_bytes"), std::string::npos) << run.output;
  // Nothing of acme's date: no manifest, no raw object, and the refused member's PUT never
  // completed (its last byte was held back).
  EXPECT_EQ(s->Head(std::string("manifests/acme/") + kDay + "/extract.json").status().code(),
            StatusCode::kNotFound);
  auto raw = s->List("raw/acme/");
  ASSERT_TRUE(raw.ok()) << raw.status().ToString();
  EXPECT_TRUE(raw->empty()) << raw->front().key;
  int streamed = 0;
  for (const std::string& line : server.Requests()) {
    if (line.rfind("PUT ", 0) != 0 || line.find("/raw/acme/") == std::string::npos) continue;
    streamed += line.ends_with(" 200");
    EXPECT_EQ(line.find("products_20261124.csv"), std::string::npos) << line;
  }
  EXPECT_EQ(streamed, 2) << "orders and customers went up before products was refused";
  // The other partners' extracts are not acme's: they completed.
  EXPECT_TRUE(s->Head(std::string("manifests/globex/") + kDay + "/extract.json").ok());
}

TEST(S3Pipeline, RefusedCredentialsFailTheRunQuicklyNamingTheBucketWithoutTheSecret) {
  TempDir tmp;
  S3TestServer server(tmp / "s3");
  ASSERT_EQ(server.Start(), "");
  S3TestServer::UseCredentials();
  fs::path dir = tmp / "refused";
  InitS3Example(dir, server, "refused");
  const size_t before = server.Requests().size();
  const std::string wrong = "this-secret-is-wrong-0123456789";
  ::setenv("AWS_SECRET_ACCESS_KEY", wrong.c_str(), 1);
  auto run = RunPipeline(dir);
  auto validate = RunCommand(Sluice() + " validate " + Quote(dir));
  S3TestServer::UseCredentials();
  EXPECT_NE(run.exit_code, 0) << run.output;
  EXPECT_EQ(validate.exit_code, 0) << validate.output;  // a config with s3:// is valid
  EXPECT_NE(run.output.find("credentials"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find(wrong), std::string::npos) << run.output;
  auto grep = RunCommand("grep -rl '" + wrong + "' " + Quote(dir));
  EXPECT_NE(grep.exit_code, 0) << grep.output;
  // A refusal is retried neither by the store nor by the task: one request per task instance
  // that touches the store (the sensor and each extract look at each archive once, the summary
  // reads once), not a storm.
  const std::vector<std::string> all = server.Requests();
  std::string sent_log;
  std::map<std::string, int> per_request;
  for (size_t i = before; i < all.size(); ++i) {
    sent_log += all[i] + "\n";
    EXPECT_NE(all[i].find(" 403"), std::string::npos) << all[i];
    ++per_request[all[i]];
  }
  EXPECT_LE(all.size() - before, 10u) << sent_log << run.output;
  for (const auto& [request, n] : per_request) EXPECT_LE(n, 2) << request;
  auto logs = RunCommand("grep -rh 'refused' " + Quote(dir / "logs"));
  EXPECT_NE(logs.output.find("sluice-test"), std::string::npos) << logs.output << run.output;
}

}  // namespace
}  // namespace sluice
