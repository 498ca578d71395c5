// The CPU backend's training kernels: the backward twin of every forward kernel, the fused
// softmax cross-entropy, and AdamW. Each reduction runs over a fixed partition in a fixed
// order (columns owned by one thread, row sums in row order), so results never depend on
// timing: the same inputs and thread count give the same bits.
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "io/error.h"
#include "model/cpu/cpu_backend.h"
#include "model/cpu/fast_exp.h"

namespace omlkit::model {
namespace {

constexpr size_t kMinParallelFloats = 1 << 14;

// Adds the column sums of rows (N, cols; rows `stride` apart) into out (cols), columns
// split between threads so that each sum runs in row order.
void add_column_sums(ThreadPool& pool, float* out, const float* rows, int N, int cols, int stride) {
  pool.parallel_for(size_t(cols), [&](size_t c0, size_t c1) {
    for (int r = 0; r < N; r++) {
      const float* row = rows + size_t(r) * stride;
      for (size_t c = c0; c < c1; c++) out[c] += row[c];
    }
  }, kMinParallelFloats / size_t(N > 0 ? N : 1) + 1);
}

}  // namespace

void CpuBackend::zero(float* buffer, size_t count) { std::memset(buffer, 0, count * sizeof(float)); }

void CpuBackend::embedding_backward(float* d_wte, float* d_wpe, const float* d_out,
                                    std::span<const int32_t> tokens, int B, int T, int C) {
  pool_.parallel_for(size_t(C), [&](size_t c0, size_t c1) {
    for (int b = 0; b < B; b++)
      for (int t = 0; t < T; t++) {
        const float* g = d_out + (size_t(b) * T + t) * C;
        if (d_wte) {
          float* token_row = d_wte + size_t(tokens[size_t(b) * T + t]) * C;
          for (size_t c = c0; c < c1; c++) token_row[c] += g[c];
        }
        if (d_wpe)
          for (size_t c = c0; c < c1; c++) d_wpe[size_t(t) * C + c] += g[c];
      }
  }, size_t(B) * T * C >= kMinParallelFloats ? 1 : size_t(C) + 1);
}

void CpuBackend::layernorm_backward(float* d_inp, float* d_weight, float* d_bias,
                                    const float* d_out, const float* inp, const float* weight,
                                    const float* mean, const float* rstd, int N, int C) {
  // x̂ = (x - mean) rstd, y = w x̂ + b:
  // dx = rstd (w dy - mean(w dy) - x̂ mean(w dy x̂)), dw += dy x̂, db += dy.
  if (d_inp)
    pool_.parallel_for(size_t(N), [&](size_t r0, size_t r1) {
      for (size_t r = r0; r < r1; r++) {
        const float* x = inp + r * C;
        const float* dy = d_out + r * C;
        float m = mean[r], s = rstd[r];
        double sum_g = 0, sum_gx = 0;
        for (int c = 0; c < C; c++) {
          float g = weight[c] * dy[c];
          sum_g += g;
          sum_gx += double(g) * ((x[c] - m) * s);
        }
        float mean_g = float(sum_g / C), mean_gx = float(sum_gx / C);
        float* dx = d_inp + r * C;
        for (int c = 0; c < C; c++)
          dx[c] += s * (weight[c] * dy[c] - mean_g - (x[c] - m) * s * mean_gx);
      }
    }, kMinParallelFloats / size_t(C) + 1);
  if (d_weight)
    pool_.parallel_for(size_t(C), [&](size_t c0, size_t c1) {
      for (int r = 0; r < N; r++) {
        const float* x = inp + size_t(r) * C;
        const float* dy = d_out + size_t(r) * C;
        for (size_t c = c0; c < c1; c++) {
          d_weight[c] += dy[c] * ((x[c] - mean[r]) * rstd[r]);
          d_bias[c] += dy[c];
        }
      }
    }, kMinParallelFloats / size_t(N) + 1);
}

void CpuBackend::rmsnorm_backward(float* d_inp, float* d_weight, const float* d_out,
                                  const float* inp, const float* weight, const float* rstd,
                                  int N, int C) {
  // y = w x r with r = 1/sqrt(mean(x²) + eps): dx = r w dy - x r³ mean(w dy x), dw += dy x r.
  if (d_inp)
    pool_.parallel_for(size_t(N), [&](size_t r0, size_t r1) {
      for (size_t r = r0; r < r1; r++) {
        const float* x = inp + r * C;
        const float* dy = d_out + r * C;
        float s = rstd[r];
        double sum_gx = 0;
        for (int c = 0; c < C; c++) sum_gx += double(weight[c] * dy[c]) * x[c];
        float k = float(sum_gx / C) * s * s * s;
        float* dx = d_inp + r * C;
        for (int c = 0; c < C; c++) dx[c] += s * weight[c] * dy[c] - x[c] * k;
      }
    }, kMinParallelFloats / size_t(C) + 1);
  if (d_weight)
    pool_.parallel_for(size_t(C), [&](size_t c0, size_t c1) {
      for (int r = 0; r < N; r++) {
        const float* x = inp + size_t(r) * C;
        const float* dy = d_out + size_t(r) * C;
        for (size_t c = c0; c < c1; c++) d_weight[c] += dy[c] * (x[c] * rstd[r]);
      }
    }, kMinParallelFloats / size_t(N) + 1);
}

void CpuBackend::matmul_backward(float* d_inp, float* d_weight, float* d_bias, const float* d_out,
                                 const float* inp, int inp_stride, const Linear& layer, int N) {
  const int in = layer.in, out = layer.out;
  // The Transformer widens every matrix the backward pass reads (set_trainable).
  if ((d_inp || d_weight) && !layer.weight)
    throw Error(exit_code::internal, "", "matmul_backward: a 16-bit weight has no F32 copy to train");
  if (layer.weight_is_in_out) {  // y = x W, W (in,out): dx = dy Wᵀ, dW += xᵀ dy
    if (d_inp)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, in, out, 1.0f, d_out, out, layer.weight, out,
                  0.0f, d_inp, in);
    if (d_weight)
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, in, out, N, 1.0f, inp, inp_stride, d_out, out,
                  1.0f, d_weight, out);
  } else {  // y = x Wᵀ, W (out,in): dx = dy W, dW += dyᵀ x
    if (d_inp)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, in, out, 1.0f, d_out, out, layer.weight, in,
                  0.0f, d_inp, in);
    if (d_weight)
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, N, 1.0f, d_out, out, inp, inp_stride,
                  1.0f, d_weight, in);
  }
  if (d_bias) add_column_sums(pool_, d_bias, d_out, N, out, out);
}

