// Where each weight of a model lives: checkpoint tensor name, shape, and its place in one
// flat F32 buffer (llm.c style, so that part 2's gradients and AdamW state are parallel
// flat buffers with the same offsets).
//
// The layout puts tensors that are used as one matrix next to each other: Llama's q, k, v
// projections (one fused QKV matmul) and gate, up projections (one fused SwiGLU matmul).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "model/checkpoint.h"
#include "model/config.h"

namespace omlkit::model {

struct ParameterInfo {
  std::string role;                // canonical name, e.g. "h.3.attn.qkv.weight" (GPT-2 keys)
  std::string name;                // the checkpoint's tensor name
  std::vector<uint64_t> shape;     // as stored in the checkpoint
  DType storage_dtype = DType::F32;
  size_t offset = 0;               // floats into the flat buffer
  size_t count = 0;
};

// A tensor an architecture expects in a checkpoint: its canonical role, the Hugging Face
// name a checkpoint of that family uses (the first spelling accepted), and its shape.
struct ExpectedTensor {
  std::string role;
  std::string name;
  std::vector<uint64_t> shape;
};

// Every parameter tensor of `config`'s architecture, in parameter-table order.
std::vector<ExpectedTensor> expected_tensors(const ModelConfig& config);

class ParameterTable {
 public:
  // Matches the checkpoint's tensors to the architecture's parameters, accepting the
  // name variants real checkpoints use (with or without "transformer."/"model." prefixes)
  // and skipping known non-parameter buffers. Throws 65 on a missing, misshapen or
  // unexpected tensor, naming it.
  static ParameterTable from_checkpoint(const Checkpoint& checkpoint);

  const std::vector<ParameterInfo>& entries() const { return entries_; }
  size_t total_floats() const { return total_; }
  // Offset of a role; throws 70 when the role does not exist (a bug, not bad input).
  size_t offset(const std::string& role) const;
  bool has(const std::string& role) const;
  // Converts entry i to F32 into dst (entries()[i].count floats, host memory), then
  // check_finite.
  void load_f32(const Checkpoint& checkpoint, size_t i, float* dst) const;
  // Throws 65 naming the tensor and element when entry i's values (F32) hold a NaN or an
  // infinity: such weights only ever produce NaN logits.
  void check_finite(const Checkpoint& checkpoint, size_t i, const float* values) const;
  // The same check on entry i where it lies in the checkpoint, in its BF16/F16 dtype.
  void check_finite_16bit(const Checkpoint& checkpoint, size_t i) const;

 private:
  std::vector<ParameterInfo> entries_;
  size_t total_ = 0;
};

}  // namespace omlkit::model
