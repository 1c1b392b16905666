// tests/infer/infer_test_util.h: pipelines, encoders and runs for the tests of `sluice infer`
// and of the drift report: a folder whose workflow merges every table ({table: "*"}), samples
// re-encoded through glibc's iconv, deliveries packed with tar, and a run's merge results.
#pragma once

#include <iconv.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "testing/pipeline_fixture.h"
#include "testing/run_command.h"
#include "testing/temp_dir.h"

namespace sluice::testing {

inline std::string Quote(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

// A pipeline with no partner yet: extract, then one merge task for every table.
inline void WriteMergeAllPipeline(const TempDir& dir) {
  dir.Write("sluice.yaml", kSluiceYaml);
  dir.Write("workflow.yaml", R"(name: test_pipeline
tasks:
  - task_key: pre_set_date
    builtin: set_date
  - task_key: batch_extract
    depends_on: [pre_set_date]
    builtin: extract
    for_each: partner
  - task_key: merge_all
    depends_on: [batch_extract]
    builtin: merge
    for_each: partner
    params: {table: "*"}
  - task_key: merge_summary
    depends_on: [merge_all]
    builtin: summary
    run_if: ALL_DONE
)");
  std::filesystem::create_directories(dir / "partners");
}

// `utf8` re-encoded to `charset` (an iconv name: CP949, SHIFT_JIS, WINDOWS-1252, UTF-16LE).
inline std::string Encode(const std::string& utf8, const char* charset) {
  iconv_t cd = iconv_open(charset, "UTF-8");
  if (cd == reinterpret_cast<iconv_t>(-1)) return "";
  std::string out(utf8.size() * 4 + 16, '\0');
  char* in = const_cast<char*>(utf8.data());
  size_t in_left = utf8.size();
  char* o = out.data();
  size_t out_left = out.size();
  size_t r = iconv(cd, &in, &in_left, &o, &out_left);
  iconv_close(cd);
  if (r == static_cast<size_t>(-1)) return "";
  out.resize(out.size() - out_left);
  return out;
}

// Packs `files` (names relative to `from`) into `archive` as a .tar.gz.
inline bool Tar(const std::filesystem::path& archive, const std::filesystem::path& from,
                const std::vector<std::string>& files) {
  std::filesystem::create_directories(archive.parent_path());
  std::string cmd = "tar czf " + Quote(archive) + " -C " + Quote(from);
  for (const std::string& f : files) cmd += " " + Quote(f);
  return RunCommand(cmd).exit_code == 0;
}

// The run id in `sluice run`'s "run <id>: <state>" line, or "".
inline std::string RunIdOf(const std::string& output) {
  size_t p = output.rfind("\nrun ");
  p = p == std::string::npos ? (output.starts_with("run ") ? 0 : p) : p + 1;
  if (p == std::string::npos) return "";
  size_t colon = output.find(':', p);
  return colon == std::string::npos ? "" : output.substr(p + 4, colon - p - 4);
}

// The merge results of `run_id`, table name -> stats, from `sluice show --json`.
inline nlohmann::json MergeTables(const TempDir& dir, const std::string& run_id) {
  auto r =
      RunCommand(Sluice() + " show " + Quote(dir.path()) + " " + run_id + " --json 2>/dev/null");
  auto j = nlohmann::json::parse(r.output, nullptr, false);
  nlohmann::json tables = nlohmann::json::object();
  if (j.is_discarded()) return tables;
  for (const auto& inst : j.value("instances", nlohmann::json::array())) {
    if (inst.value("task", "") != "merge_all") continue;
    const auto& result = inst["result"];
    if (result.contains("tables")) {
      for (auto it = result["tables"].begin(); it != result["tables"].end(); ++it) {
        tables[it.key()] = it.value();
      }
    }
  }
  return tables;
}

}  // namespace sluice::testing
