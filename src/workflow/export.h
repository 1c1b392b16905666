// workflow/export.h: the workflow written for an orchestrator a team already runs (`sluice
// export DIR --to airflow|databricks|argo`). Pure generation from the loaded pipeline: nothing
// is read or written but the returned text.
//
// Every target gets one task per task instance (the per-partner fan-out expanded, so each
// partner's chain is its own: B's failed extract blocks only B's merges), each calling
//   sluice task exec DIR --run RUN --task T [--partner P] --date D
// with the environment a sluice attempt gets (SLUICE_RUN_ID, SLUICE_DATE, SLUICE_PARTNER,
// SLUICE_PARTNERS, SLUICE_TASK, SLUICE_PIPELINE_DIR). Retries (max_retries, the backoff base
// doubled per attempt), timeouts and run_if are carried over as each target spells them. The
// run id and date come from the orchestrator's run (Airflow `run_id`/`ds`, Databricks
// `{{job.run_id}}` and the job parameter `date`, Argo `{{workflow.name}}` and the workflow
// parameter `date`). State shared between workers belongs on a shared store (S3) and a shared
// ledger and warehouse (PostgreSQL): the orchestrator's workers do not share this machine.
//
//   airflow     a DAG file (Python) that imports only Airflow and the standard library:
//               BashOperator per instance, `a >> b` per edge, trigger_rule from run_if.
//   databricks  a Jobs API 2.1 `jobs/create` request (JSON): spark_python_task per instance,
//               running a small wrapper (ExportOptions::databricks_python_file) that executes
//               its parameters (DatabricksWrapper() prints one); depends_on, run_if,
//               max_retries, min_retry_interval_millis, timeout_seconds as in workflow.yaml.
//   argo        an Argo Workflow manifest (YAML): one container template per task, a DAG task
//               per instance with `depends` from run_if, retryStrategy with exponential
//               backoff, activeDeadlineSeconds from timeout_seconds.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "config/pipeline_config.h"
#include "core/status.h"

namespace sluice::workflow {

struct ExportOptions {
  std::string target;                 // "airflow", "databricks" or "argo"
  std::vector<std::string> partners;  // resolved partner ids (ResolvePartners)
  // The pipeline folder and the sluice binary as the orchestrator's workers see them.
  std::string dir;
  std::string sluice = "sluice";
  std::string argo_image = "sluice:latest";  // the container image with sluice in it
  // Where the Databricks job finds the wrapper that runs `sluice task exec`.
  std::string databricks_python_file = "dbfs:/sluice/sluice_task_exec.py";
  int parallelism = 0;  // concurrent tasks (0: the pipeline's, else the target's default)
};

// The workflow of `pipeline` for options.target. InvalidArgument for an unknown target, a name
// the target cannot spell (two instances mapping to one name), or more tasks than the target
// takes in one job (Databricks: 1,000; then export part of the partners with --partners).
Result<std::string> ExportWorkflow(const config::Pipeline& pipeline, const ExportOptions& options);

// The Python wrapper a Databricks spark_python_task runs: executes its parameters (the sluice
// command line) and exits with its exit code.
std::string DatabricksWrapper();

}  // namespace sluice::workflow
