// tasks/backends.h: checks sluice.yaml's back-end choices against the back-ends' own tables.
//
// The store, warehouse and ledger URLs and the executor name are each looked up in the registry
// of the module that implements them (store::StoreBackends(), warehouse::WarehouseBackends(),
// ledger::LedgerBackends(), workflow::ExecutorBackends()), the same tables their factories
// read, so `sluice validate` and an attempt opening the store can never disagree. config sits
// below those modules and cannot call them; it calls this function through
// config::LoadOptions::check_settings instead.
// Thread-safety: pure functions (they read the environment for ${NAME} in URLs).
#pragma once

#include <filesystem>

#include "config/pipeline_config.h"
#include "core/status.h"

namespace sluice::tasks {

// Adds an error at the key's file:line in sluice.yaml for each unknown, not-built or malformed
// back-end: `sluice.yaml:3:1: sluice.yaml: "s3://b": s3:// is not supported by this version of
// sluice; use file://PATH (a local or mounted folder)`. Pass as LoadOptions::check_settings.
void CheckBackends(const config::PipelineSettings& settings, config::Diagnostics* diags);

// config::LoadPipeline with the back-ends checked (CheckBackends). What validate, run, repair
// and task exec load a pipeline with.
Result<config::Pipeline> LoadCheckedPipeline(const std::filesystem::path& dir,
                                             config::LoadOptions options = {});

}  // namespace sluice::tasks
