// The extract builtin on a store whose publish is a copy of every object (S3): a first extract
// of a partner and date writes straight into raw/<p>/<date>/ (no staging copy), a re-extract over
// a committed date still stages, and every failure leaves what a reader could see as it was.
// The store is the local one behind a SpyStore that answers AtomicPublish() == false, so the
// code path is S3's while the tests read plain files.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "archive/test_archive_builder.h"
#include "store/fault_store.h"
#include "tasks/extract.h"
#include "tasks/extract_test_support.h"

namespace sluice::tasks {
namespace {

using testing::BuildArchive;
using testing::Format;
using testing::Snapshot;

class ExtractRemote : public testing::PipelineFixture {
 protected:
  void SetUp() override {
    PipelineFixture::SetUp();
    local_ = OpenTheStore();
    spy_ = std::make_unique<testing::SpyStore>(local_.get());
    spy_->atomic_publish = false;
  }
  Status Run(store::ObjectStore* store) {
    TaskContext ctx = Ctx("acme", "batch_extract");
    return ExtractPartner(ctx, store);
  }
  Status Run() { return Run(spy_.get()); }
  // Whether anything was written or published under a staging folder (listing the staging
  // area to sweep stale folders is not staging).
  bool Staged() const {
    return std::any_of(spy_->touched.begin(), spy_->touched.end(), [](const std::string& k) {
      const size_t at = k.find("/.staging/");
      return at != std::string::npos && at + 10 < k.size();
    });
  }
  std::filesystem::path ManifestPath() const {
    return StoreRoot() / "manifests/acme/2026-11-24/extract.json";
  }
  static std::string Archive(const std::string& a, const std::string& b) {
    return BuildArchive({{"orders_a.csv", a}, {"readme.txt", "x"}, {"orders_b.csv", b}},
                        Format::kTarGz);
  }

  std::unique_ptr<store::ObjectStore> local_;
  std::unique_ptr<testing::SpyStore> spy_;
};

TEST_F(ExtractRemote, AFirstExtractWritesStraightIntoTheDateFolderAndEqualsAStagedOne) {
  LandComplete("acme", Archive("1\n2\n", "3\n"));
  // The reference: the same delivery through the local store's staged, renamed publish.
  ASSERT_TRUE(Run(local_.get()).ok());
  auto raw_staged = Snapshot(StoreRoot() / "raw");
  auto manifest_staged = nlohmann::json::parse(testing::ReadFile(ManifestPath()));
  std::filesystem::remove_all(StoreRoot() / "raw");
  std::filesystem::remove_all(StoreRoot() / "manifests");

  Status st = Run();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_FALSE(Staged()) << "a first extract on a copy-publish store must not stage";
  EXPECT_EQ(Snapshot(StoreRoot() / "raw"), raw_staged);
  auto manifest = nlohmann::json::parse(testing::ReadFile(ManifestPath()));
  EXPECT_EQ(manifest["files"], manifest_staged["files"]);
  EXPECT_EQ(manifest["skipped"], manifest_staged["skipped"]);
  EXPECT_EQ(manifest["archive"], manifest_staged["archive"]);
}

TEST_F(ExtractRemote, AReextractOverACommittedDateStagesAndReplacesTheSetWhole) {
  LandComplete("acme", Archive("1\n", "2\n"));
  ASSERT_TRUE(Run().ok());
  spy_->touched.clear();
  LandComplete("acme",
               BuildArchive({{"orders_b.csv", "22\n"}, {"orders_c.csv", "3\n"}}, Format::kTarGz));
  Status st = Run();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(Staged()) << "a committed date is replaced through a staging folder";
  EXPECT_EQ(
      Snapshot(StoreRoot() / "raw/acme/2026-11-24"),
      (std::map<std::string, std::string>{{"orders_b.csv", "22\n"}, {"orders_c.csv", "3\n"}}));
  EXPECT_FALSE(std::filesystem::exists(StoreRoot() / "raw/acme/.staging"));
}

TEST_F(ExtractRemote, ARefusedFirstDeliveryLeavesNoFileAndNoManifest) {
  LandComplete(
      "acme", BuildArchive({{"orders_a.csv", std::string(1 << 16, 'a')}, {"../../escape.csv", "x"}},
                           Format::kTarGz));
  Status st = Run();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("dotdot"), std::string::npos) << st.ToString();
  EXPECT_FALSE(std::filesystem::exists(StoreRoot() / "raw/acme/2026-11-24"));
  EXPECT_FALSE(std::filesystem::exists(ManifestPath()));
}

TEST_F(ExtractRemote, ARefusedRedeliveryKeepsTheCommittedSetAndItsManifest) {
  LandComplete("acme", Archive("1\n", "2\n"));
  ASSERT_TRUE(Run().ok());
  auto before_raw = Snapshot(StoreRoot() / "raw");
  auto before_manifests = Snapshot(StoreRoot() / "manifests");
  LandComplete("acme",
               BuildArchive({{"orders_a.csv", "9\n"}, {"/etc/orders_b.csv", "x"}}, Format::kTar));
  Status st = Run();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("absolute_path"), std::string::npos) << st.ToString();
  EXPECT_EQ(Snapshot(StoreRoot() / "raw"), before_raw);
  EXPECT_EQ(Snapshot(StoreRoot() / "manifests"), before_manifests);
}

