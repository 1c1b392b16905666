// cli/commands/engine_common.h: what run, repair, runs, show and logs share: loading the
// pipeline (errors printed, exit 2), opening its ledger, and small formatting helpers.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands/commands.h"
#include "config/pipeline_config.h"
#include "core/logging.h"
#include "core/status.h"
#include "core/strings.h"
#include "ledger/ledger.h"
#include "tasks/load_pipeline.h"
#include "views/run_views.h"
#include "workflow/executor.h"
#include "workflow/scheduler.h"

namespace sluice::cli {

// The partners `--partners` names (comma-separated, spaces trimmed; empty when the option was
// not given). nullopt, after saying so on stderr, when it was given and names none: "--partners
// $LIST" with an empty variable must not quietly mean every partner.
inline std::optional<std::vector<std::string>> PartnersOrReport(const std::string& list,
                                                                const CLI::Option* option,
                                                                const char* command,
                                                                const char* without) {
  std::vector<std::string> partners;
  for (const std::string& id : Split(list, ',')) {
    if (!Trim(id).empty()) partners.push_back(std::string(Trim(id)));
  }
  if (option->count() > 0 && partners.empty()) {
    std::cerr << "sluice " << command << ": --partners names no partner; leave it out to "
              << without << "\n";
    return std::nullopt;
  }
  return partners;
}

// Loads the pipeline folder, printing errors on stderr (and warnings too, with `warnings`: the
// commands that start work say what `sluice validate` would warn about). nullopt after an error.
// `settings_only`: sluice.yaml alone (runs, show, logs read the ledger and logs it names, and
// keep working while a workflow or partner file is being fixed).
// `attempt_partner`: what an attempt loads (tasks::LoadAttemptPipeline): sluice.yaml,
// workflow.yaml and this partner's folder only; every partner when empty.
// `isolate_partners`: a partner whose own files have errors is set aside
// (config::LoadOptions::isolate_partners) instead of failing the load; with `warnings` its
// errors are printed, saying the others run. `errors`, when given, receives the errors of a
// failed load, one "file:line:col: message" per line.
inline std::optional<config::Pipeline> LoadPipelineOrReport(
    const std::string& dir, const char* command, bool warnings = false, bool settings_only = false,
    const std::optional<std::string>& attempt_partner = std::nullopt, bool isolate_partners = false,
    std::string* errors = nullptr) {
  config::Diagnostics diags;
  config::LoadOptions options{.diagnostics = &diags, .settings_only = settings_only};
  options.isolate_partners = isolate_partners;
  auto pipeline = attempt_partner ? tasks::LoadAttemptPipeline(dir, *attempt_partner, options)
                                  : tasks::LoadCheckedPipeline(dir, options);
  if (!pipeline.ok()) {
    for (const config::Diagnostic& d : diags.items()) std::cerr << d.ToString() << "\n";
    if (diags.items().empty()) std::cerr << pipeline.status().ToString() << "\n";
    if (errors != nullptr) *errors = pipeline.status().message();
    std::cerr << "sluice " << command << ": " << dir
              << " has configuration errors; fix them (see `sluice validate " << dir << "`)\n";
    return std::nullopt;
  }
  if (warnings) {
    for (const config::Diagnostic& d : diags.items()) std::cerr << d.ToString() << "\n";
    for (const auto& [id, broken] : pipeline->broken_partners) {
      std::cerr << "sluice " << command << ": partner " << id << " has " << broken.errors.size()
                << " configuration error(s) (above); its tasks fail at once and the other "
                   "partners run (--strict-config refuses the whole run instead)\n";
    }
  }
  return std::move(pipeline).value();
}

// Opens the pipeline's ledger, printing the error on failure.
inline std::unique_ptr<ledger::Ledger> OpenLedgerOrReport(const config::Pipeline& pipeline,
                                                          const char* command) {
  auto ledger = ledger::OpenLedger(pipeline.settings.ledger, pipeline.dir);
  if (!ledger.ok()) {
    std::cerr << "sluice " << command << ": " << ledger.status().ToString() << "\n";
    return nullptr;
  }
  return std::move(ledger).value();
}

// The path of the running sluice binary (for `sluice task exec` children).
inline std::string SelfExe() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "sluice";
  return std::string(buf, static_cast<size_t>(n));
}

