// Unit tests of the sniffers behind `sluice infer`: encoding, dialect, column types, header.
#include <gtest/gtest.h>

#include <map>

#include "infer/infer.h"
#include "infer/infer_test_util.h"

namespace sluice::infer {
namespace {

TEST(EncodingSniff, ValidUtf8IsUtf8AndAsciiSaysSo) {
  EXPECT_EQ(GuessEncoding("a,b\n1,2\n").encoding, "utf-8");
  EXPECT_EQ(GuessEncoding("a,b\n1,2\n").reason, "plain ASCII (read as UTF-8)");
  EXPECT_EQ(GuessEncoding("이름\n김\n").encoding, "utf-8");
}

TEST(EncodingSniff, TellsKoreanJapaneseAndWesternLegacyCodePagesApart) {
  const std::string korean = "이름,도시\n홍길동,서울특별시\n김철수,부산광역시\n";
  const std::string japanese = "名前,都市\n山田太郎,東京都\nさくら,大阪府\n";
  const std::string western = "Name,Stadt\nMüller,Köln\nFrançoise,Genève\nStraße,Zürich\n";
  EXPECT_EQ(GuessEncoding(testing::Encode(korean, "CP949")).encoding, "cp949");
  EXPECT_EQ(GuessEncoding(testing::Encode(korean, "EUC-KR")).encoding, "cp949");
  EXPECT_EQ(GuessEncoding(testing::Encode(japanese, "SHIFT_JIS")).encoding, "shift_jis");
  EXPECT_EQ(GuessEncoding(testing::Encode(western, "WINDOWS-1252")).encoding, "windows-1252");
}

TEST(EncodingSniff, Utf16WithoutAMarkIsFoundByItsNulBytes) {
  const std::string le = testing::Encode("id,name\n1,abc\n2,def\n", "UTF-16LE");
  const std::string be = testing::Encode("id,name\n1,abc\n2,def\n", "UTF-16BE");
  EXPECT_EQ(GuessEncoding(le).encoding, "utf-16le");
  EXPECT_EQ(GuessEncoding(be).encoding, "utf-16be");
  EXPECT_EQ(GuessEncoding("\xFE\xFF" + be).encoding, "utf-16");
}

TEST(DialectSniff, PicksTheDelimiterThatSplitsEveryRecordAlike) {
  auto g = SniffDialect("id;amount;note\n1;12,50;a, b\n2;3,00;c\n");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->dialect.delimiter, ';');
  EXPECT_EQ(g->columns, 3);
  EXPECT_EQ(g->consistent, 3);
}

TEST(DialectSniff, QuotedNewlinesAndCrlfAreSeen) {
  auto g = SniffDialect("a,b\r\n1,\"x\r\ny\"\r\n2,z\r\n");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->dialect.delimiter, ',');
  EXPECT_TRUE(g->dialect.quoting);
  EXPECT_EQ(g->multiline_records, 1);
  EXPECT_EQ(g->line_ending, "CRLF");
  EXPECT_EQ(DescribeLineEndings("a\r\nb\nc\n"), "mixed (1 CRLF, 2 LF; sluice reads each)");
}

TEST(DialectSniff, LeadingTitleLinesBecomeSkipLines) {
  auto g = SniffDialect("Sales report\nid,name,amount\n1,a,2\n2,b,3\n3,c,4\n");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->dialect.skip_lines, 1);
  EXPECT_EQ(g->columns, 3);
}

TEST(ColumnGuess, ClimbsTheLadderToTheFirstTypeEveryValueFits) {
  auto guess = [](std::vector<std::string> values) {
    ColumnGuesser g;
    for (size_t i = 0; i < values.size(); ++i) g.Add(values[i], false, static_cast<int64_t>(i));
    return g.Finish();
  };
  EXPECT_EQ(guess({"1", "0", "1"}).column.TypeName(), "int64");
  EXPECT_EQ(guess({"yes", "no", "Y"}).column.TypeName(), "bool");
  EXPECT_EQ(guess({"007", "012"}).column.TypeName(), "string");
  EXPECT_EQ(guess({"1.5", "22.25"}).column.TypeName(), "decimal(18,2)");
  EXPECT_EQ(guess({"1,5", "1.234,25"}).column.decimal_separator, ',');
  EXPECT_EQ(guess({"1,5", "1.234,25"}).column.thousands_separator, ".");
  EXPECT_EQ(guess({"1.234.567", "12.345"}).column.TypeName(), "int64");
  EXPECT_EQ(guess({"3.14159265", "2.7"}).column.TypeName(), "float64");
  EXPECT_EQ(guess({"1e5", "2"}).column.TypeName(), "float64");
  auto dotted = guess({"24.11.2026", "01.02.2026"});
  EXPECT_EQ(dotted.column.TypeName(), "date");
  ASSERT_EQ(dotted.column.formats.size(), 1u);
  EXPECT_EQ(dotted.column.formats[0], "%d.%m.%Y");
  auto iso = guess({"2026-11-24T10:00:00Z", "2026-11-24 11:00"});
  EXPECT_EQ(iso.column.TypeName(), "timestamp");
  EXPECT_TRUE(iso.column.formats.empty());
  EXPECT_EQ(guess({"2026-11-24", "2026-01-01"}).column.TypeName(), "date");
}

