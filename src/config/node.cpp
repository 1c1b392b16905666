#include "config/node.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace sluice::config {

std::string Location::ToString() const {
  std::string out = file;
  if (line > 0) {
    out += ":" + std::to_string(line);
    if (column > 0) out += ":" + std::to_string(column);
  }
  return out;
}

Node Node::Null(std::string raw, Location loc) {
  Node n(Kind::kNull, std::move(loc));
  n.scalar_ = std::move(raw);
  return n;
}

Node Node::Scalar(std::string text, bool quoted, Location loc) {
  Node n(Kind::kScalar, std::move(loc));
  n.scalar_ = std::move(text);
  n.quoted_ = quoted;
  return n;
}

std::string Node::KindName() const {
  switch (kind_) {
    case Kind::kNull:
      return "null";
    case Kind::kScalar:
      return "\"" + scalar_ + "\"";
    case Kind::kMap:
      return "a map";
    case Kind::kSequence:
      return "a list";
  }
  return "?";
}

const Node* Node::Get(std::string_view key) const {
  for (const MapItem& item : map_) {
    if (item.key == key) return &item.value;
  }
  return nullptr;
}

const Location& Node::KeyLocation(std::string_view key) const {
  for (const MapItem& item : map_) {
    if (item.key == key) return item.key_loc;
  }
  return loc_;
}

namespace {

Location YamlLoc(const YAML::Mark& mark, const std::string& file) {
  if (mark.is_null()) return Location{file, 0, 0};
  return Location{file, mark.line + 1, mark.column + 1};
}

// yaml-cpp drops the text of null scalars ("NULL", "~"); recover it from the source so a list
// such as null_values: ["", NULL] keeps what the user wrote.
std::string RawToken(std::string_view text, const YAML::Mark& mark) {
  if (mark.is_null() || mark.pos < 0 || static_cast<size_t>(mark.pos) >= text.size()) return "";
  std::string_view rest = text.substr(static_cast<size_t>(mark.pos));
  size_t end = rest.find_first_of(",]}\n#");
  std::string_view token = rest.substr(0, end);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\r' || token.back() == '\t')) {
    token.remove_suffix(1);
  }
  return std::string(token);
}

// Configuration nests a few levels; anything deeper is a mistake or an attack, and converting
// it would recurse without bound: a recursive alias (`a: &x [*x]`) is a cycle, and aliases of
// aliases ("billion laughs") expand exponentially.
constexpr int kMaxDepth = 64;
constexpr int64_t kMaxValues = 1'000'000;

struct YamlBudget {
  int depth = 0;
  int64_t values = 0;
};

Status ConvertYaml(const YAML::Node& in, std::string_view text, const std::string& file, Node* out,
                   YamlBudget* budget) {
  Location loc = YamlLoc(in.Mark(), file);
  if (budget->depth > kMaxDepth) {
    return Status::InvalidArgument("values nest deeper than " + std::to_string(kMaxDepth) +
                                   " levels (an alias inside its own anchor, such as "
                                   "`a: &x [*x]`?); write the value out without nesting it")
        .WithFile(file, loc.line, loc.column);
  }
  if (++budget->values > kMaxValues) {
    return Status::InvalidArgument("the file expands to more than " + std::to_string(kMaxValues) +
                                   " values (aliases that repeat aliases?); write the values "
                                   "out instead of repeating anchors")
        .WithFile(file, loc.line, loc.column);
  }
  // Children are one level deeper for the rest of this call.
  struct Deeper {
    explicit Deeper(YamlBudget* b) : b_(b) { ++b_->depth; }
    ~Deeper() { --b_->depth; }
    YamlBudget* b_;
  } deeper(budget);
  switch (in.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      *out = Node::Null(RawToken(text, in.Mark()), loc);
      return Status::Ok();
    case YAML::NodeType::Scalar:
      // yaml-cpp tags quoted scalars "!" and plain ones "?".
      *out = Node::Scalar(in.Scalar(), in.Tag() == "!", loc);
      return Status::Ok();
    case YAML::NodeType::Sequence: {
      *out = Node(Node::Kind::kSequence, loc);
      for (const YAML::Node& child : in) {
        Node c;
        SLUICE_RETURN_IF_ERROR(ConvertYaml(child, text, file, &c, budget));
        out->mutable_items().push_back(std::move(c));
      }
      return Status::Ok();
    }
    case YAML::NodeType::Map: {
      *out = Node(Node::Kind::kMap, loc);
      std::set<std::string> seen;
      for (const auto& kv : in) {
        Location key_loc = YamlLoc(kv.first.Mark(), file);
        if (!kv.first.IsScalar()) {
          return Status::InvalidArgument("map keys must be plain strings")
              .WithFile(file, key_loc.line, key_loc.column);
        }
        std::string key = kv.first.Scalar();
        if (!seen.insert(key).second) {
          return Status::InvalidArgument("duplicate key \"" + key + "\"")
              .WithFile(file, key_loc.line, key_loc.column);
        }
        Node value;
        SLUICE_RETURN_IF_ERROR(ConvertYaml(kv.second, text, file, &value, budget));
        if (value.location().line == 0) {
          // `key:` with nothing after it has no mark of its own; point at the key.
          value = value.IsNull() ? Node(Node::Kind::kNull, key_loc) : std::move(value);
        }
        out->mutable_map_items().push_back({std::move(key), key_loc, std::move(value)});
      }
      return Status::Ok();
    }
  }
  return Status::Internal("unknown YAML node type");
}

