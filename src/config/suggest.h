// "Did you mean" for misspelt config keys: the closest candidate by edit
// distance, offered only when it is close enough to be a plausible typo.
//
// Thread safety: pure functions.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace ringflow {

// Optimal string alignment distance (Levenshtein plus adjacent transposition,
// so "tpo" -> "top" costs 1, as a typist would expect).
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word`, or "" when none is within a distance of
// about a third of the word's length (at least 1, at most 3): beyond that a
// suggestion is more confusing than helpful. Ties go to the earlier candidate.
std::string closest_match(std::string_view word, std::span<const std::string> candidates);

}  // namespace ringflow
