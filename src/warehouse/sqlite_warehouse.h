// warehouse/sqlite_warehouse.h: the SQLite back-end of the warehouse (sqlite://DIR, one database
// file per partner) and what only it needs. The rest of sluice reaches it through
// OpenWarehouse (warehouse.h); its internals are in sqlite_internal.h.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "config/pipeline_config.h"
#include "core/status.h"
#include "warehouse/warehouse.h"

namespace sluice::warehouse {

// Opens `partner`'s database DIR/<partner>.db for the sqlite:// `url` (DIR relative to
// `base_dir`). InvalidArgument for a malformed URL, PermissionDenied when a link stands in the
// database's place, IoError (or Corrupt) when the database cannot be opened.
Result<std::unique_ptr<Warehouse>> OpenSqliteWarehouse(const std::string& url,
                                                       const std::filesystem::path& base_dir,
                                                       std::string_view partner,
                                                       const WarehouseOptions& options);

}  // namespace sluice::warehouse
