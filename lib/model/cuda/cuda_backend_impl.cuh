// The class behind make_cuda_backend() and the helpers its two .cu files share:
// cuda_backend.cu (memory, cuBLAS matmuls, forward kernels) and cuda_backward.cu.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>
#include <vector>

#include "io/error.h"
#include "model/backend.h"

namespace omlkit::model {

void cuda_check(cudaError_t status, const char* what);
void cublas_check(cublasStatus_t status, const char* what);

constexpr int kThreads = 256;
inline unsigned blocks_for(size_t n) { return unsigned((n + kThreads - 1) / kThreads); }

// Sum (or max) of one value per thread over a block of kThreads threads, in a fixed tree
// order; every thread gets the result.
__device__ inline float block_reduce(float value, bool is_max) {
  __shared__ float shared[kThreads];
  __syncthreads();
  shared[threadIdx.x] = value;
  __syncthreads();
  for (int stride = kThreads / 2; stride > 0; stride /= 2) {
    if (int(threadIdx.x) < stride) {
      float other = shared[threadIdx.x + stride];
      shared[threadIdx.x] = is_max ? fmaxf(shared[threadIdx.x], other) : shared[threadIdx.x] + other;
    }
    __syncthreads();
  }
  return shared[0];
}

// out[out_rows ? out_rows[i] : i] = inp[inp_rows ? inp_rows[i] : i] for R rows of C floats.
void copy_rows_launch(float* out, const int32_t* out_rows, const float* inp, const int32_t* inp_rows, size_t R, int C);

// Rotates n_heads heads of hs in each row by +angle (sin_sign 1) or -angle (-1).
void rope_launch(float* x, int B, int T, int pos0, int row_stride, int n_heads, int hs, float theta, float sin_sign);

class CudaBackend final : public Backend {
 public:
  CudaBackend(int device, cublasHandle_t handle);
  ~CudaBackend() override;
  std::string name() const override { return name_; }

  float* allocate(size_t count) override;
  void release(float* buffer) override;
  void upload(float* device_dst, const float* host_src, size_t count) override;
  void download(float* host_dst, const float* device_src, size_t count) override;

  void embedding_forward(float* out, std::span<const int32_t> tokens, const Linear& wte, const float* wpe, int B,
                         int T, int pos0, int C) override;
  void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                         const float* bias, int N, int C, float eps) override;
  void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int N, int C,
                       float eps) override;
  void matmul_forward(float* out, const float* inp, int inp_stride, const Linear& layer, int N) override;
  void rope_forward(float* x, int B, int T, int pos0, int row_stride, int n_heads, int hs, float theta) override;
  void kv_cache_store(float* k_cache, float* v_cache, const float* qkv, int B, int T, int pos0, int S,
                      int q_dim, int kv_dim) override;
  void attention_forward(float* out, float* att, const float* q, int q_stride, const float* k_cache,
                         const float* v_cache, int B, int T, int pos0, int S, int H, int KVH, int hs) override;
  void gelu_forward(float* out, const float* inp, size_t n) override;
  void swiglu_forward(float* out, const float* gate_up, int N, int F) override;
  void residual_forward(float* out, const float* a, const float* b, size_t n) override;
  void token_logprob_forward(float* out, const float* logits, std::span<const int32_t> targets, int N,
                             int V) override;
  void gather_rows(float* out, const float* inp, std::span<const int32_t> rows, int C) override;

  // cuda_backward.cu
  void zero(float* buffer, size_t count) override;
  void embedding_backward(float* d_wte, float* d_wpe, const float* d_out, std::span<const int32_t> tokens, int B,
                          int T, int C) override;
  void layernorm_backward(float* d_inp, float* d_weight, float* d_bias, const float* d_out, const float* inp,
                          const float* weight, const float* mean, const float* rstd, int N, int C) override;
  void rmsnorm_backward(float* d_inp, float* d_weight, const float* d_out, const float* inp, const float* weight,
                        const float* rstd, int N, int C) override;
  void matmul_backward(float* d_inp, float* d_weight, float* d_bias, const float* d_out, const float* inp,
                       int inp_stride, const Linear& layer, int N) override;
  void rope_backward(float* dx, int B, int T, int pos0, int row_stride, int n_heads, int hs, float theta) override;
  void attention_backward(float* d_qkv, const float* d_out, const float* att, const float* qkv, int B, int T, int S,
                          int H, int KVH, int hs) override;
  void gelu_backward(float* d_inp, const float* inp, const float* d_out, size_t n) override;
  void swiglu_backward(float* d_gate_up, const float* gate_up, const float* d_out, int N, int F) override;
  void cross_entropy_backward(float* logits, float* losses, std::span<const int32_t> targets, int N, int V,
                              float scale) override;
  void distill_backward(float* logits, float* losses, const float* teacher, int N, int V, float scale) override;
  void scatter_rows(float* out, const float* inp, std::span<const int32_t> rows, int C) override;
  double sum_squares(const float* x, size_t n) override;
  void adamw_update(float* params, float* m, float* v, const float* grads, size_t n, const AdamWStep& step) override;

 private:
  // Copies host ids to a device buffer that grows as needed; valid until the next call.
  const int32_t* upload_ids(std::span<const int32_t> ids);
  float* scratch(size_t count);  // a device buffer that grows as needed

  int device_;
  cublasHandle_t cublas_;
  std::string name_;
  int32_t* ids_ = nullptr;
  size_t ids_capacity_ = 0;
  float* scratch_ = nullptr;
  size_t scratch_capacity_ = 0;
};

}  // namespace omlkit::model
