// The CPU backend's linear layer for weights kept in BF16 or F16 where the checkpoint's
// memory map holds them (Linear::blocks16), so inference needs no F32 copy of a model.
//
// Two regimes, both reading each weight once per call:
// - few rows (token-by-token generation): a dot product per output straight from the
//   16-bit row (AVX2 + FMA + F16C when the CPU has them, else widen the row, then dot);
//   memory-bound, so it runs at the speed the weights stream in;
// - more rows (prefill, scoring): the matrix is widened a tile at a time into a reusable
//   F32 buffer and each tile goes through OpenBLAS sgemm, which is compute-bound there and
//   does not care where its tile came from.
// Widening is exact (every BF16/F16 value is an F32 value), so the only difference from
// the F32 path is the order of the additions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "model/backend.h"
#include "model/cpu/thread_pool.h"

namespace omlkit::model {

// Up to this many rows take the dot-product path: for few rows, widening every weight into a
// tile costs more than sgemm saves. Measured on the 1B Llama shape (bench/llama-1b.json,
// `model-run generate -n 1` of a 6-token prompt minus `-n 0`, load average 5): the first
// token took 4.5 s through widened tiles, 0.9 s through dot products. 16 is not tuned.
inline constexpr int kDotProductMaxRows = 16;
// F32 floats in one widened tile of the sgemm path (4 MB: a few of OpenBLAS's panels).
inline constexpr size_t kWidenTileFloats = size_t(1) << 20;

// dst (n) = the F32 values of n 16-bit elements at src (BF16 or F16).
void widen_16bit(DType dtype, const uint16_t* src, float* dst, size_t n);

// out (N, layer.out) = inp (N, layer.in; rows inp_stride apart) W^T + b with W given by
// layer.blocks16. tile is the caller's reusable buffer for the sgemm path.
void matmul_forward_16bit(ThreadPool& pool, std::vector<float>& tile, float* out, const float* inp,
                          int inp_stride, const Linear& layer, int N);

}  // namespace omlkit::model
