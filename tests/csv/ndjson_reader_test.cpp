// csv/ndjson_reader.h: JSON lines as records for RowConverter: keys as field names (in the order
// first seen), strings, numbers, booleans, null and nested values, bad lines as row problems
// with their line, and the file-level limits.
#include "csv/ndjson_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "csv/conform.h"

namespace sluice::csv {
namespace {

// Every record of `data`: "line|field=value(how),..." or "line|error: message".
std::vector<std::string> ReadAll(const std::string& data, NdjsonOptions options = {}) {
  StringSource src(data);
  NdjsonReader reader(&src, options);
  Record rec;
  std::vector<std::string> out;
  while (true) {
    auto has = reader.Next(&rec);
    EXPECT_TRUE(has.ok()) << has.status().ToString();
    if (!has.ok() || !*has) break;
    std::string s = std::to_string(rec.line) + "|";
    if (rec.error != RowError::kNone) {
      out.push_back(s + "error: " + rec.error_message);
      continue;
    }
    const auto& names = *reader.field_names();
    EXPECT_EQ(names.size(), rec.fields.size());
    for (size_t f = 0; f < rec.fields.size(); ++f) {
      if (rec.quoted[f] == kFieldAbsent) continue;
      s += std::string(names[f]) + "=" + std::string(rec.fields[f]) +
           (rec.quoted[f] == kFieldQuoted ? "(q)," : ",");
    }
    out.push_back(s);
  }
  return out;
}

TEST(NdjsonReader, GivesEveryKindOfValueAsTheTextRowConverterReads) {
  auto rows = ReadAll(
      "{\"id\": 7, \"name\": \"Ann \\\"A\\\" \\u00e9\", \"ok\": true, \"amount\": 12.50, "
      "\"gone\": null}\n"
      "{\"id\": -3, \"tags\": [1, \"x\"], \"meta\": {\"a\": {\"b\": 2}}, \"ok\": false}\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], "1|id=7,name=Ann \"A\" \xC3\xA9(q),ok=true,amount=12.50,");
  // Keys keep the order first seen; nested values are their JSON text, quoted (never NULL).
  EXPECT_EQ(rows[1], "2|id=-3,ok=false,tags=[1, \"x\"](q),meta={\"a\": {\"b\": 2}}(q),");
}

TEST(NdjsonReader, SkipsBlankLinesBomAndCrlfAndCountsPhysicalLines) {
  auto rows = ReadAll("\xEF\xBB\xBF{\"a\": 1}\r\n\r\n   \n{\"a\": 2}\n{\"a\": 3}");
  EXPECT_EQ(rows, (std::vector<std::string>{"1|a=1,", "4|a=2,", "5|a=3,"}));
}

// Found by fuzz/ndjson_reader.cpp: the first record's offset pointed at the BOM, not at the
// record's own bytes.
TEST(NdjsonReader, EveryRecordsRawIsTheInputAtItsOffsetAfterABom) {
  const std::string data = "\xEF\xBB\xBF{\"a\": 1}\r\n\n{\"a\": 2}";
  StringSource src(data);
  NdjsonReader reader(&src, {});
  Record rec;
  std::vector<int64_t> offsets;
  while (true) {
    auto has = reader.Next(&rec);
    ASSERT_TRUE(has.ok()) << has.status().ToString();
    if (!*has) break;
    EXPECT_EQ(data.substr(static_cast<size_t>(rec.byte_offset), rec.raw.size()), rec.raw);
    offsets.push_back(rec.byte_offset);
  }
  EXPECT_EQ(offsets, (std::vector<int64_t>{3, 14}));
}

// Found by fuzz/ndjson_reader.cpp: simdjson's On Demand types a value by its first byte, and a
// malformed number after a digit was handed on as a number's text.
TEST(NdjsonReader, RejectsMalformedNumbersAndKeepsEveryValidForm) {
  auto rows = ReadAll(
      "{\"a\": 2===}\n{\"a\": 1.2.3}\n{\"a\": 01}\n{\"a\": 1.}\n{\"a\": -}\n{\"a\": 1e}\n"
      "{\"a\": 2 x}\n{\"a\": -0.5e+10, \"b\": 0, \"c\": 12E-3, \"d\": 18446744073709551616}\n");
  ASSERT_EQ(rows.size(), 8u);
  for (size_t i = 0; i < 7; ++i) {
    EXPECT_TRUE(rows[i].starts_with(std::to_string(i + 1) + "|error: invalid JSON")) << rows[i];
  }
  EXPECT_EQ(rows[7], "8|a=-0.5e+10,b=0,c=12E-3,d=18446744073709551616,");
}

// Found by fuzz/ndjson_reader.cpp: a nested value was skipped by its brackets, so what was inside
// it was never read.
TEST(NdjsonReader, RejectsANestedValueThatIsNotJsonInside) {
  auto rows =
      ReadAll("{\"t\": [1bbb, 2]}\n{\"t\": {\"y\": tru}}\n{\"t\": [\"x\", {\"y\": [1, 2.5e3]}]}\n");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_TRUE(rows[0].starts_with("1|error: invalid JSON")) << rows[0];
  EXPECT_TRUE(rows[1].starts_with("2|error: invalid JSON")) << rows[1];
  EXPECT_EQ(rows[2], "3|t=[\"x\", {\"y\": [1, 2.5e3]}](q),");
}

// Found by fuzz/ndjson_reader.cpp: keys of a rejected line became fields, depending on how far
// the parser read into it before failing (which varied with the read size).
TEST(NdjsonReader, ARejectedLineAddsNoField) {
  StringSource src("{\"a\": 1}\n{\"b\": 2,}\n{\"c\"c\": : 1}\n{\"a\": 3, \"d\": 4}\n");
  NdjsonReader reader(&src, {});
  Record rec;
  std::vector<std::string> errors;
  while (true) {
    auto has = reader.Next(&rec);
    ASSERT_TRUE(has.ok()) << has.status().ToString();
    if (!*has) break;
    if (rec.error != RowError::kNone) errors.push_back(std::to_string(rec.line));
  }
  EXPECT_EQ(errors, (std::vector<std::string>{"2", "3"}));
  EXPECT_EQ(*reader.field_names(), (std::vector<std::string_view>{"a", "d"}));
}

TEST(NdjsonReader, RejectsBadLinesWithTheirLineAndReasonAndGoesOn) {
  auto rows = ReadAll(
      "{\"a\": 1}\n"
      "{\"a\": 2,}\n"
      "[1, 2]\n"
      "{\"a\": 3} {\"a\": 4}\n"
      "{\"a\": 5, \"a\": 6}\n"
      "\"text\"\n"
      "{\"a\": 7}\n");
  ASSERT_EQ(rows.size(), 7u);
  EXPECT_EQ(rows[0], "1|a=1,");
  EXPECT_TRUE(rows[1].starts_with("2|error: invalid JSON")) << rows[1];
  EXPECT_EQ(rows[2],
            "3|error: the line is not a JSON object (a JSON lines table has one object per line)");
  EXPECT_EQ(rows[3], "4|error: text after the JSON object (one object per line)");
  EXPECT_EQ(rows[4], "5|error: the key \"a\" appears twice in the object");
  EXPECT_TRUE(rows[5].starts_with("6|error: the line is not a JSON object")) << rows[5];
  EXPECT_EQ(rows[6], "7|a=7,");
}

TEST(NdjsonReader, ReadsLinesAcrossBufferRefillsAndGrowsForALongLine) {
  std::string data;
  std::vector<std::string> want;
  for (int i = 1; i <= 3000; ++i) {
    std::string text(i == 1500 ? 20000 : i % 97, 'x');
    data += "{\"n\": " + std::to_string(i) + ", \"s\": \"" + text + "\"}\n";
    want.push_back(std::to_string(i) + "|n=" + std::to_string(i) + ",s=" + text + "(q),");
  }
  NdjsonOptions small;
  small.buffer_bytes = 4096;  // many refills, and one line five times the buffer
  EXPECT_EQ(ReadAll(data, small), want);
}

TEST(NdjsonReader, ALineOverTheLimitFailsTheFileNamingTheLine) {
  NdjsonOptions options;
  options.buffer_bytes = 4096;
  options.max_record_bytes = 10000;
  std::string data = "{\"a\": 1}\n{\"a\": \"" + std::string(20000, 'y') + "\"}\n";
  StringSource src(data);
  NdjsonReader reader(&src, options);
  Record rec;
  ASSERT_TRUE(*reader.Next(&rec));
  auto second = reader.Next(&rec);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kCorrupt);
  EXPECT_NE(second.status().message().find("line 2 is longer than 10000 bytes"), std::string::npos)
      << second.status().ToString();
}

TEST(NdjsonReader, NewKeysChangeTheFieldNamesVersion) {
  StringSource src("{\"a\": 1}\n{\"a\": 2}\n{\"b\": 3, \"a\": 4}\n");
  NdjsonReader reader(&src, {});
  Record rec;
  ASSERT_TRUE(*reader.Next(&rec));
  const int64_t first = reader.field_names_version();
  ASSERT_TRUE(*reader.Next(&rec));
  EXPECT_EQ(reader.field_names_version(), first);
  ASSERT_TRUE(*reader.Next(&rec));
  EXPECT_NE(reader.field_names_version(), first);
  EXPECT_EQ(*reader.field_names(), (std::vector<std::string_view>{"a", "b"}));
  EXPECT_EQ(rec.fields, (std::vector<std::string_view>{"4", "3"}));
}

TEST(NdjsonReader, InvalidUtf8IsAnEncodingRejectNotAJsonOne) {
  config::TableSchema schema;
  schema.table = "t";
  config::ColumnSchema name;
  name.name = "name";
  schema.columns = {name};
  StringSource src("{\"name\": \"caf\xE9\"}\n");
  NdjsonReader reader(&src, {});
  Record rec;
  ASSERT_TRUE(*reader.Next(&rec));
  auto rc = RowConverter::Create(schema, {}, reader.field_names(), /*named_fields=*/true);
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  Diagnostic diag;
  EXPECT_FALSE((*rc)->Convert(rec, &diag));
  EXPECT_EQ(diag.code, "encoding");
  EXPECT_EQ(diag.line, 1);
}

TEST(NdjsonConform, KeysMapByNameAndAliasAndAbsentOrNullIsNull) {
  config::TableSchema schema;
  schema.table = "t";
  config::ColumnSchema id;
  id.name = "order_id";
  id.type = config::ColumnType::kInt64;
  id.nullable = false;
  id.aliases = {"OrderID"};
  config::ColumnSchema note;
  note.name = "note";
  schema.columns = {id, note};
  schema.on_extra_columns = config::ExtraColumnsPolicy::kRescue;
  StringSource src(
      "{\"OrderID\": 1, \"Note\": \"hi\", \"extra\": {\"k\": [1]}}\n"
      "{\"OrderID\": 2}\n"
      "{\"Note\": \"no id\"}\n"
      "{\"OrderID\": null, \"Note\": \"null id\"}\n");
  NdjsonReader reader(&src, {});
  Record rec;
  ASSERT_TRUE(*reader.Next(&rec));
  auto rc = RowConverter::Create(schema, {}, reader.field_names(), true);
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  Diagnostic diag;
  ASSERT_TRUE((*rc)->Convert(rec, &diag)) << diag.message;
  EXPECT_EQ((*rc)->cells()[0].i, 1);
  EXPECT_EQ((*rc)->cells()[1].s, "hi");  // "Note" folds onto note, as a CSV header would
  EXPECT_EQ((*rc)->rescued(), R"({"extra":"{\"k\": [1]}"})");
  ASSERT_TRUE(*reader.Next(&rec));
  ASSERT_TRUE((*rc)->Convert(rec, &diag)) << diag.message;
  EXPECT_EQ((*rc)->cells()[1].kind, CellKind::kNull);
  EXPECT_EQ((*rc)->rescued(), "");  // a key the line lacks is not rescued as null
  for (int line : {3, 4}) {
    ASSERT_TRUE(*reader.Next(&rec));
    EXPECT_FALSE((*rc)->Convert(rec, &diag));
    EXPECT_EQ(diag.line, line);
    EXPECT_EQ(diag.column, "order_id");
    EXPECT_EQ(diag.code, "null");
    EXPECT_EQ(diag.message, "null or no such key in a non-nullable column");
  }
}

}  // namespace
}  // namespace sluice::csv
