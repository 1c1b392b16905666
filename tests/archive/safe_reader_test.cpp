// archive::ReadArchive on archives built by the tests: every format, and one hostile archive per
// rule, each refused with the rule named.
#include "archive/safe_reader.h"

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "archive/checksum.h"
#include "archive/test_archive_builder.h"
#include "core/strings.h"

namespace sluice::archive {
namespace {

using testing::BuildArchive;
using testing::Format;
using testing::Member;

// Collects what the reader hands over, in order.
class MemorySink final : public EntrySink {
 public:
  explicit MemorySink(bool want_all = true)
      : want_([want_all](const EntryInfo&) { return want_all; }) {}
  explicit MemorySink(std::function<bool(const EntryInfo&)> want) : want_(std::move(want)) {}
  Result<bool> Begin(const EntryInfo& e) override {
    order.push_back(e.normalized);
    if (!e.name_is_utf8) not_utf8.push_back(e.member);
    current_ = e.normalized;
    files[current_];
    return want_(e);
  }
  Status Data(std::string_view chunk) override {
    files[current_].append(chunk);
    return Status::Ok();
  }
  Status End() override {
    ++ended;
    return Status::Ok();
  }
  std::vector<std::string> order;
  std::vector<std::string> not_utf8;  // members offered with name_is_utf8 false
  std::map<std::string, std::string> files;
  int ended = 0;

