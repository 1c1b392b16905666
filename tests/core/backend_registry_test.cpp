#include "core/backend_registry.h"

#include <gtest/gtest.h>
#include <stdlib.h>

namespace sluice {
namespace {

using FakeFactory = int (*)();
int One() { return 1; }
int Two() { return 2; }
Status NeedsPath(std::string_view url) {
  return url.size() > 6 ? Status::Ok() : Status::InvalidArgument("names no path; use mem://NAME");
}

constexpr Backend<FakeFactory> kUrlBackends[] = {
    {.scheme = "mem", .open = One, .check = NeedsPath},
    {.scheme = "memx", .open = Two},
    {.scheme = "cloud"},
};
constexpr BackendRegistry<FakeFactory> kUrls("thing", true, "mem://NAME", kUrlBackends);

constexpr Backend<FakeFactory> kNamedBackends[] = {{.scheme = "here", .open = One},
                                                   {.scheme = "there"}};
constexpr BackendRegistry<FakeFactory> kNames("runner", false, "here", kNamedBackends);

TEST(BackendRegistry, SelectsTheBackEndWhoseSchemeIsTheWholeUrlPrefix) {
  auto mem = kUrls.Resolve("mem://a");
  ASSERT_TRUE(mem.ok()) << mem.status().ToString();
  EXPECT_EQ(mem->backend->open(), 1);
  auto memx = kUrls.Resolve("memx://a");
  ASSERT_TRUE(memx.ok()) << memx.status().ToString();
  EXPECT_EQ(memx->backend->open(), 2);
  EXPECT_FALSE(kUrls.Resolve("me://a").ok());
  EXPECT_FALSE(kUrls.Resolve("mem:/a").ok());
}

TEST(BackendRegistry, RefusesADesignedButUnbuiltBackEndSayingWhatToUseInstead) {
  auto r = kUrls.Resolve("cloud://bucket");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "\"cloud://bucket\": cloud:// is not supported by this version of sluice; use "
            "mem://NAME");
  EXPECT_EQ(kNames.Resolve("there").status().message(),
            "\"there\": there is not supported by this version of sluice; use here");
}

TEST(BackendRegistry, UnknownValuesListOnlyTheBuiltBackEnds) {
  EXPECT_EQ(kUrls.Resolve("ftp://x").status().message(),
            "\"ftp://x\" has an unsupported scheme; use one of mem://, memx://");
  EXPECT_EQ(kNames.Resolve("elsewhere").status().message(),
            "unknown runner \"elsewhere\"; use one of here");
}

TEST(BackendRegistry, RunsTheBackEndsOwnCheck) {
  EXPECT_EQ(kUrls.Resolve("mem://").status().message(),
            "\"mem://\": names no path; use mem://NAME");
}

TEST(BackendRegistry, ExpandsEnvironmentVariablesInUrlsButQuotesTheUrlAsWritten) {
  ::setenv("SLUICE_REGISTRY_TEST_SECRET", "hunter2", 1);
  auto ok = kUrls.Resolve("mem://u:${SLUICE_REGISTRY_TEST_SECRET}@h");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->url, "mem://u:hunter2@h");
  ::setenv("SLUICE_REGISTRY_TEST_SECRET", "ftp://hunter2", 1);
  auto bad = kUrls.Resolve("${SLUICE_REGISTRY_TEST_SECRET}");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().find("hunter2"), std::string::npos) << bad.status().message();
  ::unsetenv("SLUICE_REGISTRY_TEST_SECRET");
  EXPECT_EQ(kUrls.Resolve("mem://${SLUICE_REGISTRY_TEST_SECRET}").status().message(),
            "\"mem://${SLUICE_REGISTRY_TEST_SECRET}\": environment variable "
            "SLUICE_REGISTRY_TEST_SECRET is not set; set it in the environment of every sluice "
            "command");
}

TEST(BackendRegistry, NamesAreMatchedWholeAndNotExpanded) {
  EXPECT_TRUE(kNames.Resolve("here").ok());
  EXPECT_FALSE(kNames.Resolve("here://x").ok());
  EXPECT_FALSE(kNames.Resolve("${HOME}").ok());
}

}  // namespace
}  // namespace sluice