inline int DefaultParallelism(const config::Pipeline& pipeline, int flag) {
  if (flag > 0) return flag;
  if (pipeline.settings.parallelism > 0) return pipeline.settings.parallelism;
  unsigned cores = std::thread::hardware_concurrency();
  return cores > 0 ? static_cast<int>(cores) : 1;
}

// The executor named by --executor (`flag`), else by `executor:` in sluice.yaml (default
// local), or nullptr after saying why on stderr (exit 2: bad usage). Made before anything is
// written, so a refused name leaves no run behind.
inline std::unique_ptr<workflow::Executor> MakeExecutorOrReport(const config::Pipeline& pipeline,
                                                                const std::string& flag,
                                                                const char* command) {
  const std::string& name = flag.empty() ? pipeline.settings.executor : flag;
  // The map form's options (partition, account, ...) go with sluice.yaml's executor.
  auto executor = workflow::MakeExecutor(name, name == pipeline.settings.executor
                                                   ? pipeline.settings.executor_options
                                                   : config::Node());
  if (!executor.ok()) {
    std::cerr << "sluice " << command << ": " << executor.status().ToString() << "\n";
    return nullptr;
  }
  return std::move(executor).value();
}

// Scheduler options shared by run and repair: parallelism (flag, then sluice.yaml, then
// cores), this binary for task exec, the executor (owned by the caller), the SIGTERM->SIGKILL
// grace, and the live display when stderr is a terminal.
inline workflow::SchedulerOptions MakeSchedulerOptions(const config::Pipeline& pipeline,
                                                       int parallelism_flag,
                                                       workflow::Executor* executor,
                                                       double grace_seconds) {
  workflow::SchedulerOptions options;
  options.parallelism = DefaultParallelism(pipeline, parallelism_flag);
  options.sluice_binary = SelfExe();
  // Builtin attempts of the local executor run in a fork of this process (no exec, no dynamic
  // loading of a fresh sluice): what `sluice task exec` does, called directly.
  options.run_task_in_process = &RunTaskInProcess;
  options.executor = executor;
  options.kill_grace = std::chrono::milliseconds(static_cast<int64_t>(grace_seconds * 1000));
  // Redrawing needs cursor movement: a terminal that is not TERM=dumb. Elsewhere (cron, CI, a
  // pipe) progress notes become log lines instead.
  const char* term = std::getenv("TERM");
  options.live_display = isatty(STDERR_FILENO) == 1 && term != nullptr && *term != '\0' &&
                         std::string_view(term) != "dumb";
  options.log_progress_notes = !options.live_display;
  return options;
}

// --quiet and --verbose of run, repair and backfill.
struct Verbosity {
  bool quiet = false;    // warnings and errors only; nothing at all on success
  bool verbose = false;  // debug log lines too
};

inline void AddVerbosityFlags(CLI::App* cmd, Verbosity* v) {
  auto* quiet = cmd->add_flag("-q,--quiet", v->quiet,
                              "Only warnings and errors while running; on success print nothing "
                              "(for cron), on failure the results");
  cmd->add_flag("-v,--verbose", v->verbose, "Debug log lines too")->excludes(quiet);
}

// Sets the log level, and turns the live display off for --quiet.
inline void ApplyVerbosity(const Verbosity& v, workflow::SchedulerOptions* options) {
  log::Options lo;
  lo.level = v.quiet ? log::Level::kWarn : v.verbose ? log::Level::kDebug : log::Level::kInfo;
  log::Init(lo);
  if (v.quiet) {
    options->live_display = false;
    options->log_progress_notes = false;
  }
}

// "2026-11-24 15:30:12" (UTC) for a millisecond timestamp; "-" for 0.
inline std::string FormatMs(int64_t ms) {
  if (ms <= 0) return "-";
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

using views::DurationSeconds;
using views::NowMs;

// The exit code for a command that failed with `st`: 2 for what the user asked (bad
// arguments, an unknown run, a run already active), 3 for a bug in sluice, 1 otherwise.
inline int ExitCodeFor(const Status& st) {
  switch (st.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kAlreadyExists:
      return kExitUsage;
    case StatusCode::kInternal:
      return kExitInternal;
    default:
      return kExitFailures;
  }
}

}  // namespace sluice::cli
