#include "csv/conform.h"

#include <gtest/gtest.h>

#include <map>
#include <span>
#include <string>
#include <vector>

#include "core/strings.h"

namespace sluice::csv {
namespace {

config::ColumnSchema Col(const std::string& name, config::ColumnType type, bool nullable = true,
                         std::vector<std::string> aliases = {}) {
  config::ColumnSchema c;
  c.name = name;
  c.type = type;
  c.nullable = nullable;
  c.aliases = std::move(aliases);
  return c;
}

config::TableSchema Orders() {
  config::TableSchema s;
  s.table = "orders";
  s.columns.push_back(Col("order_id", config::ColumnType::kInt64, false, {"OrderID", "order no"}));
  auto amount = Col("amount", config::ColumnType::kDecimal);
  amount.precision = 12;
  amount.scale = 2;
  s.columns.push_back(amount);
  s.columns.push_back(Col("status", config::ColumnType::kString));
  s.primary_key = {"order_id"};
  return s;
}

struct Fixture {
  config::TableSchema schema = Orders();
  config::CsvDialect dialect;
  std::unique_ptr<RowConverter> rc;
  Status Map(std::vector<std::string_view> header) {
    auto r = RowConverter::Create(schema, dialect, &header);
    if (!r.ok()) return r.status();
    rc = std::move(*r);
    return Status::Ok();
  }
  bool Row(std::vector<std::string_view> fields, Diagnostic* d = nullptr) {
    Record rec;
    rec.line = 7;
    rec.fields = fields;
    rec.quoted.assign(fields.size(), false);
    rec.raw = "raw";
    Diagnostic local;
    return rc->Convert(rec, d ? d : &local);
  }
};

TEST(CsvConform, MapsReorderedColumnsByName) {
  Fixture f;
  ASSERT_TRUE(f.Map({"status", "amount", "order_id"}).ok());
  ASSERT_TRUE(f.Row({"paid", "12.3", "42"}));
  EXPECT_EQ(f.rc->cells()[0].i, 42);
  EXPECT_EQ(f.rc->cells()[1].s, "12.30");
  EXPECT_EQ(f.rc->cells()[2].s, "paid");
}

TEST(CsvConform, MapsCaseAndSpaceInsensitiveAndAliases) {
  Fixture f;
  ASSERT_TRUE(f.Map({"Order No", " AMOUNT ", "Status"}).ok());
  EXPECT_TRUE(f.rc->missing_columns().empty());
  Fixture g;
  ASSERT_TRUE(g.Map({"OrderID", "amount", "status"}).ok());
  EXPECT_TRUE(g.rc->extra_columns().empty());
}

TEST(CsvConform, AccentedCapitalsAndNoBreakSpacesMatchLikeAscii) {
  // Spreadsheet exports: capitals with accents, and a no-break space (U+00A0) between words.
  Fixture f;
  f.schema.columns[1].aliases = {"Quantité"};
  f.schema.columns[2].aliases = {"Nom client"};
  ASSERT_TRUE(f.Map({"ORDER\u00a0NO", "QUANTITÉ", "Nom\u00a0client"}).ok());
  EXPECT_TRUE(f.rc->extra_columns().empty()) << Join(f.rc->extra_columns(), ",");
  ASSERT_TRUE(f.Row({"42", "1.5", "Zoé"}));
  EXPECT_EQ(f.rc->cells()[0].i, 42);
  EXPECT_EQ(f.rc->cells()[1].s, "1.50");
  EXPECT_EQ(f.rc->cells()[2].s, "Zoé");
  EXPECT_EQ(FoldHeader("ΠΕΛΆΤΗΣ ИМЯ Ÿ Ā ＡＢ"), FoldHeader("πελάτης имя ÿ ā ａｂ"));
  EXPECT_EQ(FoldHeader("\u00a0A\u2009B\u3000"), "ab");
  EXPECT_NE(FoldHeader("Quantite"), FoldHeader("Quantité"));  // accents count, but...
}

TEST(CsvConform, AccentsAreIgnoredOnlyByTheLoosestMatch) {
  // ...not in the loosest pass: "Quantite", or "Quantite" + U+0301 (decomposed), for "Quantité".
  EXPECT_EQ(LooseHeader("Quantite"), LooseHeader("Quantité"));
  EXPECT_EQ(LooseHeader("Quantite\u0301"), LooseHeader("QUANTITÉ"));
  EXPECT_EQ(LooseHeader("Straße_Œuvre"), "strasseoeuvre");
  Fixture f;
  f.schema.columns[1].aliases = {"Montant payé"};
  ASSERT_TRUE(f.Map({"order_id", "montant-paye", "status"}).ok());
  EXPECT_TRUE(f.rc->extra_columns().empty()) << Join(f.rc->extra_columns(), ",");
  // Greek capitals are written without their accents.
  EXPECT_EQ(LooseHeader("ΠΟΣΟΤΗΤΑ"), LooseHeader("ποσότητα"));
  // A header that loosely fits a taken column and a free one is no guess at the free one.
  Fixture t;
  t.schema.columns[1].aliases = {"cote"};
  t.schema.columns[2].aliases = {"côté"};
  ASSERT_TRUE(t.Map({"order_id", "cote", "Côte"}).ok());
  EXPECT_EQ(t.rc->extra_columns(), (std::vector<std::string>{"Côte"}));
  EXPECT_EQ(t.rc->missing_columns(), (std::vector<std::string>{"status"}));
  // Two columns that differ only by an accent: neither is guessed.
  Fixture g;
  g.schema.columns.push_back(Col("résumé", config::ColumnType::kString));
  g.schema.columns.push_back(Col("resume", config::ColumnType::kString));
  ASSERT_TRUE(g.Map({"order_id", "Resume."}).ok());
  EXPECT_EQ(g.rc->extra_columns(), (std::vector<std::string>{"Resume."}));
}

TEST(CsvConform, AHeaderOfManyThousandDistinctNamesMapsInOnePass) {
  // An untrusted header of 200,000 distinct names (3 MB, well inside max_record_bytes) once
  // took time in the square of its width: minutes per attempt. It maps, and lists each once.
  Fixture f;
  std::vector<std::string> names = {"order_id", "amount", "status"};
  for (int i = 0; i < 200000; ++i) names.push_back("x" + std::to_string(i));
  names.push_back("x7");  // a repeated extra name is listed once
  std::vector<std::string_view> header(names.begin(), names.end());
  f.schema.on_extra_columns = config::ExtraColumnsPolicy::kIgnore;
  ASSERT_TRUE(f.Map(header).ok());
  EXPECT_EQ(f.rc->extra_columns().size(), 200000u);
  EXPECT_TRUE(f.rc->missing_columns().empty());
}

TEST(CsvConform, PunctuationInHeadersIsTheLastResort) {
  Fixture f;
  f.schema.columns[2].aliases = {"Order Status"};
  ASSERT_TRUE(f.Map({"Order-ID", "amount", "order_status"}).ok());
  EXPECT_TRUE(f.rc->extra_columns().empty());
  ASSERT_TRUE(f.Row({"42", "1.5", "paid"}));
  EXPECT_EQ(f.rc->cells()[0].i, 42);
  EXPECT_EQ(f.rc->cells()[2].s, "paid");
  // A column a stronger rule already took leaves the loose spelling an extra column.
  Fixture g;
  ASSERT_TRUE(g.Map({"order.id", "order_id", "amount"}).ok());
  EXPECT_EQ(g.rc->extra_columns(), (std::vector<std::string>{"order.id"}));
  ASSERT_TRUE(g.Row({"x", "7", "1"}));
  EXPECT_EQ(g.rc->cells()[0].i, 7);
  // Two columns that fit the same loose spelling: neither is guessed.
  Fixture h;
  h.schema.columns.push_back(Col("ab", config::ColumnType::kString));
  h.schema.columns.push_back(Col("a_b", config::ColumnType::kString));
  ASSERT_TRUE(h.Map({"order_id", "a-b"}).ok());
  EXPECT_EQ(h.rc->extra_columns(), (std::vector<std::string>{"a-b"}));
}

TEST(CsvConform, DuplicateHeaderIsAnError) {
  Fixture f;
  Status st = f.Map({"order_id", "amount", "amount"});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("duplicate header"), std::string::npos) << st.message();
  Fixture g;
  st = g.Map({"order_id", "OrderID"});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("both map to column \"order_id\""), std::string::npos)
      << st.message();
}

