// The interface suite every ObjectStore back-end must pass (local, in-memory, the fault wrapper
// in pass-through mode; S3 runs it in s3_store_test.cpp against a live endpoint), plus key
// validation and partner scoping.
#include "store/store_conformance.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "store/fault_store.h"
#include "store/local_store.h"
#include "store/memory_store.h"
#include "store/object_store.h"
#include "testing/temp_dir.h"

namespace sluice::store {
namespace {

using ::sluice::store::conformance::Backend;
using ::sluice::store::conformance::StoreConformance;
using testing::TempDir;

// The local store seen only through the core operations, so the generic DeletePrefix and
// PublishPrefix fallbacks (what a remote store without folder renames gets) run the same suite.
class CoreOnlyStore final : public ObjectStore {
 public:
  explicit CoreOnlyStore(std::unique_ptr<ObjectStore> inner) : inner_(std::move(inner)) {}
  Result<std::unique_ptr<InputStream>> Open(std::string_view key) override {
    return inner_->Open(key);
  }
  Result<std::unique_ptr<OutputStream>> Create(std::string_view key) override {
    return inner_->Create(key);
  }
  Result<ObjectInfo> Head(std::string_view key) override { return inner_->Head(key); }
  Result<std::vector<ObjectInfo>> List(std::string_view prefix) override {
    return inner_->List(prefix);
  }
  Status Delete(std::string_view key) override { return inner_->Delete(key); }
  Status DeletePrefix(std::string_view prefix) override {
    SLUICE_RETURN_IF_ERROR(ValidateKeyPrefix(prefix));
    return ObjectStore::DeletePrefix(prefix);
  }
  std::optional<std::filesystem::path> LocalPath(std::string_view key) const override {
    return inner_->LocalPath(key);
  }
  std::string Describe() const override { return "core-only " + inner_->Describe(); }

 private:
  std::unique_ptr<ObjectStore> inner_;
};

TEST_P(StoreConformance, PutThenGetRoundTripsBytes) {
  std::string data("a\0b\nc", 5);
  ASSERT_TRUE(store_->Put("raw/acme/2026-11-24/x.csv", data).ok());
  auto got = store_->Get("raw/acme/2026-11-24/x.csv");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, data);
  auto head = store_->Head("raw/acme/2026-11-24/x.csv");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->size, 5);
  EXPECT_GT(head->mtime_ms, 0);
}

TEST_P(StoreConformance, MissingKeyIsNotFound) {
  EXPECT_EQ(store_->Open("raw/acme/none").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Head("raw/acme/none").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Get("raw/acme/none").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->Delete("raw/acme/none").ok());
}

