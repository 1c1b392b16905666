// COPY's binary format (warehouse/postgres_copy_binary.h) against a real server: every value
// sent in binary must be stored exactly as the same value sent as text (which is what the
// SQLite back-end's results are compared with), including a timestamp's rounding of a fraction
// past microseconds, numeric's base-10000 groups around the decimal point, and dates before
// PostgreSQL's epoch.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "pg/pg_test_server.h"
#include "warehouse/postgres_copy_binary.h"

namespace sluice::warehouse::pg {
namespace {

config::ColumnSchema Column(config::ColumnType type, int precision = 0, int scale = 0) {
  config::ColumnSchema c;
  c.name = "v";
  c.type = type;
  c.precision = precision;
  c.scale = scale;
  return c;
}

Value Text(std::string_view s) { return Value{ValueKind::kText, 0, 0, s}; }
Value Int(int64_t i) { return Value{ValueKind::kInt, i, 0, {}}; }
Value Real(double d) { return Value{ValueKind::kReal, 0, d, {}}; }

class PgCopyBinary : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(testing::TestPgServer().error, "");
    const std::string url = testing::NewPgDatabase();
    ASSERT_FALSE(url.empty());
    conn_ = PQconnectdb(url.c_str());
    ASSERT_EQ(PQstatus(conn_), CONNECTION_OK) << PQerrorMessage(conn_);
    Exec("SET TimeZone TO 'UTC'");
  }
  void TearDown() override { PQfinish(conn_); }

  std::string Exec(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    std::string out;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) {
      out = PQgetisnull(r, 0, 0) ? "<null>" : PQgetvalue(r, 0, 0);
    } else if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
      ADD_FAILURE() << sql << ": " << PQerrorMessage(conn_);
    }
    PQclear(r);
    return out;
  }

  // Sends `values` by binary COPY into a fresh table t(v `type`), and the text spellings
  // `texts` (NULL for none) into u(v `type`) by the server's text input; empty when every
  // row of t equals u's row of the same number, else the rows that differ.
  std::string Compare(const std::string& type, const config::ColumnSchema& column,
                      const std::vector<Value>& values, const std::vector<const char*>& texts) {
    Exec("DROP TABLE IF EXISTS t, u");
    Exec("CREATE TABLE t (n bigint, v " + type + ")");
    Exec("CREATE TABLE u (n int, v " + type + ")");
    std::string data;
    AppendBinaryHeader(&data);
    for (size_t i = 0; i < values.size(); ++i) {
      AppendBinaryRowStart(2, &data);
      AppendBinaryInt8(static_cast<int64_t>(i), &data);
      std::string error;
      EXPECT_TRUE(AppendBinaryValue(values[i], column, &data, &error)) << i << ": " << error;
    }
    AppendBinaryTrailer(&data);
    PGresult* r = PQexec(conn_, "COPY t (n, v) FROM STDIN (FORMAT binary)");
    EXPECT_EQ(PQresultStatus(r), PGRES_COPY_IN) << PQerrorMessage(conn_);
    PQclear(r);
    EXPECT_EQ(PQputCopyData(conn_, data.data(), static_cast<int>(data.size())), 1);
    EXPECT_EQ(PQputCopyEnd(conn_, nullptr), 1);
    while (PGresult* res = PQgetResult(conn_)) {
      EXPECT_EQ(PQresultStatus(res), PGRES_COMMAND_OK) << PQerrorMessage(conn_);
      PQclear(res);
    }
    for (size_t i = 0; i < texts.size(); ++i) {
      const std::string lit = texts[i] ? "'" + std::string(texts[i]) + "'" : "NULL";
      Exec("INSERT INTO u VALUES (" + std::to_string(i) + ", " + lit + ")");
    }
    return Exec(
        "SELECT coalesce(string_agg(format('row %s: binary %s, text %s', coalesce(t.n, u.n), "
        "t.v, u.v), '; '), '') FROM t FULL JOIN u ON t.n = u.n WHERE t.v IS DISTINCT FROM u.v "
        "OR t.v::text IS DISTINCT FROM u.v::text OR t.n IS NULL OR u.n IS NULL");
  }

  PGconn* conn_ = nullptr;
};

TEST_F(PgCopyBinary, NumericValuesAreStoredAsTheirTextWouldBe) {
  const std::vector<const char*> texts = {
      "0.00",    "-0.00",       "1.50", "-1.50",        "0.01",        "-0.01", "10000.00",
      "9999.99", "12345678.90", "0.10", "100000000.00", "99999999.99", "1.00",  "5000.05"};
  std::vector<Value> values;
  for (const char* t : texts) values.push_back(Text(t));
  EXPECT_EQ(Compare("numeric(12,2)", Column(config::ColumnType::kDecimal, 12, 2), values, texts),
            "");
  // Scales other than 2, wide precision, and an unconstrained numeric column.
  const std::vector<const char*> wide = {"0",
                                         "123456789012345678901234567890",
                                         "-1000000000000000000000000",
                                         "0.000000001",
                                         "12345.678901234",
                                         "-0.5",
                                         "7"};
  values.clear();
  for (const char* t : wide) values.push_back(Text(t));
  EXPECT_EQ(Compare("numeric", Column(config::ColumnType::kDecimal, 38, 9), values, wide), "");
  // Integers and floats given for a decimal column.
  EXPECT_EQ(Compare("numeric(20,4)", Column(config::ColumnType::kDecimal, 20, 4),
                    {Int(42), Int(-7), Real(2.5), Real(-0.125)}, {"42", "-7", "2.5", "-0.125"}),
            "");
}