void CpuBackend::rope_backward(float* dx, int B, int T, int pos0, int row_stride, int n_heads, int hs,
                               float theta) {
  rotate(dx, B, T, pos0, row_stride, n_heads, hs, theta, -1.0f);
}

void CpuBackend::attention_backward(float* d_qkv, const float* d_out, const float* att,
                                    const float* qkv, int B, int T, int S, int H, int KVH, int hs) {
  const float scale = 1.0f / std::sqrt(float(hs));
  const int group = H / KVH;
  const size_t q_dim = size_t(H) * hs, kv_dim = size_t(KVH) * hs, row = q_dim + 2 * kv_dim;
  // One task per (b, key/value head): it alone writes that head's dk, dv and its query
  // heads' dq, so the sums over query heads and positions run in a fixed order.
  pool_.parallel_for(size_t(B) * KVH, [&](size_t i0, size_t i1) {
    std::vector<float> d_probs(static_cast<size_t>(T));
    for (size_t i = i0; i < i1; i++) {
      int b = int(i / KVH), kvh = int(i % KVH);
      const float* keys = qkv + size_t(b) * T * row + q_dim + size_t(kvh) * hs;
      const float* values = keys + kv_dim;
      float* d_keys = d_qkv + size_t(b) * T * row + q_dim + size_t(kvh) * hs;
      float* d_values = d_keys + kv_dim;
      for (int s = 0; s < T; s++) {
        std::memset(d_keys + size_t(s) * row, 0, size_t(hs) * sizeof(float));
        std::memset(d_values + size_t(s) * row, 0, size_t(hs) * sizeof(float));
      }
      for (int h = kvh * group; h < (kvh + 1) * group; h++)
        for (int t = 0; t < T; t++) {
          const float* probs = att + ((size_t(b) * H + h) * T + t) * S;
          const float* dy = d_out + (size_t(b) * T + t) * q_dim + size_t(h) * hs;
          const float* query = qkv + (size_t(b) * T + t) * row + size_t(h) * hs;
          float* d_query = d_qkv + (size_t(b) * T + t) * row + size_t(h) * hs;
          // softmax backward: d_score[s] = p[s] (dp[s] - Σ p dp), with dp[s] = dy · v[s].
          float p_dot_dp = 0;
          for (int s = 0; s <= t; s++) {
            const float* value = values + size_t(s) * row;
            float dp = dot_product(dy, value, hs);
            d_probs[size_t(s)] = dp;
            p_dot_dp += probs[s] * dp;
          }
          for (int k = 0; k < hs; k++) d_query[k] = 0;
          for (int s = 0; s <= t; s++) {
            float d_score = probs[s] * (d_probs[size_t(s)] - p_dot_dp) * scale;
            const float* key = keys + size_t(s) * row;
            float* d_key = d_keys + size_t(s) * row;
            float* d_value = d_values + size_t(s) * row;
            for (int k = 0; k < hs; k++) {
              d_query[k] += d_score * key[k];
              d_key[k] += d_score * query[k];
              d_value[k] += probs[s] * dy[k];
            }
          }
        }
    }
  });
}

void CpuBackend::gelu_backward(float* d_inp, const float* inp, const float* d_out, size_t n) {
  const float k = 0.7978845608028654f;  // sqrt(2/pi)
  pool_.parallel_for(n, [&](size_t i0, size_t i1) {
    for (size_t i = i0; i < i1; i++) {
      float x = inp[i];
      float th = std::tanh(k * (x + 0.044715f * x * x * x));
      float grad = 0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * k * (1.0f + 3.0f * 0.044715f * x * x);
      d_inp[i] = grad * d_out[i];
    }
  }, kMinParallelFloats);
}

