// Excel sheet reader of csv/xlsx_reader.h: libarchive streams the zip (no seeking: the members
// are read in archive order, in two passes), expat parses each part's XML as its bytes arrive.
#include "csv/xlsx_reader.h"

#include <archive.h>
#include <archive_entry.h>
#include <expat.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <string_view>
#include <utility>

#include "core/strings.h"
#include "csv/conform.h"

namespace sluice::csv {

namespace {

constexpr size_t kChunk = size_t{1} << 16;
constexpr size_t kMaxColumns = 16384;  // Excel's last column, XFD
constexpr int64_t kMaxRows = 1048576;  // Excel's last row

// The element or attribute name without its namespace prefix ("x:row" -> "row").
std::string_view Local(const XML_Char* name) {
  std::string_view n(name);
  const size_t colon = n.rfind(':');
  return colon == std::string_view::npos ? n : n.substr(colon + 1);
}

// The value of attribute `want` (its local name; `prefixed` also requires a prefix, for r:id
// beside sheetId), or nullptr.
const XML_Char* Attr(const XML_Char** attrs, std::string_view want, bool prefixed = false) {
  for (int i = 0; attrs[i] != nullptr; i += 2) {
    std::string_view n(attrs[i]);
    if (prefixed && n.find(':') == std::string_view::npos) continue;
    if (Local(attrs[i]) == want) return attrs[i + 1];
  }
  return nullptr;
}

// A zip read as a stream from a ByteSource.
class ZipStream {
 public:
  ~ZipStream() {
    if (a_ != nullptr) archive_read_free(a_);
  }

  Status Open(std::unique_ptr<ByteSource> source) {
    source_ = std::move(source);
    buf_.resize(kChunk);
    a_ = archive_read_new();
    archive_read_support_format_zip(a_);
    if (archive_read_open(a_, this, nullptr, &ZipStream::Read, nullptr) != ARCHIVE_OK) {
      if (!error_.ok()) return error_;
      return Status::Corrupt(std::string("not an xlsx workbook (a zip file): ") + Message() +
                             "; check the table's file pattern and format");
    }
    return Status::Ok();
  }

  // The next member's name into *name; false at the end of the zip.
  Result<bool> NextEntry(std::string* name) {
    archive_entry* e = nullptr;
    const int r = archive_read_next_header(a_, &e);
    if (r == ARCHIVE_EOF) return false;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      if (!error_.ok()) return error_;
      if (entries_ == 0) {
        return Status::Corrupt(std::string("not an xlsx workbook (a zip file): ") + Message() +
                               "; check the table's file pattern and format");
      }
      return Status::Corrupt(std::string("the workbook's zip is damaged: ") + Message());
    }
    ++entries_;
    const char* path = archive_entry_pathname(e);
    *name = path ? path : "";
    return true;
  }

  // Up to `n` bytes of the current member; 0 at its end.
  Result<size_t> ReadData(char* out, size_t n) {
    const la_ssize_t got = archive_read_data(a_, out, n);
    if (got < 0) {
      if (!error_.ok()) return error_;
      return Status::Corrupt(std::string("the workbook's zip is damaged: ") + Message());
    }
    return static_cast<size_t>(got);
  }

 private:
  static la_ssize_t Read(archive*, void* self_ptr, const void** out) {
    auto* self = static_cast<ZipStream*>(self_ptr);
    auto got = self->source_->Read(self->buf_.data(), self->buf_.size());
    if (!got.ok()) {
      self->error_ = got.status();
      return -1;
    }
    *out = self->buf_.data();
    return static_cast<la_ssize_t>(*got);
  }
  std::string Message() const {
    const char* m = archive_error_string(a_);
    return m ? m : "unknown error";
  }

