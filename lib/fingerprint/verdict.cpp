#include "fingerprint/verdict.h"

#include <algorithm>
#include <cmath>

#include "fingerprint/statistics.h"
#include "io/error.h"

namespace omlkit::fingerprint {

ChanceRate chance_rate(double hits, int64_t trials, double beta, double floor) {
  if (trials <= 0) throw Error(exit_code::data, "", "the chance rate needs at least one base-model trial");
  ChanceRate c;
  c.hits = hits, c.trials = trials, c.beta = beta, c.floor = floor;
  c.rate = std::max(clopper_pearson_upper(hits, trials, beta), floor);
  return c;
}

Verdict binomial_verdict(const std::string& licensee, int64_t tested, int64_t matched, const ChanceRate& p0,
                         double k, double alpha) {
  Verdict v;
  v.licensee = licensee;
  v.test = "binomial";
  v.tested = tested;
  v.matched = matched;
  v.log_p = log_binomial_tail(tested, matched, p0.rate);
  v.log_hoeffding = k > 0 ? log_hoeffding_bound(tested, matched, 1.0 / k) : 0;
  v.detected = matched > 0 && v.log_p <= std::log(alpha);
  return v;
}

std::vector<Verdict> coalition_verdicts(int64_t pool_size, const std::vector<bool>& positive,
                                        const std::vector<PoolHolding>& holdings, double alpha) {
  if (int64_t(positive.size()) != pool_size) throw Error(exit_code::internal, "", "pool outcome size mismatch");
  int64_t positives = std::count(positive.begin(), positive.end(), true);
  std::vector<Verdict> out;
  for (const PoolHolding& h : holdings) {
    Verdict v;
    v.licensee = h.licensee;
    v.test = "coalition";
    v.tested = int64_t(h.held.size());
    for (int64_t index : h.held) {
      if (index < 0 || index >= pool_size)
        throw Error(exit_code::data, "", "pool index " + std::to_string(index) + " outside the pool of " +
                                             std::to_string(pool_size));
      if (positive[size_t(index)]) v.matched++;
    }
    v.log_p = log_hypergeometric_tail(pool_size, v.tested, positives, v.matched);
    v.detected = v.matched > 0 && v.log_p <= std::log(alpha);
    out.push_back(v);
  }
  return out;
}

}  // namespace omlkit::fingerprint
