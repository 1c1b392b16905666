// tasks/load_pipeline.h: how the commands load a pipeline folder: the whole of it, checked
// against the back-end registries, for validate, run and repair; one partner's part of it for an
// attempt.
//
// Back-ends: the store, warehouse and ledger URLs and the executor name are each looked up in
// the registry of the module that implements them (store::StoreBackends(),
// warehouse::WarehouseBackends(), ledger::LedgerBackends(), workflow::ExecutorBackends()), the
// same tables their factories read, so `sluice validate` and an attempt opening the store never
// disagree. config sits below those modules and cannot call them; LoadPipeline calls
// CheckBackends through config::LoadOptions::check_settings instead.
//
// What is read when (nothing is cached between processes):
//   run, repair     every file, validated as a whole, once at their start. A repair reads the
//                   files as they are when it starts (a schema fixed after the run is what the
//                   repair's merges use), never a copy from the run.
//   task exec       sluice.yaml, workflow.yaml and its own partner's folder (partner.yaml and
//                   its schemas), read fresh by every attempt, so an attempt's cost does not
//                   grow with the partners of the pipeline; a task that is not per-partner
//                   (wait_for_sources, summary, check over the run) reads every partner, once.
// Thread-safety: pure functions (they read the environment for ${NAME} in URLs).
#pragma once

#include <filesystem>
#include <string>

#include "config/pipeline_config.h"
#include "core/status.h"

namespace sluice::tasks {

// Adds an error at the key's file:line in sluice.yaml for each unknown, not-built or malformed
// back-end: `sluice.yaml:3:1: sluice.yaml: "s3://b": s3:// is not supported by this version of
// sluice; use file://PATH (a local or mounted folder)`. Pass as LoadOptions::check_settings.
void CheckBackends(const config::PipelineSettings& settings, config::Diagnostics* diags);

// Adds an error for each table the warehouse back-end refuses (warehouse::TableRulesFor the
// warehouse URL): more columns than it can hold with sluice's lineage columns, at the schema's
// "columns"; a name it reserves, at the table's key in partner.yaml. Nothing when the warehouse
// URL itself is refused (CheckBackends says so). Pass as LoadOptions::check_pipeline.
void CheckTableRules(const config::Pipeline& pipeline, config::Diagnostics* diags);

// config::LoadPipeline with the back-ends checked (CheckBackends, CheckTableRules): what
// validate, run and repair load.
Result<config::Pipeline> LoadCheckedPipeline(const std::filesystem::path& dir,
                                             config::LoadOptions options = {});

// What one attempt loads: LoadCheckedPipeline restricted to `partner`'s folder when the
// instance is per-partner (`partner` not empty), every partner otherwise.
Result<config::Pipeline> LoadAttemptPipeline(const std::filesystem::path& dir,
                                             const std::string& partner,
                                             config::LoadOptions options = {});

}  // namespace sluice::tasks
