// The extract builtin end to end on a real local store: output layout and manifest, the hostile
// corpus leaving everything untouched, partner isolation, idempotence and SIGKILL recovery.
#include "tasks/extract.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "archive/checksum.h"
#include "archive/test_archive_builder.h"
#include "core/clock.h"
#include "tasks/builtins.h"
#include "tasks/extract_test_support.h"
#include "tasks/wait_for_sources.h"

namespace sluice::tasks {
namespace {

using testing::BuildArchive;
using testing::Format;
using testing::Member;
using testing::Snapshot;

std::string Rows(int first, int n) {
  std::string s = "order_id,amount,status\n";
  for (int i = first; i < first + n; ++i)
    s += std::to_string(i) + ",1" + std::to_string(i % 90) + ".50,paid\n";
  return s;
}

std::string Xxh128(const std::string& bytes) {
  auto sum = archive::MakeChecksum("xxh128");
  (*sum)->Update(bytes.data(), bytes.size());
  return (*sum)->Finish();
}

class Extract : public testing::PipelineFixture {
 protected:
  nlohmann::json Manifest(const std::string& partner = "acme") {
    std::string text =
        testing::ReadFile(StoreRoot() / "manifests" / partner / "2026-11-24/extract.json");
    return nlohmann::json::parse(text);
  }
  Status Run(const std::string& partner = "acme", store::ObjectStore* store = nullptr) {
    TaskContext ctx = Ctx(partner, "batch_extract");
    Status st = ExtractPartner(ctx, store);
    last_result_ = ctx.result;
    return st;
  }
  std::string GoodArchive() {
    return BuildArchive({{"export/", "", Member::kDir},
                         {"export/orders_2.csv", Rows(100, 500)},
                         {"export/orders_1.csv", Rows(1, 99)},
                         {"readme.txt", "see orders"},
                         {"customers.csv", "id\n1\n"}},
                        Format::kTarGz);
  }
  nlohmann::json last_result_;
};

TEST_F(Extract, WritesMatchingFilesUnderRawAndTheManifestLast) {
  std::string archive = GoodArchive();
  LandComplete("acme", archive);
  Status st = Run();
  ASSERT_TRUE(st.ok()) << st.ToString();

  auto snap = Snapshot(StoreRoot() / "raw");
  EXPECT_EQ(snap["acme/2026-11-24/orders_2.csv"], Rows(100, 500));
  EXPECT_EQ(snap["acme/2026-11-24/orders_1.csv"], Rows(1, 99));
  // Only table files are written, and no staging leftovers remain.
  EXPECT_EQ(snap,
            (std::map<std::string, std::string>{{"acme", "<dir>"},
                                                {"acme/2026-11-24", "<dir>"},
                                                {"acme/2026-11-24/orders_1.csv", Rows(1, 99)},
                                                {"acme/2026-11-24/orders_2.csv", Rows(100, 500)}}));

  nlohmann::json m = Manifest();
  EXPECT_EQ(m["partner"], "acme");
  EXPECT_EQ(m["date"], "2026-11-24");
  EXPECT_EQ(m["run_id"], "run-20261124-1");
  EXPECT_EQ(m["archive"]["key"], "landing/acme/2026-11-24/acme_20261124.tar.gz");
  EXPECT_EQ(m["archive"]["bytes"], archive.size());
  EXPECT_EQ(m["archive"]["checksum"], Xxh128(archive));
  ASSERT_EQ(m["files"].size(), 2u);
  // Archive order, not name order: merge processes them in this order.
  EXPECT_EQ(m["files"][0]["member"], "export/orders_2.csv");
  EXPECT_EQ(m["files"][0]["key"], "raw/acme/2026-11-24/orders_2.csv");
  EXPECT_EQ(m["files"][0]["table"], "orders");
  EXPECT_EQ(m["files"][0]["bytes"], Rows(100, 500).size());
  EXPECT_EQ(m["files"][0]["checksum"].get<std::string>().substr(0, 7), "xxh128:");
  EXPECT_EQ(m["files"][1]["member"], "export/orders_1.csv");
  EXPECT_NE(m["files"][0]["checksum"], m["files"][1]["checksum"]);
  ASSERT_EQ(m["skipped"].size(), 2u);
  EXPECT_EQ(m["skipped"][0]["member"], "readme.txt");
  EXPECT_EQ(m["skipped"][0]["reason"], "matches no table pattern");
  EXPECT_EQ(m["skipped"][1]["member"], "customers.csv");
  EXPECT_EQ(last_result_["files"], 2);
  EXPECT_EQ(last_result_["skipped"], 2);
}

TEST_F(Extract, PatternsWithASlashMatchTheWholeMemberPath) {
  dir_.Write("partners/acme/partner.yaml",
             testing::PartnerYaml("acme").replace(testing::PartnerYaml("acme").find("orders*.csv"),
                                                  11, "export/orders_1*.csv"));
  Load();
  LandComplete("acme", BuildArchive({{"export/orders_1.csv", "a\n"},
                                     {"orders_1.csv", "b\n"},
                                     {"other/export/orders_1.csv", "c\n"}},
                                    Format::kTar));
  ASSERT_TRUE(Run().ok());
  nlohmann::json m = Manifest();
  ASSERT_EQ(m["files"].size(), 1u);
  EXPECT_EQ(m["files"][0]["member"], "export/orders_1.csv");
  EXPECT_EQ(m["skipped"].size(), 2u);
}

TEST_F(Extract, FormatIsSniffedNotTakenFromTheName) {
  LandComplete("acme", BuildArchive({{"orders.csv", Rows(1, 3)}}, Format::kZip));  // named .tar.gz
  Status st = Run();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(testing::ReadFile(StoreRoot() / "raw/acme/2026-11-24/orders.csv"), Rows(1, 3));
  EXPECT_NE(Manifest()["archive"]["format"].get<std::string>().find("ZIP"), std::string::npos);
}

TEST_F(Extract, AnArchiveOfTheCurrentFolderIsExtracted) {
  // What `tar czf acme_20261124.tar.gz -C export .` writes: "./" first, every name under it.
  LandComplete("acme", BuildArchive({{"./", "", Member::kDir},
                                     {"./orders_1.csv", Rows(1, 5)},
                                     {"./sub/", "", Member::kDir},
                                     {"./sub/", "", Member::kDir},
                                     {"./sub/orders_2.csv", Rows(6, 5)}},
                                    Format::kTarGz));
  Status st = Run();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Manifest()["files"].size(), 2u);
  EXPECT_EQ(testing::ReadFile(StoreRoot() / "raw/acme/2026-11-24/orders_2.csv"), Rows(6, 5));
}

TEST_F(Extract, AZipWithUtf8NamesIsExtractedAndItsReadmeListedAsSkipped) {
  const std::string notice = "\xEC\x95\x88\xEB\x82\xB4.txt";  // 안내.txt
  LandComplete("acme", testing::BuildPlainZip({{"orders_1.csv", Rows(1, 5)}, {notice, "readme"}},
                                              /*utf8_flag=*/true));
  Status st = Run();
  ASSERT_TRUE(st.ok()) << st.ToString();
  nlohmann::json m = Manifest();
  ASSERT_EQ(m["files"].size(), 1u);
  ASSERT_EQ(m["skipped"].size(), 1u);
  EXPECT_EQ(m["skipped"][0]["member"], notice);
}

TEST_F(Extract, AMemberNamedInALegacyCodePageIsSkippedAndShownEscaped) {
  // A readme named in cp949 (Korean Windows, no UTF-8 flag) beside the tables.
  LandComplete("acme",
               BuildArchive({{"orders_1.csv", Rows(1, 5)}, {"\xBE\xC8\xB3\xBB.txt", "readme"}},
                            Format::kTarGz));
  Status st = Run();
  ASSERT_TRUE(st.ok()) << st.ToString();
  nlohmann::json m = Manifest();
  ASSERT_EQ(m["files"].size(), 1u);
  ASSERT_EQ(m["skipped"].size(), 1u);
  EXPECT_EQ(m["skipped"][0]["member"], "\\xBE\\xC8\\xB3\\xBB.txt");
  EXPECT_NE(m["skipped"][0]["reason"].get<std::string>().find("not UTF-8"), std::string::npos);
}

TEST_F(Extract, NamesInThePartnersCodePageAreReadInIt) {
  // A zip from Korean Windows: "주문_1.csv" in cp949, without the UTF-8 flag. A cp949 partner's
  // pattern can name it in Korean, and it lands under its UTF-8 name.
  std::string yaml = testing::PartnerYaml("acme");
  yaml.replace(yaml.find("encoding: utf-8"), 15, "encoding: cp949");
  yaml.replace(yaml.find("orders*.csv"), 11, "\xEC\xA3\xBC\xEB\xAC\xB8*.csv");  // 주문*.csv
  dir_.Write("partners/acme/partner.yaml", yaml);
  Load();
  LandComplete("acme", testing::BuildPlainZip({{"\xC1\xD6\xB9\xAE_1.csv", Rows(1, 5)},
                                               {"\xBE\xC8\xB3\xBB.txt", "readme"}},
                                              false));
  Status st = Run();
  ASSERT_TRUE(st.ok()) << st.ToString();
  nlohmann::json m = Manifest();
  ASSERT_EQ(m["files"].size(), 1u) << m.dump();
  EXPECT_EQ(m["files"][0]["member"], "\xEC\xA3\xBC\xEB\xAC\xB8_1.csv");
  EXPECT_EQ(m["files"][0]["key"], "raw/acme/2026-11-24/\xEC\xA3\xBC\xEB\xAC\xB8_1.csv");
  EXPECT_EQ(m["skipped"][0]["member"], "\xEC\x95\x88\xEB\x82\xB4.txt");  // 안내.txt
  EXPECT_TRUE(std::filesystem::exists(StoreRoot() / "raw/acme/2026-11-24" /
                                      "\xEC\xA3\xBC\xEB\xAC\xB8_1.csv"));
}

TEST_F(Extract, CompressedAttachmentsThatMatchNoTableAreSkippedAndListed) {
  LandComplete("acme",
               BuildArchive({{"orders_1.csv", Rows(1, 5)},
                             {"notes.txt.gz", BuildArchive({{"notes.txt", "see"}}, Format::kTarGz)},
                             {"attachments.zip", BuildArchive({{"a.pdf", "%PDF"}}, Format::kZip)}},
                            Format::kTarGz));
  Status st = Run();
  ASSERT_TRUE(st.ok()) << st.ToString();
  nlohmann::json m = Manifest();
  ASSERT_EQ(m["files"].size(), 1u);
  ASSERT_EQ(m["skipped"].size(), 2u);
  EXPECT_EQ(m["skipped"][0]["member"], "notes.txt.gz");
  EXPECT_EQ(m["skipped"][1]["member"], "attachments.zip");
}

TEST_F(Extract, AnEmptyArchiveIsCorruptAndSaysSo) {
  LandComplete("acme", "");
  Status st = Run();
  ASSERT_EQ(st.code(), StatusCode::kCorrupt) << st.ToString();
  EXPECT_NE(st.message().find("landing/acme/2026-11-24/acme_20261124.tar.gz is empty (0 bytes)"),
            std::string::npos)
      << st.message();
  EXPECT_FALSE(std::filesystem::exists(StoreRoot() / "raw"));
}

TEST_F(Extract, AnArchiveWithoutAFileIsCorruptAndSaysSo) {
  // A valid tar.gz with no entries, or only entries that are skipped: a failed export.
  LandComplete("acme", BuildArchive({}, Format::kTarGz));
  Status st = Run();
  ASSERT_EQ(st.code(), StatusCode::kCorrupt) << st.ToString();
  EXPECT_NE(st.message().find("archive landing/acme/2026-11-24/acme_20261124.tar.gz holds no "
                              "file to extract (0 entries); ask the partner to deliver it again"),
            std::string::npos)
      << st.message();
  EXPECT_FALSE(std::filesystem::exists(StoreRoot() / "raw" / "acme" / "2026-11-24"));
  EXPECT_FALSE(std::filesystem::exists(StoreRoot() / "manifests"));
  // Files that match no table (renamed by the partner): the message lists them.
  LandComplete("acme", BuildArchive({{"Orders-Export.CSV", "a\n"}, {"export/", "", Member::kDir}},
                                    Format::kTarGz));
  st = Run();
  ASSERT_EQ(st.code(), StatusCode::kCorrupt) << st.ToString();
  EXPECT_NE(st.message().find("holds no file to extract (2 entries, skipped: "
                              "\"Orders-Export.CSV\" (matches no table pattern)"),
            std::string::npos)
      << st.message();
}

TEST_F(Extract, MissingArchiveIsNotFoundNamingTheKey) {
  Status st = Run();
  ASSERT_EQ(st.code(), StatusCode::kNotFound) << st.ToString();
  EXPECT_NE(st.message().find("landing/acme/2026-11-24/acme_20261124.tar.gz"), std::string::npos);
  EXPECT_EQ(st.context().partner, "acme");
  EXPECT_FALSE(std::filesystem::exists(StoreRoot() / "raw"));
}

TEST_F(Extract, AnArchiveNameWithAGlobTakesEveryFileItMatchesInNameOrder) {
  // Names carrying the time of export cannot be spelled in advance.
  std::string yaml = testing::PartnerYaml("acme");
  yaml.replace(yaml.find("acme_{date:%Y%m%d}.tar.gz"), 25, "acme_{date:%Y%m%d}_*.tar.gz");
  dir_.Write("partners/acme/partner.yaml", yaml);
  Load();
  auto store = OpenTheStore();
  const config::PartnerConfig& acme = pipeline_.partners.at("acme");
  const Date day{2026, 11, 24};
  auto none = ListDeliveries(store.get(), acme, day);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->empty());
  Status st = Run();
  ASSERT_EQ(st.code(), StatusCode::kNotFound) << st.ToString();
  // Messages name what is expected: the pattern itself.
  EXPECT_NE(st.message().find("landing/acme/2026-11-24/acme_20261124_*.tar.gz"), std::string::npos)
      << st.message();
  // The marker, a hidden upload in progress and other days' files are not candidates.
  dir_.Write("area/data/landing/acme/2026-11-24/.acme_20261124_0915.tar.gz.part", "x");
  dir_.Write("area/data/landing/acme/2026-11-23/acme_20261123_2200.tar.gz", "x");
  dir_.Write("area/data/landing/acme/2026-11-24/acme_20261124_031522.tar.gz", GoodArchive());
  MarkComplete("acme");
  auto one = ListDeliveries(store.get(), acme, day);
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_EQ(*one, std::vector<std::string>{"acme_20261124_031522.tar.gz"});
  st = Run();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Manifest()["archive"]["key"], "landing/acme/2026-11-24/acme_20261124_031522.tar.gz")
      << Manifest().dump();
  // One delivery keeps the layout of earlier versions.
  EXPECT_TRUE(std::filesystem::exists(StoreRoot() / "raw/acme/2026-11-24/orders_1.csv"));
  // A second delivery: both are extracted, each under its own name, in name order.
  dir_.Write("area/data/landing/acme/2026-11-24/acme_20261124_091500.tar.gz",
             BuildArchive({{"orders_3.csv", Rows(700, 5)}}, Format::kTarGz));
  auto two = ListDeliveries(store.get(), acme, day);
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  EXPECT_EQ(*two, (std::vector<std::string>{"acme_20261124_031522.tar.gz",
                                            "acme_20261124_091500.tar.gz"}));
  st = Run();
  ASSERT_TRUE(st.ok()) << st.ToString();
  const nlohmann::json m = Manifest();
  ASSERT_EQ(m["deliveries"].size(), 2u) << m.dump(2);
  EXPECT_EQ(m["deliveries"][0]["name"], "acme_20261124_031522.tar.gz");
  EXPECT_EQ(m["deliveries"][1]["name"], "acme_20261124_091500.tar.gz");
  std::vector<std::string> keys;
  for (const auto& f : m["files"]) keys.push_back(f["key"]);
  EXPECT_EQ(keys, (std::vector<std::string>{
                      "raw/acme/2026-11-24/acme_20261124_031522.tar.gz/orders_2.csv",
                      "raw/acme/2026-11-24/acme_20261124_031522.tar.gz/orders_1.csv",
                      "raw/acme/2026-11-24/acme_20261124_091500.tar.gz/orders_3.csv"}));
  EXPECT_FALSE(std::filesystem::exists(StoreRoot() / "raw/acme/2026-11-24/orders_1.csv"))
      << "the single-delivery layout was replaced as a whole";
  EXPECT_EQ(testing::ReadFile(StoreRoot() /
                              "raw/acme/2026-11-24/acme_20261124_091500.tar.gz/orders_3.csv"),
            Rows(700, 5));
  for (const char* name : {"acme_20261124_031522.tar.gz", "acme_20261124_091500.tar.gz"}) {
    EXPECT_TRUE(std::filesystem::exists(StoreRoot() / "manifests/acme/2026-11-24/deliveries" /
                                        (std::string(name) + ".json")))
        << "each delivery has its own manifest: " << name;
  }
}

