#include "csv/tokenizer.h"

#include <gtest/gtest.h>
#include <iconv.h>

#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "config/encodings.h"
#include "core/strings.h"
#include "csv/encoding.h"

namespace sluice::csv {
namespace {

struct Parsed {
  std::vector<std::vector<std::string>> rows;
  std::vector<int64_t> lines;
  std::vector<RowError> errors;
  std::vector<std::string> raws;
  Status status;
};

Parsed TokenizeWith(const std::string& data, TokenizerOptions options) {
  StringSource source(data);
  Tokenizer tok(&source, options);
  Parsed out;
  Record rec;
  while (true) {
    auto r = tok.Next(&rec);
    if (!r.ok()) {
      out.status = r.status();
      break;
    }
    if (!*r) break;
    out.rows.emplace_back(rec.fields.begin(), rec.fields.end());
    out.lines.push_back(rec.line);
    out.errors.push_back(rec.error);
    out.raws.emplace_back(rec.raw);
  }
  return out;
}

// Tokenizes `data` twice: with a 7-byte read buffer, so records straddle reads and the
// buffer grows, and with the default 1 MiB buffer (the SSE2 fast path); both must agree.
Parsed Tokenize(const std::string& data, TokenizerOptions options = {}) {
  TokenizerOptions small = options;
  small.buffer_bytes = 7;
  Parsed a = TokenizeWith(data, small);
  Parsed b = TokenizeWith(data, options);
  EXPECT_EQ(a.rows, b.rows);
  EXPECT_EQ(a.lines, b.lines);
  EXPECT_EQ(a.errors, b.errors);
  EXPECT_EQ(a.raws, b.raws);
  EXPECT_EQ(a.status.ok(), b.status.ok());
  return a;
}

using Rows = std::vector<std::vector<std::string>>;

TEST(CsvTokenizer, FastPathAndGeneralPathAgreeOnMixedLongRecords) {
  std::string data = "id,name,note,amount\n";
  for (int i = 0; i < 300; ++i) {
    data += std::to_string(i) + ",name_" + std::string(static_cast<size_t>(i % 40), 'x') + ",";
    if (i % 3 == 0)
      data += "\"quoted, with \"\"q\"\"\",";
    else if (i % 5 == 0)
      data += "mid\"quote,";
    else
      data += "plain,";
    data += "12.34";
    data += (i % 7 == 0) ? "\r\n" : "\n";
  }
  Parsed p = Tokenize(data);
  ASSERT_TRUE(p.status.ok()) << p.status.ToString();
  ASSERT_EQ(p.rows.size(), 301u);
  EXPECT_EQ(p.rows[1], (std::vector<std::string>{"0", "name_", "quoted, with \"q\"", "12.34"}));
  EXPECT_EQ(p.rows[6][2], "mid\"quote");
  EXPECT_EQ(p.lines[300], 301);
}

TEST(CsvTokenizer, SplitsSimpleRecordsOnLf) {
  Parsed p = Tokenize("a,b,c\n1,2,3\n");
  ASSERT_TRUE(p.status.ok()) << p.status.ToString();
  EXPECT_EQ(p.rows, (Rows{{"a", "b", "c"}, {"1", "2", "3"}}));
  EXPECT_EQ(p.lines, (std::vector<int64_t>{1, 2}));
}

TEST(CsvTokenizer, HandlesCrlfAndCrAndMissingFinalNewline) {
  EXPECT_EQ(Tokenize("a,b\r\n1,2\r\n").rows, (Rows{{"a", "b"}, {"1", "2"}}));
  EXPECT_EQ(Tokenize("a,b\r1,2\r").rows, (Rows{{"a", "b"}, {"1", "2"}}));
  EXPECT_EQ(Tokenize("a,b\n1,2").rows, (Rows{{"a", "b"}, {"1", "2"}}));
  EXPECT_EQ(Tokenize("a,b\n1,").rows, (Rows{{"a", "b"}, {"1", ""}}));
}

TEST(CsvTokenizer, QuotedFieldsHoldDelimitersDoubledQuotesAndNewlines) {
  Parsed p = Tokenize("id,text\n1,\"a, \"\"quoted\"\"\nline\"\n2,x\n");
  ASSERT_TRUE(p.status.ok());
  EXPECT_EQ(p.rows, (Rows{{"id", "text"}, {"1", "a, \"quoted\"\nline"}, {"2", "x"}}));
  // The record after a quoted newline starts on physical line 4.
  EXPECT_EQ(p.lines, (std::vector<int64_t>{1, 2, 4}));
  EXPECT_EQ(p.raws[1], "1,\"a, \"\"quoted\"\"\nline\"");
}

TEST(CsvTokenizer, SkipsUtf8BomAndBlankLines) {
  Parsed p = Tokenize("\xEF\xBB\xBFid\n\n1\r\n\r\n2\n");
  EXPECT_EQ(p.rows, (Rows{{"id"}, {"1"}, {"2"}}));
  EXPECT_EQ(p.lines, (std::vector<int64_t>{1, 3, 5}));
}

TEST(CsvTokenizer, ConfigurableDelimiterAndQuote) {
  TokenizerOptions o;
  o.delimiter = ';';
  o.quote = '\'';
  EXPECT_EQ(Tokenize("a;'b;c'\n", o).rows, (Rows{{"a", "b;c"}}));
  o.delimiter = '\t';
  EXPECT_EQ(Tokenize("a\tb\n", o).rows, (Rows{{"a", "b"}}));
}

TEST(CsvTokenizer, WithoutQuotingQuotesArePlainText) {
  // A TSV database dump: a field may start with a quote that never closes.
  TokenizerOptions o;
  o.delimiter = '\t';
  o.quoting = false;
  const std::string long_field(40, 'x');
  const std::string data = "1\t\"Big\" deal\t" + long_field + "\n2\t\"\t\"unclosed " + long_field +
                           "\n3\t5\" screen\t\"\"\n";
  Parsed p = Tokenize(data, o);
  ASSERT_TRUE(p.status.ok()) << p.status.ToString();
  EXPECT_EQ(p.rows, (Rows{{"1", "\"Big\" deal", long_field},
                          {"2", "\"", "\"unclosed " + long_field},
                          {"3", "5\" screen", "\"\""}}));
  EXPECT_EQ(p.errors, (std::vector<RowError>{RowError::kNone, RowError::kNone, RowError::kNone}));
  EXPECT_EQ(p.lines, (std::vector<int64_t>{1, 2, 3}));
  // The same bytes with quoting on: the second line's quotes enclose a tab, then text follows.
  o.quoting = true;
  Parsed quoted = Tokenize(data, o);
  ASSERT_EQ(quoted.errors.size(), 3u);
  EXPECT_EQ(quoted.errors[1], RowError::kTextAfterQuote);
  EXPECT_FALSE(Tokenize("1\t\"unclosed\n2\tx\n", o).status.ok());
  o.quoting = false;
  EXPECT_EQ(Tokenize("1\t\"unclosed\n2\tx\n", o).rows, (Rows{{"1", "\"unclosed"}, {"2", "x"}}));
}

TEST(CsvTokenizer, SkipsExcelsSepLineAndReportsItsDelimiter) {
  TokenizerOptions o;
  o.delimiter = ';';
  for (std::string first : {"sep=;\n", "SEP=;\r\n", "\xEF\xBB\xBFsep=;\r\n"}) {
    Parsed p = Tokenize(first + "a;b\n1;2\n", o);
    EXPECT_EQ(p.rows, (Rows{{"a", "b"}, {"1", "2"}})) << first;
    EXPECT_EQ(p.lines, (std::vector<int64_t>{2, 3})) << first;
  }
  StringSource src("sep=|\na|b\n");
  Tokenizer tok(&src, o);
  Record rec;
  ASSERT_TRUE(*tok.Next(&rec));
  EXPECT_EQ(tok.declared_delimiter(), '|');
  // Only a whole line of exactly that shape.
  EXPECT_EQ(Tokenize("sep=;x\n1\n", o).rows, (Rows{{"sep=", "x"}, {"1"}}));
  EXPECT_EQ(Tokenize("a;sep=;\n", o).rows, (Rows{{"a", "sep=", ""}}));
  EXPECT_EQ(Tokenize("sep=;", o).rows, Rows{});
  StringSource plain("a;b\n");
  Tokenizer tok2(&plain, o);
  ASSERT_TRUE(*tok2.Next(&rec));
  EXPECT_EQ(tok2.declared_delimiter(), '\0');
}

TEST(CsvTokenizer, RejectsUnterminatedQuoteAtEndOfFile) {
  Parsed p = Tokenize("a,b\n1,2\n3,\"open\n4,5\n");
  ASSERT_FALSE(p.status.ok());
  EXPECT_EQ(p.status.code(), StatusCode::kCorrupt);
  EXPECT_NE(p.status.message().find("line 3"), std::string::npos) << p.status.message();
  EXPECT_NE(p.status.message().find("not closed"), std::string::npos);
}

TEST(CsvTokenizer, NulByteAndTextAfterQuoteAreRowErrors) {
  Parsed p = Tokenize(std::string("a,b\n1,x\0y\n2,\"q\"z\n3,ok\n", 22));
  ASSERT_TRUE(p.status.ok()) << p.status.ToString();
  ASSERT_EQ(p.rows.size(), 4u);
  EXPECT_EQ(p.errors[1], RowError::kNulByte);
  EXPECT_EQ(p.errors[2], RowError::kTextAfterQuote);
  EXPECT_EQ(p.errors[3], RowError::kNone);
  EXPECT_EQ(p.rows[3], (std::vector<std::string>{"3", "ok"}));
}

TEST(CsvTokenizer, FieldOverLimitIsRowErrorAndRecordOverLimitIsFileError) {
  TokenizerOptions o;
  o.max_field_bytes = 5;
  Parsed p = Tokenize("a\n123456\n12\n", o);
  ASSERT_TRUE(p.status.ok());
  EXPECT_EQ(p.errors[1], RowError::kFieldTooLong);
  EXPECT_EQ(p.errors[2], RowError::kNone);

  TokenizerOptions small;
  small.max_record_bytes = 64;
  Parsed q = Tokenize("a\n\"" + std::string(200, 'x') + "\"\n", small);
  ASSERT_FALSE(q.status.ok());
  EXPECT_NE(q.status.message().find("line 2"), std::string::npos) << q.status.message();
}

// Found by fuzz/csv_tokenizer: a record exactly max_record_bytes long, ending in a lone CR,
// loaded when it arrived in one read and failed the file when reads split it.
TEST(CsvTokenizer, RecordOfExactlyTheLimitEndingInLoneCrLoadsWhateverTheReadSize) {
  TokenizerOptions o;
  o.max_record_bytes = 16;
  o.max_field_bytes = 16;
  const std::string csv = std::string(15, 'x') + "\r" + "3,4\r";  // 15 bytes + CR = 16
  for (size_t buffer : {size_t{1}, size_t{3}, size_t{16}, size_t{17}, size_t{1} << 16}) {
    TokenizerOptions with = o;
    with.buffer_bytes = buffer;
    Parsed p = TokenizeWith(csv, with);
    ASSERT_TRUE(p.status.ok()) << "buffer " << buffer << ": " << p.status.ToString();
    EXPECT_EQ(p.rows, (Rows{{std::string(15, 'x')}, {"3", "4"}})) << "buffer " << buffer;
  }
  // One byte more is over the limit, whatever the read size.
  for (size_t buffer : {size_t{1}, size_t{1} << 16}) {
    TokenizerOptions with = o;
    with.buffer_bytes = buffer;
    Parsed p = TokenizeWith(std::string(16, 'x') + "\r3,4\r", with);
    EXPECT_EQ(p.status.code(), StatusCode::kCorrupt) << "buffer " << buffer;
  }
}

TEST(CsvTokenizer, NeverHangsOnGarbage) {
  std::string junk;
  for (int i = 0; i < 5000; ++i) junk.push_back(static_cast<char>((i * 7919) % 256));
  Parsed p = Tokenize(junk);
  // Either a clean error or some records; the point is that it returns.
  EXPECT_TRUE(p.status.ok() || p.status.code() == StatusCode::kCorrupt);
}

TEST(CsvEncoding, ConvertsCp949KoreanToUtf8) {
  // "이름" (name) and "서울" (Seoul) in CP949.
  std::string cp949 = "id,\xC0\xCC\xB8\xA7\n1,\xBC\xAD\xBF\xEF\n";
  StringSource inner(cp949);
  auto src = MakeUtf8Source(&inner, "cp949");
  ASSERT_TRUE(src.ok());
  TokenizerOptions o;
  o.buffer_bytes = 5;
  Tokenizer tok(src->get(), o);
  Record rec;
  ASSERT_TRUE(*tok.Next(&rec));
  EXPECT_EQ(rec.fields[1], "이름");
  ASSERT_TRUE(*tok.Next(&rec));
  EXPECT_EQ(rec.fields[1], "서울");
}

TEST(CsvEncoding, MarksInvalidBytesInsteadOfFailing) {
  std::string bad = "a\n\xFF\xFE\n";
  StringSource inner(bad);
  auto src = MakeUtf8Source(&inner, "euc-kr");
  ASSERT_TRUE(src.ok());
  char buf[64];
  auto n = (*src)->Read(buf, sizeof buf);
  ASSERT_TRUE(n.ok());
  std::string out(buf, *n);
  EXPECT_NE(out.find(kInvalidByteMarker), std::string::npos);
  EXPECT_FALSE(MakeUtf8Source(&inner, "klingon").ok());
}

// What the decoder writes for bytes it cannot decode (each: the marker and its hex nibbles).
std::string Marked(std::string_view bytes) {
  std::string out(3 * bytes.size(), '\0');
  MarkUndecodable(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), out.data());
  return out;
}

// Reads everything `src` yields.
std::string ReadAll(ByteSource* src) {
  std::string out;
  char buf[64];
  while (true) {
    auto n = src->Read(buf, sizeof buf);
    if (!n.ok() || *n == 0) break;
    out.append(buf, *n);
  }
  return out;
}

TEST(CsvEncoding, EucKrDecodesCp949OnlyHangulLikeBrowsers) {
  // "김똠": 똠 (0x8C 0x63) exists only in cp949 (UHC). WHATWG decodes the label euc-kr as
  // windows-949; strict EUC-KR would turn 0x8C into U+008C and keep 'c'.
  std::string data = "id,name\n1,\xB1\xE8\x8C\x63\n";
  StringSource inner(data);
  auto src = MakeUtf8Source(&inner, "euc-kr");
  ASSERT_TRUE(src.ok());
  EXPECT_EQ(ReadAll(src->get()), "id,name\n1,김똠\n");
}

TEST(CsvEncoding, EucKrStillMarksBytesInvalidInCp949) {
  // 0x80 is no lead byte in cp949; 0xC9 0xA1 is KS X 1001's user-defined area, unmapped.
  std::string data =
      "a\x80"
      "b,\xC9\xA1\n";
  StringSource inner(data);
  auto src = MakeUtf8Source(&inner, "euc-kr");
  ASSERT_TRUE(src.ok());
  EXPECT_EQ(ReadAll(src->get()), "a" + Marked("\x80") + "b," + Marked("\xC9\xA1") + "\n");
}

// Hands out at most `step` bytes per read, so multibyte characters straddle reads.
class TrickleSource : public ByteSource {
 public:
  TrickleSource(std::string data, size_t step) : data_(std::move(data)), step_(step) {}
  Result<size_t> Read(char* buf, size_t n) override {
    size_t k = std::min({n, step_, data_.size() - pos_});
    std::memcpy(buf, data_.data() + pos_, k);
    pos_ += k;
    return k;
  }

