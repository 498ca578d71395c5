// The cuBLAS backend's training kernels. Every sum over rows runs in one thread in row
// order, and every sum within a row in block_reduce's fixed tree: no atomics, so the same
// inputs give the same bits on a given GPU.
#include <cmath>

#include "model/cuda/cuda_backend_impl.cuh"

namespace omlkit::model {
namespace {

__global__ void embedding_backward_kernel(float* d_wte, float* d_wpe, const float* d_out, const int32_t* tokens,
                                          int N, int T, int C) {
  int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  for (int r = 0; r < N; r++) {
    float g = d_out[size_t(r) * C + c];
    if (d_wte) d_wte[size_t(tokens[r]) * C + c] += g;
    if (d_wpe) d_wpe[size_t(r % T) * C + c] += g;
  }
}

// d_inp (+=) for LayerNorm (has_mean) or RMSNorm, one block per row.
__global__ void norm_backward_input_kernel(float* d_inp, const float* d_out, const float* inp, const float* weight,
                                           const float* mean, const float* rstd, int C) {
  size_t r = blockIdx.x;
  const float *x = inp + r * C, *dy = d_out + r * C;
  float m = mean ? mean[r] : 0.0f, s = rstd[r];
  float sum_g = 0, sum_gx = 0;
  for (int c = threadIdx.x; c < C; c += blockDim.x) {
    float g = weight[c] * dy[c];
    sum_g += g;
    sum_gx += g * (mean ? (x[c] - m) * s : x[c]);
  }
  float mean_g = block_reduce(sum_g, false) / C;
  float mean_gx = block_reduce(sum_gx, false) / C;
  float* dx = d_inp + r * C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) {
    float g = weight[c] * dy[c];
    dx[c] += mean ? s * (g - mean_g - (x[c] - m) * s * mean_gx) : s * g - x[c] * mean_gx * s * s * s;
  }
}

// d_weight (and d_bias) += per column, rows in order.
__global__ void norm_backward_weight_kernel(float* d_weight, float* d_bias, const float* d_out, const float* inp,
                                            const float* mean, const float* rstd, int N, int C) {
  int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  float dw = 0, db = 0;
  for (int r = 0; r < N; r++) {
    float x = inp[size_t(r) * C + c], dy = d_out[size_t(r) * C + c];
    dw += dy * (mean ? (x - mean[r]) * rstd[r] : x * rstd[r]);
    db += dy;
  }
  d_weight[c] += dw;
  if (d_bias) d_bias[c] += db;
}

__global__ void column_sums_kernel(float* out, const float* rows, int N, int cols) {
  int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= cols) return;
  float sum = 0;
  for (int r = 0; r < N; r++) sum += rows[size_t(r) * cols + c];
  out[c] += sum;
}

// d_score (B,H,T,S) = p (dp - Σ p dp) scale with dp[s] = dy · v[s]; one block per query row.
__global__ void attention_scores_backward_kernel(float* d_scores, const float* d_out, const float* att,
                                                 const float* qkv, int T, int S, int H, int KVH, int hs) {
  size_t r = blockIdx.x;
  int t = int(r % T), h = int(r / T % H), b = int(r / T / H);
  size_t q_dim = size_t(H) * hs, kv_dim = size_t(KVH) * hs, row = q_dim + 2 * kv_dim;
  const float* values = qkv + size_t(b) * T * row + q_dim + kv_dim + size_t(h / (H / KVH)) * hs;
  const float* dy = d_out + (size_t(b) * T + t) * q_dim + size_t(h) * hs;
  const float* probs = att + r * S;
  float* ds = d_scores + r * S;
  float local = 0;
  for (int s = threadIdx.x; s < S; s += blockDim.x) {
    float dp = 0;
    if (s <= t)
      for (int k = 0; k < hs; k++) dp += dy[k] * values[size_t(s) * row + k];
    ds[s] = dp;
    local += probs[s] * dp;
  }
  float p_dot_dp = block_reduce(local, false);
  float scale = rsqrtf(float(hs));
  for (int s = threadIdx.x; s < S; s += blockDim.x) ds[s] = s <= t ? probs[s] * (ds[s] - p_dot_dp) * scale : 0.0f;
}

