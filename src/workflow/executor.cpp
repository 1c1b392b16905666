// executor.cpp: what every executor shares (see executor.h).
#include "workflow/executor.h"

namespace sluice::workflow {

std::string_view VanishReasonName(VanishReason reason) {
  switch (reason) {
    case VanishReason::kNone:
      return "";
    case VanishReason::kNodeLost:
      return "node lost";
    case VanishReason::kPreempted:
      return "preempted";
    case VanishReason::kOutOfMemory:
      return "out of memory";
    case VanishReason::kUnknown:
      return "unknown";
  }
  return "unknown";
}

namespace {

// Every executor, by name (core/backend_registry.h). A row without a factory is designed but not
// built: `validate`, `run --executor` and MakeExecutor refuse it, saying what to use instead.
constexpr Backend<ExecutorFactory> kExecutorBackends[] = {
    {.scheme = "local", .open = MakeLocalExecutor},
    {.scheme = "slurm"},
};

}  // namespace

const BackendRegistry<ExecutorFactory>& ExecutorBackends() {
  static constexpr BackendRegistry<ExecutorFactory> kRegistry(
      "executor", /*urls=*/false, "local (the default: child processes on this machine)",
      kExecutorBackends);
  return kRegistry;
}

Result<std::unique_ptr<Executor>> MakeExecutor(const std::string& name) {
  auto resolved = ExecutorBackends().Resolve(name.empty() ? "local" : name);
  if (!resolved.ok()) return Status::InvalidArgument("executor: " + resolved.status().message());
  return resolved->backend->open();
}

}  // namespace sluice::workflow
