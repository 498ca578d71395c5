#include "model/dtype.h"

#include <array>
#include <cmath>
#include <cstring>

namespace omlkit::model {
namespace {

struct DTypeInfo {
  DType dtype;
  std::string_view name;
  size_t size;
};

constexpr std::array<DTypeInfo, 15> kDTypes = {{
    {DType::BOOL, "BOOL", 1}, {DType::U8, "U8", 1},       {DType::I8, "I8", 1},
    {DType::F8_E4M3, "F8_E4M3", 1}, {DType::F8_E5M2, "F8_E5M2", 1},
    {DType::I16, "I16", 2},   {DType::U16, "U16", 2},     {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2}, {DType::I32, "I32", 4},     {DType::U32, "U32", 4},
    {DType::F32, "F32", 4},   {DType::F64, "F64", 8},     {DType::I64, "I64", 8},
    {DType::U64, "U64", 8},
}};

uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

}  // namespace

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& info : kDTypes)
    if (info.name == name) return info.dtype;
  return std::nullopt;
}

std::string_view dtype_name(DType dtype) { return kDTypes[static_cast<size_t>(dtype)].name; }
size_t dtype_size(DType dtype) { return kDTypes[static_cast<size_t>(dtype)].size; }

bool dtype_is_float_convertible(DType dtype) {
  return dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16;
}

float bf16_to_f32(uint16_t bits) { return bits_float(uint32_t(bits) << 16); }

uint16_t f32_to_bf16(float value) {
  uint32_t u = float_bits(value);
  if (std::isnan(value)) return uint16_t((u >> 16) | 0x40);  // keep it a quiet NaN
  u += 0x7fff + ((u >> 16) & 1);
  return uint16_t(u >> 16);
}

float f16_to_f32(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ff;
  if (exponent == 0x1f) return bits_float(sign | 0x7f800000 | (mantissa << 13));
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24
    float magnitude = std::ldexp(float(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  return bits_float(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

uint16_t f32_to_f16(float value) {
  uint32_t u = float_bits(value);
  uint16_t sign = uint16_t((u >> 16) & 0x8000);
  float magnitude = std::fabs(value);
  if (std::isnan(value)) return sign | 0x7e00;
  if (magnitude >= 65520.0f) return sign | 0x7c00;  // rounds to infinity
  if (magnitude < 6.103515625e-05f) {                 // subnormal: units of 2^-24
    return sign | uint16_t(std::nearbyint(magnitude * 16777216.0f));
  }
  uint32_t m = float_bits(magnitude);
  m += 0x0fff + ((m >> 13) & 1);  // round the 13 dropped bits to nearest even
  return sign | uint16_t((m >> 13) - (112 << 10));
}

void convert_to_f32(DType dtype, const void* src, float* dst, size_t n) {
  const auto* bytes = static_cast<const unsigned char*>(src);
  if (dtype == DType::F32) {
    std::memcpy(dst, src, n * 4);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    uint16_t bits = uint16_t(bytes[2 * i] | (bytes[2 * i + 1] << 8));
    dst[i] = dtype == DType::BF16 ? bf16_to_f32(bits) : f16_to_f32(bits);
  }
}

void convert_from_f32(DType dtype, const float* src, void* dst, size_t n) {
  auto* bytes = static_cast<unsigned char*>(dst);
  if (dtype == DType::F32) {
    std::memcpy(dst, src, n * 4);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    uint16_t bits = dtype == DType::BF16 ? f32_to_bf16(src[i]) : f32_to_f16(src[i]);
    bytes[2 * i] = uint8_t(bits & 0xff);
    bytes[2 * i + 1] = uint8_t(bits >> 8);
  }
}

}  // namespace omlkit::model
