// The fault-injecting store wrapper. See fault_store.h.
#include "store/fault_store.h"

#include <utility>

namespace sluice::store {

namespace {

std::string_view OpName(FaultOp op) {
  switch (op) {
    case FaultOp::kAny:
      return "any";
    case FaultOp::kOpen:
      return "open";
    case FaultOp::kCreate:
      return "create";
    case FaultOp::kHead:
      return "head";
    case FaultOp::kList:
      return "list";
    case FaultOp::kDelete:
      return "delete";
    case FaultOp::kPublish:
      return "publish";
    case FaultOp::kRead:
      return "read";
    case FaultOp::kWrite:
      return "write";
    case FaultOp::kCommit:
      return "commit";
  }
  return "?";
}

Fault Make(FaultOp op, int64_t nth, StatusCode code, std::string message) {
  Fault f;
  f.op = op;
  f.nth = nth;
  f.code = code;
  f.message = std::move(message);
  return f;
}

class FaultInputStream final : public InputStream {
 public:
  FaultInputStream(FaultInjectingStore* store, std::unique_ptr<InputStream> inner, std::string key)
      : store_(store), inner_(std::move(inner)), key_(std::move(key)) {}
  Result<size_t> Read(char* buf, size_t n) override {
    SLUICE_RETURN_IF_ERROR(store_->Check(FaultOp::kRead, key_));
    return inner_->Read(buf, n);
  }

 private:
  FaultInjectingStore* store_;
  std::unique_ptr<InputStream> inner_;
  std::string key_;
};

class FaultOutputStream final : public OutputStream {
 public:
  FaultOutputStream(FaultInjectingStore* store, std::unique_ptr<OutputStream> inner,
                    std::string key)
      : store_(store), inner_(std::move(inner)), key_(std::move(key)) {}
  Status Write(std::string_view data) override {
    bool short_write = false;
    Status st = store_->Check(FaultOp::kWrite, key_, &short_write);
    if (!st.ok()) {
      if (short_write) (void)inner_->Write(data.substr(0, data.size() / 2));
      return st;
    }
    return inner_->Write(data);
  }
  Status Commit() override {
    SLUICE_RETURN_IF_ERROR(store_->Check(FaultOp::kCommit, key_));
    return inner_->Commit();
  }

 private:
  FaultInjectingStore* store_;
  std::unique_ptr<OutputStream> inner_;
  std::string key_;
};

}  // namespace

Fault Fault::DiskFull(FaultOp op, int64_t nth) {
  return Make(op, nth, StatusCode::kIoError, "No space left on device (injected)");
}
Fault Fault::Denied(FaultOp op, int64_t nth) {
  return Make(op, nth, StatusCode::kPermissionDenied, "Permission denied (injected)");
}
Fault Fault::TimedOut(FaultOp op, int64_t nth) {
  return Make(op, nth, StatusCode::kTimeout, "timed out (injected)");
}
Fault Fault::Unavailable(FaultOp op, int64_t nth) {
  return Make(op, nth, StatusCode::kUnavailable,
              "503 SlowDown: please reduce your request rate "
              "(injected)");
}
Fault Fault::Io(FaultOp op, int64_t nth) {
  return Make(op, nth, StatusCode::kIoError, "Input/output error (injected)");
}
Result<Fault> Fault::OfKind(std::string_view kind, FaultOp op, int64_t nth) {
  if (kind == "enospc") return DiskFull(op, nth);
  if (kind == "eio") return Io(op, nth);
  if (kind == "eacces") return Denied(op, nth);
  if (kind == "short_write") {
    if (op != FaultOp::kWrite) return DiskFull(op, nth);
    Fault f = ShortWrite(nth);
    f.op = op;
    return f;
  }
  if (kind == "timeout") return TimedOut(op, nth);
  if (kind == "s3_503") return Unavailable(op, nth);
  std::string known;
  for (std::string_view k : kFaultKinds) known += (known.empty() ? "" : ", ") + std::string(k);
  return Status::InvalidArgument("unknown store fault kind \"" + std::string(kind) +
                                 "\"; use one of " + known);
}
Fault Fault::ShortWrite(int64_t nth) {
  Fault f = Make(FaultOp::kWrite, nth, StatusCode::kIoError,
                 "short write: No space left on device (injected)");
  f.short_write = true;
  return f;
}

FaultInjectingStore::FaultInjectingStore(ObjectStore* inner) : inner_(inner) {}
FaultInjectingStore::FaultInjectingStore(std::unique_ptr<ObjectStore> inner)
    : owned_(std::move(inner)), inner_(owned_.get()) {}

void FaultInjectingStore::AddFault(Fault fault) {
  std::lock_guard<std::mutex> lock(mu_);
  faults_.push_back(Armed{std::move(fault)});
}

void FaultInjectingStore::SetSharedPlan(fault::SharedFaultPlan plan) {
  std::lock_guard<std::mutex> lock(mu_);
  shared_ = std::move(plan);
}

void FaultInjectingStore::ClearFaults() {
  std::lock_guard<std::mutex> lock(mu_);
  faults_.clear();
}

int64_t FaultInjectingStore::calls(FaultOp op) const {
  std::lock_guard<std::mutex> lock(mu_);
  return counts_[static_cast<int>(op)];
}

int64_t FaultInjectingStore::injected() const {
  std::lock_guard<std::mutex> lock(mu_);
  return injected_;
}

Status FaultInjectingStore::Check(FaultOp op, std::string_view what, bool* short_write) {
  std::lock_guard<std::mutex> lock(mu_);
  ++counts_[static_cast<int>(op)];
  ++counts_[static_cast<int>(FaultOp::kAny)];
  if (shared_) {
    const int64_t n =
        fault::CountSharedCall(*shared_, std::string(OpName(op)) + " " + std::string(what));
    if (n <= 0 || n != shared_->nth) return Status::Ok();
    auto f = Fault::OfKind(shared_->kind, op, n);
    if (!f.ok()) return f.status();
    ++injected_;
    if (short_write != nullptr) *short_write = f->short_write;
    return Status(f->code, std::string(OpName(op)) + " " + inner_->Describe() + "/" +
                               std::string(what) + ": " + f->message + " [run-wide call " +
                               std::to_string(n) + "]");
  }
  for (Armed& a : faults_) {
    if (a.spent || (a.fault.op != FaultOp::kAny && a.fault.op != op)) continue;
    ++a.seen;
    if (a.seen < a.fault.nth) continue;
    if (!a.fault.sticky) a.spent = true;
    ++injected_;
    if (short_write != nullptr) *short_write = a.fault.short_write;
    std::string msg = a.fault.message.empty()
                          ? std::string(StatusCodeName(a.fault.code)) + " (injected)"
                          : a.fault.message;
    return Status(a.fault.code, std::string(OpName(op)) + " " + inner_->Describe() + "/" +
                                    std::string(what) + ": " + msg);
  }
  return Status::Ok();
}

Result<std::unique_ptr<InputStream>> FaultInjectingStore::Open(std::string_view key) {
  SLUICE_RETURN_IF_ERROR(Check(FaultOp::kOpen, key));
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<InputStream> in, inner_->Open(key));
  return std::unique_ptr<InputStream>(
      std::make_unique<FaultInputStream>(this, std::move(in), std::string(key)));
}

