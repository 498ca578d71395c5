// Chooses the compute backend at run time: the cuBLAS backend when it was compiled in
// (lib/model/cuda/cuda.mk finds nvcc) and a GPU is present, the CPU backend otherwise.
#pragma once

#include <memory>
#include <string>

#include "model/backend.h"

namespace omlkit::model {

// device: "auto" (GPU when there is one), "cpu", or "cuda" (a GPU or an error). threads
// is for the CPU backend. Throws omlkit::Error 2 for an unknown device, or "cuda" when
// no GPU backend is available, saying why.
std::unique_ptr<Backend> make_backend(const std::string& device, int threads);

// Whether this build contains the CUDA backend at all.
bool cuda_compiled_in();

}  // namespace omlkit::model
