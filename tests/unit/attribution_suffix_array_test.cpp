// The suffix array (SA-IS) and the shard's searches against brute force on random token
// streams: sorted order, longest matches, occurrence sets, record lookup, and the checks
// that keep a damaged index file from being read.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "attribution/index_format.h"
#include "attribution/suffix_array.h"
#include "attribution_test_support.h"
#include "io/error.h"

namespace omlkit::attribution {
namespace {

using testing::brute_longest_prefix;
using testing::brute_occurrences;
using testing::random_records;
using testing::stream_of;
using testing::write_shard;

// Suffix order by definition: token by token, the separator above every token, a proper
// prefix first.
template <typename Token>
std::vector<uint32_t> brute_suffix_array(const std::vector<Token>& text, Token separator) {
  std::vector<uint32_t> sa(text.size());
  for (uint32_t i = 0; i < sa.size(); ++i) sa[i] = i;
  auto rank = [&](Token t) { return t == separator ? uint64_t(1) << 40 : uint64_t(t); };
  std::sort(sa.begin(), sa.end(), [&](uint32_t a, uint32_t b) {
    return std::lexicographical_compare(text.begin() + a, text.end(), text.begin() + b, text.end(),
                                        [&](Token x, Token y) { return rank(x) < rank(y); });
  });
  return sa;
}

template <typename Token>
std::vector<Token> random_text(std::mt19937& rng, size_t n, uint32_t alphabet, Token separator, int separator_every) {
  std::vector<Token> text(n);
  std::uniform_int_distribution<uint32_t> token(0, alphabet - 1);
  std::uniform_int_distribution<int> coin(0, separator_every);
  for (auto& t : text) t = separator_every && coin(rng) == 0 ? separator : Token(token(rng));
  return text;
}

TEST(SuffixArray, equals_brute_force_sort_on_random_streams) {
  std::mt19937 rng(7);
  for (uint32_t alphabet : {1u, 2u, 3u, 17u, 300u, 65535u})
    for (size_t n : {0, 1, 2, 3, 5, 8, 31, 200, 1500}) {
      for (int separator_every : {0, 4, 50}) {
        auto text = random_text<uint16_t>(rng, n, alphabet, 0xFFFF, separator_every);
        EXPECT_EQ(build_suffix_array(text, alphabet, 0xFFFF), brute_suffix_array<uint16_t>(text, 0xFFFF))
            << "alphabet " << alphabet << " n " << n;
      }
    }
}

TEST(SuffixArray, equals_brute_force_with_32_bit_tokens) {
  std::mt19937 rng(8);
  for (uint32_t alphabet : {2u, 5u, 128256u})
    for (size_t n : {1, 9, 700}) {
      auto text = random_text<uint32_t>(rng, n, alphabet, 0xFFFFFFFF, 10);
      EXPECT_EQ(build_suffix_array(text, alphabet, 0xFFFFFFFFu), brute_suffix_array<uint32_t>(text, 0xFFFFFFFFu));
    }
}

TEST(SuffixArray, periodic_and_constant_streams_recurse_correctly) {
  // Many equal LMS substrings: the reduced problem recurses several levels deep.
  std::vector<std::vector<uint16_t>> texts;
  texts.push_back(std::vector<uint16_t>(1000, 4));
  std::vector<uint16_t> periodic;
  for (int i = 0; i < 1200; ++i) periodic.push_back(uint16_t(i % 3 == 2 ? 0 : 1));
  texts.push_back(periodic);
  std::vector<uint16_t> fibonacci{0}, previous{1};  // Fibonacci words: worst cases for naming
  while (fibonacci.size() < 1500) {
    std::vector<uint16_t> next = fibonacci;
    next.insert(next.end(), previous.begin(), previous.end());
    previous = fibonacci;
    fibonacci = next;
  }
  texts.push_back(fibonacci);
  for (const auto& text : texts)
    EXPECT_EQ(build_suffix_array(text, 5, 0xFFFF), brute_suffix_array<uint16_t>(text, 0xFFFF));
}

TEST(SuffixArray, a_token_outside_the_vocabulary_is_an_internal_error) {
  std::vector<uint16_t> text{1, 2, 9};
  try {
    build_suffix_array(text, 5, 0xFFFF);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), exit_code::internal);
  }
}

// Queries: substrings of the stream (often found, some crossing record ends), random
// strings (mostly not), and the empty query.
std::vector<std::vector<uint32_t>> queries_for(std::mt19937& rng, const std::vector<int64_t>& stream,
                                               uint32_t alphabet, size_t count) {
  std::vector<std::vector<uint32_t>> out{{}};
  std::uniform_int_distribution<size_t> start(0, stream.empty() ? 0 : stream.size() - 1), length(1, 40);
  std::uniform_int_distribution<uint32_t> token(0, alphabet - 1);
  for (size_t i = 0; i < count; ++i) {
    std::vector<uint32_t> q;
    if (i % 2 == 0 && !stream.empty()) {
      for (size_t p = start(rng), n = length(rng); p < stream.size() && q.size() < n; ++p)
        if (stream[p] >= 0) q.push_back(uint32_t(stream[p]));
      q.push_back(token(rng));  // often extends the match by a mismatch
    } else {
      for (size_t n = length(rng); q.size() < n;) q.push_back(token(rng));
    }
    out.push_back(q);
  }
  return out;
}

