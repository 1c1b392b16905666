// executor.cpp: what every executor shares (see executor.h).
#include "workflow/executor.h"

#include <csignal>

#include "workflow/slurm_executor.h"

namespace sluice::workflow {

// Async-signal-safe: records a WakeExecutor() for TakeExecutorWake() (local_executor.cpp).
void NoteExecutorWake();

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
    {.scheme = "slurm", .open = MakeSlurmExecutor},
};

}  // namespace

const BackendRegistry<ExecutorFactory>& ExecutorBackends() {
  static constexpr BackendRegistry<ExecutorFactory> kRegistry(
      "executor", /*urls=*/false, "local (the default: child processes on this machine)",
      kExecutorBackends);
  return kRegistry;
}

Result<std::unique_ptr<Executor>> MakeExecutor(const std::string& name,
                                               const config::Node& options) {
  auto resolved = ExecutorBackends().Resolve(name.empty() ? "local" : name);
  if (!resolved.ok()) return Status::InvalidArgument("executor: " + resolved.status().message());
  return resolved->backend->open(options);
}

std::vector<ProbeResult> Executor::ProbeAll(const std::vector<ProbeTarget>& targets) {
  std::vector<ProbeResult> out;
  out.reserve(targets.size());
  for (const ProbeTarget& t : targets) out.push_back(Probe(t.id, t.lock, t.outcome));
  return out;
}

namespace {
volatile std::sig_atomic_t g_wake = 0;
}  // namespace

void NoteExecutorWake() { g_wake = 1; }

bool TakeExecutorWake() {
  if (g_wake == 0) return false;
  g_wake = 0;
  return true;
}

}  // namespace sluice::workflow