// ---- the partner's completion rule, checked by extract itself -------------------------------

TEST_F(Extract, AnArchiveWithoutItsMarkerIsNotExtracted) {
  LandComplete("acme", GoodArchive());
  ASSERT_TRUE(Run().ok());
  // The next delivery is still being written: archive there, marker not yet.
  std::filesystem::remove(StoreRoot() / "landing/acme/2026-11-24/_SUCCESS");
  Land("acme", BuildArchive({{"orders_partial.csv", Rows(1, 3)}}, Format::kTarGz));
  auto before = Snapshot(dir_.path());
  Status st = Run();
  ASSERT_EQ(st.code(), StatusCode::kNotFound) << st.ToString();
  EXPECT_NE(st.message().find("partner acme, 2026-11-24"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("no marker landing/acme/2026-11-24/_SUCCESS"), std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("nothing was extracted"), std::string::npos) << st.message();
  EXPECT_EQ(Snapshot(dir_.path()), before);
}

class ExtractStableRule : public Extract {
 protected:
  void SetUp() override {
    Extract::SetUp();
    std::string yaml = testing::PartnerYaml("acme");
    yaml.replace(yaml.find("{marker: _SUCCESS}"), 18, "{stable_seconds: 120}");
    dir_.Write("partners/acme/partner.yaml", yaml);
    Load();
  }
  // Lands acme's archive with the given modification time.
  void LandModifiedAt(std::chrono::system_clock::time_point t) {
    std::filesystem::path file = Land("acme", GoodArchive());
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    struct timespec times[2];
    times[0].tv_sec = times[1].tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    times[0].tv_nsec = times[1].tv_nsec = static_cast<long>(ns % 1'000'000'000);
    ASSERT_EQ(::utimensat(AT_FDCWD, file.c_str(), times, 0), 0);
  }
  Status RunAt() {
    TaskContext ctx = Ctx("acme", "batch_extract");
    return ExtractPartner(ctx, nullptr, &clock_);
  }
  FakeClock clock_;
};

TEST_F(ExtractStableRule, AnArchiveModifiedTooRecentlyIsNotExtracted) {
  LandModifiedAt(clock_.WallNow() - std::chrono::seconds(30));
  Status st = RunAt();
  ASSERT_EQ(st.code(), StatusCode::kNotFound) << st.ToString();
  EXPECT_NE(st.message().find("changed 30s ago; its completion rule needs 120s without a change"),
            std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("nothing was extracted"), std::string::npos) << st.message();
  EXPECT_FALSE(std::filesystem::exists(StoreRoot() / "raw"));
  EXPECT_FALSE(std::filesystem::exists(StoreRoot() / "manifests"));
}

TEST_F(ExtractStableRule, AnArchiveModifiedInTheFutureIsNotExtracted) {
  LandModifiedAt(clock_.WallNow() + std::chrono::hours(1));
  Status st = RunAt();
  ASSERT_EQ(st.code(), StatusCode::kNotFound) << st.ToString();
  EXPECT_NE(st.message().find("in the future"), std::string::npos) << st.message();
}

TEST_F(ExtractStableRule, AnArchiveUnchangedLongEnoughIsExtracted) {
  LandModifiedAt(clock_.WallNow() - std::chrono::seconds(120));
  Status st = RunAt();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Manifest()["files"].size(), 2u);
}

TEST_F(ExtractStableRule, AnUnknownModificationTimeIsAccepted) {
  LandModifiedAt(std::chrono::system_clock::time_point{});  // mtime 0: the store cannot tell
  Status st = RunAt();
  ASSERT_TRUE(st.ok()) << st.ToString();
}

TEST_F(Extract, RefusesToRunWithoutAPartner) {
  TaskContext ctx = Ctx("", "batch_extract");
  Status st = RunExtract(ctx);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("for_each: partner"), std::string::npos);
}

