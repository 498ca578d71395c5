// AdamW (torch.optim.AdamW: decoupled weight decay, bias-corrected moments) over the
// trainable tensors of a Transformer, with global-norm gradient clipping
// (torch.nn.utils.clip_grad_norm_) and a learning-rate schedule.
//
// Moments are F32 device buffers kept only for trainable tensors: a frozen tensor has no
// optimizer state. Set the model's trainable tensors before constructing the optimizer.
#pragma once

#include <vector>

#include "model/backend.h"
#include "model/transformer.h"

namespace omlkit::model {

struct AdamWOptions {
  float lr = 1e-4f;
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  float weight_decay = 0.01f;  // PyTorch's default; applied to every trainable tensor
};

class AdamW {
 public:
  AdamW(Transformer& model, const AdamWOptions& options);

  // Global L2 norm of the trainable tensors' gradients.
  double gradient_norm();
  // One update at learning rate lr. When max_norm > 0 the gradients are first scaled by
  // min(1, max_norm / (norm + 1e-6)). Returns the norm before clipping (0 when not
  // clipping and not asked: pass max_norm < 0 to skip measuring it).
  double step(float lr, float max_norm);

  int steps_taken() const { return t_; }
  size_t state_floats() const { return m_.size() + v_.size(); }  // m and v together

 private:
  struct Run {  // a stretch of adjacent trainable tensors
    size_t param_offset, state_offset, count;
  };
  Transformer& model_;
  AdamWOptions options_;
  std::vector<Run> runs_;
  DeviceBuffer m_, v_;
  int t_ = 0;
};

enum class LrSchedule { constant, linear, cosine };

// The learning rate of step `step` (0-based) of `total`: linear warm-up from lr/warmup to
// lr over `warmup` steps, then constant, or a linear or cosine decay to lr * min_ratio at
// the last step.
float scheduled_lr(LrSchedule schedule, float lr, int step, int total, int warmup, float min_ratio);

}  // namespace omlkit::model
