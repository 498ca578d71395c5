#include "eval/record.h"

#include <cmath>
#include <cstdlib>

#include "io/error.h"
#include "io/line_reader.h"

namespace omlkit::eval {

namespace {

json::Value number(double d) { return json::Value::number_text(json::format_es6_number(d)); }

const json::Value* member(const json::Value& v, const char* key) { return v.is_object() ? v.find(key) : nullptr; }

std::string text_at(const json::Value& v, const char* key, const std::string& field, const std::string& where) {
  const json::Value* s = member(v, key);
  if (!s || !s->is_string() || s->text().empty())
    throw data_error(where, field + ": expected a non-empty string (is this a model-run evaluate record?)");
  return s->text();
}

std::string show(const json::Value& v) {
  std::string s = json::canonical(v);
  return s.size() > 80 ? s.substr(0, 77) + "..." : s;
}

// First difference between recorded a and recomputed b, with the path; "" when equal.
std::string difference(const json::Value& a, const json::Value& b, const std::string& path, double& max_relative) {
  if (a.kind() != b.kind()) return path + ": recorded " + show(a) + ", recomputed " + show(b);
  switch (a.kind()) {
    case json::Kind::number: {
      if (a.as_int64() && b.as_int64()) {
        if (*a.as_int64() != *b.as_int64()) return path + ": recorded " + a.text() + ", recomputed " + b.text();
        return "";
      }
      double x = std::strtod(a.text().c_str(), nullptr), y = std::strtod(b.text().c_str(), nullptr);
      double relative = std::fabs(x - y) / std::max({1.0, std::fabs(x), std::fabs(y)});
      max_relative = std::max(max_relative, relative);
      if (!(relative <= kCheckTolerance))
        return path + ": recorded " + a.text() + ", recomputed " + b.text() + " (differs by more than 1e-5 relative)";
      return "";
    }
    case json::Kind::array: {
      if (a.items().size() != b.items().size())
        return path + ": recorded " + std::to_string(a.items().size()) + " entries, recomputed " +
               std::to_string(b.items().size());
      std::string first;
      for (size_t i = 0; i < a.items().size(); i++) {
        std::string d = difference(a.items()[i], b.items()[i], path + "[" + std::to_string(i) + "]", max_relative);
        if (first.empty()) first = d;
      }
      return first;
    }
    case json::Kind::object: {
      std::string first;
      for (const auto& m : b.members()) {
        const json::Value* other = a.find(m.key);
        std::string d = other ? difference(*other, m.value, path + "." + m.key, max_relative)
                              : path + "." + m.key + ": missing from the recorded evaluation";
        if (first.empty()) first = d;
      }
      if (first.empty() && a.members().size() != b.members().size())
        for (const auto& m : a.members())
          if (!b.find(m.key)) return path + "." + m.key + ": not a field the recomputation has";
      return first;
    }
    default:
      return a == b ? "" : path + ": recorded " + show(a) + ", recomputed " + show(b);
  }
}

}  // namespace

json::Value evaluation_record(const EvaluationIdentity& who, const Suite& suite, const SuiteResult& result,
                              const EvaluateOptions& options) {
  json::Value tasks = json::Value::array();
  for (const TaskResult& r : result.tasks) {
    json::Value metrics = json::Value::object();
    for (const auto& [name, value] : r.metrics) metrics.set(name, number(value));
    json::Value t = json::Value::object();
    t.set("task", json::Value::string(r.task->name));
    t.set("kind", json::Value::string(std::string(task_kind_name(r.task->kind))));
    t.set("metric", json::Value::string(r.task->metric));
    t.set("weight", json::Value::integer(r.task->weight));
    t.set("score", number(r.score));
    t.set("metrics", std::move(metrics));
    t.set("items", r.items);
    tasks.push_back(std::move(t));
  }
  json::Value suite_id = json::Value::object();
  suite_id.set("suite", json::Value::string(suite.name));
  suite_id.set("digest", json::Value::string(suite.digest));
  json::Value details = json::Value::object();
  details.set("model_digest", json::Value::string(who.model_digest));
  details.set("suite", std::move(suite_id));
  details.set("batch", json::Value::integer(options.batch));
  details.set("overall", number(result.overall));
  details.set("tasks", std::move(tasks));

  json::Value record = json::Value::object();
  record.set("type", json::Value::string("evaluation"));
  record.set("v", json::Value::integer(1));
  record.set("evaluation", json::Value::string(who.evaluation));
  record.set("model", json::Value::string(who.model));
  record.set("owner", json::Value::string(who.owner));
  record.set("evaluator", json::Value::string(who.evaluator));
  record.set("score", json::Value::integer(result.score));
  record.set("details", std::move(details));
  return record;
}

RecordedEvaluation read_evaluation(const std::string& path) {
  std::string bytes = io::read_file(path);
  size_t pos = 0, line_number = 0;
  while (pos < bytes.size()) {
    size_t nl = bytes.find('\n', pos);
    std::string_view line = std::string_view(bytes).substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? bytes.size() : nl + 1;
    line_number++;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    RecordedEvaluation r;
    r.where = path + ":" + std::to_string(line_number);
    r.record = json::parse(line, r.where);
    const json::Value* type = member(r.record, "type");
    if (!type || !type->is_string() || type->text() != "evaluation")
      throw data_error(r.where, "type: expected an \"evaluation\" record, found " + (type ? show(*type) : "nothing"));
    if (const json::Value* v = member(r.record, "v"); v && (!v->is_number() || v->as_int64() != 1))
      throw data_error(r.where, "v: this model-run reads evaluation version 1, found " + show(*v));
    const json::Value* score = member(r.record, "score");
    if (!score || !score->is_number() || !score->as_int64())
      throw data_error(r.where, "score: expected an integer");
    r.score = *score->as_int64();
    const json::Value* details = member(r.record, "details");
    if (!details || !details->is_object())
      throw data_error(r.where, "details: missing; only an evaluation written by model-run evaluate can be checked");
    r.model_digest = text_at(*details, "model_digest", "details.model_digest", r.where);
    const json::Value* suite = member(*details, "suite");
    r.suite_digest = text_at(suite ? *suite : json::Value(), "digest", "details.suite.digest", r.where);
    const json::Value* batch = member(*details, "batch");
    auto b = batch && batch->is_number() ? batch->as_int64() : std::nullopt;
    if (!b || *b < 1 || *b > 1024) throw data_error(r.where, "details.batch: expected an integer in [1, 1024]");
    r.batch = int(*b);
    return r;
  }
  throw data_error(path, "no evaluation record in the file");
}

CheckReport check_evaluation(const RecordedEvaluation& recorded, const std::string& model_digest,
                             model::Transformer& model, const model::Tokenizer& tokenizer, const Suite& suite) {
  CheckReport report;
  if (model_digest != recorded.model_digest) {
    report.failure = "model digest: the weights are " + model_digest + ", the evaluation was computed on " +
                     recorded.model_digest;
    return report;
  }
  if (suite.digest != recorded.suite_digest) {
    report.failure = "suite digest: the suite file is " + suite.digest + ", the evaluation was computed on " +
                     recorded.suite_digest;
    return report;
  }
  EvaluateOptions options;
  options.batch = recorded.batch;
  SuiteResult result = evaluate_suite(model, tokenizer, suite, options);
  report.recomputed = true;
  report.recomputed_score = result.score;
  json::Value recomputed = *evaluation_record(EvaluationIdentity{"-", "-", "-", "-", model_digest}, suite, result, options)
                                .find("details");
  std::string first = difference(*recorded.record.find("details"), recomputed, "details", report.max_relative_difference);
  if (recorded.score != report.recomputed_score)
    report.failure = "score: recorded " + std::to_string(recorded.score) + ", recomputed " +
                     std::to_string(report.recomputed_score);
  else
    report.failure = first;
  report.passed = report.failure.empty();
  return report;
}

}  // namespace omlkit::eval
