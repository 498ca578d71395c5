#include "model/benchmark.h"

#include <chrono>
#include <cstring>
#include <functional>
#include <thread>
#include <vector>

#include "model/optimizer.h"

namespace omlkit::model {
namespace {

// Calls of fn per second, after a warm-up call, over at least min_seconds.
double calls_per_second(const std::function<void()>& fn, double min_seconds) {
  using clock = std::chrono::steady_clock;
  fn();
  auto start = clock::now();
  int calls = 0;
  double elapsed = 0;
  do {
    fn();
    calls++;
    elapsed = std::chrono::duration<double>(clock::now() - start).count();
  } while (elapsed < min_seconds);
  return calls / elapsed;
}

// Matmul FLOPs per token: 2 per weight of every linear layer and the head, plus
// attention's QK^T and AV over `context` positions on average.
double flops_per_token(const ModelConfig& c, double context) {
  double C = c.dim, F = c.ffn_dim, Q = c.q_dim(), KV = c.kv_dim();
  double mlp = c.architecture == Architecture::llama ? 3 * C * F : 2 * C * F;
  double per_layer = C * (Q + 2 * KV) + Q * C + mlp;
  return 2 * (c.n_layer * per_layer + C * c.vocab_size) + 4 * c.n_layer * context * Q;
}

// Bytes of weights one forward step reads, in their stored (in place) or widened F32 form:
// every tensor once, except position embeddings and an untied embedding table, of which
// a step reads one row (the KV cache of a short context adds little).
double weight_bytes_per_token(const Transformer& model) {
  const auto& entries = model.parameters().entries();
  double bytes = 0;
  for (size_t i = 0; i < entries.size(); i++) {
    const std::string& role = entries[i].role;
    if (role == "wpe" || (role == "wte" && !model.config().tied_head)) continue;
    bytes += double(entries[i].count) * (model.in_place(i) ? double(dtype_size(entries[i].storage_dtype)) : 4.0);
  }
  return bytes;
}

}  // namespace

double measure_read_gbps(int threads, double min_seconds) {
  if (threads < 1) threads = 1;
  const size_t words = (size_t(1) << 30) / sizeof(uint64_t);
  std::vector<uint64_t> buffer(words);
  for (size_t i = 0; i < words; i++) buffer[i] = i;  // every page present before timing
  std::vector<uint64_t> sums(static_cast<size_t>(threads));
  auto read_all = [&] {
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; t++)
      workers.emplace_back([&, t] {
        size_t begin = words * size_t(t) / size_t(threads), end = words * size_t(t + 1) / size_t(threads);
        // Eight independent integer sums: no dependency chain, vectorised, so the loop
        // waits on memory, not on additions.
        uint64_t lanes[8] = {};
        size_t i = begin;
        for (; i + 8 <= end; i += 8)
          for (int j = 0; j < 8; j++) lanes[j] += buffer[i + size_t(j)];
        for (; i < end; i++) lanes[0] += buffer[i];
        uint64_t total = 0;
        for (uint64_t lane : lanes) total += lane;
        sums[size_t(t)] = total;  // kept, so the reads cannot be optimised away
      });
    for (auto& w : workers) w.join();
  };
  double calls = calls_per_second(read_all, min_seconds);
  volatile uint64_t sink = 0;
  for (uint64_t s : sums) sink = sink + s;
  return calls * double(words * sizeof(uint64_t)) / 1e9;
}

BenchmarkResult run_benchmark(Transformer& model, int batch, int tokens, double min_seconds, int threads,
                              bool inference_only) {
  const ModelConfig& c = model.config();
  Backend& be = model.backend();
  BenchmarkResult r;
  r.batch = batch;
  r.tokens = tokens;
  std::vector<int32_t> ids(size_t(batch) * tokens);
  for (size_t i = 0; i < ids.size(); i++) ids[i] = int32_t((i * 7919 + 13) % size_t(c.vocab_size));

  model.reserve(batch, tokens);
  if (!inference_only) {
    r.forward_tokens_per_s = batch * tokens * calls_per_second([&] { model.forward(ids, batch, tokens, 0); }, min_seconds);
    r.prefill_last_tokens_per_s =
        batch * tokens * calls_per_second([&] { model.forward(ids, batch, tokens, 0, true); }, min_seconds);
  }

  // Training: next-token targets, the last position of each sequence masked. The backward
  // pass runs two matmuls for each of the forward's, hence the 3x in the limit.
  std::vector<int32_t> targets(ids.size(), -1);
  for (size_t i = 0; i + 1 < ids.size(); i++)
    if ((i + 1) % size_t(tokens) != 0) targets[i] = ids[i + 1];
  float scale = 1.0f / float(batch * (tokens - 1));
  r.score_tokens_per_s =
      batch * tokens * calls_per_second([&] { model.token_logprobs(ids, targets, batch, tokens); }, min_seconds);
  if (!inference_only) {
    DeviceBuffer logprobs(be, ids.size());
    r.score_all_logits_tokens_per_s = batch * tokens * calls_per_second([&] {
      be.token_logprob_forward(logprobs.data(), model.forward(ids, batch, tokens, 0), targets, batch * tokens,
                               c.vocab_size);
    }, min_seconds);
    r.train_tokens_per_s = batch * tokens * calls_per_second(
        [&] { model.forward_backward(ids, targets, batch, tokens, scale); }, min_seconds);
    std::vector<int32_t> masked(targets.size(), -1);
    for (size_t i = 0; i < masked.size(); i++)
      if (int(i % size_t(tokens)) >= tokens - 1 - kMaskedTargets) masked[i] = targets[i];
    r.train_masked_tokens_per_s = batch * tokens * calls_per_second([&] {
      model.forward_backward(ids, masked, batch, tokens, 1.0f / float(batch * kMaskedTargets));
    }, min_seconds);
    AdamW optimizer(model, {});
    r.train_step_tokens_per_s = batch * tokens * calls_per_second([&] {
      model.zero_gradients();
      model.forward_backward(ids, targets, batch, tokens, scale);
      optimizer.step(1e-6f, 1.0f);
    }, min_seconds);
  }

  // One step per call: a 1-token prompt, then tokens-1 cached steps, restarting at the end.
  model.reserve(1, tokens);
  int pos = 0;
  r.generate_tokens_per_s = calls_per_second([&] {
    model.forward(std::span<const int32_t>(&ids[size_t(pos)], 1), 1, 1, pos, true);
    pos = (pos + 1) % tokens;
  }, min_seconds);

  const int n = 1024;
  DeviceBuffer a(be, size_t(n) * n), w(be, size_t(n) * n), out(be, size_t(n) * n);
  Linear square{w.data(), nullptr, n, n, false};
  r.sgemm_gflops = 2.0 * n * n * n * calls_per_second([&] { be.matmul_forward(out.data(), a.data(), n, square, n); },
                                                      min_seconds) / 1e9;
  r.forward_flops_per_token = flops_per_token(c, tokens / 2.0);
  r.limit_tokens_per_s = r.sgemm_gflops * 1e9 / r.forward_flops_per_token;
  r.train_limit_tokens_per_s = r.limit_tokens_per_s / 3;
  r.read_gbps = measure_read_gbps(threads, min_seconds);
  r.weight_bytes_per_token = weight_bytes_per_token(model);
  r.generate_limit_tokens_per_s = r.read_gbps * 1e9 / r.weight_bytes_per_token;
  return r;
}

}  // namespace omlkit::model