 private:
  std::string data_;
  size_t step_;
  size_t pos_ = 0;
};

TEST(CsvEncoding, Cp949MixedWithAsciiSurvivesEveryReadBoundary) {
  // ASCII runs are copied around iconv; the two-byte characters (some with an ASCII-looking
  // second byte, as 똠 = 0x8C 'c') must still decode whole wherever a read cuts them.
  const std::pair<std::string, std::string> units[] = {
      {"ab,", "ab,"},     {"\xB1\xE8", "김"},           {"\x8C\x63", "똠"},          {"\n", "\n"},
      {"\xA1\x41", "좥"}, {"1234567890", "1234567890"}, {"\xBC\xAD\xBF\xEF", "서울"}};
  std::string cp949, utf8;
  uint32_t x = 12345;
  while (cp949.size() < (size_t{1} << 20)) {  // past the 256 KiB input buffer several times
    x = x * 1103515245 + 12345;
    const auto& [in, out] = units[(x >> 16) % std::size(units)];
    cp949 += in;
    utf8 += out;
  }
  for (size_t step : {size_t{7}, size_t{1} << 20}) {
    TrickleSource inner(cp949, step);
    auto src = MakeUtf8Source(&inner, "cp949");
    ASSERT_TRUE(src.ok());
    EXPECT_TRUE(ReadAll(src->get()) == utf8) << "reads of " << step << " bytes";
  }
  // A lead byte whose partner never comes is marked, not dropped silently or merged with '\n'.
  TrickleSource cut("x,\xB1\n\xB1", 3);
  auto src = MakeUtf8Source(&cut, "cp949");
  ASSERT_TRUE(src.ok());
  EXPECT_EQ(ReadAll(src->get()), "x," + Marked("\xB1") + "\n" + Marked("\xB1"));
}

// What glibc's iconv makes of `in`, asked one character at a time: ASCII as is; else the byte
// alone, or with the next one, when iconv converts exactly that; a two-byte code iconv skips as
// invalid (it does for a few, such as 0xA2 0xE8) is marked whole; any other byte is marked.
std::string IconvReference(const std::string& in, const char* from) {
  iconv_t cd = iconv_open("UTF-8", from);
  EXPECT_NE(cd, reinterpret_cast<iconv_t>(-1));
  std::string out;
  size_t i = 0;
  auto convert = [&](size_t n, std::string* got) {
    std::string src = in.substr(i, n);
    char* p = src.data();
    size_t left = n;
    char buf[16];
    char* o = buf;
    size_t o_left = sizeof buf;
    iconv(cd, nullptr, nullptr, nullptr, nullptr);
    size_t r = iconv(cd, &p, &left, &o, &o_left);
    got->assign(buf, static_cast<size_t>(o - buf));
    if (r != static_cast<size_t>(-1) && left == 0) return 1;  // converted
    if (r == static_cast<size_t>(-1) && errno == EILSEQ && left == 0 && got->empty()) return 2;
    return 0;
  };
  while (i < in.size()) {
    if (static_cast<unsigned char>(in[i]) < 0x80) {
      out.push_back(in[i++]);
      continue;
    }
    std::string got;
    if (convert(1, &got) == 1) {
      out += got;
      i += 1;
      continue;
    }
    int two = i + 1 < in.size() ? convert(2, &got) : 0;
    if (two == 1) {
      out += got;
      i += 2;
    } else {
      const size_t n = two == 2 ? 2 : 1;
      out += Marked(in.substr(i, n));
      i += n;
    }
  }
  iconv_close(cd);
  return out;
}

TEST(CsvEncoding, EveryTwoByteSequenceDecodesAsIconvDoes) {
  // The decoder reads glibc's mapping into a table once; check it against iconv itself for
  // every byte >= 0x80 followed by every byte, between ASCII, and as the input's last bytes.
  std::map<std::string, const char*> encodings;  // every table-decoded encoding
  for (const std::string& label : config::EncodingLabels()) {
    auto enc = config::FindEncoding(label);
    if (enc && enc->iconv != nullptr) encodings[enc->name] = enc->iconv;
  }
  ASSERT_GE(encodings.size(), 25u);
  for (const auto& [name, glibc] : encodings) {
    const char* encoding = name.c_str();
    for (int b1 = 0x80; b1 <= 0xFF; ++b1) {
      std::string in = "a,";
      for (int b2 = 0; b2 <= 0xFF; ++b2) {
        in.push_back(static_cast<char>(b1));
        in.push_back(static_cast<char>(b2));
        in += "z\n";
      }
      for (const std::string& tail :
           {std::string(1, static_cast<char>(b1)), std::string{static_cast<char>(b1), '\xA1'}}) {
        for (size_t step : {size_t{3}, size_t{1} << 20}) {
          TrickleSource inner(in + tail, step);
          auto src = MakeUtf8Source(&inner, encoding);
          ASSERT_TRUE(src.ok());
          ASSERT_EQ(ReadAll(src->get()), IconvReference(in + tail, glibc))
              << encoding << ": lead byte 0x" << std::hex << b1 << ", reads of " << step;
        }
      }
    }
  }
  // The trail byte of a code glibc skips starts no character; ASCII after it is kept.
  StringSource inner("x\xA2\xE8\xA1\xA1y\n");
  auto src = MakeUtf8Source(&inner, "cp949");
  ASSERT_TRUE(src.ok());
  EXPECT_EQ(ReadAll(src->get()), "x" + Marked("\xA2\xE8") + "\xE3\x80\x80y\n");
}

TEST(CsvEncoding, UndecodableBytesShowAsTheBytesTheFileHad) {
  // windows-1252 leaves 0x81 and 0x8D undefined: the rejects file shows them, not a marker.
  StringSource inner(
      "2;7;A\x81"
      "B\r\n3;C\x8D\n");
  auto src = MakeUtf8Source(&inner, "windows-1252");
  ASSERT_TRUE(src.ok());
  const std::string out = ReadAll(src->get());
  EXPECT_FALSE(IsValidUtf8(out));  // so the rows are rejected
  EXPECT_EQ(ShowUndecodable(out), "2;7;A\\x81B\\x0D\\x0A3;C\\x8D\\x0A");
  // Text that is not a marker sequence shows as Printable shows it.
  EXPECT_EQ(ShowUndecodable("caf\xE9 \xFF\x41"), Printable("caf\xE9 \xFF\x41"));
}

TEST(CsvEncoding, Latin1BecomesUtf8) {
  std::string latin = "caf\xE9\n";
  StringSource inner(latin);
  auto src = MakeUtf8Source(&inner, "latin-1");
  ASSERT_TRUE(src.ok());
  char buf[64];
  auto n = (*src)->Read(buf, sizeof buf);
  EXPECT_EQ(std::string(buf, *n), "caf\xC3\xA9\n");
}

TEST(CsvEncoding, EveryLabelOpensAndKeepsAsciiAsIs) {
  // The decoders copy bytes below 0x80 unchanged: true of every table-decoded encoding only if
  // glibc maps each such byte to itself (SHIFT_JIS would not: 0x5C is the yen sign there).
  for (const std::string& label : config::EncodingLabels()) {
    auto enc = config::FindEncoding(label);
    ASSERT_TRUE(enc.has_value()) << label;
    if (enc->name.starts_with("utf-16")) continue;  // tested below
    StringSource inner("id,name\n1,x\n");
    std::string used;
    auto src = MakeUtf8Source(&inner, label, &used);
    ASSERT_TRUE(src.ok()) << label << ": " << src.status().ToString();
    EXPECT_EQ(ReadAll(src->get()), "id,name\n1,x\n") << label;
    EXPECT_EQ(used, enc->name) << label;
    if (enc->iconv == nullptr) continue;
    std::string ascii;
    for (int b = 1; b < 0x80; ++b) ascii.push_back(static_cast<char>(b));
    iconv_t cd = iconv_open("UTF-8", enc->iconv);
    ASSERT_NE(cd, reinterpret_cast<iconv_t>(-1)) << enc->iconv;
    std::string in = ascii, out(ascii.size() * 4, '\0');
    char* ip = in.data();
    char* op = out.data();
    size_t il = in.size(), ol = out.size();
    ASSERT_NE(iconv(cd, &ip, &il, &op, &ol), static_cast<size_t>(-1)) << label;
    iconv_close(cd);
    EXPECT_EQ(out.substr(0, out.size() - ol), ascii) << label;
  }
  EXPECT_TRUE(config::FindEncoding(" UTF_8 ").has_value());
  EXPECT_EQ(config::FindEncoding("Shift_JIS")->name, "shift_jis");
  EXPECT_EQ(config::FindEncoding("CP1252")->name, "windows-1252");
  EXPECT_FALSE(config::FindEncoding("gb18030").has_value());  // four-byte sequences
  StringSource inner("x");
  auto bad = MakeUtf8Source(&inner, "euc-jp");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("windows-1252"), std::string::npos)
      << bad.status().message();
}

