// The S3 store streaming both ways, against the real test endpoint (s3rver behind the SigV4
// check, tests/s3/server.js).
// PUT (OutputStream::ExpectSize): an object announced with its size goes up as one PUT of that
// length while it is being written, reading the writer's spool as it grows, with its last byte
// held back until Commit(): what is stored is whole or nothing, whatever happens before Commit().
// GET: ranges of half a part, the next fetched while the reader consumes the current one.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>

#include "s3/s3_fixture.h"
#include "store/s3_store.h"

namespace sluice::store {
namespace {

using testing::S3ServerOptions;
using testing::S3TestServer;
using testing::TempDir;

constexpr int64_t kThreshold = 4 << 20;  // single PUTs up to 4 MiB
std::atomic<int> g_prefix{0};

// A store under `prefix` (a fresh one when empty) of `server`; retries do not wait.
std::unique_ptr<ObjectStore> Open(const S3TestServer& server, int max_attempts = 0,
                                  std::string prefix = "") {
  if (prefix.empty()) prefix = "s" + std::to_string(::getpid()) + "-" + std::to_string(++g_prefix);
  S3TestServer::UseCredentials();
  config::S3Config c;
  c.endpoint = server.endpoint();
  c.path_style = true;
  S3StoreOptions o;
  o.part_size = 1 << 20;
  o.threshold = kThreshold;
  o.max_attempts = max_attempts;
  o.sleep_ms = [](int64_t) {};
  auto s = OpenS3Store(std::string("s3://") + testing::kS3Bucket + "/" + prefix, c, o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

// Bytes that differ at every offset, so a torn or shifted copy cannot compare equal.
std::string Pattern(size_t n, uint32_t seed = 7) {
  std::string s(n, '\0');
  for (char& c : s) {
    seed = seed * 1103515245 + 12345;
    c = static_cast<char>(seed >> 24);
  }
  return s;
}

Status WriteAll(OutputStream& out, std::string_view data, size_t chunk = 256 * 1024) {
  for (size_t i = 0; i < data.size(); i += chunk) {
    SLUICE_RETURN_IF_ERROR(out.Write(data.substr(i, chunk)));
  }
  return Status::Ok();
}

int CountRequests(const S3TestServer& server, std::string_view needle) {
  int n = 0;
  for (const std::string& line : server.Requests()) n += line.find(needle) != std::string::npos;
  return n;
}

class S3Streaming : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(server_.Start(), ""); }
  TempDir tmp_;
  S3TestServer server_{tmp_ / "s3"};
};

TEST_F(S3Streaming, AnAnnouncedObjectIsOnePutStartedBeforeCommitAndVisibleOnlyAfterIt) {
  auto store = Open(server_);
  ASSERT_NE(store, nullptr);
  const std::string data = Pattern((3 << 20) + 4321);  // over the 1 MiB a writer keeps in memory
  auto out = store->Create("raw/acme/d/orders.csv");
  ASSERT_TRUE(out.ok());
  (*out)->ExpectSize(static_cast<int64_t>(data.size()));
  EXPECT_EQ(S3UploadPeak(*store), 1) << "the PUT is in flight before a byte is written";
  ASSERT_TRUE(WriteAll(**out, data).ok());
  // Every byte is written, but the PUT's last one waits for Commit(): nothing is stored yet.
  EXPECT_EQ(store->Head("raw/acme/d/orders.csv").status().code(), StatusCode::kNotFound);
  Status st = (*out)->Commit();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(CountRequests(server_, "orders.csv 200"), 1) << "one PUT";
  EXPECT_EQ(CountRequests(server_, "orders.csv?"), 0) << "no multipart request";
  auto got = store->Get("raw/acme/d/orders.csv");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == data) << "sizes " << got->size() << " vs " << data.size();
}

TEST_F(S3Streaming, AWriterDroppedMidStreamOrWithEveryByteWrittenLeavesNothing) {
  // What a member failing its entry checks part-way does: the extract drops its writer.
  auto store = Open(server_);
  ASSERT_NE(store, nullptr);
  const std::string data = Pattern(3 << 20);
  {
    auto out = store->Create("raw/acme/d/half.csv");
    ASSERT_TRUE(out.ok());
    (*out)->ExpectSize(static_cast<int64_t>(data.size()));
    ASSERT_TRUE(WriteAll(**out, std::string_view(data).substr(0, data.size() / 2)).ok());
  }
  {
    auto out = store->Create("raw/acme/d/all.csv");
    ASSERT_TRUE(out.ok());
    (*out)->ExpectSize(static_cast<int64_t>(data.size()));
    ASSERT_TRUE(WriteAll(**out, data).ok());
  }
  auto listed = store->List("");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_TRUE(listed->empty()) << listed->front().key;
  EXPECT_EQ(CountRequests(server_, ".csv 200"), 0) << "no PUT completed";
  // The endpoint is not left waiting on them: the same keys are written whole at once.
  ASSERT_TRUE(store->Put("raw/acme/d/all.csv", data).ok());
  EXPECT_TRUE(store->Get("raw/acme/d/all.csv").value_or("") == data);
}

TEST_F(S3Streaming, AnObjectOfAnotherLengthThanAnnouncedIsStillStoredWhole) {
  auto store = Open(server_);
  ASSERT_NE(store, nullptr);
  const std::string longer = Pattern((3 << 20) + 17, 1);
  const std::string shorter = Pattern((3 << 19) + 5, 2);
  const std::string past_threshold = Pattern(kThreshold + (1 << 20), 3);
  for (const auto& [key, data] : {std::pair<std::string, const std::string*>{"longer", &longer},
                                  {"shorter", &shorter},
                                  {"past_threshold", &past_threshold}}) {
    auto out = store->Create("raw/acme/d/" + key);
    ASSERT_TRUE(out.ok());
    (*out)->ExpectSize(2 << 20);
    ASSERT_TRUE(WriteAll(**out, *data).ok()) << key;
    Status st = (*out)->Commit();
    ASSERT_TRUE(st.ok()) << key << ": " << st.ToString();
    auto got = store->Get("raw/acme/d/" + key);
    ASSERT_TRUE(got.ok()) << key << ": " << got.status().ToString();
    EXPECT_TRUE(*got == *data) << key << ": sizes " << got->size() << " vs " << data->size();
  }
  EXPECT_GT(CountRequests(server_, "past_threshold?partNumber="), 1)
      << "past the threshold it went up in parts";
}

TEST_F(S3Streaming, AThrottledStreamedPutIsSentAgainFromTheSpool) {
  server_.Stop();
  S3ServerOptions o;  // a fresh port: the old one may be taken once given back
  o.slowdown = 2;     // every second request: 503 SlowDown
  ASSERT_EQ(server_.Start(o), "");
  auto store = Open(server_);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Head("raw/acme/d/x").status().code(), StatusCode::kNotFound);  // request 1
  const std::string data = Pattern((2 << 20) + 99);
  auto out = store->Create("raw/acme/d/throttled.csv");
  ASSERT_TRUE(out.ok());
  (*out)->ExpectSize(static_cast<int64_t>(data.size()));  // request 2: refused, sent again
  ASSERT_TRUE(WriteAll(**out, data).ok());
  Status st = (*out)->Commit();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(CountRequests(server_, "throttled.csv 503"), 1);
  EXPECT_EQ(CountRequests(server_, "throttled.csv 200"), 1);
  auto got = store->Get("raw/acme/d/throttled.csv");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == data) << "sizes " << got->size() << " vs " << data.size();
}

