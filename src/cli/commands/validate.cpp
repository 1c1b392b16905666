// `sluice validate DIR [--json] [--strict]`: loads every file of the pipeline folder and reports
// each problem with file:line:col and the fix. Exit 2 on any error (with --strict, on any
// warning too).
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands/commands.h"
#include "cli/commands/run_report.h"
#include "config/pipeline_config.h"
#include "tasks/load_pipeline.h"

namespace sluice::cli {

void RegisterValidate(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("validate", "Check every config file of a pipeline folder");
  cmd->footer(
      "Examples:\n"
      "  sluice validate ./pipeline\n"
      "  sluice validate ./pipeline --strict --json | jq '.problems[] | .file + \":\" + "
      "(.line|tostring) + \" \" + .message'");
  struct Args {
    std::string dir;
    bool json = false, strict = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("DIR", args->dir, "Pipeline folder")->required();
  cmd->add_flag("--json", args->json,
                "Machine-readable output: every problem with file, line, column, severity, "
                "message (docs/cli.md)");
  cmd->add_flag("--strict", args->strict, "Warnings fail too (exit 2), as in CI");
  cmd->callback([args, exit_code] {
    config::Diagnostics diags;
    auto pipeline = tasks::LoadCheckedPipeline(args->dir, {.diagnostics = &diags});
    std::vector<config::Diagnostic> problems = diags.items();
    if (!pipeline.ok() && problems.empty()) {
      // Built by name: GCC 12 at -O3 takes the braced temporary's Location for uninitialized
      // (-Wmaybe-uninitialized), which broke `make build`.
      config::Diagnostic failed;
      failed.message = pipeline.status().ToString();
      problems.push_back(std::move(failed));
    }
    int errors = 0, warnings = 0;
    for (const config::Diagnostic& d : problems) {
      (d.severity == config::Diagnostic::Severity::kWarning ? warnings : errors) += 1;
    }
    const bool failed = !pipeline.ok() || errors > 0 || (args->strict && warnings > 0);
    size_t tables = 0;
    std::vector<std::string> partners;
    if (pipeline.ok()) {
      for (const auto& [id, p] : pipeline->partners) {
        tables += p.tables.size();
        partners.push_back(id);
      }
    }
    if (args->json) {
      nlohmann::json list = nlohmann::json::array();
      for (const config::Diagnostic& d : problems) {
        list.push_back(
            {{"file", d.loc.file},
             {"line", d.loc.line},
             {"column", d.loc.column},
             {"severity",
              d.severity == config::Diagnostic::Severity::kWarning ? "warning" : "error"},
             {"message", d.message}});
      }
      nlohmann::json out = {{"schema_version", kJsonSchemaVersion},
                            {"dir", args->dir},
                            {"ok", !failed},
                            {"strict", args->strict},
                            {"errors", errors},
                            {"warnings", warnings},
                            {"problems", list},
                            {"partners", partners},
                            {"tasks", pipeline.ok() ? pipeline->workflow.tasks.size() : 0},
                            {"tables", tables}};
      std::cout << out.dump(2) << "\n";
    } else {
      for (const config::Diagnostic& d : problems) std::cerr << d.ToString() << "\n";
      if (!pipeline.ok() || errors > 0) {
        std::cerr << "sluice validate: " << args->dir << " has errors; fix them and run again\n";
      } else if (failed) {
        std::cerr << "sluice validate: " << args->dir << " has " << warnings
                  << (warnings == 1 ? " warning" : " warnings")
                  << " and --strict fails on warnings; fix them and run again\n";
      } else {
        std::cout << args->dir << ": ok (" << pipeline->workflow.tasks.size() << " tasks, "
                  << pipeline->partners.size() << " partners, " << tables << " tables"
                  << (warnings > 0 ? ", " + std::to_string(warnings) +
                                         (warnings == 1 ? " warning" : " warnings")
                                   : std::string())
                  << ")\n";
      }
    }
    *exit_code = failed ? kExitUsage : kExitOk;
  });
}

}  // namespace sluice::cli
