// fuzz/fuzz_input.h: reads choices out of a fuzzer's input bytes (a small FuzzedDataProvider
// that also builds with GCC, for the corpus replay in the test build).
//
// Choices come off the front of the input; Rest() is what remains, usually the document under
// test. Running out of bytes yields zeros, so every input is valid and short inputs pick the
// first option of everything. Thread-safety: one per input.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace sluice::fuzz {

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : data_(reinterpret_cast<const char*>(data), size) {}

  // The next byte, or 0 at the end.
  uint8_t Byte() {
    if (pos_ >= data_.size()) return 0;
    return static_cast<uint8_t>(data_[pos_++]);
  }
  // A number in [0, n) (n >= 1).
  size_t Pick(size_t n) { return n <= 1 ? 0 : Byte() % n; }
  bool Bool() { return (Byte() & 1) != 0; }
  // A string of up to `max` bytes: a length byte, then the bytes.
  std::string String(size_t max) {
    size_t n = Byte() % (max + 1);
    n = std::min(n, data_.size() - pos_);
    std::string s(data_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  // Everything not consumed yet.
  std::string_view Rest() {
    std::string_view r = data_.substr(pos_);
    pos_ = data_.size();
    return r;
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

// A broken invariant: prints why and aborts, so libFuzzer saves the input as a crash.
[[noreturn]] inline void Fail(const char* file, int line, const std::string& why) {
  std::fprintf(stderr, "%s:%d: fuzz invariant broken: %s\n", file, line, why.c_str());
  std::abort();
}

}  // namespace sluice::fuzz

#define FUZZ_CHECK(cond, why)                                                               \
  do {                                                                                      \
    if (!(cond)) ::sluice::fuzz::Fail(__FILE__, __LINE__, std::string(#cond ": ") + (why)); \
  } while (0)
