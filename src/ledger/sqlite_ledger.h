// ledger/sqlite_ledger.h: the SQLite ledger back-end (WAL journal, busy timeout), one file.
// Thread-safety: as Ledger; several processes may open the same file.
#pragma once

#include <filesystem>
#include <memory>

#include "ledger/ledger.h"

namespace sluice::ledger {

// Opens or creates the database at `file` (and its parent folder). IoError on failure.
Result<std::unique_ptr<Ledger>> OpenSqliteLedger(const std::filesystem::path& file);

}  // namespace sluice::ledger
