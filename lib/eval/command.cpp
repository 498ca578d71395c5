#include "eval/command.h"

#include <utility>

#include "crypto/sha256.h"
#include "eval/record.h"
#include "io/error.h"
#include "model/digest.h"

namespace omlkit::eval {

EvaluateOutcome run_evaluate_command(const EvaluateCommand& command, const model::Checkpoint& checkpoint,
                                     model::Transformer& model, const model::Tokenizer& tokenizer) {
  Suite suite = read_suite(command.suite);
  std::string digest = model::model_digest(checkpoint);
  EvaluateOutcome outcome;
  if (!command.check.empty()) {
    RecordedEvaluation recorded = read_evaluation(command.check);
    CheckReport report = check_evaluation(recorded, digest, model, tokenizer, suite);
    json::Value line = json::Value::object();
    line.set("type", json::Value::string("evaluation.check"));
    if (const json::Value* id = recorded.record.find("evaluation")) line.set("evaluation", *id);
    line.set("passed", json::Value::boolean(report.passed));
    line.set("score", json::Value::integer(recorded.score));
    if (report.recomputed) {
      line.set("recomputed_score", json::Value::integer(report.recomputed_score));
      line.set("max_relative_difference",
               json::Value::number_text(json::format_es6_number(report.max_relative_difference)));
    }
    outcome.line = json::canonical(line);
    outcome.check_failed = !report.passed;
    outcome.where = recorded.where;
    outcome.failure = report.failure;
    return outcome;
  }
  using Flag = std::pair<const char*, const std::string*>;
  for (const auto& [flag, value] :
       {Flag{"--model-id", &command.model_id}, Flag{"--owner", &command.owner}, Flag{"--evaluator", &command.evaluator}})
    if (value->empty()) throw Error(exit_code::usage, "", std::string("evaluate needs ") + flag + " (or --check)");
  EvaluationIdentity who{command.evaluation, command.model_id, command.owner, command.evaluator, digest};
  if (who.evaluation.empty())
    who.evaluation = "eval-" + crypto::to_hex(crypto::sha256(command.evaluator + "\n" + command.model_id + "\n" +
                                                             digest + "\n" + suite.digest))
                                   .substr(0, 16);
  EvaluateOptions options;
  options.batch = command.batch;
  SuiteResult result = evaluate_suite(model, tokenizer, suite, options);
  outcome.line = json::canonical(evaluation_record(who, suite, result, options));
  return outcome;
}

}  // namespace omlkit::eval