TEST(CsvConform, DuplicateUnknownHeadersAreIgnoredUnderIgnorePolicy) {
  Fixture f;  // on_extra_columns defaults to ignore
  ASSERT_EQ(f.schema.on_extra_columns, config::ExtraColumnsPolicy::kIgnore);
  Status st = f.Map({"order_id", "amount", "status", "zz", "zz", " zz", "yy"});
  ASSERT_TRUE(st.ok()) << st.message();
  // Reported once each, in header order.
  EXPECT_EQ(f.rc->extra_columns(), (std::vector<std::string>{"zz", "yy"}));
  ASSERT_TRUE(f.Row({"1", "2", "paid", "a", "b", "c", "d"}));
  EXPECT_EQ(f.rc->cells()[0].i, 1);
  EXPECT_EQ(f.rc->cells()[1].s, "2.00");
  EXPECT_EQ(f.rc->cells()[2].s, "paid");
  EXPECT_EQ(f.rc->rescued(), "");
  Diagnostic d;
  EXPECT_FALSE(f.Row({"1", "2", "paid", "a", "b", "c"}, &d));
  EXPECT_EQ(d.code, "field_count");
}

TEST(CsvConform, DuplicateHeaderOfASchemaColumnFailsEvenUnderIgnore) {
  Fixture f;
  Status st = f.Map({"order_id", "status", "amount", "status"});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("duplicate header \"status\" (fields 2 and 4)"), std::string::npos)
      << st.message();
  // A duplicated alias of a schema column, too.
  Fixture g;
  st = g.Map({"OrderID", "amount", "OrderID"});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("duplicate header \"OrderID\""), std::string::npos) << st.message();
}

TEST(CsvConform, DuplicateUnknownHeadersFailUnderRescueAndFail) {
  Fixture rescue;
  rescue.schema.on_extra_columns = config::ExtraColumnsPolicy::kRescue;
  Status st = rescue.Map({"order_id", "zz", "amount", "zz"});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("duplicate header \"zz\" (fields 2 and 4)"), std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("rescue"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("one JSON key"), std::string::npos) << st.message();

  Fixture fail;
  fail.schema.on_extra_columns = config::ExtraColumnsPolicy::kFail;
  st = fail.Map({"order_id", "zz", "amount", "zz"});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("duplicate header \"zz\" (fields 2 and 4)"), std::string::npos)
      << st.message();
}

