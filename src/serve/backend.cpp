#include "serve/backend.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/logging.h"
#include "serve/dag_export.h"
#include "store/object_store.h"
#include "views/run_views.h"
#include "warehouse/warehouse.h"
#include "workflow/dag.h"
#include "workflow/scheduler.h"

namespace sluice::serve {

namespace fs = std::filesystem;

namespace {

// Whether `path` (made absolute and normalised, symlinks resolved where they exist) lies inside
// `root`.
bool Inside(const fs::path& root, const fs::path& path) {
  std::error_code ec;
  fs::path r = fs::weakly_canonical(root, ec);
  if (ec) return false;
  fs::path p = fs::weakly_canonical(path, ec);
  if (ec) return false;
  auto [ri, pi] = std::mismatch(r.begin(), r.end(), p.begin(), p.end());
  return ri == r.end() && pi != p.end();
}

// Reads at most `max_bytes` of a stream.
Result<std::string> ReadUpTo(store::InputStream& in, int64_t max_bytes, bool* truncated) {
  std::string out;
  char buf[65536];
  *truncated = false;
  while (static_cast<int64_t>(out.size()) < max_bytes) {
    size_t want = static_cast<size_t>(
        std::min<int64_t>(sizeof buf, max_bytes - static_cast<int64_t>(out.size())));
    SLUICE_ASSIGN_OR_RETURN(size_t n, in.Read(buf, want));
    if (n == 0) return out;
    out.append(buf, n);
  }
  char extra;
  SLUICE_ASSIGN_OR_RETURN(size_t more, in.Read(&extra, 1));
  *truncated = more > 0;
  return out;
}

std::string QuoteIdent(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::vector<std::string> ReadCsvRecord(std::string_view text, size_t* pos) {
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false;
  size_t i = *pos;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.push_back(std::move(field));
      field.clear();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      ++i;
      break;
    } else {
      field += c;
    }
  }
  fields.push_back(std::move(field));
  *pos = i;
  return fields;
}

Backend::Backend(config::Pipeline pipeline, bool full_config,
                 std::unique_ptr<ledger::Ledger> ledger)
    : pipeline_(std::move(pipeline)), full_config_(full_config), ledger_(std::move(ledger)) {}

Result<std::unique_ptr<Backend>> Backend::Open(config::Pipeline pipeline, bool full_config) {
  // Credentials in this process's environment (SLUICE_SERVE_TOKEN, PGPASSWORD, AWS_*...) are
  // masked in everything served, should a log or an error have caught one.
  log::RegisterSecretsFromEnvironment();
  SLUICE_ASSIGN_OR_RETURN(auto ledger, ledger::OpenLedger(pipeline.settings.ledger, pipeline.dir));
  return std::unique_ptr<Backend>(new Backend(std::move(pipeline), full_config, std::move(ledger)));
}

Result<ledger::RunRecord> Backend::GetRun(const std::string& run_id) {
  std::lock_guard<std::mutex> lock(mu_);
  return ledger_->GetRun(run_id);
}

Result<nlohmann::json> Backend::Runs(const RunFilter& filter) {
  std::vector<ledger::RunRecord> runs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Filters apply after the read, so read more than the page when filtering.
    const bool filtered =
        !filter.state.empty() || !filter.date_from.empty() || !filter.date_to.empty();
    SLUICE_ASSIGN_OR_RETURN(runs, ledger_->ListRuns(filtered ? 100000 : filter.limit));
  }
  std::vector<ledger::RunRecord> kept;
  for (auto& r : runs) {
    if (!filter.state.empty() && r.state != filter.state) continue;
    if (!filter.date_from.empty() && r.logical_date < filter.date_from) continue;
    if (!filter.date_to.empty() && r.logical_date > filter.date_to) continue;
    if (static_cast<int>(kept.size()) >= filter.limit) break;
    kept.push_back(std::move(r));
  }
  nlohmann::json out = views::RunsJson(kept);
  if (filter.counts) {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t k = 0; k < kept.size(); ++k) {
      auto instances = ledger_->ListInstances(kept[k].run_id);
      if (!instances.ok()) continue;
      std::set<std::string> partners;
      nlohmann::json states = nlohmann::json::object();
      for (const auto& i : *instances) {
        if (!i.partner.empty()) partners.insert(i.partner);
        const std::string name(ledger::StateName(i.state));
        states[name] = states.value(name, 0) + 1;
      }
      out[k]["partner_count"] = partners.size();
      out[k]["instance_states"] = states;
    }
  }
  return out;
}

