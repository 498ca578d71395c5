// From per-fingerprint hits to one verdict per licensee (the decision rules of
// fingerprint-check; statistics.h has the distributions).
//
// Disjoint assignment (every fingerprint belongs to one licensee): licensee i's p-value is
// P[Bin(M_i, p0) >= m_i], p0 the chance rate (ChanceRate), with the Hoeffding bound at
// q = 1/k beside it. Pooled assignment (Def. 5.1: one pool, each fingerprint in each copy
// with probability p): a plain binomial would accuse every licensee who happens to share
// fingerprints with the guilty one, so the score s_i = positives among the fingerprints
// copy i holds is tested against Hypergeometric(pool size, |F_i|, positives) — its exact
// law when copy i took no part, whatever the coalition did, because the assignment was
// drawn independently for every copy.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace omlkit::fingerprint {

// The per-fingerprint chance rate: `hits` of `trials` measured on the base model (hits may
// be an expected count when the check samples), turned into a one-sided upper confidence
// bound at confidence 1 - beta, and never below `floor`.
struct ChanceRate {
  double hits = 0;
  int64_t trials = 0;
  double beta = 0.05;
  double floor = 0;
  double rate = 0;  // the bound used as p0
};
ChanceRate chance_rate(double hits, int64_t trials, double beta, double floor);

struct Verdict {
  std::string licensee;
  std::string test;     // "binomial" or "coalition"
  int64_t tested = 0;   // fingerprints of this licensee queried (times samples when sampled)
  int64_t matched = 0;  // of them reproduced
  double log_p = 0;     // ln p-value of the test
  double log_hoeffding = 0;  // ln of the distribution-free bound (binomial test only; 0 = none)
  bool detected = false;     // p-value <= alpha
};

// Disjoint sets: tested/matched per licensee -> verdicts. `k` is the perinucleus width of
// the Hoeffding bound (q = 1/k); alpha the decision level.
Verdict binomial_verdict(const std::string& licensee, int64_t tested, int64_t matched, const ChanceRate& p0,
                         double k, double alpha);

// Pooled: pool fingerprints 0..M-1, which of them came back positive, and which of them
// each licensee holds. Returns one verdict per licensee, in the order given.
struct PoolHolding {
  std::string licensee;
  std::vector<int64_t> held;  // pool indices, distinct
};
std::vector<Verdict> coalition_verdicts(int64_t pool_size, const std::vector<bool>& positive,
                                        const std::vector<PoolHolding>& holdings, double alpha);

}  // namespace omlkit::fingerprint
