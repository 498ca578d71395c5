// model-run evaluate as one library call: evaluate a suite into a record line, or check a
// recorded evaluation. Kept free of JSON types so that a tool's main needs no JSON library
// of ours (model-run's uses nlohmann::json under the name `json`).
#pragma once

#include <string>

#include "model/checkpoint.h"
#include "model/tokenizer.h"
#include "model/transformer.h"

namespace omlkit::eval {

struct EvaluateCommand {
  std::string suite;  // suite file
  std::string check;  // evaluation record file to recompute; empty = evaluate
  std::string evaluation, model_id, owner, evaluator;  // the record's identity (evaluate)
  int batch = 8;
};

struct EvaluateOutcome {
  std::string line;  // the evaluation record, or the evaluation.check line (canonical JSON)
  bool check_failed = false;
  std::string where, failure;  // with check_failed: the record's place and the first difference
};

// Throws omlkit::Error: 2 when evaluate lacks --model-id/--owner/--evaluator, 65/66 for a
// bad or missing suite or record.
EvaluateOutcome run_evaluate_command(const EvaluateCommand& command, const model::Checkpoint& checkpoint,
                                     model::Transformer& model, const model::Tokenizer& tokenizer);

}  // namespace omlkit::eval
