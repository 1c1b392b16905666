#include <iostream>

#include "cli/commands/commands.h"
#include "cli/commands/engine_common.h"
#include "serve/dag_export.h"

namespace sluice::cli {

void RegisterDag(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("dag", "Print the workflow's DAG as dot, svg or mermaid");
  struct Args {
    std::string dir;
    std::string format = "dot";
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("DIR", args->dir, "Pipeline folder")->required();
  cmd->add_option("--format", args->format, "dot (default), svg or mermaid")
      ->check(CLI::IsMember({"dot", "svg", "mermaid"}));
  cmd->callback([args, exit_code] {
    auto pipeline = LoadPipelineOrReport(args->dir, "dag");
    if (!pipeline) {
      *exit_code = kExitUsage;
      return;
    }
    const auto& wf = pipeline->workflow;
    std::cout << (args->format == "svg"       ? serve::DagToSvg(wf)
                  : args->format == "mermaid" ? serve::DagToMermaid(wf)
                                              : serve::DagToDot(wf));
    *exit_code = kExitOk;
  });
}

}  // namespace sluice::cli
