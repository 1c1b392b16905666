#include "csv/encoding.h"

#include <errno.h>
#include <iconv.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "config/encodings.h"
#include "core/strings.h"

namespace sluice::csv {

Result<std::string> CanonicalEncoding(std::string_view name) {
  auto found = config::FindEncoding(name);
  if (!found) {
    return Status::InvalidArgument("unsupported encoding \"" + std::string(name) +
                                   "\"; supported: " + config::SupportedEncodingsText());
  }
  return found->name;
}

namespace {

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

// Streams `inner` through a decoder into UTF-8: input is read in 256 KiB pieces and the output
// staged and handed out in pieces of any size.
class DecodingSource : public ByteSource {
 public:
  explicit DecodingSource(ByteSource* inner) : inner_(inner), in_(size_t{256} << 10) {}

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

 protected:
  // Decodes from *p towards `end` while *out <= out_end (each step may write up to 8 bytes past
  // out_end), advancing both. Returns true when it stopped at an incomplete character whose
  // rest may come in the next read (never when `eof`: then the tail is marked invalid).
  virtual bool Decode(const unsigned char** p, const unsigned char* end, char** out, char* out_end,
                      bool eof) = 0;

 private:
  Result<size_t> Convert(char* buf, size_t n) {
    char* out = buf;
    char* const out_end = buf + n - 8;
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
      const auto* start = reinterpret_cast<const unsigned char*>(in_.data() + in_pos_);
      const unsigned char* p = start;
      need_more_ = Decode(&p, start + in_len_, &out, out_end, eof_);
      const size_t used = static_cast<size_t>(p - start);
      in_pos_ += used;
      in_len_ -= used;
    }
    return static_cast<size_t>(out - buf);
  }

  ByteSource* inner_;
  std::vector<char> staged_;
  size_t staged_pos_ = 0;
  std::vector<char> in_;
  size_t in_pos_ = 0;
  size_t in_len_ = 0;
  bool eof_ = false;
  bool need_more_ = false;
};

// A single- or double-byte encoding whose ASCII bytes are ASCII, through its DecodeTable.
class LegacySource : public DecodingSource {
 public:
  LegacySource(ByteSource* inner, const DecodeTable* table)
      : DecodingSource(inner), table_(table) {}

 private:
  bool Decode(const unsigned char** pp, const unsigned char* end, char** outp, char* out_end,
              bool eof) override {
    const unsigned char* p = *pp;
    char* out = *outp;
    bool need_more = false;
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
          if (!eof) {  // the trail byte is in the next read
            need_more = true;
            break;
          }
        } else {
          e = &table_->pair[(b1 - 0x80) * 256 + p[1]];
          skip = e->len > 0 ? 2 : e->invalid_bytes;
        }
      }
      if (e->len == 0) {
        out = MarkUndecodable(p, std::min<size_t>(skip, static_cast<size_t>(end - p)), out);
      } else {
        std::memcpy(out, e->utf8, 4);
        out += e->len;
      }
      p += skip;
    }
    *pp = p;
    *outp = out;
    return need_more;
  }

  const DecodeTable* table_;
};

// UTF-16 in either byte order. A lone surrogate, or an odd byte at the end, is marked invalid.
class Utf16Source : public DecodingSource {
 public:
  Utf16Source(ByteSource* inner, bool big_endian)
      : DecodingSource(inner), big_endian_(big_endian) {}

 private:
  uint32_t Unit(const unsigned char* p) const {
    return big_endian_ ? (uint32_t{p[0]} << 8) | p[1] : (uint32_t{p[1]} << 8) | p[0];
  }

  bool Decode(const unsigned char** pp, const unsigned char* end, char** outp, char* out_end,
              bool eof) override {
    const unsigned char* p = *pp;
    char* out = *outp;
    bool need_more = false;
    // Four ASCII code units at a time: every high byte zero, every low byte below 0x80.
    const uint64_t ascii_mask = big_endian_ ? 0x80FF80FF80FF80FFULL : 0xFF80FF80FF80FF80ULL;
    while (p < end && out <= out_end) {
      if (end - p >= 8) {
        uint64_t word;
        std::memcpy(&word, p, 8);
        if ((word & ascii_mask) == 0) {
          const int lo = big_endian_ ? 1 : 0;
          out[0] = static_cast<char>(p[lo]);
          out[1] = static_cast<char>(p[lo + 2]);
          out[2] = static_cast<char>(p[lo + 4]);
          out[3] = static_cast<char>(p[lo + 6]);
          out += 4;
          p += 8;
          continue;
        }
      }
      if (end - p < 2) {
        if (!eof) {
          need_more = true;
          break;
        }
        out = MarkUndecodable(p, 1, out);  // an odd byte at the end
        ++p;
        continue;
      }
      uint32_t cp = Unit(p);
      size_t units = 1;
      if (cp >= 0xD800 && cp <= 0xDBFF) {  // a high surrogate: its low one must follow
        if (end - p < 4 && !eof) {
          need_more = true;
          break;
        }
        const uint32_t low = end - p >= 4 ? Unit(p + 2) : 0;
        if (low >= 0xDC00 && low <= 0xDFFF) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          units = 2;
        } else {
          cp = 0xFFFFFFFF;
        }
      } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        cp = 0xFFFFFFFF;  // a low surrogate without its high one
      }
      if (cp == 0xFFFFFFFF) {
        out = MarkUndecodable(p, 2, out);
      } else if (cp < 0x80) {
        *out++ = static_cast<char>(cp);
      } else if (cp < 0x800) {
        *out++ = static_cast<char>(0xC0 | (cp >> 6));
        *out++ = static_cast<char>(0x80 | (cp & 0x3F));
      } else if (cp < 0x10000) {
        *out++ = static_cast<char>(0xE0 | (cp >> 12));
        *out++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        *out++ = static_cast<char>(0x80 | (cp & 0x3F));
      } else {
        *out++ = static_cast<char>(0xF0 | (cp >> 18));
        *out++ = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        *out++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        *out++ = static_cast<char>(0x80 | (cp & 0x3F));
      }
      p += 2 * units;
    }
    *pp = p;
    *outp = out;
    return need_more;
  }

  bool big_endian_;
};

