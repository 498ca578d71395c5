// The CPU reference backend: F32 activations, OpenBLAS sgemm for every linear layer with
// F32 weights, weights kept in BF16/F16 multiplied by cpu/matmul_16bit.h, and a fixed
// thread pool for the rest. Thread count is set once, here, for both OpenBLAS and
// the pool (openblas_set_num_threads is process-wide: one CPU backend per process).
#pragma once

#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "model/backend.h"
#include "model/cpu/thread_pool.h"

namespace omlkit::model {

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int threads);
  std::string name() const override;
  bool reads_mapped_weights() const override { return true; }

  float* allocate(size_t count) override;
  void release(float* buffer) override;
  void upload(float* device_dst, const float* host_src, size_t count) override;
  void download(float* host_dst, const float* device_src, size_t count) override;

  void embedding_forward(float* out, std::span<const int32_t> tokens, const Linear& wte,
                         const float* wpe, int B, int T, int pos0, int C) override;
  void layernorm_forward(float* out, float* mean, float* rstd, const float* inp,
                         const float* weight, const float* bias, int N, int C,
                         float eps) override;
  void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int N,
                       int C, float eps) override;
  void matmul_forward(float* out, const float* inp, int inp_stride, const Linear& layer,
                      int N) override;
  void rope_forward(float* x, int B, int T, int pos0, int row_stride, int n_heads, int hs,
                    float theta) override;
  void kv_cache_store(float* k_cache, float* v_cache, const float* qkv, int B, int T, int pos0,
                      int S, int q_dim, int kv_dim) override;
  void attention_forward(float* out, float* att, const float* q, int q_stride,
                         const float* k_cache, const float* v_cache, int B, int T, int pos0,
                         int S, int H, int KVH, int hs) override;
  void gelu_forward(float* out, const float* inp, size_t n) override;
  void swiglu_forward(float* out, const float* gate_up, int N, int F) override;
  void residual_forward(float* out, const float* a, const float* b, size_t n) override;
  void token_logprob_forward(float* out, const float* logits, std::span<const int32_t> targets,
                             int N, int V) override;
  void gather_rows(float* out, const float* inp, std::span<const int32_t> rows, int C) override;

  // Training: cpu_backward.cpp.
  void zero(float* buffer, size_t count) override;
  void embedding_backward(float* d_wte, float* d_wpe, const float* d_out,
                          std::span<const int32_t> tokens, int B, int T, int C) override;
  void layernorm_backward(float* d_inp, float* d_weight, float* d_bias, const float* d_out,
                          const float* inp, const float* weight, const float* mean,
                          const float* rstd, int N, int C) override;
  void rmsnorm_backward(float* d_inp, float* d_weight, const float* d_out, const float* inp,
                        const float* weight, const float* rstd, int N, int C) override;
  void matmul_backward(float* d_inp, float* d_weight, float* d_bias, const float* d_out,
                       const float* inp, int inp_stride, const Linear& layer, int N) override;
  void rope_backward(float* dx, int B, int T, int pos0, int row_stride, int n_heads, int hs,
                     float theta) override;
  void attention_backward(float* d_qkv, const float* d_out, const float* att, const float* qkv,
                          int B, int T, int S, int H, int KVH, int hs) override;
  void gelu_backward(float* d_inp, const float* inp, const float* d_out, size_t n) override;
  void swiglu_backward(float* d_gate_up, const float* gate_up, const float* d_out, int N,
                       int F) override;
  void cross_entropy_backward(float* logits, float* losses, std::span<const int32_t> targets,
                              int N, int V, float scale) override;
  void distill_backward(float* logits, float* losses, const float* teacher, int N, int V,
                        float scale) override;
  void scatter_rows(float* out, const float* inp, std::span<const int32_t> rows, int C) override;
  double sum_squares(const float* x, size_t n) override;
  void adamw_update(float* params, float* m, float* v, const float* grads, size_t n,
                    const AdamWStep& step) override;

 private:
  // Rotates by +angle (forward) or -angle (backward, the transpose).
  void rotate(float* x, int B, int T, int pos0, int row_stride, int n_heads, int hs,
              float theta, float sin_sign);

  int threads_;
  ThreadPool pool_;
  std::vector<float> widen_tile_;  // matmul_forward_16bit's reusable F32 tile
  // Large allocations are anonymous mappings (zero pages, faulted in on first write, so
  // a buffer costs memory and time only where it is used), remembered here with their
  // sizes for munmap. Guarded: DeviceBuffers may be released from any thread.
  std::mutex mapped_mutex_;
  std::unordered_map<void*, size_t> mapped_;
};

}  // namespace omlkit::model