 private:
  std::function<bool(const EntryInfo&)> want_;
  std::string current_;
};

Result<ReadStats> Read(const std::string& bytes, EntrySink* sink, ReadOptions options = {},
                       size_t chunk = 4096) {
  size_t pos = 0;
  if (options.archive_name.empty()) options.archive_name = "landing/acme/2026-11-24/a.tar.gz";
  return ReadArchive(
      [&](char* buf, size_t n) -> Result<size_t> {
        size_t k = std::min({n, chunk, bytes.size() - pos});
        std::memcpy(buf, bytes.data() + pos, k);
        pos += k;
        return k;
      },
      options, sink);
}

std::string Csv(int rows) {
  std::string s = "order_id,amount\n";
  for (int i = 0; i < rows; ++i)
    s += std::to_string(i) + "," + std::to_string(i * 3 % 997) + ".25\n";
  return s;
}

class EveryFormat : public ::testing::TestWithParam<Format> {};

TEST_P(EveryFormat, HandsOverEachRegularFileInArchiveOrderWithItsBytes) {
  std::vector<Member> members = {
      {"export/", "", Member::kDir},
      {"export/orders_2.csv", Csv(5000)},
      {"./export/orders_1.csv", Csv(10)},
      {"readme.txt", "hello"},
      {"empty.csv", ""},
  };
  std::string bytes = BuildArchive(members, GetParam());
  MemorySink sink;
  auto stats = Read(bytes, &sink);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(sink.order, (std::vector<std::string>{"export/orders_2.csv", "export/orders_1.csv",
                                                  "readme.txt", "empty.csv"}));
  EXPECT_EQ(sink.files["export/orders_2.csv"], Csv(5000));
  EXPECT_EQ(sink.files["export/orders_1.csv"], Csv(10));
  EXPECT_EQ(sink.files["empty.csv"], "");
  EXPECT_EQ(sink.ended, 4);
  EXPECT_EQ(stats->files, 4);
  EXPECT_EQ(stats->entries, 5);
  EXPECT_EQ(stats->compressed_bytes, static_cast<int64_t>(bytes.size()));
  EXPECT_EQ(stats->uncompressed_bytes, static_cast<int64_t>(Csv(5000).size() + Csv(10).size() + 5));
  // The checksum covers the archive's bytes exactly as delivered.
  auto sum = MakeChecksum("sha256");
  (*sum)->Update(bytes.data(), bytes.size());
  EXPECT_EQ(stats->checksum, (*sum)->Finish());
}

TEST_P(EveryFormat, SkippedEntriesAreStillReadAndChecked) {
  std::string bytes = BuildArchive({{"a.csv", "1"}, {"b/../../x.csv", "2"}}, GetParam());
  MemorySink sink(/*want_all=*/false);
  auto stats = Read(bytes, &sink);
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.status().message().find("dotdot"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Formats, EveryFormat,
                         ::testing::Values(Format::kTar, Format::kTarGz, Format::kTarBz2,
                                           Format::kTarZst, Format::kZip, Format::kTarGzTwoMembers,
                                           Format::kZipStored),
                         [](const ::testing::TestParamInfo<Format>& p) {
                           return testing::FormatName(p.param);
                         });

TEST_P(EveryFormat, KeepsNonAsciiUtf8NamesExactly) {
  const std::string korean =
      "\xEC\xA3\xBC\xEB\xAC\xB8/\xEC\xA3\xBC\xEB\xAC\xB8_1.csv";  // 주문/주문_1.csv
  std::string bytes =
      BuildArchive({{korean, "1\n", Member::kFile, "", GetParam() == Format::kZip}}, GetParam());
  MemorySink sink;
  auto stats = Read(bytes, &sink);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(sink.order, std::vector<std::string>{korean});
}

TEST_P(EveryFormat, TheArchivesOwnFolderEntryIsSkipped) {
  // `tar czf x.tar.gz -C dir .` stores "./" first; some tools store "." too.
  std::string bytes = BuildArchive({{"./", "", Member::kDir},
                                    {"./orders.csv", "1\n"},
                                    {"./export/", "", Member::kDir},
                                    {"./export/a.csv", "2\n"},
                                    {".", "", Member::kDir}},
                                   GetParam());
  MemorySink sink;
  auto stats = Read(bytes, &sink);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(sink.order, (std::vector<std::string>{"orders.csv", "export/a.csv"}));
  EXPECT_EQ(stats->entries, 5);
}

TEST_P(EveryFormat, AFolderListedTwiceIsNotADuplicate) {
  std::string bytes = BuildArchive({{"export/", "", Member::kDir},
                                    {"export/orders.csv", "1\n"},
                                    {"export/customers.csv", "2\n"},
                                    {"export/", "", Member::kDir},
                                    {"./export", "", Member::kDir},
                                    {"export/products.csv", "3\n"}},
                                   GetParam());
  MemorySink sink;
  auto stats = Read(bytes, &sink);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(sink.order.size(), 3u);
}

TEST(ReadArchive, AFileNamedLikeTheCurrentFolderIsStillRefused) {
  MemorySink sink;
  auto stats = Read(BuildArchive({{".", "x"}}, Format::kTar), &sink);
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.status().message().find(": empty_name: "), std::string::npos)
      << stats.status().message();
}

// ---- names: UTF-8 flagged zips, legacy code pages -------------------------------------------

const std::string kNotice = "\xEC\x95\x88\xEB\x82\xB4.txt";              // 안내.txt
const std::string kKoreanCsv = "\xEC\xA3\xBC\xEB\xAC\xB8/orders_1.csv";  // 주문/orders_1.csv
const std::string kCp949Notice = "\xBE\xC8\xB3\xBB.txt";                 // 안내.txt in cp949

TEST(ReadArchive, ZipNamesFlaggedUtf8AreReadExactlyWhateverTheLocale) {
  // What Python's zipfile, Java, 7-Zip and Windows write: bit 11 set, names in UTF-8.
  std::string zip =
      testing::BuildPlainZip({{"orders.csv", "1\n"}, {kKoreanCsv, "2\n"}, {kNotice, "readme"}},
                             /*utf8_flag=*/true);
  MemorySink sink;
  auto stats = Read(zip, &sink);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(sink.order, (std::vector<std::string>{"orders.csv", kKoreanCsv, kNotice}));
  EXPECT_TRUE(sink.not_utf8.empty());
  EXPECT_EQ(sink.files[kNotice], "readme");
}

TEST(ReadArchive, BackslashesInZipNamesAreFolderSeparatorsAndStillChecked) {
  // PowerShell 5's Compress-Archive writes "export\orders.csv"; unzip and Windows read a folder.
  for (bool windows : {true, false}) {
    std::string zip = testing::BuildPlainZip(
        {{"export\\", "", Member::kDir}, {"export\\orders.csv", "1\n"}}, true, windows);
    MemorySink sink;
    auto stats = Read(zip, &sink);
    ASSERT_TRUE(stats.ok()) << "windows " << windows << ": " << stats.status().ToString();
    EXPECT_EQ(sink.order, std::vector<std::string>{"export/orders.csv"}) << windows;
    EXPECT_EQ(sink.files["export/orders.csv"], "1\n");
    for (const char* evil : {"..\\..\\evil.csv", "export\\..\\..\\evil.csv"}) {
      std::string bad = testing::BuildPlainZip({{evil, "x"}}, true, windows);
      MemorySink none;
      auto refused = Read(bad, &none);
      ASSERT_FALSE(refused.ok()) << evil;
      EXPECT_NE(refused.status().message().find("dotdot"), std::string::npos)
          << refused.status().ToString();
      EXPECT_TRUE(none.order.empty());
    }
    std::string absolute = testing::BuildPlainZip({{"\\etc\\x.csv", "x"}}, true, windows);
    MemorySink none;
    auto refused = Read(absolute, &none);
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.status().message().find("absolute_path"), std::string::npos)
        << refused.status().ToString();
  }
}

TEST(ReadArchive, ANameNotInUtf8IsOfferedForSkippingNotRefused) {
  std::function<bool(const EntryInfo&)> csv_only = [](const EntryInfo& e) {
    return e.base_name.ends_with(".csv");
  };
  for (const std::string& bytes :
       {BuildArchive({{"orders.csv", "1\n"}, {kCp949Notice, "readme"}}, Format::kTarGz),
        testing::BuildPlainZip({{"orders.csv", "1\n"}, {kCp949Notice, "readme"}}, false)}) {
    MemorySink sink(csv_only);
    auto stats = Read(bytes, &sink);
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    EXPECT_EQ(sink.not_utf8, std::vector<std::string>{kCp949Notice});
    EXPECT_EQ(sink.files["orders.csv"], "1\n");
  }
}

TEST(ReadArchive, ANameNotInUtf8IsRefusedWhenItWouldBeExtracted) {
  std::function<bool(const EntryInfo&)> csv_only = [](const EntryInfo& e) {
    return e.base_name.ends_with(".csv");
  };
  MemorySink sink(csv_only);
  auto stats = Read(testing::BuildPlainZip({{"orders_\xC1\xD6.csv", "1\n"}}, false), &sink);
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.status().message().find("entry \"orders_\\xC1\\xD6.csv\" (#1): invalid_utf8: "),
            std::string::npos)
      << stats.status().message();
}