TEST_F(S3Streaming, AnEndpointKilledMidStreamFailsTheWriterCleanlyAndARetryCompletes) {
  const std::string prefix = "killed" + std::to_string(::getpid());
  auto store = Open(server_, /*max_attempts=*/3, prefix);
  ASSERT_NE(store, nullptr);
  const std::string data = Pattern(3 << 20);
  {
    auto out = store->Create("raw/acme/d/killed.csv");
    ASSERT_TRUE(out.ok());
    (*out)->ExpectSize(static_cast<int64_t>(data.size()));
    ASSERT_TRUE(WriteAll(**out, std::string_view(data).substr(0, 1 << 20)).ok());
    server_.Stop(/*hard=*/true);  // SIGKILL, as a crash would
    Status st = WriteAll(**out, std::string_view(data).substr(1 << 20));
    if (st.ok()) st = (*out)->Commit();
    ASSERT_FALSE(st.ok()) << "the endpoint died mid-PUT";
    EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
    EXPECT_NE(st.message().find("killed.csv"), std::string::npos) << st.ToString();
    EXPECT_NE(st.message().find("attempt(s)"), std::string::npos) << st.ToString();
  }
  // Back on the same objects (on a fresh port: the old one may be taken once given back):
  // nothing of the failed PUT, and the retry stores it whole.
  ASSERT_EQ(server_.Start(), "");
  store = Open(server_, /*max_attempts=*/3, prefix);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Head("raw/acme/d/killed.csv").status().code(), StatusCode::kNotFound);
  auto out = store->Create("raw/acme/d/killed.csv");
  ASSERT_TRUE(out.ok());
  (*out)->ExpectSize(static_cast<int64_t>(data.size()));
  ASSERT_TRUE(WriteAll(**out, data).ok());
  Status st = (*out)->Commit();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(store->Get("raw/acme/d/killed.csv").value_or("") == data);
}

