// Regressions the fault sweeps found (docs/reliability.md "Fault injection"), each pinned by one
// run of the example with one fault at a call whose number does not depend on the code around it.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "core/fault_plan.h"
#include "faults/fault_run_util.h"
#include "testing/run_command.h"
#include "testing/temp_dir.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;
using testing::ReadFile;
using testing::TempDir;

// A merge that failed before it read its rows (here: the warehouse refused its first call) used
// to commit its rejects file anyway, holding only the header: a good rejects file of the date was
// replaced by one saying "no rejects" while the table still held the earlier load.
TEST(MergeFault, AMergeThatFailsForAnotherReasonThanItsDataKeepsTheDatesRejectsFile) {
  if (!fault::FaultInjectionBuilt()) GTEST_SKIP() << "this build ignores SLUICE_FAULT_*";
  TempDir tmp;
  ASSERT_NO_FATAL_FAILURE(testing::WriteExampleTemplate(tmp / "tpl"));
  ASSERT_NO_FATAL_FAILURE(testing::ResetWorkFolder(tmp / "tpl", tmp / "work"));
  const fs::path work = tmp / "work";
  auto run = testing::RunExample(work);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const fs::path rejects = work / "data/rejects/acme" / testing::kFaultDay / "orders.csv";
  const std::string good = ReadFile(rejects);
  ASSERT_NE(good.find('\n'), good.size() - 1) << "the example's orders have a bad row: " << good;

  // A second run of the day: its first warehouse call (merge_table_1's BeginMerge, orders) is
  // refused with a permission error, which is not retried.
  run = testing::RunExample(work, "SLUICE_FAULT_WAREHOUSE='nth=1;kind=eacces;counter=" +
                                      (tmp / "counter").string() + "'");
  ASSERT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("attempt to write a readonly database"), std::string::npos)
      << run.output;
  EXPECT_EQ(ReadFile(rejects), good);

  auto repair = testing::RepairExample(work, testing::NewestRun(work));
  ASSERT_EQ(repair.exit_code, 0) << repair.output;
  // A second run of a day is a new load (new _load_id), so only the rejects are compared here.
  EXPECT_EQ(ReadFile(rejects), good);
}

}  // namespace
}  // namespace sluice
