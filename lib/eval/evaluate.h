// Running a suite on a model: log-likelihoods of continuations (multiple choice), rolling
// log-likelihood of texts (perplexity) and greedy generation (exact match), each computed
// the way EleutherAI's lm-evaluation-harness defines it, on the engine's batched forward.
//
// Token context (harness `_encode_pair`): trailing whitespace of a context moves to the
// front of the continuation; whole = encode(context + continuation), ctx = encode(context),
// continuation tokens = whole[len(ctx):]. encode() applies the tokenizer's post-processor
// prefix (a BOS where the tokenizer adds one). An empty context is the model's BOS token
// (or EOS when it has no BOS), as the harness's prefix token. The forward input is
// (ctx + continuation)[-(max_positions+1):][:-1]; the log-likelihood is the sum over the
// continuation's positions.
//
// Deterministic on the CPU for a given batch size: requests are grouped in a fixed order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "eval/suite.h"
#include "json/value.h"
#include "model/tokenizer.h"
#include "model/transformer.h"

namespace omlkit::eval {

struct EvaluateOptions {
  int batch = 8;  // sequences per forward pass
};

struct TaskResult {
  const Task* task = nullptr;
  std::vector<std::pair<std::string, double>> metrics;  // name -> value, in a fixed order
  double score = 0;     // 0-100: 100 * acc / acc_norm / exact_match, or 100 / byte_perplexity
  json::Value items;    // per-item details (array), see man/omlkit-formats.5
};

struct SuiteResult {
  std::vector<TaskResult> tasks;
  double overall = 0;  // weighted mean of the task scores
  int64_t score = 0;   // overall rounded to the nearest integer (halves away from zero)
};

// Throws omlkit::Error 65 (with the item's place) for an item the model cannot take: a
// continuation that tokenizes to nothing, no BOS/EOS for an empty context, or a context
// longer than the model's positions where it cannot be cut.
SuiteResult evaluate_suite(model::Transformer& model, const model::Tokenizer& tokenizer, const Suite& suite,
                           const EvaluateOptions& options);

// One scoring request: the log-likelihood of the last `continuation` tokens of `tokens`
// given the ones before them (1 <= continuation < tokens.size()).
struct LoglikelihoodRequest {
  std::vector<int32_t> tokens;
  size_t continuation = 0;
};
// Batched: up to `batch` requests per forward, longest first (ties in request order), each
// input cut on the left to the model's positions. Sums (of F32 log-probabilities, in
// double) in request order. Throws 65 when a continuation is longer than the context.
std::vector<double> loglikelihoods(model::Transformer& model, const std::vector<LoglikelihoodRequest>& requests,
                                          int batch);

}  // namespace omlkit::eval
