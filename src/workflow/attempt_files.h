// workflow/attempt_files.h: the files one attempt leaves beside its log, and how they are read.
//
//   <logs>/<run>/<task>[.<partner>]/<n>.log            stdout and stderr of attempt n
//   <logs>/<run>/<task>[.<partner>]/<n>.outcome.json   written last by `sluice task exec`:
//                                                      {"exit_code", "signal", "error", "result",
//                                                       "permanent"}
//   <logs>/<run>/<task>[.<partner>]/<n>.progress.json  rewritten (atomically) while it runs
//
// The outcome file is what makes a scheduler crash harmless: an attempt that finishes while no
// scheduler watches still records how it ended, and `sluice repair` reads it instead of running
// the task again. The log is flock()ed and inherited by every process of the attempt, so "is it
// still running?" has an answer that survives the scheduler. Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "core/status.h"

namespace sluice::workflow {

struct AttemptPaths {
  std::filesystem::path dir;
  std::filesystem::path log;
  std::filesystem::path outcome;
  std::filesystem::path progress;
  std::filesystem::path lock;  // the log itself: flock()ed while the attempt's processes live
};

// Paths of attempt `attempt` of (task, partner) in run `run_id` under `logs_dir`.
AttemptPaths PathsFor(const std::filesystem::path& logs_dir, const std::string& run_id,
                      const std::string& task, const std::string& partner, int attempt);

struct Outcome {
  int exit_code = -1;
  int signal = 0;
  std::string error;          // "" on success
  std::string result = "{}";  // JSON object text
  // The failure cannot be cured by running the same attempt again (a refused archive, bad
  // params, a permission problem): the scheduler does not spend retries on it.
  bool permanent = false;
};

// Writes `outcome` atomically (temp file + rename; no fsync: it must outlive the scheduler, not
// the OS). IoError on failure.
Status WriteOutcome(const std::filesystem::path& path, const Outcome& outcome);
// The outcome, or nullopt when the file is missing or unreadable (the attempt died early).
std::optional<Outcome> ReadOutcome(const std::filesystem::path& path);

struct ProgressSnapshot {
  int64_t bytes_done = 0;
  int64_t bytes_total = 0;
  int64_t rows_done = 0;
  std::string note;
};

// Writes the progress file atomically (temp + rename, no fsync: it is advisory).
Status WriteProgress(const std::filesystem::path& path, const ProgressSnapshot& progress);
std::optional<ProgressSnapshot> ReadProgress(const std::filesystem::path& path);

// Writes `content` to `path` via a temp file and rename; fsyncs when `durable`.
Status WriteFileAtomically(const std::filesystem::path& path, const std::string& content,
                           bool durable);

}  // namespace sluice::workflow
