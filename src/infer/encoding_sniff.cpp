#include "infer/encoding_sniff.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "core/strings.h"
#include "csv/encoding.h"

namespace sluice::infer {

namespace {

std::string Percent(double share) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.0f%%", share * 100);
  return buf;
}

// Korean: the share of double-byte pairs in KS X 1001's rows (lead and trail 0xA1..0xFE: the
// Hangul, Hanja and symbol rows EUC-KR has). cp949's extension (UHC, trail bytes below 0xA1)
// holds rare syllables, which is where Japanese or Chinese bytes read as cp949 land.
double ScoreCp949(std::string_view bytes, int64_t* pairs_out) {
  int64_t pairs = 0, plausible = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    if (b < 0x80) continue;
    if (i + 1 >= bytes.size()) break;
    const auto t = static_cast<unsigned char>(bytes[i + 1]);
    ++pairs;
    if (b >= 0xA1 && b <= 0xFE && t >= 0xA1 && t <= 0xFE) ++plausible;
    ++i;
  }
  *pairs_out = pairs;
  return pairs == 0 ? 0 : static_cast<double>(plausible) / static_cast<double>(pairs);
}

// Japanese: pairs whose lead byte is in JIS X 0208's symbol/kana rows (0x81..0x84) or kanji rows
// (0x88..0x9F, 0xE0..0xEA), against every pair and every half-width katakana byte (0xA1..0xDF
// alone), which is what Korean or Latin text read as Shift_JIS mostly becomes.
double ScoreShiftJis(std::string_view bytes) {
  int64_t units = 0, plausible = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    if (b < 0x80) continue;
    ++units;
    if (b >= 0xA1 && b <= 0xDF) continue;  // half-width katakana, one byte
    if (i + 1 >= bytes.size()) break;
    if ((b >= 0x81 && b <= 0x84) || (b >= 0x88 && b <= 0x9F) || (b >= 0xE0 && b <= 0xEA)) {
      ++plausible;
    }
    ++i;
  }
  return units == 0 ? 0 : static_cast<double>(plausible) / static_cast<double>(units);
}

// Next code point of valid-ish UTF-8 at *i (advances); U+FFFD for a byte that starts nothing.
uint32_t NextCodePoint(std::string_view s, size_t* i) {
  const auto b = static_cast<unsigned char>(s[*i]);
  int n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
  if (n == 0 || *i + static_cast<size_t>(n) > s.size()) {
    ++*i;
    return 0xFFFD;
  }
  uint32_t cp = n == 1 ? b : n == 2 ? (b & 0x1F) : n == 3 ? (b & 0x0F) : (b & 0x07);
  for (int k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[*i + k]) & 0x3F);
  *i += static_cast<size_t>(n);
  return cp;
}

bool IsLatinLetter(uint32_t cp) {
  if (cp >= 0xC0 && cp <= 0xFF) return cp != 0xD7 && cp != 0xF7;
  switch (cp) {
    case 0x152:
    case 0x153:
    case 0x160:
    case 0x161:
    case 0x178:
    case 0x17D:
    case 0x17E:
    case 0x192:
      return true;
    default:
      return false;
  }
}

bool IsCommonPunctuation(uint32_t cp) {
  switch (cp) {
    case 0x20AC:
    case 0x2018:
    case 0x2019:
    case 0x201C:
    case 0x201D:
    case 0x2013:
    case 0x2014:
    case 0x2026:
    case 0x2022:
    case 0xA0:
    case 0xA3:
    case 0xA7:
    case 0xAB:
    case 0xBB:
    case 0xB0:
    case 0xB2:
    case 0xB3:
    case 0xB5:
    case 0xBD:
    case 0xBC:
    case 0xBE:
    case 0xB7:
    case 0xA9:
    case 0xAE:
    case 0x2122:
      return true;
    default:
      return false;
  }
}

// Western European text read as windows-1252: accented letters stand alone or in pairs between
// ASCII letters ("Müller", "coração"); CJK bytes read as windows-1252 become long runs of
// letters and symbols ("ÇÑºû¸¶Æ®"). The share of non-ASCII characters that look like the former.
double ScoreWindows1252(std::string_view utf8) {
  std::vector<uint32_t> cps;
  cps.reserve(utf8.size());
  for (size_t i = 0; i < utf8.size();) cps.push_back(NextCodePoint(utf8, &i));
  int64_t non_ascii = 0, plausible = 0;
  for (size_t i = 0; i < cps.size();) {
    if (cps[i] < 0x80) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < cps.size() && cps[j] >= 0x80) ++j;
    const size_t run = j - i;
    for (size_t k = i; k < j; ++k) {
      ++non_ascii;
      if (IsCommonPunctuation(cps[k]) || (IsLatinLetter(cps[k]) && run <= 2)) ++plausible;
    }
    i = j;
  }
  return non_ascii == 0 ? 0 : static_cast<double>(plausible) / static_cast<double>(non_ascii);
}

}  // namespace

