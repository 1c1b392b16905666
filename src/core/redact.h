// core/redact.h: helpers for filters that mask secrets in a stream (the attempt log filter,
// workflow/attempt_protocol.cpp) over the secrets registered with core/logging.h.
// Thread-safety: safe from any thread, as logging.h.
#pragma once

#include <cstddef>
#include <string_view>

namespace sluice::log {

// The length of the longest end of `text` that is the start of a registered secret (0 when
// none): output that stops there must hold those bytes back until it goes on.
size_t PartialSecretAtEnd(std::string_view text);

}  // namespace sluice::log