TEST_F(S3Streaming, ALargeObjectIsReadInHalfPartRangesFetchedAheadAndComesBackWhole) {
  auto store = Open(server_);  // parts of 1 MiB: ranges of 512 KiB
  ASSERT_NE(store, nullptr);
  const std::string data = Pattern((5 << 19) + 777);  // 6 ranges, the last one short
  ASSERT_TRUE(store->Put("raw/acme/d/read.csv", data).ok());
  const int before = CountRequests(server_, "GET ");
  auto in = store->Open("raw/acme/d/read.csv");
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  std::string got;
  char buf[100000];  // reads that straddle the ranges' edges
  for (;;) {
    auto n = (*in)->Read(buf, sizeof buf);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    if (*n == 0) break;
    got.append(buf, *n);
  }
  EXPECT_TRUE(got == data) << "sizes " << got.size() << " vs " << data.size();
  EXPECT_EQ(CountRequests(server_, "GET ") - before, 6);
}

TEST_F(S3Streaming, AnObjectReplacedWhileBeingReadFailsTheReadInsteadOfMixingVersions) {
  auto store = Open(server_);
  ASSERT_NE(store, nullptr);
  const std::string v1 = Pattern(3 << 20, 1);  // 6 ranges
  const std::string v2 = Pattern(3 << 20, 2);
  ASSERT_TRUE(store->Put("raw/acme/d/moving.csv", v1).ok());
  auto in = store->Open("raw/acme/d/moving.csv");  // the first range, and the second on its way
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  ASSERT_TRUE(store->Put("raw/acme/d/moving.csv", v2).ok());
  std::string got;
  Status failed;
  char buf[65536];
  for (;;) {
    auto n = (*in)->Read(buf, sizeof buf);
    if (!n.ok()) {
      failed = n.status();
      break;
    }
    if (*n == 0) break;
    got.append(buf, *n);
  }
  ASSERT_FALSE(failed.ok()) << "read " << got.size() << " bytes of a replaced object";
  EXPECT_EQ(failed.code(), StatusCode::kUnavailable) << failed.ToString();
  EXPECT_NE(failed.message().find("replaced while being read"), std::string::npos)
      << failed.ToString();
  EXPECT_TRUE(got == v1.substr(0, got.size())) << "what was read is the first version only";
}

TEST_F(S3Streaming, AReadStreamDroppedWithARangeInFlightLeavesTheStoreUsable) {
  auto store = Open(server_);
  ASSERT_NE(store, nullptr);
  const std::string data = Pattern(3 << 20);
  ASSERT_TRUE(store->Put("raw/acme/d/dropped.csv", data).ok());
  for (int i = 0; i < 3; ++i) {
    auto in = store->Open("raw/acme/d/dropped.csv");
    ASSERT_TRUE(in.ok()) << in.status().ToString();
    char c;
    ASSERT_EQ((*in)->Read(&c, 1).value_or(0), 1u);
    EXPECT_EQ(c, data[0]);
  }  // each dropped while its next range is being fetched
  EXPECT_TRUE(store->Get("raw/acme/d/dropped.csv").value_or("") == data);
}

}  // namespace
}  // namespace sluice::store