TEST(CsvConform, MissingNullableColumnBecomesNull) {
  Fixture f;
  ASSERT_TRUE(f.Map({"order_id", "amount"}).ok());
  EXPECT_EQ(f.rc->missing_columns(), std::vector<std::string>{"status"});
  ASSERT_TRUE(f.Row({"1", "2"}));
  EXPECT_EQ(f.rc->cells()[2].kind, CellKind::kNull);
}

TEST(CsvConform, MissingColumnFailsUnderFailPolicyAndNonNullableAlways) {
  Fixture f;
  f.schema.on_missing_columns = config::MissingColumnsPolicy::kFail;
  Status st = f.Map({"order_id", "amount"});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("status"), std::string::npos);
  Fixture g;
  st = g.Map({"amount", "status"});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("non-nullable column(s) order_id"), std::string::npos)
      << st.message();
}

TEST(CsvConform, ExtraColumnPolicies) {
  Fixture ignore;
  ASSERT_TRUE(ignore.Map({"order_id", "coupon"}).ok());
  EXPECT_EQ(ignore.rc->extra_columns(), std::vector<std::string>{"coupon"});
  ASSERT_TRUE(ignore.Row({"1", "X1"}));
  EXPECT_EQ(ignore.rc->rescued(), "");

  Fixture rescue;
  rescue.schema.on_extra_columns = config::ExtraColumnsPolicy::kRescue;
  ASSERT_TRUE(rescue.Map({"order_id", "coupon", "note"}).ok());
  ASSERT_TRUE(rescue.Row({"1", "X\"1", ""}));
  EXPECT_EQ(rescue.rc->rescued(), "{\"coupon\":\"X\\\"1\",\"note\":null}");

  Fixture fail;
  fail.schema.on_extra_columns = config::ExtraColumnsPolicy::kFail;
  Status st = fail.Map({"order_id", "coupon"});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("coupon"), std::string::npos);
}

TEST(CsvConform, ABlankHeaderIsNoExtraColumnButAValueUnderItIsNotLost) {
  // "order_id,amount,status," with every line ending in a delimiter: under every policy the
  // empty trailing field is nothing (it used to put {"":null} in every row's _rescued, and
  // failed the file under on_extra_columns: fail; two of them were "duplicate headers").
  for (auto policy : {config::ExtraColumnsPolicy::kIgnore, config::ExtraColumnsPolicy::kRescue,
                      config::ExtraColumnsPolicy::kFail}) {
    Fixture f;
    f.schema.on_extra_columns = policy;
    ASSERT_TRUE(f.Map({"order_id", "amount", "status", "", " "}).ok());
    EXPECT_TRUE(f.rc->extra_columns().empty());
    ASSERT_TRUE(f.Row({"1", "2.50", "paid", "", ""}));
    EXPECT_EQ(f.rc->rescued(), "");
    // A row that does put a value there.
    Diagnostic d;
    const bool ok = f.Row({"2", "2.50", "paid", "", "stray"}, &d);
    switch (policy) {
      case config::ExtraColumnsPolicy::kIgnore:
        EXPECT_TRUE(ok);
        break;
      case config::ExtraColumnsPolicy::kRescue:
        EXPECT_TRUE(ok);
        EXPECT_EQ(f.rc->rescued(), "{\"column 5\":\"stray\"}");
        break;
      case config::ExtraColumnsPolicy::kFail:
        EXPECT_FALSE(ok);
        EXPECT_EQ(d.code, "extra_column");
        EXPECT_EQ(d.column, "column 5");
        break;
    }
  }
  Fixture both;
  both.schema.on_extra_columns = config::ExtraColumnsPolicy::kRescue;
  ASSERT_TRUE(both.Map({"order_id", "coupon", ""}).ok());
  ASSERT_TRUE(both.Row({"1", "X1", "y"}));
  EXPECT_EQ(both.rc->rescued(), "{\"coupon\":\"X1\",\"column 3\":\"y\"}");
}

TEST(CsvConform, HeaderTextInMessagesCannotDriveTheTerminal) {
  // A header with escape sequences (retitle the window, clear the screen) reaches the operator
  // only escaped.
  const std::string evil = "\x1b]0;PWNED\x07\x1b[2Jok";
  for (auto policy : {config::ExtraColumnsPolicy::kFail, config::ExtraColumnsPolicy::kRescue}) {
    Fixture f;
    f.schema.on_extra_columns = policy;
    Status st = f.Map({"order_id", evil, evil});
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.message().find('\x1b'), std::string::npos) << Printable(st.message());
    EXPECT_NE(st.message().find("\\x1B[2Jok"), std::string::npos) << st.message();
  }
  Fixture extra;
  extra.schema.on_extra_columns = config::ExtraColumnsPolicy::kFail;
  Status st = extra.Map({"order_id", evil});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message().find('\x1b'), std::string::npos) << Printable(st.message());
}

