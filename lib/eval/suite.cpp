#include "eval/suite.h"

#include <algorithm>
#include <initializer_list>
#include <map>

#include "crypto/sha256.h"
#include "io/error.h"
#include "io/line_reader.h"
#include "json/value.h"

namespace omlkit::eval {

namespace {

constexpr int64_t kMaxWeight = 1'000'000;
constexpr int64_t kMaxNewTokens = 4096;

std::string describe(const json::Value* v) {
  if (!v) return "nothing";
  switch (v->kind()) {
    case json::Kind::null: return "null";
    case json::Kind::boolean: return v->as_bool() ? "true" : "false";
    case json::Kind::number: return v->text();
    case json::Kind::string: return "a string";
    case json::Kind::array: return "an array of " + std::to_string(v->items().size());
    case json::Kind::object: return "an object";
  }
  return "?";
}

// One line's object, with the members it may have.
class Fields {
 public:
  Fields(const json::Value& record, const std::string& where, std::initializer_list<const char*> allowed)
      : record_(record), where_(where) {
    for (const auto& m : record.members())
      if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return m.key == a; }))
        throw data_error(where, "unknown field \"" + m.key + "\" in this " + type() + " line");
  }
  std::string type() const {
    const json::Value* t = record_.find("type");
    return t && t->is_string() ? t->text() : "?";
  }
  const json::Value* find(const char* key) const { return record_.find(key); }
  std::string text(const char* key, bool allow_empty) const {
    const json::Value* v = record_.find(key);
    if (!v || !v->is_string() || (!allow_empty && v->text().empty()))
      throw data_error(where_, std::string(key) + ": expected " + (allow_empty ? "a string" : "a non-empty string") +
                                   ", found " + describe(v));
    return v->text();
  }
  int64_t integer(const char* key, int64_t low, int64_t high, int64_t fallback) const {
    const json::Value* v = record_.find(key);
    if (!v) return fallback;
    auto n = v->is_number() ? v->as_int64() : std::nullopt;
    if (!n || *n < low || *n > high)
      throw data_error(where_, std::string(key) + ": expected an integer in [" + std::to_string(low) + ", " +
                                   std::to_string(high) + "], found " + describe(v));
    return *n;
  }
  std::vector<std::string> strings(const char* key, size_t min_count, bool allow_empty) const {
    const json::Value* v = record_.find(key);
    if (!v || !v->is_array())
      throw data_error(where_, std::string(key) + ": expected an array of strings, found " + describe(v));
    std::vector<std::string> out;
    for (size_t i = 0; i < v->items().size(); i++) {
      const json::Value& s = v->items()[i];
      if (!s.is_string() || (!allow_empty && s.text().empty()))
        throw data_error(where_, std::string(key) + "[" + std::to_string(i) + "]: expected a non-empty string, found " +
                                     describe(&s));
      out.push_back(s.text());
    }
    if (out.size() < min_count)
      throw data_error(where_, std::string(key) + ": expected at least " + std::to_string(min_count) +
                                   " strings, found " + std::to_string(out.size()));
    return out;
  }

 private:
  const json::Value& record_;
  const std::string& where_;
};

std::vector<std::string> default_metrics(TaskKind kind) {
  switch (kind) {
    case TaskKind::multiple_choice: return {"acc", "acc_norm"};
    case TaskKind::perplexity: return {"byte_perplexity"};
    case TaskKind::exact_match: return {"exact_match"};
  }
  return {};
}

}  // namespace

std::string_view task_kind_name(TaskKind kind) {
  switch (kind) {
    case TaskKind::multiple_choice: return "multiple_choice";
    case TaskKind::perplexity: return "perplexity";
    case TaskKind::exact_match: return "exact_match";
  }
  return "?";
}