TEST_F(Extract, SameArchiveTwiceGivesByteIdenticalFilesAndChecksums) {
  LandComplete("acme", GoodArchive());
  ASSERT_TRUE(Run().ok());
  auto first = Snapshot(StoreRoot());
  nlohmann::json m1 = Manifest();
  ASSERT_TRUE(Run().ok());
  EXPECT_EQ(Snapshot(StoreRoot()), first);
  nlohmann::json m2 = Manifest();
  EXPECT_EQ(m1["files"], m2["files"]);
  EXPECT_EQ(m1["archive"], m2["archive"]);
}

TEST_F(Extract, ARerunReplacesThePublishedSetWhole) {
  LandComplete("acme",
               BuildArchive({{"orders_a.csv", "1\n"}, {"orders_b.csv", "2\n"}}, Format::kTarGz));
  ASSERT_TRUE(Run().ok());
  LandComplete("acme",
               BuildArchive({{"orders_b.csv", "22\n"}, {"orders_c.csv", "3\n"}}, Format::kTarGz));
  ASSERT_TRUE(Run().ok());
  auto snap = Snapshot(StoreRoot() / "raw/acme/2026-11-24");
  EXPECT_EQ(snap, (std::map<std::string, std::string>{{"orders_b.csv", "22\n"},
                                                      {"orders_c.csv", "3\n"}}));
  EXPECT_EQ(Manifest()["files"].size(), 2u);
}