TEST_P(StoreConformance, ObjectIsInvisibleUntilCommit) {
  auto out = store_->Create("raw/acme/d/big.csv");
  ASSERT_TRUE(out.ok());
  ASSERT_TRUE((*out)->Write(std::string(1 << 20, 'x')).ok());
  EXPECT_TRUE(Keys().empty());
  EXPECT_EQ(store_->Head("raw/acme/d/big.csv").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE((*out)->Commit().ok());
  EXPECT_EQ(Keys(), std::vector<std::string>{"raw/acme/d/big.csv"});
  EXPECT_EQ(store_->Head("raw/acme/d/big.csv")->size, 1 << 20);
}

TEST_P(StoreConformance, WriterDroppedWithoutCommitLeavesNothing) {
  {
    auto out = store_->Create("raw/acme/d/dropped.csv");
    ASSERT_TRUE(out.ok());
    ASSERT_TRUE((*out)->Write("partial").ok());
  }
  EXPECT_TRUE(Keys().empty());
  if (auto p = store_->LocalPath("raw")) {
    // No stray folders or temporaries either.
    EXPECT_FALSE(std::filesystem::exists(*p));
  }
}

TEST_P(StoreConformance, CommitReplacesThePreviousObjectWhole) {
  ASSERT_TRUE(store_->Put("manifests/acme/d/extract.json", "old-version-longer").ok());
  ASSERT_TRUE(store_->Put("manifests/acme/d/extract.json", "new").ok());
  EXPECT_EQ(*store_->Get("manifests/acme/d/extract.json"), "new");
}

TEST_P(StoreConformance, ListIsSortedAndFilteredByPrefix) {
  for (const char* k : {"raw/b/2.csv", "raw/a/1.csv", "raw/a/0.csv", "raw/ab/x.csv", "landing/a/z"})
    ASSERT_TRUE(store_->Put(k, k).ok());
  EXPECT_EQ(Keys("raw/a/"), (std::vector<std::string>{"raw/a/0.csv", "raw/a/1.csv"}));
  EXPECT_EQ(Keys("raw/a"),
            (std::vector<std::string>{"raw/a/0.csv", "raw/a/1.csv", "raw/ab/x.csv"}));
  EXPECT_EQ(Keys().size(), 5u);
  EXPECT_TRUE(Keys("nothing/").empty());
}

TEST_P(StoreConformance, DeletePrefixRemovesOnlyThatFolder) {
  for (const char* k : {"raw/a/d1/1.csv", "raw/a/d1/sub/2.csv", "raw/a/d10/3.csv"})
    ASSERT_TRUE(store_->Put(k, "x").ok());
  ASSERT_TRUE(store_->DeletePrefix("raw/a/d1/").ok());
  EXPECT_EQ(Keys(), std::vector<std::string>{"raw/a/d10/3.csv"});
}

TEST_P(StoreConformance, PublishPrefixReplacesTheSetWhole) {
  ASSERT_TRUE(store_->Put("raw/a/d/old_only.csv", "old").ok());
  ASSERT_TRUE(store_->Put("raw/a/d/both.csv", "old").ok());
  ASSERT_TRUE(store_->Put("raw/a/.staging/d.1/both.csv", "new").ok());
  ASSERT_TRUE(store_->Put("raw/a/.staging/d.1/new_only.csv", "new").ok());
  ASSERT_TRUE(store_->PublishPrefix("raw/a/.staging/d.1/", "raw/a/d/").ok());
  EXPECT_EQ(Keys(), (std::vector<std::string>{"raw/a/d/both.csv", "raw/a/d/new_only.csv"}));
  EXPECT_EQ(*store_->Get("raw/a/d/both.csv"), "new");
  // Publishing onto an absent folder works too.
  ASSERT_TRUE(store_->Put("raw/a/.staging/e.1/f.csv", "f").ok());
  ASSERT_TRUE(store_->PublishPrefix("raw/a/.staging/e.1/", "raw/a/e/").ok());
  EXPECT_EQ(*store_->Get("raw/a/e/f.csv"), "f");
}

TEST_P(StoreConformance, TheLongestValidFileNameRoundTrips) {
  // 255 bytes is the file system's limit; the store's temporary name must not eat into it.
  if (!GetParam().long_segments) GTEST_SKIP() << GetParam().name << "'s test endpoint cannot";
  for (size_t len : {236u, 255u}) {
    std::string key = "raw/acme/2026-11-24/" + std::string(len - 4, 'x') + ".csv";
    Status put = store_->Put(key, "data");
    ASSERT_TRUE(put.ok()) << len << ": " << put.ToString();
    EXPECT_EQ(*store_->Get(key), "data");
  }
  EXPECT_EQ(Keys().size(), 2u);
}

TEST_P(StoreConformance, ANameLongerThan255BytesIsInvalidNotAnIoError) {
  std::string key = "raw/acme/2026-11-24/" + std::string(252, 'x') + ".csv";  // 256 bytes
  Status put = store_->Put(key, "data");
  EXPECT_EQ(put.code(), StatusCode::kInvalidArgument) << put.ToString();
  EXPECT_NE(put.message().find("256 bytes, more than 255"), std::string::npos) << put.message();
  EXPECT_TRUE(Keys().empty());
}

TEST_P(StoreConformance, ListFoldersNamesTheFoldersDirectlyUnderAPrefix) {
  for (const char* k :
       {"raw/a/.staging/d.2/sub/y.csv", "raw/a/.staging/d.1/x.csv", "raw/a/.staging/d.1/z.csv",
        "raw/a/.staging/file.csv", "raw/ab/.staging/e/x"})
    ASSERT_TRUE(store_->Put(k, "x").ok());
  auto folders = store_->ListFolders("raw/a/.staging/");
  ASSERT_TRUE(folders.ok()) << folders.status().ToString();
  EXPECT_EQ(*folders, (std::vector<std::string>{"d.1", "d.2"}));
  EXPECT_TRUE(store_->ListFolders("raw/none/").value().empty());
  EXPECT_EQ(store_->ListFolders("raw/a").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->ListFolders("../").status().code(), StatusCode::kInvalidArgument);
}

TEST_P(StoreConformance, RefusesUnsafeKeysOnEveryOperation) {
  for (const std::string& bad : std::vector<std::string>{
           "", "/etc/passwd", "a/../b", "./a", "a//b", "a/", "a\\b", std::string("a\0b", 3), "a\nb",
           "a/\x7f", "\xff\xfe", "a/.sluice-tmp-x"}) {
    EXPECT_EQ(store_->Put(bad, "x").code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(store_->Open(bad).status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(store_->Head(bad).status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(store_->Delete(bad).code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(store_->List("../").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->DeletePrefix("/").code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Keys().empty());
}

INSTANTIATE_TEST_SUITE_P(
    Backends, StoreConformance,
    ::testing::Values(Backend{"local",
                              [](const TempDir& d) {
                                auto s = OpenLocalStore(d / "store");
                                return s.ok() ? std::move(s).value() : nullptr;
                              }},
                      Backend{"generic_fallbacks",
                              [](const TempDir& d) -> std::unique_ptr<ObjectStore> {
                                auto s = OpenLocalStore(d / "store");
                                if (!s.ok()) return nullptr;
                                return std::make_unique<CoreOnlyStore>(std::move(s).value());
                              }},
                      Backend{"memory",
                              [](const TempDir&) -> std::unique_ptr<ObjectStore> {
                                return NewMemoryStore();
                              }},
                      Backend{"fault_passthrough_local",
                              [](const TempDir& d) -> std::unique_ptr<ObjectStore> {
                                auto s = OpenLocalStore(d / "store");
                                if (!s.ok()) return nullptr;
                                return std::make_unique<FaultInjectingStore>(std::move(s).value());
                              }},
                      Backend{"fault_passthrough_memory",
                              [](const TempDir&) -> std::unique_ptr<ObjectStore> {
                                return std::make_unique<FaultInjectingStore>(NewMemoryStore());
                              }}),
    [](const ::testing::TestParamInfo<Backend>& p) { return p.param.name; });

TEST(ValidateKey, NamesTheRuleBroken) {
  Status st = ValidateKey("raw/../etc");
  EXPECT_NE(st.message().find("\"..\""), std::string::npos) << st.message();
  EXPECT_NE(ValidateKey("a\\b").message().find("backslash"), std::string::npos);
  EXPECT_NE(ValidateKey("/a").message().find("absolute"), std::string::npos);
  EXPECT_NE(ValidateKey("a\x01").message().find("control"), std::string::npos);
  EXPECT_TRUE(ValidateKey("raw/acme/2026-11-24/orders 1.csv").ok());
  EXPECT_TRUE(ValidateKey("raw/acme/\xed\x95\x9c.csv").ok());  // UTF-8 Hangul
}

TEST(PartnerStore, PrefixesEveryKeyWithTheAreaAndPartner) {
  TempDir dir;
  auto base = OpenLocalStore(dir / "store");
  ASSERT_TRUE(base.ok());
  PartnerStore ps(base->get(), "acme");
  EXPECT_EQ(*ps.Key("raw", "2026-11-24/x.csv"), "raw/acme/2026-11-24/x.csv");
  auto out = ps.Create("manifests", "d/extract.json");
  ASSERT_TRUE(out.ok());
  ASSERT_TRUE((*out)->Write("{}").ok());
  ASSERT_TRUE((*out)->Commit().ok());
  EXPECT_TRUE((*base)->Head("manifests/acme/d/extract.json").ok());
  auto listed = ps.List("manifests", "");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].key, "manifests/acme/d/extract.json");
}

TEST(PartnerStore, CannotReachAnotherPartnerOrArea) {
  TempDir dir;
  auto base = OpenLocalStore(dir / "store");
  ASSERT_TRUE(base.ok());
  ASSERT_TRUE((*base)->Put("raw/globex/secret.csv", "s").ok());
  PartnerStore ps(base->get(), "acme");
  EXPECT_EQ(ps.Open("raw", "../globex/secret.csv").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ps.Open("raw/globex", "secret.csv").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ps.Open("etc", "passwd").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ps.List("raw", "../").status().code(), StatusCode::kInvalidArgument);
  PartnerStore evil(base->get(), "../globex");
  EXPECT_EQ(evil.Open("raw", "secret.csv").status().code(), StatusCode::kInvalidArgument);
}

TEST(OpenStore, ResolvesRelativeFileUrlsAgainstThePipelineFolder) {
  TempDir dir;
  auto s = OpenStore("file://./data", dir.path());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_TRUE((*s)->Put("raw/a/x", "1").ok());
  EXPECT_TRUE(std::filesystem::exists(dir / "data/raw/a/x"));
  EXPECT_EQ((*s)->Describe(), "file://" + (dir / "data").string());
}

TEST(OpenStore, RefusesUnknownSchemesNamingTheKnownOnes) {
  TempDir dir;
  auto ftp = OpenStore("ftp://x", dir.path());
  EXPECT_EQ(ftp.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(ftp.status().message().find("use one of file://, s3://"), std::string::npos)
      << ftp.status().message();
  EXPECT_EQ(OpenStore("s3://Bad_Bucket/p", dir.path()).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(LocalStore, ListFoldersIncludesEmptyFoldersButNoLinksOrTemporaries) {
  TempDir dir;
  auto s = OpenLocalStore(dir / "store");
  ASSERT_TRUE(s.ok());
  std::filesystem::create_directories(dir / "store/raw/a/.staging/empty.1");
  std::filesystem::create_directories(dir / "store/raw/a/.staging/.sluice-tmp-1");
  std::filesystem::create_directories(dir / "elsewhere");
  std::filesystem::create_directory_symlink(dir / "elsewhere", dir / "store/raw/a/.staging/link");
  auto folders = (*s)->ListFolders("raw/a/.staging/");
  ASSERT_TRUE(folders.ok()) << folders.status().ToString();
  EXPECT_EQ(*folders, std::vector<std::string>{"empty.1"});
  PartnerStore ps(s->get(), "a");
  EXPECT_EQ(ps.ListFolders("raw", ".staging/").value(), std::vector<std::string>{"empty.1"});
  EXPECT_EQ(ps.ListFolders("raw", "../").status().code(), StatusCode::kInvalidArgument);
}

TEST(LocalStore, RefusesToFollowASymlinkPlantedAtAKey) {
  TempDir dir;
  auto s = OpenLocalStore(dir / "store");
  ASSERT_TRUE(s.ok());
  dir.Write("secret", "top secret");
  std::filesystem::create_directories(dir / "store/landing/acme");
  std::filesystem::create_symlink(dir / "secret", dir / "store/landing/acme/a.tar.gz");
  EXPECT_FALSE((*s)->Open("landing/acme/a.tar.gz").ok());
  EXPECT_FALSE((*s)->Head("landing/acme/a.tar.gz").ok());
  EXPECT_TRUE((*s)->List("").value().empty());
}

TEST(LocalStore, WritesNeverGoThroughASymlinkedFolder) {
  TempDir dir;
  auto s = OpenLocalStore(dir / "store");
  ASSERT_TRUE(s.ok());
  std::filesystem::create_directories(dir / "elsewhere");
  std::filesystem::create_directories(dir / "store/raw");
  std::filesystem::create_directory_symlink(dir / "elsewhere", dir / "store/raw/acme");
  Status st = (*s)->Put("raw/acme/2026-11-24/orders.csv", "x");
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied) << st.ToString();
  EXPECT_TRUE(std::filesystem::is_empty(dir / "elsewhere"));
}

TEST(LocalStore, RefusesToFollowASymlinkedFolderOnTheWay) {
  TempDir dir;
  auto s = OpenLocalStore(dir / "store");
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->Put("raw/globex/2026-11-24/acme_20261124.tar.gz", "globex data").ok());
  std::filesystem::create_directories(dir / "store/landing/acme");
  // acme's landing date folder is a link into globex's raw area.
  std::filesystem::create_directory_symlink(dir / "store/raw/globex/2026-11-24",
                                            dir / "store/landing/acme/2026-11-24");
  auto in = (*s)->Open("landing/acme/2026-11-24/acme_20261124.tar.gz");
  ASSERT_FALSE(in.ok());
  EXPECT_EQ(in.status().code(), StatusCode::kPermissionDenied) << in.status().ToString();
  EXPECT_NE(in.status().message().find("symlink"), std::string::npos);
  EXPECT_FALSE((*s)->Head("landing/acme/2026-11-24/acme_20261124.tar.gz").ok());
  // Listing does not descend through the link either.
  EXPECT_TRUE((*s)->List("landing/").value().empty());
}

}  // namespace
}  // namespace sluice::store
