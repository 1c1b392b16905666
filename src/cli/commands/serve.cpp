#include <cstdio>
#include <cstdlib>

#include "cli/commands/commands.h"
#include "cli/commands/engine_common.h"
#include "serve/report.h"
#include "serve/server.h"

namespace sluice::cli {

// Loads the pipeline for the dashboard: all of it when it is valid (DAG, partner pages, repair
// plans), else sluice.yaml alone with the errors shown, so runs and logs stay visible while a
// partner file is being fixed. nullopt when not even sluice.yaml loads.
std::optional<std::pair<config::Pipeline, bool>> LoadForDashboard(const std::string& dir,
                                                                  const char* command) {
  config::Diagnostics diags;
  auto full = config::LoadPipeline(dir, {.diagnostics = &diags});
  if (full.ok()) return std::make_pair(std::move(full).value(), true);
  for (const config::Diagnostic& d : diags.items()) std::cerr << d.ToString() << "\n";
  std::cerr << "sluice " << command << ": " << dir
            << " has configuration errors (see `sluice validate " << dir
            << "`); showing runs and logs without the DAG, partners and repair\n";
  auto settings = LoadPipelineOrReport(dir, command, false, /*settings_only=*/true);
  if (!settings) return std::nullopt;
  return std::make_pair(std::move(*settings), false);
}

void RegisterServe(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("serve", "Web dashboard: runs, grid, DAG, Gantt, logs, repair");
  struct Args {
    std::string dir;
    std::string bind = "127.0.0.1";
    int port = 8080;
    bool allow_actions = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("DIR", args->dir, "Pipeline folder")->required();
  cmd->add_option("--port", args->port, "TCP port (default 8080; 0: any free port)")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--bind", args->bind, "Address to listen on (default 127.0.0.1: this machine)");
  cmd->add_flag("--allow-actions", args->allow_actions,
                "Allow Repair and Cancel from the dashboard (needs SLUICE_SERVE_TOKEN)");
  cmd->callback([args, exit_code] {
    auto loaded = LoadForDashboard(args->dir, "serve");
    if (!loaded) {
      *exit_code = kExitUsage;
      return;
    }
    auto backend = serve::Backend::Open(std::move(loaded->first), loaded->second);
    if (!backend.ok()) {
      std::cerr << "sluice serve: " << backend.status().ToString() << "\n";
      *exit_code = kExitUsage;
      return;
    }
    serve::ServeOptions options;
    options.bind = args->bind;
    options.port = args->port;
    options.allow_actions = args->allow_actions;
    if (const char* token = std::getenv("SLUICE_SERVE_TOKEN")) options.token = token;
    options.sluice_binary = SelfExe();
    Status st = serve::Serve(**backend, options, [&](int port) {
      std::printf("sluice serve: http://%s:%d/ (%s; Ctrl-C stops)\n",
                  args->bind.find(':') != std::string::npos ? ("[" + args->bind + "]").c_str()
                                                            : args->bind.c_str(),
                  port,
                  args->allow_actions ? "actions on: POSTs need the SLUICE_SERVE_TOKEN value"
                                      : "read-only");
      std::fflush(stdout);
    });
    if (!st.ok()) {
      std::cerr << "sluice serve: " << st.ToString() << "\n";
      // A port in use or a missing token is a matter of usage.
      *exit_code = st.code() == StatusCode::kIoError ? kExitUsage : ExitCodeFor(st);
      return;
    }
    *exit_code = kExitOk;
  });
}

void RegisterReport(CLI::App& app, int* exit_code) {
  auto* cmd =
      app.add_subcommand("report", "Write one run's page as a self-contained HTML file on stdout");
  struct Args {
    std::string dir, run_id;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("DIR", args->dir, "Pipeline folder")->required();
  cmd->add_option("RUN_ID", args->run_id, "The run (see `sluice runs`)")->required();
  cmd->callback([args, exit_code] {
    auto loaded = LoadForDashboard(args->dir, "report");
    if (!loaded) {
      *exit_code = kExitUsage;
      return;
    }
    auto backend = serve::Backend::Open(std::move(loaded->first), loaded->second);
    if (!backend.ok()) {
      std::cerr << "sluice report: " << backend.status().ToString() << "\n";
      *exit_code = kExitUsage;
      return;
    }
    auto page = serve::RenderReport(**backend, args->run_id);
    if (!page.ok()) {
      std::cerr << "sluice report: " << page.status().ToString() << " (see `sluice runs "
                << args->dir << "`)\n";
      *exit_code = ExitCodeFor(page.status());
      return;
    }
    std::cout << *page;
    std::cout.flush();
    *exit_code = std::cout ? kExitOk : kExitFailures;
  });
}

}  // namespace sluice::cli
