// warehouse/fault_warehouse.cpp: FaultWarehouse (see fault_warehouse.h).
#include "warehouse/fault_warehouse.h"

#include <utility>

namespace sluice::warehouse {

namespace {

class FaultTableWriter : public TableWriter {
 public:
  FaultTableWriter(FaultWarehouse* owner, std::unique_ptr<TableWriter> inner)
      : owner_(owner), inner_(std::move(inner)) {}

  Status Add(std::span<const Value> values, std::string_view source_file,
             std::string_view rescued) override {
    SLUICE_RETURN_IF_ERROR(owner_->Count("TableWriter::Add"));
    return inner_->Add(values, source_file, rescued);
  }
  Status AddRows(std::span<const Value> values, size_t rows, std::string_view source_file,
                 std::span<const std::string_view> rescued, size_t* failed_row) override {
    if (Status st = owner_->Count("TableWriter::AddRows"); !st.ok()) {
      if (failed_row) *failed_row = 0;
      return st;
    }
    return inner_->AddRows(values, rows, source_file, rescued, failed_row);
  }
  Result<MergeCounts> Commit() override {
    SLUICE_RETURN_IF_ERROR(owner_->Count("TableWriter::Commit"));
    return inner_->Commit();
  }
  void Rollback() override { inner_->Rollback(); }

 private:
  FaultWarehouse* owner_;
  std::unique_ptr<TableWriter> inner_;
};

}  // namespace

FaultWarehouse::FaultWarehouse(std::unique_ptr<Warehouse> inner, FaultOptions options)
    : inner_(std::move(inner)), options_(options) {}

void FaultWarehouse::Reset(FaultOptions options) {
  options_ = options;
  calls_ = 0;
}

Result<FaultOptions> WarehouseFaultOfKind(std::string_view kind, int64_t nth) {
  FaultOptions o;
  o.fail_call = nth;
  if (kind == "enospc") {
    o.code = StatusCode::kIoError;
    o.message = "database or disk is full (SQLITE_FULL, injected)";
  } else if (kind == "eio") {
    o.code = StatusCode::kIoError;
    o.message = "disk I/O error (SQLITE_IOERR, injected)";
  } else if (kind == "eacces") {
    o.code = StatusCode::kPermissionDenied;
    o.message = "attempt to write a readonly database (SQLITE_READONLY, injected)";
  } else if (kind == "timeout") {
    o.code = StatusCode::kTimeout;
    o.message = "canceling statement due to statement timeout (injected)";
  } else if (kind == "drop") {
    o.code = StatusCode::kUnavailable;
    o.message = "server closed the connection unexpectedly (injected)";
    o.keep_failing = true;
  } else {
    std::string known;
    for (std::string_view k : kWarehouseFaultKinds) {
      known += (known.empty() ? "" : ", ") + std::string(k);
    }
    return Status::InvalidArgument("unknown warehouse fault kind \"" + std::string(kind) +
                                   "\"; use one of " + known);
  }
  return o;
}

void FaultWarehouse::SetSharedPlan(fault::SharedFaultPlan plan) {
  auto o = WarehouseFaultOfKind(plan.kind, plan.nth);
  if (o.ok()) options_ = *o;
  shared_ = std::move(plan);
}

Status FaultWarehouse::Count(std::string_view what) {
  ++calls_;
  if (shared_) {
    const int64_t n = fault::CountSharedCall(*shared_, std::string(what));
    const bool fail = dropped_ || (n > 0 && n == shared_->nth);
    if (!fail) return Status::Ok();
    if (options_.keep_failing) dropped_ = true;
    return Status(options_.code, "injected fault: call " + std::to_string(n) + " (" +
                                     std::string(what) + ") of " + inner_->Describe() + ": " +
                                     options_.message);
  }
  const bool fail =
      options_.fail_call > 0 &&
      (calls_ == options_.fail_call || (options_.keep_failing && calls_ > options_.fail_call));
  if (!fail) return Status::Ok();
  return Status(options_.code,
                "injected fault: call " + std::to_string(calls_) + " (" + std::string(what) +
                    ") of " + inner_->Describe() + " " +
                    (options_.message.empty() ? "fails as the test asked" : options_.message));
}

Result<std::unique_ptr<TableWriter>> FaultWarehouse::BeginMerge(const MergeTarget& target) {
  SLUICE_RETURN_IF_ERROR(Count("BeginMerge"));
  SLUICE_ASSIGN_OR_RETURN(auto writer, inner_->BeginMerge(target));
  return std::unique_ptr<TableWriter>(new FaultTableWriter(this, std::move(writer)));
}

Result<QueryResult> FaultWarehouse::Query(std::string_view sql, int64_t max_rows,
                                          int64_t* total_rows) {
  SLUICE_RETURN_IF_ERROR(Count("Query"));
  return inner_->Query(sql, max_rows, total_rows);
}

Status FaultWarehouse::Execute(std::string_view sql) {
  SLUICE_RETURN_IF_ERROR(Count("Execute"));
  return inner_->Execute(sql);
}

Result<bool> FaultWarehouse::TableExists(std::string_view table) {
  SLUICE_RETURN_IF_ERROR(Count("TableExists"));
  return inner_->TableExists(table);
}

Result<std::vector<std::vector<std::string>>> FaultWarehouse::UniqueKeys(std::string_view table) {
  SLUICE_RETURN_IF_ERROR(Count("UniqueKeys"));
  return inner_->UniqueKeys(table);
}

std::string FaultWarehouse::Describe() const { return inner_->Describe(); }

Result<std::unique_ptr<Warehouse>> WrapWithFaultPlanFromEnv(std::unique_ptr<Warehouse> warehouse) {
  SLUICE_ASSIGN_OR_RETURN(auto plan, fault::FaultPlanFromEnv("SLUICE_FAULT_WAREHOUSE"));
  if (!plan) return warehouse;
  if (plan->nth > 0) SLUICE_RETURN_IF_ERROR(WarehouseFaultOfKind(plan->kind, 1).status());
  auto wrapped = std::make_unique<FaultWarehouse>(std::move(warehouse), FaultOptions{});
  wrapped->SetSharedPlan(std::move(*plan));
  return std::unique_ptr<Warehouse>(std::move(wrapped));
}

}  // namespace sluice::warehouse