TEST_F(Extract, AnyValidFileNameUpTo255BytesIsExtracted) {
  // Partners' generated names get long; the store's temporary names must leave room for them.
  std::string name = "orders_" + std::string(229, 'x') + ".csv";  // 240 bytes
  LandComplete("acme", BuildArchive({{"export/" + name, Rows(1, 5)}}, Format::kTarGz));
  Status st = Run();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(testing::ReadFile(StoreRoot() / "raw/acme/2026-11-24" / name), Rows(1, 5));
}

TEST_F(Extract, AFileNameOver255BytesIsRefusedOnceWithItsRule) {
  std::string name = "orders_" + std::string(245, 'x') + ".csv";  // 256 bytes
  LandComplete("acme", BuildArchive({{name, Rows(1, 5)}}, Format::kTarGz));
  Status st = Run();
  // InvalidArgument: the task runner does not retry it (the same archive fails the same way).
  ASSERT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  EXPECT_NE(st.message().find(": name_too_long: the file name is 256 bytes"), std::string::npos)
      << st.message();
  EXPECT_FALSE(std::filesystem::exists(StoreRoot() / "raw"));
}

// ---- hostile archives through the whole task ----------------------------------------------

struct HostileCase {
  std::string name;
  std::string bytes;
  std::string rule;
};

