// views/run_views.h: the JSON shapes of runs and of one run's instances, as `sluice runs --json`,
// `sluice show --json` and `sluice serve`'s /api/runs and /api/runs/<id> give them (docs/cli.md
// documents the keys; they are a contract: add keys, never rename).
//
// Builders take records already read from the ledger, so callers choose how to read them and
// tests need no database. Thread-safety: pure functions (ShowJson reads progress files).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/pipeline_config.h"
#include "core/status.h"
#include "ledger/ledger.h"
#include "workflow/attempt_files.h"

namespace sluice::views {

// Version of every --json output of the command line and of /api (`schema_version`). Bumped only
// when a key changes meaning or goes away; new keys do not bump it.
inline constexpr int kJsonSchemaVersion = 1;

// The run's partners: its params' `partners` when it names some, else every partner that has
// an instance in `instances`, sorted.
std::vector<std::string> RunPartners(const ledger::RunRecord& run,
                                     const std::vector<ledger::InstanceRecord>& instances);

// Milliseconds since the Unix epoch, now (wall clock).
int64_t NowMs();
// Seconds between two timestamps; a running item (ended_ms 0) counts until now; 0 before start.
double DurationSeconds(int64_t started_ms, int64_t ended_ms);

// One element of `runs --json`.
nlohmann::json RunJson(const ledger::RunRecord& run);
// The array `runs --json` prints, newest first as given.
nlohmann::json RunsJson(const std::vector<ledger::RunRecord>& runs);

// What a running attempt last reported through its progress file, or nullopt (not running, no
// file yet).
std::optional<workflow::ProgressSnapshot> RunningProgress(const config::Pipeline& pipeline,
                                                          const ledger::InstanceRecord& instance);

// The document `show --json` prints: the run's keys and `instances` (each with its `history`
// of attempts and, while running, its `progress`). `attempts` in any order.
nlohmann::json ShowJson(const config::Pipeline& pipeline, const ledger::RunRecord& run,
                        const std::vector<ledger::InstanceRecord>& instances,
                        const std::vector<ledger::AttemptRecord>& attempts);

// Reads the run, its instances and attempts from `ledger` and builds ShowJson. NotFound for an
// unknown run; the ledger's error otherwise.
Result<nlohmann::json> LoadShowJson(const config::Pipeline& pipeline, ledger::Ledger& ledger,
                                    const std::string& run_id);

}  // namespace sluice::views
