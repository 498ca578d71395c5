#include "model/cpu/matmul_16bit.h"

#include <cblas.h>

#include <algorithm>

#include "model/cpu/fast_exp.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define OMLKIT_X86 1
#endif

namespace omlkit::model {
namespace {

#ifdef OMLKIT_X86
// The vector kernels need AVX2 and FMA, and F16C for F16; chosen at run time, as in
// fast_exp.cpp, so the build stays generic x86-64.
bool has_avx2_f16c() {
  static const bool yes =
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  return yes;
}

// 8 consecutive 16-bit weights as F32 lanes. BF16 is the top half of an F32: shift it up.
__attribute__((target("avx2,fma,f16c"))) inline __m256 load8(const uint16_t* p, bool bf16) {
  __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  if (bf16) return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  return _mm256_cvtph_ps(h);
}

__attribute__((target("avx2,fma,f16c"))) inline float horizontal_sum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma,f16c"))) void widen_avx2(bool bf16, const uint16_t* src, float* dst, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, load8(src + i, bf16));
  for (; i < n; i++) dst[i] = bf16 ? bf16_to_f32(src[i]) : f16_to_f32(src[i]);
}

// y[r] = dot(w (n, 16-bit), x + r * x_stride (n)) for r < R: the weight row is loaded once
// for all R input rows; two accumulators per row hide the FMA latency.
template <int R>
__attribute__((target("avx2,fma,f16c"))) void dot_rows_avx2(const uint16_t* w, bool bf16, const float* x,
                                                             size_t x_stride, int n, float* y) {
  __m256 acc0[R], acc1[R];
  for (int r = 0; r < R; r++) acc0[r] = acc1[r] = _mm256_setzero_ps();
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256 w0 = load8(w + i, bf16), w1 = load8(w + i + 8, bf16);
    for (int r = 0; r < R; r++) {
      acc0[r] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + r * x_stride + i), acc0[r]);
      acc1[r] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + r * x_stride + i + 8), acc1[r]);
    }
  }
  for (int r = 0; r < R; r++) {
    float sum = horizontal_sum(_mm256_add_ps(acc0[r], acc1[r]));
    for (int k = i; k < n; k++) sum += (bf16 ? bf16_to_f32(w[k]) : f16_to_f32(w[k])) * x[r * x_stride + k];
    y[r] = sum;
  }
}

void dot_rows_avx2(int R, const uint16_t* w, bool bf16, const float* x, size_t x_stride, int n, float* y) {
  switch (R) {
    case 1: return dot_rows_avx2<1>(w, bf16, x, x_stride, n, y);
    case 2: return dot_rows_avx2<2>(w, bf16, x, x_stride, n, y);
    case 3: return dot_rows_avx2<3>(w, bf16, x, x_stride, n, y);
    default: return dot_rows_avx2<4>(w, bf16, x, x_stride, n, y);
  }
}
#endif

// Few rows, (out,in) layout: out[r][j] (+)= dot(inp row r, weight row j).
void dot_product_path(ThreadPool& pool, float* out, const float* inp, int inp_stride, const Linear& layer,
                      int N) {
  const bool bf16 = layer.dtype16 == DType::BF16;
  const bool accumulate = layer.bias != nullptr;  // out already holds the bias
  // Below ~16k weights per part, waking the pool costs more than the work.
  size_t min_rows = (size_t(1) << 14) / size_t(layer.in) + 1;
  pool.parallel_for(size_t(layer.out), [&](size_t j0, size_t j1) {
    float y[kDotProductMaxRows];
    std::vector<float> widened;  // the portable path's F32 copy of one weight row
    for (size_t j = j0; j < j1; j++) {
      const uint16_t* w = layer.row16(int(j));
#ifdef OMLKIT_X86
      if (has_avx2_f16c()) {
        // Groups of up to 4 input rows per pass over the weight row, which stays in L1.
        for (int r0 = 0; r0 < N; r0 += 4)
          dot_rows_avx2(std::min(4, N - r0), w, bf16, inp + size_t(r0) * inp_stride, size_t(inp_stride), layer.in,
                        y + r0);
      } else
#endif
      {
        widened.resize(size_t(layer.in));
        widen_16bit(layer.dtype16, w, widened.data(), widened.size());
        for (int r = 0; r < N; r++) y[r] = dot_product(inp + size_t(r) * inp_stride, widened.data(), layer.in);
      }
      for (int r = 0; r < N; r++) {
        float& o = out[size_t(r) * layer.out + j];
        o = accumulate ? o + y[r] : y[r];
      }
    }
  }, min_rows);
}

// Any rows, either layout: widen a tile of the stored matrix, sgemm it into out.
void widened_tile_path(ThreadPool& pool, std::vector<float>& tile, float* out, const float* inp, int inp_stride,
                       const Linear& layer, int N) {
  const float bias_beta = layer.bias ? 1.0f : 0.0f;
  // Stored rows: (out,in) rows of `in`, or Conv1D (in,out) rows of `out`.
  const size_t stored_rows = size_t(layer.weight_is_in_out ? layer.in : layer.out);
  const size_t row_length = size_t(layer.weight_is_in_out ? layer.out : layer.in);
  const size_t tile_rows = std::min(stored_rows, std::max<size_t>(16, kWidenTileFloats / row_length));
  if (tile.size() < tile_rows * row_length) tile.resize(tile_rows * row_length);
  for (size_t r0 = 0; r0 < stored_rows; r0 += tile_rows) {
    const size_t rows = std::min(tile_rows, stored_rows - r0);
    pool.parallel_for(rows, [&](size_t a, size_t b) {
      for (size_t i = a; i < b; i++) widen_16bit(layer.dtype16, layer.row16(int(r0 + i)), &tile[i * row_length], row_length);
    }, (size_t(1) << 14) / row_length + 1);
    if (layer.weight_is_in_out)  // out += inp[:, r0:r0+rows] tile: the tiles split the sum over in
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, layer.out, int(rows), 1.0f, inp + r0, inp_stride,
                  tile.data(), layer.out, r0 == 0 ? bias_beta : 1.0f, out, layer.out);
    else  // out[:, r0:r0+rows] = inp tile^T: the tiles split the outputs
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, int(rows), layer.in, 1.0f, inp, inp_stride,
                  tile.data(), layer.in, bias_beta, out + r0, layer.out);
  }
}

}  // namespace

void widen_16bit(DType dtype, const uint16_t* src, float* dst, size_t n) {
  const bool bf16 = dtype == DType::BF16;
#ifdef OMLKIT_X86
  if (has_avx2_f16c()) return widen_avx2(bf16, src, dst, n);
#endif
  for (size_t i = 0; i < n; i++) dst[i] = bf16 ? bf16_to_f32(src[i]) : f16_to_f32(src[i]);
}

void matmul_forward_16bit(ThreadPool& pool, std::vector<float>& tile, float* out, const float* inp,
                          int inp_stride, const Linear& layer, int N) {
  if (N <= kDotProductMaxRows && !layer.weight_is_in_out)
    dot_product_path(pool, out, inp, inp_stride, layer, N);
  else  // Conv1D's (in,out) rows hold one input's weight for every output: no dot products
    widened_tile_path(pool, tile, out, inp, inp_stride, layer, N);
}

}  // namespace omlkit::model