// A zip as Python writes it (CRC-32 in the local header) with one byte of orders.csv damaged.
std::string ZipWithADamagedByte() {
  std::string zip = testing::BuildPlainZip({{"orders.csv", Rows(1, 50)}}, false);
  size_t data = testing::ZipLayout(zip)[0].data;
  zip[data + 40] = static_cast<char>(zip[data + 40] ^ 1);
  return zip;
}

std::vector<HostileCase> HostileCases() {
  std::string zeros(64 << 20, '\0');
  return {
      {"zip_bad_crc", ZipWithADamagedByte(), "crc_mismatch"},
      {"dotdot",
       BuildArchive({{"orders_1.csv", "1"}, {"../../../escape.csv", "x"}}, Format::kTarGz),
       "dotdot"},
      {"absolute", BuildArchive({{"/tmp/orders_abs.csv", "x"}}, Format::kTarGz), "absolute_path"},
      {"backslash", BuildArchive({{"..\\orders.csv", "x"}}, Format::kTar), "backslash"},
      {"symlink",
       BuildArchive({{"orders_link.csv", "", Member::kSymlink, "/etc/passwd"}}, Format::kTarGz),
       "symlink"},
      {"zip_symlink",
       BuildArchive({{"orders_link.csv", "", Member::kSymlink, "../../../../etc/passwd"}},
                    Format::kZip),
       "symlink"},
      {"hardlink",
       BuildArchive({{"orders_1.csv", "1"}, {"orders_2.csv", "", Member::kHardlink, "/etc/passwd"}},
                    Format::kTarGz),
       "hardlink"},
      {"device", BuildArchive({{"orders.csv", "", Member::kCharDevice}}, Format::kTarGz), "device"},
      {"fifo", BuildArchive({{"orders.csv", "", Member::kFifo}}, Format::kTarBz2), "fifo"},
      {"control_char", BuildArchive({{"orders\r.csv", "x"}}, Format::kTarGz), "control_char"},
      {"invalid_utf8", BuildArchive({{"orders\xc3\x28.csv", "x"}}, Format::kTarZst),
       "invalid_utf8"},
      {"zip_invalid_utf8",
       testing::BuildPlainZip({{"readme.txt", "x"}, {"orders_\xBE\xC8.csv", "x"}}, false),
       "invalid_utf8"},
      {"duplicate", BuildArchive({{"orders.csv", "1"}, {"./orders.csv", "2"}}, Format::kTarGz),
       "duplicate_name"},
      {"same_file_name_in_two_folders",
       BuildArchive({{"a/orders.csv", "1"}, {"b/orders.csv", "2"}}, Format::kTarGz),
       "duplicate_name"},
      {"gzip_bomb", BuildArchive({{"orders.csv", zeros}}, Format::kTarGz), "max_ratio"},
      {"nested",
       BuildArchive({{"orders.csv", BuildArchive({{"x", "1"}}, Format::kTarGz)}}, Format::kTarGz),
       "nested_archive"},
      {"zip_fullwidth_dotdot",
       BuildArchive(
           {{"\xEF\xBC\x8E\xEF\xBC\x8E\xEF\xBC\x8Forders.csv", "x", Member::kFile, "", true}},
           Format::kZip),
       "dotdot"},
  };
}

