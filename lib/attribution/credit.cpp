#include "attribution/credit.h"

#include <algorithm>
#include <map>
#include <string_view>

#include "io/error.h"

namespace omlkit::attribution {

namespace {

std::vector<const Span*> credited(const std::vector<Span>& spans) {
  std::vector<const Span*> out;
  for (const Span& s : spans)
    if (!s.common && !s.occurrences.empty()) out.push_back(&s);
  return out;
}

}  // namespace

size_t covered_tokens(const std::vector<Span>& spans) {
  size_t covered = 0, end = 0;
  for (const Span* s : credited(spans)) {  // begins and ends both increase
    covered += s->end - std::max<size_t>(s->begin, end);
    end = s->end;
  }
  return covered;
}

std::vector<ContributorWeight> credit_contributors(const std::vector<Span>& spans) {
  std::vector<const Span*> paid = credited(spans);
  std::vector<money::u128> value(paid.size(), 0);
  // The spans covering token t are paid[first, last): both ends only move forward.
  size_t first = 0, last = 0;
  size_t begin = paid.empty() ? 0 : paid.front()->begin, end = paid.empty() ? 0 : paid.back()->end;
  for (size_t t = begin; t < end; ++t) {
    while (last < paid.size() && paid[last]->begin <= t) ++last;
    while (first < last && paid[first]->end <= t) ++first;
    size_t k = last - first;
    if (k == 0) continue;
    money::u128 share = credit_per_token / k, extra = credit_per_token % k;
    for (size_t i = first; i < last; ++i) value[i] += share + (i - first < extra ? 1 : 0);
  }

  std::map<std::string, money::u128, std::less<>> totals;
  auto add = [&](std::string_view contributor, money::u128 share) {
    if (share == 0) return;
    auto it = totals.find(contributor);
    if (it == totals.end()) it = totals.emplace(std::string(contributor), 0).first;
    it->second += share;
  };
  std::vector<std::string_view> who;
  std::vector<money::u128> weights;
  for (size_t i = 0; i < paid.size(); ++i) {
    // Occurrences per contributor, in contributor order: (who[j], weights[j]).
    who.clear(), weights.clear();
    for (const Occurrence& o : paid[i]->occurrences) who.push_back(o.contributor);
    std::sort(who.begin(), who.end());
    size_t distinct = 0;
    for (size_t j = 0; j < who.size(); ++j) {
      if (j > 0 && who[j] == who[distinct - 1]) {
        ++weights.back();
        continue;
      }
      who[distinct++] = who[j];
      weights.push_back(1);
    }
    who.resize(distinct);
    if (distinct == 1) {
      add(who[0], value[i]);
      continue;
    }
    auto shares = money::largest_remainder_split(value[i], weights);
    if (!shares) throw Error(exit_code::internal, "", "credit split failed");
    for (size_t j = 0; j < distinct; ++j) add(who[j], (*shares)[j]);
  }
  std::vector<ContributorWeight> out;
  for (auto& [contributor, weight] : totals) out.push_back({contributor, weight});
  return out;
}

}  // namespace omlkit::attribution
