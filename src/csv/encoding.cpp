#include "csv/encoding.h"

#include <errno.h>
#include <iconv.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "core/strings.h"

namespace sluice::csv {

Result<std::string> CanonicalEncoding(std::string_view name) {
  std::string n = ToLower(Trim(name));
  if (n == "utf-8" || n == "utf8") return std::string("utf-8");
  if (n == "cp949" || n == "uhc" || n == "ms949") return std::string("cp949");
  if (n == "euc-kr" || n == "euckr") return std::string("euc-kr");
  if (n == "latin-1" || n == "latin1" || n == "iso-8859-1") return std::string("latin-1");
  return Status::InvalidArgument("unsupported encoding \"" + std::string(name) +
                                 "\"; use utf-8, cp949, euc-kr or latin-1");
}

namespace {

class PassThrough : public ByteSource {
 public:
  explicit PassThrough(ByteSource* inner) : inner_(inner) {}
  Result<size_t> Read(char* buf, size_t n) override { return inner_->Read(buf, n); }

 private:
  ByteSource* inner_;
};

// How a legacy encoding's bytes >= 0x80 map to UTF-8, read off iconv once per process so the
// decoding agrees with glibc byte for byte, and then used without a call per character: iconv
// costs ~100 ns a call, which held text-heavy cp949 files to ~100 MB/s.
struct DecodeTable {
  struct Entry {
    uint8_t len = 0;  // UTF-8 bytes; 0: not a character
    // Without a character: input bytes the invalid sequence spans. glibc's CP949 knows some
    // two-byte codes it has no character for (0xA2 0xE8) and skips both; their trail byte
    // must not start a character, nor may the next ASCII byte be lost.
    uint8_t invalid_bytes = 1;
    char utf8[4] = {};
  };
  Entry single[128];        // a byte >= 0x80 that is a character by itself
  bool lead[128] = {};      // a byte >= 0x80 that starts a two-byte character
  std::vector<Entry> pair;  // [(lead - 0x80) * 256 + trail], empty without lead bytes
};

// Converts `bytes` as one whole input: the UTF-8 entry, or len 0 when iconv refuses it, does
// not consume all of it, or wants more (then *incomplete, when given, is set).
DecodeTable::Entry ConvertWhole(iconv_t cd, const unsigned char* bytes, size_t n,
                                bool* incomplete = nullptr) {
  DecodeTable::Entry e;
  char in_buf[2];
  std::memcpy(in_buf, bytes, n);
  char* in = in_buf;
  size_t in_left = n;
  char* out = e.utf8;
  size_t out_left = sizeof e.utf8;
  iconv(cd, nullptr, nullptr, nullptr, nullptr);  // initial state
  size_t r = iconv(cd, &in, &in_left, &out, &out_left);
  if (r == static_cast<size_t>(-1) || in_left != 0) {
    if (incomplete) *incomplete = r == static_cast<size_t>(-1) && errno == EINVAL;
    DecodeTable::Entry invalid;
    if (r == static_cast<size_t>(-1) && errno == EILSEQ && in_left == 0 && n == 2 &&
        out == e.utf8) {
      invalid.invalid_bytes = 2;
    }
    return invalid;
  }
  e.len = static_cast<uint8_t>(sizeof e.utf8 - out_left);
  return e;
}

// The table of `from` (an iconv name), built on first use. Lead bytes are those iconv calls
// incomplete on their own; each is tried with every trail byte.
Result<const DecodeTable*> GetDecodeTable(const char* from) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<DecodeTable>> tables;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = tables[from];
  if (slot) return slot.get();
  iconv_t cd = iconv_open("UTF-8", from);
  if (cd == reinterpret_cast<iconv_t>(-1)) {
    return Status::FromErrno(errno, std::string("iconv_open(UTF-8, ") + from + ")");
  }
  auto t = std::make_unique<DecodeTable>();
  for (int b1 = 0x80; b1 <= 0xFF; ++b1) {
    const unsigned char one[1] = {static_cast<unsigned char>(b1)};
    bool incomplete = false;
    t->single[b1 - 0x80] = ConvertWhole(cd, one, 1, &incomplete);
    if (!incomplete) continue;
    t->lead[b1 - 0x80] = true;
    if (t->pair.empty()) t->pair.resize(128 * 256);
    for (int b2 = 0; b2 <= 0xFF; ++b2) {
      const unsigned char two[2] = {static_cast<unsigned char>(b1), static_cast<unsigned char>(b2)};
      t->pair[(b1 - 0x80) * 256 + b2] = ConvertWhole(cd, two, 2);
    }
  }
  iconv_close(cd);
  slot = std::move(t);
  return slot.get();
}

class LegacySource : public ByteSource {
 public:
  LegacySource(ByteSource* inner, const DecodeTable* table)
      : inner_(inner), table_(table), in_(size_t{256} << 10) {}