TEST_F(ExtractRemote, WhatAKilledFirstAttemptLeftInTheDateFolderIsRemoved) {
  // A first attempt killed mid-way: objects in the date folder, no manifest (never committed).
  dir_.Write("area/data/raw/acme/2026-11-24/orders_a.csv", "half");
  dir_.Write("area/data/raw/acme/2026-11-24/orders_gone.csv", "from an older archive");
  LandComplete("acme", Archive("1\n", "2\n"));
  Status st = Run();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_FALSE(Staged());
  EXPECT_EQ(Snapshot(StoreRoot() / "raw/acme/2026-11-24"),
            (std::map<std::string, std::string>{{"orders_a.csv", "1\n"}, {"orders_b.csv", "2\n"}}));
}

TEST_F(ExtractRemote, AMemberWhoseBackgroundCommitFailsFailsTheExtractAndLeavesNothing) {
  // Members are committed in the background while the next one is read: a commit that fails
  // there (the second member's upload) must still fail the task, naming the cause.
  store::FaultInjectingStore faulty(spy_.get());
  ASSERT_FALSE(faulty.AtomicPublish());
  faulty.AddFault(store::Fault::DiskFull(store::FaultOp::kCommit, 2));
  LandComplete("acme", Archive("1\n", "2\n"));
  Status st = Run(&faulty);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kIoError) << st.ToString();
  EXPECT_EQ(faulty.injected(), 1);
  EXPECT_FALSE(std::filesystem::exists(StoreRoot() / "raw/acme/2026-11-24"));
  EXPECT_FALSE(std::filesystem::exists(ManifestPath()));
  // The retry completes.
  faulty.ClearFaults();
  ASSERT_TRUE(Run(&faulty).ok());
  EXPECT_EQ(testing::ReadFile(StoreRoot() / "raw/acme/2026-11-24/orders_b.csv"), "2\n");
}

TEST_F(ExtractRemote, AFailureAmongSeveralMembersCommittingAtOnceFailsTheExtractAndLeavesNothing) {
  // Up to StagingSink::kMaxCommitting members finish their upload in the background while the
  // next ones are read: the first one failing, with later ones still in flight, fails the task;
  // what the others finished is removed with the rest, and the retry completes.
  store::FaultInjectingStore faulty(spy_.get());
  faulty.AddFault(store::Fault::DiskFull(store::FaultOp::kCommit, 1));
  std::vector<testing::Member> members;
  std::map<std::string, std::string> expected;
  for (int i = 1; i <= 6; ++i) {
    const std::string name = "orders_" + std::to_string(i) + ".csv";
    members.emplace_back(name, std::to_string(i) + "\n");
    expected[name] = std::to_string(i) + "\n";
  }
  LandComplete("acme", BuildArchive(members, Format::kTarGz));
  Status st = Run(&faulty);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kIoError) << st.ToString();
  EXPECT_EQ(faulty.injected(), 1);
  EXPECT_FALSE(std::filesystem::exists(StoreRoot() / "raw/acme/2026-11-24"));
  EXPECT_FALSE(std::filesystem::exists(ManifestPath()));
  faulty.ClearFaults();
  ASSERT_TRUE(Run(&faulty).ok());
  EXPECT_EQ(Snapshot(StoreRoot() / "raw/acme/2026-11-24"), expected);
  EXPECT_TRUE(std::filesystem::exists(ManifestPath()));
}

}  // namespace
}  // namespace sluice::tasks
