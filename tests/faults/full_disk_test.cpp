// A full disk for real (docs/reliability.md "Full disk"): the store and the warehouse of the
// example (fault_run_util.h) on a small tmpfs, filled by a filler file to leave less room than a
// run needs, at several levels so the disk runs out in different places (the extract's files,
// the warehouse's transaction, its commit, the manifests). Each run must fail with a message
// that says the disk is full and names the path, leave nothing half-written, and, once the filler
// is deleted, `sluice repair` must give the clean run's files and tables byte for byte.
//
// The tmpfs is mounted in a mount namespace of the test's own (unshare(2)), so no other process
// sees it and it cannot outlive the test; without the right to mount (an unprivileged CI
// container), the test tries a user namespace, and skips saying why when neither is allowed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "faults/fault_run_util.h"
#include "testing/run_command.h"
#include "testing/temp_dir.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::TempDir;

bool WriteProcFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  out.close();
  return !out.fail();
}

// Mounts a tmpfs of `size_kib` at `dir` in a private mount namespace; "" on success, else why not.
std::string MountPrivateTmpfs(const fs::path& dir, int64_t size_kib) {
  static bool unshared = false;
  std::string why;
  if (!unshared) {
    if (unshare(CLONE_NEWNS) == 0) {
      unshared = true;
    } else {
      why = std::string("unshare(CLONE_NEWNS): ") + std::strerror(errno);
      // Not root: a user namespace of our own gives the right to mount a tmpfs in it.
      const uid_t uid = geteuid();
      const gid_t gid = getegid();
      if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
        return why + "; unshare(CLONE_NEWUSER | CLONE_NEWNS): " + std::strerror(errno);
      }
      WriteProcFile("/proc/self/setgroups", "deny");
      if (!WriteProcFile("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1\n") ||
          !WriteProcFile("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1\n")) {
        return why + "; cannot map ids in a user namespace";
      }
      unshared = true;
    }
    // Our mounts must not propagate to the namespace we came from.
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      return std::string("making / private: ") + std::strerror(errno);
    }
  }
  const std::string options = "size=" + std::to_string(size_kib) + "k,mode=0755";
  if (mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
    return "mount -t tmpfs " + dir.string() + ": " + std::strerror(errno);
  }
  return "";
}

int64_t FreeBytes(const fs::path& dir) {
  struct statvfs s {};
  if (statvfs(dir.c_str(), &s) != 0) return -1;
  return static_cast<int64_t>(s.f_bavail) * static_cast<int64_t>(s.f_frsize);
}

// Fills `dir`'s file system with `path` until `leave` bytes are free.
void Fill(const fs::path& path, int64_t leave) {
  const int64_t size = FreeBytes(path.parent_path()) - leave;
  ASSERT_GT(size, 0);
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  const int rc = posix_fallocate(fd, 0, size);
  close(fd);
  ASSERT_EQ(rc, 0) << std::strerror(rc);
}

class FullDisk : public ::testing::Test {
 protected:
  void SetUp() override {
    disk_ = tmp_ / "disk";
    fs::create_directories(disk_);
    const std::string why = MountPrivateTmpfs(disk_, 4096);
    if (!why.empty()) GTEST_SKIP() << "cannot mount a tmpfs here (" << why << ")";
    mounted_ = true;
    ASSERT_NO_FATAL_FAILURE(testing::WriteExampleTemplate(tmp_ / "tpl"));
  }
  void TearDown() override {
    if (mounted_ && umount2(disk_.c_str(), MNT_DETACH) != 0) {
      ADD_FAILURE() << "umount " << disk_ << ": " << std::strerror(errno);
    }
  }
  // A fresh copy of the example on the disk, its ledger and logs off it (in `state`).
  void Prepare(const std::string& state) {
    ASSERT_NO_FATAL_FAILURE(testing::ResetWorkFolder(tmp_ / "tpl", work()));
    const fs::path off = tmp_ / state;
    auto r = testing::RunCommand("sed -i 's|^ledger: .*|ledger: sqlite://" + off.string() +
                                 "/ledger.db|; s|^logs: .*|logs: " + off.string() + "/logs|' " +
                                 testing::Quoted(work() / "sluice.yaml"));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  fs::path work() const { return disk_ / "work"; }

  TempDir tmp_;
  fs::path disk_;
  bool mounted_ = false;
};

TEST_F(FullDisk, ARunOnAFullDiskFailsNamingThePathLeavesNothingHalfWrittenAndRepairsOnceFreed) {
  // The clean run, on the same disk with room to spare.
  ASSERT_NO_FATAL_FAILURE(Prepare("state-clean"));
  const int64_t free_before = FreeBytes(disk_);
  auto run = testing::RunExample(work());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const int64_t needs = free_before - FreeBytes(disk_);
  const testing::Snapshot clean = testing::TakeSnapshot(work());
  ASSERT_GT(needs, 0);

  // Room for none, or a part, of what the run writes.
  int failed_runs = 0;
  for (const double part : {0.0, 0.02, 0.1, 0.3, 0.6, 0.9}) {
    const int64_t leave = static_cast<int64_t>(part * static_cast<double>(needs));
    SCOPED_TRACE("free space left: " + std::to_string(leave) + " bytes of the " +
                 std::to_string(needs) + " a run writes");
    ASSERT_NO_FATAL_FAILURE(Prepare("state-" + std::to_string(leave)));
    const fs::path filler = disk_ / "filler";
    ASSERT_NO_FATAL_FAILURE(Fill(filler, leave));
    run = testing::RunExample(work());
    const std::string run_id = testing::NewestRun(work());
    if (run.exit_code == 0) {
      // Room enough after all (the file system's own blocks are not counted exactly).
      EXPECT_GT(part, 0.5) << run.output;
      fs::remove(filler);
      EXPECT_EQ(testing::DescribeDifference(clean, testing::TakeSnapshot(work())), "");
      continue;
    }
    ++failed_runs;
    ASSERT_EQ(run.exit_code, 1) << run.output;
    // Each failed attempt says the disk is full and where.
    const json show = testing::ShowRun(work(), run_id);
    std::string first_error;
    int full_errors = 0;
    for (const auto& inst : show["instances"]) {
      for (const auto& attempt : inst["history"]) {
        const std::string error = attempt.value("error", "");
        if (error.empty()) continue;
        if (first_error.empty()) first_error = error;
        const bool says_full = error.find("No space left on device") != std::string::npos ||
                               error.find("database or disk is full") != std::string::npos;
        EXPECT_TRUE(says_full) << error;
        EXPECT_NE(error.find(work().string()), std::string::npos) << "names no path: " << error;
        full_errors += says_full;
      }
    }
    EXPECT_GT(full_errors, 0) << run.output;
    std::cout << "[full disk] " << leave << " of " << needs << " bytes free: exit " << run.exit_code
              << ", " << full_errors << " attempts failed, first: " << first_error << "\n";
    EXPECT_EQ(testing::DescribeHalfWritten(clean, testing::TakeSnapshot(work())), "");

    // Space is freed; repair completes the run as a clean run would have.
    fs::remove(filler);
    auto repair = testing::RepairExample(work(), run_id);
    ASSERT_EQ(repair.exit_code, 0) << repair.output;
    EXPECT_EQ(testing::DescribeDifference(clean, testing::TakeSnapshot(work())), "");
  }
  EXPECT_GE(failed_runs, 4);
}

}  // namespace
}  // namespace sluice
