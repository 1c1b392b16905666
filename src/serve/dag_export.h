// serve/dag_export.h: the workflow's task graph, laid out in layers, and written as Graphviz
// dot, Mermaid or a self-drawn SVG (`sluice dag`), or as JSON for the dashboard's DAG view.
//
// Nodes are tasks (a `for_each: partner` task is one node standing for all its partners'
// instances); edges are `depends_on`. Layout: a task's layer is the length of the longest path from
// a task without upstreams; within a layer, tasks keep file order. No graphviz needed.
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/pipeline_config.h"

namespace sluice::serve {

struct DagNode {
  std::string task;
  std::string kind;  // "builtin:merge" or "command"
  bool per_partner = false;
  int layer = 0;
  int row = 0;  // position within the layer
  std::vector<std::string> depends_on;
};

// The tasks of `workflow` with their layer and row. Depends_on naming an unknown task is ignored
// (validation reports it).
std::vector<DagNode> LayOut(const config::WorkflowConfig& workflow);

// Graphviz dot, Mermaid flowchart, or SVG (boxes and arrows placed by LayOut). Task keys are
// quoted/escaped for each format.
std::string DagToDot(const config::WorkflowConfig& workflow);
std::string DagToMermaid(const config::WorkflowConfig& workflow);
std::string DagToSvg(const config::WorkflowConfig& workflow);

// {"workflow", "nodes": [{task, kind, per_partner, layer, row, depends_on}]} for /api/dag.
nlohmann::json DagJson(const config::WorkflowConfig& workflow);

// `text` escaped for HTML and XML text and attribute values (& < > " ').
std::string EscapeHtml(std::string_view text);

}  // namespace sluice::serve
