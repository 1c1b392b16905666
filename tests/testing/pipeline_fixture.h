// tests/testing/pipeline_fixture.h: writes a small valid pipeline folder for tests to modify.
#pragma once

#include <string>

#include "testing/temp_dir.h"

namespace sluice::testing {

inline const char* kSluiceYaml = R"(name: test_pipeline
timezone: UTC
store: file://./data
warehouse: sqlite://./warehouse
ledger: sqlite://./state/ledger.db
parallelism: 2
)";

inline const char* kWorkflowYaml = R"(name: test_pipeline
tasks:
  - task_key: pre_set_date
    builtin: set_date
  - task_key: batch_extract
    depends_on: [pre_set_date]
    builtin: extract
    for_each: partner
    max_retries: 2
    timeout_seconds: 600
  - task_key: merge_orders
    depends_on: [{task_key: batch_extract}]
    builtin: merge
    for_each: partner
    params: {table: orders}
)";

inline std::string PartnerYaml(const std::string& id) {
  return "id: " + id + "\nname: Partner " + id + "\narchive: \"" + id +
         "_{date:%Y%m%d}.tar.gz\"\n"
         "complete: {marker: _SUCCESS}\n"
         "csv: {encoding: utf-8, delimiter: \",\", header: true, null_values: [\"\", NULL]}\n"
         "tables:\n  orders: {file: \"orders*.csv\"}\n";
}

inline const char* kOrdersSchema = R"JSON({
  "table": "orders",
  "columns": [
    {"name": "order_id", "type": "int64", "nullable": false, "aliases": ["OrderID"]},
    {"name": "amount", "type": "decimal(12,2)"},
    {"name": "status", "type": "string", "max_length": 16}
  ],
  "primary_key": ["order_id"],
  "merge": "upsert",
  "checks": [{"type": "unique", "columns": ["order_id"]}]
}
)JSON";

// Writes sluice.yaml, workflow.yaml and partners acme and globex into `dir`.
inline void WriteSamplePipeline(const TempDir& dir) {
  dir.Write("sluice.yaml", kSluiceYaml);
  dir.Write("workflow.yaml", kWorkflowYaml);
  for (const char* id : {"acme", "globex"}) {
    dir.Write(std::string("partners/") + id + "/partner.yaml", PartnerYaml(id));
    dir.Write(std::string("partners/") + id + "/schemas/orders.json", kOrdersSchema);
  }
}

}  // namespace sluice::testing