  std::unique_ptr<ByteSource> source_;
  std::vector<char> buf_;
  archive* a_ = nullptr;
  Status error_;
  int64_t entries_ = 0;
};

// SAX events of one XML part, fed in chunks.
class SaxHandler {
 public:
  virtual ~SaxHandler() = default;
  virtual void Start(std::string_view name, const XML_Char** attrs) = 0;
  virtual void End(std::string_view name) = 0;
  virtual void Text(const XML_Char*, int) {}
  Status error;  // set by a handler: the part is refused
};

class XmlPart {
 public:
  XmlPart(SaxHandler* handler, std::string what) : handler_(handler), what_(std::move(what)) {
    parser_ = XML_ParserCreate(nullptr);
    XML_SetUserData(parser_, handler_);
    XML_SetElementHandler(parser_, &XmlPart::OnStart, &XmlPart::OnEnd);
    XML_SetCharacterDataHandler(parser_, &XmlPart::OnText);
  }
  ~XmlPart() { XML_ParserFree(parser_); }
  XmlPart(const XmlPart&) = delete;
  XmlPart& operator=(const XmlPart&) = delete;

  Status Feed(const char* data, size_t n, bool final) {
    if (XML_Parse(parser_, data, static_cast<int>(n), final ? 1 : 0) != XML_STATUS_OK) {
      if (!handler_->error.ok()) return handler_->error;
      return Status::Corrupt(what_ + ", line " + std::to_string(XML_GetCurrentLineNumber(parser_)) +
                             ": broken XML: " + XML_ErrorString(XML_GetErrorCode(parser_)));
    }
    return handler_->error;
  }

  // Feeds the zip's current member whole.
  Status FeedMember(ZipStream* zip, std::vector<char>* buf) {
    while (true) {
      SLUICE_ASSIGN_OR_RETURN(size_t n, zip->ReadData(buf->data(), buf->size()));
      SLUICE_RETURN_IF_ERROR(Feed(buf->data(), n, n == 0));
      if (n == 0) return Status::Ok();
    }
  }

 private:
  static void XMLCALL OnStart(void* h, const XML_Char* name, const XML_Char** attrs) {
    auto* handler = static_cast<SaxHandler*>(h);
    if (handler->error.ok()) handler->Start(Local(name), attrs);
  }
  static void XMLCALL OnEnd(void* h, const XML_Char* name) {
    auto* handler = static_cast<SaxHandler*>(h);
    if (handler->error.ok()) handler->End(Local(name));
  }
  static void XMLCALL OnText(void* h, const XML_Char* s, int len) {
    auto* handler = static_cast<SaxHandler*>(h);
    if (handler->error.ok()) handler->Text(s, len);
  }

  SaxHandler* handler_;
  std::string what_;
  XML_Parser parser_;
};

struct SheetRef {
  std::string name;
  std::string rel_id;
};

class WorkbookHandler : public SaxHandler {
 public:
  void Start(std::string_view name, const XML_Char** attrs) override {
    if (name == "sheet") {
      const XML_Char* n = Attr(attrs, "name");
      const XML_Char* id = Attr(attrs, "id", /*prefixed=*/true);
      sheets.push_back({n ? n : "", id ? id : ""});
    } else if (name == "workbookPr") {
      const XML_Char* d = Attr(attrs, "date1904");
      date1904 = d != nullptr && (std::string_view(d) == "1" || std::string_view(d) == "true");
    }
  }
  void End(std::string_view) override {}
  std::vector<SheetRef> sheets;
  bool date1904 = false;
};

class RelsHandler : public SaxHandler {
 public:
  void Start(std::string_view name, const XML_Char** attrs) override {
    if (name != "Relationship") return;
    const XML_Char* id = Attr(attrs, "Id");
    const XML_Char* target = Attr(attrs, "Target");
    if (id && target) targets[id] = target;
  }
  void End(std::string_view) override {}
  std::map<std::string, std::string> targets;
};

// The shared strings table: every <si>'s text (its <t>, or its rich-text runs' <t>s joined;
// phonetic <rPh> runs left out), in one arena.
class SharedStringsHandler : public SaxHandler {
 public:
  explicit SharedStringsHandler(int64_t max_bytes) : max_bytes_(max_bytes) {}
  void Start(std::string_view name, const XML_Char**) override {
    if (name == "si") {
      start_ = arena.size();
    } else if (name == "rPh") {
      ++phonetic_;
    } else if (name == "t" && phonetic_ == 0) {
      in_t_ = true;
    }
  }
  void End(std::string_view name) override {
    if (name == "si") {
      spans.emplace_back(start_, arena.size() - start_);
    } else if (name == "rPh") {
      --phonetic_;
    } else if (name == "t") {
      in_t_ = false;
    }
  }
  void Text(const XML_Char* s, int len) override {
    if (!in_t_) return;
    if (static_cast<int64_t>(arena.size()) + len > max_bytes_) {
      error = Status::InvalidArgument(
          "the workbook's shared strings hold more than " + std::to_string(max_bytes_) +
          " bytes of text (max_shared_strings_bytes of the table in partner.yaml, read whole "
          "before the sheet); raise it if the workbook is expected to be that large");
      return;
    }
    arena.append(s, static_cast<size_t>(len));
  }
  std::string arena;
  std::vector<std::pair<size_t, size_t>> spans;  // offset, size in `arena`

