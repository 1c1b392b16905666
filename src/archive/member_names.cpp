// The name rules of the safe reader (archive/safe_reader.h): what an archive member may be
// called, and how a refusal is worded.
#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "archive/safe_reader.h"
#include "archive/safe_reader_internal.h"
#include "core/strings.h"

namespace sluice::archive {

namespace internal {

namespace {

// What the partner can change, for the rules about names and entry types (the others say it
// in `why`).
std::string_view RuleAdvice(std::string_view rule) {
  if (rule == "dotdot" || rule == "absolute_path" || rule == "backslash" || rule == "empty_name" ||
      rule == "control_char") {
    return "; only plain relative names are extracted: ask the partner to build the archive "
           "from inside the export folder (tar czf out.tar.gz -C export .)";
  }
  if (rule == "symlink" || rule == "hardlink" || rule == "device" || rule == "fifo" ||
      rule == "socket") {
    return "; only regular files are extracted: ask the partner for an archive of plain files "
           "(tar --dereference --hard-dereference)";
  }
  return "";
}

// Unicode characters that NFKC-normalise (or that tools commonly fold) to '.', '/' or '\'.
// A name using them "escapes only after normalisation", so they are folded before the checks.
std::string FoldConfusables(std::string_view s) {
  struct Fold {
    std::string_view from;
    char to;
  };
  static constexpr Fold kFolds[] = {
      {"\xEF\xBC\x8E", '.'},  {"\xE2\x80\xA4", '.'},  {"\xEF\xB9\x92", '.'},   // ．․﹒
      {"\xEF\xBC\x8F", '/'},  {"\xE2\x88\x95", '/'},  {"\xE2\x81\x84", '/'},   // ／∕⁄
      {"\xEF\xBC\xBC", '\\'}, {"\xE2\x88\x96", '\\'}, {"\xEF\xB9\xA8", '\\'},  // ＼∖﹨
  };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    bool folded = false;
    for (const Fold& f : kFolds) {
      if (s.substr(i, f.from.size()) == f.from) {
        out += f.to;
        i += f.from.size();
        folded = true;
        break;
      }
    }
    if (!folded) out += s[i++];
  }
  return out;
}

}  // namespace

Status Refuse(const ReadOptions& o, std::string_view member, int64_t index, std::string_view rule,
              std::string_view why) {
  return Status::InvalidArgument("archive " + o.archive_name + " refused: entry \"" +
                                 Printable(member) + "\" (#" + std::to_string(index + 1) +
                                 "): " + std::string(rule) + ": " + std::string(why) +
                                 std::string(RuleAdvice(rule)));
}

std::string DecodedName(const ReadOptions& options, std::string raw) {
  if (!options.decode_name || IsValidUtf8(raw)) return raw;
  std::optional<std::string> decoded = options.decode_name(raw);
  return decoded ? std::move(*decoded) : std::move(raw);
}

std::string ZipSeparators(std::string_view name) {
  std::string out(name);
  std::replace(out.begin(), out.end(), '\\', '/');
  return out;
}

bool IsCurrentFolder(std::string_view name) {
  if (name.empty() || name.front() == '/') return false;
  bool dot = false;
  for (char c : name) {
    if (c != '.' && c != '/') return false;
    dot = dot || c == '.';
  }
  return dot && name.find("..") == std::string_view::npos;
}

Result<std::string> CheckName(std::string_view raw, bool require_utf8) {
  auto bad = [](std::string_view rule, std::string_view why) {
    return Status::InvalidArgument(std::string(rule) + ": " + std::string(why));
  };
  if (raw.empty()) return bad("empty_name", "the entry has no name");
  for (unsigned char c : raw) {
    if (c < 0x20 || c == 0x7f) return bad("control_char", "the name contains a control character");
  }
  const bool utf8 = IsValidUtf8(raw);
  if (utf8 && HasC1Control(raw)) {
    return bad("control_char", "the name contains a control character (U+0080..U+009F)");
  }
  if (require_utf8 && !utf8) return bad("invalid_utf8", "the name is not valid UTF-8");
  std::string name = FoldConfusables(raw);
  bool folded = name != raw;
  const char* after = folded ? " after Unicode normalisation" : "";
  if (name.find('\\') != std::string::npos) {
    return bad("backslash", std::string("the name contains a backslash") + after);
  }
  if (name.front() == '/' ||
      (name.size() >= 2 && name[1] == ':' && std::isalpha(static_cast<unsigned char>(name[0])))) {
    return bad("absolute_path", std::string("the name is an absolute path") + after);
  }
  std::string normalized;
  for (const std::string& seg : Split(name, '/')) {
    if (seg == "..") return bad("dotdot", std::string("the name has a \"..\" component") + after);
    if (seg.empty() || seg == ".") continue;
    if (!normalized.empty()) normalized += '/';
    normalized += seg;
  }
  if (normalized.empty()) return bad("empty_name", "the name has no file part");
  if (folded) {
    // Keep the partner's spelling, but never a name that differs only by confusables from
    // something that the checks above would have refused.
    normalized.clear();
    for (const std::string& seg : Split(raw, '/')) {
      if (seg.empty() || seg == ".") continue;
      if (!normalized.empty()) normalized += '/';
      normalized += seg;
    }
  }
  return normalized;
}

}  // namespace internal

Result<std::string> CheckMemberName(std::string_view raw) {
  return internal::CheckName(raw, /*require_utf8=*/true);
}

}  // namespace sluice::archive
