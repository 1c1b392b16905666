#include "serve/report.h"

#include <set>

#include "core/logging.h"
#include "serve/assets.h"

namespace sluice::serve {

namespace {

// Replaces the first `marker` in `page` with `with`.
void ReplaceOnce(std::string& page, std::string_view marker, const std::string& with) {
  size_t at = page.find(marker);
  if (at != std::string::npos) page.replace(at, marker.size(), with);
}

}  // namespace

std::string JsonForScript(const nlohmann::json& json) {
  std::string text = json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else {
      out += c;
    }
  }
  return out;
}

Result<std::string> RenderReport(Backend& backend, const std::string& run_id) {
  SLUICE_ASSIGN_OR_RETURN(nlohmann::json run, backend.Run(run_id));
  nlohmann::json logs = nlohmann::json::object();
  nlohmann::json rejects = nlohmann::json::object();
  std::set<std::pair<std::string, std::string>> reject_keys;
  for (const auto& i : run["instances"]) {
    const std::string task = i.value("task", "");
    const std::string partner = i.value("partner", "");
    for (const auto& a : i["history"]) {
      if (a.value("state", "") == "success") continue;
      const int attempt = a.value("attempt", 0);
      bool truncated = false;
      auto text = backend.Log(run_id, task, partner, attempt, 64 * 1024, &truncated);
      if (!text.ok()) continue;
      logs[task + "|" + partner + "|" + std::to_string(attempt)] =
          (truncated ? std::string("[... earlier lines left out ...]\n") : std::string()) + *text;
    }
    // Each merged table of a partner that rejected rows: a merge's result is one table's stats
    // ({"table", "rows_rejected", ...}) or several ({"tables": {name: stats}}).
    const auto& result = i["result"];
    if (!partner.empty() && result.is_object()) {
      if (result.contains("tables") && result["tables"].is_object()) {
        for (const auto& [table, stats] : result["tables"].items()) {
          if (stats.is_object() && stats.value("rows_rejected", int64_t{0}) > 0) {
            reject_keys.insert({partner, table});
          }
        }
      } else if (result.value("rows_rejected", int64_t{0}) > 0) {
        reject_keys.insert({partner, result.value("table", "")});
      }
    }
  }
  for (const auto& [partner, table] : reject_keys) {
    auto r = backend.Rejects(run_id, partner, table, 20);
    if (r.ok()) rejects[partner + "|" + table] = *r;
  }
  nlohmann::json data = {{"mode", "report"},
                         {"run", run},
                         {"dag", backend.Dag()},
                         {"logs", logs},
                         {"rejects", rejects}};
  std::string page(FindAsset("index.html"));
  // The served page links its assets; the report carries them inline.
  ReplaceOnce(page, "<link rel=\"stylesheet\" href=\"assets/app.css\">",
              "<style>\n" + std::string(FindAsset("app.css")) + "\n</style>");
  ReplaceOnce(page, "<script src=\"assets/app.js\"></script>",
              "<script id=\"sluice-data\" type=\"application/json\">" +
                  log::Redact(JsonForScript(data)) + "</script>\n<script>\n" +
                  std::string(FindAsset("app.js")) + "\n</script>");
  return page;
}

}  // namespace sluice::serve
