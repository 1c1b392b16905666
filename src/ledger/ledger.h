// ledger/ledger.h: the run ledger, the durable record of runs, task instances and attempts.
//
// The scheduler writes every state change here before acting on it, so `sluice show`, `sluice
// repair` and a scheduler restarted after a crash all see the same truth. One small abstract
// class (Ledger) with back-ends chosen by URL in OpenLedger(): sqlite://FILE today,
// postgresql://... reports "not supported yet".
//
// States (instances and attempts): pending, queued, running, success, failed, timed_out,
// upstream_failed, skipped. Runs: running, success, failed, cancelled.
// Times are milliseconds since the Unix epoch (wall clock); 0 means "not yet".
// Ownership: the caller owns the Ledger. Thread-safety: a Ledger object is used by one thread at
// a time; several processes may share one database (SQLite WAL + busy timeout).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sluice::ledger {

enum class State {
  kPending,
  kQueued,
  kRunning,
  kSuccess,
  kFailed,
  kTimedOut,
  kUpstreamFailed,
  kSkipped,
};

// "pending", "timed_out", ...
std::string_view StateName(State state);
// Inverse of StateName; InvalidArgument for unknown names.
Result<State> ParseState(std::string_view name);
// success, failed, timed_out, upstream_failed and skipped are terminal.
bool IsTerminal(State state);
// failed, timed_out and upstream_failed.
bool IsFailure(State state);

struct RunRecord {
  std::string run_id;
  std::string workflow;           // the pipeline's workflow name
  std::string pipeline_dir;       // absolute path of the pipeline folder
  std::string logical_date;       // YYYY-MM-DD
  std::string params;             // JSON object text: {"partners": [...], ...}
  std::string state = "running";  // running | success | failed | cancelled
  int64_t created_ms = 0;
  int64_t ended_ms = 0;
  int scheduler_pid = 0;  // the process driving the run now (or last)
  std::string host;
};

struct InstanceRecord {
  std::string run_id;
  std::string task_key;
  std::string partner;  // "" for tasks that are not per-partner
  State state = State::kPending;
  int attempts = 0;  // attempts started so far
  int64_t started_ms = 0;
  int64_t ended_ms = 0;
  std::string error;  // last attempt's error (first lines), or why it did not run
};

struct AttemptRecord {
  std::string run_id;
  std::string task_key;
  std::string partner;
  int attempt = 1;
  int pid = 0;  // also the process group id
  State state = State::kRunning;
  int64_t started_ms = 0;
  int64_t ended_ms = 0;
  int exit_code = -1;  // -1 when killed by a signal or unknown
  int signal = 0;
  std::string log_path;
  std::string error;
  std::string result;  // JSON object text the task reported ("{}" when none)
};

class Ledger {
 public:
  virtual ~Ledger() = default;

  // Inserts a run and its instances in one transaction. AlreadyExists (naming the run) when
  // another run of the same workflow and logical date is in state "running".
  virtual Status CreateRun(const RunRecord& run, const std::vector<InstanceRecord>& instances) = 0;
  // Makes `new_pid` the run's scheduler and sets state "running", only if the run's
  // scheduler_pid is still `expected_pid` (compare-and-set). AlreadyExists otherwise.
  virtual Status ClaimRun(const std::string& run_id, int expected_pid, int new_pid) = 0;
  // Sets state and ended_ms of a run.
  virtual Status FinishRun(const std::string& run_id, const std::string& state,
                           int64_t ended_ms) = 0;
  // NotFound when no such run.
  virtual Result<RunRecord> GetRun(const std::string& run_id) = 0;
  // Newest first, at most `limit`.
  virtual Result<std::vector<RunRecord>> ListRuns(int limit) = 0;

  // Inserts or replaces instances, in one transaction.
  virtual Status PutInstances(const std::vector<InstanceRecord>& instances) = 0;
  // Inserts or replaces an attempt and its instance together, in one transaction.
  virtual Status RecordAttempt(const InstanceRecord& instance, const AttemptRecord& attempt) = 0;
  // The run's instances in insertion (DAG) order.
  virtual Result<std::vector<InstanceRecord>> ListInstances(const std::string& run_id) = 0;
  // The run's attempts, ordered by task, partner, attempt.
  virtual Result<std::vector<AttemptRecord>> ListAttempts(const std::string& run_id) = 0;
};

// Opens (creating if needed) the ledger at `url`; relative paths resolve against `base_dir`.
// sqlite://FILE (e.g. sqlite://./state/ledger.db). InvalidArgument for unknown schemes,
// Unavailable for postgresql:// (not supported yet), IoError when the file cannot be opened.
Result<std::unique_ptr<Ledger>> OpenLedger(const std::string& url,
                                           const std::filesystem::path& base_dir);

}  // namespace sluice::ledger
