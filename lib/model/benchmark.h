// Speed measurements of the engine on any backend, for `model-run bench`, bench/engine.sh
// and bench/engine-scale.sh: forward and training throughput, token-by-token generation,
// the backend's own sgemm rate, which bounds the batched passes (their FLOPs are nearly
// all matmuls), and the host's memory read rate, which bounds CPU generation (each token
// reads every weight once).
#pragma once

#include "model/transformer.h"

namespace omlkit::model {

// Positions with a loss in the masked training measurement: a fingerprint fine-tune
// (omlize) has a few response tokens after a longer key.
inline constexpr int kMaskedTargets = 8;

struct BenchmarkResult {
  int batch = 0, tokens = 0;
  double forward_tokens_per_s = 0;   // (batch, tokens) forward passes with full logits
  double prefill_last_tokens_per_s = 0;  // the same with logits of each last position only
  double score_tokens_per_s = 0;     // the same giving each next token's log-probability
                                     // (Transformer::token_logprobs, LM head in chunks)
  double score_all_logits_tokens_per_s = 0;  // the same from all logits (forward, then
                                             // log-softmax of every row), the former path
  double generate_tokens_per_s = 0;  // batch 1, one new token per step with the KV cache
  double train_tokens_per_s = 0;     // forward + cross-entropy + backward, all tensors trained
  double train_step_tokens_per_s = 0;  // the same plus zeroing gradients and an AdamW update
  double train_masked_tokens_per_s = 0;  // forward + backward with the loss on the last
                                         // kMaskedTargets positions of each sequence only
  double forward_flops_per_token = 0;
  double sgemm_gflops = 0;           // square sgemm on the same backend and threads
  double limit_tokens_per_s = 0;     // sgemm rate / forward FLOPs per token
  double train_limit_tokens_per_s = 0;  // sgemm rate / (3 x forward FLOPs per token)
  double read_gbps = 0;              // host memory read rate, `threads` threads, 1 GiB buffer
  double weight_bytes_per_token = 0;  // weight bytes one generated token reads, as stored
  double generate_limit_tokens_per_s = 0;  // read_gbps / weight_bytes_per_token
};

// Runs each measurement for at least min_seconds (after one warm-up call). threads: the
// backend's, for the memory read measurement. inference_only: scoring, generation, sgemm
// and memory reads only (no training: a model that does not fit trained can be measured).
BenchmarkResult run_benchmark(Transformer& model, int batch, int tokens, double min_seconds, int threads,
                              bool inference_only = false);

// GB/s of reading a 1 GiB buffer (written first, so its pages exist) with `threads`
// threads, each summing its contiguous part, over at least min_seconds.
double measure_read_gbps(int threads, double min_seconds);

}  // namespace omlkit::model
