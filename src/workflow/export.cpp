// workflow/export.cpp: see export.h. One function per target over the same expanded instances.
#include "workflow/export.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>

#include "core/strings.h"
#include "workflow/dag.h"
#include "workflow/shell_quote.h"

namespace sluice::workflow {

namespace {

using Json = nlohmann::ordered_json;

// Databricks takes at most this many tasks in one job.
constexpr size_t kDatabricksMaxTasks = 1000;

// One task instance as the target names it.
struct Task {
  const InstanceNode* node = nullptr;
  std::string name;
};

// The instances of the run for `partners`, named by `name_of(task_key, partner)`. An
// InvalidArgument names two instances that would get the same name.
template <typename NameOf>
Result<std::vector<Task>> NameInstances(const std::vector<InstanceNode>& nodes, const char* target,
                                        NameOf name_of) {
  std::vector<Task> out;
  std::map<std::string, const InstanceNode*> seen;
  for (const InstanceNode& n : nodes) {
    Task t{&n, name_of(n.task->task_key, n.partner)};
    auto [it, inserted] = seen.emplace(t.name, &n);
    if (!inserted) {
      return Status::InvalidArgument(std::string(target) + " export: instances " +
                                     it->second->Name() + " and " + n.Name() +
                                     " would both be named \"" + t.name + "\" (" + target +
                                     " names allow fewer characters); rename a task or partner");
    }
    out.push_back(std::move(t));
  }
  return out;
}

// `sluice task exec ...` for one instance; run, date and attempt are the target's expressions
// (attempt "" leaves --attempt out).
std::vector<std::string> ExecArgs(const ExportOptions& o, const InstanceNode& n,
                                  const std::string& run, const std::string& date,
                                  const std::string& attempt) {
  std::vector<std::string> args = {"task",   "exec",           o.dir,    "--run", run,
                                   "--task", n.task->task_key, "--date", date};
  if (!n.partner.empty()) {
    args.push_back("--partner");
    args.push_back(n.partner);
  }
  if (!attempt.empty()) {
    args.push_back("--attempt");
    args.push_back(attempt);
  }
  return args;
}

// The environment a sluice attempt gets (driver.cpp), as (name, value) in a fixed order.
std::vector<std::pair<std::string, std::string>> ExecEnv(const ExportOptions& o,
                                                         const InstanceNode& n,
                                                         const std::string& run,
                                                         const std::string& date) {
  return {{"SLUICE_RUN_ID", run},
          {"SLUICE_DATE", date},
          {"SLUICE_PARTNER", n.partner},
          {"SLUICE_PARTNERS", Join(o.partners, ",")},
          {"SLUICE_TASK", n.task->task_key},
          {"SLUICE_PIPELINE_DIR", o.dir}};
}

// A Python string literal (single-quoted; control characters escaped; UTF-8 kept).
std::string PyStr(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\'':
        out += "\\'";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          static const char* kHex = "0123456789abcdef";
          out += "\\x";
          out.push_back(kHex[(c >> 4) & 0xf]);
          out.push_back(kHex[c & 0xf]);
        } else {
          out.push_back(c);
        }
    }
  }
  return out + "'";
}

// The hard limit an orchestrator enforces on one attempt, in seconds (0: none): the task's
// timeout_seconds, or its resources' time_limit_seconds (Slurm's --time) if that is set and
// shorter, as the cluster kills the attempt at whichever comes first.
int64_t AttemptLimitSeconds(const config::TaskConfig& t) {
  const int64_t a = t.timeout_seconds, b = t.resources.time_limit_seconds;
  if (a > 0 && b > 0) return std::min(a, b);
  return a > 0 ? a : b;
}

// Memory in whole MiB, rounded up (as Slurm's --mem is written).
int64_t MemoryMiB(int64_t bytes) { return (bytes + (1 << 20) - 1) >> 20; }

// ---- Airflow -------------------------------------------------------------------------------

std::string AirflowTriggerRule(config::RunIf r) {
  switch (r) {
    case config::RunIf::kAllSuccess:
      return "all_success";
    case config::RunIf::kAllDone:
      return "all_done";
    case config::RunIf::kNoneFailed:
      return "none_failed";
    case config::RunIf::kAtLeastOneSuccess:
      return "one_success";
    case config::RunIf::kAtLeastOneFailed:
      return "one_failed";
    case config::RunIf::kAllFailed:
      return "all_failed";
  }
  return "all_success";
}

