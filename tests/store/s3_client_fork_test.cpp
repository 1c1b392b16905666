// The S3 client's connection pool and fork: the local executor runs builtins in forks of the
// scheduler, so a child must start with a pool of its own instead of the connections it
// inherited, which are still its parent's.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/s3_client.h"

namespace sluice::store::s3 {
namespace {

// A request to a port where nothing listens (refused at once, no retries) still leaves its
// handle, and so its connection cache, in the pool.
void SendOneRequestThatIsRefused() {
  ClientOptions options;
  options.endpoint = "http://127.0.0.1:1";
  options.region = "us-east-1";
  options.bucket = "b";
  options.path_style = true;
  options.credentials.access_key_id = "AKIDEXAMPLE";
  options.credentials.secret_access_key = "not-a-secret-0123456789";
  options.max_attempts = 1;
  Client client(options);
  Request req;
  req.key = "k";
  EXPECT_FALSE(client.Send(req, {"read", "s3://b/k"}).ok());
}

TEST(S3ClientFork, AForkedChildStartsWithAnEmptyPoolAndTheParentKeepsItsOwn) {
  SendOneRequestThatIsRefused();
  const size_t parents = PooledHandlesForTest();
  ASSERT_GE(parents, 1u) << "the handle went back to the pool";
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The child: nothing inherited in its pool; its own requests fill a pool of its own.
    const size_t inherited = PooledHandlesForTest();
    SendOneRequestThatIsRefused();
    _exit(inherited == 0 && PooledHandlesForTest() == 1 ? 0 : 10 + static_cast<int>(inherited));
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child saw its parent's pool (10 + its size)";
  EXPECT_EQ(PooledHandlesForTest(), parents) << "the parent's pool is untouched";
}

}  // namespace
}  // namespace sluice::store::s3
