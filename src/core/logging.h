// core/logging.h: process-wide logging through spdlog, in a plain or a JSON-lines format.
//
// Every line passes through a secret filter: values registered with RegisterSecret() (API keys,
// passwords read from the environment) are replaced by "***" before anything is written.
// Thread-safety: all functions are safe to call from any thread after InitLogging().
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::log {

enum class Level { kDebug, kInfo, kWarn, kError };
enum class Format { kPlain, kJson };

struct Options {
  Format format = Format::kPlain;
  Level level = Level::kInfo;
  // Extra key/value fields for JSON lines (run id, task, partner); ignored in plain format.
  std::string component;
};

// Sets the format and level of the default logger (stderr). Safe to call again.
void Init(const Options& options);
// Parses "plain"/"json" and "debug"/"info"/"warn"/"error"; false on unknown names.
bool ParseFormat(std::string_view name, Format* out);
bool ParseLevel(std::string_view name, Level* out);

// Registers a value that must never appear in logs. Empty and very short values are ignored.
void RegisterSecret(std::string value);
// Registers the values of environment variables whose names say they hold a credential
// (containing SECRET, PASSWORD, PASSWD, TOKEN, CREDENTIAL or APIKEY/API_KEY, or ending in _KEY,
// in any case: AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, PGPASSWORD, ...), so a task that prints
// one does not send it on in an alert's log tail or sluice's own log. Values under 8 bytes are
// left alone.
void RegisterSecretsFromEnvironment();
// Registers the values of the named environment variables (`redact_env:` in sluice.yaml);
// unset and very short values are ignored.
void RegisterSecretsFromEnvironment(const std::vector<std::string>& names);
// True when at least one secret is registered.
bool HasSecrets();
// Returns `text` with every registered secret replaced by "***".
std::string Redact(std::string text);

void Write(Level level, std::string_view message);

template <typename... Args>
void Debug(fmt::format_string<Args...> f, Args&&... args) {
  Write(Level::kDebug, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void Info(fmt::format_string<Args...> f, Args&&... args) {
  Write(Level::kInfo, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void Warn(fmt::format_string<Args...> f, Args&&... args) {
  Write(Level::kWarn, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void Error(fmt::format_string<Args...> f, Args&&... args) {
  Write(Level::kError, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace sluice::log
