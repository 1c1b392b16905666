// tasks/task_context.h: what a builtin task receives when one attempt of it runs.
//
// A builtin runs inside `sluice task exec` (its own process), so a crash or hang in one attempt
// never reaches the scheduler. It reports small results (row counts, bytes) by filling
// `result`, which the scheduler stores in the ledger with the attempt, and progress through
// `progress` for the live display. Thread-safety: one context per attempt, used by one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "config/pipeline_config.h"
#include "core/date.h"
#include "core/status.h"

namespace sluice::tasks {

struct Progress {
  int64_t bytes_done = 0;
  int64_t bytes_total = 0;  // 0 when unknown
  int64_t rows_done = 0;
  std::string note;  // e.g. the file being read
};

struct TaskContext {
  const config::Pipeline* pipeline = nullptr;
  const config::TaskConfig* task = nullptr;
  std::string run_id;
  Date date;
  std::string partner;  // set for for_each: partner tasks, empty otherwise
  // The run's partners (`sluice run --partners`); empty: every enabled partner.
  std::vector<std::string> run_partners;
  int attempt = 1;
  // The run's --parallelism (SLUICE_PARALLELISM): the cores the run may keep busy; 0 unknown.
  // With 1 a task does not start threads of its own.
  int parallelism = 0;
  // Results the scheduler stores with the attempt (a JSON object).
  nlohmann::json result = nlohmann::json::object();
  // Called now and then with how far the task has got; may be empty.
  std::function<void(const Progress&)> progress;
  // Gives the attempt's slot back to the scheduler, which may start the next ready attempt while
  // this one finishes (Executor::TakeReleased): call once what is left is mostly waiting on the
  // disk (a merge: its commit, stats and closing the database). Whether the attempt succeeds is
  // still decided by its exit and outcome. May be empty.
  std::function<void()> release_slot;

  // The partner's config; nullptr for tasks that are not per-partner.
  const config::PartnerConfig* partner_config() const {
    return partner.empty() ? nullptr : pipeline->FindPartner(partner);
  }
  void ReportProgress(const Progress& p) const {
    if (progress) progress(p);
  }
  void ReleaseSlot() const {
    if (release_slot) release_slot();
  }
  // The partners this attempt works on: its own partner for a per-partner task, else the run's
  // partners (every enabled partner when the run did not choose). NotFound when a partner is not
  // configured.
  Result<std::vector<const config::PartnerConfig*>> TargetPartners() const;
};

// 'text' as a SQL string literal, quotes doubled.
std::string SqlLiteral(std::string_view text);

// Replaces {date}, {partner} and {run_id} in user SQL with quoted SQL string literals, so the
// values can never break out of the statement.
std::string ExpandSqlPlaceholders(std::string sql, const TaskContext& ctx,
                                  std::string_view partner);

using BuiltinFn = Status (*)(TaskContext& ctx);

// The function for builtin `name`, or nullptr.
BuiltinFn FindBuiltin(std::string_view name);

// Runs `ctx.task->builtin`. Exceptions thrown inside are caught here and become Internal.
Status RunBuiltin(TaskContext& ctx);

// Whether a builtin's failure would repeat on a retry, so none is made: the complement of the
// one retry policy, sluice::IsRetryable (core/status.h), which says which codes retry and why.
bool IsPermanentFailure(StatusCode code);

}  // namespace sluice::tasks
