#include "model/backend_select.h"

#include "io/error.h"
#include "model/cpu/cpu_backend.h"
#ifdef OMLKIT_CUDA
#include "model/cuda/cuda_backend.h"
#endif

namespace omlkit::model {

bool cuda_compiled_in() {
#ifdef OMLKIT_CUDA
  return true;
#else
  return false;
#endif
}

std::unique_ptr<Backend> make_backend(const std::string& device, int threads) {
  if (device != "auto" && device != "cpu" && device != "cuda")
    throw Error(exit_code::usage, "", "unknown device \"" + device + "\" (auto, cpu or cuda)");
  if (device != "cpu") {
    std::string why = "this build has no CUDA backend (nvcc was not found when it was built)";
#ifdef OMLKIT_CUDA
    if (auto gpu = make_cuda_backend(0, &why)) return gpu;
#endif
    if (device == "cuda") throw Error(exit_code::usage, "", "--device cuda: " + why);
  }
  return std::make_unique<CpuBackend>(threads);
}

}  // namespace omlkit::model