TEST(CsvConform, EmptyValueInNonNullableColumnRejectsRow) {
  Fixture f;
  ASSERT_TRUE(f.Map({"order_id", "amount", "status"}).ok());
  Diagnostic d;
  EXPECT_FALSE(f.Row({"", "1", "x"}, &d));
  EXPECT_EQ(d.line, 7);
  EXPECT_EQ(d.column, "order_id");
  EXPECT_EQ(d.code, "null");
  f.dialect.null_values = {"", "NULL"};
  Fixture g;
  g.dialect.null_values = {"", "NULL"};
  ASSERT_TRUE(g.Map({"order_id", "amount", "status"}).ok());
  ASSERT_TRUE(g.Row({"1", "NULL", "NULL"}));
  EXPECT_EQ(g.rc->cells()[1].kind, CellKind::kNull);
  EXPECT_EQ(g.rc->cells()[2].kind, CellKind::kNull);
  EXPECT_EQ(d.message, "empty value in a non-nullable column");
  // A null token is no empty field: the reason names the rule that made it NULL.
  EXPECT_FALSE(g.Row({"NULL", "1", "x"}, &d));
  EXPECT_EQ(d.code, "null");
  EXPECT_EQ(d.message, "\"NULL\" is one of csv.null_values, so no value, in a non-nullable column");
}

TEST(CsvConform, WrongFieldCountAndBadTypesAreRejectsWithReason) {
  Fixture f;
  ASSERT_TRUE(f.Map({"order_id", "amount", "status"}).ok());
  Diagnostic d;
  EXPECT_FALSE(f.Row({"1", "2"}, &d));
  EXPECT_EQ(d.code, "field_count");
  EXPECT_FALSE(f.Row({"x1", "2", "s"}, &d));
  EXPECT_EQ(d.column, "order_id");
  EXPECT_EQ(d.message, "\"x1\" is not an int64");
  // A number out of range says so.
  EXPECT_FALSE(f.Row({"9223372036854775808", "2", "s"}, &d));
  EXPECT_EQ(d.message,
            "\"9223372036854775808\" is not an int64 (out of range: "
            "-9223372036854775808..9223372036854775807; use decimal(38,0) or string for larger "
            "numbers)");
  f.schema.columns[1].type = config::ColumnType::kFloat64;
  ASSERT_TRUE(f.Map({"order_id", "amount", "status"}).ok());
  EXPECT_FALSE(f.Row({"1", "NaN", "s"}, &d));
  EXPECT_NE(d.message.find("NaN is not loaded"), std::string::npos) << d.message;
  EXPECT_FALSE(f.Row({"1", "-inf", "s"}, &d));
  EXPECT_NE(d.message.find("infinity is not loaded"), std::string::npos) << d.message;
  EXPECT_FALSE(f.Row({"1", "1e400", "s"}, &d));
  EXPECT_NE(d.message.find("beyond a double's range"), std::string::npos) << d.message;
  EXPECT_FALSE(f.Row({"1", "1.2.3", "s"}, &d));
  EXPECT_EQ(d.message, "\"1.2.3\" is not a float64");
  f.schema = Orders();
  ASSERT_TRUE(f.Map({"order_id", "amount", "status"}).ok());
  EXPECT_FALSE(f.Row({"1", "12,5", "s"}, &d));
  EXPECT_EQ(d.column, "amount");
  EXPECT_NE(d.message.find("decimal(12,2)"), std::string::npos) << d.message;
}

TEST(CsvConform, InvalidUtf8RejectsRow) {
  Fixture f;
  ASSERT_TRUE(f.Map({"order_id", "amount", "status"}).ok());
  Record rec;
  rec.fields = {"1", "2", "caf\xFF"};
  rec.quoted = {false, false, false};
  rec.raw = "1,2,caf\xFF";
  Diagnostic d;
  EXPECT_FALSE(f.rc->Convert(rec, &d));
  EXPECT_EQ(d.code, "encoding");
  EXPECT_EQ(d.column, "status");  // where to look
  EXPECT_EQ(d.message, "invalid bytes for encoding utf-8");
  f.dialect.encoding = "windows-1252";
  ASSERT_TRUE(f.Map({"order_id", "amount", "Note"}).ok());
  EXPECT_FALSE(f.rc->Convert(rec, &d));
  EXPECT_EQ(d.column, "field 3");  // an extra column: by position
  EXPECT_EQ(d.message, "invalid bytes for encoding windows-1252");
}

TEST(CsvConform, StringsOverMaxLengthAreRejected) {
  Fixture f;
  f.schema.columns[2].max_length = 4;
  ASSERT_TRUE(f.Map({"order_id", "amount", "status"}).ok());
  EXPECT_TRUE(f.Row({"1", "1", "paid"}));
  Diagnostic d;
  EXPECT_FALSE(f.Row({"1", "1", "refunded"}, &d));
  EXPECT_EQ(d.code, "too_long");
  EXPECT_EQ(d.column, "status");
}

TEST(CsvConform, QuotedEmptyStringIsNotNull) {
  Fixture f;
  ASSERT_TRUE(f.Map({"order_id", "amount", "status"}).ok());
  Record rec;
  rec.fields = {"1", "", ""};
  rec.quoted = {0, 0, 1};
  Diagnostic d;
  ASSERT_TRUE(f.rc->Convert(rec, &d));
  EXPECT_EQ(f.rc->cells()[1].kind, CellKind::kNull);
  EXPECT_EQ(f.rc->cells()[2].kind, CellKind::kText);
  EXPECT_EQ(f.rc->cells()[2].s, "");
}

