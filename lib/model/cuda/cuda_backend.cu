// The cuBLAS backend: memory, the factory, cuBLAS matmuls and the forward kernels.
// Row-major (N, cols) arrays are column-major (cols, N) to cuBLAS, so every GEMM below is
// written for the transposed problem: row-major Y = X W^T is column-major Y^T = W X^T.
#include "model/cuda/cuda_backend.h"
#include "model/cuda/cuda_backend_impl.cuh"

namespace omlkit::model {

void cuda_check(cudaError_t status, const char* what) {
  if (status != cudaSuccess)
    throw Error(exit_code::internal, "", std::string("CUDA ") + what + ": " + cudaGetErrorString(status));
}

void cublas_check(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw Error(exit_code::internal, "", std::string("cuBLAS ") + what + ": status " + std::to_string(int(status)));
}

// This backend computes from F32 device copies only (reads_mapped_weights() is false, so
// the Transformer widens every weight at load); a 16-bit Linear here is a bug.
void require_f32(const Linear& layer) {
  if (!layer.weight) throw Error(exit_code::internal, "", "the CUDA backend was given a 16-bit weight");
}

std::unique_ptr<Backend> make_cuda_backend(int device, std::string* why) {
  int count = 0;
  cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess || count <= device) {
    if (why) *why = status != cudaSuccess ? cudaGetErrorString(status) : "no CUDA device " + std::to_string(device);
    return nullptr;
  }
  if (cudaSetDevice(device) != cudaSuccess) {
    if (why) *why = "cannot use CUDA device " + std::to_string(device);
    return nullptr;
  }
  cublasHandle_t handle;
  if (cublasCreate(&handle) != CUBLAS_STATUS_SUCCESS) {
    if (why) *why = "cuBLAS failed to start";
    return nullptr;
  }
  return std::make_unique<CudaBackend>(device, handle);
}

CudaBackend::CudaBackend(int device, cublasHandle_t handle) : device_(device), cublas_(handle) {
  // Full F32: TF32 tensor cores would cost the 1e-4 agreement with PyTorch.
  cublas_check(cublasSetMathMode(cublas_, CUBLAS_PEDANTIC_MATH), "set math mode");
  cudaDeviceProp prop;
  cuda_check(cudaGetDeviceProperties(&prop, device), "device properties");
  name_ = std::string("cuda (") + prop.name + ", cuBLAS F32)";
}

CudaBackend::~CudaBackend() {
  cudaFree(ids_);
  cudaFree(scratch_);
  cublasDestroy(cublas_);
}

float* CudaBackend::allocate(size_t count) {
  void* p = nullptr;
  cuda_check(cudaMalloc(&p, (count == 0 ? 1 : count) * sizeof(float)), "allocate");
  cuda_check(cudaMemset(p, 0, count * sizeof(float)), "clear");
  return static_cast<float*>(p);
}

void CudaBackend::release(float* buffer) { cudaFree(buffer); }

void CudaBackend::upload(float* device_dst, const float* host_src, size_t count) {
  cuda_check(cudaMemcpy(device_dst, host_src, count * sizeof(float), cudaMemcpyHostToDevice), "upload");
}

void CudaBackend::download(float* host_dst, const float* device_src, size_t count) {
  cuda_check(cudaMemcpy(host_dst, device_src, count * sizeof(float), cudaMemcpyDeviceToHost), "download");
}

const int32_t* CudaBackend::upload_ids(std::span<const int32_t> ids) {
  if (ids.size() > ids_capacity_) {
    cudaFree(ids_);
    ids_ = nullptr;
    cuda_check(cudaMalloc(&ids_, ids.size() * sizeof(int32_t)), "allocate ids");
    ids_capacity_ = ids.size();
  }
  cuda_check(cudaMemcpy(ids_, ids.data(), ids.size() * sizeof(int32_t), cudaMemcpyHostToDevice), "upload ids");
  return ids_;
}

