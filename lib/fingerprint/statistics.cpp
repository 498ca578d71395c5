#include "fingerprint/statistics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace omlkit::fingerprint {
namespace {

constexpr double minus_infinity = -std::numeric_limits<double>::infinity();

double log_choose(int64_t n, int64_t k) {
  return std::lgamma(double(n) + 1) - std::lgamma(double(k) + 1) - std::lgamma(double(n - k) + 1);
}

// ln(sum exp(terms)) over a generator of terms, with the largest factored out.
template <typename Terms>
double log_sum_exp(int64_t first, int64_t last, Terms term) {
  if (first > last) return minus_infinity;
  double top = minus_infinity;
  for (int64_t k = first; k <= last; k++) top = std::max(top, term(k));
  if (top == minus_infinity) return top;
  double sum = 0;
  for (int64_t k = first; k <= last; k++) sum += std::exp(term(k) - top);
  return top + std::log(sum);
}

// Continued fraction of the incomplete beta function (modified Lentz), valid and fast for
// x < (a + 1) / (a + b + 2).
double beta_continued_fraction(double a, double b, double x) {
  const double tiny = 1e-300, eps = 1e-16;
  double c = 1, d = 1 - (a + b) * x / (a + 1);
  if (std::fabs(d) < tiny) d = tiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= 10000; m++) {
    double m2 = 2.0 * m;
    double numerator = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
    d = 1 + numerator * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = 1 + numerator / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    numerator = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
    d = 1 + numerator * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = 1 + numerator / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    double step = d * c;
    h *= step;
    if (std::fabs(step - 1) < eps) break;
  }
  return h;
}

}  // namespace

double log_binomial_tail(int64_t n, int64_t m, double p) {
  if (m <= 0) return 0;
  if (m > n || p <= 0) return minus_infinity;
  if (p >= 1) return 0;
  const double lp = std::log(p), lq = std::log1p(-p);
  double result = log_sum_exp(m, n, [&](int64_t k) { return log_choose(n, k) + double(k) * lp + double(n - k) * lq; });
  return std::min(result, 0.0);
}

double log_hypergeometric_tail(int64_t population, int64_t successes, int64_t draws, int64_t s) {
  int64_t low = std::max<int64_t>(0, draws - (population - successes));
  int64_t high = std::min(successes, draws);
  if (s <= low) return 0;
  const double total = log_choose(population, draws);
  double result = log_sum_exp(s, high, [&](int64_t k) {
    return log_choose(successes, k) + log_choose(population - successes, draws - k) - total;
  });
  return std::min(result, 0.0);
}

double regularized_incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  double log_front = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  if (x < (a + 1) / (a + b + 2)) return std::exp(log_front) * beta_continued_fraction(a, b, x) / a;
  return 1 - std::exp(log_front) * beta_continued_fraction(b, a, 1 - x) / b;
}

double clopper_pearson_upper(double hits, int64_t n, double beta) {
  if (hits >= double(n)) return 1;
  hits = std::max(hits, 0.0);
  // I_p(hits + 1, n - hits) rises with p from 0 to 1: bisect for the point where it is 1 - beta.
  double low = 0, high = 1;
  for (int i = 0; i < 200; i++) {
    double mid = (low + high) / 2;
    if (regularized_incomplete_beta(hits + 1, double(n) - hits, mid) < 1 - beta) low = mid;
    else high = mid;
  }
  return high;
}

double log_hoeffding_bound(int64_t n, int64_t m, double q) {
  if (n <= 0) return 0;
  double excess = double(m) / double(n) - q;
  if (excess <= 0) return 0;
  return -2.0 * double(n) * excess * excess;
}

std::string format_p_value(double log_p) {
  char buf[48];
  if (log_p == minus_infinity) return "0";
  if (log_p >= std::log(1e-4)) {
    std::snprintf(buf, sizeof buf, "%.3g", std::exp(log_p));
    return buf;
  }
  double log10_p = log_p / std::log(10.0);
  double exponent = std::floor(log10_p);
  double mantissa = std::pow(10.0, log10_p - exponent);
  if (mantissa >= 9.95) mantissa = 1, exponent += 1;
  std::snprintf(buf, sizeof buf, "%.2ge%d", mantissa, int(exponent));
  return buf;
}

}  // namespace omlkit::fingerprint
