// The cuBLAS backend: the Backend interface (model/backend.h) on one NVIDIA GPU. Every
// linear layer is a cuBLAS sgemm in full F32 (TF32 off, so the PyTorch fixtures hold at
// 1e-4); the other layers are small CUDA kernels whose reductions run in a fixed order,
// so training is deterministic on a given GPU. lib/model/cpu is the reference it must
// agree with. Weights are always F32 copies on the GPU: BF16/F16 checkpoints are widened
// at load (reads_mapped_weights() is false), unlike the CPU backend, which reads them in
// place.
//
// Compiled only when nvcc is found (lib/model/cuda/cuda.mk, which defines OMLKIT_CUDA);
// this header is plain C++ so that backend selection (model/backend_select.cpp) can call
// it without CUDA headers.
#pragma once

#include <memory>
#include <string>

#include "model/backend.h"

namespace omlkit::model {

// A backend on GPU `device`, or nullptr when none is usable; *why then says why (no
// driver, no device, ...).
std::unique_ptr<Backend> make_cuda_backend(int device, std::string* why);

}  // namespace omlkit::model