float* CudaBackend::scratch(size_t count) {
  if (count > scratch_capacity_) {
    cudaFree(scratch_);
    scratch_ = nullptr;
    cuda_check(cudaMalloc(&scratch_, count * sizeof(float)), "allocate scratch");
    scratch_capacity_ = count;
  }
  return scratch_;
}

namespace {

__global__ void embedding_kernel(float* out, const int32_t* tokens, const float* wte, const float* wpe, int T,
                                 int pos0, int C, size_t n) {
  size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  size_t row = i / C;
  int c = int(i % C), t = int(row % T);
  float v = wte[size_t(tokens[row]) * C + c];
  out[i] = wpe ? v + wpe[size_t(pos0 + t) * C + c] : v;
}

// One block per row: mean and rstd from two passes, then the normalized row.
__global__ void layernorm_kernel(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                                 const float* bias, int C, float eps) {
  const float* x = inp + size_t(blockIdx.x) * C;
  float sum = 0;
  for (int c = threadIdx.x; c < C; c += blockDim.x) sum += x[c];
  float m = block_reduce(sum, false) / C;
  float sq = 0;
  for (int c = threadIdx.x; c < C; c += blockDim.x) sq += (x[c] - m) * (x[c] - m);
  float s = rsqrtf(block_reduce(sq, false) / C + eps);
  float* y = out + size_t(blockIdx.x) * C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) y[c] = (x[c] - m) * s * weight[c] + bias[c];
  if (threadIdx.x == 0) mean[blockIdx.x] = m, rstd[blockIdx.x] = s;
}

__global__ void rmsnorm_kernel(float* out, float* rstd, const float* inp, const float* weight, int C, float eps) {
  const float* x = inp + size_t(blockIdx.x) * C;
  float sq = 0;
  for (int c = threadIdx.x; c < C; c += blockDim.x) sq += x[c] * x[c];
  float s = rsqrtf(block_reduce(sq, false) / C + eps);
  float* y = out + size_t(blockIdx.x) * C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) y[c] = weight[c] * (x[c] * s);
  if (threadIdx.x == 0) rstd[blockIdx.x] = s;
}

__global__ void fill_rows_kernel(float* out, const float* row, int cols, size_t n) {
  size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = row[i % cols];
}

__global__ void rope_kernel(float* x, int T, int pos0, int row_stride, int n_heads, int hs, float theta,
                            float sin_sign, size_t n) {
  size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  int half = hs / 2;
  int k = int(i % half);
  size_t head = i / half;
  int h = int(head % n_heads);
  size_t row = head / n_heads;
  int t = int(row % T);
  float inv_freq = 1.0f / powf(theta, float(2 * k) / float(hs));
  float angle = float(pos0 + t) * inv_freq;
  float c = float(cos(double(angle))), s = sin_sign * float(sin(double(angle)));
  float* v = x + row * row_stride + size_t(h) * hs;
  float a = v[k], b = v[k + half];
  v[k] = a * c - b * s;
  v[k + half] = b * c + a * s;
}

__global__ void kv_store_kernel(float* k_cache, float* v_cache, const float* qkv, int T, int pos0, int S,
                                int q_dim, int kv_dim, size_t n) {
  size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  int c = int(i % kv_dim);
  size_t row = i / kv_dim;
  int b = int(row / T), t = int(row % T);
  const float* src = qkv + row * (size_t(q_dim) + 2 * kv_dim);
  size_t dst = (size_t(b) * S + pos0 + t) * kv_dim + c;
  k_cache[dst] = src[q_dim + c];
  v_cache[dst] = src[q_dim + kv_dim + c];
}

