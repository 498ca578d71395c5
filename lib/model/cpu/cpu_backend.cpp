#include "model/cpu/cpu_backend.h"

#include <cblas.h>
#include <sys/mman.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "io/error.h"
#include "model/cpu/fast_exp.h"
#include "model/cpu/matmul_16bit.h"

namespace omlkit::model {
namespace {

// Below this many floats of work a loop runs on the calling thread: waking the pool costs
// more (token-by-token generation lives here).
constexpr size_t kMinParallelFloats = 1 << 14;

// From this size up allocate() maps fresh zero pages instead of clearing heap memory.
constexpr size_t kMappedAllocationBytes = size_t(1) << 20;

float gelu_tanh(float x) {
  const float sqrt_2_over_pi = 0.7978845608028654f;
  return 0.5f * x * (1.0f + std::tanh(sqrt_2_over_pi * (x + 0.044715f * x * x * x)));
}

// log(sum(exp(row))) with the max taken out first.
double log_sum_exp(const float* row, int V) {
  float max = row[0];
  for (int i = 1; i < V; i++) max = row[i] > max ? row[i] : max;
  return double(max) + std::log(sum_exp_shifted(row, V, max));
}

}  // namespace

CpuBackend::CpuBackend(int threads) : threads_(threads < 1 ? 1 : threads), pool_(threads_) {
  openblas_set_num_threads(threads_);
}

std::string CpuBackend::name() const {
  return "cpu (OpenBLAS " + std::string(openblas_get_corename()) + ", " +
         std::to_string(threads_) + " threads)";
}

float* CpuBackend::allocate(size_t count) {
  // 64-byte aligned for sgemm. A large buffer is a fresh anonymous mapping: already zero,
  // and untouched pages cost nothing (a flat parameter buffer of which only trained
  // tensors are ever written stays that small); a small one is cleared heap memory.
  size_t bytes = ((count * sizeof(float) + 63) / 64) * 64;
  if (bytes >= kMappedAllocationBytes) {
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
      throw Error(exit_code::internal, "", "out of memory mapping " + std::to_string(bytes) + " bytes");
    std::lock_guard<std::mutex> lock(mapped_mutex_);
    mapped_[p] = bytes;
    return static_cast<float*>(p);
  }
  void* p = std::aligned_alloc(64, bytes == 0 ? 64 : bytes);
  if (!p) throw Error(exit_code::internal, "", "out of memory allocating " + std::to_string(bytes) + " bytes");
  std::memset(p, 0, bytes);
  return static_cast<float*>(p);
}

void CpuBackend::release(float* buffer) {
  {
    std::lock_guard<std::mutex> lock(mapped_mutex_);
    auto it = mapped_.find(buffer);
    if (it != mapped_.end()) {
      munmap(it->first, it->second);
      mapped_.erase(it);
      return;
    }
  }
  std::free(buffer);
}

void CpuBackend::upload(float* device_dst, const float* host_src, size_t count) {
  std::memcpy(device_dst, host_src, count * sizeof(float));
}

void CpuBackend::download(float* host_dst, const float* device_src, size_t count) {
  std::memcpy(host_dst, device_src, count * sizeof(float));
}

void CpuBackend::embedding_forward(float* out, std::span<const int32_t> tokens, const Linear& wte,
                                   const float* wpe, int B, int T, int pos0, int C) {
  for (int b = 0; b < B; b++)
    for (int t = 0; t < T; t++) {
      float* row = out + (size_t(b) * T + t) * C;
      int32_t token = tokens[size_t(b) * T + t];
      if (wte.weight)
        std::memcpy(row, wte.weight + size_t(token) * C, size_t(C) * sizeof(float));
      else
        widen_16bit(wte.dtype16, wte.row16(token), row, size_t(C));
      if (wpe) {
        const float* pos_row = wpe + size_t(pos0 + t) * C;
        for (int c = 0; c < C; c++) row[c] += pos_row[c];
      }
    }
}

void CpuBackend::layernorm_forward(float* out, float* mean, float* rstd, const float* inp,
                                   const float* weight, const float* bias, int N, int C,
                                   float eps) {
  pool_.parallel_for(size_t(N), [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; r++) {
      const float* x = inp + r * C;
      double sum = 0, sum_sq = 0;
      for (int c = 0; c < C; c++) sum += x[c];
      float m = float(sum / C);
      for (int c = 0; c < C; c++) sum_sq += double(x[c] - m) * double(x[c] - m);
      float s = float(1.0 / std::sqrt(sum_sq / C + eps));
      float* y = out + r * C;
      for (int c = 0; c < C; c++) y[c] = (x[c] - m) * s * weight[c] + bias[c];
      mean[r] = m;
      rstd[r] = s;
    }
  }, kMinParallelFloats / size_t(C));
}