Result<std::string> ExportAirflow(const config::Pipeline& p, const std::vector<InstanceNode>& nodes,
                                  const ExportOptions& o, int parallelism) {
  // Airflow task ids: letters, digits, '-', '.', '_'.
  SLUICE_ASSIGN_OR_RETURN(
      std::vector<Task> tasks,
      NameInstances(nodes, "airflow", [](const std::string& key, const std::string& partner) {
        return partner.empty() ? key : key + "." + partner;
      }));
  const std::string run = "{{ run_id }}", date = "{{ ds }}";
  std::string py =
      "# Generated by `sluice export --to airflow` from the workflow \"" + p.workflow.name +
      "\"\n# (" + std::to_string(tasks.size()) +
      " task instances). Edit workflow.yaml and export again rather than this file.\n"
      "# Each task runs `sluice task exec` on a worker that sees the pipeline folder; keep the\n"
      "# store on S3 and the ledger and warehouse on PostgreSQL so every worker shares them.\n"
      "import datetime\n\n"
      "from airflow import DAG\n"
      "from airflow.operators.bash import BashOperator\n\n"
      "with DAG(\n"
      "    dag_id=" +
      PyStr(p.workflow.name) +
      ",\n"
      "    schedule=None,\n"
      "    start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),\n"
      "    catchup=False,\n"
      "    max_active_tasks=" +
      std::to_string(parallelism) +
      ",\n"
      "    tags=['sluice'],\n"
      ") as dag:\n";
  std::map<const InstanceNode*, size_t> index;
  for (size_t i = 0; i < tasks.size(); ++i) index[tasks[i].node] = i;
  for (size_t i = 0; i < tasks.size(); ++i) {
    const InstanceNode& n = *tasks[i].node;
    const config::TaskConfig& t = *n.task;
    std::string command = ShellQuote(o.sluice);
    for (const std::string& a : ExecArgs(o, n, run, date, "{{ ti.try_number }}")) {
      command += " " + ShellQuote(a);
    }
    py += "    t" + std::to_string(i) + " = BashOperator(\n";
    py += "        task_id=" + PyStr(tasks[i].name) + ",\n";
    py += "        bash_command=" + PyStr(command) + ",\n";
    py += "        env={";
    bool first = true;
    for (const auto& [k, v] : ExecEnv(o, n, run, date)) {
      py += std::string(first ? "" : ", ") + PyStr(k) + ": " + PyStr(v);
      first = false;
    }
    py += "},\n        append_env=True,\n";
    py += "        retries=" + std::to_string(t.max_retries) + ",\n";
    py += "        retry_delay=datetime.timedelta(milliseconds=" +
          std::to_string(t.min_retry_interval_millis) + "),\n";
    py += "        retry_exponential_backoff=True,\n";
    if (const int64_t limit = AttemptLimitSeconds(t); limit > 0) {
      py +=
          "        execution_timeout=datetime.timedelta(seconds=" + std::to_string(limit) + "),\n";
    }
    if (t.resources.cpus > 0 || t.resources.memory_bytes > 0) {
      // BaseOperator's `resources`: the arguments of airflow.utils.operator_resources.Resources
      // (ram in MB), which executors that place tasks by size read.
      py += "        resources={";
      if (t.resources.cpus > 0) py += "'cpus': " + std::to_string(t.resources.cpus);
      if (t.resources.cpus > 0 && t.resources.memory_bytes > 0) py += ", ";
      if (t.resources.memory_bytes > 0) {
        py += "'ram': " + std::to_string(MemoryMiB(t.resources.memory_bytes));
      }
      py += "},\n";
    }
    py += "        trigger_rule=" + PyStr(AirflowTriggerRule(t.run_if)) + ",\n";
    py += "    )\n";
  }
  bool any_edge = false;
  for (size_t i = 0; i < tasks.size(); ++i) {
    for (int d : tasks[i].node->deps) {
      if (!any_edge) py += "\n";
      any_edge = true;
      py += "    t" + std::to_string(index.at(&nodes[static_cast<size_t>(d)])) + " >> t" +
            std::to_string(i) + "\n";
    }
  }
  return py;
}

// ---- Databricks ----------------------------------------------------------------------------

