// `sluice export DIR --to airflow|databricks|argo [--out FILE]`: the workflow for an
// orchestrator a team already runs (workflow/export.h), on stdout or written to FILE.
#include "workflow/export.h"

#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/commands/commands.h"
#include "cli/commands/engine_common.h"
#include "core/strings.h"
#include "workflow/dag.h"

namespace sluice::cli {

void RegisterExport(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "export", "Write the workflow for Airflow, Databricks Jobs or Argo Workflows");
  cmd->footer(
      "Examples:\n"
      "  sluice export ./pipeline --to airflow --out dags/partner_ingestion.py\n"
      "  sluice export ./pipeline --to databricks --out job.json   # POST to /api/2.1/jobs/create\n"
      "  sluice export ./pipeline --to argo --image registry/sluice:1.4 | argo submit - -p "
      "date=2026-11-24\n"
      "Each task instance becomes one task running `sluice task exec` on the orchestrator's "
      "workers: keep the store on S3 and the ledger and warehouse on PostgreSQL.");
  struct Args {
    std::string dir, to, out, partners, sluice = "sluice", workdir, image = "sluice:latest";
    std::string python_file = "dbfs:/sluice/sluice_task_exec.py";
    bool wrapper = false;
    int parallelism = 0;
    CLI::Option* partners_option = nullptr;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("DIR", args->dir, "Pipeline folder")->required();
  cmd->add_option("--to", args->to, "airflow, databricks or argo")
      ->required()
      ->check(CLI::IsMember({"airflow", "databricks", "argo"}));
  cmd->add_option("--out", args->out, "Write to FILE instead of stdout");
  args->partners_option =
      cmd->add_option("--partners", args->partners,
                      "Only these partners, comma-separated (default: every enabled)");
  cmd->add_option("--sluice", args->sluice,
                  "The sluice binary on the workers (default: sluice, from PATH)");
  cmd->add_option("--workdir", args->workdir,
                  "The pipeline folder as the workers see it (default: DIR's absolute path)");
  cmd->add_option("--image", args->image, "argo: the container image with sluice in it");
  cmd->add_option("--python-file", args->python_file,
                  "databricks: where the job finds sluice_task_exec.py (see --wrapper)");
  cmd->add_flag("--wrapper", args->wrapper,
                "databricks: print sluice_task_exec.py, the wrapper each task runs, instead");
  cmd->add_option("--parallelism", args->parallelism,
                  "Concurrent tasks (default: parallelism: in sluice.yaml)")
      ->check(CLI::Range(1, 1000000));
  cmd->callback([args, exit_code] {
    if (args->wrapper) {
      std::cout << workflow::DatabricksWrapper();
      *exit_code = kExitOk;
      return;
    }
    auto pipeline = LoadPipelineOrReport(args->dir, "export", /*warnings=*/true);
    if (!pipeline) {
      *exit_code = kExitUsage;
      return;
    }
    auto requested = PartnersOrReport(args->partners, args->partners_option, "export",
                                      "export every enabled partner");
    if (!requested) {
      *exit_code = kExitUsage;
      return;
    }
    auto partners = workflow::ResolvePartners(*pipeline, *requested);
    if (!partners.ok()) {
      std::cerr << "sluice export: " << partners.status().message() << "\n";
      *exit_code = kExitUsage;
      return;
    }
    workflow::ExportOptions options;
    options.target = args->to;
    options.partners = *partners;
    options.dir = args->workdir.empty() ? pipeline->dir.string() : args->workdir;
    options.sluice = args->sluice;
    options.argo_image = args->image;
    options.databricks_python_file = args->python_file;
    options.parallelism = args->parallelism;
    auto text = workflow::ExportWorkflow(*pipeline, options);
    if (!text.ok()) {
      std::cerr << "sluice export: " << text.status().message() << "\n";
      *exit_code = kExitUsage;
      return;
    }
    if (args->out.empty()) {
      std::cout << *text;
      *exit_code = kExitOk;
      return;
    }
    // Written beside FILE and renamed over it: a failed export never leaves half a DAG file
    // for a scheduler that polls its folder.
    const std::filesystem::path out(args->out);
    const std::filesystem::path tmp = out.string() + ".sluice-tmp";
    {
      std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
      f << *text;
      f.flush();
      if (!f) {
        std::error_code ec;
        std::filesystem::remove(tmp, ec);
        std::cerr << "sluice export: cannot write " << args->out
                  << "; check that its folder exists and is writable\n";
        *exit_code = kExitUsage;
        return;
      }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, out, ec);
    if (ec) {
      std::filesystem::remove(tmp, ec);
      std::cerr << "sluice export: cannot write " << args->out << ": " << ec.message() << "\n";
      *exit_code = kExitUsage;
      return;
    }
    std::cerr << "sluice export: wrote " << args->out << " (" << args->to << ", "
              << partners->size() << " partners)\n";
    *exit_code = kExitOk;
  });
}

}  // namespace sluice::cli