// dq[b,t,h,k] = Σ_s d_score[b,h,t,s] key[b,s,k]; one thread per element.
__global__ void attention_query_backward_kernel(float* d_qkv, const float* d_scores, const float* qkv, int T, int S,
                                                int H, int KVH, int hs, size_t n) {
  size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  int k = int(i % hs), h = int(i / hs % H);
  size_t bt = i / hs / H;
  int t = int(bt % T), b = int(bt / T);
  size_t q_dim = size_t(H) * hs, kv_dim = size_t(KVH) * hs, row = q_dim + 2 * kv_dim;
  const float* keys = qkv + size_t(b) * T * row + q_dim + size_t(h / (H / KVH)) * hs + k;
  const float* ds = d_scores + ((size_t(b) * H + h) * T + t) * S;
  float acc = 0;
  for (int s = 0; s <= t; s++) acc += ds[s] * keys[size_t(s) * row];
  d_qkv[bt * row + size_t(h) * hs + k] = acc;
}

// dk, dv[b,s,kvh,k]: sums over the group's query heads and the positions t >= s.
__global__ void attention_kv_backward_kernel(float* d_qkv, const float* d_scores, const float* att,
                                             const float* d_out, const float* qkv, int T, int S, int H, int KVH, int hs,
                                             size_t n) {
  size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  int k = int(i % hs), kvh = int(i / hs % KVH);
  size_t bs = i / hs / KVH;
  int s = int(bs % T), b = int(bs / T);
  int group = H / KVH;
  size_t q_dim = size_t(H) * hs, kv_dim = size_t(KVH) * hs, row = q_dim + 2 * kv_dim;
  float dk = 0, dv = 0;
  for (int h = kvh * group; h < (kvh + 1) * group; h++)
    for (int t = s; t < T; t++) {
      size_t score = ((size_t(b) * H + h) * T + t) * S + s;
      dk += d_scores[score] * qkv[(size_t(b) * T + t) * row + size_t(h) * hs + k];
      dv += att[score] * d_out[(size_t(b) * T + t) * q_dim + size_t(h) * hs + k];
    }
  float* dst = d_qkv + bs * row + q_dim + size_t(kvh) * hs + k;
  dst[0] = dk;
  dst[kv_dim] = dv;
}

__global__ void gelu_backward_kernel(float* d_inp, const float* inp, const float* d_out, size_t n) {
  size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const float k = 0.7978845608028654f;
  float x = inp[i];
  float th = tanhf(k * (x + 0.044715f * x * x * x));
  d_inp[i] = (0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * k * (1.0f + 3.0f * 0.044715f * x * x)) * d_out[i];
}

__global__ void swiglu_backward_kernel(float* d_gate_up, const float* gate_up, const float* d_out, int F, size_t n) {
  size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  size_t r = i / F;
  int c = int(i % F);
  float g = gate_up[r * 2 * F + c], u = gate_up[r * 2 * F + F + c];
  float sig = 1.0f / (1.0f + expf(-g));
  d_gate_up[r * 2 * F + c] = d_out[i] * u * sig * (1.0f + g * (1.0f - sig));
  d_gate_up[r * 2 * F + F + c] = d_out[i] * g * sig;
}

__global__ void cross_entropy_kernel(float* logits, float* losses, const int32_t* targets, int V, float scale) {
  float* row = logits + size_t(blockIdx.x) * V;
  int target = targets[blockIdx.x];
  if (target < 0) {
    for (int i = threadIdx.x; i < V; i += blockDim.x) row[i] = 0;
    if (threadIdx.x == 0) losses[blockIdx.x] = 0;
    return;
  }
  float local_max = -INFINITY;
  for (int i = threadIdx.x; i < V; i += blockDim.x) local_max = fmaxf(local_max, row[i]);
  float max = block_reduce(local_max, true);
  float local_sum = 0;
  for (int i = threadIdx.x; i < V; i += blockDim.x) local_sum += expf(row[i] - max);
  float sum = block_reduce(local_sum, false);
  float target_logit = row[target];
  __syncthreads();  // everyone has read row[target] before it changes
  if (threadIdx.x == 0) losses[blockIdx.x] = logf(sum) - (target_logit - max);
  for (int i = threadIdx.x; i < V; i += blockDim.x)
    row[i] = scale * (expf(row[i] - max) / sum - (i == target ? 1.0f : 0.0f));
}

