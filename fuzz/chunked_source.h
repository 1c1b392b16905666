// fuzz/chunked_source.h: a ByteSource over a fuzzer's input that hands over at most `chunk` bytes
// per Read, as store streams and decoders return short reads; ExpectSameOutcome compares what a
// reader made of one piece with what it made of many.
#pragma once

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>

#include "core/status.h"
#include "csv/tokenizer.h"
#include "fuzz_input.h"

namespace sluice::fuzz {

class ChunkedSource : public csv::ByteSource {
 public:
  ChunkedSource(std::string_view data, size_t chunk) : data_(data), chunk_(chunk) {}
  Result<size_t> Read(char* buf, size_t n) override {
    size_t k = std::min({n, chunk_, data_.size() - pos_});
    std::memcpy(buf, data_.data() + pos_, k);
    pos_ += k;
    return k;
  }

 private:
  std::string_view data_;
  size_t chunk_;
  size_t pos_ = 0;
};

// Aborts (a crash for libFuzzer) unless `whole` and `pieces` hold the same records, in order, and
// the same final status. Outcome: `records` (comparable with ==, each with a `line`) and
// `status` (a string).
template <typename Outcome>
void ExpectSameOutcome(const Outcome& whole, const Outcome& pieces) {
  FUZZ_CHECK(whole.records.size() == pieces.records.size(),
             "record count depends on read size: " + std::to_string(whole.records.size()) + " vs " +
                 std::to_string(pieces.records.size()));
  for (size_t i = 0; i < whole.records.size(); ++i) {
    FUZZ_CHECK(whole.records[i] == pieces.records[i],
               "record " + std::to_string(i) + " depends on read size (line " +
                   std::to_string(whole.records[i].line) + ")");
  }
  FUZZ_CHECK(whole.status == pieces.status,
             "status depends on read size: [" + whole.status + "] vs [" + pieces.status + "]");
}

}  // namespace sluice::fuzz