Result<std::string> ExportDatabricks(const config::Pipeline& p,
                                     const std::vector<InstanceNode>& nodes, const ExportOptions& o,
                                     int parallelism) {
  // Databricks task keys: letters, digits, '_' and '-', at most 100 characters.
  SLUICE_ASSIGN_OR_RETURN(
      std::vector<Task> tasks,
      NameInstances(nodes, "databricks", [](const std::string& key, const std::string& partner) {
        return partner.empty() ? key : key + "__" + partner;
      }));
  if (tasks.size() > kDatabricksMaxTasks) {
    return Status::InvalidArgument("databricks export: " + std::to_string(tasks.size()) +
                                   " task instances, but a job takes "
                                   "at most " +
                                   std::to_string(kDatabricksMaxTasks) +
                                   "; export the partners in groups (--partners) as one job each");
  }
  for (const Task& t : tasks) {
    if (t.name.size() > 100) {
      return Status::InvalidArgument("databricks export: task key \"" + t.name +
                                     "\" is longer than 100 characters; shorten the task or "
                                     "partner id");
    }
  }
  const std::string run = "{{job.run_id}}", date = "{{job.parameters.date}}";
  Json list = Json::array();
  for (const Task& task : tasks) {
    const InstanceNode& n = *task.node;
    const config::TaskConfig& t = *n.task;
    // The wrapper's parameters: NAME=VALUE environment entries, "--", then the command line.
    Json params = Json::array();
    for (const auto& [k, v] : ExecEnv(o, n, run, date)) params.push_back(k + "=" + v);
    params.push_back("--");
    params.push_back(o.sluice);
    for (const std::string& a : ExecArgs(o, n, run, date, "")) params.push_back(a);
    Json j = {{"task_key", task.name}};
    if (!n.deps.empty()) {
      Json deps = Json::array();
      for (int d : n.deps) {
        for (const Task& other : tasks) {
          if (other.node == &nodes[static_cast<size_t>(d)]) {
            deps.push_back({{"task_key", other.name}});
          }
        }
      }
      j["depends_on"] = deps;
      j["run_if"] = std::string(config::RunIfName(t.run_if));
    }
    j["spark_python_task"] = {{"python_file", o.databricks_python_file}, {"parameters", params}};
    j["max_retries"] = t.max_retries;
    j["min_retry_interval_millis"] = t.min_retry_interval_millis;
    j["retry_on_timeout"] = t.retry_on_timeout;
    // cpus and memory are the job cluster's (its node type), not a task's: see docs/cli.md.
    if (const int64_t limit = AttemptLimitSeconds(t); limit > 0) j["timeout_seconds"] = limit;
    list.push_back(std::move(j));
  }
  Json job = {
      {"name", p.workflow.name},
      {"tags", {{"generated-by", "sluice-export"}}},
      {"max_concurrent_runs", 1},
      {"parameters", Json::array({{{"name", "date"}, {"default", "{{job.start_time.iso_date}}"}}})},
      {"tasks", list}};
  (void)parallelism;  // Databricks runs every ready task; concurrency is the cluster's.
  return job.dump(2) + "\n";
}

// ---- Argo ----------------------------------------------------------------------------------

// A Kubernetes-style name: lower-case letters, digits and '-' ("batch_extract" -> "batch-extract").
std::string ArgoName(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') {
      out.push_back(static_cast<char>(c - 'A' + 'a'));
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') {
      out.push_back(c);
    } else {
      out.push_back('-');
    }
  }
  while (!out.empty() && out.front() == '-') out.erase(out.begin());
  return out.empty() ? "x" : out;
}

// Argo's `depends` expression for `run_if` over the upstream DAG tasks `ups` ("failed" is
// Failed or Errored, as sluice's failed includes timed out).
std::string ArgoDepends(config::RunIf r, const std::vector<std::string>& ups) {
  // `f` for each upstream task (its name for '@'), joined by `op`.
  auto each = [&](const std::string& f, const char* op) {
    std::string out;
    for (const std::string& u : ups) {
      std::string e = f;
      for (size_t at = e.find('@'); at != std::string::npos; at = e.find('@', at + u.size())) {
        e.replace(at, 1, u);
      }
      out += (out.empty() ? "" : std::string(" ") + op + " ") + "(" + e + ")";
    }
    return out;
  };
  switch (r) {
    case config::RunIf::kAllSuccess:
      return each("@.Succeeded", "&&");
    case config::RunIf::kAllDone:
      return each("@.Succeeded || @.Failed || @.Errored || @.Skipped || @.Omitted", "&&");
    case config::RunIf::kNoneFailed:
      return each("@.Succeeded || @.Skipped || @.Omitted", "&&");
    case config::RunIf::kAtLeastOneSuccess:
      return each("@.Succeeded", "||");
    case config::RunIf::kAtLeastOneFailed:
      return each("@.Failed || @.Errored", "||");
    case config::RunIf::kAllFailed:
      return each("@.Failed || @.Errored", "&&");
  }
  return each("@.Succeeded", "&&");
}