// Distillation, one block per row: logits become scale * (softmax(logits) - softmax(teacher)),
// losses the row's KL(p || q).
__global__ void distill_kernel(float* logits, float* losses, const float* teacher, int V, float scale) {
  float* row = logits + size_t(blockIdx.x) * V;
  const float* t = teacher + size_t(blockIdx.x) * V;
  float local_q = -INFINITY, local_p = -INFINITY;
  for (int i = threadIdx.x; i < V; i += blockDim.x) local_q = fmaxf(local_q, row[i]), local_p = fmaxf(local_p, t[i]);
  float q_max = block_reduce(local_q, true);
  float p_max = block_reduce(local_p, true);
  float local_qs = 0, local_ps = 0;
  for (int i = threadIdx.x; i < V; i += blockDim.x) local_qs += expf(row[i] - q_max), local_ps += expf(t[i] - p_max);
  float q_log_sum = logf(block_reduce(local_qs, false));
  float p_log_sum = logf(block_reduce(local_ps, false));
  float local_kl = 0;
  for (int i = threadIdx.x; i < V; i += blockDim.x) {
    float log_p = t[i] - p_max - p_log_sum, log_q = row[i] - q_max - q_log_sum;
    float p = expf(log_p);
    local_kl += p * (log_p - log_q);
    row[i] = scale * (expf(log_q) - p);
  }
  float kl = block_reduce(local_kl, false);
  if (threadIdx.x == 0) losses[blockIdx.x] = kl;
}

constexpr int kSumBlocks = 256;