void CpuBackend::swiglu_backward(float* d_gate_up, const float* gate_up, const float* d_out, int N, int F) {
  pool_.parallel_for(size_t(N), [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; r++) {
      const float* gate = gate_up + r * 2 * F;
      const float* up = gate + F;
      const float* dy = d_out + r * F;
      float* d_gate = d_gate_up + r * 2 * F;
      float* d_up = d_gate + F;
      for (int i = 0; i < F; i++) {
        float sig = 1.0f / (1.0f + std::exp(-gate[i]));
        float silu = gate[i] * sig;
        d_gate[i] = dy[i] * up[i] * sig * (1.0f + gate[i] * (1.0f - sig));
        d_up[i] = dy[i] * silu;
      }
    }
  }, kMinParallelFloats / size_t(F) + 1);
}

void CpuBackend::cross_entropy_backward(float* logits, float* losses, std::span<const int32_t> targets,
                                        int N, int V, float scale) {
  pool_.parallel_for(size_t(N), [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; r++) {
      float* row = logits + r * V;
      int32_t target = targets[r];
      if (target < 0) {
        std::memset(row, 0, size_t(V) * sizeof(float));
        losses[r] = 0;
        continue;
      }
      float max = row[0];
      for (int i = 1; i < V; i++) max = row[i] > max ? row[i] : max;
      float target_logit = row[target];
      double sum = exp_shifted(row, row, V, max);  // row now holds exp(logit - max)
      losses[r] = float(std::log(sum) - (double(target_logit) - max));
      float k = float(double(scale) / sum);
      for (int i = 0; i < V; i++) row[i] *= k;
      row[target] -= scale;
    }
  });
}

void CpuBackend::distill_backward(float* logits, float* losses, const float* teacher, int N, int V,
                                  float scale) {
  pool_.parallel_for(size_t(N), [&](size_t r0, size_t r1) {
    std::vector<float> p(static_cast<size_t>(V));
    for (size_t r = r0; r < r1; r++) {
      float* row = logits + r * V;
      const float* t = teacher + r * V;
      const float q_max = *std::max_element(row, row + V), p_max = *std::max_element(t, t + V);
      // log q_i = row_i - q_max - log q_sum, likewise p; KL = sum p_i (log p_i - log q_i).
      const double p_log_sum = std::log(exp_shifted(t, p.data(), V, p_max));
      const double q_log_sum = std::log(sum_exp_shifted(row, V, q_max));
      const float p_norm = float(std::exp(-p_log_sum));
      double kl = 0;
      for (int i = 0; i < V; i++) {
        const double log_p = double(t[i]) - p_max - p_log_sum, log_q = double(row[i]) - q_max - q_log_sum;
        const float q = float(std::exp(log_q)), p_i = p[size_t(i)] * p_norm;
        kl += double(p_i) * (log_p - log_q);
        row[i] = scale * (q - p_i);
      }
      losses[r] = float(kl);
    }
  });
}

void CpuBackend::scatter_rows(float* out, const float* inp, std::span<const int32_t> rows, int C) {
  for (size_t i = 0; i < rows.size(); i++)
    std::memcpy(out + size_t(rows[i]) * C, inp + i * size_t(C), size_t(C) * sizeof(float));
}

double CpuBackend::sum_squares(const float* x, size_t n) {
  // Fixed chunks summed in order: the result does not depend on the thread count.
  constexpr size_t chunk = 1 << 16;
  std::vector<double> partial((n + chunk - 1) / chunk);
  pool_.parallel_for(partial.size(), [&](size_t c0, size_t c1) {
    for (size_t c = c0; c < c1; c++) {
      double sum = 0;
      for (size_t i = c * chunk; i < std::min(n, (c + 1) * chunk); i++) sum += double(x[i]) * x[i];
      partial[c] = sum;
    }
  });
  double total = 0;
  for (double p : partial) total += p;
  return total;
}

void CpuBackend::adamw_update(float* params, float* m, float* v, const float* grads, size_t n,
                              const AdamWStep& h) {
  // torch.optim.AdamW (single-tensor path), in the same order of operations.
  const float decay = 1.0f - h.lr * h.weight_decay;
  const float step_size = float(h.lr / (1.0 - std::pow(double(h.beta1), h.t)));
  const float bias_correction2_sqrt = float(std::sqrt(1.0 - std::pow(double(h.beta2), h.t)));
  pool_.parallel_for(n, [&](size_t i0, size_t i1) {
    for (size_t i = i0; i < i1; i++) {
      float g = grads[i] * h.grad_scale;
      float p = params[i] * decay;
      m[i] += (1.0f - h.beta1) * (g - m[i]);
      v[i] = v[i] * h.beta2 + (1.0f - h.beta2) * g * g;
      float denom = std::sqrt(v[i]) / bias_correction2_sqrt + h.eps;
      params[i] = p - step_size * (m[i] / denom);
    }
  }, kMinParallelFloats);
}

}  // namespace omlkit::model