Result<std::unique_ptr<OutputStream>> FaultInjectingStore::Create(std::string_view key) {
  SLUICE_RETURN_IF_ERROR(Check(FaultOp::kCreate, key));
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<OutputStream> out, inner_->Create(key));
  return std::unique_ptr<OutputStream>(
      std::make_unique<FaultOutputStream>(this, std::move(out), std::string(key)));
}

Result<ObjectInfo> FaultInjectingStore::Head(std::string_view key) {
  SLUICE_RETURN_IF_ERROR(Check(FaultOp::kHead, key));
  return inner_->Head(key);
}

Result<std::vector<ObjectInfo>> FaultInjectingStore::List(std::string_view prefix) {
  SLUICE_RETURN_IF_ERROR(Check(FaultOp::kList, prefix));
  return inner_->List(prefix);
}

Result<std::vector<std::string>> FaultInjectingStore::ListFolders(std::string_view prefix) {
  SLUICE_RETURN_IF_ERROR(Check(FaultOp::kList, prefix));
  return inner_->ListFolders(prefix);
}

Status FaultInjectingStore::Delete(std::string_view key) {
  SLUICE_RETURN_IF_ERROR(Check(FaultOp::kDelete, key));
  return inner_->Delete(key);
}

Status FaultInjectingStore::DeletePrefix(std::string_view prefix) {
  SLUICE_RETURN_IF_ERROR(Check(FaultOp::kDelete, prefix));
  return inner_->DeletePrefix(prefix);
}

Status FaultInjectingStore::PublishPrefix(std::string_view staging_prefix,
                                          std::string_view final_prefix) {
  SLUICE_RETURN_IF_ERROR(Check(FaultOp::kPublish, final_prefix));
  return inner_->PublishPrefix(staging_prefix, final_prefix);
}

std::optional<std::filesystem::path> FaultInjectingStore::LocalPath(std::string_view key) const {
  return inner_->LocalPath(key);
}

std::string FaultInjectingStore::Describe() const { return inner_->Describe(); }

Result<std::unique_ptr<ObjectStore>> WrapWithFaultPlanFromEnv(std::unique_ptr<ObjectStore> store) {
  SLUICE_ASSIGN_OR_RETURN(auto plan, fault::FaultPlanFromEnv("SLUICE_FAULT_STORE"));
  if (!plan) return store;
  if (plan->nth > 0) SLUICE_RETURN_IF_ERROR(Fault::OfKind(plan->kind, FaultOp::kAny, 1).status());
  auto wrapped = std::make_unique<FaultInjectingStore>(std::move(store));
  wrapped->SetSharedPlan(std::move(*plan));
  return std::unique_ptr<ObjectStore>(std::move(wrapped));
}

}  // namespace sluice::store
