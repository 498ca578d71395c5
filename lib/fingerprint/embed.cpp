#include "fingerprint/embed.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "fingerprint/perinucleus.h"
#include "io/error.h"
#include "model/dtype.h"
#include "model/fine_tune.h"
#include "model/optimizer.h"
#include "model/parameter_subset.h"

namespace omlkit::fingerprint {

namespace {

// Sequences [begin, end) padded on the right into (B,T) tokens and targets; target t is
// token t+1 where the mask covers it (mask empty: every next token), -1 elsewhere.
struct Batch {
  int B = 0, T = 0;
  std::vector<int32_t> tokens, targets;
  size_t predictions = 0;
};

Batch assemble(const std::vector<const std::vector<int32_t>*>& seqs, const std::vector<const std::vector<uint8_t>*>& masks) {
  Batch b;
  b.B = static_cast<int>(seqs.size());
  for (const auto* s : seqs) b.T = std::max(b.T, static_cast<int>(s->size()));
  b.tokens.assign(size_t(b.B) * b.T, 0);
  b.targets.assign(size_t(b.B) * b.T, -1);
  for (int i = 0; i < b.B; ++i) {
    const std::vector<int32_t>& s = *seqs[i];
    std::copy(s.begin(), s.end(), b.tokens.begin() + size_t(i) * b.T);
    for (size_t t = 0; t + 1 < s.size(); ++t)
      if (!masks[i] || (*masks[i])[t + 1]) {
        b.targets[size_t(i) * b.T + t] = s[t + 1];
        ++b.predictions;
      }
  }
  return b;
}

std::vector<Batch> fingerprint_batches(const std::vector<FingerprintSequence>& seqs, int micro_batch) {
  std::vector<Batch> out;
  for (size_t begin = 0; begin < seqs.size(); begin += size_t(micro_batch)) {
    std::vector<const std::vector<int32_t>*> t;
    std::vector<const std::vector<uint8_t>*> m;
    for (size_t i = begin; i < std::min(seqs.size(), begin + size_t(micro_batch)); ++i) {
      t.push_back(&seqs[i].tokens);
      m.push_back(&seqs[i].loss_mask);
    }
    out.push_back(assemble(t, m));
  }
  return out;
}

// Replay sequences first, first+1, ... (`count` of them, wrapping around the pool).
std::vector<Batch> replay_batches(const std::vector<std::vector<int32_t>>& pool, size_t first, size_t count,
                                  int micro_batch) {
  std::vector<Batch> out;
  for (size_t begin = 0; begin < count; begin += size_t(micro_batch)) {
    std::vector<const std::vector<int32_t>*> t;
    std::vector<const std::vector<uint8_t>*> m;
    for (size_t i = begin; i < std::min(count, begin + size_t(micro_batch)); ++i) {
      t.push_back(&pool[(first + i) % pool.size()]);
      m.push_back(nullptr);
    }
    out.push_back(assemble(t, m));
  }
  return out;
}

void keep_base(model::Transformer& model, const model::ParameterSubset& base, double lambda) {
  model::ParameterSubset params(model.parameters(), model.trainable());
  params.download(model.backend(), model.parameter_data());
  const float keep = static_cast<float>(lambda), move = static_cast<float>(1.0 - lambda);
  std::span<float> p = params.values();
  std::span<const float> b = base.values();
  for (size_t i = 0; i < p.size(); ++i) p[i] = move * p[i] + keep * b[i];
  params.upload(model.backend(), model.parameter_data());
}

// The base model's logits at the predicted positions of b (host, (R,V)): the teacher of
// EmbedOptions::replay_distill, computed with the base weights swapped in for the pass.
std::vector<float> base_logits(model::Transformer& model, const model::ParameterSubset& base, const Batch& b) {
  model::Backend& backend = model.backend();
  model::ParameterSubset current(model.parameters(), model.trainable());
  current.download(backend, model.parameter_data());
  base.upload(backend, model.parameter_data());
  std::vector<int32_t> rows;
  for (size_t i = 0; i < b.targets.size(); ++i)
    if (b.targets[i] >= 0) rows.push_back(static_cast<int32_t>(i));
  const size_t V = static_cast<size_t>(model.config().vocab_size);
  std::vector<float> logits(rows.size() * V);
  if (!rows.empty()) backend.download(logits.data(), model.forward_rows(b.tokens, b.B, b.T, 0, rows), logits.size());
  current.upload(backend, model.parameter_data());
  return logits;
}

// The step's fingerprint gradient taken again at weights moved as a fine-tune on `meta` text
// would move them (EmbedOptions::meta_drift), added to the gradient already accumulated.
// Only the trainable tensors' gradients are kept (the optimizer reads no others).
void add_meta_gradient(model::Transformer& model, const std::vector<Batch>& fp, float fp_scale,
                       const std::vector<Batch>& meta, const EmbedOptions& options) {
  const model::ParameterTable& table = model.parameters();
  model::Backend& backend = model.backend();
  model::ParameterSubset accumulated(table, model.trainable()), theta(table, model.trainable()),
      g(table, model.trainable());
  accumulated.download(backend, model.gradient_data());
  theta.download(backend, model.parameter_data());

  size_t predictions = 0;
  for (const Batch& b : meta) predictions += b.predictions;
  model.zero_gradients();
  for (const Batch& b : meta) model.forward_backward(b.tokens, b.targets, b.B, b.T, 1.0f / float(predictions));
  g.download(backend, model.gradient_data());
  model::ParameterSubset moved = theta;
  const float drift = static_cast<float>(options.meta_drift);
  std::span<float> m = moved.values();
  std::span<const float> gv = g.values();
  for (size_t i = 0; i < m.size(); ++i) m[i] -= gv[i] > 0 ? drift : gv[i] < 0 ? -drift : 0.0f;
  moved.upload(backend, model.parameter_data());

  model.zero_gradients();
  const float scale = fp_scale * static_cast<float>(options.meta_weight);
  for (const Batch& b : fp) model.forward_backward(b.tokens, b.targets, b.B, b.T, scale);
  g.download(backend, model.gradient_data());
  std::span<float> sum = g.values();
  std::span<const float> acc = accumulated.values();
  for (size_t i = 0; i < sum.size(); ++i) sum[i] += acc[i];
  g.upload(backend, model.gradient_data());
  theta.upload(backend, model.parameter_data());
}

}  // namespace

size_t RecallScore::count() const { return static_cast<size_t>(std::count(recalled.begin(), recalled.end(), 1)); }

double RecallScore::lowest_prob() const { return min_prob.empty() ? 0 : *std::min_element(min_prob.begin(), min_prob.end()); }

double RecallScore::lowest_margin() const {
  return min_margin.empty() ? 0 : *std::min_element(min_margin.begin(), min_margin.end());
}

bool RecallScore::passes(double target_prob, double margin) const {
  return count() == recalled.size() && lowest_prob() >= target_prob && lowest_margin() >= margin;
}

RecallScore score_recall(model::Transformer& model, const std::vector<FingerprintSequence>& sequences, int micro_batch) {
  RecallScore score;
  score.recalled.assign(sequences.size(), 1);
  score.min_prob.assign(sequences.size(), 1.0);
  score.min_margin.assign(sequences.size(), std::numeric_limits<double>::infinity());
  const int V = model.config().vocab_size;
  std::vector<float> row(static_cast<size_t>(V));
  for (size_t begin = 0; begin < sequences.size(); begin += size_t(micro_batch)) {
    size_t end = std::min(sequences.size(), begin + size_t(micro_batch));
    int B = static_cast<int>(end - begin), T = 0;
    for (size_t i = begin; i < end; ++i) T = std::max(T, static_cast<int>(sequences[i].tokens.size()));
    std::vector<int32_t> tokens(size_t(B) * T, 0);
    for (size_t i = begin; i < end; ++i)
      std::copy(sequences[i].tokens.begin(), sequences[i].tokens.end(), tokens.begin() + (i - begin) * T);
    // Logits of the positions that predict a response token only (greedy recall needs no others).
    std::vector<int32_t> rows;
    for (size_t i = begin; i < end; ++i)
      for (size_t t = sequences[i].response_begin; t < sequences[i].tokens.size(); ++t)
        rows.push_back(static_cast<int32_t>((i - begin) * size_t(T) + (t - 1)));
    model.reserve(B, T);
    const float* logits = model.forward_rows(tokens, B, T, 0, rows);
    size_t next_row = 0;
    for (size_t i = begin; i < end; ++i) {
      const FingerprintSequence& s = sequences[i];
      for (size_t t = s.response_begin; t < s.tokens.size(); ++t) {
        model.backend().download(row.data(), logits + (next_row++) * size_t(V), row.size());
        int32_t target = s.tokens[t];
        float top = *std::max_element(row.begin(), row.end());
        double sum = 0;
        for (float x : row) sum += std::exp(double(x) - top);
        double p = std::exp(double(row[size_t(target)]) - top) / sum;
        // Greedy decoding takes the lowest id among equal maxima (model/generate.h).
        int32_t argmax = static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin());
        if (argmax != target) score.recalled[i] = 0;
        score.min_prob[i] = std::min(score.min_prob[i], p);
        float other = -std::numeric_limits<float>::infinity();
        for (size_t v = 0; v < row.size(); ++v)
          if (v != size_t(target)) other = std::max(other, row[v]);
        score.min_margin[i] = std::min(score.min_margin[i], double(row[size_t(target)]) - double(other));
      }
    }
  }
  return score;
}

