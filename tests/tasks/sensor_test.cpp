// The wait_for_sources sensor on a real local store and a fake clock: files arrive while it
// polls (written by the clock's sleep hook, so no real sleeps), timeouts name the missing
// partners, and the marker and stable rules hold.
#include <fcntl.h>
#include <sys/stat.h>

#include <functional>

#include "archive/test_archive_builder.h"
#include "core/clock.h"
#include "store/fault_store.h"
#include "tasks/extract.h"
#include "tasks/extract_test_support.h"
#include "tasks/wait_for_sources.h"

namespace sluice::tasks {
namespace {

// A fake clock whose n-th SleepFor() first runs a hook: the "world" acting while the sensor
// waits.
class ScriptedClock final : public Clock {
 public:
  TimePoint Now() override { return fake_.Now(); }
  std::chrono::system_clock::time_point WallNow() override { return fake_.WallNow(); }
  void SleepFor(Duration d) override {
    ++sleeps;
    fake_.Advance(d);
    if (on_sleep) on_sleep(sleeps);
  }
  int sleeps = 0;
  std::function<void(int)> on_sleep;

 private:
  FakeClock fake_;
};

constexpr const char* kWorkflow = R"(name: test_pipeline
tasks:
  - task_key: wait_all
    builtin: wait_for_sources
    params: {poke_interval_seconds: 60, timeout_seconds: 600}
  - task_key: wait_each
    builtin: wait_for_sources
    params: {poke_interval_seconds: 60, timeout_seconds: 600, mode: each}
  - task_key: wait_default
    builtin: wait_for_sources
  - task_key: wait_per_partner
    builtin: wait_for_sources
    for_each: partner
    params: {poke_interval_seconds: 10, timeout_seconds: 100}
  - task_key: batch_extract
    builtin: extract
    for_each: partner
    depends_on: [wait_each]
)";

class Sensor : public testing::PipelineFixture {
 protected:
  void SetUp() override {
    PipelineFixture::SetUp();
    dir_.Write("workflow.yaml", kWorkflow);
    Load();
  }
  // The archive lands "now" on the test's clock: its mtime is the fake wall time, as a real
  // upload's would be the real one.
  void Deliver(const std::string& partner, const std::string& content = "archive") {
    Stamp(Land(partner, content), clock_.WallNow());
  }
  static void Stamp(const std::filesystem::path& file, std::chrono::system_clock::time_point t) {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    struct timespec times[2];
    times[0].tv_sec = times[1].tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    times[0].tv_nsec = times[1].tv_nsec = static_cast<long>(ns % 1'000'000'000);
    ASSERT_EQ(utimensat(AT_FDCWD, file.c_str(), times, 0), 0) << file;
  }
  void Mark(const std::string& partner) {
    dir_.Write("area/data/landing/" + partner + "/2026-11-24/_SUCCESS", "");
  }
  void UseStableRule(const std::string& partner, int seconds) {
    std::string yaml = testing::PartnerYaml(partner);
    yaml.replace(yaml.find("{marker: _SUCCESS}"), 18,
                 "{stable_seconds: " + std::to_string(seconds) + "}");
    dir_.Write("partners/" + partner + "/partner.yaml", yaml);
    Load();
  }
  Status Wait(const std::string& task, const std::string& partner = "") {
    TaskContext ctx = Ctx(partner, task);
    Status st = WaitForSources(ctx, &clock_);
    result_ = ctx.result;
    return st;
  }
  ScriptedClock clock_;
  nlohmann::json result_;
};

TEST_F(Sensor, SucceedsAtOnceWhenEverythingIsAlreadyThere) {
  for (const char* p : {"acme", "globex"}) {
    Deliver(p);
    Mark(p);
  }
  ASSERT_TRUE(Wait("wait_all").ok());
  EXPECT_EQ(clock_.sleeps, 0);
  EXPECT_EQ(result_["ready"], (std::vector<std::string>{"acme", "globex"}));
}

TEST_F(Sensor, SucceedsWhenTheArchiveArrivesWhileItPolls) {
  Deliver("acme");
  Mark("acme");
  clock_.on_sleep = [&](int n) {
    if (n == 2) Deliver("globex");  // archive first: not complete without its marker
    if (n == 4) Mark("globex");
  };
  Status st = Wait("wait_all");
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(clock_.sleeps, 4);  // done at the first poke after the marker, not before
  EXPECT_TRUE(result_["missing"].empty());
}

TEST_F(Sensor, AGlobArchiveWaitsForItsFileAndTakesEveryMatch) {
  std::string yaml = testing::PartnerYaml("globex");
  yaml.replace(yaml.find("globex_{date:%Y%m%d}.tar.gz"), 27, "globex_{date:%Y%m%d}_*.tar.gz");
  dir_.Write("partners/globex/partner.yaml", yaml);
  Load();
  Deliver("acme");
  Mark("acme");
  clock_.on_sleep = [&](int n) {
    if (n == 2) {
      dir_.Write("area/data/landing/globex/2026-11-24/globex_20261124_0315.tar.gz", "archive");
      Mark("globex");
    }
  };
  Status st = Wait("wait_all");
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(clock_.sleeps, 2);
  // Two matches are two deliveries of the day: both are waited for and extracted.
  dir_.Write("area/data/landing/globex/2026-11-24/globex_20261124_0915.tar.gz", "archive");
  st = Wait("wait_all");
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(result_["ready"], (std::vector<std::string>{"acme", "globex"}));
  EXPECT_FALSE(result_.contains("problems")) << result_.dump();
}

TEST_F(Sensor, ALinkInOnePartnersLandingFolderDoesNotStopTheOthers) {
  Deliver("acme");
  Mark("acme");
  Deliver("globex");
  Mark("globex");
  // acme's archive is replaced by a link to globex's: never followed, and only acme's problem.
  const auto landing = StoreRoot() / "landing";
  std::filesystem::remove(landing / "acme/2026-11-24/acme_20261124.tar.gz");
  std::filesystem::create_symlink(landing / "globex/2026-11-24/globex_20261124.tar.gz",
                                  landing / "acme/2026-11-24/acme_20261124.tar.gz");
  Status st = Wait("wait_all");
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(clock_.sleeps, 0);
  ASSERT_TRUE(result_["problems"].contains("acme")) << result_.dump();
  EXPECT_NE(result_["problems"]["acme"].get<std::string>().find("symlink"), std::string::npos);
  TaskContext acme = Ctx("acme", "batch_extract");
  st = ExtractPartner(acme, nullptr, &clock_);
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied) << st.ToString();
  EXPECT_FALSE(std::filesystem::exists(StoreRoot() / "raw/acme"));
}

TEST_F(Sensor, AStoreThatRefusesEveryPartnerFailsTheSensorInsteadOfReportingThemPresent) {
  for (const char* p : {"acme", "globex"}) {
    Deliver(p);
    Mark(p);
  }
  // What an S3 endpoint does with credentials it refuses: 403 on every HEAD and listing.
  std::unique_ptr<store::ObjectStore> local = OpenTheStore();
  ASSERT_NE(local, nullptr);
  store::FaultInjectingStore refusing(local.get());
  refusing.AddFault({.op = store::FaultOp::kAny,
                     .code = StatusCode::kPermissionDenied,
                     .message = "s3: stat s3://bucket/landing/x refused (403 AccessDenied)",
                     .sticky = true});
  TaskContext ctx = Ctx("", "wait_all");
  Status st = WaitForSources(ctx, &clock_, &refusing);
  ASSERT_EQ(st.code(), StatusCode::kPermissionDenied) << st.ToString();
  EXPECT_NE(st.message().find("refused to show every partner's landing area for 2026-11-24"),
            std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("s3://bucket/landing/x refused (403 AccessDenied)"),
            std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("so no delivery can be seen: head "), std::string::npos)
      << st.message();
  EXPECT_EQ(st.message().find(": :"), std::string::npos) << st.message();
  EXPECT_EQ(clock_.sleeps, 0);  // no waiting fixes credentials
  EXPECT_FALSE(ctx.result.contains("ready")) << ctx.result.dump();
}

TEST_F(Sensor, TheTimeoutSaysWhatLandedInsteadOfTheArchive) {
  // The partner sent .tgz where partner.yaml says .tar.gz (and a folder by the archive's name).
  dir_.Write("area/data/landing/acme/2026-11-24/acme_20261124.tgz", "archive");
  std::filesystem::create_directories(dir_.path() /
                                      "area/data/landing/acme/2026-11-24/acme_20261124.tar.gz");
  Mark("acme");
  Status st = Wait("wait_all");
  ASSERT_EQ(st.code(), StatusCode::kTimeout);
  EXPECT_NE(st.message().find("acme: no archive landing/acme/2026-11-24/acme_20261124.tar.gz "
                              "(the folder holds: _SUCCESS, acme_20261124.tar.gz/, "
                              "acme_20261124.tgz)"),
            std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("globex: no archive landing/globex/2026-11-24/"
                              "globex_20261124.tar.gz (the folder landing/globex/2026-11-24/ is "
                              "empty or missing)"),
            std::string::npos)
      << st.message();
}

TEST_F(Sensor, FailsOnTimeoutNamingTheMissingPartner) {
  Deliver("acme");
  Mark("acme");
  Deliver("globex");  // no marker: never complete
  Status st = Wait("wait_all");
  ASSERT_EQ(st.code(), StatusCode::kTimeout) << st.ToString();
  EXPECT_NE(st.message().find("still missing for 2026-11-24: globex"), std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("no marker landing/globex/2026-11-24/_SUCCESS"), std::string::npos)
      << st.message();
  EXPECT_EQ(st.message().find("acme"), std::string::npos) << st.message();
  EXPECT_EQ(st.context().task, "");  // WaitForSources itself; RunWaitForSources adds the task
  // It polled every 60 s until the 600 s deadline, and no longer.
  EXPECT_EQ(clock_.sleeps, 10);
  EXPECT_EQ(result_["missing"], std::vector<std::string>{"globex"});
}

TEST_F(Sensor, TimeoutNamesEveryMissingPartnerAndWhy) {
  Status st = Wait("wait_all");
  ASSERT_EQ(st.code(), StatusCode::kTimeout);
  EXPECT_NE(st.message().find("acme, globex"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("no archive landing/acme/2026-11-24/acme_20261124.tar.gz"),
            std::string::npos)
      << st.message();
}

TEST_F(Sensor, ModeEachContinuesWithThePartnersThatArrived) {
  Deliver("acme");
  Mark("acme");
  Status st = Wait("wait_each");
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(result_["ready"], std::vector<std::string>{"acme"});
  EXPECT_EQ(result_["missing"], std::vector<std::string>{"globex"});
  // ... but still fails when nobody delivered.
  std::filesystem::remove_all(StoreRoot() / "landing");
  EXPECT_EQ(Wait("wait_each").code(), StatusCode::kTimeout);
}

TEST_F(Sensor, ModeEachDoesNotLetThePartnersItReportedMissingBeExtracted) {
  Deliver("acme",
          testing::BuildArchive({{"orders.csv", "order_id\n1\n"}}, testing::Format::kTarGz));
  Mark("acme");
  // globex's archive is there but the partner has not declared it complete.
  Deliver("globex",
          testing::BuildArchive({{"orders.csv", "order_id\n2\n"}}, testing::Format::kTarGz));
  ASSERT_TRUE(Wait("wait_each").ok());
  EXPECT_EQ(result_["missing"], std::vector<std::string>{"globex"});

  TaskContext acme = Ctx("acme", "batch_extract");
  Status st = ExtractPartner(acme, nullptr, &clock_);
  EXPECT_TRUE(st.ok()) << st.ToString();
  TaskContext globex = Ctx("globex", "batch_extract");
  st = ExtractPartner(globex, nullptr, &clock_);
  ASSERT_EQ(st.code(), StatusCode::kNotFound) << st.ToString();
  EXPECT_NE(st.message().find("partner globex, 2026-11-24: the delivery is not complete (archive "
                              "present but no marker landing/globex/2026-11-24/_SUCCESS); nothing "
                              "was extracted"),
            std::string::npos)
      << st.message();
  EXPECT_FALSE(std::filesystem::exists(StoreRoot() / "raw/globex"));
  EXPECT_FALSE(std::filesystem::exists(StoreRoot() / "manifests/globex"));
}

TEST_F(Sensor, APerPartnerSensorWaitsOnlyForItsPartner) {
  Deliver("globex");
  Mark("globex");
  ASSERT_TRUE(Wait("wait_per_partner", "globex").ok());
  Status st = Wait("wait_per_partner", "acme");
  ASSERT_EQ(st.code(), StatusCode::kTimeout);
  EXPECT_EQ(st.message().find("globex"), std::string::npos) << st.message();
}

TEST_F(Sensor, StableRuleWaitsUntilSizeAndTimeStopChanging) {
  UseStableRule("acme", 120);
  UseStableRule("globex", 120);
  Deliver("globex");
  Deliver("acme", "part");
  clock_.on_sleep = [&](int n) {
    if (n == 1) Deliver("acme", "partial upload");  // still growing
    if (n == 2) Deliver("acme", "partial upload, now complete");
  };
  Status st = Wait("wait_all");
  ASSERT_TRUE(st.ok()) << st.ToString();
  // Last change seen at the 3rd poke (after sleep 2, t=120 s); stable for 120 s -> t=240 s.
  EXPECT_EQ(clock_.sleeps, 4);
}

TEST_F(Sensor, StableRuleTrustsAnOldModificationTime) {
  UseStableRule("acme", 120);
  Deliver("globex");
  Mark("globex");
  // acme's archive landed 5 minutes before the sensor started: complete at the first poke,
  // not after another 120 s of polling.
  Stamp(Land("acme", "archive"), clock_.WallNow() - std::chrono::minutes(5));
  Status st = Wait("wait_all");
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(clock_.sleeps, 0);
}

TEST_F(Sensor, StableRuleIgnoresAModificationTimeInTheFuture) {
  UseStableRule("acme", 120);
  Deliver("globex");
  Mark("globex");
  // The store's clock runs an hour ahead: the mtime proves nothing, so polling decides
  // (unchanged from the first poke at t=0 until t=120 s: two pokes of 60 s).
  Stamp(Land("acme", "archive"), clock_.WallNow() + std::chrono::hours(1));
  Status st = Wait("wait_all");
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(clock_.sleeps, 2);
}

TEST_F(Sensor, StableRuleTimesOutWhileTheFileKeepsChanging) {
  UseStableRule("acme", 120);
  UseStableRule("globex", 120);
  Deliver("globex");
  Deliver("acme", "x");
  std::string grow = "x";
  clock_.on_sleep = [&](int) {
    grow += "x";
    Deliver("acme", grow);
  };
  Status st = Wait("wait_all");
  ASSERT_EQ(st.code(), StatusCode::kTimeout);
  EXPECT_NE(st.message().find("acme"), std::string::npos);
  EXPECT_NE(st.message().find("still changing"), std::string::npos) << st.message();
}

TEST_F(Sensor, WithoutACompletionRuleThePresenceOfTheArchiveIsEnough) {
  for (const char* p : {"acme", "globex"}) {
    std::string yaml = testing::PartnerYaml(p);
    yaml.erase(yaml.find("complete: {marker: _SUCCESS}\n"), 29);
    dir_.Write(std::string("partners/") + p + "/partner.yaml", yaml);
  }
  Load();
  Deliver("acme");
  clock_.on_sleep = [&](int n) {
    if (n == 1) Deliver("globex");
  };
  ASSERT_TRUE(Wait("wait_all").ok());
  EXPECT_EQ(clock_.sleeps, 1);
}

TEST_F(Sensor, DefaultsApplyWhenNoParamsAreGiven) {
  Status st = Wait("wait_default");
  ASSERT_EQ(st.code(), StatusCode::kTimeout);
  EXPECT_NE(st.message().find("after 21600s"), std::string::npos) << st.message();
  EXPECT_EQ(clock_.sleeps, 21600 / 30);
}

TEST_F(Sensor, BadParamsAreRejectedByValidateWithFileAndLine) {
  dir_.Write("workflow.yaml", std::string(kWorkflow) + R"(  - task_key: wait_bad
    builtin: wait_for_sources
    params: {mode: any, poke_every: 3, timeout_seconds: -1}
)");
  auto p = config::LoadPipeline(dir_.path());
  ASSERT_FALSE(p.ok());
  std::string msg = p.status().ToString();
  EXPECT_NE(msg.find("workflow.yaml:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("\"mode\" must be all or each"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown key \"poke_every\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("timeout_seconds"), std::string::npos) << msg;
}

}  // namespace
}  // namespace sluice::tasks
