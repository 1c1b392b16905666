// serve/backend.h: what the dashboard reads from one pipeline folder, as the JSON documents of
// its /api (docs/api.md), without any HTTP: the server, `sluice report` and tests share it.
//
// Runs and run details have the shapes of `sluice runs --json` and `sluice show --json`
// (views/run_views.h). Everything read from partners' data (names, headers, rejected rows, logs)
// is returned as data; escaping is the renderer's job (the page's JavaScript sets textContent).
// Logs are read only from the pipeline's logs folder; rejects only through the partner-scoped
// store, so no request can name a file outside them.
// Thread-safety: every method may be called from several threads at once (a mutex serialises
// ledger access, which is one-thread-at-a-time).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "config/pipeline_config.h"
#include "core/status.h"
#include "ledger/ledger.h"

namespace sluice::serve {

struct RunFilter {
  std::string state;      // "" or one run state
  std::string date_from;  // "" or YYYY-MM-DD, inclusive
  std::string date_to;    // "" or YYYY-MM-DD, inclusive
  int limit = 200;
  // Add "partner_count" and "instance_states" ({state: count}) to each run: more than
  // `runs --json` has, for the runs page.
  bool counts = false;
};

class Backend {
 public:
  // Opens the pipeline's ledger. `full_config`: the workflow and partners were loaded too (the
  // DAG, partner pages and repair plans need them; without, those answer Unavailable).
  static Result<std::unique_ptr<Backend>> Open(config::Pipeline pipeline, bool full_config);

  const config::Pipeline& pipeline() const { return pipeline_; }
  bool full_config() const { return full_config_; }

  // `runs --json`, filtered (state, date range) and newest first.
  Result<nlohmann::json> Runs(const RunFilter& filter);
  // `show --json` of one run. NotFound for an unknown run.
  Result<nlohmann::json> Run(const std::string& run_id);
  // The workflow's task graph with layout (serve/dag_export.h DagJson); {"nodes": []} without
  // the workflow.
  nlohmann::json Dag() const;
  // The grid: {"runs": [runs --json items, oldest first], "tasks": [{"task", "per_partner",
  // "partners": {partner: [state or null per run]}}]} over the newest `limit` runs.
  Result<nlohmann::json> Grid(int limit);
  // The text of one attempt's log (the last attempt when `attempt` is 0). NotFound for an unknown
  // attempt or a missing file; PermissionDenied when the ledger's path is not inside the logs
  // folder. At most `max_bytes` from the end ("truncated" in the caller's hands).
  Result<std::string> Log(const std::string& run_id, const std::string& task,
                          const std::string& partner, int attempt, int64_t max_bytes,
                          bool* truncated);
  // The first `limit` rejected rows of (partner, table) on the run's date:
  // {"file": store key, "header": [...], "rows": [[...]], "truncated": bool}. NotFound when the
  // run, partner or file does not exist.
  Result<nlohmann::json> Rejects(const std::string& run_id, const std::string& partner,
                                 const std::string& table, int limit);
  // The whole rejects file (for the download link), at most `max_bytes`.
  Result<std::string> RejectsFile(const std::string& run_id, const std::string& partner,
                                  const std::string& table, int64_t max_bytes);
  // {"partners": [{"id", "name", "enabled", "tables": [names]}]}.
  nlohmann::json Partners() const;
  // One partner: {"id", "name", "tables": [{"table", "exists", "rows", "columns",
  // "missing_columns", "extra_columns"}], "loads": [{columns: values} newest first],
  // "recent": [{run_id, date, state, tasks: {task: state}, merged: [{table, rows_loaded,
  // rows_updated, rows_rejected, columns_extra, columns_missing}]}]} (the last 10 runs with this
  // partner). NotFound for an unknown partner.
  Result<nlohmann::json> Partner(const std::string& partner_id);
  // The instances `sluice repair RUN_ID` would re-run: {"run_id", "rerun": [...],
  // "recovered": [...]} (the scheduler's dry run; nothing is written).
  Result<nlohmann::json> RepairPlan(const std::string& run_id);

 private:
  Backend(config::Pipeline pipeline, bool full_config, std::unique_ptr<ledger::Ledger> ledger);
  Result<ledger::RunRecord> GetRun(const std::string& run_id);

  config::Pipeline pipeline_;
  bool full_config_;
  std::mutex mu_;  // guards ledger_
  std::unique_ptr<ledger::Ledger> ledger_;
};

// Splits one CSV record (RFC 4180: quotes, doubled quotes) of `text` starting at *pos, moving
// *pos past it. For reading the first rows of a rejects file.
std::vector<std::string> ReadCsvRecord(std::string_view text, size_t* pos);

}  // namespace sluice::serve