// Maps byte offsets to 1-based line and column.
class LineIndex {
 public:
  explicit LineIndex(std::string_view text) {
    starts_.push_back(0);
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') starts_.push_back(i + 1);
    }
  }
  Location At(size_t offset, const std::string& file) const {
    auto it = std::upper_bound(starts_.begin(), starts_.end(), offset);
    size_t line = static_cast<size_t>(it - starts_.begin());
    size_t col = offset - starts_[line - 1] + 1;
    return Location{file, static_cast<int>(line), static_cast<int>(col)};
  }

 private:
  std::vector<size_t> starts_;
};

// An input iterator that publishes how far nlohmann's lexer has read, so the parse callback
// knows where each key and value ended.
struct Cursor {
  const char* pos = nullptr;
};
class TrackingIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  TrackingIterator() = default;
  TrackingIterator(const char* p, Cursor* cursor) : p_(p), cursor_(cursor) {}
  reference operator*() const { return *p_; }
  TrackingIterator& operator++() {
    ++p_;
    if (cursor_ != nullptr) cursor_->pos = p_;
    return *this;
  }
  TrackingIterator operator++(int) {
    TrackingIterator old = *this;
    ++*this;
    return old;
  }
  bool operator==(const TrackingIterator& o) const { return p_ == o.p_; }
  bool operator!=(const TrackingIterator& o) const { return p_ != o.p_; }

 private:
  const char* p_ = nullptr;
  Cursor* cursor_ = nullptr;
};

}  // namespace

Result<Node> ParseYaml(std::string_view text, const std::string& file_name) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    Location loc = YamlLoc(e.mark, file_name);
    return Status::InvalidArgument("invalid YAML: " + e.msg)
        .WithFile(file_name, loc.line, loc.column);
  }
  Node out;
  try {
    YamlBudget budget;
    SLUICE_RETURN_IF_ERROR(ConvertYaml(root, text, file_name, &out, &budget));
  } catch (const YAML::Exception& e) {
    Location loc = YamlLoc(e.mark, file_name);
    return Status::InvalidArgument("invalid YAML: " + e.msg)
        .WithFile(file_name, loc.line, loc.column);
  }
  return out;
}

// The offset of the first '[' or '{' (outside strings) that opens a level deeper than
// kMaxDepth, or npos. Checked before parsing: the parse and the Node tree recurse per level.
static size_t TooDeepJson(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxDepth) return i;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return std::string_view::npos;
}