TEST(ReadArchive, ANameDecoderRunsBeforeTheChecks) {
  // cp932 "表.csv" is 95 5C 2E 63 73 76: its second byte is '\\', a folder separator in a zip
  // name were it read before decoding. And a decoded name is checked like any other.
  ReadOptions options;
  options.decode_name = [](std::string_view raw) -> std::optional<std::string> {
    if (raw == "\x95\x5C.csv") return std::string("\xE8\xA1\xA8.csv");
    if (raw == "\x81\x81.csv") return std::string("../x.csv");
    return std::nullopt;
  };
  MemorySink sink;
  auto stats = Read(testing::BuildPlainZip({{"\x95\x5C.csv", "1\n"}}, false), &sink, options);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(sink.order, std::vector<std::string>{"\xE8\xA1\xA8.csv"});
  EXPECT_TRUE(sink.not_utf8.empty());
  MemorySink bad;
  stats = Read(testing::BuildPlainZip({{"\x81\x81.csv", "1\n"}}, false), &bad, options);
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.status().message().find("dotdot"), std::string::npos) << stats.status().message();
}

TEST(ReadArchive, OtherNameRulesStillHoldForNamesNotInUtf8) {
  MemorySink sink(/*want_all=*/false);
  auto stats = Read(BuildArchive({{"../\xBE\xC8.txt", "x"}}, Format::kTar), &sink);
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.status().message().find(": dotdot: "), std::string::npos)
      << stats.status().message();
}

TEST(ReadArchive, ANestedArchiveThatIsSkippedIsNotRefused) {
  std::string gz = BuildArchive({{"x.csv", "1"}}, Format::kTarGz);
  std::string zip = BuildArchive({{"x.csv", "1"}}, Format::kZip);
  std::function<bool(const EntryInfo&)> csv_only = [](const EntryInfo& e) {
    return e.base_name.ends_with(".csv");
  };
  for (Format f : {Format::kTarGz, Format::kZip}) {
    MemorySink sink(csv_only);
    auto stats = Read(BuildArchive({{"orders.csv", "1\n"},
                                    {"notes.txt.gz", gz},
                                    {"attachments.zip", zip},
                                    {"tiny.gz", "\x1f\x8b"}},
                                   f),
                      &sink);
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    EXPECT_EQ(sink.order.size(), 4u);
  }
  // Wanted, it is refused as before.
  MemorySink sink;
  auto stats = Read(BuildArchive({{"orders.csv", gz}}, Format::kTar), &sink);
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.status().message().find(": nested_archive: "), std::string::npos);
}

TEST(ReadArchive, SniffsTheFormatInsteadOfTrustingTheName) {
  // A zip named .tar.gz and a plain tar with a misleading name both read by content.
  std::string zip = BuildArchive({{"orders.csv", "1\n"}}, Format::kZip);
  MemorySink sink;
  ReadOptions o;
  o.archive_name = "landing/acme/d/acme.tar.gz";
  auto stats = Read(zip, &sink, o);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_NE(stats->format.find("ZIP"), std::string::npos) << stats->format;
}

TEST(ReadArchive, GzipGoesThroughIsal) {
  std::string bytes = BuildArchive({{"a.csv", Csv(100)}}, Format::kTarGzTwoMembers);
  MemorySink sink;
  auto stats = Read(bytes, &sink, {}, 1 << 20);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->filter, "gzip (isa-l)");
  EXPECT_EQ(sink.files["a.csv"], Csv(100));
}

TEST(ReadArchive, TruncatedGzipIsCorruptNotASilentShortRead) {
  std::string bytes = BuildArchive({{"a.csv", Csv(20000)}}, Format::kTarGz);
  MemorySink sink;
  auto stats = Read(bytes.substr(0, bytes.size() / 2), &sink);
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), StatusCode::kCorrupt) << stats.status().ToString();
  EXPECT_NE(stats.status().message().find("landing/acme/2026-11-24/a.tar.gz"), std::string::npos);
}