// `j` as block-style YAML (strings double-quoted as JSON spells them, which YAML reads alike).
void EmitYaml(const Json& j, int indent, std::string* out);

void EmitYamlValue(const Json& v, int indent, std::string* out) {
  if (v.is_object() && !v.empty()) {
    *out += "\n";
    EmitYaml(v, indent + 2, out);
  } else if (v.is_array() && !v.empty()) {
    *out += "\n";
    EmitYaml(v, indent, out);
  } else {
    *out += " " + v.dump() + "\n";
  }
}

void EmitYaml(const Json& j, int indent, std::string* out) {
  const std::string pad(static_cast<size_t>(indent), ' ');
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      *out += pad + k + ":";
      EmitYamlValue(v, indent, out);
    }
  } else if (j.is_array()) {
    for (const Json& item : j) {
      if (item.is_object() && !item.empty()) {
        // "- " then the map's keys, the first on the dash's line.
        std::string block;
        EmitYaml(item, indent + 2, &block);
        *out += pad + "- " + block.substr(static_cast<size_t>(indent) + 2);
      } else if (item.is_array() && !item.empty()) {
        *out += pad + "-\n";
        EmitYaml(item, indent + 2, out);
      } else {
        *out += pad + "- " + item.dump() + "\n";
      }
    }
  } else {
    *out += pad + j.dump() + "\n";
  }
}

