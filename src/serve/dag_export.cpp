#include "serve/dag_export.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace sluice::serve {

namespace {

// Box geometry of the SVG, in pixels.
constexpr int kBoxWidth = 180;
constexpr int kBoxHeight = 40;
constexpr int kColumnGap = 70;
constexpr int kRowGap = 24;
constexpr int kMargin = 20;

std::string Kind(const config::TaskConfig& t) {
  return t.builtin.empty() ? std::string("command") : "builtin:" + t.builtin;
}

// Mermaid node ids: letters, digits and underscores only; the key goes in the label.
std::string MermaidId(size_t index) { return "t" + std::to_string(index); }

std::string MermaidLabel(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '"') {
      out += "#quot;";
    } else if (c == '<') {
      out += "#lt;";
    } else if (c == '>') {
      out += "#gt;";
    } else {
      out += c;
    }
  }
  return out;
}

std::string DotQuote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string EscapeHtml(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::vector<DagNode> LayOut(const config::WorkflowConfig& workflow) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < workflow.tasks.size(); ++i) index[workflow.tasks[i].task_key] = i;
  std::vector<DagNode> nodes;
  for (const auto& t : workflow.tasks) {
    DagNode n;
    n.task = t.task_key;
    n.kind = Kind(t);
    n.per_partner = t.for_each_partner;
    for (const std::string& d : t.depends_on) {
      if (index.count(d) > 0) n.depends_on.push_back(d);
    }
    nodes.push_back(std::move(n));
  }
  // Longest path from a root. Relaxed |tasks| times so a file order that is not topological
  // still converges; a cycle (refused by validation) stops at that bound.
  for (size_t pass = 0; pass < nodes.size(); ++pass) {
    bool changed = false;
    for (auto& n : nodes) {
      for (const std::string& d : n.depends_on) {
        int want = nodes[index[d]].layer + 1;
        if (want > n.layer && want <= static_cast<int>(nodes.size())) {
          n.layer = want;
          changed = true;
        }
      }
    }
    if (!changed) break;
  }
  std::map<int, int> rows;
  for (auto& n : nodes) n.row = rows[n.layer]++;
  return nodes;
}

std::string DagToDot(const config::WorkflowConfig& workflow) {
  std::string out =
      "digraph " + DotQuote(workflow.name) + " {\n  rankdir=LR;\n  node [shape=box];\n";
  for (const DagNode& n : LayOut(workflow)) {
    out += "  " + DotQuote(n.task) +
           " [label=" + DotQuote(n.task + (n.per_partner ? "\n(per partner)" : "")) + "];\n";
  }
  for (const DagNode& n : LayOut(workflow)) {
    for (const std::string& d : n.depends_on) {
      out += "  " + DotQuote(d) + " -> " + DotQuote(n.task) + ";\n";
    }
  }
  return out + "}\n";
}

std::string DagToMermaid(const config::WorkflowConfig& workflow) {
  std::vector<DagNode> nodes = LayOut(workflow);
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < nodes.size(); ++i) index[nodes[i].task] = i;
  std::string out = "flowchart LR\n";
  for (size_t i = 0; i < nodes.size(); ++i) {
    const DagNode& n = nodes[i];
    std::string label = MermaidLabel(n.task) + (n.per_partner ? " (per partner)" : "");
    // A per-partner task is drawn as a stack ([[ ]]), the others as a box.
    out += "  " + MermaidId(i) + (n.per_partner ? "[[\"" : "[\"") + label +
           (n.per_partner ? "\"]]\n" : "\"]\n");
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (const std::string& d : nodes[i].depends_on) {
      out += "  " + MermaidId(index[d]) + " --> " + MermaidId(i) + "\n";
    }
  }
  return out;
}

std::string DagToSvg(const config::WorkflowConfig& workflow) {
  std::vector<DagNode> nodes = LayOut(workflow);
  std::map<std::string, const DagNode*> by_task;
  int layers = 0, rows = 0;
  for (const DagNode& n : nodes) {
    by_task[n.task] = &n;
    layers = std::max(layers, n.layer + 1);
    rows = std::max(rows, n.row + 1);
  }
  auto x = [](const DagNode& n) { return kMargin + n.layer * (kBoxWidth + kColumnGap); };
  auto y = [](const DagNode& n) { return kMargin + n.row * (kBoxHeight + kRowGap); };
  const int width = 2 * kMargin + layers * kBoxWidth + std::max(0, layers - 1) * kColumnGap;
  const int height = 2 * kMargin + rows * kBoxHeight + std::max(0, rows - 1) * kRowGap;
  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<title>{2}</title>\n"
      "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" "
      "markerWidth=\"8\" markerHeight=\"8\" orient=\"auto\"><path d=\"M0,0L10,5L0,10z\" "
      "fill=\"#555\"/></marker></defs>\n",
      width, height, EscapeHtml(workflow.name));
  for (const DagNode& n : nodes) {
    for (const std::string& d : n.depends_on) {
      const DagNode& from = *by_task[d];
      out += fmt::format(
          "<path d=\"M{},{} C{},{} {},{} {},{}\" fill=\"none\" stroke=\"#555\" "
          "marker-end=\"url(#arrow)\"/>\n",
          x(from) + kBoxWidth, y(from) + kBoxHeight / 2, x(from) + kBoxWidth + kColumnGap / 2,
          y(from) + kBoxHeight / 2, x(n) - kColumnGap / 2, y(n) + kBoxHeight / 2, x(n),
          y(n) + kBoxHeight / 2);
    }
  }
  for (const DagNode& n : nodes) {
    // A per-partner task is drawn as a stack of two boxes.
    if (n.per_partner) {
      out += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"4\" fill=\"#eef\" "
          "stroke=\"#669\"/>\n",
          x(n) + 4, y(n) - 4, kBoxWidth, kBoxHeight);
    }
    out += fmt::format(
        "<g><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"4\" fill=\"#fff\" "
        "stroke=\"#669\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>"
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#666\" font-size=\"10\">{}</text>"
        "</g>\n",
        x(n), y(n), kBoxWidth, kBoxHeight, x(n) + kBoxWidth / 2, y(n) + 17, EscapeHtml(n.task),
        x(n) + kBoxWidth / 2, y(n) + 31,
        EscapeHtml(n.kind + (n.per_partner ? " \xC2\xB7 per partner" : "")));
  }
  return out + "</svg>\n";
}

nlohmann::json DagJson(const config::WorkflowConfig& workflow) {
  nlohmann::json list = nlohmann::json::array();
  for (const DagNode& n : LayOut(workflow)) {
    list.push_back({{"task", n.task},
                    {"kind", n.kind},
                    {"per_partner", n.per_partner},
                    {"layer", n.layer},
                    {"row", n.row},
                    {"depends_on", n.depends_on}});
  }
  return {{"workflow", workflow.name}, {"nodes", list}};
}

}  // namespace sluice::serve