// One block per (b, h, t) query row: scores, causal softmax, then the weighted values.
__global__ void attention_kernel(float* out, float* att, const float* q, int q_stride, const float* k_cache,
                                 const float* v_cache, int T, int pos0, int S, int H, int KVH, int hs) {
  size_t r = blockIdx.x;
  int t = int(r % T), h = int(r / T % H), b = int(r / T / H);
  size_t kv_dim = size_t(KVH) * hs;
  int kvh = h / (H / KVH);
  const float* query = q + (size_t(b) * T + t) * q_stride + size_t(h) * hs;
  const float* keys = k_cache + size_t(b) * S * kv_dim + size_t(kvh) * hs;
  const float* values = v_cache + size_t(b) * S * kv_dim + size_t(kvh) * hs;
  float* probs = att + r * S;
  int visible = pos0 + t + 1;
  float scale = rsqrtf(float(hs));
  float local_max = -INFINITY;
  for (int s = threadIdx.x; s < S; s += blockDim.x) {
    float score = -INFINITY;
    if (s < visible) {
      score = 0;
      for (int k = 0; k < hs; k++) score += query[k] * keys[size_t(s) * kv_dim + k];
      score *= scale;
    }
    probs[s] = score;
    local_max = fmaxf(local_max, score);
  }
  float max = block_reduce(local_max, true);
  float local_sum = 0;
  for (int s = threadIdx.x; s < S; s += blockDim.x) {
    float e = s < visible ? expf(probs[s] - max) : 0.0f;
    probs[s] = e;
    local_sum += e;
  }
  float inv_sum = 1.0f / block_reduce(local_sum, false);
  for (int s = threadIdx.x; s < S; s += blockDim.x) probs[s] *= inv_sum;
  __syncthreads();
  float* y = out + (size_t(b) * T + t) * size_t(H) * hs + size_t(h) * hs;
  for (int k = threadIdx.x; k < hs; k += blockDim.x) {
    float acc = 0;
    for (int s = 0; s < visible; s++) acc += probs[s] * values[size_t(s) * kv_dim + k];
    y[k] = acc;
  }
}

__device__ float gelu_tanh(float x) {
  return 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
}

__global__ void gelu_kernel(float* out, const float* inp, size_t n) {
  size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = gelu_tanh(inp[i]);
}

__global__ void swiglu_kernel(float* out, const float* gate_up, int F, size_t n) {
  size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  size_t r = i / F;
  int c = int(i % F);
  float g = gate_up[r * 2 * F + c], u = gate_up[r * 2 * F + F + c];
  out[i] = g / (1.0f + expf(-g)) * u;
}

__global__ void add_kernel(float* out, const float* a, const float* b, size_t n) {
  size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = a[i] + b[i];
}

__global__ void logprob_kernel(float* out, const float* logits, const int32_t* targets, int V) {
  const float* row = logits + size_t(blockIdx.x) * V;
  float local_max = -INFINITY;
  for (int i = threadIdx.x; i < V; i += blockDim.x) local_max = fmaxf(local_max, row[i]);
  float max = block_reduce(local_max, true);
  float local_sum = 0;
  for (int i = threadIdx.x; i < V; i += blockDim.x) local_sum += expf(row[i] - max);
  float sum = block_reduce(local_sum, false);
  int target = targets[blockIdx.x];
  if (threadIdx.x == 0) out[blockIdx.x] = target < 0 ? 0.0f : row[target] - max - logf(sum);
}

__global__ void copy_rows_kernel(float* out, const int32_t* out_rows, const float* inp, const int32_t* inp_rows,
                                 int C, size_t n) {
  size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  size_t r = i / C, c = i % C;
  size_t to = out_rows ? size_t(out_rows[r]) : r, from = inp_rows ? size_t(inp_rows[r]) : r;
  out[to * C + c] = inp[from * C + c];
}

}  // namespace

void copy_rows_launch(float* out, const int32_t* out_rows, const float* inp, const int32_t* inp_rows, size_t R, int C) {
  size_t n = R * size_t(C);
  if (n) copy_rows_kernel<<<blocks_for(n), kThreads>>>(out, out_rows, inp, inp_rows, C, n);
}

void CudaBackend::gather_rows(float* out, const float* inp, std::span<const int32_t> rows, int C) {
  copy_rows_launch(out, nullptr, inp, upload_ids(rows), rows.size(), C);
}

