// csv/conform_internal.h: small helpers the conform_*.cpp files share. Not part of the csv
// module's interface.
#pragma once

#include <string_view>

namespace sluice::csv::internal {

inline std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace sluice::csv::internal