 private:
  int64_t max_bytes_;
  size_t start_ = 0;
  int phonetic_ = 0;
  bool in_t_ = false;
};

struct Row {
  int64_t number = 0;
  std::vector<std::string> cells;
  std::vector<uint8_t> how;
  bool any = false;
};

// The sheet's rows as they complete; see xlsx_reader.h for what a cell becomes.
class SheetHandler : public SaxHandler {
 public:
  SheetHandler(const SharedStringsHandler* shared, std::string sheet, size_t max_row_bytes)
      : shared_(shared), sheet_(std::move(sheet)), max_row_bytes_(max_row_bytes) {}

  void Start(std::string_view name, const XML_Char** attrs) override {
    if (name == "row") {
      const XML_Char* r = Attr(attrs, "r");
      int64_t number = 0;
      // Excel's rows are 1 to 1,048,576; a row without a usable number follows the previous.
      row_.number = r && ParseInt64(r, &number) && number >= 1 && number <= kMaxRows
                        ? number
                        : row_.number + 1;
      row_.cells.clear();
      row_.how.clear();
      row_.any = false;
      row_bytes_ = 0;
      next_col_ = 0;
    } else if (name == "c") {
      col_ = next_col_;
      if (const XML_Char* r = Attr(attrs, "r")) {
        size_t col = 0;
        for (const char* p = r; *p >= 'A' && *p <= 'Z'; ++p) col = col * 26 + (*p - 'A' + 1);
        if (col > 0) col_ = col - 1;
      }
      next_col_ = col_ + 1;
      const XML_Char* t = Attr(attrs, "t");
      type_ = t ? t : "n";
      value_.clear();
      has_value_ = false;
    } else if (name == "v") {
      in_v_ = true;
    } else if (name == "is") {
      in_is_ = true;
    } else if (name == "rPh") {
      ++phonetic_;
    } else if (name == "t" && in_is_ && phonetic_ == 0) {
      in_t_ = true;
    }
  }

  void End(std::string_view name) override {
    if (name == "v") {
      in_v_ = false;
      has_value_ = true;
    } else if (name == "t") {
      in_t_ = false;
    } else if (name == "rPh") {
      --phonetic_;
    } else if (name == "is") {
      in_is_ = false;
      has_value_ = true;
    } else if (name == "c") {
      EndCell();
    } else if (name == "row") {
      const int64_t number = row_.number;  // a next <row> without r= follows it
      if (row_.any) rows.push_back(std::move(row_));
      row_ = Row();
      row_.number = number;
    }
  }

  void Text(const XML_Char* s, int len) override {
    if (in_v_ || in_t_) value_.append(s, static_cast<size_t>(len));
  }

  std::deque<Row> rows;

 private:
  Status Where(const std::string& what) const {
    return Status::Corrupt("sheet \"" + sheet_ + "\", row " + std::to_string(row_.number) + ": " +
                           what);
  }