void CudaBackend::embedding_forward(float* out, std::span<const int32_t> tokens, const Linear& wte, const float* wpe,
                                    int B, int T, int pos0, int C) {
  require_f32(wte);
  size_t n = size_t(B) * T * C;
  embedding_kernel<<<blocks_for(n), kThreads>>>(out, upload_ids(tokens), wte.weight, wpe, T, pos0, C, n);
}

void CudaBackend::layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                                    const float* bias, int N, int C, float eps) {
  layernorm_kernel<<<N, kThreads>>>(out, mean, rstd, inp, weight, bias, C, eps);
}

void CudaBackend::rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int N, int C,
                                  float eps) {
  rmsnorm_kernel<<<N, kThreads>>>(out, rstd, inp, weight, C, eps);
}

void CudaBackend::matmul_forward(float* out, const float* inp, int inp_stride, const Linear& layer, int N) {
  require_f32(layer);
  float alpha = 1.0f, beta = 0.0f;
  if (layer.bias) {
    size_t n = size_t(N) * layer.out;
    fill_rows_kernel<<<blocks_for(n), kThreads>>>(out, layer.bias, layer.out, n);
    beta = 1.0f;
  }
  if (layer.weight_is_in_out)  // Y^T (out,N) = W' (out,in) X^T, W' = W viewed column-major
    cublas_check(cublasSgemm(cublas_, CUBLAS_OP_N, CUBLAS_OP_N, layer.out, N, layer.in, &alpha, layer.weight,
                             layer.out, inp, inp_stride, &beta, out, layer.out), "sgemm");
  else  // Y^T = W X^T with W (out,in) row-major = (in,out) column-major, transposed
    cublas_check(cublasSgemm(cublas_, CUBLAS_OP_T, CUBLAS_OP_N, layer.out, N, layer.in, &alpha, layer.weight,
                             layer.in, inp, inp_stride, &beta, out, layer.out), "sgemm");
}

void rope_launch(float* x, int B, int T, int pos0, int row_stride, int n_heads, int hs, float theta, float sin_sign) {
  size_t n = size_t(B) * T * n_heads * (hs / 2);
  rope_kernel<<<blocks_for(n), kThreads>>>(x, T, pos0, row_stride, n_heads, hs, theta, sin_sign, n);
}

void CudaBackend::rope_forward(float* x, int B, int T, int pos0, int row_stride, int n_heads, int hs, float theta) {
  rope_launch(x, B, T, pos0, row_stride, n_heads, hs, theta, 1.0f);
}

void CudaBackend::kv_cache_store(float* k_cache, float* v_cache, const float* qkv, int B, int T, int pos0, int S,
                                 int q_dim, int kv_dim) {
  size_t n = size_t(B) * T * kv_dim;
  kv_store_kernel<<<blocks_for(n), kThreads>>>(k_cache, v_cache, qkv, T, pos0, S, q_dim, kv_dim, n);
}

void CudaBackend::attention_forward(float* out, float* att, const float* q, int q_stride, const float* k_cache,
                                    const float* v_cache, int B, int T, int pos0, int S, int H, int KVH, int hs) {
  attention_kernel<<<unsigned(size_t(B) * H * T), kThreads>>>(out, att, q, q_stride, k_cache, v_cache, T, pos0, S,
                                                              H, KVH, hs);
}

void CudaBackend::gelu_forward(float* out, const float* inp, size_t n) {
  gelu_kernel<<<blocks_for(n), kThreads>>>(out, inp, n);
}

void CudaBackend::swiglu_forward(float* out, const float* gate_up, int N, int F) {
  size_t n = size_t(N) * F;
  swiglu_kernel<<<blocks_for(n), kThreads>>>(out, gate_up, F, n);
}

void CudaBackend::residual_forward(float* out, const float* a, const float* b, size_t n) {
  add_kernel<<<blocks_for(n), kThreads>>>(out, a, b, n);
}

void CudaBackend::token_logprob_forward(float* out, const float* logits, std::span<const int32_t> targets, int N,
                                        int V) {
  logprob_kernel<<<N, kThreads>>>(out, logits, upload_ids(targets), V);
}

}  // namespace omlkit::model