class ExtractHostile : public Extract, public ::testing::WithParamInterface<HostileCase> {};

TEST_P(ExtractHostile, IsRefusedAndLeavesEverythingAsItWas) {
  const HostileCase& c = GetParam();
  // A good set published earlier must survive a refused re-delivery untouched.
  LandComplete("acme", GoodArchive());
  ASSERT_TRUE(Run().ok());
  LandComplete("acme", c.bytes);
  auto before = Snapshot(dir_.path());  // the pipeline folder, the store and all around it
  Status st = Run();
  ASSERT_FALSE(st.ok()) << c.name << " was accepted";
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  EXPECT_NE(st.message().find("archive landing/acme/2026-11-24/acme_20261124.tar.gz refused"),
            std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find(": " + c.rule + ": "), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("entry \""), std::string::npos) << st.message();
  EXPECT_EQ(st.context().partner, "acme");
  EXPECT_EQ(st.context().task, "batch_extract");
  EXPECT_EQ(Snapshot(dir_.path()), before);
  EXPECT_FALSE(std::filesystem::exists("/tmp/orders_abs.csv"));
}

INSTANTIATE_TEST_SUITE_P(Corpus, ExtractHostile, ::testing::ValuesIn(HostileCases()),
                         [](const ::testing::TestParamInfo<HostileCase>& p) {
                           return p.param.name;
                         });