TEST(ReadArchive, ZeroPaddingAfterTheLastGzipMemberIsAccepted) {
  // Tape-style padding after the gzip stream: gzip -t and GNU tar accept it.
  for (Format f : {Format::kTarGz, Format::kTarGzTwoMembers}) {
    std::string gz = BuildArchive({{"a.csv", Csv(100)}}, f);
    std::string padded = gz + std::string(1024, '\0');
    for (size_t chunk : {size_t{7}, size_t{4096}, size_t{1} << 20}) {
      MemorySink sink;
      auto stats = Read(padded, &sink, {}, chunk);
      ASSERT_TRUE(stats.ok()) << testing::FormatName(f) << " " << chunk << ": "
                              << stats.status().ToString();
      EXPECT_EQ(sink.files["a.csv"], Csv(100));
      EXPECT_EQ(stats->compressed_bytes, static_cast<int64_t>(padded.size()));
    }
  }
}

TEST(ReadArchive, AnythingButZerosAfterTheLastGzipMemberIsCorrupt) {
  std::string gz = BuildArchive({{"a.csv", Csv(100)}}, Format::kTarGz);
  for (const std::string& tail :
       {std::string(600, '\0') + "garbage", std::string("garbage"), std::string("\0\0\x01", 3)}) {
    MemorySink sink;
    auto stats = Read(gz + tail, &sink, {}, 64);
    ASSERT_FALSE(stats.ok()) << Printable(tail);
    EXPECT_EQ(stats.status().code(), StatusCode::kCorrupt) << stats.status().ToString();
  }
}

TEST(ReadArchive, ABytePastTheGzipStreamIsTrailingDataNotATruncation) {
  // A stray byte after the last member used to read as "truncated; the upload may be
  // incomplete": the wrong advice for a complete upload with something appended.
  std::string gz = BuildArchive({{"a.csv", Csv(100)}}, Format::kTarGz);
  for (const std::string& tail : {std::string("\x01"), std::string("GARBAGE")}) {
    for (size_t chunk : {size_t{1}, size_t{64}, size_t{1} << 20}) {
      MemorySink sink;
      auto stats = Read(gz + tail, &sink, {}, chunk);
      ASSERT_FALSE(stats.ok()) << Printable(tail) << " in chunks of " << chunk;
      EXPECT_EQ(stats.status().code(), StatusCode::kCorrupt);
      const std::string& m = stats.status().message();
      EXPECT_NE(m.find("after the end of the gzip stream"), std::string::npos) << m;
      EXPECT_NE(m.find("offset " + std::to_string(gz.size())), std::string::npos) << m;
      EXPECT_EQ(m.find("truncated"), std::string::npos) << m;
    }
  }
}

TEST(ReadArchive, ACutShortSecondGzipMemberIsATruncationNamingWhereItStarts) {
  std::string gz = BuildArchive({{"a.csv", Csv(100)}}, Format::kTarGz);
  std::string second = testing::internal::Gzip(std::string(4096, 'x'));
  MemorySink sink;
  auto stats = Read(gz + second.substr(0, second.size() / 2), &sink, {}, 64);
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.status().message().find("truncated after " +
                                          std::to_string(gz.size() + second.size() / 2) +
                                          " bytes (in the gzip member that starts at byte " +
                                          std::to_string(gz.size()) + ")"),
            std::string::npos)
      << stats.status().message();
}

TEST(ReadArchive, AWrongGzipCrcSaysSoInWords) {
  std::string gz = BuildArchive({{"a.csv", Csv(100)}}, Format::kTarGz);
  gz[gz.size() - 8] = static_cast<char>(gz[gz.size() - 8] ^ 0x01);  // the trailer's CRC-32
  MemorySink sink;
  auto stats = Read(gz, &sink);
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.status().message().find("CRC-32"), std::string::npos) << stats.status().message();
  EXPECT_EQ(stats.status().message().find("isa-l"), std::string::npos);
}

TEST(ReadArchive, ConcatenatedTarsAreReadWhole) {
  // `cat day.tar late.tar`: a reader that stops at the first end-of-archive marker would drop
  // late.csv without a word.
  std::string first = BuildArchive({{"a.csv", Csv(10)}}, Format::kTar);
  std::string second = BuildArchive({{"late.csv", Csv(20)}}, Format::kTar);
  for (const std::string& bytes :
       {first + second, testing::internal::Gzip(first + second),
        testing::internal::Gzip(first) + testing::internal::Gzip(second)}) {
    MemorySink sink;
    auto stats = Read(bytes, &sink);
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    EXPECT_EQ(sink.order, (std::vector<std::string>{"a.csv", "late.csv"}));
    EXPECT_EQ(sink.files["late.csv"], Csv(20));
  }
}

TEST(ReadArchive, ZerosAfterTheTarEndAreStillFine) {
  std::string tar = BuildArchive({{"a.csv", Csv(10)}}, Format::kTar);
  for (size_t zeros : {size_t{1}, size_t{100}, size_t{512}, size_t{10240 + 7}}) {
    // Inside gzip, whose trailer proves the tar complete, any number of zeros; a bare tar
    // only in whole blocks (a partial one could be a cut-off tar as well).
    for (bool gzip : {true, false}) {
      if (!gzip && zeros % 512 != 0) continue;
      std::string padded = tar + std::string(zeros, '\0');
      MemorySink sink;
      auto stats = Read(gzip ? testing::internal::Gzip(padded) : padded, &sink);
      ASSERT_TRUE(stats.ok()) << zeros << ": " << stats.status().ToString();
      EXPECT_EQ(sink.files["a.csv"], Csv(10));
    }
  }
}

