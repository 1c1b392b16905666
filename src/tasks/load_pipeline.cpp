// tasks/load_pipeline.cpp: loading a pipeline with its back-ends checked, whole or per attempt.
#include "tasks/load_pipeline.h"

#include <string>
#include <utility>
#include <vector>

#include "ledger/ledger.h"
#include "store/object_store.h"
#include "warehouse/warehouse.h"
#include "workflow/executor.h"

namespace sluice::tasks {

namespace {

template <typename Factory>
void Check(const BackendRegistry<Factory>& registry, const std::string& value,
           const config::Location& loc, config::Diagnostics* diags) {
  auto resolved = registry.Resolve(value);
  if (!resolved.ok()) diags->Error(loc, "sluice.yaml: " + resolved.status().message());
}

}  // namespace

void CheckBackends(const config::PipelineSettings& settings, config::Diagnostics* diags) {
  Check(store::StoreBackends(), settings.store, settings.store_loc, diags);
  Check(warehouse::WarehouseBackends(), settings.warehouse, settings.warehouse_loc, diags);
  Check(ledger::LedgerBackends(), settings.ledger, settings.ledger_loc, diags);
  Check(workflow::ExecutorBackends(), settings.executor, settings.executor_loc, diags);
}

Result<config::Pipeline> LoadCheckedPipeline(const std::filesystem::path& dir,
                                             config::LoadOptions options) {
  options.check_settings = CheckBackends;
  return config::LoadPipeline(dir, options);
}

Result<config::Pipeline> LoadAttemptPipeline(const std::filesystem::path& dir,
                                             const std::string& partner,
                                             config::LoadOptions options) {
  if (!partner.empty()) options.only_partners = std::vector<std::string>{partner};
  return LoadCheckedPipeline(dir, std::move(options));
}

}  // namespace sluice::tasks