// ---- partner isolation ----------------------------------------------------------------------

TEST_F(Extract, APartnerNeverReadsOrWritesAnotherPartnersPrefix) {
  // globex has its own published data and landing archive.
  LandComplete("globex", BuildArchive({{"orders.csv", "globex\n"}}, Format::kTarGz));
  ASSERT_TRUE(Run("globex").ok());
  auto globex_before = Snapshot(StoreRoot());
  // acme's archive names its entries after globex's areas.
  LandComplete("acme", BuildArchive({{"globex/orders.csv", "acme-1\n"},
                                     {"raw/globex/2026-11-24/orders_x.csv", "acme-2\n"},
                                     {"manifests/globex/2026-11-24/orders_m.csv", "acme-3\n"}},
                                    Format::kTarGz));
  auto base = OpenTheStore();
  testing::SpyStore spy(base.get());
  Status st = Run("acme", &spy);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_FALSE(spy.touched.empty());
  for (const std::string& key : spy.touched) {
    bool own = key.starts_with("landing/acme/") || key.starts_with("raw/acme/") ||
               key.starts_with("manifests/acme/") || key.starts_with("rejects/acme/");
    EXPECT_TRUE(own) << "acme's extract touched " << key;
  }
  // globex's files are exactly as they were.
  auto after = Snapshot(StoreRoot());
  for (const auto& [path, content] : globex_before) {
    if (path.find("globex") != std::string::npos) {
      EXPECT_EQ(after[path], content) << path;
    }
  }
  for (const auto& [path, content] : after) {
    if (path.find("globex") != std::string::npos) {
      EXPECT_TRUE(globex_before.count(path)) << "new file in globex's area: " << path;
    }
  }
  EXPECT_EQ(testing::ReadFile(StoreRoot() / "raw/acme/2026-11-24/orders.csv"), "acme-1\n");
  EXPECT_EQ(testing::ReadFile(StoreRoot() / "raw/acme/2026-11-24/orders_x.csv"), "acme-2\n");
}

// ---- crash safety ---------------------------------------------------------------------------

// Runs acme's extract in a child process that parks itself after the second committed file;
// the parent then SIGKILLs it, as a timeout would.
void ExtractAndKillMidArchive(const std::function<TaskContext()>& make_ctx,
                              const std::function<std::unique_ptr<store::ObjectStore>()>& open) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    auto base = open();
    testing::SpyStore spy(base.get());
    int commits = 0;
    spy.on_commit = [&](const std::string& key) {
      if (key.starts_with("raw/") && ++commits == 2) {
        char c = 'k';
        (void)!::write(fds[1], &c, 1);
        while (true) ::pause();
      }
    };
    TaskContext ctx = make_ctx();
    (void)ExtractPartner(ctx, &spy);
    ::_exit(3);  // finished without being killed: the parent reports it
  }
  ::close(fds[1]);
  char c = 0;
  ASSERT_EQ(::read(fds[0], &c, 1), 1) << "child finished before reaching the second file";
  ::close(fds[0]);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
}

TEST_F(Extract, SigkillMidArchiveThenRerunLeavesExactlyTheCleanResult) {
  std::string archive = BuildArchive({{"orders_1.csv", Rows(1, 1000)},
                                      {"orders_2.csv", Rows(2000, 1000)},
                                      {"orders_3.csv", Rows(5000, 1000)},
                                      {"orders_4.csv", Rows(9000, 1000)}},
                                     Format::kTarGz);
  LandComplete("acme", archive);
  ExtractAndKillMidArchive([this] { return Ctx("acme", "batch_extract"); },
                           [this] { return OpenTheStore(); });
  // Killed mid-way: nothing is published, no manifest claims otherwise.
  EXPECT_FALSE(std::filesystem::exists(StoreRoot() / "manifests/acme/2026-11-24/extract.json"));
  EXPECT_FALSE(std::filesystem::exists(StoreRoot() / "raw/acme/2026-11-24"));
  ASSERT_TRUE(Run().ok());
  auto recovered = Snapshot(StoreRoot());
  // The clean result: the same extract on a store holding only the landing area.
  std::filesystem::remove_all(StoreRoot() / "raw");
  std::filesystem::remove_all(StoreRoot() / "manifests");
  ASSERT_TRUE(Run().ok());
  EXPECT_EQ(recovered, Snapshot(StoreRoot()));
  EXPECT_EQ(recovered.count("raw/acme/2026-11-24/orders_4.csv"), 1u);
}

