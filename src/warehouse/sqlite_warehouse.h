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

// The SQL column type the SQLite back-end declares for a schema column ("INTEGER", "REAL",
// "TEXT": decimals, dates and timestamps as TEXT so a plain query shows the exact value;
// SQLite's NUMERIC affinity would turn "12.30" into 12.3).
std::string_view SqlType(const config::ColumnSchema& column);

// Process-wide settings for bulk writes to SQLite: turns off SQLite's global allocation
// statistics (a mutex around every allocation) and keeps freed heap memory instead of handing
// it back to the kernel after every 64 KiB page is released (each round trip costs page faults
// and zeroing). Together ~15% of a merge's SQLite time. Once, before any database is opened;
// a later call leaves SQLite as it is. Called by PrepareProcessForBulkWrites (warehouse.h).
void PrepareSqliteForBulkWrites();

// SQLite's rules for tables: 2,000 columns a table (SQLITE_MAX_COLUMN's default), of which
// sluice adds up to 5 (_ingest_date, _load_id, _rescued, and _run_id and _source_file in tables
// of wave one); names compare case-insensitively; "sqlite_..." and "excluded" are reserved.
TableRules SqliteTableRules();

}  // namespace sluice::warehouse
