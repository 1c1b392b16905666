// config/node.h: a parsed configuration document (YAML or JSON) that remembers where every
// key and value came from, so every validation error can name file:line:column.
//
// YAML is read with yaml-cpp and JSON with nlohmann-json; both become the same Node tree so
// validation code is written once. Thread-safety: immutable values once loaded.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sluice::config {

struct Location {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown
  // "file:line:column" (parts that are unknown are left out).
  std::string ToString() const;
};

class Node {
 public:
  enum class Kind { kNull, kScalar, kMap, kSequence };
  struct MapItem;

  // Defined below MapItem: clang instantiates vector<MapItem>'s destructor at an inline
  // constructor, before MapItem is complete (the libFuzzer build, fuzz/, uses clang).
  Node();
  Node(Kind kind, Location loc);
  static Node Scalar(std::string text, bool quoted, Location loc);
  // A null value; `raw` keeps how it was spelled ("NULL", "~", "").
  static Node Null(std::string raw, Location loc);

  Kind kind() const { return kind_; }
  bool IsNull() const { return kind_ == Kind::kNull; }
  bool IsScalar() const { return kind_ == Kind::kScalar; }
  bool IsMap() const { return kind_ == Kind::kMap; }
  bool IsSequence() const { return kind_ == Kind::kSequence; }
  // "a map", "a list", "a string", "null": for type-mismatch messages.
  std::string KindName() const;

  // Scalar text; for JSON numbers and booleans their literal text; for YAML nulls their
  // spelling ("NULL", "~", or "" when nothing was written).
  const std::string& scalar() const { return scalar_; }
  // True when the scalar was written as a string (quoted YAML, JSON string).
  bool quoted() const { return quoted_; }
  const std::vector<MapItem>& map_items() const { return map_; }
  const std::vector<Node>& items() const { return seq_; }
  std::vector<MapItem>& mutable_map_items() { return map_; }
  std::vector<Node>& mutable_items() { return seq_; }
  const Location& location() const { return loc_; }

  // The value of `key` in a map, or nullptr (also when this is not a map).
  const Node* Get(std::string_view key) const;
  // The location of `key` itself in a map, or this node's location.
  const Location& KeyLocation(std::string_view key) const;

 private:
  Kind kind_ = Kind::kNull;
  std::string scalar_;
  bool quoted_ = false;
  std::vector<MapItem> map_;
  std::vector<Node> seq_;
  Location loc_;
};

struct Node::MapItem {
  std::string key;
  Location key_loc;
  Node value;
};

inline Node::Node() = default;
inline Node::Node(Kind kind, Location loc) : kind_(kind), loc_(std::move(loc)) {}

// Parses YAML text. InvalidArgument with file:line:column on a syntax error or duplicate key.
Result<Node> ParseYaml(std::string_view text, const std::string& file_name);
// Parses JSON text. InvalidArgument with file:line:column on a syntax error or duplicate key.
Result<Node> ParseJson(std::string_view text, const std::string& file_name);
// Reads and parses a file, choosing JSON for *.json and YAML otherwise. NotFound when missing.
// `display_name` is used in messages (defaults to the path as given).
Result<Node> LoadFile(const std::filesystem::path& path, const std::string& display_name = "");

}  // namespace sluice::config