Result<nlohmann::json> Backend::Run(const std::string& run_id) {
  std::lock_guard<std::mutex> lock(mu_);
  return views::LoadShowJson(pipeline_, *ledger_, run_id);
}

nlohmann::json Backend::Dag() const {
  if (!full_config_)
    return {{"workflow", pipeline_.settings.name}, {"nodes", nlohmann::json::array()}};
  return DagJson(pipeline_.workflow);
}

Result<nlohmann::json> Backend::Grid(int limit) {
  std::vector<ledger::RunRecord> runs;
  std::vector<std::vector<ledger::InstanceRecord>> instances;
  {
    std::lock_guard<std::mutex> lock(mu_);
    SLUICE_ASSIGN_OR_RETURN(runs, ledger_->ListRuns(limit));
    std::reverse(runs.begin(), runs.end());  // oldest first, as columns left to right
    for (const auto& r : runs) {
      SLUICE_ASSIGN_OR_RETURN(auto list, ledger_->ListInstances(r.run_id));
      instances.push_back(std::move(list));
    }
  }
  // Task order: the workflow's when known, else first appearance.
  std::vector<std::string> order;
  std::map<std::string, bool> per_partner;
  if (full_config_) {
    for (const auto& t : pipeline_.workflow.tasks) {
      order.push_back(t.task_key);
      per_partner[t.task_key] = t.for_each_partner;
    }
  }
  std::map<std::string, std::map<std::string, nlohmann::json>> cells;
  for (size_t c = 0; c < runs.size(); ++c) {
    for (const auto& i : instances[c]) {
      if (per_partner.count(i.task_key) == 0) {
        order.push_back(i.task_key);
        per_partner[i.task_key] = !i.partner.empty();
      }
      if (!i.partner.empty()) per_partner[i.task_key] = true;
      auto& row = cells[i.task_key][i.partner];
      if (row.is_null()) row = nlohmann::json::array();
      while (row.size() < c) row.push_back(nullptr);
      row.push_back(ledger::StateName(i.state));
    }
  }
  nlohmann::json tasks = nlohmann::json::array();
  for (const std::string& t : order) {
    nlohmann::json partners = nlohmann::json::object();
    for (auto& [partner, row] : cells[t]) {
      while (row.size() < runs.size()) row.push_back(nullptr);
      partners[partner] = row;
    }
    tasks.push_back({{"task", t}, {"per_partner", per_partner[t]}, {"partners", partners}});
  }
  return nlohmann::json{{"runs", views::RunsJson(runs)}, {"tasks", tasks}};
}

