// The compute backend: device memory plus one entry point per layer kernel.
//
// The transformer (model/transformer.h) is written once against this interface and never
// touches device memory itself, so a backend owns all placement and parallelism:
// `cpu/` is the reference (OpenBLAS sgemm and a fixed thread pool); part 2 adds
// `cuda/` (cuBLAS) beside it, and the `*_backward` twin of every `*_forward` below with
// the same shapes. Buffers hold F32; pointers returned by allocate() are device pointers.
//
// Shapes: B batch, T positions computed in this call, S positions held in the KV cache,
// C channels, N = B*T rows, V vocabulary, H query heads, KVH key/value heads, hs head dim.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>

namespace omlkit::model {

// A linear layer y = x W^T + b. Hugging Face stores nn.Linear weights as (out, in) and
// GPT-2's Conv1D as (in, out); both are used where they lie, without a transposed copy.
struct Linear {
  const float* weight = nullptr;
  const float* bias = nullptr;  // may be null
  int in = 0;
  int out = 0;
  bool weight_is_in_out = false;  // Conv1D layout
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;

  // Memory. allocate() returns zero-filled device memory for `count` floats.
  virtual float* allocate(size_t count) = 0;
  virtual void release(float* buffer) = 0;
  virtual void upload(float* device_dst, const float* host_src, size_t count) = 0;
  virtual void download(float* host_dst, const float* device_src, size_t count) = 0;

  // out (B,T,C) = wte[tokens] (+ wpe[pos0 + t] when wpe is not null); tokens (B,T) on host.
  virtual void embedding_forward(float* out, std::span<const int32_t> tokens, const float* wte,
                                 const float* wpe, int B, int T, int pos0, int C) = 0;
  // out (N,C) = LayerNorm(inp); mean, rstd (N) are kept for the backward pass.
  virtual void layernorm_forward(float* out, float* mean, float* rstd, const float* inp,
                                 const float* weight, const float* bias, int N, int C,
                                 float eps) = 0;
  // out (N,C) = RMSNorm(inp); rstd (N) kept for the backward pass.
  virtual void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight,
                               int N, int C, float eps) = 0;
  // out (N,layer.out) = inp (N,layer.in) W^T + b; inp rows are inp_stride floats apart.
  virtual void matmul_forward(float* out, const float* inp, int inp_stride, const Linear& layer,
                              int N) = 0;
  // In place on x (B,T,row_stride): rotates n_heads heads of hs starting at each row, at
  // positions pos0..pos0+T-1 (Hugging Face rotate_half layout).
  virtual void rope_forward(float* x, int B, int T, int pos0, int row_stride, int n_heads,
                            int hs, float theta) = 0;
  // Copies k and v from qkv (N, H*hs + 2*KVH*hs) into caches (B,S,KVH*hs) at pos0..pos0+T-1.
  virtual void kv_cache_store(float* k_cache, float* v_cache, const float* qkv, int B, int T,
                              int pos0, int S, int q_dim, int kv_dim) = 0;
  // Causal attention of the queries in qkv (rows q_stride apart) over cache positions
  // [0, pos0+t]: out (N,H*hs); att (B,H,T,S) keeps the probabilities for the backward pass.
  virtual void attention_forward(float* out, float* att, const float* q, int q_stride,
                                 const float* k_cache, const float* v_cache, int B, int T,
                                 int pos0, int S, int H, int KVH, int hs) = 0;
  // out (n) = GELU-tanh(inp).
  virtual void gelu_forward(float* out, const float* inp, size_t n) = 0;
  // out (N,F) = SiLU(gate_up[:, :F]) * gate_up[:, F:]; gate_up (N,2F).
  virtual void swiglu_forward(float* out, const float* gate_up, int N, int F) = 0;
  // out (n) = a + b.
  virtual void residual_forward(float* out, const float* a, const float* b, size_t n) = 0;
  // out (N) = log softmax(logits (N,V))[targets]; targets (N) on host, -1 gives 0.
  virtual void token_logprob_forward(float* out, const float* logits,
                                     std::span<const int32_t> targets, int N, int V) = 0;
};

// Owns one device allocation.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(Backend& backend, size_t count)
      : backend_(&backend), data_(backend.allocate(count)), count_(count) {}
  ~DeviceBuffer() { reset(); }
  DeviceBuffer(DeviceBuffer&& o) noexcept { *this = std::move(o); }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      reset();
      std::swap(backend_, o.backend_);
      std::swap(data_, o.data_);
      std::swap(count_, o.count_);
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  float* data() const { return data_; }
  size_t size() const { return count_; }
  void reset() {
    if (data_) backend_->release(data_);
    data_ = nullptr;
    count_ = 0;
  }

 private:
  Backend* backend_ = nullptr;
  float* data_ = nullptr;
  size_t count_ = 0;
};

}  // namespace omlkit::model