TEST_F(PgCopyBinary, DatesAndTimestampsAreStoredAsTheirTextWouldBe) {
  const std::vector<const char*> dates = {"2000-01-01", "1999-12-31", "2000-02-29", "1970-01-01",
                                          "0001-01-01", "9999-12-31", "2026-11-24", "1900-03-01"};
  std::vector<Value> values;
  for (const char* t : dates) values.push_back(Text(t));
  EXPECT_EQ(Compare("date", Column(config::ColumnType::kDate), values, dates), "");
  // Fractions past microseconds round as the server rounds text (half away from zero on the
  // double it reads, so .0000005 -> .000001, and .9999995 carries into the next second).
  const std::vector<const char*> stamps = {
      "2000-01-01 00:00:00",         "1999-12-31 23:59:59",
      "2026-11-24 21:27:20",         "2026-11-24 21:27:20.5",
      "2026-11-24 21:27:20.123456",  "2026-11-24 21:27:20.1234565",
      "2026-11-24 21:27:20.0000005", "2026-11-24 23:59:59.9999995",
      "0001-01-01 00:00:00.000001",  "9999-12-31 23:59:59.999999",
      "1960-06-15 12:00:00.25",      "2026-11-24 21:27:20.123456789"};
  values.clear();
  for (const char* t : stamps) values.push_back(Text(t));
  EXPECT_EQ(Compare("timestamp", Column(config::ColumnType::kTimestamp), values, stamps), "");
  // A timestamptz column (an existing table's; sluice's session is in UTC) takes the same.
  EXPECT_EQ(Compare("timestamptz", Column(config::ColumnType::kTimestamp), values, stamps), "");
}

TEST_F(PgCopyBinary, IntegersFloatsBooleansAndTextAreStoredAsTheirTextWouldBe) {
  EXPECT_EQ(Compare("bigint", Column(config::ColumnType::kInt64),
                    {Int(0), Int(-1), Int(std::numeric_limits<int64_t>::max()),
                     Int(std::numeric_limits<int64_t>::min()), Value{}},
                    {"0", "-1", "9223372036854775807", "-9223372036854775808", nullptr}),
            "");
  EXPECT_EQ(Compare("double precision", Column(config::ColumnType::kFloat64),
                    {Real(0.1), Real(-2.5e-300), Real(1e308), Real(3), Int(7)},
                    {"0.1", "-2.5e-300", "1e308", "3", "7"}),
            "");
  EXPECT_EQ(Compare("boolean", Column(config::ColumnType::kBool), {Int(1), Int(0), Value{}},
                    {"t", "f", nullptr}),
            "");
  EXPECT_EQ(
      Compare("text", Column(config::ColumnType::kString),
              {Text("tab\there"), Text("new\nline\\back"), Text("한국어 é"), Text(""), Value{}},
              {"tab\there", "new\nline\\back", "한국어 é", "", nullptr}),
      "");
}

TEST(PgCopyBinaryEncoding, RefusesValuesItsTypeCannotTakeAndSaysWhich) {
  std::string out, error;
  EXPECT_FALSE(
      AppendBinaryValue(Text("2026-13-01"), Column(config::ColumnType::kDate), &out, &error));
  EXPECT_EQ(error, "column v: \"2026-13-01\" is not a date (YYYY-MM-DD)");
  EXPECT_FALSE(
      AppendBinaryValue(Text("1e5"), Column(config::ColumnType::kDecimal, 10, 2), &out, &error));
  EXPECT_EQ(error, "column v: \"1e5\" is not a numeric ([-]digits[.digits])");
  EXPECT_FALSE(AppendBinaryValue(Text("12x"), Column(config::ColumnType::kInt64), &out, &error));
  EXPECT_EQ(error, "column v: \"12x\" is not a bigint");
  EXPECT_FALSE(AppendBinaryValue(Text("2026-11-24 25:00:00"),
                                 Column(config::ColumnType::kTimestamp), &out, &error));
  EXPECT_EQ(error,
            "column v: \"2026-11-24 25:00:00\" is not a timestamp (YYYY-MM-DD "
            "HH:MM:SS[.fraction])");
  EXPECT_EQ(out, "");  // nothing appended for a refused value
}

}  // namespace
}  // namespace sluice::warehouse::pg
