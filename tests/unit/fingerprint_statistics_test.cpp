// fingerprint-check's statistics against values computed independently: exact rational
// sums (Python's fractions.Fraction over math.comb, quoted with the expression that made
// them), closed forms, and brute-force sums written out here.
#include <gtest/gtest.h>

#include <cmath>

#include "fingerprint/statistics.h"

using namespace omlkit::fingerprint;

namespace {

double naive_binomial_cdf(int n, int x, double p) {  // P[Bin(n,p) <= x], term by term
  double sum = 0, choose = 1;
  for (int k = 0; k <= x; k++) {
    if (k > 0) choose = choose * double(n - k + 1) / double(k);
    sum += choose * std::pow(p, k) * std::pow(1 - p, n - k);
  }
  return sum;
}

}  // namespace

TEST(FingerprintStatistics, binomial_tail_matches_exact_rational_sums) {
  // sum(comb(n,k) p^k (1-p)^(n-k) for k in m..n) with Fraction p.
  EXPECT_NEAR(std::exp(log_binomial_tail(10, 8, 0.5)), 56.0 / 1024.0, 1e-15);
  EXPECT_NEAR(log_binomial_tail(64, 16, 0.02), -29.680609329865185, 1e-9);   // 1.2879e-13
  EXPECT_NEAR(log_binomial_tail(64, 20, 0.02), std::log(8.834087560718969e-19), 1e-9);
  EXPECT_NEAR(log_binomial_tail(64, 64, 1.0 / 3), -64 * std::log(3.0), 1e-9);  // 2.9e-31
  EXPECT_NEAR(log_binomial_tail(1000, 40, 0.02), -10.045079712947327, 1e-9);
}

TEST(FingerprintStatistics, binomial_tail_edges_are_exact) {
  EXPECT_EQ(log_binomial_tail(64, 0, 0.01), 0.0);  // P[X >= 0] = 1
  EXPECT_EQ(log_binomial_tail(64, 65, 0.5), -INFINITY);
  EXPECT_EQ(log_binomial_tail(64, 1, 1.0), 0.0);
  // Far below double range the exponent stays exact: 1024 of 1024 at p = 1e-3.
  EXPECT_NEAR(log_binomial_tail(1024, 1024, 1e-3), 1024 * std::log(1e-3), 1e-6);
}

TEST(FingerprintStatistics, hypergeometric_tail_matches_exact_rational_sums) {
  // (C(4,2)C(6,1) + C(4,3)C(6,0)) / C(10,3) = 40/120.
  EXPECT_NEAR(std::exp(log_hypergeometric_tail(10, 4, 3, 2)), 1.0 / 3, 1e-14);
  // ln(sum(comb(500,k) comb(1548,300-k) for k in 120..300) / comb(2048,300)) with Fraction.
  EXPECT_NEAR(log_hypergeometric_tail(2048, 500, 300, 120), -23.571875703276987, 1e-8);
  EXPECT_EQ(log_hypergeometric_tail(2048, 500, 300, 0), 0.0);
  EXPECT_EQ(log_hypergeometric_tail(10, 4, 3, 4), -INFINITY);  // more than drawn
}

TEST(FingerprintStatistics, incomplete_beta_matches_closed_forms) {
  // I_x(1, b) = 1 - (1-x)^b; I_x(a, 1) = x^a; I_x(2, 2) = 3x^2 - 2x^3.
  for (double x : {0.01, 0.3, 0.5, 0.77, 0.99}) {
    EXPECT_NEAR(regularized_incomplete_beta(1, 7, x), 1 - std::pow(1 - x, 7), 1e-13);
    EXPECT_NEAR(regularized_incomplete_beta(5, 1, x), std::pow(x, 5), 1e-13);
    EXPECT_NEAR(regularized_incomplete_beta(2, 2, x), 3 * x * x - 2 * x * x * x, 1e-13);
  }
}

TEST(FingerprintStatistics, clopper_pearson_upper_solves_its_defining_equation) {
  // 0 hits: closed form 1 - beta^(1/n).
  EXPECT_NEAR(clopper_pearson_upper(0, 64, 0.05), 1 - std::pow(0.05, 1.0 / 64), 1e-12);
  EXPECT_NEAR(clopper_pearson_upper(0, 1024, 1e-3), 1 - std::pow(1e-3, 1.0 / 1024), 1e-12);
  // x hits: P[Bin(n, p_u) <= x] = beta, checked with a term-by-term CDF.
  for (int x : {1, 3, 10}) {
    double pu = clopper_pearson_upper(x, 40, 0.05);
    EXPECT_NEAR(naive_binomial_cdf(40, x, pu), 0.05, 1e-10) << x;
    EXPECT_GT(pu, x / 40.0);
  }
  EXPECT_EQ(clopper_pearson_upper(40, 40, 0.05), 1.0);
  // A fractional expected count lies between its integer neighbours.
  double mid = clopper_pearson_upper(2.5, 40, 0.05);
  EXPECT_GT(mid, clopper_pearson_upper(2, 40, 0.05));
  EXPECT_LT(mid, clopper_pearson_upper(3, 40, 0.05));
}

TEST(FingerprintStatistics, hoeffding_bound_matches_the_papers_figures) {
  // Nasery et al. Prop. 3.1 with k = 3, all M match: 1.2e-2 at M=5, 1.4e-4 at M=10, 2.0e-25 at M=64.
  EXPECT_NEAR(std::exp(log_hoeffding_bound(5, 5, 1.0 / 3)), 1.17e-2, 0.01e-2);
  EXPECT_NEAR(std::exp(log_hoeffding_bound(10, 10, 1.0 / 3)), 1.38e-4, 0.01e-4);
  EXPECT_NEAR(log_hoeffding_bound(64, 64, 1.0 / 3), -2 * 64 * (4.0 / 9), 1e-12);
  EXPECT_EQ(log_hoeffding_bound(64, 10, 1.0 / 3), 0.0);  // below 1/k: no evidence
}

TEST(FingerprintStatistics, p_values_print_with_their_exponent) {
  EXPECT_EQ(format_p_value(std::log(0.0123)), "0.0123");
  EXPECT_EQ(format_p_value(-64 * std::log(3.0)), "2.9e-31");
  EXPECT_EQ(format_p_value(1024 * std::log(1e-3)), "1e-3072");
  EXPECT_EQ(format_p_value(0.0), "1");
}
