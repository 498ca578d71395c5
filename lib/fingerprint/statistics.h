// The statistics of fingerprint-check: how surprising is it that a model reproduces m of
// the M fingerprints of one licensee if it was not derived from that licensee's copy?
//
// Three figures (man/fingerprint-check.1 explains each to a reader):
//   - binomial tail P[Bin(M, p0) >= m], p0 the chance rate of one fingerprint, taken as
//     the one-sided Clopper-Pearson upper bound of the rate measured on the base model
//     (never below a floor, never 0);
//   - the distribution-free Hoeffding bound of Nasery et al. (arXiv 2502.07760, Prop. 3.1)
//     exp(-2M(m/M - 1/k)^2), valid for any model because a perinucleus response is drawn
//     uniformly from k candidates with secret randomness;
//   - for a pooled assignment (Def. 5.1), the score s_i of copy i, the number of positive
//     pool fingerprints that copy i holds, tested against the hypergeometric law it follows
//     when copy i took no part in the coalition.
// Every function works in log space so that p-values far below 1e-300 stay exact in their
// exponent; callers print them as decimal strings (format_p_value).
#pragma once

#include <cstdint>
#include <string>

namespace omlkit::fingerprint {

// ln P[Bin(n, p) >= m], exact (a log-sum-exp over the tail terms). 0 when m <= 0.
double log_binomial_tail(int64_t n, int64_t m, double p);

// ln P[X >= s] for X ~ Hypergeometric(population, successes, draws): s of `draws` items,
// drawn without replacement from `population` of which `successes` are marked, are marked.
double log_hypergeometric_tail(int64_t population, int64_t successes, int64_t draws, int64_t s);

// The regularized incomplete beta function I_x(a, b), a, b > 0, x in [0, 1].
double regularized_incomplete_beta(double a, double b, double x);

// One-sided upper confidence bound on a rate from `hits` (may be fractional: an expected
// count) out of n trials at confidence 1 - beta: the p with I_p(hits + 1, n - hits) = 1 - beta
// (Clopper-Pearson). 1 when hits >= n.
double clopper_pearson_upper(double hits, int64_t n, double beta);

// ln of Hoeffding's bound exp(-2n(m/n - q)^2) when m/n > q, else 0 (the bound says nothing).
double log_hoeffding_bound(int64_t n, int64_t m, double q);

// A p-value from its natural log as a short decimal string: "0.0123", "3.2e-31", or
// "1e-400" style exponents beyond double range ("2.9e-1234").
std::string format_p_value(double log_p);

}  // namespace omlkit::fingerprint