TEST(ColumnGuess, NullsMakeAColumnNullableAndNearMissesAreExplained) {
  ColumnGuesser g;
  for (int i = 0; i < 20; ++i) g.Add(std::to_string(i), false, i + 2);
  g.Add("", false, 30);
  g.Add("NULL", false, 31);
  g.Add("n/a", false, 32);
  ColumnGuess c = g.Finish();
  EXPECT_EQ(c.column.TypeName(), "string");
  EXPECT_TRUE(c.column.nullable);
  EXPECT_EQ(c.nulls, 2);
  EXPECT_EQ(c.note, "95% of the values are int64, not all: \"n/a\" (line 32)");
  EXPECT_EQ(g.null_tokens_seen().count("NULL"), 1u);
}

TEST(ColumnGuess, AmbiguousDayAndMonthIsSaid) {
  ColumnGuesser g;
  g.Add("01/02/2026", false, 2);
  g.Add("03/04/2026", false, 3);
  ColumnGuess c = g.Finish();
  ASSERT_EQ(c.column.formats.size(), 1u);
  EXPECT_EQ(c.column.formats[0], "%m/%d/%Y");
  EXPECT_NE(c.note.find("%d/%m/%Y"), std::string::npos) << c.note;
}

TEST(InferPartner, HeaderlessNumbersAreData) {
  auto d = InferPartner({{"data.csv", "1,2.5\n2,3.5\n3,4.5\n"}}, {"p", "data.csv", false});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_FALSE(d->dialect.dialect.header);
  ASSERT_EQ(d->tables.size(), 1u);
  EXPECT_EQ(d->tables[0].rows, 3);
  EXPECT_EQ(d->tables[0].columns[0].guess.column.name, "column_1");
}

TEST(InferPartner, AHeaderIsFoundByATypeMismatchInTheFirstRow) {
  auto d =
      InferPartner({{"x.csv", "Order ID,Amount (EUR)\n1,2.5\n2,3.5\n"}}, {"p", "x.csv", false});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_TRUE(d->dialect.dialect.header);
  EXPECT_NE(d->header_reason.find("\"Order ID\" is not int64"), std::string::npos)
      << d->header_reason;
  const auto& cols = d->tables[0].schema.columns;
  EXPECT_EQ(cols[0].name, "order_id");
  EXPECT_EQ(cols[0].aliases, std::vector<std::string>{"Order ID"});
  EXPECT_EQ(cols[1].name, "amount_eur");
}

TEST(InferPartner, TheLoadCheckWidensAColumnTheMergeWouldReject) {
  // A quoted empty field is an empty string, not NULL: an int64 column would reject it.
  auto d = InferPartner({{"x.csv", "id,n\n1,5\n2,\"\"\n3,7\n"}}, {"p", "x.csv", false});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  const auto& n = d->tables[0].columns[1];
  EXPECT_EQ(n.guess.column.TypeName(), "string");
  EXPECT_EQ(d->tables[0].rejected_by_check, 0);
}

TEST(InferPartner, TablesAreNamedFromFilesWithoutTheirDates) {
  auto d = InferPartner({{"export/orders_20261124.csv", "id\n1\n"},
                         {"export/orders_extra_2026-11-24.csv", "id\n1\n"}},
                        {"p", "p_20261124.zip", true});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_EQ(d->tables.size(), 2u);
  EXPECT_EQ(d->tables[0].table, "orders_extra");  // the more specific pattern first
  EXPECT_EQ(d->tables[0].file_pattern, "orders_extra_*.csv");
  EXPECT_EQ(d->tables[1].file_pattern, "orders_*.csv");
  EXPECT_EQ(d->archive_pattern, "p_{date:%Y%m%d}.zip");
}

TEST(InferPartner, TablesOfOneArchiveKeepTheirOwnWidthsAndAOneColumnFileDoesNotPickTheDialect) {
  // The archive lists the one-column file first: it reads the same under every delimiter.
  std::string orders = "order_id;customer_id;amount;status\n";
  for (int i = 1; i <= 9; ++i)
    orders += std::to_string(i) + ";" + std::to_string(i * 7) + ";1,5;paid\n";
  std::string customers = "customer_id;name\n";
  for (int i = 1; i <= 5; ++i)
    customers += std::to_string(i * 7) + ";Name " + std::to_string(i) + "\n";
  auto d = InferPartner({{"blocked_ids_20261124.csv", "id\n3\n4\n"},
                         {"orders_20261124.csv", orders},
                         {"customers_20261124.csv", customers}},
                        {"p", "p_20261124.tar.gz", true});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->dialect.dialect.delimiter, ';');
  std::map<std::string, const TableDraft*> by_name;
  for (const TableDraft& t : d->tables) by_name[t.table] = &t;
  ASSERT_EQ(by_name.size(), 3u);
  ASSERT_TRUE(by_name.count("orders") && by_name.count("customers") &&
              by_name.count("blocked_ids"));
  EXPECT_EQ(by_name["orders"]->schema.columns.size(), 4u);
  EXPECT_EQ(by_name["orders"]->rows, 9);
  EXPECT_EQ(by_name["orders"]->schema.columns[2].name, "amount");
  EXPECT_EQ(by_name["customers"]->schema.columns.size(), 2u);
  EXPECT_EQ(by_name["customers"]->rows, 5);
  EXPECT_EQ(by_name["blocked_ids"]->schema.columns.size(), 1u);
  EXPECT_EQ(by_name["blocked_ids"]->rows, 2);
  for (const TableDraft& t : d->tables) {
    EXPECT_EQ(t.rejected_by_check, 0) << t.table;
    for (const std::string& note : t.notes) {
      EXPECT_EQ(note.find("do not have"), std::string::npos) << t.table << ": " << note;
    }
  }
  for (const std::string& note : d->notes) {
    EXPECT_EQ(note.find("looks like delimiter"), std::string::npos) << note;
  }
}

}  // namespace
}  // namespace sluice::infer
