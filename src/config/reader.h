// config/reader.h: validation helpers over Node, collecting every problem of a file at once.
//
// MapReader reads one map: each accessor registers its key as known, checks the value's type,
// and records an error at the value's file:line:column when the type is wrong or a required key
// is missing. Finish() reports keys nobody asked for as errors that suggest the nearest known key.
// Thread-safety: not thread-safe; one reader per map being validated.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/node.h"
#include "core/status.h"

namespace sluice::config {

struct Diagnostic {
  enum class Severity { kError, kWarning };
  Severity severity = Severity::kError;
  Location loc;
  std::string message;
  // "file:line:col: message"
  std::string ToString() const;
};

class Diagnostics {
 public:
  void Error(const Location& loc, std::string message);
  void Warn(const Location& loc, std::string message);
  // Records a Status (e.g. from ParseYaml) as an error at its own file:line.
  void Add(const Status& status);

  bool HasErrors() const;
  const std::vector<Diagnostic>& items() const { return items_; }
  // Ok, or InvalidArgument listing every error, one "file:line:col: message" per line.
  Status ToStatus() const;
  // Logs warnings through core/logging.
  void LogWarnings() const;

 private:
  std::vector<Diagnostic> items_;
};

class MapReader {
 public:
  // `what` names the map in messages ("task \"extract\"", "sluice.yaml"). When `node` is not a
  // map an error is recorded and every accessor returns nullopt.
  MapReader(const Node& node, std::string what, Diagnostics* diags);

  bool ok() const { return map_ != nullptr; }
  const Location& location() const { return loc_; }
  bool Has(std::string_view key) const;

  // The raw value of `key`, or nullptr when absent (or null).
  const Node* Value(std::string_view key, bool required = false);
  std::optional<std::string> String(std::string_view key, bool required = false);
  std::optional<int64_t> Int(std::string_view key, bool required = false, int64_t min = INT64_MIN,
                             int64_t max = INT64_MAX);
  std::optional<double> Double(std::string_view key, bool required = false);
  std::optional<bool> Bool(std::string_view key, bool required = false);
  // A list of strings; a single string is accepted as a list of one when `allow_scalar`.
  std::optional<std::vector<std::string>> StringList(std::string_view key, bool required = false,
                                                     bool allow_scalar = false);
  // A byte size: an integer or a string such as "20GiB".
  std::optional<int64_t> ByteSize(std::string_view key, bool required = false);

  // Marks a key as known without reading it.
  void Allow(std::string_view key);
  // Marks a key as accepted-but-ignored: a warning naming `why` if present.
  void Ignore(std::string_view key, std::string_view why);

  // Reports unknown keys (with a "did you mean" suggestion). Call once, after reading.
  void Finish();

  // Error helpers for callers doing their own checks on a value.
  void ErrorAt(const Node& node, std::string message);
  void ErrorAtKey(std::string_view key, std::string message);
  Diagnostics* diagnostics() { return diags_; }

 private:
  const Node* Lookup(std::string_view key, bool required);

  const Node* map_;
  Location loc_;
  std::string what_;
  Diagnostics* diags_;
  std::vector<std::string> known_;
};

// Standalone scalar conversions, shared by readers of lists and nested values.
std::optional<int64_t> ScalarToInt(const Node& node);
std::optional<double> ScalarToDouble(const Node& node);
std::optional<bool> ScalarToBool(const Node& node);

}  // namespace sluice::config