void CpuBackend::rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight,
                                 int N, int C, float eps) {
  pool_.parallel_for(size_t(N), [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; r++) {
      const float* x = inp + r * C;
      double sum_sq = 0;
      for (int c = 0; c < C; c++) sum_sq += double(x[c]) * x[c];
      float s = float(1.0 / std::sqrt(sum_sq / C + eps));
      float* y = out + r * C;
      for (int c = 0; c < C; c++) y[c] = weight[c] * (x[c] * s);
      rstd[r] = s;
    }
  }, kMinParallelFloats / size_t(C));
}

void CpuBackend::matmul_forward(float* out, const float* inp, int inp_stride, const Linear& layer,
                                int N) {
  float beta = 0.0f;
  if (layer.bias) {
    for (int r = 0; r < N; r++)
      std::memcpy(out + size_t(r) * layer.out, layer.bias, size_t(layer.out) * sizeof(float));
    beta = 1.0f;
  }
  if (!layer.weight) {
    matmul_forward_16bit(pool_, widen_tile_, out, inp, inp_stride, layer, N);
    return;
  }
  if (N == 1) {  // one row (generation): OpenBLAS 0.3.21's sgemm does not hand M = 1 to sgemv
    if (layer.weight_is_in_out)
      cblas_sgemv(CblasRowMajor, CblasTrans, layer.in, layer.out, 1.0f, layer.weight, layer.out, inp, 1, beta,
                  out, 1);
    else
      cblas_sgemv(CblasRowMajor, CblasNoTrans, layer.out, layer.in, 1.0f, layer.weight, layer.in, inp, 1, beta,
                  out, 1);
    return;
  }
  if (layer.weight_is_in_out)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, layer.out, layer.in, 1.0f, inp,
                inp_stride, layer.weight, layer.out, beta, out, layer.out);
  else
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, layer.out, layer.in, 1.0f, inp,
                inp_stride, layer.weight, layer.in, beta, out, layer.out);
}

void CpuBackend::rope_forward(float* x, int B, int T, int pos0, int row_stride, int n_heads,
                              int hs, float theta) {
  rotate(x, B, T, pos0, row_stride, n_heads, hs, theta, 1.0f);
}

void CpuBackend::rotate(float* x, int B, int T, int pos0, int row_stride, int n_heads, int hs,
                        float theta, float sin_sign) {
  // Hugging Face: inv_freq[i] = 1 / theta^(2i/hs) in F32; pairs (i, i + hs/2) rotate together.
  int half = hs / 2;
  std::vector<float> cos_table(size_t(T) * half), sin_table(size_t(T) * half);
  for (int t = 0; t < T; t++)
    for (int i = 0; i < half; i++) {
      float inv_freq = 1.0f / std::pow(theta, float(2 * i) / float(hs));
      float angle = float(pos0 + t) * inv_freq;
      cos_table[size_t(t) * half + i] = float(std::cos(double(angle)));
      sin_table[size_t(t) * half + i] = sin_sign * float(std::sin(double(angle)));
    }
  for (int b = 0; b < B; b++)
    for (int t = 0; t < T; t++) {
      const float* cos_row = &cos_table[size_t(t) * half];
      const float* sin_row = &sin_table[size_t(t) * half];
      for (int h = 0; h < n_heads; h++) {
        float* v = x + (size_t(b) * T + t) * row_stride + size_t(h) * hs;
        for (int i = 0; i < half; i++) {
          float a = v[i], c = v[i + half];
          v[i] = a * cos_row[i] - c * sin_row[i];
          v[i + half] = c * cos_row[i] + a * sin_row[i];
        }
      }
    }
}