TEST(CsvConform, WithoutHeaderColumnsAreInSchemaOrder) {
  config::TableSchema schema = Orders();
  config::CsvDialect dialect;
  dialect.header = false;
  auto rc = RowConverter::Create(schema, dialect, nullptr);
  ASSERT_TRUE(rc.ok());
  Record rec;
  rec.fields = {"5", "1.5", "x"};
  rec.quoted = {0, 0, 0};
  Diagnostic d;
  ASSERT_TRUE((*rc)->Convert(rec, &d));
  EXPECT_EQ((*rc)->cells()[0].i, 5);
  EXPECT_EQ((*rc)->cells()[1].s, "1.50");
}

TEST(CsvTypes, Int64GoodAndBad) {
  int64_t v = 0;
  EXPECT_TRUE(ParseInt64(" -42 ", &v));
  EXPECT_EQ(v, -42);
  EXPECT_TRUE(ParseInt64("9223372036854775807", &v));
  EXPECT_TRUE(ParseInt64("-9223372036854775808", &v));
  EXPECT_EQ(v, INT64_MIN);
  EXPECT_FALSE(ParseInt64("9223372036854775808", &v));
  EXPECT_FALSE(ParseInt64("1.0", &v));
  EXPECT_FALSE(ParseInt64("", &v));
  EXPECT_FALSE(ParseInt64("-", &v));
}

TEST(CsvTypes, Float64GoodAndBad) {
  double d = 0;
  EXPECT_TRUE(ParseFloat64("1.5e3", &d));
  EXPECT_EQ(d, 1500);
  EXPECT_TRUE(ParseFloat64("+2", &d));
  EXPECT_FALSE(ParseFloat64("nan", &d));
  EXPECT_FALSE(ParseFloat64("inf", &d));
  EXPECT_FALSE(ParseFloat64("1,5", &d));
}

TEST(CsvTypes, DecimalsAreExactCanonicalText) {
  std::string out, err;
  EXPECT_TRUE(CanonicalDecimal("12.3", 12, 2, &out, &err));
  EXPECT_EQ(out, "12.30");
  EXPECT_TRUE(CanonicalDecimal("-0007.100", 12, 2, &out, &err));
  EXPECT_EQ(out, "-7.10");
  EXPECT_TRUE(CanonicalDecimal("-0.00", 5, 2, &out, &err));
  EXPECT_EQ(out, "0.00");
  EXPECT_TRUE(CanonicalDecimal(".5", 5, 2, &out, &err));
  EXPECT_EQ(out, "0.50");
  EXPECT_TRUE(CanonicalDecimal("9999999999.99", 12, 2, &out, &err));
  EXPECT_EQ(out, "9999999999.99");
  EXPECT_TRUE(CanonicalDecimal("12345678901234567890.5", 38, 4, &out, &err));
  EXPECT_EQ(out, "12345678901234567890.5000");
  EXPECT_FALSE(CanonicalDecimal("1.234", 12, 2, &out, &err));
  EXPECT_NE(err.find("decimal places"), std::string::npos);
  EXPECT_FALSE(CanonicalDecimal("12345678901", 12, 2, &out, &err));
  EXPECT_FALSE(CanonicalDecimal("1e5", 12, 2, &out, &err));
  EXPECT_FALSE(CanonicalDecimal(".", 12, 2, &out, &err));
  EXPECT_TRUE(CanonicalDecimal("42", 5, 0, &out, &err));
  EXPECT_EQ(out, "42");
}

TEST(CsvTypes, LocalNumberNotationsBecomePlain) {
  auto col = [](const char* thousands, char mark) {
    config::ColumnSchema c = Col("x", config::ColumnType::kDecimal);
    c.thousands_separator = thousands;
    c.decimal_separator = mark;
    return c;
  };
  const auto german = col(".", ','), us = col(",", '.'), french = col(" ", ','),
             swiss = col("'", '.'), comma_only = col("", ',');
  struct Case {
    const config::ColumnSchema* column;
    const char* in;
    const char* out;  // nullptr: refused
  };
  const Case cases[] = {
      {&german, "1.234,56", "1234.56"},
      {&german, " -1.234.567,8 ", "-1234567.8"},
      {&german, "1234,5", "1234.5"},
      {&german, "+12,5e3", "+12.5e3"},
      {&german, "0,5", "0.5"},
      {&german, "1.5", nullptr},      // a group of one digit: 15 or 1.5? never guessed
      {&german, "12.34,5", nullptr},  // a group of two
      {&german, "1.2345", nullptr},   // a group of four
      {&german, ".123", nullptr},     // no digits before the separator
      {&german, "1.234.", nullptr},   // ends in a separator
      {&german, "1,234.5", nullptr},  // the other convention
      {&us, "1,234,567.89", "1234567.89"},
      {&us, "1,23", nullptr},
      {&us, "1234.5", "1234.5"},
      {&french, "1 234,5", "1234.5"},
      {&french,
       "1\xC2\xA0"
       "234,5",
       "1234.5"},  // no-break space
      {&french,
       "1\xE2\x80\xAF"
       "234,5",
       "1234.5"},  // narrow no-break space
      {&swiss, "1'234.50", "1234.50"},
      {&comma_only, "3,25", "3.25"},
      {&comma_only, "3.25", nullptr},
  };
  for (const Case& c : cases) {
    std::string out, error;
    const bool ok = PlainNumber(c.in, *c.column, &out, &error);
    if (c.out == nullptr) {
      EXPECT_FALSE(ok) << c.in << " -> " << out;
      EXPECT_FALSE(error.empty()) << c.in;
    } else {
      EXPECT_TRUE(ok) << c.in << ": " << error;
      EXPECT_EQ(out, c.out) << c.in;
    }
  }
}

