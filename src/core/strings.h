// core/strings.h: small string utilities shared by every module.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sluice {

std::string_view Trim(std::string_view s);
std::vector<std::string> Split(std::string_view s, char sep);
std::string Join(std::span<const std::string> parts, std::string_view sep);
std::string ToLower(std::string_view s);

// A header or column name folded for matching: lower case (Latin, Greek, Cyrillic letters, not
// just ASCII), spaces of every kind (tab, no-break space, ...) removed. Config checks and the
// header mapping use the same folding, so what validate calls distinct the merge does too.
std::string FoldName(std::string_view name);
// FoldName without '_', '-', '.', '/' and accents as well ("Quantite" = "Quantité", composed or
// not): the last, loosest header match.
std::string LooseName(std::string_view name);
bool StartsWith(std::string_view s, std::string_view prefix);
bool EndsWith(std::string_view s, std::string_view suffix);

// Levenshtein distance between two strings (bytes).
size_t EditDistance(std::string_view a, std::string_view b);
// The candidate closest to `word` if it is close enough to be a plausible typo, else nullopt.
std::optional<std::string> NearestMatch(std::string_view word,
                                        std::span<const std::string> candidates);
// " (did you mean \"x\"?)" or "" when nothing is close.
std::string DidYouMean(std::string_view word, std::span<const std::string> candidates);

// Replaces ${NAME} with the environment variable NAME. NotFound names a variable that is unset.
Result<std::string> ExpandEnv(std::string_view text);

// Parses "123", "20GiB", "1.5MB", "512k" (binary multiples for KiB/MiB/GiB/TiB and K/M/G/T,
// decimal for KB/MB/GB/TB). InvalidArgument on anything else or overflow.
Result<int64_t> ParseByteSize(std::string_view text);
// "1.4 GiB"-style rendering for humans.
std::string FormatBytes(int64_t bytes);

// Partner ids match [a-z0-9][a-z0-9_-]{0,62}.
bool IsValidPartnerId(std::string_view id);

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates).
bool IsValidUtf8(std::string_view s);
// True when valid UTF-8 `utf8` holds a C1 control character (U+0080..U+009F), which prints as
// nothing or moves the cursor like C0 ones.
bool HasC1Control(std::string_view utf8);

// A name the glob `pattern` (fnmatch's * ? [set]) matches: each * filled with `star`, each ?
// with `one`, a [set] with its first member, an unclosed [ as itself. nullopt for a negated set
// ([!...] or [^...]), whose members the pattern does not list.
std::optional<std::string> NameMatchingGlob(std::string_view pattern, std::string_view star,
                                            char one);

// Renders `s` for an error message: printable ASCII and (when `s` is UTF-8) letters of any
// script kept; control characters, and every non-ASCII byte of text that is not UTF-8, as \xNN;
// about `max_len` bytes, then "...". Idempotent.
std::string Printable(std::string_view s, size_t max_len = 120);

}  // namespace sluice
