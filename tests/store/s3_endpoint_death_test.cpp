// The S3 test endpoint itself, killed on purpose by the tests (tests/s3/server.js --die-on): like
// a real endpoint, it never keeps half an object: a PUT it has done survives its death whole. The
// end-to-end kill tests (s3_pipeline_test.cpp) rely on this: s3rver on its own answers before
// its file is written (and writes over an object in place), which once failed a repair in CI.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "s3/s3_fixture.h"
#include "store/s3_store.h"

namespace sluice::store {
namespace {

using testing::S3ServerOptions;
using testing::S3TestServer;
using testing::TempDir;

std::unique_ptr<ObjectStore> Open(const S3TestServer& server) {
  S3TestServer::UseCredentials();
  config::S3Config c;
  c.endpoint = server.endpoint();
  c.path_style = true;
  S3StoreOptions options;
  options.sleep_ms = [](int64_t) {};  // a dead endpoint is retried without waiting
  auto s = OpenS3Store(std::string("s3://") + testing::kS3Bucket + "/death", c, options);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

// Bytes that differ at every offset, so a torn or shifted copy cannot compare equal.
std::string Pattern(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  for (char& c : s) {
    seed = seed * 1103515245 + 12345;
    c = static_cast<char>(seed >> 24);
  }
  return s;
}

// Starts `server` dying at the first request whose "METHOD URL" contains `die_on`, runs `put`
// (which must fail: the endpoint never answers), waits for the death and starts it again on the
// same folder.
template <typename Put>
void DieDuring(S3TestServer& server, const std::string& die_on, Put put) {
  const int port = server.port();
  server.Stop();
  S3ServerOptions dying;
  dying.port = port;
  dying.die_on = die_on;
  ASSERT_EQ(server.Start(dying), "");
  auto store = Open(server);
  ASSERT_NE(store, nullptr);
  EXPECT_FALSE(put(*store).ok()) << "the endpoint died before answering";
  ASSERT_TRUE(server.WaitForExit(30000)) << "the endpoint never saw " << die_on;
  ASSERT_EQ(server.Start(), "");
}

TEST(S3EndpointDeath, APutTheEndpointDidSurvivesItsDeathWhole) {
  TempDir tmp;
  S3TestServer server(tmp / "s3");
  ASSERT_EQ(server.Start(), "");
  // Large enough that s3rver's write stream still holds data when it answers.
  const std::string data = Pattern(6 << 20, 7);
  DieDuring(server, "PUT /sluice-test/death/whole.bin",
            [&](ObjectStore& s) { return s.Put("whole.bin", data); });
  auto store = Open(server);
  ASSERT_NE(store, nullptr);
  auto got = store->Get("whole.bin");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->size(), data.size());
  EXPECT_TRUE(*got == data) << "the object the endpoint stored before dying is torn";
}

}  // namespace
}  // namespace sluice::store
