// tasks/load_pipeline.cpp: loading a pipeline with its back-ends checked, whole or per attempt.
#include "tasks/load_pipeline.h"

#include <string>
#include <utility>
#include <vector>

#include "ledger/ledger.h"
#include "store/object_store.h"
#include "warehouse/warehouse.h"
#include "workflow/executor.h"
#include "workflow/slurm_executor.h"

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
  if (settings.executor == "slurm") {
    // The map's keys are the executor's own: checked here too, so `validate` reports them.
    auto options = workflow::ReadSlurmOptions(settings.executor_options);
    if (!options.ok()) diags->Error(settings.executor_loc, options.status().message());
  }
}

void CheckTableRules(const config::Pipeline& pipeline, config::Diagnostics* diags) {
  auto rules = warehouse::TableRulesFor(pipeline.settings.warehouse);
  if (!rules.ok()) return;  // CheckBackends reported the URL
  for (const auto& [id, partner] : pipeline.partners) {
    for (const config::TableSource& t : partner.tables) {
      if (std::string why = rules->CheckTableName(t.name); !why.empty()) {
        diags->Error(t.loc, "table name \"" + t.name + "\" " + why);
      }
    }
    for (const auto& [table, schema] : partner.schemas) {
      if (schema.columns.size() > rules->MaxSchemaColumns()) {
        diags->Error(schema.columns_loc,
                     "\"columns\" lists " + std::to_string(schema.columns.size()) +
                         " columns; a table may have at most " +
                         std::to_string(rules->MaxSchemaColumns()) + " (" + rules->engine + "'s " +
                         std::to_string(rules->max_columns) +
                         ", less sluice's lineage columns): split the table, or keep the rarely "
                         "used ones with on_extra_columns: \"rescue\"");
      }
    }
  }
}

Result<config::Pipeline> LoadCheckedPipeline(const std::filesystem::path& dir,
                                             config::LoadOptions options) {
  options.check_settings = CheckBackends;
  options.check_pipeline = CheckTableRules;
  return config::LoadPipeline(dir, options);
}

Result<config::Pipeline> LoadAttemptPipeline(const std::filesystem::path& dir,
                                             const std::string& partner,
                                             config::LoadOptions options) {
  if (!partner.empty()) options.only_partners = std::vector<std::string>{partner};
  return LoadCheckedPipeline(dir, std::move(options));
}

}  // namespace sluice::tasks
