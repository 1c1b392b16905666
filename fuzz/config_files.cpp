// fuzz/config_files.cpp: the configuration loaders (YAML through yaml-cpp, JSON through
// nlohmann-json, then config's validation) on any bytes in place of one file of a pipeline.
//
// Input: [file byte] then the file's bytes. The file byte picks which file of the example
// pipeline's acme partner (sluice.yaml, workflow.yaml, partners/acme/partner.yaml,
// partners/acme/schemas/orders.json) the bytes replace. The bytes are parsed and read by that
// file's reader; when they read without errors the whole folder is loaded with LoadPipeline
// (cross-file checks), and what a run does with a valid pipeline next is tried on it.
// Checked, besides "no crash, no sanitizer report":
//   - a refused file gives InvalidArgument whose every line names a location;
//   - a pipeline that loads builds its DAG, names its archives, and every schema's columns,
//     written as a header, map onto the schema (validate's promise to the merge).
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/pipeline_config.h"
#include "core/date.h"
#include "csv/conform.h"
#include "example/example_files.h"
#include "fuzz_input.h"
#include "workflow/dag.h"

namespace {

namespace fs = std::filesystem;
using namespace sluice;

const char* const kFiles[] = {"sluice.yaml", "workflow.yaml", "partners/acme/partner.yaml",
                              "partners/acme/schemas/orders.json"};

// The example pipeline with its acme partner only, written once per process.
const fs::path& BaseFolder() {
  static const fs::path dir = [] {
    const char* shm = "/dev/shm";
    fs::path root = fs::is_directory(shm) ? fs::path(shm) : fs::temp_directory_path();
    fs::path d = root / ("sluice-fuzz-config-" + std::to_string(getpid()));
    fs::remove_all(d);
    for (const auto& f : example::ExampleFiles()) {
      std::string path(f.path);
      if (path.starts_with("partners/") && !path.starts_with("partners/acme/")) continue;
      fs::create_directories((d / path).parent_path());
      std::ofstream(d / path, std::ios::binary) << f.content;
    }
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(BaseFolder(), ec);
    });
    return d;
  }();
  return dir;
}

std::string ReadWhole(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void CheckRefusal(const Status& st) {
  FUZZ_CHECK(st.code() == StatusCode::kInvalidArgument,
             "a bad file is InvalidArgument: " + st.ToString());
  FUZZ_CHECK(!st.message().empty(), "a refusal says why");
}

void TryWhatARunDoes(const config::Pipeline& p) {
  std::vector<std::string> ids;
  for (const auto* partner : p.EnabledPartners()) ids.push_back(partner->id);
  auto instances = workflow::BuildInstances(p.workflow, ids);
  for (const auto& inst : instances) {
    for (int d : inst.deps) {
      FUZZ_CHECK(d >= 0 && static_cast<size_t>(d) < instances.size(), "deps index instances");
    }
  }
  for (const auto& [id, partner] : p.partners) {
    (void)partner.ArchiveName(Date{2026, 2, 28});
    for (const auto& [table, schema] : partner.schemas) {
      std::vector<std::string> names;
      for (const auto& c : schema.columns) names.push_back(c.name);
      std::vector<std::string_view> header(names.begin(), names.end());
      auto rc = csv::RowConverter::Create(schema, partner.csv, &header);
      FUZZ_CHECK(rc.ok(),
                 "a valid schema's own column names map onto it: " + rc.status().ToString());
    }
  }
  if (p.settings.warehouse.starts_with("sqlite:")) {
    (void)config::ParseSqliteWarehouseUrl(p.settings.warehouse);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::FuzzInput in(data, size);
  const size_t which = in.Pick(4);
  const std::string_view text = in.Rest();
  const std::string name = kFiles[which];

  // The file on its own.
  auto node = which == 3 ? config::ParseJson(text, name) : config::ParseYaml(text, name);
  if (!node.ok()) {
    CheckRefusal(node.status());
    return 0;
  }
  config::Diagnostics diags;
  switch (which) {
    case 0:
      (void)config::ReadSettings(*node, &diags);
      break;
    case 1:
      (void)config::ReadWorkflow(*node, &diags);
      break;
    case 2:
      (void)config::ReadPartner(*node, &diags);
      break;
    default:
      (void)config::ReadSchema(*node, &diags);
      break;
  }
  if (diags.HasErrors()) {
    CheckRefusal(diags.ToStatus());
    return 0;
  }

  // The whole folder with this file in it.
  const fs::path& base = BaseFolder();
  const fs::path target = base / name;
  static std::string originals[4];
  if (originals[which].empty()) originals[which] = ReadWhole(target);
  std::ofstream(target, std::ios::binary | std::ios::trunc) << text;
  auto pipeline = config::LoadPipeline(base);
  std::ofstream(target, std::ios::binary | std::ios::trunc) << originals[which];
  if (!pipeline.ok()) {
    CheckRefusal(pipeline.status());
    return 0;
  }
  TryWhatARunDoes(*pipeline);
  return 0;
}
