// Turns matched spans into integer data-contributor weights, exactly and deterministically.
//
// Rule (token coverage, split by occurrence):
//   - every output token covered by k credited spans (not common) gives each of them
//     credit_per_token / k, the remainder one unit each to the earliest spans;
//   - a span's value goes to the contributors of its occurrences in proportion to how many
//     of its occurrences each holds (a phrase in many records is worth less to each, two
//     records by one contributor count twice), by largest remainder with ties to the
//     contributor whose id sorts first (money::largest_remainder_split).
// So the weights sum to exactly credit_per_token * covered tokens, overlapping spans are
// not paid twice, and the same spans give the same weights on every machine.
#pragma once

#include <string>
#include <vector>

#include "attribution/span_matcher.h"
#include "money/amount.h"

namespace omlkit::attribution {

inline constexpr money::u128 credit_per_token = 1'000'000;

struct ContributorWeight {
  std::string contributor;
  money::u128 weight;  // > 0
};

// Weights of the contributors with a positive share, sorted by contributor id.
std::vector<ContributorWeight> credit_contributors(const std::vector<Span>& spans);

// Output tokens covered by at least one credited (non-common) span.
size_t covered_tokens(const std::vector<Span>& spans);

}  // namespace omlkit::attribution