std::string Iconv(const std::string& in, const char* from, const char* to) {
  iconv_t cd = iconv_open(to, from);
  EXPECT_NE(cd, reinterpret_cast<iconv_t>(-1));
  std::string src = in, out(in.size() * 4 + 16, '\0');
  char* ip = src.data();
  char* op = out.data();
  size_t il = src.size(), ol = out.size();
  EXPECT_NE(iconv(cd, &ip, &il, &op, &ol), static_cast<size_t>(-1));
  iconv_close(cd);
  return out.substr(0, out.size() - ol);
}

std::string Decode(const std::string& in, const char* encoding, size_t step,
                   std::string* used = nullptr) {
  TrickleSource inner(in, step);
  auto src = MakeUtf8Source(&inner, encoding, used);
  EXPECT_TRUE(src.ok()) << src.status().ToString();
  return src.ok() ? ReadAll(src->get()) : "";
}

TEST(CsvEncoding, Utf16InEitherOrderFollowsTheByteOrderMark) {
  const std::string text = "id\tname\r\n1\tcaf\xC3\xA9 \xED\x95\x9C \xF0\x9F\x98\x80\r\n";
  const std::string le = Iconv(text, "UTF-8", "UTF-16LE");
  const std::string be = Iconv(text, "UTF-8", "UTF-16BE");
  for (size_t step : {size_t{1}, size_t{3}, size_t{1} << 20}) {
    std::string used;
    EXPECT_EQ(Decode("\xFF\xFE" + le, "utf-16", step, &used), text) << step;
    EXPECT_EQ(used, "utf-16le");
    EXPECT_EQ(Decode("\xFE\xFF" + be, "utf-16", step, &used), text) << step;
    EXPECT_EQ(used, "utf-16be");
    EXPECT_EQ(Decode(le, "utf-16", step), text) << "no mark: little-endian";
    EXPECT_EQ(Decode(be, "utf-16be", step), text);
    EXPECT_EQ(Decode(le, "UTF-16LE", step), text);
    // The mark wins over the label, whatever it says.
    EXPECT_EQ(Decode("\xFE\xFF" + be, "utf-16le", step), text);
    EXPECT_EQ(Decode("\xFF\xFE" + le, "utf-8", step, &used), text);
    EXPECT_EQ(used, "utf-16le");
  }
}

