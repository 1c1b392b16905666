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
