// cli/commands/run_report.h: the results of one run at a glance, as dbt ends a build with
// `PASS=… WARN=… ERROR=…`: counts of instances by outcome, rows loaded and rejected per partner
// and table (with where the rejects are), failed and warned checks (with the `sluice logs`
// command that shows them), failed instances with their first error line, and the one command
// that repairs the run. `sluice run` and `sluice repair` print it at the end; `sluice summary`
// prints it (or its JSON) later.
//
// Built only from the ledger (instances, and the result each attempt reported), so it works for
// any store and warehouse back-end and for runs whose folder has changed since.
// Thread-safety: plain functions; the Ledger must not be used by another thread meanwhile.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "config/pipeline_config.h"
#include "core/status.h"
#include "ledger/ledger.h"
#include "views/run_views.h"

namespace sluice::cli {

using views::kJsonSchemaVersion;
using views::RunPartners;

// The report of `run_id` as JSON (docs/cli.md, `sluice summary --json`). `dir` is the pipeline
// folder as the user spelled it, used in the commands the report suggests. NotFound for an
// unknown run; the ledger's error otherwise.
Result<nlohmann::json> BuildRunReport(const config::Pipeline& pipeline, ledger::Ledger& ledger,
                                      const std::string& run_id, const std::string& dir);

// The id of the newest run (of `date`, YYYY-MM-DD, or of any date when ""). NotFound, saying
// how to start one, when there is none.
Result<std::string> NewestRunId(ledger::Ledger& ledger, const std::string& date,
                                const std::string& dir);

// The id of the one run in state "running", for commands whose RUN_ID is optional (`cancel`).
// NotFound when none is running; InvalidArgument, listing them, when several are.
Result<std::string> OnlyRunningRunId(ledger::Ledger& ledger, const std::string& dir);

// `RUN_ID` when given, else the newest run (printing to stderr which one was chosen, so the
// user sees what `show`/`repair` acted on). `command` names the command in messages.
Result<std::string> RunIdOrNewest(ledger::Ledger& ledger, const std::string& run_id,
                                  const std::string& dir, const std::string& command);

// Builds and prints the report of `run_id` to stdout (colour when stdout is a terminal that
// takes it); on a ledger error says so on stderr. What run, repair and backfill end with.
void PrintRunReportOrSay(const config::Pipeline& pipeline, ledger::Ledger& ledger,
                         const std::string& run_id, const std::string& dir);

struct ReportStyle {
  bool color = false;        // ANSI colours for states (a terminal without NO_COLOR)
  int max_table_lines = 24;  // past this, only tables with rejects or failures get a line
};

// Prints the report built by BuildRunReport as a few human lines.
void PrintRunReport(const nlohmann::json& report, std::ostream& out, const ReportStyle& style);

}  // namespace sluice::cli