Result<std::string> Backend::Log(const std::string& run_id, const std::string& task,
                                 const std::string& partner, int attempt, int64_t max_bytes,
                                 bool* truncated) {
  std::vector<ledger::AttemptRecord> attempts;
  {
    std::lock_guard<std::mutex> lock(mu_);
    SLUICE_ASSIGN_OR_RETURN(attempts, ledger_->ListAttempts(run_id));
  }
  const ledger::AttemptRecord* chosen = nullptr;
  for (const auto& a : attempts) {
    if (a.task_key != task || a.partner != partner) continue;
    if (attempt > 0 ? a.attempt == attempt : (chosen == nullptr || a.attempt > chosen->attempt)) {
      chosen = &a;
    }
  }
  if (chosen == nullptr) {
    return Status::NotFound("no attempt " + (attempt > 0 ? std::to_string(attempt) + " " : "") +
                            "of " + workflow::InstanceName(task, partner) + " in run " + run_id);
  }
  const fs::path logs = workflow::LogsDir(pipeline_);
  if (!Inside(logs, chosen->log_path)) {
    return Status::PermissionDenied("the log of " + workflow::InstanceName(task, partner) +
                                    " is not inside the pipeline's logs folder " + logs.string() +
                                    "; it is not served");
  }
  std::ifstream in(chosen->log_path, std::ios::binary | std::ios::ate);
  if (!in) {
    return Status::NotFound("the log " + chosen->log_path + " of " +
                            workflow::InstanceName(task, partner) + " is gone (retention?)");
  }
  // Keep the end of a long log: that is where an error is.
  const std::streamoff size = in.tellg();
  const std::streamoff from = std::max<std::streamoff>(0, size - max_bytes);
  *truncated = from > 0;
  in.seekg(from);
  std::string text(static_cast<size_t>(size - from), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  return log::Redact(std::move(text));
}

Result<std::string> Backend::RejectsFile(const std::string& run_id, const std::string& partner,
                                         const std::string& table, int64_t max_bytes) {
  SLUICE_ASSIGN_OR_RETURN(ledger::RunRecord run, GetRun(run_id));
  if (full_config_ && pipeline_.FindPartner(partner) == nullptr) {
    return Status::NotFound("no partner \"" + partner + "\" in " + pipeline_.dir.string());
  }
  SLUICE_ASSIGN_OR_RETURN(auto base, store::OpenStore(pipeline_.settings.store, pipeline_.dir));
  store::PartnerStore ps(base.get(), partner);
  auto in = ps.Open("rejects", run.logical_date + "/" + table + ".csv");
  if (!in.ok()) {
    return Status::NotFound("no rejects file for partner " + partner + ", table " + table + " on " +
                            run.logical_date);
  }
  bool truncated = false;
  SLUICE_ASSIGN_OR_RETURN(std::string text, ReadUpTo(**in, max_bytes, &truncated));
  return log::Redact(std::move(text));
}

Result<nlohmann::json> Backend::Rejects(const std::string& run_id, const std::string& partner,
                                        const std::string& table, int limit) {
  SLUICE_ASSIGN_OR_RETURN(std::string text, RejectsFile(run_id, partner, table, 1 << 20));
  SLUICE_ASSIGN_OR_RETURN(ledger::RunRecord run, GetRun(run_id));
  size_t pos = 0;
  nlohmann::json header = nlohmann::json::array();
  nlohmann::json rows = nlohmann::json::array();
  if (pos < text.size()) header = ReadCsvRecord(text, &pos);
  while (pos < text.size() && static_cast<int>(rows.size()) < limit) {
    rows.push_back(ReadCsvRecord(text, &pos));
  }
  return nlohmann::json{
      {"file", "rejects/" + partner + "/" + run.logical_date + "/" + table + ".csv"},
      {"partner", partner},
      {"table", table},
      {"header", header},
      {"rows", rows},
      {"truncated", pos < text.size()}};
}

nlohmann::json Backend::Partners() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [id, p] : pipeline_.partners) {
    nlohmann::json tables = nlohmann::json::array();
    for (const auto& [name, schema] : p.schemas) tables.push_back(name);
    list.push_back({{"id", id}, {"name", p.name}, {"enabled", p.enabled}, {"tables", tables}});
  }
  return {{"partners", list}};
}

