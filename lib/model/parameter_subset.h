// Host F32 copies of some of a model's tensors, packed in table order: what training code
// copies between host and device instead of whole models. With a 1B model of which a few
// tensors train, the frozen ones are never copied (nor, with in-place weights, widened).
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "model/backend.h"
#include "model/parameters.h"

namespace omlkit::model {

class ParameterSubset {
 public:
  // The entries of `table` flagged in `members` (one flag per entry). The table must
  // outlive the subset. Values start at 0.
  ParameterSubset(const ParameterTable& table, const std::vector<bool>& members);

  const ParameterTable& table() const { return *table_; }
  bool has(size_t entry) const { return host_offset_[entry] != kAbsent; }
  // Member entry's values (its table count), empty for a non-member.
  std::span<const float> tensor(size_t entry) const;
  std::span<float> values() { return values_; }
  std::span<const float> values() const { return values_; }

  // Copies the members' slots of a device buffer laid out by the table (parameter_data()
  // or gradient_data()) into values(), or values() into those slots; nothing else moves.
  void download(Backend& backend, const float* device);
  void upload(Backend& backend, float* device) const;
  // Rounds every member to its storage dtype and back: the values as they will be saved.
  void round_to_storage();

 private:
  static constexpr size_t kAbsent = size_t(-1);
  struct Run {
    size_t device_offset, host_offset, count;
  };
  const ParameterTable* table_;
  std::vector<size_t> host_offset_;  // per table entry
  std::vector<Run> runs_;            // adjacent members merged
  std::vector<float> values_;
};

}  // namespace omlkit::model
