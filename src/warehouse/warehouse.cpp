// warehouse/warehouse.cpp: what the table-sink interface does for every back-end.
#include "warehouse/warehouse.h"

#include "config/pipeline_config.h"
#include "core/strings.h"
#include "warehouse/fault_warehouse.h"
#include "warehouse/postgres_warehouse.h"
#include "warehouse/sqlite_warehouse.h"

namespace sluice::warehouse {

namespace {

Status CheckSqliteUrl(std::string_view url) {
  return config::ParseSqliteWarehouseUrl(url).status();
}

Status CheckPostgres(std::string_view url) { return CheckPostgresUrl(url, ""); }

Result<std::unique_ptr<Warehouse>> OpenPostgres(const std::string& url,
                                                const std::filesystem::path& /*base_dir*/,
                                                std::string_view partner,
                                                const WarehouseOptions& options) {
  return OpenPostgresWarehouse(url, partner, options);
}

// Every warehouse back-end, by URL scheme (core/backend_registry.h). A row without a factory is
// designed but not built: `validate` and OpenWarehouse refuse it, saying what to use instead.
constexpr Backend<WarehouseFactory> kWarehouseBackends[] = {
    {.scheme = "sqlite", .open = OpenSqliteWarehouse, .check = CheckSqliteUrl},
    {.scheme = "postgresql", .open = OpenPostgres, .check = CheckPostgres},
    {.scheme = "postgres", .open = OpenPostgres, .check = CheckPostgres},
};

}  // namespace

const BackendRegistry<WarehouseFactory>& WarehouseBackends() {
  static constexpr BackendRegistry<WarehouseFactory> kRegistry(
      "warehouse", /*urls=*/true, "sqlite://DIR (one database file per partner)",
      kWarehouseBackends);
  return kRegistry;
}

Result<std::unique_ptr<Warehouse>> OpenWarehouse(const std::string& url,
                                                 const std::filesystem::path& base_dir,
                                                 std::string_view partner,
                                                 const WarehouseOptions& options) {
  if (!IsValidPartnerId(partner)) {
    return Status::InvalidArgument("warehouse: \"" + Printable(partner) +
                                   "\" is not a valid partner id");
  }
  auto resolved = WarehouseBackends().Resolve(url);
  if (!resolved.ok()) return Status::InvalidArgument("warehouse: " + resolved.status().message());
  SLUICE_ASSIGN_OR_RETURN(auto opened,
                          resolved->backend->open(resolved->url, base_dir, partner, options));
  // Test builds only: the run-wide fault sweeps of tests/faults/ (core/fault_plan.h).
  return WrapWithFaultPlanFromEnv(std::move(opened));
}

std::string TableRules::CheckTableName(std::string_view name) const {
  const std::string lower = ToLower(name);
  for (const Reserved& r : reserved_names) {
    if (lower == r.lower) return "is reserved: " + r.why + "; rename the table";
  }
  for (const Reserved& r : reserved_prefixes) {
    if (lower.starts_with(r.lower)) return "is reserved: " + r.why + "; rename the table";
  }
  return "";
}

Result<TableRules> TableRulesFor(std::string_view url) {
  // The registry decides which back-end `url` selects (and refuses it as OpenWarehouse does);
  // each built back-end then gives its rules. A new back-end adds its row above and a line here.
  auto resolved = WarehouseBackends().Resolve(url);
  if (!resolved.ok()) return Status::InvalidArgument("warehouse: " + resolved.status().message());
  if (resolved->backend->scheme == "sqlite") return SqliteTableRules();
  if (resolved->backend->scheme.starts_with("postgres")) return PostgresTableRules();
  return Status::Internal("warehouse: the " + std::string(resolved->backend->scheme) +
                          ":// back-end gives no table rules (warehouse.cpp TableRulesFor)");
}

void PrepareProcessForBulkWrites() { PrepareSqliteForBulkWrites(); }

std::string QuoteIdentifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

Status TableWriter::AddRows(std::span<const Value> values, size_t rows,
                            std::string_view source_file, std::span<const std::string_view> rescued,
                            size_t* failed_row) {
  if (rows == 0) return Status::Ok();
  const size_t ncols = values.size() / rows;
  for (size_t r = 0; r < rows; ++r) {
    Status st = Add(values.subspan(r * ncols, ncols), source_file,
                    rescued.empty() ? std::string_view() : rescued[r]);
    if (!st.ok()) {
      if (failed_row) *failed_row = r;
      return st;
    }
  }
  return Status::Ok();
}

}  // namespace sluice::warehouse
