#include "core/strings.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "core/clock.h"
#include "core/date.h"
#include "core/logging.h"

namespace sluice {
namespace {

TEST(Strings, SplitKeepsEmptyFields) {
  EXPECT_EQ(Split("a,,b", ','), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(Split("", ','), (std::vector<std::string>{""}));
}

TEST(Strings, NearestMatchSuggestsTyposOnly) {
  std::vector<std::string> keys = {"depends_on", "max_retries", "timeout_seconds"};
  EXPECT_EQ(NearestMatch("depend_on", keys), "depends_on");
  EXPECT_EQ(NearestMatch("max_retires", keys), "max_retries");
  EXPECT_EQ(NearestMatch("colour", keys), std::nullopt);
  EXPECT_EQ(DidYouMean("timeout_second", keys), " (did you mean \"timeout_seconds\"?)");
}

TEST(Strings, ParseByteSizeUnits) {
  EXPECT_EQ(*ParseByteSize("20GiB"), int64_t{20} << 30);
  EXPECT_EQ(*ParseByteSize("1.5MB"), 1'500'000);
  EXPECT_EQ(*ParseByteSize("512"), 512);
  EXPECT_EQ(*ParseByteSize("2 k"), 2048);
  EXPECT_FALSE(ParseByteSize("12 parsecs").ok());
  EXPECT_FALSE(ParseByteSize("GiB").ok());
  EXPECT_FALSE(ParseByteSize("99999999999TB").ok());
}

TEST(Strings, ExpandEnvSubstitutesAndReportsUnset) {
  setenv("SLUICE_TEST_HOOK", "https://hooks.example/abc", 1);
  unsetenv("SLUICE_TEST_UNSET");
  EXPECT_EQ(*ExpandEnv("${SLUICE_TEST_HOOK}/x"), "https://hooks.example/abc/x");
  auto r = ExpandEnv("${SLUICE_TEST_UNSET}");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("SLUICE_TEST_UNSET"), std::string::npos);
  EXPECT_FALSE(ExpandEnv("${OPEN").ok());
}

TEST(Strings, PartnerIdRule) {
  EXPECT_TRUE(IsValidPartnerId("acme"));
  EXPECT_TRUE(IsValidPartnerId("0-co_x"));
  EXPECT_FALSE(IsValidPartnerId(""));
  EXPECT_FALSE(IsValidPartnerId("Acme"));
  EXPECT_FALSE(IsValidPartnerId("_acme"));
  EXPECT_FALSE(IsValidPartnerId("../b"));
  EXPECT_FALSE(IsValidPartnerId(std::string(64, 'a')));
  EXPECT_TRUE(IsValidPartnerId(std::string(63, 'a')));
}

TEST(Strings, Utf8Validation) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("\xED\x95\x9C\xEA\xB8\x80"));  // 한글
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));                 // overlong "/"
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));             // surrogate
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));                 // truncated
  EXPECT_FALSE(IsValidUtf8("\xFF"));
}

TEST(Strings, PrintableKeepsLettersAndEscapesControlsAndBadBytes) {
  EXPECT_EQ(Printable("\xEC\xA3\xBC\xEB\xAC\xB8*.csv"), "\xEC\xA3\xBC\xEB\xAC\xB8*.csv");  // 주문
  EXPECT_EQ(Printable("a\nb\x7F\xC2\x85"
                      "c"),
            "a\\x0Ab\\x7F\\xC2\\x85c");                    // C0, DEL, C1
  EXPECT_EQ(Printable("\xC1\xD6.csv"), "\\xC1\\xD6.csv");  // cp949, not UTF-8
  EXPECT_EQ(Printable("export\\orders.csv"), "export\\orders.csv");
  EXPECT_EQ(Printable("\xE2\x82"), "\\xE2\\x82");  // a truncated sequence
  for (std::string s : {"\xC1\xD6 \xEC\xA3\xBC", "a\tb", "x\\x41"}) {
    EXPECT_EQ(Printable(Printable(s)), Printable(s)) << s;
  }
  EXPECT_EQ(Printable(std::string(10, 'a'), 4), "aaaa...");
  EXPECT_EQ(Printable("abcd", 4), "abcd");
  // A letter is never cut in half: the limit may be passed by the rest of one.
  EXPECT_EQ(Printable("\xEC\xA3\xBC\xEB\xAC\xB8x", 4), "\xEC\xA3\xBC\xEB\xAC\xB8...");
}

TEST(Strings, NameMatchingGlobFillsWildcardsThePlainestWay) {
  EXPECT_EQ(NameMatchingGlob("orders*.csv", "", 'x'), "orders.csv");
  EXPECT_EQ(NameMatchingGlob("x_??_[0-9]*.zip", "000000", '0'), "x_00_0000000.zip");
  EXPECT_EQ(NameMatchingGlob("a[b", "", 'x'), "a[b");  // unclosed: fnmatch reads it literally
  EXPECT_EQ(NameMatchingGlob("a[!0-9].zip", "", 'x'), std::nullopt);
  EXPECT_EQ(NameMatchingGlob("a[^0-9].zip", "", 'x'), std::nullopt);
}

