#include "model/parameter_subset.h"

#include "io/error.h"
#include "model/dtype.h"

namespace omlkit::model {

ParameterSubset::ParameterSubset(const ParameterTable& table, const std::vector<bool>& members) : table_(&table) {
  const auto& entries = table.entries();
  if (members.size() != entries.size())
    throw Error(exit_code::internal, "", "ParameterSubset: one flag per parameter expected");
  host_offset_.assign(entries.size(), kAbsent);
  size_t size = 0;
  for (size_t i = 0; i < entries.size(); i++) {
    if (!members[i]) continue;
    const ParameterInfo& e = entries[i];
    host_offset_[i] = size;
    if (!runs_.empty() && runs_.back().device_offset + runs_.back().count == e.offset)
      runs_.back().count += e.count;
    else
      runs_.push_back({e.offset, size, e.count});
    size += e.count;
  }
  values_.assign(size, 0.0f);
}

std::span<const float> ParameterSubset::tensor(size_t entry) const {
  if (!has(entry)) return {};
  return std::span<const float>(values_).subspan(host_offset_[entry], table_->entries()[entry].count);
}

void ParameterSubset::download(Backend& backend, const float* device) {
  for (const Run& r : runs_) backend.download(values_.data() + r.host_offset, device + r.device_offset, r.count);
}

void ParameterSubset::upload(Backend& backend, float* device) const {
  for (const Run& r : runs_) backend.upload(device + r.device_offset, values_.data() + r.host_offset, r.count);
}

void ParameterSubset::round_to_storage() {
  std::vector<unsigned char> scratch;
  const auto& entries = table_->entries();
  for (size_t i = 0; i < entries.size(); i++) {
    const ParameterInfo& e = entries[i];
    if (!has(i) || e.storage_dtype == DType::F32) continue;
    float* values = values_.data() + host_offset_[i];
    scratch.resize(e.count * dtype_size(e.storage_dtype));
    convert_from_f32(e.storage_dtype, values, scratch.data(), e.count);
    convert_to_f32(e.storage_dtype, scratch.data(), values, e.count);
  }
}

}  // namespace omlkit::model