  void EndCell() {
    if (!has_value_) return;  // an empty cell (style only), or a formula without its value
    if (col_ >= kMaxColumns) {
      error = Where("a cell beyond column XFD, Excel's last");
      return;
    }
    std::string text;
    uint8_t how = kFieldPlain;
    if (type_ == "s") {
      int64_t index = -1;
      if (!ParseInt64(value_, &index) || index < 0 ||
          static_cast<size_t>(index) >= shared_->spans.size()) {
        error = Where("shared string " + Printable(value_, 20) + " is not in the table of " +
                      std::to_string(shared_->spans.size()));
        return;
      }
      const auto& [offset, size] = shared_->spans[static_cast<size_t>(index)];
      text.assign(shared_->arena, offset, size);
    } else if (type_ == "b") {
      text = value_ == "1" ? "true" : "false";
    } else if (type_ == "n") {
      text = value_;
      how = kFieldSerial;
    } else {
      text = std::move(value_);  // str (a formula's text), inlineStr, e (#N/A), d (ISO date)
    }
    row_bytes_ += text.size();
    if (row_bytes_ > max_row_bytes_) {
      error = Where("the row holds more than " + std::to_string(max_row_bytes_) +
                    " bytes of text (csv.max_record_bytes)");
      return;
    }
    if (text.empty() && how != kFieldSerial) return;  // "" is no value
    if (row_.cells.size() <= col_) {
      row_.cells.resize(col_ + 1);
      row_.how.resize(col_ + 1, kFieldAbsent);
    }
    row_.cells[col_] = std::move(text);
    row_.how[col_] = how;
    row_.any = true;
  }

  const SharedStringsHandler* shared_;
  std::string sheet_;
  size_t max_row_bytes_;
  Row row_;
  size_t row_bytes_ = 0;
  size_t col_ = 0, next_col_ = 0;
  std::string type_;
  std::string value_;
  bool has_value_ = false, in_v_ = false, in_is_ = false, in_t_ = false;
  int phonetic_ = 0;
};

}  // namespace

struct XlsxReader::Impl {
  XlsxOptions options;
  SharedStringsHandler shared;
  std::string sheet_name;
  bool date1904 = false;
  ZipStream zip;
  std::unique_ptr<SheetHandler> sheet;
  std::unique_ptr<XmlPart> xml;
  std::vector<char> buf = std::vector<char>(kChunk);
  bool done = false;
  int64_t consumed = 0;
  bool header_seen = false;
  size_t width = 0;
  Row current;
  std::string raw;

  explicit Impl(XlsxOptions o) : options(std::move(o)), shared(options.max_shared_strings_bytes) {}
};

XlsxReader::XlsxReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
XlsxReader::~XlsxReader() = default;

