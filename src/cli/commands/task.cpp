// `sluice task exec`: one attempt of one task instance, run by the scheduler as a child in its
// own process group (or by hand, for debugging). It writes the attempt's outcome file last
// (SLUICE_OUTCOME_FILE), so a scheduler that died meanwhile can still learn how it ended.
#include <chrono>
#include <cstdlib>

#include "cli/commands/commands.h"
#include "cli/commands/engine_common.h"
#include "core/date.h"
#include "core/logging.h"
#include "core/strings.h"
#include "tasks/task_context.h"
#include "warehouse/warehouse.h"
#include "workflow/attempt_files.h"
#include "workflow/attempt_protocol.h"

namespace sluice::cli {

namespace {

std::string EnvOr(const char* name, const std::string& fallback = "") {
  const char* v = std::getenv(name);
  return v ? std::string(v) : fallback;
}

void SaveOutcome(const workflow::Outcome& outcome) {
  std::string path = EnvOr("SLUICE_OUTCOME_FILE");
  if (path.empty()) return;
  Status st = workflow::WriteOutcome(path, outcome);
  if (!st.ok()) std::cerr << "sluice task exec: " << st.ToString() << "\n";
}

// Runs `command` under the shared attempt protocol (workflow/attempt_protocol.h); returns the
// exit code to use.
int RunShellCommand(const std::string& command) {
  return workflow::RunShellAttempt(command, nullptr, EnvOr("SLUICE_OUTCOME_FILE"));
}

}  // namespace

void RegisterTask(CLI::App& app, int* exit_code) {
  auto* task = app.add_subcommand("task", "Internal: run one attempt of a task (used by run)");
  task->require_subcommand(1);
  auto* exec = task->add_subcommand("exec", "Run one attempt of one task instance");
  struct Args {
    std::string dir, run_id, task, partner, date;
    int attempt = 1;
  };
  auto args = std::make_shared<Args>();
  exec->add_option("DIR", args->dir, "Pipeline folder")->required();
  exec->add_option("--run", args->run_id, "Run id")->required();
  exec->add_option("--task", args->task, "Task key")->required();
  exec->add_option("--partner", args->partner, "Partner (per-partner tasks)");
  exec->add_option("--attempt", args->attempt, "Attempt number")->check(CLI::Range(1, 1000000));
  exec->add_option("--date", args->date, "Logical date YYYY-MM-DD")->required();
  exec->callback([args, exit_code] {
    // Command tasks: the scheduler passes the command, so the pipeline is not parsed again per
    // attempt (it would dominate the cost of small tasks).
    std::string command = EnvOr("SLUICE_COMMAND");
    unsetenv("SLUICE_COMMAND");  // not for the command's own children
    // The executor's release socket, if it gave one (local_executor.cpp); closed at exit.
    int release_fd = workflow::TakeReleaseFdFromEnvironment();
    // Credentials from the environment and those named by redact_env: (passed by the
    // scheduler) are masked in what this attempt writes to its log.
    log::RegisterSecretsFromEnvironment();
    log::RegisterSecretsFromEnvironment(Split(EnvOr("SLUICE_REDACT_ENV"), ','));
    if (!command.empty()) {
      *exit_code = RunShellCommand(command);
      return;
    }
    warehouse::PrepareProcessForBulkWrites();
    auto date = ParseDate(args->date);
    // Its own partner's configuration only: an attempt's cost must not grow with the partners.
    // A task of the whole run (the sensor, summary) works on the partners whose configuration
    // loads: a broken partner's own chain failed at the run's start.
    std::string config_errors;
    auto pipeline =
        LoadPipelineOrReport(args->dir, "task exec", /*warnings=*/false,
                             /*settings_only=*/false, args->partner,
                             /*isolate_partners=*/args->partner.empty(), &config_errors);
    workflow::Outcome outcome;
    if (!date.ok() || !pipeline) {
      outcome.exit_code = kExitUsage;
      outcome.error = date.ok() ? "configuration errors in " + args->dir + ": " + config_errors
                                : date.status().ToString();
      // The same files fail the same way: no retry until they are fixed (then `sluice repair`).
      outcome.permanent = true;
      SaveOutcome(outcome);
      *exit_code = kExitUsage;
      return;
    }
    const config::TaskConfig* cfg = pipeline->workflow.Find(args->task);
    if (cfg == nullptr) {
      outcome.exit_code = kExitUsage;
      outcome.error = "no task \"" + args->task + "\" in " + args->dir + "/workflow.yaml";
      std::cerr << "sluice task exec: " << outcome.error << "\n";
      SaveOutcome(outcome);
      *exit_code = kExitUsage;
      return;
    }
    if (!cfg->command.empty()) {
      *exit_code = RunShellCommand(cfg->command);
      return;
    }
    tasks::TaskContext ctx;
    ctx.pipeline = &*pipeline;
    ctx.task = cfg;
    ctx.run_id = args->run_id;
    ctx.date = *date;
    ctx.partner = args->partner;
    for (const std::string& p : Split(EnvOr("SLUICE_PARTNERS"), ',')) {
      if (!p.empty()) ctx.run_partners.push_back(p);
    }
    ctx.attempt = args->attempt;
    ctx.parallelism = std::atoi(EnvOr("SLUICE_PARALLELISM").c_str());
    ctx.release_slot = [&release_fd] { workflow::ReleaseAttemptSlot(&release_fd); };
    std::string progress_path = EnvOr("SLUICE_PROGRESS_FILE");
    auto last_write = std::chrono::steady_clock::time_point{};
    if (!progress_path.empty()) {
      // At most four rewrites a second: cheap for the task, fresh enough for a display.
      ctx.progress = [progress_path, last_write](const tasks::Progress& p) mutable {
        auto now = std::chrono::steady_clock::now();
        if (now - last_write < std::chrono::milliseconds(250)) return;
        last_write = now;
        (void)workflow::WriteProgress(progress_path,
                                      {p.bytes_done, p.bytes_total, p.rows_done, p.note});
      };
    }
    Status st = tasks::RunBuiltin(ctx);
    outcome.result = ctx.result.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (st.ok()) {
      outcome.exit_code = 0;
      std::cout << "task " << args->task
                << (args->partner.empty() ? "" : " (partner " + args->partner + ")")
                << " succeeded: " << outcome.result << "\n";
    } else {
      outcome.exit_code = kExitFailures;
      outcome.error = st.ToString();
      outcome.permanent = tasks::IsPermanentFailure(st.code());
      std::cerr << "task " << args->task << " failed: " << outcome.error << "\n";
    }
    SaveOutcome(outcome);
    *exit_code = outcome.exit_code;
  });
}

}  // namespace sluice::cli
