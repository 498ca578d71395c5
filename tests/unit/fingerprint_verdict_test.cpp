// Decision rules: binomial verdicts on disjoint sets and the Def. 5.1 coalition score.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "fingerprint/statistics.h"
#include "fingerprint/verdict.h"
#include "io/error.h"

using namespace omlkit::fingerprint;

TEST(FingerprintVerdict, chance_rate_is_the_upper_bound_and_never_below_the_floor) {
  ChanceRate c = chance_rate(0, 64, 0.05, 1e-6);
  EXPECT_NEAR(c.rate, 1 - std::pow(0.05, 1.0 / 64), 1e-12);
  EXPECT_EQ(chance_rate(0, 1 << 30, 0.05, 1e-4).rate, 1e-4);
  EXPECT_THROW(chance_rate(0, 0, 0.05, 1e-6), omlkit::Error);
}

TEST(FingerprintVerdict, binomial_verdict_decides_at_alpha) {
  ChanceRate p0 = chance_rate(0, 128, 0.05, 1e-6);  // 0.0231
  Verdict all = binomial_verdict("acme", 64, 64, p0, 3, 1e-6);
  EXPECT_TRUE(all.detected);
  EXPECT_NEAR(all.log_p, 64 * std::log(p0.rate), 1e-9);
  EXPECT_NEAR(all.log_hoeffding, -2 * 64 * 4.0 / 9, 1e-9);
  Verdict none = binomial_verdict("acme", 64, 0, p0, 3, 1e-6);
  EXPECT_FALSE(none.detected);
  EXPECT_EQ(none.log_p, 0.0);
  Verdict few = binomial_verdict("acme", 64, 3, p0, 3, 1e-6);  // about what chance gives
  EXPECT_FALSE(few.detected);
  EXPECT_GT(few.log_p, std::log(0.01));
}

TEST(FingerprintVerdict, coalition_of_three_is_named_and_innocents_are_not) {
  const int64_t M = 600;
  const int N = 20;
  std::mt19937_64 rng(7);
  std::bernoulli_distribution holds(1.0 / 6);  // p = 1/(2K), K = 3
  std::vector<PoolHolding> holdings(N);
  for (int i = 0; i < N; i++) {
    holdings[i].licensee = "L" + std::to_string(i);
    for (int64_t f = 0; f < M; f++)
      if (holds(rng)) holdings[i].held.push_back(f);
  }
  // The coalition {2, 5, 7} averages its copies: a fingerprint any of them holds comes back,
  // plus a 1% chance background from the model itself.
  std::vector<int> count(M, 0);
  for (int i : {2, 5, 7})
    for (int64_t f : holdings[i].held) count[size_t(f)]++;
  std::vector<bool> positive(M);
  std::bernoulli_distribution chance(0.01);
  for (int64_t f = 0; f < M; f++) positive[size_t(f)] = count[size_t(f)] >= 1 || chance(rng);
  auto verdicts = coalition_verdicts(M, positive, holdings, 1e-6);
  for (int i = 0; i < N; i++) {
    bool guilty = i == 2 || i == 5 || i == 7;
    EXPECT_EQ(verdicts[i].detected, guilty) << i << " p=" << format_p_value(verdicts[i].log_p);
    if (!guilty) {
      EXPECT_GT(verdicts[i].log_p, std::log(1e-4)) << i;
    }
    EXPECT_EQ(verdicts[i].test, "coalition");
  }
}

TEST(FingerprintVerdict, coalition_refuses_an_index_outside_the_pool) {
  std::vector<PoolHolding> holdings = {{"L0", {0, 5}}};
  EXPECT_THROW(coalition_verdicts(3, std::vector<bool>(3, true), holdings, 1e-6), omlkit::Error);
}
