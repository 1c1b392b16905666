// `sluice gc DIR [--dry-run]`: applies sluice.yaml's `retention:` (tasks/gc.h). Prints one line
// per thing removed (or, with --dry-run, that would be), the same lines either way.
#include "tasks/gc.h"

#include <iostream>

#include "cli/commands/commands.h"
#include "cli/commands/engine_common.h"

namespace sluice::cli {

void RegisterGc(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "gc",
      "Apply retention: remove old raw files, rejects, logs and runs (never landing files "
      "or the warehouse)");
  cmd->footer(
      "Examples:\n"
      "  sluice gc ./pipeline --dry-run   # what would be removed\n"
      "  sluice gc ./pipeline");
  struct Args {
    std::string dir;
    bool dry_run = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("DIR", args->dir, "Pipeline folder")->required();
  cmd->add_flag("--dry-run", args->dry_run, "List what would be removed; remove nothing");
  cmd->callback([args, exit_code] {
    auto pipeline = LoadPipelineOrReport(args->dir, "gc", false, /*settings_only=*/true);
    if (!pipeline) {
      *exit_code = kExitUsage;
      return;
    }
    if (!pipeline->settings.retention.Any()) {
      std::cout << "sluice gc: sluice.yaml sets no retention; nothing to do (add, e.g., "
                   "retention: {raw: 30d, rejects: 90d, logs: 30d, runs: 365d})\n";
      return;
    }
    auto items = tasks::RunGc(*pipeline, args->dry_run);
    if (!items.ok()) {
      std::cerr << "sluice gc: " << items.status().ToString() << "\n";
      *exit_code = kExitFailures;
      return;
    }
    for (const tasks::GcItem& item : *items) {
      std::cout << (args->dry_run ? "would remove  " : "removed  ") << tasks::DescribeGcItem(item)
                << "\n";
    }
    std::cout << "sluice gc: " << items->size() << (args->dry_run ? " to remove" : " removed")
              << "\n";
  });
}

}  // namespace sluice::cli
