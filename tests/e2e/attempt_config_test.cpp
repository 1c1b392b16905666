// End-to-end: what configuration an attempt reads (tasks/load_pipeline.h). An attempt of a
// per-partner task reads only sluice.yaml, workflow.yaml and its own partner's folder; a repair
// reads the files as they are when it starts, not what the run saw.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "testing/pipeline_fixture.h"
#include "testing/run_command.h"
#include "testing/temp_dir.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;
using testing::RunCommand;
using testing::Sluice;
using testing::TempDir;

std::string Quote(const fs::path& p) { return "'" + p.string() + "'"; }

std::string PartnerId(int i) {
  char id[8];
  std::snprintf(id, sizeof id, "p%02d", i);
  return id;
}

TEST(AttemptConfig, TaskExecOfOnePartnerDoesNotReadTheOtherPartnersFiles) {
  TempDir dir;
  dir.Write("sluice.yaml", testing::kSluiceYaml);
  dir.Write("workflow.yaml",
            "name: x\ntasks:\n  - task_key: hello\n    for_each: partner\n"
            "    command: 'echo done > done.txt'\n");
  for (int i = 0; i < 50; ++i) {
    const std::string id = PartnerId(i);
    dir.Write("partners/" + id + "/partner.yaml", testing::PartnerYaml(id));
    dir.Write("partners/" + id + "/schemas/orders.json", testing::kOrdersSchema);
  }
  auto valid = RunCommand(Sluice() + " validate " + Quote(dir.path()));
  ASSERT_EQ(valid.exit_code, 0) << valid.output;
  // Every partner but p07 now has a file that cannot be parsed: an attempt that read any of
  // them would fail with configuration errors (exit 2).
  for (int i = 0; i < 50; ++i) {
    if (i == 7) continue;
    const std::string id = PartnerId(i);
    dir.Write("partners/" + id + "/partner.yaml", "id: " + id + "\ntables: [unclosed\n");
    dir.Write("partners/" + id + "/schemas/orders.json", "{not json");
  }
  auto broken = RunCommand(Sluice() + " validate " + Quote(dir.path()));
  ASSERT_EQ(broken.exit_code, 2) << broken.output;
  // No SLUICE_COMMAND in the environment: task exec loads the pipeline to find the command.
  auto r = RunCommand("cd " + Quote(dir.path()) + " && env -u SLUICE_COMMAND " + Sluice() +
                      " task exec " + Quote(dir.path()) +
                      " --run r1 --task hello --partner p07 --date 2026-11-24");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(testing::ReadFile(dir / "done.txt"), "done\n");
  // Its own partner's broken file is still its error.
  auto other = RunCommand("cd " + Quote(dir.path()) + " && env -u SLUICE_COMMAND " + Sluice() +
                          " task exec " + Quote(dir.path()) +
                          " --run r1 --task hello --partner p08 --date 2026-11-24");
  EXPECT_EQ(other.exit_code, 2) << other.output;
  EXPECT_NE(other.output.find("partners/p08/partner.yaml:"), std::string::npos) << other.output;
}

void Replace(const fs::path& file, const std::string& from, const std::string& to) {
  std::string text = testing::ReadFile(file);
  size_t at = text.find(from);
  ASSERT_NE(at, std::string::npos) << from << " not in " << file;
  text.replace(at, from.size(), to);
  std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
}

TEST(AttemptConfig, ARepairMergesWithTheSchemaAsItIsWhenTheRepairRuns) {
  TempDir tmp;
  const fs::path dir = tmp / "example";
  auto init = RunCommand(Sluice() + " init " + Quote(dir) +
                         " --sample-data --rows 60 --seed 5 --date 2026-11-24");
  ASSERT_EQ(init.exit_code, 0) << init.output;
  const fs::path schema = dir / "partners/acme/schemas/customers.json";
  const std::string city = R"({"name": "city", "type": "string", "max_length": 100})";
  // The run's schema: city at most one character, so every row of acme's customers is rejected
  // and the merge fails (over max_reject_ratio). (The failed merge still creates the table, with
  // city as TEXT: the fix below must be a change the table can take.)
  const std::string narrow = R"({"name": "city", "type": "string", "max_length": 1})";
  Replace(schema, city, narrow);
  auto run = RunCommand(Sluice() + " run " + Quote(dir) + " --date 2026-11-24 --parallelism 2");
  ASSERT_EQ(run.exit_code, 1) << run.output;
  auto runs = RunCommand(Sluice() + " runs " + Quote(dir) + " --json 2>/dev/null");
  const size_t id_at = runs.output.find("\"run_id\"");
  ASSERT_NE(id_at, std::string::npos) << runs.output;
  const size_t q1 = runs.output.find('"', runs.output.find(':', id_at) + 1);
  const std::string run_id = runs.output.substr(q1 + 1, runs.output.find('"', q1 + 1) - q1 - 1);
  // Fixed after the run, with one more (nullable) column: the repair's merge must use this.
  Replace(schema, narrow, city + R"(, {"name": "segment", "type": "string"})");
  auto repair = RunCommand(Sluice() + " repair " + Quote(dir) + " " + run_id + " --parallelism 2");
  ASSERT_EQ(repair.exit_code, 0) << repair.output;
  auto columns =
      RunCommand("sqlite3 " + Quote(dir / "warehouse/acme.db") +
                 " \"SELECT name || ':' || type FROM pragma_table_info('customers') WHERE name IN "
                 "('city', 'segment') ORDER BY name\"");
  EXPECT_EQ(columns.output, "city:TEXT\nsegment:TEXT\n");
  auto loaded = RunCommand("sqlite3 " + Quote(dir / "warehouse/acme.db") +
                           " \"SELECT count(*) > 0 FROM customers WHERE city IS NOT NULL\"");
  EXPECT_EQ(loaded.output, "1\n");
}

}  // namespace
}  // namespace sluice
