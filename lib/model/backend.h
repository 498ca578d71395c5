// The compute backend: device memory plus one entry point per layer kernel.
//
// The transformer (model/transformer.h) is written once against this interface and never
// touches device memory itself, so a backend owns all placement and parallelism:
// `cpu/` is the reference (OpenBLAS sgemm and a fixed thread pool); `cuda/` (cuBLAS) sits
// beside it. Every `*_forward` has a `*_backward` twin with the same shapes. Buffers hold
// F32; pointers returned by allocate() are device pointers.
//
// Backward conventions: weight gradients accumulate (+=), so micro-batches and tied
// weights add up, and a null weight gradient means "frozen, skip it". Gradients of
// activations are overwritten, except the norms' d_inp, which accumulates because it is
// the residual stream's gradient. A backend must give bit-identical results for identical
// calls (fixed partitions, ordered reductions): training is deterministic.
//
// Weights: device F32, or, on a backend whose reads_mapped_weights() is true (the CPU
// one), host memory where the checkpoint's memory map holds them: F32 pointers as they
// are, and BF16/F16 matrices (Linear::blocks16) widened inside the kernel. The CUDA backend
// widens every weight to an F32 device copy at load instead.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>

#include "model/dtype.h"

namespace omlkit::model {

// Hyper-parameters of one AdamW update (PyTorch's torch.optim.AdamW, decoupled decay).
struct AdamWStep {
  float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.0f;
  int t = 1;                // 1-based step number, for the bias corrections
  float grad_scale = 1.0f;  // multiplies every gradient first (clipping)
};

// A linear layer y = x W^T + b. Hugging Face stores nn.Linear weights as (out, in) and
// GPT-2's Conv1D as (in, out); both are used where they lie, without a transposed copy.
struct Linear {
  const float* weight = nullptr;  // F32; null when the matrix is given in 16 bits below
  const float* bias = nullptr;  // may be null, always F32
  int in = 0;
  int out = 0;
  bool weight_is_in_out = false;  // Conv1D layout

  // With weight null: the matrix in dtype16 (BF16 or F16), host memory, as consecutive
  // blocks of rows of the stored layout, e.g. Llama's q, k and v tensors, which lie apart
  // in the file, read as the one (q+k+v, in) matrix. Unused blocks have rows = 0.
  struct Block16 {
    const uint16_t* data = nullptr;
    int rows = 0;
  };
  static constexpr int kMaxBlocks = 3;
  std::array<Block16, kMaxBlocks> blocks16{};
  DType dtype16 = DType::BF16;

  // Row r of the stored layout ((out,in) or, Conv1D, (in,out)) in 16 bits.
  const uint16_t* row16(int r) const {
    int row_length = weight_is_in_out ? out : in;
    for (const Block16& b : blocks16) {
      if (r < b.rows) return b.data + size_t(r) * size_t(row_length);
      r -= b.rows;
    }
    return nullptr;
  }
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  // Whether weights may be host memory (a checkpoint's mapping), F32 or, for a Linear,
  // 16 bits (Linear::blocks16).
  virtual bool reads_mapped_weights() const { return false; }

  // Memory. allocate() returns zero-filled device memory for `count` floats.
  virtual float* allocate(size_t count) = 0;
  virtual void release(float* buffer) = 0;
  virtual void upload(float* device_dst, const float* host_src, size_t count) = 0;
  virtual void download(float* host_dst, const float* device_src, size_t count) = 0;