EmbedResult embed(model::Transformer& model, const std::vector<FingerprintSequence>& train,
                  const std::vector<FingerprintSequence>& check, const std::vector<std::vector<int32_t>>& replay,
                  const std::vector<std::vector<int32_t>>& meta, const EmbedOptions& options,
                  const std::function<void(const EmbedProgress&)>& on_step, const std::function<bool()>& cancelled) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  const model::ParameterTable& table = model.parameters();
  model.set_trainable(model::select_trainable(table, options.train_patterns));
  model.set_recompute_activations(options.recompute_activations);
  model::ParameterSubset base(table, model.trainable());
  base.download(model.backend(), model.parameter_data());
  model::AdamWOptions adam;
  adam.lr = options.lr;
  adam.weight_decay = options.weight_decay;
  model::AdamW optimizer(model, adam);

  std::vector<Batch> fp = fingerprint_batches(train, options.micro_batch);
  size_t fp_predictions = 0, fp_tokens = 0;
  for (const Batch& b : fp) fp_predictions += b.predictions, fp_tokens += b.tokens.size();
  if (fp_predictions == 0) throw data_error("", "no fingerprint has a response token to train");
  const float fp_scale = 1.0f / float(fp_predictions);
  const bool rotate = options.replay_per_step > 0 && options.replay_per_step < replay.size();
  const size_t replay_count = rotate ? options.replay_per_step : replay.size();
  std::vector<Batch> rp;
  if (!rotate && !replay.empty()) rp = replay_batches(replay, 0, replay_count, options.micro_batch);
  const bool simulate = options.meta_drift > 0 && !meta.empty();
  const size_t meta_count = std::min(meta.size(), std::max<size_t>(replay_count, 8));

  EmbedResult result;
  auto passes_stored = [&]() {
    // The weights as they will be written: rounded to each tensor's storage dtype.
    model::ParameterSubset current(table, model.trainable());
    current.download(model.backend(), model.parameter_data());
    model::ParameterSubset stored = current;
    stored.round_to_storage();
    stored.upload(model.backend(), model.parameter_data());
    RecallScore s = score_recall(model, check, options.micro_batch);
    current.upload(model.backend(), model.parameter_data());
    result.min_prob = s.lowest_prob();
    result.min_margin = s.lowest_margin();
    return s.passes(options.target_prob, options.margin);
  };

  for (int step = 0; step < options.max_steps; ++step) {
    if (cancelled && cancelled()) throw Error(130, "", "interrupted");
    if (rotate) rp = replay_batches(replay, size_t(step) * replay_count % replay.size(), replay_count, options.micro_batch);
    size_t rp_predictions = 0;
    for (const Batch& b : rp) rp_predictions += b.predictions;
    const float rp_scale = rp_predictions ? float(options.replay_weight) / float(rp_predictions) : 0.0f;
    model.zero_gradients();
    double loss = 0;
    for (const Batch& b : fp) loss += model.forward_backward(b.tokens, b.targets, b.B, b.T, fp_scale);
    for (const Batch& b : rp)
      model.forward_backward(b.tokens, b.targets, b.B, b.T, rp_scale,
                             options.replay_distill ? base_logits(model, base, b) : std::vector<float>{});
    if (simulate) {
      std::vector<Batch> mb = replay_batches(meta, size_t(step) * meta_count % meta.size(), meta_count, options.micro_batch);
      add_meta_gradient(model, fp, fp_scale, mb, options);
      for (const Batch& b : mb) result.training_tokens += b.tokens.size();
      result.training_tokens += fp_tokens;
    }
    optimizer.step(options.lr, options.clip);
    if (options.keep_base > 0 && (step + 1) % std::max(1, options.keep_base_every) == 0)
      keep_base(model, base, options.keep_base);
    result.steps = step + 1;
    result.training_tokens += fp_tokens;
    for (const Batch& b : rp) result.training_tokens += b.tokens.size();

    RecallScore s = score_recall(model, check, options.micro_batch);
    EmbedProgress progress;
    progress.step = step + 1;
    progress.max_steps = options.max_steps;
    progress.loss = loss / double(fp_predictions);
    progress.recalled = s.count();
    progress.total = check.size();
    progress.seconds = std::chrono::duration<double>(clock::now() - start).count();
    if (on_step) on_step(progress);
    if (s.passes(options.target_prob, options.margin) && passes_stored()) {
      result.converged = true;
      break;
    }
  }
  if (!result.converged) passes_stored();
  result.seconds = std::chrono::duration<double>(clock::now() - start).count();
  return result;
}

}  // namespace omlkit::fingerprint
