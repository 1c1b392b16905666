// ledger/postgres_ledger.h: the PostgreSQL ledger back-end (postgresql://user@host:port/db),
// for schedulers and task processes on several machines sharing one ledger.
//
// Tables live in the schema "_sluice" (a leading underscore: no partner id can name it, so a
// database may hold both the ledger and the warehouse's partner schemas). Every write is one
// transaction; one running run per workflow and date is enforced by the database (a unique
// partial index), not by a local lock, so two schedulers on different hosts asked to run the
// same date cannot both start it. Claims and heartbeats are compare-and-set updates by key.
// The schema version is kept in _sluice.ledger_meta and migrated under an advisory lock.
// The password comes from libpq's own sources (PGPASSWORD, ~/.pgpass, PGSERVICE), never the URL.
// Thread-safety: as Ledger (one connection per Ledger object).
#pragma once

#include <memory>
#include <string>

#include "ledger/ledger.h"

namespace sluice::ledger {

// Connects and creates or migrates the schema. InvalidArgument for a malformed URL or one that
// holds a password; Unavailable when the server cannot be reached (retryable);
// PermissionDenied when it refuses the login or the schema.
Result<std::unique_ptr<Ledger>> OpenPostgresLedger(const std::string& url);

// The URL's form, without connecting: libpq must parse it and it must hold no password.
// InvalidArgument naming the fix (and not repeating the URL).
Status CheckPostgresLedgerUrl(std::string_view url);

}  // namespace sluice::ledger
