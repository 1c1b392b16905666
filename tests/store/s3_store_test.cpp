// The S3 store against a real endpoint on 127.0.0.1: s3rver behind a check of every request's
// SigV4 signature (tests/s3/server.js), so a signing bug fails here as it would on AWS.
// Runs the store interface suite, then what only S3 has: multipart uploads, awkward keys,
// paginated listings, refused credentials, a wrong region, throttling and an endpoint that dies.
#include "store/s3_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "s3/s3_fixture.h"
#include "store/store_conformance.h"

namespace sluice::store {
namespace {

using ::sluice::store::conformance::Backend;
using ::sluice::store::conformance::StoreConformance;
using testing::S3ServerOptions;
using testing::S3TestServer;
using testing::TempDir;

// One server per test process (ctest runs each test in its own), stopped at exit.
S3TestServer& SharedServer() {
  static TempDir* dir = new TempDir();
  static S3TestServer* server = [] {
    auto* s = new S3TestServer(dir->path());
    std::string err = s->Start();
    if (!err.empty()) {
      ADD_FAILURE() << err;
      std::abort();
    }
    std::atexit([] {
      server->Stop();
      delete dir;
    });
    return s;
  }();
  return *server;
}

std::atomic<int> g_prefix{0};

config::S3Config ConfigFor(const S3TestServer& server) {
  config::S3Config c;
  c.endpoint = server.endpoint();
  c.path_style = true;
  return c;
}

// A store under a prefix no other test of this process uses.
std::unique_ptr<ObjectStore> OpenTestStore(S3StoreOptions options = {},
                                           S3TestServer* server = nullptr) {
  if (server == nullptr) server = &SharedServer();
  S3TestServer::UseCredentials();
  if (options.sleep_ms == nullptr) options.sleep_ms = [](int64_t) {};  // no real waiting
  auto s = OpenS3Store(std::string("s3://") + testing::kS3Bucket + "/t" +
                           std::to_string(::getpid()) + "-" + std::to_string(++g_prefix),
                       ConfigFor(*server), options);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

INSTANTIATE_TEST_SUITE_P(S3, StoreConformance,
                         ::testing::Values(Backend{"s3",
                                                   [](const TempDir&) {
                                                     S3StoreOptions o;
                                                     o.part_size = 256 * 1024;
                                                     return OpenTestStore(o);
                                                   },
                                                   /*long_segments=*/false}),
                         [](const ::testing::TestParamInfo<Backend>& p) { return p.param.name; });

int CountRequests(const S3TestServer& server, std::string_view needle) {
  int n = 0;
  for (const std::string& line : server.Requests()) n += line.find(needle) != std::string::npos;
  return n;
}

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  uint32_t x = 12345;
  for (char& c : s) {
    x = x * 1103515245 + 12345;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

TEST(S3Store, AnObjectLargerThanThePartSizeGoesUpInPartsAndComesBackWhole) {
  S3StoreOptions o;
  o.part_size = 64 * 1024;
  auto store = OpenTestStore(o);
  ASSERT_NE(store, nullptr);
  const std::string data = Pattern(64 * 1024 * 3 + 1000);  // 4 parts
  const int before = CountRequests(SharedServer(), "partNumber=");
  {
    auto out = store->Create("raw/acme/2026-11-24/big.csv");
    ASSERT_TRUE(out.ok());
    for (size_t i = 0; i < data.size(); i += 16384) {
      ASSERT_TRUE((*out)->Write(std::string_view(data).substr(i, 16384)).ok());
    }
    EXPECT_EQ(store->Head("raw/acme/2026-11-24/big.csv").status().code(), StatusCode::kNotFound);
    Status st = (*out)->Commit();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  EXPECT_EQ(CountRequests(SharedServer(), "partNumber=") - before, 4);
  auto got = store->Get("raw/acme/2026-11-24/big.csv");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == data) << "sizes " << got->size() << " vs " << data.size();
  EXPECT_EQ(store->Head("raw/acme/2026-11-24/big.csv")->size, static_cast<int64_t>(data.size()));
}

TEST(S3Store, AMultipartWriterDroppedWithoutCommitAbortsTheUpload) {
  S3StoreOptions o;
  o.part_size = 64 * 1024;
  auto store = OpenTestStore(o);
  ASSERT_NE(store, nullptr);
  {
    auto out = store->Create("raw/acme/d/dropped.csv");
    ASSERT_TRUE(out.ok());
    ASSERT_TRUE((*out)->Write(Pattern(200 * 1024)).ok());
  }
  EXPECT_TRUE(store->List("").value().empty());
  bool aborted = false;
  std::string log;
  for (const std::string& line : SharedServer().Requests()) {
    log += line + "\n";
    aborted = aborted || (line.rfind("DELETE ", 0) == 0 &&
                          line.find("dropped.csv?uploadId=") != std::string::npos);
  }
  // (s3rver answers 405: it has no AbortMultipartUpload. The request is what is tested.)
  EXPECT_TRUE(aborted) << "no AbortMultipartUpload in the request log:\n" << log;
}

TEST(S3Store, KeysWithSpacesPlusPercentKoreanAndEqualsRoundTrip) {
  auto store = OpenTestStore();
  ASSERT_NE(store, nullptr);
  const std::vector<std::string> keys = {
      "raw/acme/2026-11-24/orders 1.csv", "raw/acme/2026-11-24/a+b.csv",
      "raw/acme/2026-11-24/100%.csv",     "raw/acme/2026-11-24/\xec\xa3\xbc\xeb\xac\xb8.csv",
      "raw/acme/2026-11-24/k=v;x=y.csv",  "raw/acme/2026-11-24/it's (1) & <2>.csv"};
  for (const std::string& k : keys) {
    Status st = store->Put(k, "data of " + k);
    ASSERT_TRUE(st.ok()) << k << ": " << st.ToString();
    auto got = store->Get(k);
    ASSERT_TRUE(got.ok()) << k << ": " << got.status().ToString();
    EXPECT_EQ(*got, "data of " + k);
    EXPECT_TRUE(store->Head(k).ok()) << k;
  }
  auto listed = store->List("raw/acme/2026-11-24/");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  std::vector<std::string> got;
  for (const auto& o : *listed) got.push_back(o.key);
  std::vector<std::string> want = keys;
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
  // Listing under a prefix holding the awkward characters signs its query right too.
  EXPECT_EQ(store->List("raw/acme/2026-11-24/a+").value().size(), 1u);
  EXPECT_EQ(store->List("raw/acme/2026-11-24/k=v").value().size(), 1u);
  EXPECT_EQ(store->List("raw/acme/2026-11-24/100%").value().size(), 1u);
  ASSERT_TRUE(store->DeletePrefix("raw/acme/").ok());
  EXPECT_TRUE(store->List("").value().empty());
}

TEST(S3Store, AListingOfMoreThanAThousandKeysFollowsContinuationTokens) {
  auto store = OpenTestStore();
  ASSERT_NE(store, nullptr);
  constexpr int kKeys = 1005;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kKeys; i += 4) {
        char name[64];
        std::snprintf(name, sizeof name, "raw/acme/d/f%05d.csv", i);
        if (!store->Put(name, "x").ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);
  const int pages_before = CountRequests(SharedServer(), "list-type=2");
  auto all = store->List("raw/");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), static_cast<size_t>(kKeys));
  EXPECT_EQ((*all)[0].key, "raw/acme/d/f00000.csv");
  EXPECT_EQ(all->back().key, "raw/acme/d/f01004.csv");
  EXPECT_GE(CountRequests(SharedServer(), "list-type=2") - pages_before, 2);
  EXPECT_TRUE(CountRequests(SharedServer(), "continuation-token=") > 0);
  // Deleting them takes two DeleteObjects batches, not a thousand requests (s3rver sometimes
  // answers one with a 500, which is retried: count the batches that went through).
  const int deletes_before = CountRequests(SharedServer(), "?delete= 200");
  ASSERT_TRUE(store->DeletePrefix("raw/").ok());
  EXPECT_EQ(CountRequests(SharedServer(), "?delete= 200") - deletes_before, 2);
  EXPECT_TRUE(store->List("").value().empty());
}

TEST(S3Store, SmallPagesListTheSameKeys) {
  S3StoreOptions o;
  o.list_page_size = 3;
  auto store = OpenTestStore(o);
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(store->Put("a/" + std::to_string(i), "x").ok());
  ASSERT_TRUE(store->Put("a/sub/x", "x").ok());
  EXPECT_EQ(store->List("a/").value().size(), 11u);
  EXPECT_EQ(store->ListFolders("a/").value(), std::vector<std::string>{"sub"});
}

TEST(S3Store, WrongCredentialsFailAtOnceWithAClearErrorAndNoSecret) {
  SharedServer();
  S3TestServer::UseCredentials();
  ::setenv("AWS_SECRET_ACCESS_KEY", "not-the-right-secret-9876543210", 1);
  S3StoreOptions o;
  o.sleep_ms = [](int64_t) {};
  auto store = OpenS3Store(std::string("s3://") + testing::kS3Bucket + "/wrong",
                           ConfigFor(SharedServer()), o);
  ASSERT_TRUE(store.ok());
  Status st = (*store)->Put("raw/acme/x.csv", "x");
  S3TestServer::UseCredentials();
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied) << st.ToString();
  EXPECT_NE(st.message().find("sluice-test"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("wrong/raw/acme/x.csv"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("credentials"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("refused"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find("not-the-right-secret"), std::string::npos) << st.message();
  EXPECT_EQ(S3RequestCount(**store), 1);  // a 403 is never retried
}

TEST(S3Store, AWrongRegionNamesTheRightOne) {
  SharedServer();
  S3TestServer::UseCredentials();
  config::S3Config c = ConfigFor(SharedServer());
  c.region = "eu-west-3";
  auto store = OpenS3Store(std::string("s3://") + testing::kS3Bucket + "/region", c);
  ASSERT_TRUE(store.ok());
  Status st = (*store)->Head("x").status();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  EXPECT_NE(st.message().find("us-east-1"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("eu-west-3"), std::string::npos) << st.message();
  EXPECT_EQ(S3RequestCount(**store), 1);
}

TEST(S3Store, AMissingKeyIsNotFoundNamingTheKey) {
  auto store = OpenTestStore();
  ASSERT_NE(store, nullptr);
  Status st = store->Open("raw/acme/none.csv").status();
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_NE(st.message().find("raw/acme/none.csv"), std::string::npos) << st.message();
  EXPECT_EQ(S3RequestCount(*store), 1);
}

TEST(S3Store, AnObjectUnderTheThresholdButOverTheMemoryBoundIsOnePutFromTheSpool) {
  S3StoreOptions o;
  o.part_size = 256 * 1024;
  o.threshold = 4 << 20;  // above the writer's 1 MiB in memory: the bytes wait in a spool file
  auto store = OpenTestStore(o);
  ASSERT_NE(store, nullptr);
  const std::string data = Pattern((3 << 20) + 12345);
  ASSERT_TRUE(store->Put("raw/acme/d/spooled.csv", data).ok());
  EXPECT_EQ(CountRequests(SharedServer(), "spooled.csv?"), 0) << "no multipart request";
  EXPECT_EQ(CountRequests(SharedServer(), "spooled.csv 200"), 1) << "one PUT";
  auto got = store->Get("raw/acme/d/spooled.csv");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == data) << "sizes " << got->size() << " vs " << data.size();
}

TEST(S3Store, PartsInFlightNeverExceedTheUploadConcurrency) {
  for (int bound : {1, 3}) {
    S3StoreOptions o;
    o.part_size = 64 * 1024;
    o.upload_concurrency = bound;
    auto store = OpenTestStore(o);
    ASSERT_NE(store, nullptr);
    // Two writers at once on one store, 12 parts each: the bound is the store's, not a writer's.
    std::vector<std::string> data = {Pattern(12 * 64 * 1024), Pattern(12 * 64 * 1024 - 777)};
    data[1][0] = 'x';
    std::vector<Status> results(2);
    std::vector<std::thread> writers;
    for (int w = 0; w < 2; ++w) {
      writers.emplace_back([&, w] {
        auto out = store->Create("raw/acme/d/w" + std::to_string(w) + ".csv");
        if (!out.ok()) {
          results[w] = out.status();
          return;
        }
        for (size_t i = 0; i < data[w].size() && results[w].ok(); i += 10000) {
          results[w] = (*out)->Write(std::string_view(data[w]).substr(i, 10000));
        }
        if (results[w].ok()) results[w] = (*out)->Commit();
      });
    }
    for (std::thread& t : writers) t.join();
    for (int w = 0; w < 2; ++w) {
      ASSERT_TRUE(results[w].ok()) << results[w].ToString();
      auto got = store->Get("raw/acme/d/w" + std::to_string(w) + ".csv");
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      EXPECT_TRUE(*got == data[w]) << "writer " << w << " bound " << bound;
    }
    EXPECT_GE(S3UploadPeak(*store), 1);
    EXPECT_LE(S3UploadPeak(*store), bound);
  }
}

TEST(S3Store, APartFailingAmongSeveralInFlightFailsTheWriterAndItsRetryCompletes) {
  TempDir dir;
  S3TestServer server(dir.path());
  S3ServerOptions so;
  so.slowdown = 5;  // the 5th request (a part: the 1st starts the upload) answers 503 SlowDown
  ASSERT_EQ(server.Start(so), "");
  S3StoreOptions o;
  o.part_size = 64 * 1024;
  o.upload_concurrency = 4;
  o.max_attempts = 1;  // so the 503 is the writer's failure instead of a retry
  o.sleep_ms = [](int64_t) {};
  S3TestServer::UseCredentials();
  const std::string url = std::string("s3://") + testing::kS3Bucket + "/retry";
  auto store = OpenS3Store(url, ConfigFor(server), o);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const std::string data = Pattern(10 * 64 * 1024 + 5);
  Status st;
  {
    auto out = (*store)->Create("raw/acme/d/member.csv");
    ASSERT_TRUE(out.ok());
    for (size_t i = 0; i < data.size() && st.ok(); i += 16384) {
      st = (*out)->Write(std::string_view(data).substr(i, 16384));
    }
    if (st.ok()) st = (*out)->Commit();
    EXPECT_FALSE(st.ok());
    // Later calls report the failure instead of carrying on.
    if (!st.ok()) {
      EXPECT_FALSE((*out)->Write("more").ok());
    }
  }
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  EXPECT_NE(st.message().find("write part"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("retry/raw/acme/d/member.csv"), std::string::npos) << st.message();
  // The retry: a new store and writer, as the task's next attempt makes, with its retries (the
  // throttling goes on, and how many requests the failed writer sent depends on timing, so a
  // store without retries could meet the next 503 in any of the checks below).
  S3StoreOptions retry = o;
  retry.max_attempts = 0;
  auto again = OpenS3Store(url, ConfigFor(server), retry);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  // Nothing half-written is visible, and the upload was aborted (once its parts had ended).
  EXPECT_EQ((*again)->Head("raw/acme/d/member.csv").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(CountRequests(server, "DELETE /sluice-test/retry/raw/acme/d/member.csv?uploadId="), 1);
  // It completes the same key through the same throttling.
  Status put = (*again)->Put("raw/acme/d/member.csv", data);
  ASSERT_TRUE(put.ok()) << put.ToString();
  auto got = (*again)->Get("raw/acme/d/member.csv");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == data);
}

TEST(S3Store, ASpoolFolderThatCannotBeWrittenIsAClearError) {
  SharedServer();  // its folder comes from TMPDIR too: made before TMPDIR is pointed away
  const char* old = std::getenv("TMPDIR");
  const std::string saved = old != nullptr ? old : "";
  ::setenv("TMPDIR", "/nonexistent/sluice-spool", 1);
  S3StoreOptions o;
  o.part_size = 64 * 1024;
  auto store = OpenTestStore(o);
  if (old != nullptr) {
    ::setenv("TMPDIR", saved.c_str(), 1);
  } else {
    ::unsetenv("TMPDIR");
  }
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Put("raw/acme/d/small.csv", "fits in memory").ok());
  Status st = store->Put("raw/acme/d/big.csv", Pattern(200 * 1024));
  EXPECT_EQ(st.code(), StatusCode::kIoError) << st.ToString();
  EXPECT_NE(st.message().find("/nonexistent/sluice-spool"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("TMPDIR"), std::string::npos) << st.message();
  EXPECT_EQ(store->Head("raw/acme/d/big.csv").status().code(), StatusCode::kNotFound);
}

TEST(S3Store, ThrottledRequestsAreRetriedUntilTheyPass) {
  TempDir dir;
  S3TestServer server(dir.path());
  S3ServerOptions so;
  so.slowdown = 3;  // every third request: 503 SlowDown
  ASSERT_EQ(server.Start(so), "");
  std::vector<int64_t> waits;
  S3StoreOptions o;
  o.part_size = 64 * 1024;
  o.sleep_ms = [&](int64_t ms) { waits.push_back(ms); };
  auto store = OpenTestStore(o, &server);
  ASSERT_NE(store, nullptr);
  const std::string big = Pattern(300 * 1024);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store->Put("k" + std::to_string(i), big).ok());
  }
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(*store->Get("k" + std::to_string(i)) == big);
  EXPECT_EQ(store->List("").value().size(), 5u);
  EXPECT_GT(CountRequests(server, " 503"), 5);
  EXPECT_EQ(static_cast<int64_t>(waits.size()), CountRequests(server, " 503"));
  for (int64_t w : waits) EXPECT_GT(w, 0);
}

TEST(S3Store, BackoffGrowsWithJitterAndGivesUpAfterTheAttemptLimit) {
  TempDir dir;
  S3TestServer server(dir.path());
  ASSERT_EQ(server.Start(), "");
  std::vector<int64_t> waits;
  S3StoreOptions o;
  o.max_attempts = 5;
  o.sleep_ms = [&](int64_t ms) { waits.push_back(ms); };
  auto store = OpenTestStore(o, &server);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Put("k", "v").ok());
  server.Stop(/*hard=*/true);  // connection refused from now on
  Status st = store->Put("k", "v2");
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  EXPECT_NE(st.message().find("5 attempt(s)"), std::string::npos) << st.message();
  ASSERT_EQ(waits.size(), 4u);
  for (size_t i = 1; i < waits.size(); ++i) EXPECT_GE(waits[i], waits[i - 1] / 2) << i;
  EXPECT_GE(waits[3], 400);  // 100 ms doubled three times, at least half of it
  // Back on the same port: the same store carries on.
  S3ServerOptions again;
  again.port = server.port();
  ASSERT_EQ(server.Start(again), "");
  ASSERT_TRUE(store->Put("k", "v3").ok());
  EXPECT_EQ(*store->Get("k"), "v3");
}

TEST(S3Store, CredentialsComeFromTheSharedFileWhenTheEnvironmentHasNone) {
  TempDir dir;
  dir.Write("credentials", std::string("[default]\naws_access_key_id = nobody\n"
                                       "aws_secret_access_key = nothing-at-all-here\n\n"
                                       "[sluice]\naws_access_key_id = ") +
                               testing::kS3AccessKey +
                               "\naws_secret_access_key = " + testing::kS3SecretKey + "\n");
  SharedServer();
  S3TestServer::UseCredentials();
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  ::setenv("AWS_SHARED_CREDENTIALS_FILE", (dir / "credentials").c_str(), 1);
  ::setenv("AWS_PROFILE", "sluice", 1);
  auto store = OpenS3Store(std::string("s3://") + testing::kS3Bucket + "/profile",
                           ConfigFor(SharedServer()));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_TRUE((*store)->Put("k", "v").ok());
  ::setenv("AWS_PROFILE", "absent", 1);
  auto none = OpenS3Store("s3://sluice-test/p", ConfigFor(SharedServer()));
  EXPECT_EQ(none.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(none.status().message().find("AWS_ACCESS_KEY_ID"), std::string::npos);
  ::unsetenv("AWS_SHARED_CREDENTIALS_FILE");
  S3TestServer::UseCredentials();
}

TEST(S3Store, TheEnvironmentOverridesTheConfiguredEndpointAndRegion) {
  SharedServer();
  S3TestServer::UseCredentials();
  config::S3Config c;
  c.endpoint = "http://127.0.0.1:1";  // nothing listens there
  c.region = "eu-west-3";
  c.path_style = true;
  ::setenv("AWS_ENDPOINT_URL", SharedServer().endpoint().c_str(), 1);
  ::setenv("AWS_REGION", "us-east-1", 1);
  auto store = OpenS3Store("s3://sluice-test/env", c);
  ::unsetenv("AWS_ENDPOINT_URL");
  ::unsetenv("AWS_REGION");
  ASSERT_TRUE(store.ok());
  EXPECT_TRUE((*store)->Put("k", "v").ok());
  EXPECT_EQ((*store)->Describe(), "s3://sluice-test/env");
}

TEST(S3Store, APartnersHandleReachesOnlyItsOwnPrefixes) {
  auto store = OpenTestStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Put("raw/globex/2026-11-24/secret.csv", "s").ok());
  PartnerStore ps(store.get(), "acme");
  auto out = ps.Create("raw", "2026-11-24/orders.csv");
  ASSERT_TRUE(out.ok());
  ASSERT_TRUE((*out)->Write("x").ok());
  ASSERT_TRUE((*out)->Commit().ok());
  EXPECT_TRUE(store->Head("raw/acme/2026-11-24/orders.csv").ok());
  EXPECT_EQ(ps.Open("raw", "../globex/2026-11-24/secret.csv").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ps.List("raw", "").value().size(), 1u);
}

TEST(S3Url, ParsesBucketAndPrefixAndRefusesBadOnes) {
  auto u = ParseS3Url("s3://my-bucket/a/b/");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->bucket, "my-bucket");
  EXPECT_EQ(u->prefix, "a/b/");
  EXPECT_EQ(ParseS3Url("s3://my-bucket")->prefix, "");
  EXPECT_EQ(ParseS3Url("s3://My_Bucket/x").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseS3Url("s3://b/../x").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseS3Url("s3://").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sluice::store
