// ledger.cpp: state names and the back-end factory.
#include "ledger/ledger.h"

#include <array>
#include <utility>

#include "core/strings.h"
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

Result<std::unique_ptr<Ledger>> OpenLedger(const std::string& url,
                                           const std::filesystem::path& base_dir) {
  if (StartsWith(url, "sqlite://")) {
    std::filesystem::path file(url.substr(std::string_view("sqlite://").size()));
    if (file.empty()) {
      return Status::InvalidArgument("ledger URL \"" + url +
                                     "\" names no file; use sqlite://./state/ledger.db");
    }
    if (file.is_relative()) file = (base_dir / file).lexically_normal();
    return OpenSqliteLedger(file);
  }
  if (StartsWith(url, "postgresql://") || StartsWith(url, "postgres://")) {
    return Status::Unavailable(
        "ledger: postgresql:// is not supported yet; use sqlite://./state/ledger.db in "
        "sluice.yaml");
  }
  return Status::InvalidArgument("ledger URL \"" + url +
                                 "\" has an unknown scheme; use sqlite://FILE or postgresql://...");
}

}  // namespace sluice::ledger