Result<std::string> ExportArgo(const config::Pipeline& p, const std::vector<InstanceNode>& nodes,
                               const ExportOptions& o, int parallelism) {
  // Argo task and template names: [a-zA-Z0-9][-a-zA-Z0-9]*, at most 128 characters.
  SLUICE_ASSIGN_OR_RETURN(
      std::vector<Task> tasks,
      NameInstances(nodes, "argo", [](const std::string& key, const std::string& partner) {
        return ArgoName(key) + (partner.empty() ? "" : "--" + ArgoName(partner));
      }));
  for (const Task& t : tasks) {
    if (t.name.size() > 128) {
      return Status::InvalidArgument("argo export: task name \"" + t.name +
                                     "\" is longer than 128 characters; shorten the task or "
                                     "partner id");
    }
  }
  const std::string run = "{{workflow.name}}", date = "{{workflow.parameters.date}}";
  Json templates = Json::array();
  Json dag_tasks = Json::array();
  std::set<std::string> template_names;
  std::map<const InstanceNode*, std::string> name_of;
  for (const Task& t : tasks) name_of[t.node] = t.name;
  for (const config::TaskConfig& t : p.workflow.tasks) {
    const std::string name = "task-" + ArgoName(t.task_key);
    if (!template_names.insert(name).second) {
      return Status::InvalidArgument("argo export: two tasks would both be template \"" + name +
                                     "\"; rename one of them");
    }
    // One template per task; a per-partner task's partner is its input parameter.
    InstanceNode sample;
    sample.task = &t;
    if (t.for_each_partner) sample.partner = "{{inputs.parameters.partner}}";
    Json args = Json::array();
    for (const std::string& a : ExecArgs(o, sample, run, date, "")) args.push_back(a);
    Json env = Json::array();
    for (const auto& [k, v] : ExecEnv(o, sample, run, date)) {
      env.push_back({{"name", k}, {"value", v}});
    }
    Json tmpl = {{"name", name}};
    if (t.for_each_partner) {
      tmpl["inputs"] = {{"parameters", Json::array({{{"name", "partner"}}})}};
    }
    if (t.max_retries > 0) {
      // Kubernetes' IntOrString fields are strings in Argo's published schema.
      tmpl["retryStrategy"] = {
          {"limit", std::to_string(t.max_retries)},
          {"retryPolicy", "Always"},
          {"backoff",
           {{"duration", std::to_string(t.min_retry_interval_millis) + "ms"}, {"factor", "2"}}}};
    }
    if (const int64_t limit = AttemptLimitSeconds(t); limit > 0) {
      tmpl["activeDeadlineSeconds"] = std::to_string(limit);
    }
    tmpl["container"] = {{"image", o.argo_image},
                         {"command", Json::array({o.sluice})},
                         {"args", args},
                         {"env", env}};
    if (t.resources.cpus > 0 || t.resources.memory_bytes > 0) {
      // Kubernetes quantities: cpus requested; memory requested and the limit (past it the pod
      // is OOM-killed, as Slurm's --mem ends a job OUT_OF_MEMORY).
      Json requests = Json::object(), limits = Json::object();
      if (t.resources.cpus > 0) requests["cpu"] = std::to_string(t.resources.cpus);
      if (t.resources.memory_bytes > 0) {
        const std::string mem = std::to_string(MemoryMiB(t.resources.memory_bytes)) + "Mi";
        requests["memory"] = mem;
        limits["memory"] = mem;
      }
      Json res = {{"requests", requests}};
      if (!limits.empty()) res["limits"] = limits;
      tmpl["container"]["resources"] = res;
    }
    templates.push_back(std::move(tmpl));
  }
  for (const Task& task : tasks) {
    const InstanceNode& n = *task.node;
    Json jt = {{"name", task.name}, {"template", "task-" + ArgoName(n.task->task_key)}};
    if (!n.partner.empty()) {
      jt["arguments"] = {
          {"parameters", Json::array({{{"name", "partner"}, {"value", n.partner}}})}};
    }
    if (!n.deps.empty()) {
      std::vector<std::string> ups;
      for (int d : n.deps) ups.push_back(name_of.at(&nodes[static_cast<size_t>(d)]));
      jt["depends"] = ArgoDepends(n.task->run_if, ups);
    }
    dag_tasks.push_back(std::move(jt));
  }
  templates.insert(templates.begin(), Json{{"name", "main"}, {"dag", {{"tasks", dag_tasks}}}});
  Json spec = {{"entrypoint", "main"}};
  if (parallelism > 0) spec["parallelism"] = parallelism;
  spec["arguments"] = {{"parameters", Json::array({{{"name", "date"}}})}};
  spec["templates"] = templates;
  Json wf = {{"apiVersion", "argoproj.io/v1alpha1"},
             {"kind", "Workflow"},
             {"metadata",
              {{"generateName", ArgoName(p.workflow.name) + "-"},
               {"labels", {{"app.kubernetes.io/managed-by", "sluice-export"}}}}},
             {"spec", spec}};
  std::string yaml = "# Generated by `sluice export --to argo` from the workflow \"" +
                     p.workflow.name + "\" (" + std::to_string(tasks.size()) +
                     " task instances).\n# Submit with: argo submit FILE -p date=YYYY-MM-DD\n";
  EmitYaml(wf, 0, &yaml);
  return yaml;
}

}  // namespace

Result<std::string> ExportWorkflow(const config::Pipeline& pipeline, const ExportOptions& options) {
  const std::vector<InstanceNode> nodes = BuildInstances(pipeline.workflow, options.partners);
  const int parallelism =
      options.parallelism > 0 ? options.parallelism : std::max(0, pipeline.settings.parallelism);
  if (options.target == "airflow") {
    return ExportAirflow(pipeline, nodes, options, parallelism > 0 ? parallelism : 16);
  }
  if (options.target == "databricks")
    return ExportDatabricks(pipeline, nodes, options, parallelism);
  if (options.target == "argo") return ExportArgo(pipeline, nodes, options, parallelism);
  return Status::InvalidArgument("export: unknown target \"" + Printable(options.target) +
                                 "\"; use airflow, databricks or argo");
}

std::string DatabricksWrapper() {
  return R"(# sluice_task_exec.py: what each task of a job made by `sluice export --to databricks` runs.
# Parameters: NAME=VALUE environment entries, "--", then the command line (sluice task exec ...).
import os
import subprocess
import sys

args = sys.argv[1:]
split = args.index("--")
env = dict(os.environ)
for entry in args[:split]:
    name, _, value = entry.partition("=")
    env[name] = value
sys.exit(subprocess.call(args[split + 1:], env=env))
)";
}

}  // namespace sluice::workflow