Result<std::unique_ptr<XlsxReader>> XlsxReader::Open(Opener open, XlsxOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  // Pass 1: the workbook, its relationships and the shared strings, wherever they are.
  WorkbookHandler workbook;
  RelsHandler rels;
  bool has_workbook = false;
  {
    SLUICE_ASSIGN_OR_RETURN(auto source, open());
    ZipStream zip;
    SLUICE_RETURN_IF_ERROR(zip.Open(std::move(source)));
    std::string name;
    while (true) {
      SLUICE_ASSIGN_OR_RETURN(bool more, zip.NextEntry(&name));
      if (!more) break;
      SaxHandler* handler = nullptr;
      if (name == "xl/workbook.xml") {
        handler = &workbook;
        has_workbook = true;
      } else if (name == "xl/_rels/workbook.xml.rels") {
        handler = &rels;
      } else if (name == "xl/sharedStrings.xml") {
        handler = &impl->shared;
      }
      if (handler == nullptr) continue;  // the next header skips the member's data
      XmlPart part(handler, name);
      SLUICE_RETURN_IF_ERROR(part.FeedMember(&zip, &impl->buf));
    }
  }
  if (!has_workbook || workbook.sheets.empty()) {
    return Status::Corrupt(
        "not an xlsx workbook: no xl/workbook.xml with sheets in the zip (an .xls, .ods or "
        "other zip is not read; save it as .xlsx)");
  }
  const SheetRef* chosen = &workbook.sheets.front();
  if (!impl->options.sheet.empty()) {
    chosen = nullptr;
    std::vector<std::string> names;
    for (const SheetRef& s : workbook.sheets) {
      names.push_back(s.name);
      if (s.name == impl->options.sheet) chosen = &s;
    }
    if (chosen == nullptr) {
      return Status::InvalidArgument("the workbook has no sheet \"" + impl->options.sheet + "\"" +
                                     DidYouMean(impl->options.sheet, names) +
                                     " (its sheets: " + Join(names, ", ") +
                                     "); set the table's sheet: in partner.yaml");
    }
  }
  impl->sheet_name = chosen->name;
  impl->date1904 = workbook.date1904;
  auto target = rels.targets.find(chosen->rel_id);
  if (target == rels.targets.end()) {
    return Status::Corrupt("the workbook names sheet \"" + chosen->name +
                           "\" but not its part (xl/_rels/workbook.xml.rels)");
  }
  std::string path = target->second;
  if (path.starts_with("/")) {
    path.erase(0, 1);
  } else {
    path = "xl/" + path;
  }
  // Pass 2: to the sheet's part; Next() streams its rows.
  SLUICE_ASSIGN_OR_RETURN(auto source, open());
  SLUICE_RETURN_IF_ERROR(impl->zip.Open(std::move(source)));
  std::string name;
  while (true) {
    SLUICE_ASSIGN_OR_RETURN(bool more, impl->zip.NextEntry(&name));
    if (!more) {
      return Status::Corrupt("the workbook's part " + path + " (sheet \"" + chosen->name +
                             "\") is not in the zip");
    }
    if (name == path) break;
  }
  impl->sheet = std::make_unique<SheetHandler>(&impl->shared, impl->sheet_name,
                                               impl->options.max_record_bytes);
  impl->xml = std::make_unique<XmlPart>(impl->sheet.get(), "sheet \"" + impl->sheet_name + "\"");
  return std::unique_ptr<XlsxReader>(new XlsxReader(std::move(impl)));
}

Result<bool> XlsxReader::Next(Record* record) {
  Impl& m = *impl_;
  while (m.sheet->rows.empty() && !m.done) {
    SLUICE_ASSIGN_OR_RETURN(size_t n, m.zip.ReadData(m.buf.data(), m.buf.size()));
    m.consumed += static_cast<int64_t>(n);
    SLUICE_RETURN_IF_ERROR(m.xml->Feed(m.buf.data(), n, n == 0));
    if (n == 0) m.done = true;
  }
  if (m.sheet->rows.empty()) return false;
  m.current = std::move(m.sheet->rows.front());
  m.sheet->rows.pop_front();
  if (!m.header_seen) {
    m.header_seen = true;
    m.width = m.current.cells.size();
  } else if (m.current.cells.size() < m.width) {
    // Cells a row leaves out at its end are NULL, not a short row.
    m.current.cells.resize(m.width);
    m.current.how.resize(m.width, kFieldAbsent);
  }
  record->line = m.current.number;
  record->byte_offset = m.consumed;
  record->fields.assign(m.current.cells.begin(), m.current.cells.end());
  record->quoted = m.current.how;
  record->error = RowError::kNone;
  record->error_field = -1;
  record->error_message.clear();
  record->date1904 = m.date1904;
  m.raw.clear();
  for (size_t i = 0; i < m.current.cells.size(); ++i) {
    if (i > 0) m.raw.push_back(',');
    AppendCsvField(m.current.cells[i], &m.raw);
  }
  record->raw = m.raw;
  return true;
}

int64_t XlsxReader::bytes_consumed() const { return impl_->consumed; }

const std::string& XlsxReader::sheet_name() const { return impl_->sheet_name; }

}  // namespace sluice::csv
