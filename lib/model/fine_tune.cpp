#include "model/fine_tune.h"

#include <fnmatch.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "io/error.h"

namespace omlkit::model {
namespace {

// Fisher-Yates with mt19937_64 (whose output the standard fixes), not std::shuffle (whose
// algorithm it does not): the batch order is the same with every standard library.
void shuffle(std::vector<size_t>& order, std::mt19937_64& rng) {
  for (size_t i = order.size(); i > 1; i--) std::swap(order[i - 1], order[rng() % i]);
}

// Tokens (B,T) padded with 0 on the right, and targets (B,T): the next token where it
// exists and is unmasked, -1 elsewhere.
struct MicroBatch {
  std::vector<int32_t> tokens, targets;
  int B = 0, T = 0;
  size_t predictions = 0;
};

MicroBatch assemble(const std::vector<TrainingExample>& windows, const std::vector<size_t>& picks) {
  MicroBatch mb;
  mb.B = int(picks.size());
  for (size_t i : picks) mb.T = std::max(mb.T, int(windows[i].tokens.size()));
  mb.tokens.assign(size_t(mb.B) * mb.T, 0);
  mb.targets.assign(size_t(mb.B) * mb.T, -1);
  for (int b = 0; b < mb.B; b++) {
    const TrainingExample& w = windows[picks[size_t(b)]];
    for (size_t t = 0; t < w.tokens.size(); t++) {
      size_t at = size_t(b) * mb.T + t;
      mb.tokens[at] = w.tokens[t];
      if (t + 1 < w.tokens.size() && (w.loss_mask.empty() || w.loss_mask[t + 1])) {
        mb.targets[at] = w.tokens[t + 1];
        mb.predictions++;
      }
    }
  }
  return mb;
}

}  // namespace

std::vector<TrainingExample> cut_windows(const std::vector<TrainingExample>& examples, int seq_len) {
  std::vector<TrainingExample> windows;
  for (const auto& e : examples)
    for (size_t begin = 0; begin < e.tokens.size(); begin += size_t(seq_len)) {
      size_t end = std::min(e.tokens.size(), begin + size_t(seq_len));
      TrainingExample w;
      w.tokens.assign(e.tokens.begin() + long(begin), e.tokens.begin() + long(end));
      if (!e.loss_mask.empty()) w.loss_mask.assign(e.loss_mask.begin() + long(begin), e.loss_mask.begin() + long(end));
      bool predicts = false;
      for (size_t t = 1; t < w.tokens.size(); t++) predicts = predicts || w.loss_mask.empty() || w.loss_mask[t];
      if (predicts) windows.push_back(std::move(w));
    }
  return windows;
}

void fine_tune(Transformer& model, const std::vector<TrainingExample>& examples, const FineTuneOptions& options,
               const std::function<void(const StepReport&)>& on_step) {
  int seq_len = std::min(options.seq_len, model.config().max_positions);
  std::vector<TrainingExample> windows = cut_windows(examples, seq_len);
  if (windows.empty()) throw data_error("", "no training example has a token to predict");
  int batch = std::min<int>(options.batch, int(windows.size()));

  std::mt19937_64 rng(options.seed);
  std::vector<size_t> order(windows.size());
  for (size_t i = 0; i < order.size(); i++) order[i] = i;
  shuffle(order, rng);
  size_t next = 0;
  auto draw = [&] {  // the next `batch` windows of the seeded order, reshuffled each epoch
    std::vector<size_t> picks;
    while (int(picks.size()) < batch) {
      if (next == order.size()) {
        shuffle(order, rng);
        next = 0;
      }
      picks.push_back(order[next++]);
    }
    return assemble(windows, picks);
  };

  AdamW optimizer(model, options.adamw);
  for (int step = 0; step < options.steps; step++) {
    std::vector<MicroBatch> micro;
    StepReport report;
    for (int a = 0; a < std::max(1, options.accumulate); a++) {
      micro.push_back(draw());
      report.predictions += micro.back().predictions;
      report.tokens += micro.back().tokens.size();
    }
    // Every micro-batch's losses are divided by the step's total count of predictions,
    // so accumulation gives exactly the gradient of the mean loss over the whole step.
    float scale = report.predictions ? 1.0f / float(report.predictions) : 0.0f;
    model.zero_gradients();
    double loss_sum = 0;
    for (const auto& mb : micro) loss_sum += model.forward_backward(mb.tokens, mb.targets, mb.B, mb.T, scale);
    report.step = step + 1;
    report.steps = options.steps;
    report.loss = report.predictions ? loss_sum / double(report.predictions) : 0;
    report.lr = scheduled_lr(options.schedule, options.adamw.lr, step, options.steps, options.warmup,
                             options.min_lr_ratio);
    if (!std::isfinite(report.loss))
      throw data_error("", "step " + std::to_string(report.step) + ": the loss is not finite; nothing was written");
    report.grad_norm = optimizer.step(report.lr, options.clip);
    // A non-finite norm means the update just applied spread NaN or Inf into the weights.
    if (!std::isfinite(report.grad_norm))
      throw data_error("", "step " + std::to_string(report.step) + ": the gradients are not finite; nothing was written");
    if (on_step) on_step(report);
  }
}

std::vector<bool> select_trainable(const ParameterTable& table, const std::vector<std::string>& patterns) {
  const auto& entries = table.entries();
  std::vector<bool> trainable(entries.size(), patterns.empty());
  for (const auto& pattern : patterns) {
    bool matched = false;
    for (size_t i = 0; i < entries.size(); i++)
      if (fnmatch(pattern.c_str(), entries[i].name.c_str(), 0) == 0 ||
          fnmatch(pattern.c_str(), entries[i].role.c_str(), 0) == 0)
        trainable[i] = matched = true;
    if (!matched) throw Error(exit_code::usage, "", "--train-only " + pattern + ": matches no tensor of the model");
  }
  return trainable;
}

}  // namespace omlkit::model