void CpuBackend::kv_cache_store(float* k_cache, float* v_cache, const float* qkv, int B, int T,
                                int pos0, int S, int q_dim, int kv_dim) {
  size_t row = size_t(q_dim) + 2 * size_t(kv_dim);
  for (int b = 0; b < B; b++)
    for (int t = 0; t < T; t++) {
      const float* src = qkv + (size_t(b) * T + t) * row;
      size_t dst = (size_t(b) * S + pos0 + t) * kv_dim;
      std::memcpy(k_cache + dst, src + q_dim, size_t(kv_dim) * sizeof(float));
      std::memcpy(v_cache + dst, src + q_dim + kv_dim, size_t(kv_dim) * sizeof(float));
    }
}

void CpuBackend::attention_forward(float* out, float* att, const float* q, int q_stride,
                                   const float* k_cache, const float* v_cache, int B, int T,
                                   int pos0, int S, int H, int KVH, int hs) {
  const float scale = 1.0f / std::sqrt(float(hs));
  const int group = H / KVH;  // query heads sharing one key/value head
  const size_t kv_dim = size_t(KVH) * hs;
  size_t rows = size_t(B) * H * T;
  pool_.parallel_for(rows, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; r++) {
      int t = int(r % T), h = int(r / T % H), b = int(r / T / H);
      const float* query = q + (size_t(b) * T + t) * q_stride + size_t(h) * hs;
      const float* keys = k_cache + size_t(b) * S * kv_dim + size_t(h / group) * hs;
      const float* values = v_cache + size_t(b) * S * kv_dim + size_t(h / group) * hs;
      float* probs = att + r * S;
      int visible = pos0 + t + 1;
      float max = -INFINITY;
      for (int s = 0; s < visible; s++) {
        const float* key = keys + size_t(s) * kv_dim;
        probs[s] = dot_product(query, key, hs) * scale;
        max = probs[s] > max ? probs[s] : max;
      }
      float sum = 0;
      for (int s = 0; s < visible; s++) {
        probs[s] = std::exp(probs[s] - max);
        sum += probs[s];
      }
      float inv_sum = 1.0f / sum;
      for (int s = 0; s < visible; s++) probs[s] *= inv_sum;
      for (int s = visible; s < S; s++) probs[s] = 0;
      float* y = out + (size_t(b) * T + t) * size_t(H) * hs + size_t(h) * hs;
      for (int i = 0; i < hs; i++) y[i] = 0;
      for (int s = 0; s < visible; s++) {
        const float* value = values + size_t(s) * kv_dim;
        for (int i = 0; i < hs; i++) y[i] += probs[s] * value[i];
      }
    }
  }, kMinParallelFloats / size_t(hs * (pos0 + T)) + 1);
}

void CpuBackend::gelu_forward(float* out, const float* inp, size_t n) {
  pool_.parallel_for(n, [&](size_t i0, size_t i1) {
    for (size_t i = i0; i < i1; i++) out[i] = gelu_tanh(inp[i]);
  }, kMinParallelFloats);
}

void CpuBackend::swiglu_forward(float* out, const float* gate_up, int N, int F) {
  pool_.parallel_for(size_t(N), [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; r++) {
      const float* gate = gate_up + r * 2 * F;
      const float* up = gate + F;
      float* y = out + r * F;
      for (int i = 0; i < F; i++) y[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
    }
  }, kMinParallelFloats / size_t(F) + 1);
}

void CpuBackend::residual_forward(float* out, const float* a, const float* b, size_t n) {
  for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void CpuBackend::token_logprob_forward(float* out, const float* logits,
                                       std::span<const int32_t> targets, int N, int V) {
  pool_.parallel_for(size_t(N), [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; r++) {
      const float* row = logits + r * V;
      out[r] = targets[r] < 0 ? 0.0f : float(double(row[targets[r]]) - log_sum_exp(row, V));
    }
  });
}

void CpuBackend::gather_rows(float* out, const float* inp, std::span<const int32_t> rows, int C) {
  for (size_t i = 0; i < rows.size(); i++)
    std::memcpy(out + i * size_t(C), inp + size_t(rows[i]) * C, size_t(C) * sizeof(float));
}

}  // namespace omlkit::model
