// fuzz/xlsx_reader.cpp: the Excel sheet reader (`format: xlsx` tables): libarchive's zip
// stream, expat's SAX over the workbook, relationships, shared strings and sheet, and the cell
// rules on top.
//
// Input: [mode byte][chunk byte][limit byte] then either
//   - mode bit 0 clear: the parts' XML, separated by "\n--\n": xl/workbook.xml, then
//     xl/_rels/workbook.xml.rels, xl/sharedStrings.xml and the sheets xl/worksheets/sheetN.xml
//     (missing or empty parts are left out). The target zips them (stored, in the order mode bit 1
//     picks: as listed, or reversed, so the reader's two passes are both needed) so the fuzzer
//     works on the XML rather than on deflate streams;
//   - mode bit 0 set: the workbook file's bytes as they are (the zip layer itself).
// Mode bit 2 picks the sheet by name ("Sheet2") instead of the first one.
// Checked, besides "no crash, no sanitizer report":
//   - the records and the final status are the same whether the reader's source hands the
//     bytes over in one piece or a few bytes per read;
//   - every record has one quoted flag per field, at most Excel's 16,384 fields, and a line
//     number; a refusal or failure says why.
#include "csv/xlsx_reader.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "chunked_source.h"
#include "fuzz_input.h"

namespace {

using sluice::Result;
using sluice::csv::ByteSource;
using sluice::csv::Record;
using sluice::csv::XlsxOptions;
using sluice::csv::XlsxReader;

using sluice::fuzz::ChunkedSource;

// A zip (stored) of `parts` (name, content), in that order.
std::string Zip(const std::vector<std::pair<std::string, std::string_view>>& parts) {
  size_t room = 4096;
  for (const auto& p : parts) room += p.second.size() + 256;
  std::string out(room, '\0');
  size_t used = 0;
  archive* a = archive_write_new();
  archive_write_set_format_zip(a);
  archive_write_zip_set_compression_store(a);
  if (archive_write_open_memory(a, out.data(), out.size(), &used) != ARCHIVE_OK) {
    archive_write_free(a);
    return std::string();
  }
  for (const auto& [name, content] : parts) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    if (archive_write_header(a, e) == ARCHIVE_OK) {
      archive_write_data(a, content.data(), content.size());
    }
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  out.resize(used);
  return out;
}

struct Copy {
  int64_t line;
  std::vector<std::string> fields;
  std::vector<uint8_t> quoted;
  std::string raw;
  bool date1904;
  bool operator==(const Copy&) const = default;
};

struct Outcome {
  std::vector<Copy> records;
  std::string status;
};

constexpr size_t kMaxRecords = 1024;

Outcome Read(const std::string& file, const XlsxOptions& options, size_t chunk) {
  Outcome out;
  auto reader = XlsxReader::Open(
      [&]() -> Result<std::unique_ptr<ByteSource>> {
        return std::unique_ptr<ByteSource>(std::make_unique<ChunkedSource>(file, chunk));
      },
      options);
  if (!reader.ok()) {
    out.status = "open: " + reader.status().ToString();
    FUZZ_CHECK(!reader.status().message().empty(), "a refusal says why");
    return out;
  }
  Record rec;
  while (out.records.size() < kMaxRecords) {
    auto has = (*reader)->Next(&rec);
    if (!has.ok()) {
      out.status = has.status().ToString();
      FUZZ_CHECK(!has.status().message().empty(), "a failure says why");
      break;
    }
    if (!*has) break;
    FUZZ_CHECK(rec.fields.size() == rec.quoted.size(), "one quoted flag per field");
    FUZZ_CHECK(rec.fields.size() <= 16384, "at most Excel's 16,384 columns");
    // A row's line is its r attribute: Excel writes them in order, a crafted sheet need not.
    FUZZ_CHECK(rec.line >= 1, "rows have a line number");
    Copy c{rec.line, {}, rec.quoted, std::string(rec.raw), rec.date1904};
    for (std::string_view f : rec.fields) c.fields.emplace_back(f);
    out.records.push_back(std::move(c));
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sluice::fuzz::FuzzInput in(data, size);
  const uint8_t mode = in.Byte();
  const size_t chunk = 1 + in.Pick(64);
  const uint8_t limit = in.Byte();
  XlsxOptions o;
  if (mode & 4) o.sheet = "Sheet2";
  // Small bounds so the shared strings table and long rows reach them.
  o.max_shared_strings_bytes = 64 + int64_t{limit & 0x0F} * 256;
  o.max_record_bytes = 64 + size_t{static_cast<size_t>(limit >> 4)} * 256;
  std::string_view rest = in.Rest();

  std::string file;
  if (mode & 1) {
    file.assign(rest);
  } else {
    static const char* const kNames[] = {"xl/workbook.xml", "xl/_rels/workbook.xml.rels",
                                         "xl/sharedStrings.xml", "xl/worksheets/sheet1.xml",
                                         "xl/worksheets/sheet2.xml"};
    std::vector<std::pair<std::string, std::string_view>> parts;
    size_t start = 0;
    for (const char* name : kNames) {
      if (start > rest.size()) break;
      size_t sep = rest.find("\n--\n", start);
      if (sep == std::string_view::npos) sep = rest.size();
      // An empty part is left out of the zip (a workbook without shared strings has none).
      if (sep > start) parts.emplace_back(name, rest.substr(start, sep - start));
      start = sep + 4;
    }
    if (mode & 2) std::reverse(parts.begin(), parts.end());
    file = Zip(parts);
  }

  Outcome whole = Read(file, o, file.size() + 1);
  Outcome pieces = Read(file, o, chunk);
  sluice::fuzz::ExpectSameOutcome(whole, pieces);
  return 0;
}
