// Span matching over several shards against brute force, and the credit rule's exact
// integer arithmetic on hand-computed cases.
#include <gtest/gtest.h>

#include <map>

#include "attribution/credit.h"
#include "attribution/span_matcher.h"
#include "attribution_test_support.h"

namespace omlkit::attribution {
namespace {

using testing::brute_longest_prefix;
using testing::brute_occurrences;
using testing::random_records;
using testing::stream_of;
using testing::write_shard;

struct ExpectedSpan {
  uint32_t begin, end;
  uint64_t count;
  std::map<std::pair<uint32_t, uint32_t>, int> records;  // (shard, record) -> occurrences
};

uint32_t brute_record(const std::vector<std::vector<int32_t>>& records, uint32_t position) {
  uint32_t start = 0;
  for (uint32_t r = 0;; ++r) {
    start += uint32_t(records[r].size()) + 1;
    if (position < start) return r;
  }
}

// The definition, computed the slow way: m_l is the longest prefix of output[l:] found in
// any shard; [l, l + m_l) is maximal when the match at l - 1 does not already reach its end.
std::vector<ExpectedSpan> brute_spans(const std::vector<std::vector<std::vector<int32_t>>>& shards,
                                      const std::vector<uint32_t>& output, size_t min_span) {
  std::vector<std::vector<int64_t>> streams;
  for (const auto& s : shards) streams.push_back(stream_of(s));
  std::vector<size_t> m(output.size());
  for (size_t l = 0; l < output.size(); ++l)
    for (const auto& stream : streams)
      m[l] = std::max(m[l], brute_longest_prefix(stream, std::span(output).subspan(l)));
  std::vector<ExpectedSpan> out;
  for (size_t l = 0; l < output.size(); ++l) {
    if (m[l] < min_span || (l > 0 && l + m[l] <= l - 1 + m[l - 1])) continue;
    ExpectedSpan e{uint32_t(l), uint32_t(l + m[l]), 0, {}};
    for (uint32_t s = 0; s < streams.size(); ++s)
      for (uint32_t p : brute_occurrences(streams[s], std::span(output).subspan(l, m[l]))) {
        ++e.count;
        ++e.records[{s, brute_record(shards[s], p)}];
      }
    out.push_back(e);
  }
  return out;
}

TEST(SpanMatcher, maximal_spans_over_shards_equal_brute_force) {
  test::TempDir dir;
  std::mt19937 rng(3);
  int spans_checked = 0;
  for (int round = 0; round < 12; ++round) {
    int32_t alphabet = round % 3 == 0 ? 2 : 4;
    std::vector<std::vector<std::vector<int32_t>>> shard_records;
    std::vector<std::unique_ptr<SuffixIndex>> shards;
    for (int s = 0; s < 1 + round % 3; ++s) {
      shard_records.push_back(random_records(rng, 30, 30, alphabet));
      shards.push_back(write_shard(dir.file("s" + std::to_string(s) + ".idx"), shard_records.back(), 8, 3, s * 100));
    }
    // Outputs: pieces copied from records, glued with random tokens.
    std::vector<uint32_t> output;
    std::uniform_int_distribution<int> pick(0, 29), glue(0, 3);
    while (output.size() < 120) {
      const auto& r = shard_records[0][size_t(pick(rng))];
      output.insert(output.end(), r.begin(), r.end());
      for (int g = glue(rng); g > 0; --g) output.push_back(uint32_t(pick(rng) % alphabet));
    }
    for (size_t min_span : {1, 3, 6}) {
      MatchOptions options;
      options.min_span = min_span;
      options.max_count = 1 << 30;
      auto spans = find_spans(shards, output, options);
      auto expected = brute_spans(shard_records, output, min_span);
      ASSERT_EQ(spans.size(), expected.size()) << "round " << round << " min_span " << min_span;
      for (size_t i = 0; i < spans.size(); ++i) {
        EXPECT_EQ(spans[i].begin, expected[i].begin);
        EXPECT_EQ(spans[i].end, expected[i].end);
        EXPECT_EQ(spans[i].count, expected[i].count);
        std::map<std::pair<uint32_t, uint32_t>, int> records;
        for (const Occurrence& o : spans[i].occurrences) {
          ++records[{o.shard, o.record}];
          EXPECT_EQ(o.record_id, "r" + std::to_string(o.shard * 100 + o.record));
        }
        EXPECT_EQ(records, expected[i].records);
        ++spans_checked;
      }
    }
  }
  EXPECT_GT(spans_checked, 100);
}

TEST(SpanMatcher, spans_counted_above_max_count_are_common_and_list_only_a_sample) {
  test::TempDir dir;
  std::vector<std::vector<int32_t>> records(50, std::vector<int32_t>{1, 2, 3, 4, 5});
  records.push_back({6, 7, 8, 9});
  std::vector<std::unique_ptr<SuffixIndex>> shards;
  shards.push_back(write_shard(dir.file("s.idx"), records, 10));
  MatchOptions options;
  options.min_span = 3;
  options.max_count = 49;
  options.sample_common = 2;
  std::vector<uint32_t> output{1, 2, 3, 4, 5, 0, 6, 7, 8, 9};
  auto spans = find_spans(shards, output, options);
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_TRUE(spans[0].common);
  EXPECT_EQ(spans[0].count, 50u);
  EXPECT_EQ(spans[0].occurrences.size(), 2u);
  EXPECT_FALSE(spans[1].common);
  ASSERT_EQ(spans[1].occurrences.size(), 1u);
  EXPECT_EQ(spans[1].occurrences[0].record_id, "r50");
}

Span span(uint32_t begin, uint32_t end, std::vector<std::string_view> contributors, bool common = false) {
  Span s;
  s.begin = begin, s.end = end, s.common = common, s.count = contributors.size();
  for (auto c : contributors) s.occurrences.push_back({0, 0, "rec", c});
  return s;
}

TEST(Credit, tokens_split_between_overlapping_spans_then_by_occurrence) {
  // Tokens 0-1: A only; 2-3: A and B; 4-5: B only; 7-8: a common span, worth nothing.
  std::vector<Span> spans{span(0, 4, {"acct:c1", "acct:c2"}), span(2, 6, {"acct:c1"}),
                          span(7, 9, {"acct:x", "acct:y"}, true)};
  auto weights = credit_contributors(spans);
  ASSERT_EQ(weights.size(), 2u);
  EXPECT_EQ(weights[0].contributor, "acct:c1");
  EXPECT_TRUE(weights[0].weight == 4'500'000);  // A: 3e6 / 2 + B: 3e6
  EXPECT_EQ(weights[1].contributor, "acct:c2");
  EXPECT_TRUE(weights[1].weight == 1'500'000);
  EXPECT_EQ(covered_tokens(spans), 6u);
}

TEST(Credit, remainders_go_to_the_earliest_span_and_the_first_contributor_id) {
  // Token 2 is covered three times: 333334 to X, 333333 to Y and Z.
  // X = 1e6 + 5e5 + 333334; Y = 5e5 + 333333 + 5e5; Z = 333333 + 5e5 + 1e6 = 1833333,
  // split 1:1 between acct:a and acct:b, the odd unit to acct:a.
  std::vector<Span> spans{span(0, 3, {"acct:b"}), span(1, 4, {"acct:a"}), span(2, 5, {"acct:b", "acct:a"})};
  auto weights = credit_contributors(spans);
  ASSERT_EQ(weights.size(), 2u);
  EXPECT_TRUE(weights[0].weight == 1'333'333 + 916'667) << weights[0].contributor;
  EXPECT_TRUE(weights[1].weight == 1'833'334 + 916'666) << weights[1].contributor;
  EXPECT_EQ(covered_tokens(spans), 5u);
}

TEST(Credit, weights_always_sum_to_the_covered_tokens) {
  std::mt19937 rng(5);
  const char* names[] = {"acct:a", "acct:b", "acct:c", "acct:d"};
  for (int round = 0; round < 200; ++round) {
    std::vector<Span> spans;
    uint32_t begin = 0, end = 0;
    for (int i = 0; i < 8; ++i) {
      begin += 1 + rng() % 5;
      end = std::max(end + 1, begin + 1 + uint32_t(rng() % 9));
      std::vector<std::string_view> who;
      for (int k = 1 + int(rng() % 7); k > 0; --k) who.push_back(names[rng() % 4]);
      spans.push_back(span(begin, end, who, rng() % 5 == 0));
    }
    money::u128 total = 0;
    for (const auto& w : credit_contributors(spans)) {
      EXPECT_TRUE(w.weight > 0);
      total += w.weight;
    }
    EXPECT_TRUE(total == credit_per_token * covered_tokens(spans)) << round;
  }
}

}  // namespace
}  // namespace omlkit::attribution
