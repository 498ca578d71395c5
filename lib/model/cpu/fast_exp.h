// Sum of exp(x[i] - shift) over a row of logits: the inner loop of log-softmax, which over
// a 50k vocabulary costs more than the LM head's sgemm when done with scalar exp().
#pragma once

namespace omlkit::model {

// Sum over i < n of exp(x[i] - shift), for x[i] <= shift. Uses AVX2 when the CPU has it
// (relative error below 1e-6), plain std::exp otherwise and on every non-x86 target.
double sum_exp_shifted(const float* x, int n, float shift);

// out[i] = exp(x[i] - shift) for i < n (x[i] <= shift; out may be x) and returns their
// sum, with the same precision as sum_exp_shifted.
double exp_shifted(const float* x, float* out, int n, float shift);

// Dot product of two n-float vectors with 8 interleaved partial sums, which the compiler
// turns into SIMD (a plain running sum is a serial chain it may not reorder).
inline float dot_product(const float* a, const float* b, int n) {
  float lanes[8] = {};
  int i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++) lanes[j] += a[i + j] * b[i + j];
  float sum = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
  for (; i < n; i++) sum += a[i] * b[i];
  return sum;
}

}  // namespace omlkit::model
