#include <iostream>

#include "cli/commands/commands.h"
#include "config/pipeline_config.h"

namespace sluice::cli {

void RegisterValidate(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("validate", "Check every config file of a pipeline folder");
  auto dir = std::make_shared<std::string>();
  cmd->add_option("DIR", *dir, "Pipeline folder")->required();
  cmd->callback([dir, exit_code] {
    config::Diagnostics diags;
    auto pipeline = config::LoadPipeline(*dir, {.diagnostics = &diags});
    for (const config::Diagnostic& d : diags.items()) {
      std::cerr << d.ToString() << "\n";
    }
    if (!pipeline.ok()) {
      if (diags.items().empty()) std::cerr << pipeline.status().ToString() << "\n";
      std::cerr << "sluice validate: " << *dir << " has errors; fix them and run again\n";
      *exit_code = kExitUsage;
      return;
    }
    size_t tables = 0;
    for (const auto& [id, p] : pipeline->partners) tables += p.tables.size();
    std::cout << *dir << ": ok (" << pipeline->workflow.tasks.size() << " tasks, "
              << pipeline->partners.size() << " partners, " << tables << " tables)\n";
    *exit_code = kExitOk;
  });
}

}  // namespace sluice::cli