// A pid no process has: a child that has exited and been reaped.
pid_t DeadPid() {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return pid;
}

TEST_F(Extract, StagingFoldersOfProcessesThatAreGoneAreRemovedAndLiveOnesKept) {
  namespace fs = std::filesystem;
  const fs::path staging = StoreRoot() / "raw/acme/.staging";
  const std::string dead = std::to_string(DeadPid());
  // Killed extracts of other dates: one mid-file (a named temporary), one before any file.
  dir_.Write("area/data/raw/acme/.staging/2026-11-20.run-a." + dead + "/orders_1.csv", "old");
  dir_.Write("area/data/raw/acme/.staging/2026-11-20.run-a." + dead + "/.sluice-tmp-1.2", "x");
  fs::create_directories(staging / ("2026-11-21.run-b." + dead));
  // A process that is alive (pid 1 always is) may still be writing its folder.
  dir_.Write("area/data/raw/acme/.staging/2026-11-22.run-c.1/orders_1.csv", "live");
  // Not a name extract makes: not ours to judge.
  dir_.Write("area/data/raw/acme/.staging/keep-me/x.csv", "x");
  // Another partner's leftovers are its own extract's business.
  dir_.Write("area/data/raw/globex/.staging/2026-11-20.run-a." + dead + "/orders_1.csv", "g");
  // An extract killed with its scheduler: exited, but nobody has reaped it yet (a zombie).
  const pid_t zombie = ::fork();
  if (zombie == 0) ::_exit(0);
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(zombie), &info, WEXITED | WNOWAIT), 0);
  const std::string undead = std::to_string(zombie);
  dir_.Write("area/data/raw/acme/.staging/2026-11-23.run-d." + undead + "/orders_1.csv", "z");

  LandComplete("acme", GoodArchive());
  Status st = Run();
  ::waitpid(zombie, nullptr, 0);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_FALSE(fs::exists(staging / ("2026-11-23.run-d." + undead)));
  EXPECT_FALSE(fs::exists(staging / ("2026-11-20.run-a." + dead)));
  EXPECT_FALSE(fs::exists(staging / ("2026-11-21.run-b." + dead)));
  EXPECT_TRUE(fs::exists(staging / "2026-11-22.run-c.1/orders_1.csv"));
  EXPECT_TRUE(fs::exists(staging / "keep-me/x.csv"));
  EXPECT_TRUE(fs::exists(StoreRoot() / ("raw/globex/.staging/2026-11-20.run-a." + dead)));
  EXPECT_EQ(Manifest()["files"].size(), 2u);
}

TEST_F(Extract, SigkillDuringAReextractKeepsThePreviousCommittedSet) {
  LandComplete("acme", BuildArchive({{"orders_old.csv", "old\n"}}, Format::kTarGz));
  ASSERT_TRUE(Run().ok());
  auto committed = Snapshot(StoreRoot() / "raw/acme/2026-11-24");
  std::string manifest = testing::ReadFile(StoreRoot() / "manifests/acme/2026-11-24/extract.json");
  LandComplete("acme", BuildArchive({{"orders_1.csv", Rows(1, 10)},
                                     {"orders_2.csv", Rows(20, 10)},
                                     {"orders_3.csv", Rows(40, 10)}},
                                    Format::kTarGz));
  ExtractAndKillMidArchive([this] { return Ctx("acme", "batch_extract"); },
                           [this] { return OpenTheStore(); });
  EXPECT_EQ(Snapshot(StoreRoot() / "raw/acme/2026-11-24"), committed);
  EXPECT_EQ(testing::ReadFile(StoreRoot() / "manifests/acme/2026-11-24/extract.json"), manifest);
  ASSERT_TRUE(Run().ok());
  EXPECT_EQ(Manifest()["files"].size(), 3u);
  EXPECT_FALSE(std::filesystem::exists(StoreRoot() / "raw/acme/.staging"));
}

}  // namespace
}  // namespace sluice::tasks