TEST(CsvConform, NumbersInTheColumnsLocalNotation) {
  Fixture f;
  f.schema.columns[1].decimal_separator = ',';  // amount decimal(12,2)
  f.schema.columns[1].thousands_separator = ".";
  f.schema.columns[0].thousands_separator = ".";  // order_id int64
  auto ratio = Col("ratio", config::ColumnType::kFloat64);
  ratio.decimal_separator = ',';
  f.schema.columns.push_back(ratio);
  ASSERT_TRUE(f.Map({"order_id", "amount", "status", "ratio"}).ok());
  ASSERT_TRUE(f.Row({"1.000.042", "1.234,5", "paid", "0,25"}));
  EXPECT_EQ(f.rc->cells()[0].i, 1000042);
  EXPECT_EQ(f.rc->cells()[1].s, "1234.50");
  EXPECT_EQ(f.rc->cells()[3].d, 0.25);
  Diagnostic d;
  EXPECT_FALSE(f.Row({"7", "1.5", "paid", "0,25"}, &d));
  EXPECT_EQ(d.column, "amount");
  EXPECT_EQ(d.code, "type");
  EXPECT_NE(d.message.find("\"1.5\" is not a decimal(12,2): digits must be grouped by \".\""),
            std::string::npos)
      << d.message;
  EXPECT_FALSE(f.Row({"7", "1,5", "paid", "0.25"}, &d));
  EXPECT_EQ(d.column, "ratio");
  EXPECT_NE(d.message.find("\".\" is not the decimal mark here"), std::string::npos) << d.message;
  // The plain parser still judges what is left.
  EXPECT_FALSE(f.Row({"7", "1,5x", "paid", "0,25"}, &d));
  EXPECT_EQ(d.column, "amount");
  EXPECT_NE(d.message.find("\"1,5x\" is not a decimal(12,2)"), std::string::npos) << d.message;
}

TEST(CsvTypes, BoolsInAnyCaseAndSchemaSpellings) {
  config::ColumnSchema c;
  c.true_values = {"Y", "yes"};
  c.false_values = {"N"};
  EXPECT_EQ(ParseBool("TRUE", c), 1);
  EXPECT_EQ(ParseBool("False", c), 0);
  EXPECT_EQ(ParseBool("1", c), 1);
  EXPECT_EQ(ParseBool("0", c), 0);
  EXPECT_EQ(ParseBool("y", c), 1);
  EXPECT_EQ(ParseBool("n", c), 0);
  EXPECT_EQ(ParseBool("maybe", c), -1);
  config::ColumnSchema plain;  // the usual spellings need no configuration
  for (const char* t : {"yes", "Y", "t", "TRUE", "1"}) EXPECT_EQ(ParseBool(t, plain), 1) << t;
  for (const char* f : {"No", "n", "F", "false", "0"}) EXPECT_EQ(ParseBool(f, plain), 0) << f;
  EXPECT_EQ(ParseBool("maybe", plain), -1);
  EXPECT_EQ(ParseBool("10", plain), -1);
}

TEST(CsvTypes, DatesIsoAndFormat) {
  std::string out;
  EXPECT_TRUE(ParseDateValue("2026-02-28", "", &out));
  EXPECT_EQ(out, "2026-02-28");
  EXPECT_FALSE(ParseDateValue("2026-02-29", "", &out));
  EXPECT_TRUE(ParseDateValue("2024-02-29", "", &out));
  EXPECT_FALSE(ParseDateValue("2026-13-01", "", &out));
  EXPECT_FALSE(ParseDateValue("26-01-01", "", &out));
  EXPECT_TRUE(ParseDateValue("24/11/2026", "%d/%m/%Y", &out));
  EXPECT_EQ(out, "2026-11-24");
  EXPECT_TRUE(ParseDateValue("20261124", "%Y%m%d", &out));
  EXPECT_EQ(out, "2026-11-24");
  EXPECT_FALSE(ParseDateValue("2026-11-24", "%d/%m/%Y", &out));
}

TEST(CsvTypes, TimestampsIsoWithOffsetsAndFormat) {
  std::string out;
  EXPECT_TRUE(ParseTimestampValue("2026-11-24T10:20:30", "", &out));
  EXPECT_EQ(out, "2026-11-24 10:20:30");
  EXPECT_TRUE(ParseTimestampValue("2026-11-24 10:20:30.125Z", "", &out));
  EXPECT_EQ(out, "2026-11-24 10:20:30.125");
  EXPECT_TRUE(ParseTimestampValue("2026-11-24T01:00:00+09:00", "", &out));
  EXPECT_EQ(out, "2026-11-23 16:00:00");
  EXPECT_TRUE(ParseTimestampValue("2026-12-31T23:30:00-01:00", "", &out));
  EXPECT_EQ(out, "2027-01-01 00:30:00");
  EXPECT_FALSE(ParseTimestampValue("2026-11-24T25:00:00", "", &out));
  EXPECT_FALSE(ParseTimestampValue("2026-11-24X10:00:00", "", &out));
  EXPECT_TRUE(ParseTimestampValue("24.11.2026 07:05", "%d.%m.%Y %H:%M", &out));
  EXPECT_EQ(out, "2026-11-24 07:05:00");
}

