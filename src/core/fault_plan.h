// core/fault_plan.h: one fault for a whole run, shared by every process of the run (the fault
// sweeps of tests/faults/, docs/reliability.md "Fault injection").
//
// A real run is many processes (the scheduler, one `sluice task exec` per attempt), so "fail the
// Nth store call of the run" needs a count they share: a small counter file that each wrapped
// call increments under flock(2). The plan comes from an environment variable that the
// processes inherit:
//
//   SLUICE_FAULT_STORE="nth=17;kind=enospc;counter=/tmp/x/store.count;trace=/tmp/x/store.trace"
//   SLUICE_FAULT_WAREHOUSE="nth=0;counter=...;trace=..."        (nth=0: count, fail nothing)
//
// store/fault_store.h and warehouse/fault_warehouse.h read them when a store or warehouse is
// opened and wrap it; each says which kinds it knows. The variables are honoured only by
// binaries built with SLUICE_FAULT_INJECTION (CMake option, on in test builds, off in
// `make build`): a release binary ignores them.
// Thread-safety: CountSharedCall may be called from any thread and process.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice::fault {

struct SharedFaultPlan {
  int64_t nth = 0;           // the run-wide call number that fails (1-based); 0: count only
  std::string kind;          // which fault, in the wrapper's vocabulary ("enospc", "timeout")
  std::string counter_path;  // calls so far, as decimal text
  std::string trace_path;    // "" or a file that gets one line per call: "<n>\t<pid>\t<call>"
};

// True when this binary honours the fault variables (built with SLUICE_FAULT_INJECTION).
bool FaultInjectionBuilt();

// The plan in environment variable `name`; nullopt when it is unset or empty, or when the
// binary is not built for fault injection. InvalidArgument for a malformed value (an unknown
// key, a missing counter, a bad number), naming the variable.
Result<std::optional<SharedFaultPlan>> FaultPlanFromEnv(const char* name);

// Counts one call described by `what` ("write raw/acme/x.csv"): increments the counter file
// under an exclusive lock and appends a trace line. Returns the call's run-wide number, or -1
// when the counter file cannot be used (the call is then neither counted nor failed).
int64_t CountSharedCall(const SharedFaultPlan& plan, std::string_view what);

}  // namespace sluice::fault
