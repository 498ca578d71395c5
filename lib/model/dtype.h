// Storage dtypes of safetensors files, and conversion of the floating ones to F32.
//
// Every dtype that safetensors defines can be read and written back unchanged; only F32,
// F16 and BF16 can be converted to F32 for compute (the engine computes in F32).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace omlkit::model {

enum class DType : uint8_t {
  BOOL, U8, I8, F8_E4M3, F8_E5M2, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64
};

// The safetensors spelling ("F32", "BF16", ...), or nullopt for an unknown name.
std::optional<DType> dtype_from_name(std::string_view name);
std::string_view dtype_name(DType dtype);
size_t dtype_size(DType dtype);  // bytes per element
bool dtype_is_float_convertible(DType dtype);  // F32, F16 or BF16

// Converts n little-endian elements of `dtype` at `src` (any alignment) to F32.
// The dtype must be float-convertible.
void convert_to_f32(DType dtype, const void* src, float* dst, size_t n);
// Converts F32 to `dtype` with round-to-nearest-even (F16, BF16) or a copy (F32).
void convert_from_f32(DType dtype, const float* src, void* dst, size_t n);

float bf16_to_f32(uint16_t bits);
uint16_t f32_to_bf16(float value);  // round to nearest even; NaN stays NaN
float f16_to_f32(uint16_t bits);
uint16_t f32_to_f16(float value);   // round to nearest even, overflow to infinity

}  // namespace omlkit::model
