#include "core/logging.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/redact.h"

namespace sluice::log {
namespace {

struct State {
  std::mutex mu;
  Options options;
  std::vector<std::string> secrets;
  std::shared_ptr<spdlog::logger> logger;
};

State& GetState() {
  static State* state = [] {
    auto* s = new State();
    s->logger = spdlog::stderr_logger_mt("sluice");
    s->logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
    s->logger->set_level(spdlog::level::info);
    return s;
  }();
  return *state;
}

spdlog::level::level_enum ToSpd(Level level) {
  switch (level) {
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

}  // namespace

void Init(const Options& options) {
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  s.options = options;
  if (options.format == Format::kJson) {
    s.logger->set_pattern("%v");
  } else {
    s.logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  }
  s.logger->set_level(ToSpd(options.level));
}

bool ParseFormat(std::string_view name, Format* out) {
  if (name == "plain")
    *out = Format::kPlain;
  else if (name == "json")
    *out = Format::kJson;
  else
    return false;
  return true;
}

bool ParseLevel(std::string_view name, Level* out) {
  if (name == "debug")
    *out = Level::kDebug;
  else if (name == "info")
    *out = Level::kInfo;
  else if (name == "warn" || name == "warning")
    *out = Level::kWarn;
  else if (name == "error")
    *out = Level::kError;
  else
    return false;
  return true;
}

void RegisterSecret(std::string value) {
  if (value.size() < 4) return;  // Masking "a" or "on" would garble every line.
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  if (std::find(s.secrets.begin(), s.secrets.end(), value) == s.secrets.end()) {
    s.secrets.push_back(std::move(value));
  }
}

void RegisterSecretsFromEnvironment() {
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos || entry.size() - eq - 1 < 8) continue;
    std::string name(entry.substr(0, eq));
    for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const bool secret =
        name.find("SECRET") != std::string::npos || name.find("PASSWORD") != std::string::npos ||
        name.find("PASSWD") != std::string::npos || name.find("TOKEN") != std::string::npos ||
        name.find("CREDENTIAL") != std::string::npos || name.find("APIKEY") != std::string::npos ||
        name.find("API_KEY") != std::string::npos || name.ends_with("_KEY") ||
        // AWS_ACCESS_KEY_ID: half of the key pair (found by the secrets canary test).
        name.find("ACCESS_KEY") != std::string::npos;
    if (secret) RegisterSecret(std::string(entry.substr(eq + 1)));
  }
}

void RegisterSecretsFromEnvironment(const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    if (const char* value = std::getenv(name.c_str())) RegisterSecret(value);
  }
}

bool HasSecrets() {
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  return !s.secrets.empty();
}

size_t PartialSecretAtEnd(std::string_view text) {
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  size_t best = 0;
  for (const std::string& secret : s.secrets) {
    for (size_t k = std::min(secret.size() - 1, text.size()); k > best; --k) {
      if (text.substr(text.size() - k) == std::string_view(secret).substr(0, k)) {
        best = k;
        break;
      }
    }
  }
  return best;
}

std::string Redact(std::string text) {
  State& s = GetState();
  std::vector<std::string> secrets;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    secrets = s.secrets;
  }
  for (const std::string& secret : secrets) {
    for (size_t pos = text.find(secret); pos != std::string::npos;
         pos = text.find(secret, pos + 3)) {
      text.replace(pos, secret.size(), "***");
    }
  }
  return text;
}

void Write(Level level, std::string_view message) {
  State& s = GetState();
  std::string text = Redact(std::string(message));
  Format format;
  std::string component;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    format = s.options.format;
    component = s.options.component;
  }
  if (format == Format::kJson) {
    nlohmann::json line = {{"ts", std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count()},
                           {"level", LevelName(level)},
                           {"msg", text}};
    if (!component.empty()) line["component"] = component;
    s.logger->log(ToSpd(level), "{}",
                  line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  } else {
    s.logger->log(ToSpd(level), "{}", text);
  }
}

}  // namespace sluice::log