// The definition, spelled out: decode each sequence and check its range.
bool ReferenceUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    int n = c < 0x80             ? 0
            : (c & 0xE0) == 0xC0 ? 1
            : (c & 0xF0) == 0xE0 ? 2
            : (c & 0xF8) == 0xF0 ? 3
                                 : -1;
    if (n < 0 || i + static_cast<size_t>(n) >= s.size()) return false;  // bad lead, truncated
    uint32_t cp = n == 0 ? c : n == 1 ? (c & 0x1Fu) : n == 2 ? (c & 0x0Fu) : (c & 0x07u);
    for (int k = 1; k <= n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
      if ((b & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3Fu);
    }
    const uint32_t min[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += static_cast<size_t>(n) + 1;
  }
  return true;
}

TEST(Strings, Utf8ValidationAgreesWithTheDefinition) {
  // Every one- and two-byte string, every three-byte string starting with a lead byte, and a
  // sample of four-byte ones; each also behind ASCII of every length up to 9 (the fast path
  // reads eight bytes at a time) and followed by ASCII.
  int checked = 0;
  auto check = [&](const std::string& seq) {
    for (size_t pad = 0; pad <= 9; pad += 3) {
      const std::string s = std::string(pad, 'a') + seq + std::string(pad % 5, 'z');
      ASSERT_EQ(IsValidUtf8(s), ReferenceUtf8(s)) << "bytes: " << Printable(s);
      ++checked;
    }
  };
  for (int a = 0; a < 256; ++a) {
    check(std::string(1, static_cast<char>(a)));
    for (int b = 0; b < 256; ++b) check({static_cast<char>(a), static_cast<char>(b)});
  }
  for (int a = 0xC0; a < 0x100; ++a) {
    for (int b = 0; b < 256; ++b) {
      for (int c = 0x70; c < 0xD0; c += 0x0F) {
        check({static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)});
        for (int d : {0x41, 0x7F, 0x80, 0x8F, 0x90, 0xBF, 0xC0}) {
          check({static_cast<char>(a), static_cast<char>(b), static_cast<char>(c),
                 static_cast<char>(d)});
        }
      }
    }
  }
  EXPECT_GT(checked, 500000);
}

TEST(Date, ParseFormatAndArithmetic) {
  auto d = ParseDate("2026-11-24");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d->Format("%Y%m%d"), "20261124");
  EXPECT_EQ(*d->Format("%y/%j"), "26/328");
  EXPECT_FALSE(d->Format("%H").ok());
  EXPECT_EQ(d->AddDays(7).ToString(), "2026-12-01");
  EXPECT_EQ(d->AddDays(-24).ToString(), "2026-10-31");
  EXPECT_FALSE(ParseDate("2026-02-30").ok());
  EXPECT_FALSE(ParseDate("2026-1-1").ok());
  EXPECT_FALSE(Today("Mars/Olympus").ok());
  EXPECT_TRUE(Today("UTC").ok());
}

TEST(Logging, RedactsRegisteredSecrets) {
  log::RegisterSecret("s3cr3t-token");
  EXPECT_EQ(log::Redact("posting to https://x/s3cr3t-token?a=s3cr3t-token"),
            "posting to https://x/***?a=***");
  log::RegisterSecret("ab");  // too short to mask safely
  EXPECT_EQ(log::Redact("abc"), "abc");
}

TEST(Logging, CredentialsInTheEnvironmentAreRedacted) {
  setenv("SLUICE_T_AWS_SECRET_ACCESS_KEY", "AKsecretvalue1", 1);
  setenv("SLUICE_T_PGPASSWORD", "pgpass-value-2", 1);
  setenv("SLUICE_T_API_KEY", "apikey-value-3", 1);
  setenv("SLUICE_T_SHORT_TOKEN", "short", 1);             // too short to mask
  setenv("SLUICE_T_GREETING", "hello-world-4", 1);        // not a credential's name
  setenv("SLUICE_T_AWS_ACCESS_KEY_ID", "AKIAKEYID5", 1);  // the key pair's other half
  log::RegisterSecretsFromEnvironment();
  EXPECT_EQ(log::Redact("a=AKsecretvalue1 b=pgpass-value-2 c=apikey-value-3 d=short "
                        "e=hello-world-4 f=AKIAKEYID5"),
            "a=*** b=*** c=*** d=short e=hello-world-4 f=***");
  for (const char* n :
       {"SLUICE_T_AWS_SECRET_ACCESS_KEY", "SLUICE_T_PGPASSWORD", "SLUICE_T_API_KEY",
        "SLUICE_T_SHORT_TOKEN", "SLUICE_T_GREETING", "SLUICE_T_AWS_ACCESS_KEY_ID"}) {
    unsetenv(n);
  }
}

TEST(Clock, FakeClockMovesOnlyWhenTold) {
  FakeClock clock;
  auto t0 = clock.Now();
  clock.SleepFor(std::chrono::seconds(3));
  EXPECT_EQ(clock.Now() - t0, std::chrono::seconds(3));
}

}  // namespace
}  // namespace sluice
