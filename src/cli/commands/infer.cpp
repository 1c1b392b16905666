// sluice infer DIR --partner P --sample FILE|ARCHIVE [--force]: drafts partners/P/partner.yaml
// and partners/P/schemas/<table>.json from a sample delivery and says what it guessed.
#include "infer/infer.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/commands/commands.h"
#include "config/pipeline_config.h"
#include "core/strings.h"

namespace sluice::cli {

namespace {

namespace fs = std::filesystem;

// Writes `text` to `path` through a temporary file and a rename, so a reader never sees half.
Status WriteFileAtomically(const fs::path& path, const std::string& text) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec)
    return Status::IoError("cannot create " + path.parent_path().string() + ": " + ec.message());
  const fs::path tmp = path.string() + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
      fs::remove(tmp, ec);
      return Status::IoError("cannot write " + tmp.string());
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    return Status::IoError("cannot rename " + tmp.string() + " to " + path.string() + ": " +
                           ec.message());
  }
  return Status::Ok();
}

struct InferArgs {
  std::string dir;
  std::string partner;
  std::string sample;
  bool force = false;
};

int RunInfer(const InferArgs& a) {
  if (!IsValidPartnerId(a.partner)) {
    std::cerr << "sluice infer: partner id \"" << Printable(a.partner)
              << "\" must match [a-z0-9][a-z0-9_-]{0,62}\n";
    return kExitUsage;
  }
  const fs::path dir(a.dir);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    std::cerr << "sluice infer: " << a.dir
              << " is not a folder; create the pipeline first (sluice init " << a.dir << ")\n";
    return kExitUsage;
  }
  std::vector<std::string> skipped;
  Result<std::vector<infer::SampleFile>> files = infer::ReadSample(a.sample, &skipped);
  if (!files.ok()) {
    std::cerr << "sluice infer: " << files.status().message() << "\n";
    return kExitUsage;
  }
  const bool is_archive =
      !(files->size() == 1 && (*files)[0].name == fs::path(a.sample).filename().string() &&
        skipped.empty());
  infer::InferOptions options{a.partner, fs::path(a.sample).filename().string(), is_archive};
  Result<infer::PartnerDraft> draft = infer::InferPartner(*files, options);
  if (!draft.ok()) {
    std::cerr << "sluice infer: " << a.sample << ": " << draft.status().message() << "\n";
    return kExitUsage;
  }
  if (!skipped.empty()) {
    draft->notes.push_back("left out of the archive (not .csv/.tsv/.txt): " + Join(skipped, ", "));
  }

  const fs::path partner_dir = dir / "partners" / a.partner;
  std::vector<std::pair<fs::path, std::string>> outputs;
  outputs.emplace_back(partner_dir / "partner.yaml", infer::RenderPartnerYaml(*draft));
  for (const infer::TableDraft& t : draft->tables) {
    outputs.emplace_back(partner_dir / "schemas" / (t.table + ".json"), infer::RenderSchemaJson(t));
  }
  std::cout << infer::RenderReport(*draft);
  if (!a.force) {
    for (const auto& [path, text] : outputs) {
      if (fs::exists(path, ec)) {
        std::cerr << "sluice infer: " << path.string()
                  << " exists; nothing was written. Pass --force to overwrite it, or infer "
                     "under another --partner\n";
        return kExitUsage;
      }
    }
  }
  std::cout << "\n";
  for (const auto& [path, text] : outputs) {
    if (Status st = WriteFileAtomically(path, text); !st.ok()) {
      std::cerr << "sluice infer: " << st.message() << "\n";
      return kExitUsage;
    }
    std::cout << "wrote " << path.string() << "\n";
  }
  // Say at once whether the folder validates, and whether a merge task will load the tables.
  if (fs::exists(dir / "sluice.yaml", ec)) {
    config::Diagnostics diags;
    Result<config::Pipeline> pipeline = config::LoadPipeline(dir, {.diagnostics = &diags});
    if (!pipeline.ok()) {
      std::cerr << "sluice infer: the folder does not validate yet:\n";
      for (const config::Diagnostic& d : diags.items()) std::cerr << "  " << d.ToString() << "\n";
      return kExitUsage;
    }
    if (const config::PartnerConfig* p = pipeline->FindPartner(a.partner)) {
      std::vector<std::string> never = config::TablesNeverMerged(pipeline->workflow, *p);
      if (!never.empty()) {
        std::cout << "no merge task of workflow.yaml loads " << Join(never, ", ")
                  << ": add a merge task with params: {table: NAME} for each, or one with "
                     "params: {table: \"*\"}\n";
      }
    }
  }
  std::cout << "next: check the guesses above, then `sluice validate " << a.dir << "`\n";
  return kExitOk;
}

}  // namespace

void RegisterInfer(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "infer", "Draft a partner's partner.yaml and schemas from a sample CSV file or archive");
  cmd->footer(
      "Example:\n  sluice infer ./pipeline --partner hanbit --sample HANBIT_20261124.zip\n"
      "Sniffs encoding, delimiter, quoting, header and column types; never overwrites a file "
      "without --force.");
  auto args = std::make_shared<InferArgs>();
  cmd->add_option("DIR", args->dir, "Pipeline folder")->required();
  cmd->add_option("--partner", args->partner, "Partner id to draft (partners/<id>/)")->required();
  cmd->add_option("--sample", args->sample, "A sample delivery: a CSV file or an archive of them")
      ->required();
  cmd->add_flag("--force", args->force, "Overwrite partner.yaml and schemas that exist");
  cmd->callback([args, exit_code] { *exit_code = RunInfer(*args); });
}

}  // namespace sluice::cli
