// ledger.cpp: state names and the back-end factory.
#include "ledger/ledger.h"

#include <array>
#include <utility>

#include "ledger/postgres_ledger.h"
#include "ledger/sqlite_ledger.h"

namespace sluice::ledger {

namespace {
constexpr std::array<std::pair<State, std::string_view>, 9> kStateNames = {{
    {State::kPending, "pending"},
    {State::kQueued, "queued"},
    {State::kRunning, "running"},
    {State::kSuccess, "success"},
    {State::kFailed, "failed"},
    {State::kTimedOut, "timed_out"},
    {State::kUpstreamFailed, "upstream_failed"},
    {State::kSkipped, "skipped"},
    {State::kCancelled, "cancelled"},
}};
}  // namespace

std::string_view StateName(State state) {
  for (const auto& [s, name] : kStateNames) {
    if (s == state) return name;
  }
  return "unknown";
}

Result<State> ParseState(std::string_view name) {
  for (const auto& [s, n] : kStateNames) {
    if (n == name) return s;
  }
  return Status::InvalidArgument("unknown task state \"" + std::string(name) + "\"");
}

bool IsTerminal(State state) {
  return state == State::kSuccess || state == State::kSkipped || IsFailure(state);
}

bool IsFailure(State state) {
  return state == State::kFailed || state == State::kTimedOut || state == State::kUpstreamFailed ||
         state == State::kCancelled;
}

namespace {

Status CheckSqliteUrl(std::string_view url) {
  if (url.size() == std::string_view("sqlite://").size()) {
    return Status::InvalidArgument("names no file; use sqlite://./state/ledger.db");
  }
  return Status::Ok();
}

Result<std::unique_ptr<Ledger>> OpenSqlite(const std::string& url,
                                           const std::filesystem::path& base_dir) {
  std::filesystem::path file(url.substr(std::string_view("sqlite://").size()));
  if (file.is_relative()) file = (base_dir / file).lexically_normal();
  return OpenSqliteLedger(file);
}

Result<std::unique_ptr<Ledger>> OpenPostgres(const std::string& url,
                                             const std::filesystem::path& /*base_dir*/) {
  return OpenPostgresLedger(url);
}

// Every ledger back-end, by URL scheme (core/backend_registry.h). A row without a factory is
// designed but not built: `validate` and OpenLedger refuse it, saying what to use instead.
constexpr Backend<LedgerFactory> kLedgerBackends[] = {
    {.scheme = "sqlite", .open = OpenSqlite, .check = CheckSqliteUrl},
    {.scheme = "postgresql", .open = OpenPostgres, .check = CheckPostgresLedgerUrl},
    {.scheme = "postgres", .open = OpenPostgres, .check = CheckPostgresLedgerUrl},
};

}  // namespace

const BackendRegistry<LedgerFactory>& LedgerBackends() {
  static constexpr BackendRegistry<LedgerFactory> kRegistry(
      "ledger", /*urls=*/true, "sqlite://FILE (e.g. sqlite://./state/ledger.db)", kLedgerBackends);
  return kRegistry;
}

Result<std::unique_ptr<Ledger>> OpenLedger(const std::string& url,
                                           const std::filesystem::path& base_dir) {
  auto resolved = LedgerBackends().Resolve(url);
  if (!resolved.ok()) return Status::InvalidArgument("ledger: " + resolved.status().message());
  return resolved->backend->open(resolved->url, base_dir);
}

}  // namespace sluice::ledger