  // out (B,T,C) = wte[tokens] (+ wpe[pos0 + t] when wpe is not null); tokens (B,T) on host.
  // wte is the (V,C) table as a Linear (in = C, out = V): with a tied head, the head itself.
  virtual void embedding_forward(float* out, std::span<const int32_t> tokens, const Linear& wte,
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
  // out (R,C) = row rows[i] of inp (rows of C floats) for each i; rows (R) on host, each
  // a valid row of inp. Lets the LM head run on the rows whose logits are needed only.
  virtual void gather_rows(float* out, const float* inp, std::span<const int32_t> rows,
                           int C) = 0;

  // ---- Training ----
  virtual void zero(float* buffer, size_t count) = 0;
  // d_wte (V,C) += d_out (B,T,C) at each token's row; d_wpe (T,C) += d_out summed over b
  // (positions start at 0). Either may be null.
  virtual void embedding_backward(float* d_wte, float* d_wpe, const float* d_out,
                                  std::span<const int32_t> tokens, int B, int T, int C) = 0;
  // d_inp (N,C) += d LayerNorm; d_weight, d_bias (C) +=. d_inp may be null.
  virtual void layernorm_backward(float* d_inp, float* d_weight, float* d_bias,
                                  const float* d_out, const float* inp, const float* weight,
                                  const float* mean, const float* rstd, int N, int C) = 0;
  // d_inp (N,C) += d RMSNorm; d_weight (C) +=. d_inp may be null.
  virtual void rmsnorm_backward(float* d_inp, float* d_weight, const float* d_out,
                                const float* inp, const float* weight, const float* rstd,
                                int N, int C) = 0;
  // d_inp (N,layer.in) = d_out (N,layer.out) W, overwritten, may be null; d_weight += the
  // weight's gradient in the weight's own layout; d_bias (layer.out) += column sums of d_out.
  virtual void matmul_backward(float* d_inp, float* d_weight, float* d_bias, const float* d_out,
                               const float* inp, int inp_stride, const Linear& layer, int N) = 0;
  // In place on dx, shaped as rope_forward's x: the transpose of that rotation.
  virtual void rope_backward(float* dx, int B, int T, int pos0, int row_stride, int n_heads,
                             int hs, float theta) = 0;
  // d_qkv (N, H*hs + 2*KVH*hs), overwritten: the gradient of attention_forward at pos0 = 0
  // with its keys and values in the qkv rows; d_out (N,H*hs); att (B,H,T,S) as saved.
  virtual void attention_backward(float* d_qkv, const float* d_out, const float* att,
                                  const float* qkv, int B, int T, int S, int H, int KVH,
                                  int hs) = 0;
  // d_inp (n) = d_out * GELU-tanh'(inp).
  virtual void gelu_backward(float* d_inp, const float* inp, const float* d_out, size_t n) = 0;
  // d_gate_up (N,2F) from d_out (N,F) and the saved gate_up (N,2F).
  virtual void swiglu_backward(float* d_gate_up, const float* gate_up, const float* d_out,
                               int N, int F) = 0;
  // Fused softmax cross-entropy, in place: logits (N,V) become scale * d(loss)/d(logits);
  // losses (N) = -log softmax(logits)[target]. Rows whose target is -1 (host, N) get loss 0
  // and a zero gradient: the loss mask.
  virtual void cross_entropy_backward(float* logits, float* losses,
                                      std::span<const int32_t> targets, int N, int V,
                                      float scale) = 0;
  // Distillation, in place: with p = softmax(teacher) and q = softmax(logits) row by row
  // (both (N,V), device), logits become scale * (q - p) = scale * d(loss)/d(logits) and
  // losses (N) = KL(p || q) = sum p (log p - log q).
  virtual void distill_backward(float* logits, float* losses, const float* teacher, int N, int V,
                                float scale) = 0;
  // Row rows[i] of out (rows of C floats) = row i of inp (R,C); the other rows of out are
  // left as they are. rows (R) on host, distinct. The transpose of gather_rows.
  virtual void scatter_rows(float* out, const float* inp, std::span<const int32_t> rows,
                            int C) = 0;
  // Sum of x[i]^2 over n floats, accumulated in double.
  virtual double sum_squares(const float* x, size_t n) = 0;
  // One AdamW update of n parameters with their moments m, v (n each) and gradients.
  virtual void adamw_update(float* params, float* m, float* v, const float* grads, size_t n,
                            const AdamWStep& step) = 0;
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
