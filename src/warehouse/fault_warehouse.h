// warehouse/fault_warehouse.h: a Warehouse that wraps another and fails one chosen call, for
// tests that sweep faults through the merge (as store's fault wrapper does for the store).
//
// Every call through the wrapper counts: the Warehouse's BeginMerge, Query, Execute,
// TableExists, UniqueKeys, and its TableWriters' Add, AddRows and Commit (Rollback and Describe
// never fail and do not count). The call numbered `fail_call` (1-based) returns a Status with
// `code` instead of reaching the wrapped back-end; fail_call 0 passes everything through. A
// failed writer call leaves the wrapped writer open: the caller rolls it back (or destroys it),
// as after a real failure. Ownership: owns the wrapped warehouse; writers borrow the wrapper.
//
// Run-wide sweeps (tests/faults/): OpenWarehouse() wraps every warehouse it opens when the
// environment holds SLUICE_FAULT_WAREHOUSE (core/fault_plan.h; test builds only). Every call of
// every process of the run is then numbered by one shared counter, and the call numbered `nth`
// fails with the plan's kind (kWarehouseFaultKinds): enospc (SQLite's "database or disk is
// full"), eio ("disk I/O error"), eacces ("attempt to write a readonly database"), timeout (a
// statement timeout), drop (PostgreSQL's "server closed the connection unexpectedly": that call
// and every later one through this handle fail, as on a dead connection).
// Thread-safety: as the wrapped warehouse (one thread at a time).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/fault_plan.h"
#include "core/status.h"
#include "warehouse/warehouse.h"

namespace sluice::warehouse {

struct FaultOptions {
  int64_t fail_call = 0;  // 1-based number of the call that fails; 0: pass-through
  StatusCode code = StatusCode::kIoError;
  // Fail every call from fail_call on instead of that one only (a database that went away).
  bool keep_failing = false;
  // The message after "injected fault: call N (what) of <warehouse> "; "" for the default.
  std::string message = "";
};

// The kinds a run-wide plan may name, in the order the sweep injects them.
inline constexpr std::string_view kWarehouseFaultKinds[] = {"enospc", "eio", "eacces", "timeout",
                                                            "drop"};
// The options that fail call `nth` as `kind` does; InvalidArgument for an unknown kind.
Result<FaultOptions> WarehouseFaultOfKind(std::string_view kind, int64_t nth);

class FaultWarehouse : public Warehouse {
 public:
  FaultWarehouse(std::unique_ptr<Warehouse> inner, FaultOptions options);

  Result<std::unique_ptr<TableWriter>> BeginMerge(const MergeTarget& target) override;
  Result<QueryResult> Query(std::string_view sql, int64_t max_rows = 1000,
                            int64_t* total_rows = nullptr) override;
  Status Execute(std::string_view sql) override;
  Result<bool> TableExists(std::string_view table) override;
  Result<std::vector<std::vector<std::string>>> UniqueKeys(std::string_view table) override;
  std::string Describe() const override;

  // Calls counted so far (including the failed one).
  int64_t calls() const { return calls_; }
  // Changes what fails from the next call on, and starts counting again.
  void Reset(FaultOptions options);
  // Counts a call named `what`: the injected error when it is the one to fail, Ok otherwise.
  Status Count(std::string_view what);
  // Numbers calls with the run-wide counter of `plan` instead (see above); plan.kind must be
  // one of kWarehouseFaultKinds.
  void SetSharedPlan(fault::SharedFaultPlan plan);

 private:
  std::unique_ptr<Warehouse> inner_;
  FaultOptions options_;
  int64_t calls_ = 0;
  std::optional<fault::SharedFaultPlan> shared_;
  bool dropped_ = false;  // a "drop" fault fired: this handle's connection is gone
};

// `warehouse` wrapped as SLUICE_FAULT_WAREHOUSE asks (see above), or itself when the variable is
// unset or the binary is not built for fault injection. InvalidArgument for a malformed plan.
Result<std::unique_ptr<Warehouse>> WrapWithFaultPlanFromEnv(std::unique_ptr<Warehouse> warehouse);

}  // namespace sluice::warehouse
