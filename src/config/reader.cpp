#include "config/reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "core/logging.h"
#include "core/strings.h"

namespace sluice::config {

std::string Diagnostic::ToString() const {
  std::string where = loc.ToString();
  std::string prefix = severity == Severity::kWarning ? "warning: " : "";
  return where.empty() ? prefix + message : where + ": " + prefix + message;
}

void Diagnostics::Error(const Location& loc, std::string message) {
  items_.push_back({Diagnostic::Severity::kError, loc, std::move(message)});
}

void Diagnostics::Warn(const Location& loc, std::string message) {
  items_.push_back({Diagnostic::Severity::kWarning, loc, std::move(message)});
}

void Diagnostics::Add(const Status& status) {
  if (status.ok()) return;
  const ErrorContext& c = status.context();
  std::string message = status.message();
  Error(Location{c.file, c.line, c.column}, std::move(message));
}

bool Diagnostics::HasErrors() const {
  return std::any_of(items_.begin(), items_.end(), [](const Diagnostic& d) {
    return d.severity == Diagnostic::Severity::kError;
  });
}

Status Diagnostics::ToStatus() const {
  std::string message;
  for (const Diagnostic& d : items_) {
    if (d.severity != Diagnostic::Severity::kError) continue;
    if (!message.empty()) message += "\n";
    message += d.ToString();
  }
  if (message.empty()) return Status::Ok();
  return Status::InvalidArgument(message);
}

void Diagnostics::LogWarnings() const {
  for (const Diagnostic& d : items_) {
    if (d.severity == Diagnostic::Severity::kWarning) log::Warn("{}", d.ToString());
  }
}

MapReader::MapReader(const Node& node, std::string what, Diagnostics* diags)
    : map_(node.IsMap() ? &node : nullptr),
      loc_(node.location()),
      what_(std::move(what)),
      diags_(diags) {
  if (map_ == nullptr) {
    diags_->Error(loc_, what_ + " must be a map of keys to values, got " + node.KindName());
  }
}

bool MapReader::Has(std::string_view key) const {
  return map_ != nullptr && map_->Get(key) != nullptr && !map_->Get(key)->IsNull();
}

const Node* MapReader::Lookup(std::string_view key, bool required) {
  Allow(key);
  if (map_ == nullptr) return nullptr;
  const Node* v = map_->Get(key);
  if (v == nullptr || v->IsNull()) {
    if (required) {
      diags_->Error(v ? v->location() : loc_,
                    "missing required key \"" + std::string(key) + "\" in " + what_);
    }
    return nullptr;
  }
  return v;
}

const Node* MapReader::Value(std::string_view key, bool required) { return Lookup(key, required); }

std::optional<std::string> MapReader::String(std::string_view key, bool required) {
  const Node* v = Lookup(key, required);
  if (v == nullptr) return std::nullopt;
  if (!v->IsScalar()) {
    ErrorAt(*v, "\"" + std::string(key) + "\" must be a string, got " + v->KindName());
    return std::nullopt;
  }
  return v->scalar();
}

std::optional<int64_t> ScalarToInt(const Node& node) {
  if (!node.IsScalar()) return std::nullopt;
  const std::string& s = node.scalar();
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return value;
}

std::optional<double> ScalarToDouble(const Node& node) {
  if (!node.IsScalar() || node.scalar().empty()) return std::nullopt;
  const std::string& s = node.scalar();
  char* end = nullptr;
  double value = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::optional<bool> ScalarToBool(const Node& node) {
  if (!node.IsScalar()) return std::nullopt;
  std::string s = ToLower(node.scalar());
  if (s == "true" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "no" || s == "off") return false;
  return std::nullopt;
}

std::optional<int64_t> MapReader::Int(std::string_view key, bool required, int64_t min,
                                      int64_t max) {
  const Node* v = Lookup(key, required);
  if (v == nullptr) return std::nullopt;
  auto value = ScalarToInt(*v);
  if (!value) {
    ErrorAt(*v, "\"" + std::string(key) + "\" must be an integer, got " + v->KindName());
    return std::nullopt;
  }
  if (*value < min || *value > max) {
    std::string range = max == INT64_MAX
                            ? "at least " + std::to_string(min)
                            : "between " + std::to_string(min) + " and " + std::to_string(max);
    ErrorAt(*v, "\"" + std::string(key) + "\" must be " + range + ", got " + v->scalar());
    return std::nullopt;
  }
  return value;
}

std::optional<double> MapReader::Double(std::string_view key, bool required) {
  const Node* v = Lookup(key, required);
  if (v == nullptr) return std::nullopt;
  auto value = ScalarToDouble(*v);
  if (!value) {
    ErrorAt(*v, "\"" + std::string(key) + "\" must be a number, got " + v->KindName());
  }
  return value;
}

std::optional<bool> MapReader::Bool(std::string_view key, bool required) {
  const Node* v = Lookup(key, required);
  if (v == nullptr) return std::nullopt;
  auto value = ScalarToBool(*v);
  if (!value) {
    ErrorAt(*v, "\"" + std::string(key) + "\" must be true or false, got " + v->KindName());
  }
  return value;
}

std::optional<std::vector<std::string>> MapReader::StringList(std::string_view key, bool required,
                                                              bool allow_scalar) {
  const Node* v = Lookup(key, required);
  if (v == nullptr) return std::nullopt;
  if (v->IsScalar() && allow_scalar) return std::vector<std::string>{v->scalar()};
  if (!v->IsSequence()) {
    ErrorAt(*v, "\"" + std::string(key) + "\" must be a list of strings, got " + v->KindName());
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool good = true;
  for (const Node& item : v->items()) {
    if (item.IsNull() && !item.scalar().empty()) {
      out.push_back(item.scalar());  // a YAML null spelled NULL or ~ in a list of strings
      continue;
    }
    if (!item.IsScalar()) {
      ErrorAt(item, "every item of \"" + std::string(key) + "\" must be a string, got " +
                        item.KindName());
      good = false;
      continue;
    }
    out.push_back(item.scalar());
  }
  if (!good) return std::nullopt;
  return out;
}

std::optional<int64_t> MapReader::ByteSize(std::string_view key, bool required) {
  const Node* v = Lookup(key, required);
  if (v == nullptr) return std::nullopt;
  if (!v->IsScalar()) {
    ErrorAt(*v,
            "\"" + std::string(key) + "\" must be a byte size such as 20GiB, got " + v->KindName());
    return std::nullopt;
  }
  auto parsed = ParseByteSize(v->scalar());
  if (!parsed.ok()) {
    ErrorAt(*v, "\"" + std::string(key) + "\": " + parsed.status().message());
    return std::nullopt;
  }
  if (*parsed <= 0) {
    ErrorAt(*v, "\"" + std::string(key) + "\" must be greater than zero");
    return std::nullopt;
  }
  return *parsed;
}

void MapReader::Allow(std::string_view key) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.emplace_back(key);
}

void MapReader::Ignore(std::string_view key, std::string_view why) {
  Allow(key);
  if (map_ != nullptr && map_->Get(key) != nullptr) {
    diags_->Warn(map_->KeyLocation(key),
                 "\"" + std::string(key) + "\" in " + what_ + " is ignored: " + std::string(why));
  }
}

void MapReader::Finish() {
  if (map_ == nullptr) return;
  for (const Node::MapItem& item : map_->map_items()) {
    if (std::find(known_.begin(), known_.end(), item.key) != known_.end()) continue;
    diags_->Error(item.key_loc,
                  "unknown key \"" + item.key + "\" in " + what_ + DidYouMean(item.key, known_));
  }
}

void MapReader::ErrorAt(const Node& node, std::string message) {
  diags_->Error(node.location(), what_ + ": " + message);
}

void MapReader::ErrorAtKey(std::string_view key, std::string message) {
  Location loc = map_ != nullptr ? map_->KeyLocation(key) : loc_;
  diags_->Error(loc, what_ + ": " + message);
}

}  // namespace sluice::config
