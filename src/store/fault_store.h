// store/fault_store.h: an ObjectStore wrapper that fails chosen calls, for fault sweeps.
//
// Wraps another store (not owned unless passed as unique_ptr) and forwards every call. Faults
// armed with AddFault() fail the Nth call of an operation (1-based, counted per operation, or
// over all operations with FaultOp::kAny) with a chosen Status code, once or from then on
// (`sticky`, an endpoint that stays down). A short write passes the first half of the bytes to
// the inner writer and then fails, as a full disk does. With no fault armed the wrapper is a pure
// pass-through and runs the store conformance suite.
// Operations on streams (Read, Write, Commit) are counted too. Describe() is the inner store's,
// so messages read as in production.
//
// Run-wide sweeps (tests/faults/): OpenStore() wraps every store it opens when the environment
// holds SLUICE_FAULT_STORE (core/fault_plan.h; test builds only). Every call of every process of
// the run is then numbered by one shared counter, and the call numbered `nth` fails with the
// plan's kind: enospc, eio, eacces, short_write (half the bytes reach the file first; other
// calls fail as enospc), timeout, s3_503. Those are the names of kFaultKinds.
// Thread-safety: safe to share between threads (counters and faults are under a mutex).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/fault_plan.h"
#include "store/object_store.h"

namespace sluice::store {

enum class FaultOp {
  kAny,
  kOpen,
  kCreate,
  kHead,
  kList,
  kDelete,  // Delete, DeletePrefix
  kPublish,
  kRead,
  kWrite,
  kCommit,
};

struct Fault {
  FaultOp op = FaultOp::kAny;
  int64_t nth = 1;  // the Nth matching call, counted from when the fault is armed
  StatusCode code = StatusCode::kIoError;
  std::string message;       // "" means a message naming the code and the call
  bool sticky = false;       // also fail every later matching call
  bool short_write = false;  // kWrite: hand half the bytes to the inner writer, then fail

  // Ready-made faults of the kinds a real store produces.
  static Fault DiskFull(FaultOp op, int64_t nth);     // IoError, ENOSPC
  static Fault Denied(FaultOp op, int64_t nth);       // PermissionDenied
  static Fault TimedOut(FaultOp op, int64_t nth);     // Timeout
  static Fault Unavailable(FaultOp op, int64_t nth);  // Unavailable, an S3 503 SlowDown
  static Fault ShortWrite(int64_t nth);               // IoError after half the bytes
  static Fault Io(FaultOp op, int64_t nth);           // IoError, EIO
  // The fault a run-wide plan names (the kinds listed above); InvalidArgument for another name.
  static Result<Fault> OfKind(std::string_view kind, FaultOp op, int64_t nth);
};

// The kinds a run-wide plan may name, in the order the sweep injects them.
inline constexpr std::string_view kFaultKinds[] = {"enospc",      "eio",     "eacces",
                                                   "short_write", "timeout", "s3_503"};

class FaultInjectingStore final : public ObjectStore {
 public:
  explicit FaultInjectingStore(ObjectStore* inner);
  explicit FaultInjectingStore(std::unique_ptr<ObjectStore> inner);

  void AddFault(Fault fault);
  // Numbers calls with the run-wide counter of `plan` instead of this wrapper's own, and fails
  // the call numbered plan.nth with plan.kind (validated by the caller with Fault::OfKind).
  void SetSharedPlan(fault::SharedFaultPlan plan);
  // Disarms every fault (counters keep counting).
  void ClearFaults();
  // Calls seen so far of `op` (kAny: all calls).
  int64_t calls(FaultOp op) const;
  // Faults that fired so far.
  int64_t injected() const;

  Result<std::unique_ptr<InputStream>> Open(std::string_view key) override;
  Result<std::unique_ptr<OutputStream>> Create(std::string_view key) override;
  Result<ObjectInfo> Head(std::string_view key) override;
  Result<std::vector<ObjectInfo>> List(std::string_view prefix) override;
  Result<std::vector<std::string>> ListFolders(std::string_view prefix) override;
  Status Delete(std::string_view key) override;
  Status DeletePrefix(std::string_view prefix) override;
  Status PublishPrefix(std::string_view staging_prefix, std::string_view final_prefix) override;
  bool AtomicPublish() const override { return inner_->AtomicPublish(); }
  std::optional<std::filesystem::path> LocalPath(std::string_view key) const override;
  std::string Describe() const override;

  // Counts a call of `op` on `what` and returns the fault to inject, or Ok. For the wrapper's
  // streams; `short_write` is set when the fault asks for one.
  Status Check(FaultOp op, std::string_view what, bool* short_write = nullptr);

 private:
  struct Armed {
    Fault fault;
    int64_t seen = 0;
    bool spent = false;
  };
  std::unique_ptr<ObjectStore> owned_;
  ObjectStore* inner_;
  mutable std::mutex mu_;
  std::vector<Armed> faults_;
  int64_t counts_[10] = {};
  int64_t injected_ = 0;
  std::optional<fault::SharedFaultPlan> shared_;
};

// `store` wrapped as SLUICE_FAULT_STORE asks (see above), or `store` itself when the variable is
// unset or the binary is not built for fault injection. InvalidArgument for a malformed plan.
Result<std::unique_ptr<ObjectStore>> WrapWithFaultPlanFromEnv(std::unique_ptr<ObjectStore> store);

}  // namespace sluice::store