TEST(ReadArchive, SomethingAfterTheTarEndIsRefusedNotDropped) {
  std::string tar = BuildArchive({{"a.csv", Csv(10)}}, Format::kTar);
  for (const std::string& bytes :
       {tar + std::string(512, 'x'), testing::internal::Gzip(tar + std::string(2048, 'x')),
        testing::internal::Gzip(tar + "x"),
        testing::internal::Gzip(tar + std::string(700, '\0') + "x")}) {
    MemorySink sink;
    auto stats = Read(bytes, &sink);
    ASSERT_FALSE(stats.ok());
    EXPECT_EQ(stats.status().code(), StatusCode::kCorrupt) << stats.status().ToString();
    EXPECT_NE(stats.status().message().find("ask the partner to deliver it again"),
              std::string::npos)
        << stats.status().message();
  }
}

TEST(ReadArchive, DamagedGzipIsCorrupt) {
  std::string bytes = BuildArchive({{"a.csv", Csv(20000)}}, Format::kTarGz);
  for (size_t i = 40; i < 60; ++i) bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
  MemorySink sink;
  auto stats = Read(bytes, &sink);
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), StatusCode::kCorrupt) << stats.status().ToString();
}

TEST(ReadArchive, AHeaderWithAWrongSizeNamesTheEntryBeforeTheDamage) {
  // The first member's header claims 5,000 bytes more than it has: the next header is read
  // from the middle of data, and the message names the member whose size is suspect.
  std::string bytes = BuildArchive({{"orders.csv", Csv(10)}, {"b.csv", Csv(2000)}}, Format::kTar);
  char size[12];
  std::snprintf(size, sizeof size, "%011o", static_cast<unsigned>(Csv(10).size() + 5000));
  std::memcpy(&bytes[124], size, 11);
  std::memset(&bytes[148], ' ', 8);
  unsigned sum = 0;
  for (int i = 0; i < 512; ++i) sum += static_cast<unsigned char>(bytes[i]);
  char chk[8];
  std::snprintf(chk, sizeof chk, "%06o", sum);
  std::memcpy(&bytes[148], chk, 7);
  MemorySink sink;
  auto stats = Read(bytes, &sink);
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), StatusCode::kCorrupt) << stats.status().ToString();
  EXPECT_NE(stats.status().message().find("after entry 1 \"orders.csv\" (whose header may give a "
                                          "wrong size)"),
            std::string::npos)
      << stats.status().message();
}

TEST(ReadArchive, AnEmptyFileSaysItIsEmpty) {
  MemorySink sink;
  auto stats = Read("", &sink);
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(stats.status().message(),
            "archive landing/acme/2026-11-24/a.tar.gz is empty (0 bytes); ask the partner to "
            "deliver it again");
}

TEST(ReadArchive, APlainCsvIsNotAnArchive) {
  MemorySink sink;
  auto stats = Read(Csv(50), &sink);
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), StatusCode::kCorrupt);
  EXPECT_NE(stats.status().message().find("expected a tar"), std::string::npos)
      << stats.status().message();
}

TEST(ReadArchive, SinkErrorsStopTheRead) {
  class FailingSink final : public EntrySink {
   public:
    Result<bool> Begin(const EntryInfo&) override { return true; }
    Status Data(std::string_view) override { return Status::IoError("disk full"); }
    Status End() override { return Status::Ok(); }
  } sink;
  auto stats = Read(BuildArchive({{"a.csv", "x"}}, Format::kTarGz), &sink);
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().message(), "disk full");
}

// ---- the hostile corpus --------------------------------------------------------------------

struct Hostile {
  Hostile(std::string n, std::vector<Member> m, Format f, std::string r,
          config::ExtractLimits l = {})
      : name(std::move(n)), members(std::move(m)), format(f), rule(std::move(r)), limits(l) {}
  std::string name;
  std::vector<Member> members;
  Format format = Format::kTarGz;
  std::string rule;
  config::ExtractLimits limits = {};
};

