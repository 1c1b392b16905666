// Shared by subcommands whose issues have not landed yet: exits 2 with a clear message.
#pragma once

#include <iostream>

#include "cli/commands/commands.h"

namespace sluice::cli {

inline void RegisterNotImplemented(CLI::App& app, const char* name, const char* help,
                                   int* exit_code) {
  auto* cmd = app.add_subcommand(name, help);
  cmd->allow_extras();
  cmd->callback([name, exit_code] {
    std::cerr << "sluice " << name << ": not implemented yet\n";
    *exit_code = kExitUsage;
  });
}

}  // namespace sluice::cli