TEST(CsvTypes, TimestampFractionsAreCanonicalSoOneInstantIsOneKey) {
  std::string out;
  for (const char* text : {"2026-01-01T10:00:00.5", "2026-01-01T10:00:00.500",
                           "2026-01-01 10:00:00,50", "2026-01-01T10:00:00.500000000Z"}) {
    EXPECT_TRUE(ParseTimestampValue(text, "", &out)) << text;
    EXPECT_EQ(out, "2026-01-01 10:00:00.5") << text;
  }
  for (const char* text : {"2026-01-01T10:00:00", "2026-01-01T10:00:00.0",
                           "2026-01-01T10:00:00.000000000", "2026-01-01T10:00"}) {
    EXPECT_TRUE(ParseTimestampValue(text, "", &out)) << text;
    EXPECT_EQ(out, "2026-01-01 10:00:00") << text;
  }
  EXPECT_TRUE(ParseTimestampValue("2026-01-01T10:00:00.120", "", &out));
  EXPECT_EQ(out, "2026-01-01 10:00:00.12");
  EXPECT_TRUE(ParseTimestampValue("2026-01-01T10:00:00.010", "", &out));
  EXPECT_EQ(out, "2026-01-01 10:00:00.01");
  // With an offset converted to UTC.
  EXPECT_TRUE(ParseTimestampValue("2026-01-01T19:00:00.2500+09:00", "", &out));
  EXPECT_EQ(out, "2026-01-01 10:00:00.25");
  EXPECT_TRUE(ParseTimestampValue("2026-01-01T19:00:00.000+09:00", "", &out));
  EXPECT_EQ(out, "2026-01-01 10:00:00");
  // With a format.
  EXPECT_TRUE(ParseTimestampValue("01/01/2026 10:00:00.500", "%d/%m/%Y %H:%M:%S.%f", &out));
  EXPECT_EQ(out, "2026-01-01 10:00:00.5");
  EXPECT_TRUE(ParseTimestampValue("01/01/2026 10:00:00.00", "%d/%m/%Y %H:%M:%S.%f", &out));
  EXPECT_EQ(out, "2026-01-01 10:00:00");
  EXPECT_TRUE(ParseTimestampValue("20260101 190000.100 +0900", "%Y%m%d %H%M%S.%f %z", &out));
  EXPECT_EQ(out, "2026-01-01 10:00:00.1");
}

TEST(CsvTypes, TimestampWithLeapSecondIsATypeError) {
  std::string out;
  EXPECT_TRUE(ParseTimestampValue("2016-12-31T23:59:59", "", &out));
  EXPECT_FALSE(ParseTimestampValue("2016-12-31T23:59:60", "", &out));
  EXPECT_FALSE(ParseTimestampValue("2016-12-31T23:59:60Z", "", &out));
  EXPECT_FALSE(ParseTimestampValue("2017-01-01T08:59:60+09:00", "", &out));
  EXPECT_FALSE(ParseTimestampValue("31/12/2016 23:59:60", "%d/%m/%Y %H:%M:%S", &out));
  Fixture f;
  f.schema.columns.push_back(Col("at", config::ColumnType::kTimestamp));
  ASSERT_TRUE(f.Map({"order_id", "at"}).ok());
  Diagnostic d;
  EXPECT_FALSE(f.Row({"1", "2016-12-31 23:59:60"}, &d));
  EXPECT_EQ(d.column, "at");
  EXPECT_EQ(d.code, "type");
  EXPECT_NE(d.message.find("is not a timestamp"), std::string::npos) << d.message;
}

// `sluice validate` accepts exactly config::kTimeFormatDirectives in a format; each must be one
// the parser reads, or a validated config would reject every row at run time.
TEST(CsvTypes, FormatParserReadsEveryDirectiveValidationAccepts) {
  struct Sample {
    const char* format;
    const char* in;
    const char* out;
  };
  const std::map<char, Sample> kSample = {
      {'Y', {"%Y", "2026", "2026-01-01 00:00:00"}},
      {'y', {"%y", "26", "2026-01-01 00:00:00"}},
      {'m', {"%m", "11", "1970-11-01 00:00:00"}},
      {'d', {"%d", "24", "1970-01-24 00:00:00"}},
      {'H', {"%H", "13", "1970-01-01 13:00:00"}},
      {'M', {"%M", "45", "1970-01-01 00:45:00"}},
      {'S', {"%S", "30", "1970-01-01 00:00:30"}},
      {'f', {"%f", "250", "1970-01-01 00:00:00.25"}},
      {'z', {"%z", "+0100", "1969-12-31 23:00:00"}},
      {'I', {"%I %p", "1 PM", "1970-01-01 13:00:00"}},
      {'p', {"%I%p", "12am", "1970-01-01 00:00:00"}},
      {'b', {"%b", "nov", "1970-11-01 00:00:00"}},
      {'B', {"%B", "November", "1970-11-01 00:00:00"}},
      {'s', {"%s", "1764000000", "2025-11-24 16:00:00"}},
      {'%', {"%%", "%", "1970-01-01 00:00:00"}},
  };
  for (const char* p = config::kTimeFormatDirectives; *p != '\0'; ++p) {
    auto it = kSample.find(*p);
    ASSERT_NE(it, kSample.end()) << "no sample for %" << *p;
    const Sample& sample = it->second;
    std::string out;
    EXPECT_TRUE(ParseTimestampValue(sample.in, sample.format, &out)) << sample.format;
    EXPECT_EQ(out, sample.out) << sample.format;
    EXPECT_EQ(config::CheckTimeFormat(sample.format), "") << sample.format;
  }
  EXPECT_NE(config::CheckTimeFormat("%Q"), "");
  std::string out;
  EXPECT_FALSE(ParseTimestampValue("x", "%Q", &out));
}

