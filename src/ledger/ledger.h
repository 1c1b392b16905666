// ledger/ledger.h: the run ledger, the durable record of runs, task instances and attempts.
//
// The scheduler writes every state change here before acting on it, so `sluice show`, `sluice
// repair` and a scheduler restarted after a crash all see the same truth. One small abstract
// class (Ledger) with back-ends chosen by URL scheme from one table (LedgerBackends()):
// sqlite://FILE, and postgresql://USER@HOST:PORT/DB for several hosts sharing one ledger
// (postgres_ledger.h).
//
// States (instances and attempts): pending, queued, running, success, failed, timed_out,
// upstream_failed, skipped, cancelled. Runs: running, success, failed, cancelled.
// Times are milliseconds since the Unix epoch (wall clock); 0 means "not yet".
//
// Run owner (several hosts may share one ledger): the scheduler driving a run is identified by
// host + pid + process start time (RunOwner), and renews a lease (`heartbeat_ms`) while it
// runs. On the owner's host its liveness is exact: that pid must exist and have started at that
// moment (a recycled pid did not). From any other host it is the lease: an owner whose heartbeat
// is older than kOwnerLeaseMs is gone. ClaimRun moves the whole owner (host included) in one
// compare-and-set. workflow/scheduler.h decides with both (OwnerAlive).
//
// Cancel requests: `sluice cancel` records one on the run (RequestCancel); the owner's
// scheduler sees it in its loop and stops the run.
//
// Schema: versioned (SQLite: PRAGMA user_version); opening a ledger written by an older sluice
// migrates it in one transaction, keeping its runs. A newer version than this build knows is
// refused (upgrade sluice). Every per-event write and state query is by primary key or index,
// so its cost does not grow with the number of instances in a run.
// Ownership: the caller owns the Ledger. Thread-safety: a Ledger object is used by one thread at
// a time; several processes may share one database (SQLite WAL + busy timeout; PostgreSQL
// transactions, and a unique index for the one running run per workflow and date).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/backend_registry.h"
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
  kCancelled,  // stopped by `sluice cancel`; repair runs it again
};

// How often a run's scheduler renews its lease, and how old a lease may be before another host
// takes its scheduler for gone.
inline constexpr int64_t kOwnerHeartbeatMs = 10'000;
inline constexpr int64_t kOwnerLeaseMs = 60'000;

// "pending", "timed_out", ...
std::string_view StateName(State state);
// Inverse of StateName; InvalidArgument for unknown names.
Result<State> ParseState(std::string_view name);
// success, failed, timed_out, upstream_failed, skipped and cancelled are terminal.
bool IsTerminal(State state);
// failed, timed_out, upstream_failed and cancelled (the instance did not do its work).
bool IsFailure(State state);

// The process driving a run: where, which pid, and when that process started (so a recycled
// pid is not taken for it). `start` is opaque text ("<boot id>/<start ticks>" on Linux; "" when
// unknown, e.g. a run recorded by an older sluice).
struct RunOwner {
  std::string host;
  int pid = 0;
  std::string start;
  friend bool operator==(const RunOwner&, const RunOwner&) = default;
};

struct RunRecord {
  std::string run_id;
  std::string workflow;           // the pipeline's workflow name
  std::string pipeline_dir;       // absolute path of the pipeline folder
  std::string logical_date;       // YYYY-MM-DD
  std::string params;             // JSON object text: {"partners": [...], ...}
  std::string state = "running";  // running | success | failed | cancelled
  int64_t created_ms = 0;
  int64_t ended_ms = 0;
  int scheduler_pid = 0;            // the process driving the run now (or last)
  std::string host;                 // its host
  std::string scheduler_start;      // its start time (RunOwner::start)
  int64_t heartbeat_ms = 0;         // its lease, renewed every kOwnerHeartbeatMs while it runs
  int64_t cancel_requested_ms = 0;  // when `sluice cancel` asked it to stop; 0: not asked

  RunOwner Owner() const { return {host, scheduler_pid, scheduler_start}; }
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
  // The executor's opaque attempt id (local: the pid, also the process group id; a cluster:
  // its job id); "" until launched.
  std::string executor_id;
  std::string executor = "local";  // which executor launched it (executor.h Name())
  int pid = 0;  // the local executor's pid (its process group id); 0 for other executors
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
  // Makes `next` the run's owner (host, pid, start), renews its lease to `now_ms`, clears a
  // cancel request and sets state "running", only if the run's owner is still `expected`
  // (compare-and-set on host, pid and start). AlreadyExists otherwise.
  virtual Status ClaimRun(const std::string& run_id, const RunOwner& expected, const RunOwner& next,
                          int64_t now_ms) = 0;
  // Renews the lease of `owner` on a running run. AlreadyExists when the run is no longer
  // owned by it (another process claimed it).
  virtual Status Heartbeat(const std::string& run_id, const RunOwner& owner, int64_t now_ms) = 0;
  // Records a cancel request on a running run (kept if one is there already). NotFound for an
  // unknown run; InvalidArgument when the run is not running (the message says its state).
  virtual Status RequestCancel(const std::string& run_id, int64_t now_ms) = 0;
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
  // The run's attempts in state running or queued (what a dead scheduler may have left), by an
  // index: the cost follows their number, not the run's size.
  virtual Result<std::vector<AttemptRecord>> ListUnfinishedAttempts(const std::string& run_id) = 0;
  // The schema version of the open ledger (kLedgerSchemaVersion after a migration).
  virtual Result<int> SchemaVersion() = 0;
  // Removes an ended run with its instances and attempts (`sluice gc`, retention: runs).
  // InvalidArgument when the back-end cannot (the default), or the run is still running.
  virtual Status DeleteRun(const std::string& run_id) {
    return Status::InvalidArgument("this ledger back-end cannot delete run " + run_id +
                                   "; remove retention: runs from sluice.yaml");
  }
};

// The ledger schema this build writes. 1: wave one (no version recorded); 2: run owner start
// time and lease, cancel requests, executor attempt ids, indexes for unfinished attempts.
inline constexpr int kLedgerSchemaVersion = 2;

// Opens (creating if needed) the ledger at `url` (${NAME} expanded from the environment);
// relative paths resolve against `base_dir`. sqlite://FILE (e.g. sqlite://./state/ledger.db) or
// postgresql://USER@HOST:PORT/DB. InvalidArgument for an unknown or malformed URL (the message
// of LedgerBackends().Resolve), IoError when the file cannot be opened, Unavailable when the
// PostgreSQL server cannot be reached.
Result<std::unique_ptr<Ledger>> OpenLedger(const std::string& url,
                                           const std::filesystem::path& base_dir);

// A ledger back-end's factory: `url` is expanded and checked.
using LedgerFactory = Result<std::unique_ptr<Ledger>> (*)(const std::string& url,
                                                          const std::filesystem::path& base_dir);
// The ledger back-ends by URL scheme: OpenLedger and `sluice validate` (tasks/load_pipeline.h) both
// read this table. Add a back-end as one row in ledger.cpp.
const BackendRegistry<LedgerFactory>& LedgerBackends();

}  // namespace sluice::ledger