Result<Node> ParseJson(std::string_view text, const std::string& file_name) {
  using nlohmann::json;
  LineIndex lines(text);
  if (size_t deep = TooDeepJson(text); deep != std::string_view::npos) {
    Location loc = lines.At(deep, file_name);
    return Status::InvalidArgument("values nest deeper than " + std::to_string(kMaxDepth) +
                                   " levels; a schema needs a few")
        .WithFile(file_name, loc.line, loc.column);
  }
  Cursor cursor{text.data()};
  auto here = [&]() {
    size_t offset = static_cast<size_t>(cursor.pos - text.data());
    // The lexer has read one character past most tokens; step back onto the token.
    return lines.At(offset > 0 ? offset - 1 : 0, file_name);
  };

  Node root;
  bool have_root = false;
  std::vector<Node*> stack;
  std::string pending_key;
  Location pending_key_loc;
  Status error;

  auto attach = [&](Node node) -> Node* {
    if (stack.empty()) {
      root = std::move(node);
      have_root = true;
      return &root;
    }
    Node* parent = stack.back();
    if (parent->IsMap()) {
      for (const Node::MapItem& item : parent->map_items()) {
        if (item.key == pending_key && error.ok()) {
          error = Status::InvalidArgument("duplicate key \"" + pending_key + "\"")
                      .WithFile(file_name, pending_key_loc.line, pending_key_loc.column);
        }
      }
      parent->mutable_map_items().push_back({pending_key, pending_key_loc, std::move(node)});
      return &parent->mutable_map_items().back().value;
    }
    parent->mutable_items().push_back(std::move(node));
    return &parent->mutable_items().back();
  };

  json::parser_callback_t callback = [&](int /*depth*/, json::parse_event_t event,
                                         json& parsed) -> bool {
    switch (event) {
      case json::parse_event_t::object_start:
        stack.push_back(attach(Node(Node::Kind::kMap, here())));
        break;
      case json::parse_event_t::array_start:
        stack.push_back(attach(Node(Node::Kind::kSequence, here())));
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!stack.empty()) stack.pop_back();
        break;
      case json::parse_event_t::key:
        pending_key = parsed.get<std::string>();
        pending_key_loc = here();
        break;
      case json::parse_event_t::value:
        if (parsed.is_null()) {
          attach(Node(Node::Kind::kNull, here()));
        } else if (parsed.is_string()) {
          attach(Node::Scalar(parsed.get<std::string>(), true, here()));
        } else {
          attach(Node::Scalar(parsed.dump(), false, here()));
        }
        break;
    }
    // Keep everything: a discarded container would hide its children from this callback.
    return true;
  };

  try {
    TrackingIterator first(text.data(), &cursor);
    TrackingIterator last(text.data() + text.size(), nullptr);
    json parsed_doc = json::parse(first, last, callback, /*allow_exceptions=*/true,
                                  /*ignore_comments=*/false);
    (void)parsed_doc;
  } catch (const json::parse_error& e) {
    Location loc = lines.At(e.byte > 0 ? e.byte - 1 : 0, file_name);
    std::string what = e.what();
    // nlohmann's text is "[json.exception.parse_error.101] parse error at line 3, column 5: ...".
    size_t colon = what.find(": ", what.find("parse error"));
    std::string reason = colon == std::string::npos ? what : what.substr(colon + 2);
    return Status::InvalidArgument("invalid JSON: " + reason)
        .WithFile(file_name, loc.line, loc.column);
  } catch (const json::exception& e) {
    // Not a syntax error but a value nlohmann cannot hold, e.g. a number beyond a double
    // ("number overflow parsing '1e999'"): fuzz crash config_files-5b94bf95.
    Location loc = here();
    std::string what = e.what();
    size_t close = what.find("] ");
    return Status::InvalidArgument("invalid JSON: " +
                                   (close == std::string::npos ? what : what.substr(close + 2)))
        .WithFile(file_name, loc.line, loc.column);
  }
  if (!error.ok()) return error;
  if (!have_root) return Node(Node::Kind::kNull, Location{file_name, 1, 1});
  return root;
}

Result<Node> LoadFile(const std::filesystem::path& path, const std::string& display_name) {
  std::string name = display_name.empty() ? path.string() : display_name;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      return Status::NotFound("file not found").WithFile(name);
    }
    return Status::IoError("cannot read file").WithFile(name);
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  std::string text = buf.str();
  if (path.extension() == ".json") return ParseJson(text, name);
  return ParseYaml(text, name);
}

}  // namespace sluice::config