// The first bytes of `inner`, read ahead to look for a byte order mark, then the rest. Owns
// the decoder stacked on it through MakeUtf8Source's result.
class PrefixSource : public ByteSource {
 public:
  explicit PrefixSource(ByteSource* inner) : inner_(inner) {}

  // Reads until `n` bytes are buffered or the input ends.
  Status Fill(size_t n) {
    while (prefix_.size() < n) {
      char buf[8];
      SLUICE_ASSIGN_OR_RETURN(size_t got,
                              inner_->Read(buf, std::min(sizeof buf, n - prefix_.size())));
      if (got == 0) break;
      prefix_.append(buf, got);
    }
    return Status::Ok();
  }
  std::string_view prefix() const { return std::string_view(prefix_).substr(pos_); }
  void Skip(size_t n) { pos_ += n; }

  Result<size_t> Read(char* buf, size_t n) override {
    if (pos_ < prefix_.size()) {
      const size_t k = std::min(n, prefix_.size() - pos_);
      std::memcpy(buf, prefix_.data() + pos_, k);
      pos_ += k;
      return k;
    }
    return inner_->Read(buf, n);
  }

 private:
  ByteSource* inner_;
  std::string prefix_;
  size_t pos_ = 0;
};

// The decoder and the prefix reader it reads from, as one source.
class SniffedSource : public ByteSource {
 public:
  SniffedSource(std::unique_ptr<PrefixSource> prefix, std::unique_ptr<ByteSource> decoder)
      : prefix_(std::move(prefix)), decoder_(std::move(decoder)) {}
  Result<size_t> Read(char* buf, size_t n) override {
    return decoder_ ? decoder_->Read(buf, n) : prefix_->Read(buf, n);
  }

 private:
  std::unique_ptr<PrefixSource> prefix_;
  std::unique_ptr<ByteSource> decoder_;  // null: UTF-8, passed through
};

}  // namespace

Result<std::unique_ptr<ByteSource>> MakeUtf8Source(ByteSource* inner, std::string_view encoding,
                                                   std::string* decoded_as) {
  auto found = config::FindEncoding(encoding);
  if (!found) return CanonicalEncoding(encoding).status();
  std::string name = found->name;
  const char* iconv_name = found->iconv;
  // A byte order mark names the file's encoding whatever the label says, as in browsers (the
  // WHATWG Encoding Standard's decode): a partner that switched to UTF-8 or to Excel's
  // "Unicode text" (UTF-16LE) still loads. No file in the supported legacy encodings starts
  // with these bytes as text.
  auto prefix = std::make_unique<PrefixSource>(inner);
  SLUICE_RETURN_IF_ERROR(prefix->Fill(3));
  const std::string_view head = prefix->prefix();
  if (head.substr(0, 3) == "\xEF\xBB\xBF") {
    name = "utf-8";  // the tokenizer drops the mark
  } else if (head.substr(0, 2) == "\xFF\xFE") {
    name = "utf-16le";
    prefix->Skip(2);
  } else if (head.substr(0, 2) == "\xFE\xFF") {
    name = "utf-16be";
    prefix->Skip(2);
  } else if (name == "utf-16") {
    name = "utf-16le";  // no mark: Windows' order
  }
  if (decoded_as) *decoded_as = name;
  std::unique_ptr<ByteSource> decoder;
  if (name == "utf-16le" || name == "utf-16be") {
    decoder = std::make_unique<Utf16Source>(prefix.get(), name == "utf-16be");
  } else if (name != "utf-8") {
    SLUICE_ASSIGN_OR_RETURN(const DecodeTable* table, GetDecodeTable(iconv_name));
    decoder = std::make_unique<LegacySource>(prefix.get(), table);
  }
  return std::unique_ptr<ByteSource>(new SniffedSource(std::move(prefix), std::move(decoder)));
}

std::string ShowUndecodable(std::string_view decoded) {
  std::string out;
  size_t plain = 0;  // start of the text not yet shown
  auto nibble = [&](size_t k) {
    return k < decoded.size() && (static_cast<unsigned char>(decoded[k]) & 0xF0) == 0x80;
  };
  for (size_t i = 0; i < decoded.size(); ++i) {
    if (decoded[i] != kInvalidByteMarker || !nibble(i + 1) || !nibble(i + 2)) continue;
    out += Printable(decoded.substr(plain, i - plain), 4 * (i - plain) + 4);
    static const char kHex[] = "0123456789ABCDEF";
    out += "\\x";
    out.push_back(kHex[decoded[i + 1] & 0x0F]);
    out.push_back(kHex[decoded[i + 2] & 0x0F]);
    i += 2;
    plain = i + 1;
  }
  out += Printable(decoded.substr(plain), 4 * (decoded.size() - plain) + 4);
  return out;
}

}  // namespace sluice::csv
