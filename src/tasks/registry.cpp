#include <exception>
#include <utility>

#include "tasks/builtins.h"
#include "tasks/task_context.h"

namespace sluice::tasks {

BuiltinFn FindBuiltin(std::string_view name) {
  static const std::pair<std::string_view, BuiltinFn> kBuiltins[] = {
      {"set_date", &RunSetDate}, {"wait_for_sources", &RunWaitForSources},
      {"extract", &RunExtract},  {"merge", &RunMerge},
      {"summary", &RunSummary},  {"check", &RunCheck},
      {"sql", &RunSql}};
  for (const auto& [n, fn] : kBuiltins) {
    if (n == name) return fn;
  }
  return nullptr;
}

Result<std::vector<const config::PartnerConfig*>> TaskContext::TargetPartners() const {
  if (partner.empty()) {
    if (run_partners.empty()) return pipeline->EnabledPartners();
    std::vector<const config::PartnerConfig*> out;
    for (const std::string& id : run_partners) {
      // Its chain failed at the run's start (configuration errors): nothing to wait for, sum
      // up or check.
      if (pipeline->broken_partners.count(id) > 0) continue;
      const config::PartnerConfig* p = pipeline->FindPartner(id);
      if (p == nullptr) return Status::NotFound("unknown partner " + id + " in the run's partners");
      out.push_back(p);
    }
    return out;
  }
  const config::PartnerConfig* p = partner_config();
  if (p == nullptr) return Status::NotFound("unknown partner " + partner);
  return std::vector<const config::PartnerConfig*>{p};
}

std::string SqlLiteral(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out.push_back('\'');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::string ExpandSqlPlaceholders(std::string sql, const TaskContext& ctx,
                                  std::string_view partner) {
  auto replace = [&](const std::string& from, const std::string& to) {
    for (size_t pos = 0; (pos = sql.find(from, pos)) != std::string::npos; pos += to.size()) {
      sql.replace(pos, from.size(), to);
    }
  };
  replace("{date}", SqlLiteral(ctx.date.ToString()));
  replace("{partner}", SqlLiteral(partner));
  replace("{run_id}", SqlLiteral(ctx.run_id));
  return sql;
}

bool IsPermanentFailure(StatusCode code) { return code != StatusCode::kOk && !IsRetryable(code); }

Status RunBuiltin(TaskContext& ctx) {
  BuiltinFn fn = FindBuiltin(ctx.task->builtin);
  if (fn == nullptr) {
    return Status::InvalidArgument("unknown builtin \"" + ctx.task->builtin + "\"");
  }
  try {
    Status st = fn(ctx);
    if (!st.ok()) {
      st.WithTask(ctx.task->task_key);
      if (!ctx.partner.empty()) st.WithPartner(ctx.partner);
    }
    return st;
  } catch (const std::exception& e) {
    return Status::Internal(std::string("unexpected exception: ") + e.what())
        .WithTask(ctx.task->task_key);
  }
}

}  // namespace sluice::tasks