__global__ void sum_squares_kernel(double* partial, const float* x, size_t n) {
  __shared__ double shared[kThreads];
  double sum = 0;
  for (size_t i = blockIdx.x * size_t(kThreads) + threadIdx.x; i < n; i += size_t(kSumBlocks) * kThreads)
    sum += double(x[i]) * x[i];
  shared[threadIdx.x] = sum;
  __syncthreads();
  for (int stride = kThreads / 2; stride > 0; stride /= 2) {
    if (int(threadIdx.x) < stride) shared[threadIdx.x] += shared[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[blockIdx.x] = shared[0];
}

__global__ void adamw_kernel(float* params, float* m, float* v, const float* grads, size_t n, AdamWStep h,
                             float step_size, float bias_correction2_sqrt) {
  size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  float g = grads[i] * h.grad_scale;
  float p = params[i] * (1.0f - h.lr * h.weight_decay);
  m[i] += (1.0f - h.beta1) * (g - m[i]);
  v[i] = v[i] * h.beta2 + (1.0f - h.beta2) * g * g;
  params[i] = p - step_size * (m[i] / (sqrtf(v[i]) / bias_correction2_sqrt + h.eps));
}

}  // namespace

void CudaBackend::zero(float* buffer, size_t count) {
  cuda_check(cudaMemset(buffer, 0, count * sizeof(float)), "clear");
}

void CudaBackend::embedding_backward(float* d_wte, float* d_wpe, const float* d_out, std::span<const int32_t> tokens,
                                     int B, int T, int C) {
  embedding_backward_kernel<<<blocks_for(size_t(C)), kThreads>>>(d_wte, d_wpe, d_out, upload_ids(tokens), B * T, T, C);
}

void CudaBackend::layernorm_backward(float* d_inp, float* d_weight, float* d_bias, const float* d_out,
                                     const float* inp, const float* weight, const float* mean, const float* rstd,
                                     int N, int C) {
  if (d_inp) norm_backward_input_kernel<<<N, kThreads>>>(d_inp, d_out, inp, weight, mean, rstd, C);
  if (d_weight)
    norm_backward_weight_kernel<<<blocks_for(size_t(C)), kThreads>>>(d_weight, d_bias, d_out, inp, mean, rstd, N, C);
}

void CudaBackend::rmsnorm_backward(float* d_inp, float* d_weight, const float* d_out, const float* inp,
                                   const float* weight, const float* rstd, int N, int C) {
  if (d_inp) norm_backward_input_kernel<<<N, kThreads>>>(d_inp, d_out, inp, weight, nullptr, rstd, C);
  if (d_weight)
    norm_backward_weight_kernel<<<blocks_for(size_t(C)), kThreads>>>(d_weight, nullptr, d_out, inp, nullptr, rstd,
                                                                     N, C);
}

void CudaBackend::matmul_backward(float* d_inp, float* d_weight, float* d_bias, const float* d_out, const float* inp,
                                  int inp_stride, const Linear& layer, int N) {
  const int in = layer.in, out = layer.out;
  float one = 1.0f, zero = 0.0f;
  // Column-major views: X^T (in,N), dY^T (out,N); W (out,in) row-major is (in,out) column-major.
  if (layer.weight_is_in_out) {  // dX^T = W dY^T; dW'^T (out,in) += dY^T X
    if (d_inp)
      cublas_check(cublasSgemm(cublas_, CUBLAS_OP_T, CUBLAS_OP_N, in, N, out, &one, layer.weight, out, d_out, out,
                               &zero, d_inp, in), "sgemm dX");
    if (d_weight)
      cublas_check(cublasSgemm(cublas_, CUBLAS_OP_N, CUBLAS_OP_T, out, in, N, &one, d_out, out, inp, inp_stride, &one,
                               d_weight, out), "sgemm dW");
  } else {  // dX^T = W^T dY^T; dW^T (in,out) += X^T dY
    if (d_inp)
      cublas_check(cublasSgemm(cublas_, CUBLAS_OP_N, CUBLAS_OP_N, in, N, out, &one, layer.weight, in, d_out, out,
                               &zero, d_inp, in), "sgemm dX");
    if (d_weight)
      cublas_check(cublasSgemm(cublas_, CUBLAS_OP_N, CUBLAS_OP_T, in, out, N, &one, inp, inp_stride, d_out, out, &one,
                               d_weight, in), "sgemm dW");
  }
  if (d_bias) column_sums_kernel<<<blocks_for(size_t(out)), kThreads>>>(d_bias, d_out, N, out);
}

void CudaBackend::rope_backward(float* dx, int B, int T, int pos0, int row_stride, int n_heads, int hs, float theta) {
  rope_launch(dx, B, T, pos0, row_stride, n_heads, hs, theta, -1.0f);
}

void CudaBackend::attention_backward(float* d_qkv, const float* d_out, const float* att, const float* qkv, int B,
                                     int T, int S, int H, int KVH, int hs) {
  float* d_scores = scratch(size_t(B) * H * T * S);
  attention_scores_backward_kernel<<<unsigned(size_t(B) * H * T), kThreads>>>(d_scores, d_out, att, qkv, T, S, H,
                                                                              KVH, hs);
  size_t nq = size_t(B) * T * H * hs, nkv = size_t(B) * T * KVH * hs;
  attention_query_backward_kernel<<<blocks_for(nq), kThreads>>>(d_qkv, d_scores, qkv, T, S, H, KVH, hs, nq);
  attention_kv_backward_kernel<<<blocks_for(nkv), kThreads>>>(d_qkv, d_scores, att, d_out, qkv, T, S, H, KVH, hs,
                                                              nkv);
}

void CudaBackend::gelu_backward(float* d_inp, const float* inp, const float* d_out, size_t n) {
  gelu_backward_kernel<<<blocks_for(n), kThreads>>>(d_inp, inp, d_out, n);
}

void CudaBackend::swiglu_backward(float* d_gate_up, const float* gate_up, const float* d_out, int N, int F) {
  size_t n = size_t(N) * F;
  swiglu_backward_kernel<<<blocks_for(n), kThreads>>>(d_gate_up, gate_up, d_out, F, n);
}

void CudaBackend::cross_entropy_backward(float* logits, float* losses, std::span<const int32_t> targets, int N, int V,
                                         float scale) {
  cross_entropy_kernel<<<N, kThreads>>>(logits, losses, upload_ids(targets), V, scale);
}

void CudaBackend::distill_backward(float* logits, float* losses, const float* teacher, int N, int V, float scale) {
  distill_kernel<<<N, kThreads>>>(logits, losses, teacher, V, scale);
}

void CudaBackend::scatter_rows(float* out, const float* inp, std::span<const int32_t> rows, int C) {
  copy_rows_launch(out, upload_ids(rows), inp, nullptr, rows.size(), C);
}

double CudaBackend::sum_squares(const float* x, size_t n) {
  double* partial = reinterpret_cast<double*>(scratch(2 * kSumBlocks));
  sum_squares_kernel<<<kSumBlocks, kThreads>>>(partial, x, n);
  std::vector<double> host(kSumBlocks);
  cuda_check(cudaMemcpy(host.data(), partial, kSumBlocks * sizeof(double), cudaMemcpyDeviceToHost), "sum");
  double total = 0;
  for (double p : host) total += p;
  return total;
}

void CudaBackend::adamw_update(float* params, float* m, float* v, const float* grads, size_t n, const AdamWStep& h) {
  float step_size = float(h.lr / (1.0 - std::pow(double(h.beta1), h.t)));
  float bias_correction2_sqrt = float(std::sqrt(1.0 - std::pow(double(h.beta2), h.t)));
  adamw_kernel<<<blocks_for(n), kThreads>>>(params, m, v, grads, n, h, step_size, bias_correction2_sqrt);
}

}  // namespace omlkit::model
