#include "attribution/span_matcher.h"

#include <algorithm>

namespace omlkit::attribution {

std::vector<Span> find_spans(const std::vector<std::unique_ptr<SuffixIndex>>& shards,
                             std::span<const uint32_t> output, const MatchOptions& options) {
  std::vector<Span> spans;
  size_t min_span = std::max<size_t>(options.min_span, 1);
  // longest[l]: the longest prefix of output[l:] found in any shard.
  size_t positions = output.size() >= min_span ? output.size() - min_span + 1 : 0;
  std::vector<size_t> longest(positions, 0);
  for (const auto& shard : shards) shard->longest_prefixes(output, positions, longest.data());
  size_t kept_end = 0;  // end of the last kept span
  for (size_t l = 0; l < positions && kept_end < output.size(); ++l) {
    if (longest[l] < min_span || l + longest[l] <= kept_end) continue;
    kept_end = l + longest[l];
    Span& span = spans.emplace_back();
    span.begin = uint32_t(l);
    span.end = uint32_t(kept_end);
  }

  // ranges[s * spans + i]: span i's suffix-array ranks in shard s.
  std::vector<std::span<const uint32_t>> texts;
  for (const Span& span : spans) texts.push_back(output.subspan(span.begin, span.end - span.begin));
  std::vector<SuffixIndex::Range> ranges(shards.size() * spans.size());
  for (size_t s = 0; s < shards.size(); ++s) shards[s]->find_all(texts, ranges.data() + s * spans.size());
  for (size_t i = 0; i < spans.size(); ++i) {
    Span& span = spans[i];
    for (size_t s = 0; s < shards.size(); ++s) span.count += ranges[s * spans.size() + i].size();
    span.common = span.count > options.max_count;
    size_t listed = span.common ? std::min<uint64_t>(options.sample_common, span.count) : span.count;
    span.occurrences.reserve(listed);
    for (uint32_t s = 0; s < shards.size() && span.occurrences.size() < listed; ++s) {
      const SuffixIndex& shard = *shards[s];
      const SuffixIndex::Range& range = ranges[s * spans.size() + i];
      for (uint32_t rank = range.begin; rank < range.end && span.occurrences.size() < listed; ++rank) {
        uint32_t record = shard.record_at(shard.position(rank));
        span.occurrences.push_back({s, record, shard.record_id(record), shard.contributor(record)});
      }
    }
  }
  return spans;
}

}  // namespace omlkit::attribution