std::vector<Hostile> HostileCorpus() {
  config::ExtractLimits small;
  small.max_entries = 3;
  small.max_entry_bytes = 1000;
  small.max_total_bytes = 1500;
  small.max_ratio = 20;
  std::string zeros(8 << 20, '\0');
  std::string gz_inside = BuildArchive({{"x.csv", "1"}}, Format::kTarGz);
  std::string tar_inside = BuildArchive({{"x.csv", "1"}}, Format::kTar);
  std::string zip_inside = BuildArchive({{"x.csv", "1"}}, Format::kZip);
  std::vector<Hostile> c = {
      {"dotdot", {{"ok.csv", "1"}, {"../evil.csv", "x"}}, Format::kTarGz, "dotdot"},
      {"dotdot_deep", {{"a/b/../../../etc/cron.d/x", "x"}}, Format::kTarGz, "dotdot"},
      {"absolute", {{"/etc/passwd", "x"}}, Format::kTarGz, "absolute_path"},
      {"drive_letter", {{"C:/windows/x.csv", "x"}}, Format::kZip, "absolute_path"},
      {"backslash", {{"..\\..\\evil.csv", "x"}}, Format::kTarGz, "backslash"},
      // libarchive's zip reader turns DOS separators into '/', which the dotdot rule then sees.
      {"zip_backslash", {{"..\\..\\evil.csv", "x"}}, Format::kZip, "dotdot"},
      {"symlink", {{"orders.csv", "", Member::kSymlink, "/etc/passwd"}}, Format::kTarGz, "symlink"},
      {"zip_symlink", {{"orders.csv", "", Member::kSymlink, "../../x"}}, Format::kZip, "symlink"},
      {"hardlink",
       {{"a.csv", "1"}, {"orders.csv", "", Member::kHardlink, "a.csv"}},
       Format::kTarGz,
       "hardlink"},
      {"char_device", {{"dev/null", "", Member::kCharDevice}}, Format::kTarGz, "device"},
      {"block_device", {{"sda", "", Member::kBlockDevice}}, Format::kTar, "device"},
      {"fifo", {{"pipe", "", Member::kFifo}}, Format::kTarGz, "fifo"},
      {"control_char", {{"orders\n.csv", "x"}}, Format::kTarGz, "control_char"},
      {"nul_escape", {{"orders\x1b[2J.csv", "x"}}, Format::kTarGz, "control_char"},
      {"invalid_utf8", {{"orders\xff\xfe.csv", "x"}}, Format::kTarGz, "invalid_utf8"},
      {"duplicate", {{"orders.csv", "1"}, {"orders.csv", "2"}}, Format::kTarGz, "duplicate_name"},
      {"duplicate_after_normalising",
       {{"export/orders.csv", "1"}, {"./export//orders.csv", "2"}},
       Format::kTar,
       "duplicate_name"},
      {"too_many_entries",
       {{"a", "1"}, {"b", "1"}, {"c", "1"}, {"d", "1"}},
       Format::kTarGz,
       "max_entries",
       small},
      {"entry_too_big",
       {{"a.csv", std::string(1001, 'x')}},
       Format::kTarGz,
       "max_entry_bytes",
       small},
      {"total_too_big",
       {{"a.csv", std::string(800, 'x')}, {"b.csv", std::string(800, 'y')}},
       Format::kTarGz,
       "max_total_bytes",
       small},
      {"gzip_bomb", {{"orders.csv", zeros}}, Format::kTarGz, "max_ratio"},
      {"zip_bomb", {{"orders.csv", zeros}}, Format::kZip, "max_ratio"},
      {"bzip2_bomb", {{"orders.csv", zeros}}, Format::kTarBz2, "max_ratio"},
      {"nested_tar_gz", {{"orders.csv", gz_inside}}, Format::kTarGz, "nested_archive"},
      {"nested_tar", {{"inner.dat", tar_inside}}, Format::kZip, "nested_archive"},
      {"nested_zip", {{"orders.csv", zip_inside}}, Format::kTarGz, "nested_archive"},
      // Escapes only after Unicode normalisation: FULLWIDTH FULL STOP x2, FULLWIDTH SOLIDUS.
      {"zip_fullwidth_dotdot",
       {{"data/\xEF\xBC\x8E\xEF\xBC\x8E\xEF\xBC\x8F\xEF\xBC\x8E\xEF\xBC\x8E/evil.csv", "x",
         Member::kFile, "", true}},
       Format::kZip,
       "dotdot"},
      {"zip_dot_segments_escape", {{"safe/./x/.././../../evil.csv", "x"}}, Format::kZip, "dotdot"},
  };
  for (Hostile& h : c) {
    if (h.rule == "max_ratio") h.limits.max_ratio = 50;
  }
  return c;
}

class HostileArchive : public ::testing::TestWithParam<Hostile> {};

TEST_P(HostileArchive, IsRefusedWithItsRuleNamed) {
  const Hostile& h = GetParam();
  std::string bytes = BuildArchive(h.members, h.format);
  MemorySink sink;
  ReadOptions o;
  o.limits = h.limits;
  auto stats = Read(bytes, &sink, o, 1 << 16);
  ASSERT_FALSE(stats.ok()) << h.name << " was accepted";
  const std::string& msg = stats.status().message();
  EXPECT_EQ(stats.status().code(), StatusCode::kInvalidArgument) << msg;
  EXPECT_NE(msg.find("archive landing/acme/2026-11-24/a.tar.gz refused"), std::string::npos) << msg;
  EXPECT_NE(msg.find(": " + h.rule + ": "), std::string::npos) << msg;
  EXPECT_NE(msg.find("entry \""), std::string::npos) << msg;
  // Every refusal says what the partner can change (the name and type rules in one advice).
  for (const char* rule : {"dotdot", "absolute_path", "backslash", "control_char"}) {
    if (h.rule == rule) {
      EXPECT_NE(msg.find("only plain relative names are extracted"), std::string::npos) << msg;
    }
  }
  for (const char* rule : {"symlink", "hardlink", "device", "fifo"}) {
    if (h.rule == rule) {
      EXPECT_NE(msg.find("only regular files are extracted"), std::string::npos) << msg;
    }
  }
  // A bomb is stopped long before it is expanded.
  int64_t handed = 0;
  for (const auto& [name, data] : sink.files) handed += static_cast<int64_t>(data.size());
  EXPECT_LT(handed, int64_t{4} << 20) << h.name;
}

