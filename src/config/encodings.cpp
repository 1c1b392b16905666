#include "config/encodings.h"

#include <algorithm>

#include "core/strings.h"

namespace sluice::config {

namespace {

struct Row {
  std::string name;
  const char* iconv;
  std::vector<std::string> labels;  // besides the name itself
};

const std::vector<Row>& Rows() {
  static const std::vector<Row> rows = [] {
    std::vector<Row> r = {
        {"utf-8", nullptr, {"utf8"}},
        // utf-16 follows the byte order mark and is little-endian without one (Windows, Excel's
        // "Unicode text"); the -le/-be forms say the order for files without a mark.
        {"utf-16", nullptr, {"utf16"}},
        {"utf-16le", nullptr, {"utf16le", "utf-16-le"}},
        {"utf-16be", nullptr, {"utf16be", "utf-16-be"}},
        {"cp949", "CP949", {"uhc", "ms949", "windows-949"}},
        // euc-kr is decoded as cp949, its superset, as the WHATWG Encoding Standard (browsers)
        // does: files labelled EUC-KR are in practice written by cp949 encoders.
        {"euc-kr", "CP949", {"euckr"}},
        {"latin-1", "ISO-8859-1", {"latin1", "iso-8859-1", "iso8859-1", "l1"}},
        {"shift_jis", "CP932", {"shift-jis", "sjis", "cp932", "ms932", "windows-31j"}},
        {"gbk", "CP936", {"cp936", "gb2312"}},
        {"big5", "CP950", {"cp950"}},
        {"koi8-r", "KOI8-R", {"koi8r"}},
        {"koi8-u", "KOI8-U", {"koi8u"}},
    };
    // Not windows-1255 and windows-1258: glibc composes their combining marks with the
    // character before, which a per-character table cannot do.
    for (const char* cp : {"CP1250", "CP1251", "CP1252", "CP1253", "CP1254", "CP1256", "CP1257"}) {
      const std::string n = std::string(cp).substr(2);
      r.push_back({"windows-" + n, cp, {"cp" + n}});
    }
    static const char* const kIso[] = {"ISO-8859-2",  "ISO-8859-3",  "ISO-8859-4",  "ISO-8859-5",
                                       "ISO-8859-6",  "ISO-8859-7",  "ISO-8859-8",  "ISO-8859-9",
                                       "ISO-8859-10", "ISO-8859-11", "ISO-8859-13", "ISO-8859-14",
                                       "ISO-8859-15", "ISO-8859-16"};
    for (const char* iso : kIso) {
      const std::string n = ToLower(iso);
      std::vector<std::string> labels = {"iso8859-" + n.substr(9)};
      if (n == "iso-8859-15") labels.insert(labels.end(), {"latin-9", "latin9"});
      r.push_back({n, iso, labels});
    }
    return r;
  }();
  return rows;
}

std::string Normalize(std::string_view label) {
  std::string n = ToLower(Trim(label));
  std::replace(n.begin(), n.end(), '_', '-');
  return n;
}

}  // namespace

std::optional<Encoding> FindEncoding(std::string_view label) {
  const std::string n = Normalize(label);
  for (const Row& row : Rows()) {
    if (n == row.name || std::find(row.labels.begin(), row.labels.end(), n) != row.labels.end()) {
      return Encoding{row.name, row.iconv};
    }
  }
  return std::nullopt;
}

const std::vector<std::string>& EncodingLabels() {
  static const std::vector<std::string> labels = [] {
    std::vector<std::string> out;
    for (const Row& row : Rows()) {
      out.push_back(row.name);
      out.insert(out.end(), row.labels.begin(), row.labels.end());
    }
    return out;
  }();
  return labels;
}

const std::string& SupportedEncodingsText() {
  static const std::string text = [] {
    std::vector<std::string> names;
    for (const Row& row : Rows()) names.push_back(row.name);
    return Join(names, ", ");
  }();
  return text;
}

}  // namespace sluice::config
