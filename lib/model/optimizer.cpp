#include "model/optimizer.h"

#include <cmath>

namespace omlkit::model {

AdamW::AdamW(Transformer& model, const AdamWOptions& options) : model_(model), options_(options) {
  const auto& entries = model.parameters().entries();
  size_t state = 0;
  for (size_t i = 0; i < entries.size(); i++) {
    if (!model.trainable()[i]) continue;
    const ParameterInfo& e = entries[i];
    if (!runs_.empty() && runs_.back().param_offset + runs_.back().count == e.offset)
      runs_.back().count += e.count;
    else
      runs_.push_back({e.offset, state, e.count});
    state += e.count;
  }
  if (state > 0) {
    m_ = DeviceBuffer(model.backend(), state);
    v_ = DeviceBuffer(model.backend(), state);
  }
}

double AdamW::gradient_norm() {
  Backend& be = model_.backend();
  const float* grads = model_.gradient_data();
  double sum = 0;
  for (const Run& r : runs_) sum += be.sum_squares(grads + r.param_offset, r.count);
  return std::sqrt(sum);
}

double AdamW::step(float lr, float max_norm) {
  Backend& be = model_.backend();
  double norm = max_norm >= 0 ? gradient_norm() : 0;
  AdamWStep h;
  h.lr = lr;
  h.beta1 = options_.beta1;
  h.beta2 = options_.beta2;
  h.eps = options_.eps;
  h.weight_decay = options_.weight_decay;
  h.t = ++t_;
  if (max_norm > 0) h.grad_scale = float(std::min(1.0, max_norm / (norm + 1e-6)));
  float* params = model_.parameter_data();
  const float* grads = model_.gradient_data();
  for (const Run& r : runs_)
    be.adamw_update(params + r.param_offset, m_.data() + r.state_offset, v_.data() + r.state_offset,
                    grads + r.param_offset, r.count, h);
  return norm;
}

float scheduled_lr(LrSchedule schedule, float lr, int step, int total, int warmup, float min_ratio) {
  if (step < warmup) return lr * float(step + 1) / float(warmup);
  if (schedule == LrSchedule::constant || total - warmup <= 1) return lr;
  double progress = double(step - warmup) / double(total - warmup - 1);  // 0 .. 1
  double factor = schedule == LrSchedule::linear ? 1.0 - progress : 0.5 * (1.0 + std::cos(M_PI * progress));
  return float(lr * (min_ratio + (1.0 - min_ratio) * factor));
}

}  // namespace omlkit::model
