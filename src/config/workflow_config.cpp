// Reading and validation of workflow.yaml (the Databricks Jobs task shape plus builtin/command).
#include <algorithm>
#include <functional>
#include <set>

#include "config/pipeline_config.h"
#include "core/strings.h"

namespace sluice::config {

std::string_view RunIfName(RunIf run_if) {
  switch (run_if) {
    case RunIf::kAllSuccess:
      return "ALL_SUCCESS";
    case RunIf::kAllDone:
      return "ALL_DONE";
    case RunIf::kNoneFailed:
      return "NONE_FAILED";
    case RunIf::kAtLeastOneSuccess:
      return "AT_LEAST_ONE_SUCCESS";
    case RunIf::kAtLeastOneFailed:
      return "AT_LEAST_ONE_FAILED";
    case RunIf::kAllFailed:
      return "ALL_FAILED";
  }
  return "ALL_SUCCESS";
}

const std::vector<std::string>& BuiltinNames() {
  static const std::vector<std::string> kNames = {
      "set_date", "wait_for_sources", "extract", "merge", "summary", "check", "sql"};
  return kNames;
}

const TaskConfig* WorkflowConfig::Find(std::string_view task_key) const {
  for (const TaskConfig& t : tasks) {
    if (t.task_key == task_key) return &t;
  }
  return nullptr;
}

namespace {

// Databricks task keys that sluice accepts and ignores, so a Databricks job file runs as is.
const std::vector<std::string>& DatabricksTaskKeys() {
  static const std::vector<std::string> kKeys = {"notebook_task",
                                                 "spark_python_task",
                                                 "python_wheel_task",
                                                 "job_cluster_key",
                                                 "existing_cluster_id",
                                                 "new_cluster",
                                                 "libraries",
                                                 "email_notifications",
                                                 "webhook_notifications",
                                                 "notification_settings",
                                                 "health",
                                                 "description",
                                                 "spark_jar_task",
                                                 "spark_submit_task",
                                                 "sql_task",
                                                 "dbt_task",
                                                 "pipeline_task",
                                                 "run_job_task",
                                                 "environment_key",
                                                 "disable_auto_optimization"};
  return kKeys;
}

const std::vector<std::string>& DatabricksJobKeys() {
  static const std::vector<std::string> kKeys = {"job_clusters",
                                                 "email_notifications",
                                                 "webhook_notifications",
                                                 "notification_settings",
                                                 "schedule",
                                                 "trigger",
                                                 "continuous",
                                                 "tags",
                                                 "max_concurrent_runs",
                                                 "format",
                                                 "timeout_seconds",
                                                 "health",
                                                 "parameters",
                                                 "git_source",
                                                 "queue",
                                                 "run_as",
                                                 "environments",
                                                 "description",
                                                 "edit_mode",
                                                 "deployment"};
  return kKeys;
}

std::optional<RunIf> ParseRunIf(std::string_view s) {
  static const std::pair<const char*, RunIf> kTable[] = {
      {"ALL_SUCCESS", RunIf::kAllSuccess},
      {"ALL_DONE", RunIf::kAllDone},
      {"NONE_FAILED", RunIf::kNoneFailed},
      {"AT_LEAST_ONE_SUCCESS", RunIf::kAtLeastOneSuccess},
      {"AT_LEAST_ONE_FAILED", RunIf::kAtLeastOneFailed},
      {"ALL_FAILED", RunIf::kAllFailed}};
  for (const auto& [name, value] : kTable) {
    if (s == name) return value;
  }
  return std::nullopt;
}

TaskConfig ReadTask(const Node& node, Diagnostics* diags) {
  TaskConfig t;
  t.loc = node.location();
  std::string what = "task";
  if (node.IsMap()) {
    if (const Node* k = node.Get("task_key"); k != nullptr && k->IsScalar()) {
      what = "task \"" + k->scalar() + "\"";
    }
  }
  MapReader r(node, what, diags);
  if (auto v = r.String("task_key", true)) {
    t.task_key = *v;
    if (!IsValidIdentifier(*v)) {
      r.ErrorAtKey("task_key", "\"" + *v +
                                   "\" is not a valid task_key: use letters, digits and _ "
                                   "(starting with a letter or _), at most 63 characters");
    }
  }
  if (const Node* deps = r.Value("depends_on")) {
    if (!deps->IsSequence()) {
      r.ErrorAt(*deps, "\"depends_on\" must be a list, got " + deps->KindName());
    } else {
      for (const Node& d : deps->items()) {
        if (d.IsScalar()) {
          t.depends_on.push_back(d.scalar());
        } else if (d.IsMap()) {
          // Databricks: [{task_key: x}] (with an optional outcome for condition tasks).
          MapReader dr(d, what + " depends_on item", diags);
          if (auto k = dr.String("task_key", true)) t.depends_on.push_back(*k);
          dr.Ignore("outcome", "condition tasks are not supported; the dependency is kept");
          dr.Finish();
        } else {
          r.ErrorAt(d, "each \"depends_on\" item must be a task_key or {task_key: ...}");
        }
      }
    }
  }
  if (auto v = r.String("builtin")) t.builtin = *v;
  if (auto v = r.String("command")) t.command = *v;
  if (auto v = r.String("for_each")) {
    if (*v == "partner") {
      t.for_each_partner = true;
    } else {
      r.ErrorAtKey("for_each", "\"" + *v + "\" is not supported; the only value is \"partner\"");
    }
  }
  if (auto v = r.Int("max_retries", false, -1, 1000)) {
    // Databricks uses -1 for "retry forever"; sluice caps it to keep runs finite.
    t.max_retries = *v < 0 ? 1000 : static_cast<int>(*v);
  }
  if (auto v = r.Int("min_retry_interval_millis", false, 0, 86'400'000)) {
    t.min_retry_interval_millis = *v;
  }
  if (auto v = r.Bool("retry_on_timeout")) t.retry_on_timeout = *v;
  if (auto v = r.Int("timeout_seconds", false, 0)) t.timeout_seconds = *v;
  if (auto v = r.String("run_if")) {
    if (auto parsed = ParseRunIf(*v)) {
      t.run_if = *parsed;
    } else {
      static const std::vector<std::string> kNames = {"ALL_SUCCESS",         "ALL_DONE",
                                                      "NONE_FAILED",         "AT_LEAST_ONE_SUCCESS",
                                                      "AT_LEAST_ONE_FAILED", "ALL_FAILED"};
      r.ErrorAtKey("run_if", "unknown run_if \"" + *v + "\"" + DidYouMean(*v, kNames) +
                                 "; use one of " + Join(kNames, ", "));
    }
  }
  if (const Node* res = r.Value("resources")) {
    // Per-task requests for a cluster executor (Slurm): cpus, memory, time_limit_seconds.
    MapReader rr(*res, what + " resources", diags);
    if (auto v = rr.Int("cpus", false, 1, 4096)) t.resources.cpus = static_cast<int>(*v);
    if (auto v = rr.ByteSize("memory")) {
      if (*v < (int64_t{1} << 20)) {
        rr.ErrorAtKey("memory", "\"memory\" must be at least 1MiB (e.g. 512MiB, 4GiB)");
      } else {
        t.resources.memory_bytes = *v;
      }
    }
    if (auto v = rr.Int("time_limit_seconds", false, 1, 365 * 86400)) {
      t.resources.time_limit_seconds = *v;
    }
    rr.Finish();
  }
  if (const Node* p = r.Value("params")) {
    if (!p->IsMap()) {
      r.ErrorAt(*p, "\"params\" must be a map, got " + p->KindName());
    } else {
      t.params = *p;
    }
  }
  if (t.params.kind() != Node::Kind::kMap) t.params = Node(Node::Kind::kMap, t.loc);
  for (const std::string& key : DatabricksTaskKeys()) {
    r.Ignore(key, "Databricks-only; sluice runs the task's builtin or command");
  }
  if (r.ok()) {
    if (t.builtin.empty() && t.command.empty() && r.Has("command")) {
      diags->Error(t.loc, what + ": \"command\" is empty; give the shell command to run");
    } else if (t.builtin.empty() && t.command.empty()) {
      diags->Error(t.loc, what + ": set one of \"builtin\" (" + Join(BuiltinNames(), ", ") +
                              ") or \"command\"");
    } else if (!t.builtin.empty() && !t.command.empty()) {
      diags->Error(t.loc, what + ": set only one of \"builtin\" and \"command\", not both");
    } else if (!t.builtin.empty()) {
      const auto& names = BuiltinNames();
      if (std::find(names.begin(), names.end(), t.builtin) == names.end()) {
        r.ErrorAtKey("builtin", "unknown builtin \"" + t.builtin + "\"" +
                                    DidYouMean(t.builtin, names) +
                                    "; known builtins: " + Join(names, ", "));
      }
    }
  }
  r.Finish();
  return t;
}

}  // namespace

WorkflowConfig ReadWorkflow(const Node& root, Diagnostics* diags) {
  WorkflowConfig w;
  w.loc = root.location();
  MapReader r(root, "workflow", diags);
  if (auto v = r.String("name")) w.name = *v;
  if (const Node* tasks = r.Value("tasks", true)) {
    if (!tasks->IsSequence()) {
      r.ErrorAt(*tasks, "\"tasks\" must be a list, got " + tasks->KindName());
    } else {
      for (const Node& item : tasks->items()) w.tasks.push_back(ReadTask(item, diags));
    }
  }
  for (const std::string& key : DatabricksJobKeys()) {
    r.Ignore(key, "Databricks job setting; sluice does not use it");
  }
  r.Finish();

  // Cross-task checks: duplicates, unknown dependencies, cycles.
  std::map<std::string, const TaskConfig*> by_key;
  for (const TaskConfig& t : w.tasks) {
    if (t.task_key.empty()) continue;
    auto [it, inserted] = by_key.emplace(t.task_key, &t);
    if (!inserted) {
      diags->Error(t.loc, "duplicate task_key \"" + t.task_key + "\" (first defined at " +
                              it->second->loc.ToString() + ")");
    }
  }
  std::vector<std::string> keys;
  for (const auto& [k, _] : by_key) keys.push_back(k);
  bool deps_ok = true;
  for (const TaskConfig& t : w.tasks) {
    std::set<std::string> seen;
    for (const std::string& d : t.depends_on) {
      if (!by_key.count(d)) {
        diags->Error(t.loc, "task \"" + t.task_key + "\" depends on unknown task \"" + d + "\"" +
                                DidYouMean(d, keys));
        deps_ok = false;
      } else if (d == t.task_key) {
        diags->Error(t.loc, "task \"" + t.task_key + "\" depends on itself");
        deps_ok = false;
      } else if (!seen.insert(d).second) {
        diags->Error(t.loc, "task \"" + t.task_key + "\" lists dependency \"" + d + "\" twice");
      }
    }
  }
  if (deps_ok) {
    // Depth-first search; a grey node reached again closes a cycle, which we print in order.
    std::map<std::string, int> color;  // 0 white, 1 grey, 2 black
    std::vector<std::string> path;
    bool reported = false;
    std::function<void(const TaskConfig&)> visit = [&](const TaskConfig& t) {
      color[t.task_key] = 1;
      path.push_back(t.task_key);
      for (const std::string& d : t.depends_on) {
        if (reported) break;
        if (color[d] == 1) {
          auto start = std::find(path.begin(), path.end(), d);
          std::vector<std::string> cycle(start, path.end());
          cycle.push_back(d);
          // `path` runs from dependents to dependencies; print the cycle as "a -> b" edges.
          diags->Error(by_key[d]->loc, "dependency cycle: " + Join(cycle, " -> depends on -> "));
          reported = true;
        } else if (color[d] == 0) {
          visit(*by_key[d]);
        }
      }
      path.pop_back();
      color[t.task_key] = 2;
    };
    for (const TaskConfig& t : w.tasks) {
      if (!reported && !t.task_key.empty() && color[t.task_key] == 0) visit(t);
    }
  }
  return w;
}

}  // namespace sluice::config