INSTANTIATE_TEST_SUITE_P(Corpus, HostileArchive, ::testing::ValuesIn(HostileCorpus()),
                         [](const ::testing::TestParamInfo<Hostile>& p) { return p.param.name; });

TEST(ReadArchive, RealisticCsvCompressionIsNotMistakenForABomb) {
  // Repetitive CSV (same date, status, currency on every row) still stays well under 200x.
  std::string csv;
  for (int i = 0; i < 200000; ++i) {
    csv += std::to_string(1000000 + i) + ",2026-11-24,paid,KRW," + std::to_string(i % 100) +
           ".00,,,\n";
  }
  MemorySink sink;
  auto stats = Read(BuildArchive({{"orders.csv", csv}}, Format::kTarGz), &sink, {}, 1 << 20);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(sink.files["orders.csv"], csv);
}

// ---- zip integrity: CRC-32 and sizes ---------------------------------------------------------

// The three ways zips carry an entry's CRC-32: after the data in a data descriptor (deflated or
// stored, libarchive's streaming writer), or in the local header (Python, Java, 7-Zip on a file).
enum class ZipKind { kDeflatedDescriptor, kStoredDescriptor, kStoredLocalHeader };

std::string ZipOf(ZipKind kind, const std::vector<Member>& members) {
  switch (kind) {
    case ZipKind::kDeflatedDescriptor:
      return BuildArchive(members, Format::kZip);
    case ZipKind::kStoredDescriptor:
      return BuildArchive(members, Format::kZipStored);
    case ZipKind::kStoredLocalHeader:
      return testing::BuildPlainZip(members, /*utf8_flag=*/false);
  }
  return "";
}

void Flip(std::string* bytes, size_t pos) { (*bytes)[pos] = static_cast<char>((*bytes)[pos] ^ 1); }

class ZipIntegrity : public ::testing::TestWithParam<ZipKind> {
 protected:
  void SetUp() override {
    zip_ = ZipOf(GetParam(), {{"export/", "", Member::kDir},
                              {"export/a.csv", Csv(50)},
                              {"export/orders.csv", Csv(300)}});
    layout_ = testing::ZipLayout(zip_);
    ASSERT_EQ(layout_.size(), 3u);
  }
  // Where the CRC-32 that the streaming reader checks sits: the data descriptor when there is
  // one, else the local header.
  size_t StreamedCrcOffset(const testing::ZipEntryLayout& e) const {
    if ((e.flags & 0x08) == 0) return e.local + 14;
    size_t descriptor = e.data + testing::internal::GetLe(zip_, e.central + 20, 4);
    return descriptor + (zip_.compare(descriptor, 4, "PK\x07\x08") == 0 ? 4 : 0);
  }
  void ExpectRefused(const std::string& bytes, const std::string& rule) {
    MemorySink sink;
    auto stats = Read(bytes, &sink);
    ASSERT_FALSE(stats.ok()) << "accepted";
    const std::string& msg = stats.status().message();
    EXPECT_EQ(stats.status().code(), StatusCode::kInvalidArgument) << msg;
    EXPECT_NE(msg.find("refused: entry \"export/orders.csv\" (#3): " + rule + ": "),
              std::string::npos)
        << msg;
  }
  std::string zip_;
  std::vector<testing::ZipEntryLayout> layout_;
};

TEST_P(ZipIntegrity, AnUndamagedZipIsRead) {
  MemorySink sink;
  auto stats = Read(zip_, &sink);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(sink.files["export/orders.csv"], Csv(300));
}

TEST_P(ZipIntegrity, ADamagedDataByteIsRefused) {
  Flip(&zip_, layout_[2].data + 100);
  if (GetParam() != ZipKind::kDeflatedDescriptor) {
    ExpectRefused(zip_, "crc_mismatch");
    return;
  }
  // Damaged deflate data usually breaks the inflater before the CRC can be compared: either
  // way the archive is refused.
  MemorySink sink;
  auto stats = Read(zip_, &sink);
  ASSERT_FALSE(stats.ok()) << "accepted";
  const std::string& msg = stats.status().message();
  EXPECT_TRUE(msg.find(": crc_mismatch: ") != std::string::npos ||
              stats.status().code() == StatusCode::kCorrupt)
      << msg;
}

TEST_P(ZipIntegrity, ADamagedCrcFieldBesideTheDataIsACrcMismatch) {
  Flip(&zip_, StreamedCrcOffset(layout_[2]));
  ExpectRefused(zip_, "crc_mismatch");
}