TEST(SuffixIndex, longest_prefix_and_find_equal_brute_force) {
  test::TempDir dir;
  std::mt19937 rng(11);
  int checked = 0;
  for (int32_t alphabet : {2, 4, 50}) {
    for (uint32_t vocab : {uint32_t(alphabet), 70000u}) {  // 16- and 32-bit token files
      auto records = random_records(rng, 60, 40, alphabet);
      auto index = write_shard(dir.file("s.idx"), records, vocab);
      auto stream = stream_of(records);
      ASSERT_EQ(index->size(), stream.size());
      for (const auto& q : queries_for(rng, stream, uint32_t(alphabet), 300)) {
        ASSERT_EQ(index->longest_prefix(q), brute_longest_prefix(stream, q));
        SuffixIndex::Range range = index->find(q);
        std::vector<uint32_t> found;
        for (uint32_t r = range.begin; r < range.end; ++r) found.push_back(index->position(r));
        std::sort(found.begin(), found.end());
        if (q.empty()) continue;  // every suffix
        ASSERT_EQ(found, brute_occurrences(stream, q));
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 1500);
}

TEST(SuffixIndex, positions_map_back_to_their_records_and_contributors) {
  test::TempDir dir;
  std::vector<std::vector<int32_t>> records{{1, 2, 3}, {}, {4}, {5, 6}};
  auto index = write_shard(dir.file("s.idx"), records, 10, 2);
  // Stream: 1 2 3 | | 4 | 5 6 |
  std::vector<uint32_t> expected{0, 0, 0, 0, 1, 2, 2, 3, 3, 3};
  for (uint32_t p = 0; p < expected.size(); ++p) EXPECT_EQ(index->record_at(p), expected[p]) << p;
  EXPECT_EQ(index->record_id(3), "r3");
  EXPECT_EQ(index->contributor(3), "acct:c1");
  EXPECT_EQ(index->contributor(2), "acct:c0");
  EXPECT_EQ(index->records(), 4u);
}

TEST(SuffixIndex, damaged_or_foreign_files_are_refused_with_exit_65) {
  test::TempDir dir;
  auto records = std::vector<std::vector<int32_t>>{{1, 2, 3}, {3, 2, 1}};
  write_shard(dir.file("good.idx"), records, 10);
  std::string good = test::slurp(dir.file("good.idx"));
  auto refused = [&](std::string bytes, const std::string& message) {
    std::ofstream(dir.file("bad.idx"), std::ios::binary) << bytes;
    try {
      SuffixIndex::open(dir.file("bad.idx"));
      ADD_FAILURE() << "accepted: " << message;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), exit_code::data);
      EXPECT_EQ(e.where(), dir.file("bad.idx"));
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
  };
  refused("{\"type\":\"call\"}\n", "not an omlkit attribution index");
  std::string bad = good;
  bad[0] = 'X';
  refused(bad, "bad magic");
  bad = good;
  bad[8] = 1;  // version 1: no checksums
  refused(bad, "index format version 1; this omlkit reads version 2 (with checksums): rebuild it with attribute index");
  refused(good.substr(0, good.size() - 100), "outside the file");
  IndexHeader header;
  std::memcpy(&header, good.data(), sizeof header);
  bad = good;
  bad[header.sections[section_tokenizer_json].offset] ^= 1;
  refused(bad, "does not match its SHA-256");
  bad = good;
  bad[header.sections[section_tokens].offset + 2 * 3] = 7;  // the first record's separator
  refused(bad, "index section tokens: its SHA-256 does not match the header's (a damaged index: rebuild it)");
  bad = good;
  bad[header.sections[section_contributor_bytes].offset + 6] ^= 0x20;  // "acct:c0" -> "acct:C0"
  refused(bad, "index section contributor_bytes: its SHA-256 does not match");
  bad = good;
  bad[100] ^= 1;  // a section's checksum in the header
  refused(bad, "index header: its SHA-256 does not match (a damaged index: rebuild it)");
  try {
    SuffixIndex::open(dir.file("missing.idx"));
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), exit_code::no_input);
  }
}

TEST(SuffixIndex, every_flipped_byte_of_an_index_is_refused) {
  // Version 2 checksums every section and the header, and checks the padding: a damaged
  // file never opens, so no query reads a damaged table or prints a damaged name.
  test::TempDir dir;
  std::mt19937 rng(13);
  auto records = random_records(rng, 20, 12, 4);
  write_shard(dir.file("good.idx"), records, 10);
  std::string good = test::slurp(dir.file("good.idx"));
  size_t refused = 0;
  for (size_t at = 0; at < good.size(); ++at) {
    std::string bad = good;
    bad[at] = char(bad[at] ^ (1 << (at % 8)));
    std::ofstream(dir.file("bad.idx"), std::ios::binary | std::ios::trunc) << bad;
    try {
      SuffixIndex::open(dir.file("bad.idx"));
      ADD_FAILURE() << "byte " << at << " flipped, the index opened";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), exit_code::data) << e.what();
      ++refused;
    }
  }
  EXPECT_EQ(refused, good.size());
}

TEST(SuffixIndex, a_contributor_that_is_no_account_name_is_refused) {
  // Even with correct checksums (an index written by another program), a name that is no
  // account name never reaches the output.
  test::TempDir dir;
  ShardWriter writer("{}", 10);
  std::vector<int32_t> tokens{1, 2, 3};
  writer.add_record("r-1", "acct:\x01evil", tokens);
  writer.write(dir.file("bad.idx"));
  try {
    SuffixIndex::open(dir.file("bad.idx"));
    ADD_FAILURE() << "opened";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), exit_code::data);
    EXPECT_STREQ(e.what(), "index contributor 0: expected an account name (1-256 bytes of UTF-8, no control characters)");
  }
}

}  // namespace
}  // namespace omlkit::attribution
