#include "views/run_views.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <utility>

#include "workflow/scheduler.h"

namespace sluice::views {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double DurationSeconds(int64_t started_ms, int64_t ended_ms) {
  if (started_ms <= 0) return 0;
  int64_t end = ended_ms > 0 ? ended_ms : NowMs();
  return static_cast<double>(end - started_ms) / 1000.0;
}

std::vector<std::string> RunPartners(const ledger::RunRecord& run,
                                     const std::vector<ledger::InstanceRecord>& instances) {
  std::set<std::string> ids;
  nlohmann::json params = nlohmann::json::parse(run.params, nullptr, false);
  if (params.is_object() && params.contains("partners") && params["partners"].is_array()) {
    for (const nlohmann::json& p : params["partners"]) {
      if (p.is_string()) ids.insert(p.get<std::string>());
    }
  }
  if (ids.empty()) {
    for (const auto& i : instances) {
      if (!i.partner.empty()) ids.insert(i.partner);
    }
  }
  return {ids.begin(), ids.end()};
}

nlohmann::json RunJson(const ledger::RunRecord& r) {
  return {{"schema_version", kJsonSchemaVersion},
          {"run_id", r.run_id},
          {"workflow", r.workflow},
          {"date", r.logical_date},
          {"state", r.state},
          {"started_ms", r.created_ms},
          {"ended_ms", r.ended_ms},
          {"duration_seconds", DurationSeconds(r.created_ms, r.ended_ms)},
          {"scheduler_pid", r.scheduler_pid},
          {"scheduler_gone", workflow::SchedulerGone(r)},
          {"partners", RunPartners(r, {})}};
}

nlohmann::json RunsJson(const std::vector<ledger::RunRecord>& runs) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : runs) out.push_back(RunJson(r));
  return out;
}

std::optional<workflow::ProgressSnapshot> RunningProgress(const config::Pipeline& pipeline,
                                                          const ledger::InstanceRecord& i) {
  if (i.state != ledger::State::kRunning || i.attempts <= 0) return std::nullopt;
  return workflow::ReadProgress(
      workflow::PathsFor(workflow::LogsDir(pipeline), i.run_id, i.task_key, i.partner, i.attempts)
          .progress);
}

nlohmann::json ShowJson(const config::Pipeline& pipeline, const ledger::RunRecord& run,
                        const std::vector<ledger::InstanceRecord>& instances,
                        const std::vector<ledger::AttemptRecord>& attempts) {
  std::map<std::pair<std::string, std::string>, std::vector<const ledger::AttemptRecord*>> by;
  for (const auto& a : attempts) by[{a.task_key, a.partner}].push_back(&a);
  for (auto& [key, list] : by) {
    std::sort(list.begin(), list.end(),
              [](const auto* a, const auto* b) { return a->attempt < b->attempt; });
  }
  nlohmann::json list = nlohmann::json::array();
  for (const auto& i : instances) {
    nlohmann::json history = nlohmann::json::array();
    nlohmann::json result = nlohmann::json::object();
    auto found = by.find({i.task_key, i.partner});
    if (found != by.end()) {
      for (const ledger::AttemptRecord* a : found->second) {
        auto r = nlohmann::json::parse(a->result, nullptr, false);
        if (r.is_discarded()) r = nlohmann::json::object();
        if (a->state == ledger::State::kSuccess) result = r;
        history.push_back({{"attempt", a->attempt},
                           {"pid", a->pid},
                           {"executor", a->executor},
                           {"executor_id", a->executor_id},
                           {"state", ledger::StateName(a->state)},
                           {"started_ms", a->started_ms},
                           {"ended_ms", a->ended_ms},
                           {"exit_code", a->exit_code},
                           {"signal", a->signal},
                           {"log", a->log_path},
                           {"error", a->error},
                           {"result", r}});
      }
    }
    nlohmann::json progress = nullptr;
    if (auto p = RunningProgress(pipeline, i)) {
      progress = {{"bytes_done", p->bytes_done},
                  {"bytes_total", p->bytes_total},
                  {"rows_done", p->rows_done},
                  {"note", p->note}};
    }
    list.push_back({{"task", i.task_key},
                    {"progress", progress},
                    {"partner", i.partner},
                    {"state", ledger::StateName(i.state)},
                    {"attempts", i.attempts},
                    {"started_ms", i.started_ms},
                    {"ended_ms", i.ended_ms},
                    {"duration_seconds", DurationSeconds(i.started_ms, i.ended_ms)},
                    {"error", i.error},
                    {"result", result},
                    {"history", history}});
  }
  return {{"schema_version", kJsonSchemaVersion},
          {"run_id", run.run_id},
          {"workflow", run.workflow},
          {"date", run.logical_date},
          {"state", run.state},
          {"started_ms", run.created_ms},
          {"ended_ms", run.ended_ms},
          {"duration_seconds", DurationSeconds(run.created_ms, run.ended_ms)},
          {"partners", RunPartners(run, instances)},
          {"instances", list}};
}

Result<nlohmann::json> LoadShowJson(const config::Pipeline& pipeline, ledger::Ledger& ledger,
                                    const std::string& run_id) {
  SLUICE_ASSIGN_OR_RETURN(ledger::RunRecord run, ledger.GetRun(run_id));
  SLUICE_ASSIGN_OR_RETURN(std::vector<ledger::InstanceRecord> instances,
                          ledger.ListInstances(run_id));
  SLUICE_ASSIGN_OR_RETURN(std::vector<ledger::AttemptRecord> attempts, ledger.ListAttempts(run_id));
  return ShowJson(pipeline, run, instances, attempts);
}

}  // namespace sluice::views