Suite parse_suite(std::string_view bytes, const std::string& file) {
  Suite suite;
  suite.digest = "sha256:" + crypto::to_hex(crypto::sha256(bytes));
  std::map<std::string, size_t, std::less<>> task_index;
  size_t line_number = 0, pos = 0;
  bool header = false;
  while (pos < bytes.size()) {
    size_t nl = bytes.find('\n', pos);
    std::string_view line = bytes.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? bytes.size() : nl + 1;
    line_number++;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    std::string where = file + ":" + std::to_string(line_number);
    json::Value record = json::parse(line, where);
    if (!record.is_object()) throw data_error(where, "expected a JSON object, found " + describe(&record));
    const json::Value* type = record.find("type");
    std::string type_name = type && type->is_string() ? type->text() : "";
    if (!header) {
      if (type_name != "suite")
        throw data_error(where, "type: the first line of a suite must be {\"type\":\"suite\",...}, found " +
                                    (type_name.empty() ? describe(type) : "\"" + type_name + "\""));
      Fields f(record, where, {"type", "v", "suite", "licence", "license", "description"});
      if (int64_t v = f.integer("v", 0, kMaxWeight, 1); v != 1)
        throw data_error(where, "v: this model-run reads suite version 1, found " + std::to_string(v));
      suite.name = f.text("suite", false);
      header = true;
    } else if (type_name == "task") {
      Fields f(record, where, {"type", "task", "kind", "metric", "weight", "description"});
      Task task;
      task.name = f.text("task", false);
      task.where = where;
      std::string kind = f.text("kind", false);
      if (kind == "multiple_choice") task.kind = TaskKind::multiple_choice;
      else if (kind == "perplexity") task.kind = TaskKind::perplexity;
      else if (kind == "exact_match") task.kind = TaskKind::exact_match;
      else
        throw data_error(where, "kind: expected multiple_choice, perplexity or exact_match, found \"" + kind + "\"");
      auto metrics = default_metrics(task.kind);
      task.metric = f.find("metric") ? f.text("metric", false) : metrics.back();
      if (std::find(metrics.begin(), metrics.end(), task.metric) == metrics.end()) {
        std::string allowed;
        for (const auto& m : metrics) allowed += (allowed.empty() ? "" : " or ") + m;
        throw data_error(where, "metric: a " + kind + " task is scored by " + allowed + ", found \"" + task.metric + "\"");
      }
      task.weight = f.integer("weight", 1, kMaxWeight, 1);
      if (task_index.count(task.name)) throw data_error(where, "task: \"" + task.name + "\" is declared twice");
      task_index.emplace(task.name, suite.tasks.size());
      suite.tasks.push_back(std::move(task));
    } else if (type_name == "item") {
      const json::Value* name = record.find("task");
      if (!name || !name->is_string()) throw data_error(where, "task: expected the name of a task declared above, found " + describe(name));
      auto it = task_index.find(name->text());
      if (it == task_index.end())
        throw data_error(where, "task: \"" + name->text() + "\" is not declared by an earlier {\"type\":\"task\"} line");
      Task& task = suite.tasks[it->second];
      Item item;
      item.where = where;
      if (task.kind == TaskKind::multiple_choice) {
        Fields f(record, where, {"type", "task", "id", "context", "choices", "answer"});
        item.context = f.text("context", true);
        item.choices = f.strings("choices", 2, false);
        const json::Value* answer = f.find("answer");
        auto n = answer && answer->is_number() ? answer->as_int64() : std::nullopt;
        if (!n) throw data_error(where, "answer: expected the index of the correct choice, found " + describe(answer));
        if (*n < 0 || *n >= int64_t(item.choices.size()))
          throw data_error(where, "answer: " + std::to_string(*n) + " is out of range for " +
                                      std::to_string(item.choices.size()) + " choices (0-based)");
        item.answer = int(*n);
      } else if (task.kind == TaskKind::perplexity) {
        Fields f(record, where, {"type", "task", "id", "text"});
        item.text = f.text("text", false);
      } else {
        Fields f(record, where, {"type", "task", "id", "prompt", "target", "max_new_tokens", "until"});
        item.prompt = f.text("prompt", true);
        item.target = f.text("target", false);
        item.max_new_tokens = int(f.integer("max_new_tokens", 1, kMaxNewTokens, item.max_new_tokens));
        if (f.find("until")) item.until = f.strings("until", 0, false);
      }
      task.items.push_back(std::move(item));
    } else {
      throw data_error(where, "type: expected \"task\" or \"item\", found " +
                                  (type_name.empty() ? describe(type) : "\"" + type_name + "\""));
    }
  }
  if (!header) throw data_error(file, "the suite is empty: expected a {\"type\":\"suite\",...} line");
  if (suite.tasks.empty()) throw data_error(file, "the suite declares no task");
  for (const Task& task : suite.tasks)
    if (task.items.empty()) throw data_error(task.where, "task \"" + task.name + "\" has no items");
  return suite;
}

Suite read_suite(const std::string& path) { return parse_suite(io::read_file(path), path); }

}  // namespace omlkit::eval
