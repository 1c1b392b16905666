#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "cli/commands/commands.h"
#include "cli/commands/engine_common.h"
#include "core/strings.h"

namespace sluice::cli {

void RegisterLogs(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("logs", "Print an attempt's log");
  cmd->footer(
      "Examples:\n"
      "  sluice logs ./pipeline 2026-11-24_142401_b842 batch_extract --partner acme\n"
      "  sluice logs ./pipeline 2026-11-24_142401_b842 merge_summary --attempt 1");
  struct Args {
    std::string dir, run_id, task, partner;
    int attempt = 0;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("DIR", args->dir, "Pipeline folder")->required();
  cmd->add_option("RUN_ID", args->run_id, "The run")->required();
  cmd->add_option("TASK", args->task, "Task key")->required();
  cmd->add_option("--partner", args->partner, "Partner, for per-partner tasks");
  cmd->add_option("--attempt", args->attempt, "Attempt number (default: the last)")
      ->check(CLI::Range(1, 1000000));
  cmd->callback([args, exit_code] {
    auto pipeline = LoadPipelineOrReport(args->dir, "logs", false, /*settings_only=*/true);
    if (!pipeline) {
      *exit_code = kExitUsage;
      return;
    }
    auto ledger = OpenLedgerOrReport(*pipeline, "logs");
    if (!ledger) {
      *exit_code = kExitUsage;
      return;
    }
    auto attempts = ledger->ListAttempts(args->run_id);
    if (!attempts.ok()) {
      std::cerr << "sluice logs: " << attempts.status().ToString() << "\n";
      *exit_code = kExitFailures;
      return;
    }
    const ledger::AttemptRecord* chosen = nullptr;
    std::set<std::string> partners, failed_partners;
    for (const auto& a : *attempts) {
      if (a.task_key != args->task) continue;
      if (!a.partner.empty()) partners.insert(a.partner);
      if (!a.partner.empty() &&
          (a.state == ledger::State::kFailed || a.state == ledger::State::kTimedOut)) {
        failed_partners.insert(a.partner);
      }
      if (a.partner != args->partner) continue;
      if (args->attempt > 0 ? a.attempt == args->attempt
                            : (chosen == nullptr || a.attempt > chosen->attempt)) {
        chosen = &a;
      }
    }
    if (chosen == nullptr) {
      std::cerr << "sluice logs: no attempt "
                << (args->attempt > 0 ? std::to_string(args->attempt) + " " : "") << "of task \""
                << args->task << "\""
                << (args->partner.empty() ? "" : " for partner \"" + args->partner + "\"")
                << " in run " << args->run_id;
      if (args->partner.empty() && !partners.empty()) {
        // The partner whose attempt failed is the one a reader most likely wants.
        const std::set<std::string>& pick = failed_partners.empty() ? partners : failed_partners;
        std::cerr << "; it is per-partner: add --partner " << *pick.begin() << " ("
                  << (failed_partners.empty() ? "partners: " : "failed: ")
                  << Join(std::vector<std::string>(pick.begin(), pick.end()), ", ") << ")";
      }
      std::cerr << " (see `sluice show " << args->dir << " " << args->run_id << "`)\n";
      *exit_code = kExitUsage;
      return;
    }
    std::ifstream in(chosen->log_path, std::ios::binary);
    if (!in) {
      std::cerr << "sluice logs: cannot read " << chosen->log_path << "\n";
      *exit_code = kExitFailures;
      return;
    }
    std::cout << in.rdbuf();
    std::cout.flush();
    *exit_code = kExitOk;
  });
}

}  // namespace sluice::cli
