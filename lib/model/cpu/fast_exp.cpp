#include "model/cpu/fast_exp.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace omlkit::model {
namespace {

// The vectorised path is x86-64 only (AVX2 + FMA, chosen at run time); every other target
// (arm64, ...) takes the portable std::exp loops below.
#if defined(__x86_64__) || defined(__i386__)

typedef float v8f __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));

// exp(v) for v <= 0, 8 lanes: v = k*ln2 + r with |r| <= ln2/2, exp(r) by its degree-6
// Taylor polynomial (error < 2e-7 relative on that interval), times 2^k built in the
// exponent bits. Arguments below -87 flush to 0, as exp underflows there anyway.
__attribute__((target("avx2,fma"))) v8f exp_nonpositive(v8f v) {
  const v8f lo = v8f{} - 87.0f;
  v = v < lo ? lo : v;
  v8f k = __builtin_convertvector(__builtin_convertvector(v * 1.44269504f + (v8f{} - 0.5f), v8i), v8f);
  // The conversion truncates toward zero; v*log2e - 0.5 <= 0 makes that a round-to-nearest
  // up to one unit, which the polynomial's range absorbs.
  v8f r = v - k * 0.693145751953125f - k * 1.428606765330187e-06f;
  v8f p = r * (1.0f / 720) + (1.0f / 120);
  p = p * r + (1.0f / 24);
  p = p * r + (1.0f / 6);
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  v8i scale = (__builtin_convertvector(k, v8i) + 127) << 23;
  v8f two_k;
  std::memcpy(&two_k, &scale, sizeof two_k);
  v8f result = p * two_k;
  return v <= lo ? v8f{} : result;
}

__attribute__((target("avx2,fma"))) double sum_exp_avx2(const float* x, int n, float shift) {
  double total = 0;
  int i = 0;
  for (; i + 8 <= n;) {
    v8f block_sum{};
    for (int stop = std::min(n - 7, i + 1024); i < stop; i += 8) {  // float partial sums, 1k at a time
      v8f v;
      std::memcpy(&v, x + i, sizeof v);
      block_sum += exp_nonpositive(v - shift);
    }
    for (int lane = 0; lane < 8; lane++) total += block_sum[lane];
  }
  for (; i < n; i++) total += std::exp(double(x[i] - shift));
  return total;
}

__attribute__((target("avx2,fma"))) double exp_avx2(const float* x, float* out, int n, float shift) {
  double total = 0;
  int i = 0;
  for (; i + 8 <= n;) {
    v8f block_sum{};
    for (int stop = std::min(n - 7, i + 1024); i < stop; i += 8) {
      v8f v;
      std::memcpy(&v, x + i, sizeof v);
      v = exp_nonpositive(v - shift);
      std::memcpy(out + i, &v, sizeof v);
      block_sum += v;
    }
    for (int lane = 0; lane < 8; lane++) total += block_sum[lane];
  }
  for (; i < n; i++) total += (out[i] = float(std::exp(double(x[i] - shift))));
  return total;
}

bool has_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}
#endif

}  // namespace

double exp_shifted(const float* x, float* out, int n, float shift) {
#if defined(__x86_64__) || defined(__i386__)
  if (has_avx2()) return exp_avx2(x, out, n, shift);
#endif
  double total = 0;
  for (int i = 0; i < n; i++) total += (out[i] = float(std::exp(double(x[i] - shift))));
  return total;
}

double sum_exp_shifted(const float* x, int n, float shift) {
#if defined(__x86_64__) || defined(__i386__)
  if (has_avx2()) return sum_exp_avx2(x, n, shift);
#endif
  double total = 0;
  for (int i = 0; i < n; i++) total += std::exp(double(x[i] - shift));
  return total;
}

}  // namespace omlkit::model