Result<std::string> DecodeToUtf8(std::string_view bytes, const std::string& encoding,
                                 int64_t* undecodable) {
  csv::StringSource raw(bytes);
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<csv::ByteSource> source,
                          csv::MakeUtf8Source(&raw, encoding));
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 4);
  std::vector<char> buf(1 << 16);
  while (true) {
    SLUICE_ASSIGN_OR_RETURN(size_t n, source->Read(buf.data(), buf.size()));
    if (n == 0) break;
    out.append(buf.data(), n);
  }
  if (undecodable != nullptr) {
    *undecodable = std::count(out.begin(), out.end(), csv::kInvalidByteMarker);
  }
  return out;
}

EncodingGuess GuessEncoding(std::string_view bytes) {
  auto starts = [&](std::string_view bom) { return bytes.substr(0, bom.size()) == bom; };
  if (starts("\xEF\xBB\xBF")) return {"utf-8", 1.0, "UTF-8 byte order mark"};
  if (starts("\xFF\xFE")) return {"utf-16", 1.0, "UTF-16 little-endian byte order mark"};
  if (starts("\xFE\xFF")) return {"utf-16", 1.0, "UTF-16 big-endian byte order mark"};
  // UTF-16 without a mark: text of mostly ASCII has a NUL in every other byte.
  const size_t probe = std::min<size_t>(bytes.size(), 1 << 16);
  size_t even_nul = 0, odd_nul = 0;
  for (size_t i = 0; i < probe; ++i) {
    if (bytes[i] == '\0') ++(i % 2 == 0 ? even_nul : odd_nul);
  }
  if (probe >= 4 && (even_nul + odd_nul) * 4 >= probe) {
    const bool be = even_nul > odd_nul;
    const double share = static_cast<double>(std::max(even_nul, odd_nul)) / (probe / 2.0);
    return {be ? "utf-16be" : "utf-16le", std::min(1.0, share),
            Percent(std::min(1.0, share)) + " of the " + (be ? "even" : "odd") +
                " bytes are NUL and there is no byte order mark: UTF-16 " +
                (be ? "big" : "little") + "-endian"};
  }
  if (IsValidUtf8(bytes)) {
    const bool ascii = std::all_of(bytes.begin(), bytes.end(),
                                   [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    if (ascii) return {"utf-8", 1.0, "plain ASCII (read as UTF-8)"};
    return {"utf-8", 1.0, "valid UTF-8 with non-ASCII text"};
  }
  struct Candidate {
    std::string name;
    double score = 0;
    int64_t undecodable = 0;
  };
  std::vector<Candidate> candidates;
  int64_t cp949_pairs = 0;
  for (const char* name : {"cp949", "shift_jis", "windows-1252"}) {
    Candidate c{name};
    Result<std::string> text = DecodeToUtf8(bytes, name, &c.undecodable);
    if (!text.ok()) continue;
    if (c.name == "cp949") {
      c.score = ScoreCp949(bytes, &cp949_pairs);
    } else if (c.name == "shift_jis") {
      c.score = ScoreShiftJis(bytes);
    } else {
      c.score = ScoreWindows1252(*text);
    }
    candidates.push_back(c);
  }
  if (candidates.empty()) return {"utf-8", 0.0, "not UTF-8, and no candidate encoding decodes it"};
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& a, const Candidate& b) {
                     if (a.undecodable != b.undecodable) return a.undecodable < b.undecodable;
                     return a.score > b.score;
                   });
  const Candidate& best = candidates.front();
  std::string reason = "not UTF-8; " + best.name + " decodes every byte";
  if (best.undecodable > 0) {
    reason = "not UTF-8; " + best.name + " leaves " + std::to_string(best.undecodable) +
             " undecodable bytes (the fewest)";
  }
  if (best.name == "cp949") {
    reason += " and " + Percent(best.score) + " of its " + std::to_string(cp949_pairs) +
              " double-byte characters are in KS X 1001 (Korean; EUC-KR files read the same)";
  } else if (best.name == "shift_jis") {
    reason += " and " + Percent(best.score) + " of its non-ASCII characters are kana or kanji";
  } else {
    reason += " and " + Percent(best.score) +
              " of its non-ASCII characters are accented letters inside words or common "
              "punctuation";
  }
  if (candidates.size() > 1) {
    const Candidate& next = candidates[1];
    reason +=
        "; next best " + next.name + " (" + Percent(next.score) +
        (next.undecodable > 0 ? ", " + std::to_string(next.undecodable) + " undecodable" : "") +
        ")";
  }
  double confidence = best.score;
  if (best.undecodable > 0) confidence *= 0.5;
  return {best.name, confidence, reason};
}

}  // namespace sluice::infer