// A timestamp format, an input, and what it reads as (nullptr: not a timestamp).
struct TimeCase {
  const char* format;
  const char* in;
  const char* out;
};

void ExpectTimestamps(std::span<const TimeCase> cases) {
  for (const TimeCase& c : cases) {
    std::string out;
    const bool ok = ParseTimestampValue(c.in, c.format, &out);
    if (c.out == nullptr) {
      EXPECT_FALSE(ok) << c.format << ": " << c.in << " -> " << out;
    } else {
      EXPECT_TRUE(ok) << c.format << ": " << c.in;
      EXPECT_EQ(out, c.out) << c.format << ": " << c.in;
    }
  }
}

TEST(CsvTypes, TwelveHourClocksAndMonthNames) {
  const TimeCase cases[] = {
      {"%m/%d/%Y %I:%M %p", "11/24/2026 12:05 AM", "2026-11-24 00:05:00"},
      {"%m/%d/%Y %I:%M %p", "11/24/2026 12:05 PM", "2026-11-24 12:05:00"},
      {"%m/%d/%Y %I:%M %p", "11/24/2026 3:15 pm", "2026-11-24 15:15:00"},
      {"%m/%d/%Y %I:%M %p", "11/24/2026 3:15 p.m.", "2026-11-24 15:15:00"},
      {"%m/%d/%Y %I:%M %p", "11/24/2026 13:15 PM", nullptr},  // no 13 o'clock
      {"%m/%d/%Y %I:%M %p", "11/24/2026 0:15 AM", nullptr},
      {"%m/%d/%Y %I:%M %p", "11/24/2026 3:15 XM", nullptr},
      {"%d-%b-%Y", "24-NOV-2026", "2026-11-24 00:00:00"},
      {"%d-%b-%Y", "24-Sept-2026", "2026-09-24 00:00:00"},
      {"%d-%b-%Y", "24-Nov.-2026", nullptr},
      {"%d %B %Y", "1 february 2026", "2026-02-01 00:00:00"},
      {"%d %B %Y", "31 February 2026", nullptr},
      {"%B %d, %Y", "May 5, 2026", "2026-05-05 00:00:00"},
  };
  ExpectTimestamps(cases);
  EXPECT_NE(config::CheckTimeFormat("%I:%M"), "");  // which half of the day?
  EXPECT_NE(config::CheckTimeFormat("%H %p"), "");
  EXPECT_NE(config::CheckTimeFormat("%H:%I %p"), "");
  EXPECT_EQ(config::CheckTimeFormat("%H:%M 100%%Iso"), "");  // %%I is a literal %, then I
}

TEST(CsvTypes, UnixTimeIsUtc) {
  const TimeCase cases[] = {
      {"%s", "0", "1970-01-01 00:00:00"},
      {"%s", "-1", "1969-12-31 23:59:59"},
      {"%s", " 1764000000 ", "2025-11-24 16:00:00"},
      {"%s.%f", "1764000000.250", "2025-11-24 16:00:00.25"},
      {"%s", "1764000000.250", nullptr},  // a fraction needs %f
      {"%s", "1764000000123", nullptr},   // milliseconds: 13 digits are not seconds
      {"%s", "253402300800", nullptr},    // year 10000
      {"%s", "", nullptr},
      {"%s", "-", nullptr},
  };
  ExpectTimestamps(cases);
  std::string day;
  EXPECT_TRUE(ParseDateValue("1764000000", "%s", &day));
  EXPECT_EQ(day, "2025-11-24");
}

TEST(CsvConform, ATimeColumnTriesEachOfItsFormatsInOrder) {
  Fixture f;
  auto day = Col("day", config::ColumnType::kDate);
  day.formats = {"%d.%m.%Y", "%Y-%m-%d"};  // the partner switched formats on some date
  f.schema.columns.push_back(day);
  ASSERT_TRUE(f.Map({"order_id", "amount", "status", "day"}).ok());
  ASSERT_TRUE(f.Row({"1", "1", "x", "24.11.2026"}));
  EXPECT_EQ(f.rc->cells()[3].s, "2026-11-24");
  ASSERT_TRUE(f.Row({"1", "1", "x", "2026-11-25"}));
  EXPECT_EQ(f.rc->cells()[3].s, "2026-11-25");
  Diagnostic d;
  ASSERT_FALSE(f.Row({"1", "1", "x", "11/24/2026"}, &d));
  EXPECT_NE(d.message.find("is not a date (%d.%m.%Y or %Y-%m-%d)"), std::string::npos) << d.message;
}

}  // namespace
}  // namespace sluice::csv