  // Converts into a staging buffer and hands it out in pieces of any size.
  Result<size_t> Read(char* buf, size_t n) override {
    if (staged_pos_ == staged_.size()) {
      staged_.resize(size_t{256} << 10);
      SLUICE_ASSIGN_OR_RETURN(size_t got, Convert(staged_.data(), staged_.size()));
      staged_.resize(got);
      staged_pos_ = 0;
      if (got == 0) return size_t{0};
    }
    size_t k = std::min(n, staged_.size() - staged_pos_);
    std::memcpy(buf, staged_.data() + staged_pos_, k);
    staged_pos_ += k;
    return k;
  }

 private:
  Result<size_t> Convert(char* buf, size_t n) {
    char* out = buf;
    char* const out_end = buf + n - 8;  // room for 8 ASCII bytes or one character
    while (out <= out_end) {
      if (in_len_ == 0 || (need_more_ && !eof_)) {
        if (eof_) break;
        // Move the undecoded tail to the front and read more after it.
        std::memmove(in_.data(), in_.data() + in_pos_, in_len_);
        in_pos_ = 0;
        SLUICE_ASSIGN_OR_RETURN(size_t got,
                                inner_->Read(in_.data() + in_len_, in_.size() - in_len_));
        if (got == 0) eof_ = true;
        in_len_ += got;
        need_more_ = false;
        if (in_len_ == 0) break;
      }
      const auto* p = reinterpret_cast<const unsigned char*>(in_.data() + in_pos_);
      const unsigned char* const end = p + in_len_;
      while (p < end && out <= out_end) {
        // ASCII is the same bytes in every supported encoding and most of a CSV.
        if (end - p >= 8) {
          uint64_t word;
          std::memcpy(&word, p, 8);
          if ((word & 0x8080808080808080ULL) == 0) {
            std::memcpy(out, p, 8);
            out += 8;
            p += 8;
            continue;
          }
        }
        const unsigned b1 = *p;
        if (b1 < 0x80) {
          *out++ = static_cast<char>(b1);
          ++p;
          continue;
        }
        // A byte by itself, or a lead byte and its trail (which may look like ASCII: 똠 is
        // 0x8C 'c'). Anything else is marked, one byte at a time as iconv's EILSEQ was, or
        // the whole code when glibc skips it whole.
        const DecodeTable::Entry* e = &table_->single[b1 - 0x80];
        size_t skip = 1;
        if (e->len == 0 && table_->lead[b1 - 0x80]) {
          if (end - p < 2) {
            if (!eof_) {  // the trail byte is in the next read
              need_more_ = true;
              break;
            }
          } else {
            e = &table_->pair[(b1 - 0x80) * 256 + p[1]];
            skip = e->len > 0 ? 2 : e->invalid_bytes;
          }
        }
        if (e->len == 0) {
          *out++ = kInvalidByteMarker;
        } else {
          std::memcpy(out, e->utf8, 4);
          out += e->len;
        }
        p += skip;
      }
      const size_t used =
          static_cast<size_t>(p - reinterpret_cast<const unsigned char*>(in_.data() + in_pos_));
      in_pos_ += used;
      in_len_ -= used;
    }
    return static_cast<size_t>(out - buf);
  }

  ByteSource* inner_;
  const DecodeTable* table_;
  std::vector<char> staged_;
  size_t staged_pos_ = 0;
  std::vector<char> in_;
  size_t in_pos_ = 0;
  size_t in_len_ = 0;
  bool eof_ = false;
  bool need_more_ = false;
};

}  // namespace

Result<std::unique_ptr<ByteSource>> MakeUtf8Source(ByteSource* inner, std::string_view encoding) {
  SLUICE_ASSIGN_OR_RETURN(std::string canonical, CanonicalEncoding(encoding));
  if (canonical == "utf-8") return std::unique_ptr<ByteSource>(new PassThrough(inner));
  // euc-kr is decoded as CP949, its superset, as browsers do (the WHATWG Encoding Standard maps
  // the label euc-kr to windows-949): files labelled EUC-KR are in practice written by cp949
  // encoders and hold UHC Hangul such as 똠 (0x8C 0x63). glibc's strict EUC-KR would turn each
  // such lead byte into a C1 control (0x8C -> U+008C) and keep the trail byte, silently
  // corrupting the text. Bytes invalid in CP949 are still marked.
  const char* from = canonical == "cp949" || canonical == "euc-kr" ? "CP949" : "ISO-8859-1";
  SLUICE_ASSIGN_OR_RETURN(const DecodeTable* table, GetDecodeTable(from));
  return std::unique_ptr<ByteSource>(new LegacySource(inner, table));
}

}  // namespace sluice::csv
