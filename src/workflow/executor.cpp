// executor.cpp: what every executor shares (see executor.h).
#include "workflow/executor.h"

namespace sluice::workflow {

std::string_view VanishReasonName(VanishReason reason) {
  switch (reason) {
    case VanishReason::kNone:
      return "";
    case VanishReason::kNodeLost:
      return "node lost";
    case VanishReason::kPreempted:
      return "preempted";
    case VanishReason::kOutOfMemory:
      return "out of memory";
    case VanishReason::kUnknown:
      return "unknown";
  }
  return "unknown";
}

}  // namespace sluice::workflow
