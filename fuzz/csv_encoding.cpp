// fuzz/csv_encoding.cpp: the decoders of csv/encoding.h (UTF-16 by hand, the legacy code pages
// through their tables), with every encoding label config/encodings.h accepts.
//
// Input: [label byte][inner chunk byte][outer read byte] then the file's bytes.
// Checked, besides "no crash, no sanitizer report":
//   - the output does not depend on how the bytes arrive (one read vs a few bytes per read) nor
//     on how much the caller asks for per Read;
//   - UTF-8 (by label or byte order mark) passes through unchanged;
//   - anything decoded is valid UTF-8 once the undecodable-byte markers are taken out, and
//     ShowUndecodable() of it (what the rejects file holds) is valid UTF-8.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "chunked_source.h"
#include "config/encodings.h"
#include "core/strings.h"
#include "csv/encoding.h"
#include "fuzz_input.h"

namespace {

using sluice::Result;

using sluice::fuzz::ChunkedSource;

std::string Decode(std::string_view bytes, const std::string& label, size_t chunk, size_t read,
                   std::string* decoded_as) {
  ChunkedSource inner(bytes, chunk);
  auto source = sluice::csv::MakeUtf8Source(&inner, label, decoded_as);
  FUZZ_CHECK(source.ok(), "every listed label opens: " + source.status().ToString());
  std::string out;
  std::string buf(read, '\0');
  for (int guard = 0;; ++guard) {
    auto n = (*source)->Read(buf.data(), buf.size());
    FUZZ_CHECK(n.ok(), "a string source never fails: " + n.status().ToString());
    if (*n == 0) break;
    FUZZ_CHECK(*n <= buf.size(), "Read stays within the buffer");
    out.append(buf.data(), *n);
    FUZZ_CHECK(out.size() <= 4 * bytes.size() + 16, "output grows at most 3 bytes per input byte");
  }
  return out;
}

// `decoded` with each marker triplet (kInvalidByteMarker, 0x8H, 0x8L) taken out.
std::string WithoutMarkers(std::string_view decoded) {
  std::string out;
  for (size_t i = 0; i < decoded.size(); ++i) {
    if (decoded[i] == sluice::csv::kInvalidByteMarker && i + 2 < decoded.size() &&
        (static_cast<unsigned char>(decoded[i + 1]) & 0xF0) == 0x80 &&
        (static_cast<unsigned char>(decoded[i + 2]) & 0xF0) == 0x80) {
      i += 2;
      continue;
    }
    out.push_back(decoded[i]);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sluice::fuzz::FuzzInput in(data, size);
  const auto& labels = sluice::config::EncodingLabels();
  const std::string label = labels[in.Pick(labels.size())];
  const size_t chunk = 1 + in.Pick(9);
  const size_t read = 1 + in.Pick(33);
  std::string_view bytes = in.Rest();

  std::string as_whole, as_pieces;
  const std::string whole = Decode(bytes, label, bytes.size() + 1, 1 << 16, &as_whole);
  const std::string pieces = Decode(bytes, label, chunk, read, &as_pieces);
  FUZZ_CHECK(as_whole == as_pieces, "the byte order mark is found however the bytes arrive");
  FUZZ_CHECK(whole == pieces, label + ": output depends on read sizes (" + std::to_string(chunk) +
                                  ", " + std::to_string(read) + ")");
  if (as_whole == "utf-8") {
    FUZZ_CHECK(whole == bytes, "UTF-8 passes through unchanged");
    return 0;
  }
  FUZZ_CHECK(sluice::IsValidUtf8(WithoutMarkers(whole)),
             label + " decoded as " + as_whole + " gives invalid UTF-8 besides the markers");
  FUZZ_CHECK(sluice::IsValidUtf8(sluice::csv::ShowUndecodable(whole)),
             "ShowUndecodable gives valid UTF-8");
  return 0;
}