TEST(CsvEncoding, Utf16MarksLoneSurrogatesAndAnOddLastByte) {
  // a, a high surrogate then b, a low surrogate alone, c, and half a code unit.
  const std::string le = std::string(
                             "a\0\x3D\xD8"
                             "b\0\x00\xDC"
                             "c\0",
                             10) +
                         "\x41";
  for (size_t step : {size_t{1}, size_t{2}, size_t{3}, size_t{1} << 20}) {
    EXPECT_EQ(
        Decode(le, "utf-16le", step),
        "a" + Marked("\x3D\xD8") + "b" + Marked(std::string("\x00\xDC", 2)) + "c" + Marked("\x41"))
        << step;
  }
  // A high surrogate as the last code unit.
  EXPECT_EQ(Decode(std::string("a\0\x3D\xD8", 4), "utf-16le", 1), "a" + Marked("\x3D\xD8"));
  EXPECT_EQ(Decode("", "utf-16", 1), "");
  EXPECT_EQ(Decode("\xFF\xFE", "utf-16", 1), "");
}

TEST(CsvEncoding, Utf16MatchesIconvOnRandomText) {
  std::mt19937 rng(7);
  const uint32_t kRanges[][2] = {{0x20, 0x7E},     {0xA0, 0x7FF},       {0x800, 0xD7FF},
                                 {0xE000, 0xFFFD}, {0x10000, 0x10FFFF}, {'\n', '\n'}};
  for (int round = 0; round < 20; ++round) {
    std::string utf32;
    for (int i = 0; i < 2000; ++i) {
      const auto& r = kRanges[rng() % 6];
      uint32_t cp = r[0] + static_cast<uint32_t>(rng() % (r[1] - r[0] + 1));
      utf32.append(reinterpret_cast<const char*>(&cp), 4);
    }
    const std::string text = Iconv(utf32, "UTF-32LE", "UTF-8");
    for (const char* order : {"UTF-16LE", "UTF-16BE"}) {
      const std::string in = Iconv(text, "UTF-8", order);
      const char* label = std::strcmp(order, "UTF-16LE") == 0 ? "utf-16le" : "utf-16be";
      EXPECT_EQ(Decode(in, label, 1 + rng() % 9), text) << order << " round " << round;
      EXPECT_EQ(Decode(in, label, size_t{1} << 20), text) << order << " round " << round;
    }
  }
}

