// The evaluation record model-run evaluate writes, and its recomputation (--check).
//
//   {"type":"evaluation","v":1,"evaluation":ID,"model":M,"owner":O,"evaluator":E,"score":N,
//    "details":{"model_digest":"sha256:...","suite":{"suite":NAME,"digest":"sha256:..."},
//               "batch":B,"overall":X,"tasks":[{"task","kind","metric","weight","score",
//               "metrics":{...},"items":[...]}]}}
//
// The top-level fields are what split-fees --with-evaluations reads; `details` is what an
// auditor needs to recompute the score: the weights' digest (model/digest.h), the suite
// file's digest, the batch size, and every item's numbers.
#pragma once

#include <cstdint>
#include <string>

#include "eval/evaluate.h"
#include "json/value.h"

namespace omlkit::eval {

struct EvaluationIdentity {
  std::string evaluation;  // id of the record (and of its reward)
  std::string model;       // the model's ledger id
  std::string owner, evaluator;  // accounts
  std::string model_digest;
};

json::Value evaluation_record(const EvaluationIdentity& who, const Suite& suite, const SuiteResult& result,
                              const EvaluateOptions& options);

// An evaluation read back for --check.
struct RecordedEvaluation {
  json::Value record;
  std::string where;  // file:line
  std::string model_digest, suite_digest;
  int batch = 0;
  int64_t score = 0;
};
// Reads the first evaluation record of a file. Throws 65 (66 unreadable) when it has none
// or when its details are not ones model-run evaluate writes.
RecordedEvaluation read_evaluation(const std::string& path);

struct CheckReport {
  bool passed = false;
  bool recomputed = false;  // false when a digest differed and nothing was run
  std::string failure;  // the first difference, when not passed
  int64_t recomputed_score = 0;
  double max_relative_difference = 0;  // over every recomputed number
};

// Numbers may differ by this much relative (or absolute, near zero) and still agree: the
// room a different BLAS kernel or thread count takes in a float sum. Scores, predictions,
// counts and generated text must be equal.
inline constexpr double kCheckTolerance = 1e-5;

// Recomputes `recorded` from weights whose digest is `model_digest` and the suite, with the
// recorded batch size: fails without running anything when either digest differs.
CheckReport check_evaluation(const RecordedEvaluation& recorded, const std::string& model_digest,
                             model::Transformer& model, const model::Tokenizer& tokenizer, const Suite& suite);

}  // namespace omlkit::eval
