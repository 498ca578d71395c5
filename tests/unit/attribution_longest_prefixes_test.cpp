// SuffixIndex::longest_prefixes (the right-to-left walk that carries occurrences from one
// position to the next) against one binary search per position (longest_prefixes_by_search)
// and against brute force, on random and Zipf corpora and on the edge cases of the walk:
// empty texts, tokens absent from the corpus or outside the vocabulary, matches that run to
// the end of the stream, runs of one repeated token, and matches found more often than the
// walk carries.
#include <gtest/gtest.h>

#include "attribution/span_matcher.h"
#include "attribution_test_support.h"

namespace omlkit::attribution {
namespace {

using testing::brute_longest_prefix;
using testing::random_records;
using testing::stream_of;
using testing::write_shard;

// Records of Zipf-distributed tokens (frequency ~ 1 / rank over [0, alphabet)), as words
// are in text: a few tokens occur everywhere, so short matches have many occurrences.
std::vector<std::vector<int32_t>> zipf_records(std::mt19937& rng, size_t count, size_t max_length, int32_t alphabet) {
  std::vector<double> weights(static_cast<size_t>(alphabet));
  for (size_t r = 0; r < weights.size(); ++r) weights[r] = 1.0 / double(r + 1);
  std::discrete_distribution<int32_t> token(weights.begin(), weights.end());
  std::uniform_int_distribution<size_t> length(0, max_length);
  std::vector<std::vector<int32_t>> records(count);
  for (auto& r : records) {
    r.resize(length(rng));
    for (auto& t : r) t = token(rng);
  }
  return records;
}

// Texts to query: pieces copied from records glued with random tokens (some of them absent
// from the corpus: ids in [alphabet, vocab) and, for the walk's guard, >= vocab), all-new
// texts, runs of one token, the stream's last record (a match that ends at the stream's
// last separator), and the empty text.
std::vector<std::vector<uint32_t>> texts_for(std::mt19937& rng, const std::vector<std::vector<int32_t>>& records,
                                             uint32_t alphabet, uint32_t vocab) {
  std::vector<std::vector<uint32_t>> texts{{}};
  std::uniform_int_distribution<size_t> pick(0, records.size() - 1), glue(0, 3);
  std::uniform_int_distribution<uint32_t> token(0, alphabet - 1), absent(alphabet, std::max(alphabet, vocab - 1));
  for (int t = 0; t < 12; ++t) {
    std::vector<uint32_t> text;
    size_t target = 1 + size_t(t) * 20;
    while (text.size() < target) {
      const auto& r = records[pick(rng)];
      std::uniform_int_distribution<size_t> from(0, r.size());
      size_t begin = from(rng), end = std::min(r.size(), begin + 1 + size_t(t) * 3);
      text.insert(text.end(), r.begin() + long(begin), r.begin() + long(std::max(begin, end)));
      for (size_t g = glue(rng); g > 0; --g) text.push_back(t % 4 == 1 && alphabet < vocab ? absent(rng) : token(rng));
    }
    texts.push_back(text);
  }
  std::vector<uint32_t> fresh(60);
  for (auto& x : fresh) x = token(rng);
  texts.push_back(fresh);
  for (uint32_t run_token : {0u, alphabet - 1}) texts.push_back(std::vector<uint32_t>(50, run_token));
  const auto& last = records.back();
  texts.push_back(std::vector<uint32_t>(last.begin(), last.end()));
  texts.push_back({token(rng), vocab, token(rng), vocab + 7, token(rng)});  // outside the vocabulary
  return texts;
}

// longest_prefixes on every position and on a prefix of the positions, against the
// reference searches and (when given a stream) brute force.
void expect_walk_equals_search(const SuffixIndex& index, const std::vector<uint32_t>& text,
                               const std::vector<int64_t>* stream, int* checked) {
  for (size_t count : {text.size(), text.size() / 2}) {
    std::vector<size_t> walked(text.size(), 0), searched(text.size(), 0);
    index.longest_prefixes(text, count, walked.data());
    index.longest_prefixes_by_search(text, count, searched.data());
    ASSERT_EQ(walked, searched) << "text of " << text.size() << " tokens, " << count << " positions";
    for (size_t l = count; l < text.size(); ++l) ASSERT_EQ(walked[l], 0u);
    if (stream) {
      for (size_t l = 0; l < count; ++l)
        ASSERT_EQ(walked[l], brute_longest_prefix(*stream, std::span(text).subspan(l))) << "position " << l;
    }
    *checked += int(count);
  }
}

TEST(LongestPrefixes, walk_equals_one_search_per_position_and_brute_force_on_random_corpora) {
  test::TempDir dir;
  std::mt19937 rng(21);
  int checked = 0;
  for (int32_t alphabet : {1, 2, 4, 50}) {
    for (uint32_t vocab : {uint32_t(alphabet) + 3, 70000u}) {  // 16- and 32-bit token files
      auto records = random_records(rng, 80, 40, alphabet);
      records.push_back(std::vector<int32_t>(30, 0));  // a run of one token, last in the stream
      auto index = write_shard(dir.file("s.idx"), records, vocab);
      auto stream = stream_of(records);
      for (const auto& text : texts_for(rng, records, uint32_t(alphabet), vocab))
        expect_walk_equals_search(*index, text, &stream, &checked);
    }
  }
  EXPECT_GT(checked, 15000);
}

TEST(LongestPrefixes, walk_equals_one_search_per_position_on_zipf_corpora) {
  // Large enough that common matches occur far more often than the walk carries.
  test::TempDir dir;
  std::mt19937 rng(22);
  int checked = 0;
  for (int32_t alphabet : {6, 20, 500}) {  // 6: many matches occur a few times to a few dozen
    auto records = zipf_records(rng, alphabet == 6 ? 300 : 3000, 120, alphabet);
    auto index = write_shard(dir.file("z.idx"), records, 50257);
    auto stream = stream_of(records);
    int brute = 0;
    for (int draw = 0; draw < (alphabet == 6 ? 20 : 1); ++draw)
      for (const auto& text : texts_for(rng, records, uint32_t(alphabet), 50257))
        expect_walk_equals_search(*index, text, brute++ < 4 ? &stream : nullptr, &checked);
  }
  EXPECT_GT(checked, 2000);
}

TEST(LongestPrefixes, keeps_a_longer_length_already_in_the_array) {
  // Shards are merged by taking the larger length at each position.
  test::TempDir dir;
  auto index = write_shard(dir.file("s.idx"), {{1, 2, 3}, {2, 3, 4}}, 10);
  std::vector<uint32_t> text{1, 2, 3, 4, 5};
  std::vector<size_t> longest{1, 9, 0, 0, 0};
  index->longest_prefixes(text, text.size(), longest.data());
  EXPECT_EQ(longest, (std::vector<size_t>{3, 9, 2, 1, 0}));
  std::vector<size_t> none;
  index->longest_prefixes(std::span<const uint32_t>(), 0, none.data());  // empty text: nothing to do
}

// The spans find_spans keeps, by the definition (m from brute force), on a Zipf corpus
// split into two shards.
TEST(LongestPrefixes, spans_on_zipf_shards_equal_the_definition) {
  test::TempDir dir;
  std::mt19937 rng(23);
  std::vector<std::vector<std::vector<int32_t>>> shard_records{zipf_records(rng, 400, 60, 30),
                                                               zipf_records(rng, 400, 60, 30)};
  std::vector<std::unique_ptr<SuffixIndex>> shards;
  std::vector<std::vector<int64_t>> streams;
  for (size_t s = 0; s < 2; ++s) {
    shards.push_back(write_shard(dir.file("s" + std::to_string(s) + ".idx"), shard_records[s], 50257, 3, s * 1000));
    streams.push_back(stream_of(shard_records[s]));
  }
  int spans_checked = 0;
  for (const auto& text : texts_for(rng, shard_records[1], 30, 50257)) {
    std::vector<size_t> m(text.size(), 0);
    for (size_t l = 0; l < text.size(); ++l)
      for (const auto& stream : streams) m[l] = std::max(m[l], brute_longest_prefix(stream, std::span(text).subspan(l)));
    for (size_t min_span : {1, 4, 8}) {
      MatchOptions options;
      options.min_span = min_span;
      std::vector<std::pair<uint32_t, uint32_t>> expected, found;
      for (size_t l = 0; l < text.size(); ++l)
        if (m[l] >= min_span && (l == 0 || l + m[l] > l - 1 + m[l - 1])) expected.push_back({uint32_t(l), uint32_t(l + m[l])});
      for (const Span& s : find_spans(shards, text, options)) found.push_back({s.begin, s.end});
      ASSERT_EQ(found, expected) << "min_span " << min_span;
      spans_checked += int(found.size());
    }
  }
  EXPECT_GT(spans_checked, 200);
}

}  // namespace
}  // namespace omlkit::attribution