TEST(CsvEncoding, AUtf8ByteOrderMarkWinsOverALegacyLabel) {
  // A cp949 partner that starts sending UTF-8 (with Excel's mark) still loads as UTF-8; the
  // mark stays for the tokenizer to drop.
  const std::string text = "\xEF\xBB\xBFname\n\xED\x95\x9C\xEA\xB8\x80\n";
  std::string used;
  EXPECT_EQ(Decode(text, "cp949", 1, &used), text);
  EXPECT_EQ(used, "utf-8");
  EXPECT_EQ(Decode(text, "windows-1252", 1 << 20, &used), text);
  // Without a mark the label holds: the same bytes in cp949 are other characters.
  EXPECT_NE(Decode(text.substr(3), "cp949", 1, &used), text.substr(3));
  EXPECT_EQ(used, "cp949");
}

TEST(CsvEncoding, Windows1252HasTheCharactersLatin1LeavesAsControls) {
  // Excel's smart quotes and euro sign: U+2018/U+2019 and U+20AC in windows-1252, C1 controls
  // in latin-1.
  EXPECT_EQ(Decode("\x91x\x92 \x80\n", "windows-1252", 1),
            "\xE2\x80\x98x\xE2\x80\x99 \xE2\x82\xAC\n");
  EXPECT_EQ(Decode("\x80", "latin-1", 1), "\xC2\x80");
}

}  // namespace
}  // namespace sluice::csv
