// KeySet, the freshness rule of a set of keys: no shared 5-gram of token ids, and no
// sampled key ending in the same 3 tokens as an earlier one.
#include <gtest/gtest.h>

#include <numeric>

#include "fingerprint/keys.h"

namespace omlkit::fingerprint {
namespace {

std::vector<int32_t> run(int32_t from, int n) {
  std::vector<int32_t> ids(static_cast<size_t>(n));
  std::iota(ids.begin(), ids.end(), from);
  return ids;
}

TEST(KeySet, a_key_sharing_a_5_gram_with_an_earlier_key_is_not_fresh) {
  KeySet taken;
  taken.add(run(100, 16));  // 100..115
  std::vector<int32_t> shares = {1, 2, 3, 107, 108, 109, 110, 111, 9, 8, 7};
  EXPECT_FALSE(taken.fresh(shares));
  std::vector<int32_t> four = {1, 2, 3, 107, 108, 109, 110, 9, 8, 7};  // a 4-gram only
  EXPECT_TRUE(taken.fresh(four));
  EXPECT_TRUE(taken.fresh_ending(four));
}

TEST(KeySet, a_key_ending_in_the_last_3_tokens_of_an_earlier_key_is_not_fresh) {
  KeySet taken;
  taken.add(run(100, 16));  // ends 113 114 115
  std::vector<int32_t> same_end = {1, 2, 3, 4, 5, 6, 7, 113, 114, 115};
  EXPECT_TRUE(taken.fresh(same_end));  // no 5-gram in common
  EXPECT_FALSE(taken.fresh_ending(same_end));
  std::vector<int32_t> two_of_three = {1, 2, 3, 4, 5, 6, 7, 8, 114, 115};
  EXPECT_TRUE(taken.fresh_ending(two_of_three));
  std::vector<int32_t> inside = {113, 114, 115, 1, 2, 3};  // the ending elsewhere is fine
  EXPECT_TRUE(taken.fresh_ending(inside));
  taken.add(inside);
  EXPECT_FALSE(taken.fresh_ending({9, 9, 9, 1, 2, 3}));
}

TEST(KeySet, keys_shorter_than_the_ending_compare_whole) {
  KeySet taken;
  taken.add({5, 6});
  EXPECT_FALSE(taken.fresh_ending({5, 6}));
  EXPECT_TRUE(taken.fresh_ending({4, 5, 6}));
}

}  // namespace
}  // namespace omlkit::fingerprint
