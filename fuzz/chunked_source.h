// fuzz/chunked_source.h: a ByteSource over a fuzzer's input that hands over at most `chunk` bytes
// per Read, as store streams and decoders return short reads; the targets compare what a reader
// makes of one piece with what it makes of many.
#pragma once

#include <algorithm>
#include <cstring>
#include <string_view>

#include "core/status.h"
#include "csv/tokenizer.h"

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

}  // namespace sluice::fuzz
