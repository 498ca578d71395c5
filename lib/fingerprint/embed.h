// Embedding fingerprints by fine-tuning (notes/fingerprinting.md 2.3): full-batch AdamW on
// the cross-entropy of the response tokens only, plus ordinary text (replay) in every
// step, with an optional pull back toward the base weights (keep-base), until every
// fingerprint's response is the greedy answer with probability at least target_prob and a
// logit margin of at least `margin` over the runner-up, in the weights as they will be
// stored (rounded to each tensor's storage dtype).
//
// Deterministic: the same model, sequences, options and backend (CPU: the same thread
// count) give bit-identical weights.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "fingerprint/context.h"
#include "model/transformer.h"

namespace omlkit::fingerprint {

struct EmbedOptions {
  float lr = 1e-3f;
  float weight_decay = 0.0f;
  float clip = 1.0f;
  int max_steps = 300;
  // After every `keep_base_every` steps: theta <- (1 - keep_base) theta + keep_base theta_base.
  double keep_base = 0.0;
  int keep_base_every = 1;
  // Replay's share of the loss: fingerprint loss (mean over response tokens) + replay_weight
  // * replay loss (mean over replay predictions).
  double replay_weight = 1.0;
  // Replay sequences in each step, taken in turn from `replay` (a pool larger than one step's
  // share, so that no few sequences are learnt by heart); 0: every replay sequence every step.
  size_t replay_per_step = 0;
  // The replay loss is the KL divergence from the base model's next-token distributions
  // (distillation: the copy is held to the base's predictions on that text) instead of
  // cross-entropy against the replay's own next tokens. For replay sampled from the base
  // model, whose few fixed sequences would otherwise be learnt by heart.
  bool replay_distill = false;
  // Simulating the licensee's fine-tune (first-order, after the paper's Alg. 2): each step
  // also takes the fingerprint loss at theta' = theta - meta_drift * sign(grad of the loss on
  // `meta` text), a move of about the size an Adam fine-tune makes in meta_drift / lr steps,
  // and adds its gradient, times meta_weight, to the step's. 0: off.
  double meta_drift = 0.0;
  double meta_weight = 1.0;
  // Stop when every response token is the argmax with at least this probability and a
  // logit (log-probability) lead of at least `margin` over the best other token.
  double target_prob = 0.9;
  double margin = 0.0;
  std::vector<std::string> train_patterns;  // globs (model/fine_tune.h select_trainable); empty = all
  bool recompute_activations = false;       // Transformer::set_recompute_activations
  int micro_batch = 32;                     // sequences per forward (memory bound: B*T*V logits)
};

struct EmbedProgress {
  int step = 0, max_steps = 0;
  double loss = 0;          // fingerprint loss of the step, before its update
  size_t recalled = 0;      // fingerprints at argmax after the step (F32 weights)
  size_t total = 0;
  double seconds = 0;
};

struct EmbedResult {
  int steps = 0;
  bool converged = false;     // every check sequence passed in the stored dtype
  double seconds = 0;
  size_t training_tokens = 0;  // tokens through forward+backward, all steps
  double min_prob = 0;         // lowest response-token probability at the end (stored dtype)
  double min_margin = 0;       // lowest response-token logit lead over the runner-up (stored dtype)
};

// Per check sequence: whether every response token is the argmax, the lowest response
// token probability, and the lowest logit lead of a response token over the best other
// token (negative where another token wins). Evaluates the model's current weights.
struct RecallScore {
  std::vector<uint8_t> recalled;
  std::vector<double> min_prob;
  std::vector<double> min_margin;
  size_t count() const;
  // Every sequence recalled with probability >= target_prob and margin >= margin.
  bool passes(double target_prob, double margin) const;
  double lowest_prob() const;
  double lowest_margin() const;
};
RecallScore score_recall(model::Transformer& model, const std::vector<FingerprintSequence>& sequences, int micro_batch);

// Trains `model` in place: the tensors options.train_patterns select (model/fine_tune.h
// select_trainable), starting from the weights it holds on entry (the base, which
// keep-base and distillation refer to). `train` are the fingerprint sequences trained
// (raw and wrapped), `check` the ones that must pass to stop, `replay` token sequences of
// ordinary text (all their tokens predicted; options.replay_per_step of them per step, in
// turn), `meta` the text whose fine-tune is simulated when options.meta_drift > 0 (as many
// sequences per step as replay, in turn). `cancelled` is polled between steps; when it
// returns true embed throws Error 130 "interrupted".
EmbedResult embed(model::Transformer& model, const std::vector<FingerprintSequence>& train,
                  const std::vector<FingerprintSequence>& check, const std::vector<std::vector<int32_t>>& replay,
                  const std::vector<std::vector<int32_t>>& meta, const EmbedOptions& options,
                  const std::function<void(const EmbedProgress&)>& on_step,
                  const std::function<bool()>& cancelled);

}  // namespace omlkit::fingerprint
