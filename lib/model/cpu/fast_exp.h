// Sum of exp(x[i] - shift) over a row of logits: the inner loop of log-softmax, which over
// a 50k vocabulary costs more than the LM head's sgemm when done with scalar exp().
#pragma once

namespace omlkit::model {

// Sum over i < n of exp(x[i] - shift), for x[i] <= shift. Uses AVX2 when the CPU has it
// (relative error below 1e-6), plain std::exp otherwise.
double sum_exp_shifted(const float* x, int n, float shift);

}  // namespace omlkit::model