TEST_P(ZipIntegrity, ADamagedCrcInTheCentralDirectoryIsACrcMismatch) {
  Flip(&zip_, layout_[2].central + 16);
  ExpectRefused(zip_, "crc_mismatch");
}

TEST_P(ZipIntegrity, AWrongSizeInTheCentralDirectoryIsASizeMismatch) {
  Flip(&zip_, layout_[2].central + 24);
  ExpectRefused(zip_, "size_mismatch");
}

TEST_P(ZipIntegrity, AZipCutShortIsCorruptNotACrcMismatch) {
  MemorySink sink;
  auto stats = Read(zip_.substr(0, layout_[2].data + 100), &sink);
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), StatusCode::kCorrupt) << stats.status().ToString();
}

INSTANTIATE_TEST_SUITE_P(Kinds, ZipIntegrity,
                         ::testing::Values(ZipKind::kDeflatedDescriptor, ZipKind::kStoredDescriptor,
                                           ZipKind::kStoredLocalHeader),
                         [](const ::testing::TestParamInfo<ZipKind>& p) {
                           switch (p.param) {
                             case ZipKind::kDeflatedDescriptor:
                               return "deflated_descriptor";
                             case ZipKind::kStoredDescriptor:
                               return "stored_descriptor";
                             case ZipKind::kStoredLocalHeader:
                               return "stored_local_header";
                           }
                           return "?";
                         });

TEST(ZipIntegrityLocalHeader, AWrongUncompressedSizeInTheLocalHeaderIsASizeMismatch) {
  std::string zip = testing::BuildPlainZip({{"a.csv", Csv(50)}, {"orders.csv", Csv(300)}}, false);
  auto layout = testing::ZipLayout(zip);
  Flip(&zip, layout[1].local + 22);
  MemorySink sink;
  auto stats = Read(zip, &sink);
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.status().message().find("entry \"orders.csv\" (#2): size_mismatch: "),
            std::string::npos)
      << stats.status().message();
  // On one line: `sluice show` prints an error's first line, and the advice comes last.
  EXPECT_EQ(stats.status().message().find('\n'), std::string::npos) << stats.status().message();
  EXPECT_NE(stats.status().message().find("deliver it again"), std::string::npos);
}

TEST(ReadArchive, ADuplicateNamesBothSpellings) {
  std::string tar =
      BuildArchive({{"export/orders.csv", Csv(5)}, {"./export//orders.csv", Csv(6)}}, Format::kTar);
  MemorySink sink;
  auto stats = Read(tar, &sink);
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.status().message().find(
                "entry \"./export//orders.csv\" (#2): duplicate_name: an earlier entry, "
                "\"export/orders.csv\", has the same name (both are \"export/orders.csv\"); ask "
                "the partner to send each file once"),
            std::string::npos)
      << stats.status().message();
}

TEST(CheckMemberName, NormalisesHarmlessSpellings) {
  EXPECT_EQ(*CheckMemberName("./export//orders.csv"), "export/orders.csv");
  EXPECT_EQ(*CheckMemberName("dir/"), "dir");
  EXPECT_EQ(*CheckMemberName("\xEC\xA3\xBC\xEB\xAC\xB8.csv"), "\xEC\xA3\xBC\xEB\xAC\xB8.csv");
  EXPECT_EQ(*CheckMemberName("a..b/c...csv"), "a..b/c...csv");
}

TEST(CheckMemberName, NamesTheRule) {
  EXPECT_EQ(CheckMemberName("").status().message().substr(0, 10), "empty_name");
  EXPECT_EQ(CheckMemberName("./").status().message().substr(0, 10), "empty_name");
  EXPECT_EQ(CheckMemberName("a/../b").status().message().substr(0, 6), "dotdot");
  EXPECT_EQ(CheckMemberName("a\\b").status().message().substr(0, 9), "backslash");
  EXPECT_EQ(CheckMemberName("a\xEF\xBC\xBC"
                            "b")
                .status()
                .message()
                .substr(0, 9),
            "backslash");
  EXPECT_EQ(CheckMemberName("/x").status().message().substr(0, 13), "absolute_path");
  EXPECT_EQ(CheckMemberName("orders_\xC2\x85.csv").status().message().substr(0, 12),
            "control_char");                                     // U+0085, a C1 control
  EXPECT_TRUE(CheckMemberName("caf\xC3\xA9\xC2\xA0.csv").ok());  // é and a no-break space
  EXPECT_EQ(CheckMemberName("\xEF\xBC\x8Fx").status().message().substr(0, 13), "absolute_path");
}

TEST(Checksum, MatchesKnownVectors) {
  auto sha = MakeChecksum("sha256");
  ASSERT_TRUE(sha.ok());
  (*sha)->Update("abc", 3);
  EXPECT_EQ((*sha)->Finish(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  auto xxh = MakeChecksum("xxh128");
  ASSERT_TRUE(xxh.ok());
  (*xxh)->Update("", 0);
  EXPECT_EQ((*xxh)->Finish(), "xxh128:99aa06d3014798d86001c324468d497f");
  EXPECT_EQ(MakeChecksum("md5").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sluice::archive