Result<nlohmann::json> Backend::Partner(const std::string& partner_id) {
  if (!full_config_) {
    return Status::Unavailable(
        "the pipeline's partner files did not load; fix them (sluice "
        "validate) and restart sluice serve");
  }
  const config::PartnerConfig* p = pipeline_.FindPartner(partner_id);
  if (p == nullptr) return Status::NotFound("no partner \"" + partner_id + "\"");
  nlohmann::json tables = nlohmann::json::array();
  nlohmann::json loads = nlohmann::json::array();
  auto wh = warehouse::OpenWarehouse(pipeline_.settings.warehouse, pipeline_.dir, partner_id);
  for (const auto& [name, schema] : p->schemas) {
    nlohmann::json t = {{"table", name}, {"exists", false}, {"rows", nullptr}};
    std::set<std::string> declared;
    for (const auto& c : schema.columns) declared.insert(c.name);
    if (wh.ok()) {
      auto exists = (*wh)->TableExists(name);
      if (exists.ok() && *exists) {
        t["exists"] = true;
        auto count = (*wh)->Query("SELECT COUNT(*) FROM " + QuoteIdent(name), 1);
        if (count.ok() && !count->rows.empty() && count->rows[0][0]) {
          t["rows"] = std::stoll(*count->rows[0][0]);
        }
        auto cols = (*wh)->Query("SELECT * FROM " + QuoteIdent(name) + " LIMIT 0", 0);
        if (cols.ok()) {
          nlohmann::json extra = nlohmann::json::array();
          std::set<std::string> present;
          for (const std::string& c : cols->columns) {
            present.insert(c);
            if (declared.count(c) == 0 && c.rfind('_', 0) != 0) extra.push_back(c);
          }
          nlohmann::json missing = nlohmann::json::array();
          for (const auto& c : schema.columns) {
            if (present.count(c.name) == 0) missing.push_back(c.name);
          }
          t["columns"] = cols->columns;
          t["extra_columns"] = extra;
          t["missing_columns"] = missing;
        }
      }
    }
    tables.push_back(t);
  }
  if (wh.ok()) {
    auto exists = (*wh)->TableExists("sluice_loads");
    if (exists.ok() && *exists) {
      auto q = (*wh)->Query("SELECT * FROM sluice_loads ORDER BY rowid DESC LIMIT 20", 20);
      if (q.ok()) {
        for (const auto& row : q->rows) {
          nlohmann::json o = nlohmann::json::object();
          for (size_t c = 0; c < q->columns.size() && c < row.size(); ++c) {
            o[q->columns[c]] = row[c] ? nlohmann::json(*row[c]) : nlohmann::json(nullptr);
          }
          loads.push_back(o);
        }
      }
    }
  }
  nlohmann::json recent = nlohmann::json::array();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto runs = ledger_->ListRuns(10);
    if (runs.ok()) {
      for (const auto& r : *runs) {
        auto instances = ledger_->ListInstances(r.run_id);
        if (!instances.ok()) continue;
        nlohmann::json states = nlohmann::json::object();
        for (const auto& i : *instances) {
          if (i.partner == partner_id) states[i.task_key] = ledger::StateName(i.state);
        }
        if (states.empty()) continue;
        // What each successful merge of the partner loaded in that run.
        nlohmann::json merged = nlohmann::json::array();
        auto attempts = ledger_->ListAttempts(r.run_id);
        if (attempts.ok()) {
          for (const auto& a : *attempts) {
            if (a.partner != partner_id || a.state != ledger::State::kSuccess) continue;
            auto result = nlohmann::json::parse(a.result, nullptr, false);
            if (!result.is_object()) continue;
            auto add = [&](const std::string& table, const nlohmann::json& stats) {
              if (!stats.is_object() || !stats.contains("rows_loaded")) return;
              merged.push_back(
                  {{"table", table},
                   {"rows_loaded", stats.value("rows_loaded", int64_t{0})},
                   {"rows_updated", stats.value("rows_updated", int64_t{0})},
                   {"rows_rejected", stats.value("rows_rejected", int64_t{0})},
                   {"columns_extra", stats.value("columns_extra", nlohmann::json::array())},
                   {"columns_missing", stats.value("columns_missing", nlohmann::json::array())}});
            };
            if (result.contains("tables") && result["tables"].is_object()) {
              for (const auto& [table, stats] : result["tables"].items()) add(table, stats);
            } else {
              add(result.value("table", ""), result);
            }
          }
        }
        recent.push_back({{"run_id", r.run_id},
                          {"date", r.logical_date},
                          {"state", r.state},
                          {"tasks", states},
                          {"merged", merged}});
      }
    }
  }
  return nlohmann::json{
      {"id", p->id}, {"name", p->name}, {"tables", tables}, {"loads", loads}, {"recent", recent}};
}

Result<nlohmann::json> Backend::RepairPlan(const std::string& run_id) {
  if (!full_config_) {
    return Status::Unavailable(
        "the pipeline's workflow or partner files did not load; fix them "
        "(sluice validate) before repairing");
  }
  workflow::SchedulerOptions options;
  options.handle_signals = false;
  options.send_alerts = false;
  workflow::RepairRequest request;
  request.run_id = run_id;
  request.dry_run = true;
  workflow::RepairPlan plan;
  std::lock_guard<std::mutex> lock(mu_);
  auto outcome = workflow::RepairRun(pipeline_, *ledger_, request, options, &plan);
  if (!outcome.ok()) return outcome.status();
  return nlohmann::json{{"run_id", run_id}, {"rerun", plan.rerun}, {"recovered", plan.recovered}};
}

}  // namespace sluice::serve
