// Fine-tuning a Transformer on token sequences: windows of at most seq_len tokens, batches
// drawn in a seeded order, gradient accumulation, global-norm clipping, an LR schedule and
// AdamW (model/optimizer.h). Only the model's trainable tensors change.
//
// Deterministic: the same model, examples, options and backend (CPU: the same thread
// count) give bit-identical weights.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/optimizer.h"
#include "model/transformer.h"

namespace omlkit::model {

struct TrainingExample {
  std::vector<int32_t> tokens;
  // One flag per token: 1 = the loss includes predicting this token. Empty = all tokens.
  std::vector<uint8_t> loss_mask;
};

struct FineTuneOptions {
  int steps = 100;
  int batch = 4;       // windows per micro-batch (capped at the number of windows)
  int accumulate = 1;  // micro-batches whose gradients add up to one optimizer step
  int seq_len = 128;   // longest window, capped at the model's context
  AdamWOptions adamw;
  float clip = 1.0f;   // max global gradient norm, 0 = no clipping
  LrSchedule schedule = LrSchedule::constant;
  int warmup = 0;
  float min_lr_ratio = 0.1f;
  uint64_t seed = 0;   // batch order
};

struct StepReport {
  int step = 0, steps = 0;  // 1-based
  double loss = 0;          // mean loss of the step's batch, before its update
  double grad_norm = 0;     // before clipping
  float lr = 0;
  size_t predictions = 0;   // unmasked targets in the step
  size_t tokens = 0;        // tokens through the model in the step
};

// Windows of at most seq_len tokens cut from each example in order; windows with nothing
// to predict are dropped.
std::vector<TrainingExample> cut_windows(const std::vector<TrainingExample>& examples, int seq_len);

// Runs options.steps optimizer steps, calling on_step after each. Throws 65 when the loss
// or the gradient norm of a step is not finite (NaN options, diverging training), or when no
// window has a token to predict.
void fine_tune(Transformer& model, const std::vector<TrainingExample>& examples,
               const FineTuneOptions& options, const std::function<void(const StepReport&)>& on_step);

// One flag per model parameter: whether its checkpoint name or canonical role matches
// one of the glob patterns (fnmatch). An empty list selects all. Throws 2 naming a
// pattern that matches nothing.
std::vector<bool> select_trainable(const ParameterTable& table, const std::vector<std::string>& patterns);

}  // namespace omlkit::model
