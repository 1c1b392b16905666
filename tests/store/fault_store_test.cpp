// The fault-injecting wrapper fails exactly the call it was armed for, with the chosen code, and
// what a failed write leaves behind is what a real failure leaves: nothing visible.
#include "store/fault_store.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "store/memory_store.h"

namespace sluice::store {
namespace {

class FaultStore : public ::testing::Test {
 protected:
  FaultStore() : store_(NewMemoryStore()) {}
  std::unique_ptr<FaultInjectingStore> Wrap() {
    return std::make_unique<FaultInjectingStore>(store_.get());
  }
  std::unique_ptr<ObjectStore> store_;
};

TEST_F(FaultStore, FailsTheNthCallOfTheChosenOperationOnly) {
  auto f = Wrap();
  f->AddFault(Fault::DiskFull(FaultOp::kHead, 2));
  ASSERT_TRUE(f->Put("raw/a/x", "1").ok());
  EXPECT_TRUE(f->Head("raw/a/x").ok());
  Status second = f->Head("raw/a/x").status();
  EXPECT_EQ(second.code(), StatusCode::kIoError);
  EXPECT_NE(second.message().find("No space left on device"), std::string::npos)
      << second.message();
  EXPECT_NE(second.message().find("raw/a/x"), std::string::npos) << second.message();
  EXPECT_TRUE(f->Head("raw/a/x").ok());  // once only
  EXPECT_EQ(f->calls(FaultOp::kHead), 3);
  EXPECT_EQ(f->injected(), 1);
}

TEST_F(FaultStore, EachReadyMadeFaultCarriesItsCode) {
  struct Case {
    Fault fault;
    StatusCode code;
  };
  for (const Case& c : {Case{Fault::Denied(FaultOp::kOpen, 1), StatusCode::kPermissionDenied},
                        Case{Fault::TimedOut(FaultOp::kOpen, 1), StatusCode::kTimeout},
                        Case{Fault::Unavailable(FaultOp::kOpen, 1), StatusCode::kUnavailable},
                        Case{Fault::DiskFull(FaultOp::kOpen, 1), StatusCode::kIoError}}) {
    auto f = Wrap();
    ASSERT_TRUE(f->Put("k", "v").ok());
    f->AddFault(c.fault);
    EXPECT_EQ(f->Open("k").status().code(), c.code);
    EXPECT_TRUE(f->Open("k").ok());
  }
}

TEST_F(FaultStore, AStickyFaultKeepsFailingLikeAnEndpointThatStaysDown) {
  auto f = Wrap();
  Fault down = Fault::Unavailable(FaultOp::kAny, 4);
  down.sticky = true;
  f->AddFault(down);
  EXPECT_TRUE(f->Put("k", "v").ok());  // create, write, commit: calls 1..3
  EXPECT_FALSE(f->Head("k").ok());
  EXPECT_FALSE(f->List("").ok());
  EXPECT_FALSE(f->Delete("k").ok());
  f->ClearFaults();
  EXPECT_TRUE(f->Head("k").ok());
}

TEST_F(FaultStore, AShortWriteFailsAndLeavesNoObject) {
  auto f = Wrap();
  f->AddFault(Fault::ShortWrite(2));
  {
    auto out = f->Create("raw/a/big.csv");
    ASSERT_TRUE(out.ok());
    ASSERT_TRUE((*out)->Write("first chunk").ok());
    Status st = (*out)->Write("second chunk");
    EXPECT_EQ(st.code(), StatusCode::kIoError);
    EXPECT_NE(st.message().find("short write"), std::string::npos) << st.message();
  }  // dropped without Commit(), as a failing writer is
  EXPECT_TRUE(store_->List("").value().empty());
}

TEST_F(FaultStore, AFailedCommitPublishesNothing) {
  auto f = Wrap();
  f->AddFault(Fault::TimedOut(FaultOp::kCommit, 1));
  EXPECT_EQ(f->Put("raw/a/x", "data").code(), StatusCode::kTimeout);
  EXPECT_EQ(store_->Head("raw/a/x").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(f->Put("raw/a/x", "data").ok());
  EXPECT_EQ(*store_->Get("raw/a/x"), "data");
}

TEST_F(FaultStore, ReadsFailMidStream) {
  ASSERT_TRUE(store_->Put("k", "abcdef").ok());
  auto f = Wrap();
  f->AddFault(Fault::TimedOut(FaultOp::kRead, 2));
  auto in = f->Open("k");
  ASSERT_TRUE(in.ok());
  char buf[3];
  EXPECT_EQ((*in)->Read(buf, 3).value(), 3u);
  EXPECT_EQ((*in)->Read(buf, 3).status().code(), StatusCode::kTimeout);
}

TEST_F(FaultStore, CountsEveryOperationAndKeepsTheInnerDescription) {
  auto f = Wrap();
  ASSERT_TRUE(f->Put("a/b", "1").ok());
  ASSERT_TRUE(f->List("").ok());
  ASSERT_TRUE(f->ListFolders("a/").ok());
  ASSERT_TRUE(f->DeletePrefix("a/").ok());
  EXPECT_EQ(f->calls(FaultOp::kCreate), 1);
  EXPECT_EQ(f->calls(FaultOp::kWrite), 1);
  EXPECT_EQ(f->calls(FaultOp::kCommit), 1);
  EXPECT_EQ(f->calls(FaultOp::kList), 2);
  EXPECT_EQ(f->calls(FaultOp::kDelete), 1);
  EXPECT_EQ(f->calls(FaultOp::kAny), 6);
  EXPECT_EQ(f->Describe(), store_->Describe());
}

TEST(MemoryStore, PublishPrefixSwapsTheSetUnderOneLock) {
  auto s = NewMemoryStore();
  ASSERT_TRUE(s->Put("raw/a/d/old.csv", "old").ok());
  ASSERT_TRUE(s->Put("raw/a/.staging/d.1/new.csv", "new").ok());
  ASSERT_TRUE(s->PublishPrefix("raw/a/.staging/d.1/", "raw/a/d/").ok());
  auto all = s->List("");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].key, "raw/a/d/new.csv");
}

TEST(MemoryStore, UsesTheInjectedClockForMtimes) {
  MemoryStoreOptions o;
  o.now_ms = [] { return int64_t{1234}; };
  auto s = NewMemoryStore(o);
  ASSERT_TRUE(s->Put("k", "v").ok());
  EXPECT_EQ(s->Head("k")->mtime_ms, 1234);
}

}  // namespace
}  // namespace sluice::store
