// The CPU reference backend: F32 everywhere, OpenBLAS sgemm for every linear layer, and a
// fixed thread pool for the rest. Thread count is set once, here, for both OpenBLAS and
// the pool (openblas_set_num_threads is process-wide: one CPU backend per process).
#pragma once

#include <memory>

#include "model/backend.h"
#include "model/cpu/thread_pool.h"

namespace omlkit::model {

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int threads);
  std::string name() const override;

  float* allocate(size_t count) override;
  void release(float* buffer) override;
  void upload(float* device_dst, const float* host_src, size_t count) override;
  void download(float* host_dst, const float* device_src, size_t count) override;

  void embedding_forward(float* out, std::span<const int32_t> tokens, const float* wte,
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

 private:
  int threads_;
  ThreadPool pool_;
};

}  // namespace omlkit::model
