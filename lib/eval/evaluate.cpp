#include "eval/evaluate.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "io/error.h"
#include "model/generate.h"

namespace omlkit::eval {

using model::Tokenizer;
using model::Transformer;

std::vector<double> loglikelihoods(Transformer& model, const std::vector<LoglikelihoodRequest>& requests, int batch) {
  const size_t P = size_t(model.config().max_positions);
  if (batch < 1) batch = 1;
  // Forward input of request i: tokens[first_input(i) .. size-1), at most P positions.
  auto input_length = [&](size_t i) { return std::min(requests[i].tokens.size() - 1, P); };
  for (const auto& r : requests)
    if (r.continuation < 1 || r.continuation >= r.tokens.size() || r.continuation > P)
      throw data_error("", "a continuation of " + std::to_string(r.continuation) + " tokens after " +
                               std::to_string(r.tokens.size() - r.continuation) +
                               " does not fit the model's context of " + std::to_string(P));
  std::vector<size_t> order(requests.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return input_length(a) > input_length(b); });

  std::vector<double> sums(requests.size(), 0.0);
  std::vector<int32_t> tokens, targets;
  std::vector<float> logprobs;
  for (size_t first = 0; first < order.size(); first += size_t(batch)) {
    size_t count = std::min(order.size() - first, size_t(batch));
    size_t T = input_length(order[first]);  // the longest of this group
    tokens.assign(count * T, 0);
    targets.assign(count * T, -1);  // -1: no log-probability computed there
    for (size_t b = 0; b < count; b++) {
      const auto& r = requests[order[first + b]];
      size_t n = input_length(order[first + b]), end = r.tokens.size() - 1, begin = end - n;
      std::copy(r.tokens.begin() + long(begin), r.tokens.begin() + long(end), tokens.begin() + long(b * T));
      for (size_t t = n - r.continuation; t < n; t++) targets[b * T + t] = r.tokens[begin + t + 1];
    }
    model.reserve(int(count), int(T));
    logprobs = model.token_logprobs(tokens, targets, int(count), int(T));
    for (size_t b = 0; b < count; b++) {
      double sum = 0;
      for (size_t t = 0; t < T; t++)
        if (targets[b * T + t] >= 0) sum += double(logprobs[b * T + t]);
      sums[order[first + b]] = sum;
    }
  }
  return sums;
}

namespace {

json::Value number(double d) { return json::Value::number_text(json::format_es6_number(d)); }

size_t code_points(std::string_view s) {
  return size_t(std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// len(re.split(r"\s+", text)): the harness's word count, empty ends included.
size_t word_count(std::string_view text) {
  size_t words = 1;
  for (size_t i = 0; i < text.size(); i++)
    if (is_space(text[i]) && (i == 0 || !is_space(text[i - 1]))) words++;
  return words;
}

std::string trim(std::string_view s) {
  size_t a = 0, b = s.size();
  while (a < b && is_space(s[a])) a++;
  while (b > a && is_space(s[b - 1])) b--;
  return std::string(s.substr(a, b - a));
}

// Builds the token context of items (see the header).
class ContextEncoder {
 public:
  ContextEncoder(const Transformer& model, const Tokenizer& tokenizer) : tokenizer_(tokenizer) {
    const auto& c = model.config();
    if (c.bos_token_id) prefix_ = *c.bos_token_id;
    else if (c.eos_token_id) prefix_ = *c.eos_token_id;
  }
  // The context's tokens, or the prefix token when it has none.
  std::vector<int32_t> context(std::string_view text, const std::string& where) const {
    auto ids = tokenizer_.encode(text, true);
    if (ids.empty()) {
      if (prefix_ < 0)
        throw data_error(where, "an empty context needs a bos_token_id or eos_token_id in the model's config.json");
      ids.push_back(prefix_);
    }
    return ids;
  }
  // (context + continuation) tokens and the continuation's length.
  LoglikelihoodRequest pair(std::string_view context, std::string_view continuation, const std::string& where) const {
    size_t kept = context.size();
    while (kept > 0 && is_space(context[kept - 1])) kept--;
    std::string moved = std::string(context.substr(kept)) + std::string(continuation);
    context = context.substr(0, kept);
    LoglikelihoodRequest r;
    if (context.empty()) {
      r.tokens = this->context("", where);
      auto cont = tokenizer_.encode(moved, false);
      r.continuation = cont.size();
      r.tokens.insert(r.tokens.end(), cont.begin(), cont.end());
    } else {
      auto whole = tokenizer_.encode(std::string(context) + moved, true);
      size_t context_length = tokenizer_.encode(context, true).size();
      r.continuation = whole.size() > context_length ? whole.size() - context_length : 0;
      r.tokens = std::move(whole);
    }
    if (r.continuation == 0) throw data_error(where, "a choice tokenizes to no tokens after its context");
    return r;
  }
  int32_t prefix() const { return prefix_; }

 private:
  const Tokenizer& tokenizer_;
  int32_t prefix_ = -1;
};

void multiple_choice(Transformer& model, const ContextEncoder& encoder, const Task& task, const EvaluateOptions& options,
                     TaskResult& result) {
  std::vector<LoglikelihoodRequest> requests;
  for (const Item& item : task.items)
    for (const auto& choice : item.choices) requests.push_back(encoder.pair(item.context, choice, item.where));
  std::vector<double> ll;
  try {
    ll = loglikelihoods(model, requests, options.batch);
  } catch (const Error& e) {
    throw Error(e.code(), task.where, "task \"" + task.name + "\": " + e.what());
  }
  size_t next = 0, correct = 0, correct_norm = 0;
  result.items = json::Value::array();
  for (const Item& item : task.items) {
    json::Value lls = json::Value::array(), token_lists = json::Value::array(), lengths = json::Value::array();
    size_t best = 0, best_norm = 0;
    double best_norm_value = 0;
    for (size_t c = 0; c < item.choices.size(); c++) {
      double value = ll[next + c];
      double norm = value / double(code_points(item.choices[c]));
      lls.push_back(number(value));
      json::Value ids = json::Value::array();
      for (int32_t id : requests[next + c].tokens) ids.push_back(json::Value::integer(id));
      token_lists.push_back(std::move(ids));
      lengths.push_back(json::Value::integer(int64_t(requests[next + c].continuation)));
      if (c == 0 || value > ll[next + best]) best = c;
      if (c == 0 || norm > best_norm_value) best_norm = c, best_norm_value = norm;
    }
    next += item.choices.size();
    correct += best == size_t(item.answer);
    correct_norm += best_norm == size_t(item.answer);
    json::Value detail = json::Value::object();
    detail.set("answer", json::Value::integer(item.answer));
    detail.set("continuation_tokens", std::move(lengths));
    detail.set("loglikelihoods", std::move(lls));
    detail.set("pred", json::Value::integer(int64_t(best)));
    detail.set("pred_norm", json::Value::integer(int64_t(best_norm)));
    detail.set("tokens", std::move(token_lists));
    result.items.push_back(std::move(detail));
  }
  double n = double(task.items.size());
  result.metrics = {{"acc", double(correct) / n}, {"acc_norm", double(correct_norm) / n}};
}

// lm-evaluation-harness get_rolling_token_windows(tokens, prefix, P, context_len=1) made
// disjoint: the first window predicts tokens[0..P) after the prefix token, each next one
// the next (up to) P tokens with as much context as fits.
std::vector<LoglikelihoodRequest> rolling_windows(const std::vector<int32_t>& tokens, int32_t prefix, size_t P) {
  std::vector<LoglikelihoodRequest> windows;
  if (tokens.empty()) return windows;
  size_t first = std::min(P, tokens.size());
  LoglikelihoodRequest w;
  w.tokens.push_back(prefix);
  w.tokens.insert(w.tokens.end(), tokens.begin(), tokens.begin() + long(first));
  w.continuation = first;
  windows.push_back(std::move(w));
  for (size_t predicted = first; predicted < tokens.size();) {
    size_t length = std::min(tokens.size() - predicted, P), end = predicted + length;
    LoglikelihoodRequest next;
    // input tokens[end-P-1 .. end-1), targets tokens[end-length .. end): one forward of P.
    next.tokens.assign(tokens.begin() + long(end - P - 1), tokens.begin() + long(end));
    next.continuation = length;
    windows.push_back(std::move(next));
    predicted += length;
  }
  return windows;
}

void perplexity(Transformer& model, const Tokenizer& tokenizer, const ContextEncoder& encoder, const Task& task,
                const EvaluateOptions& options, TaskResult& result) {
  const size_t P = size_t(model.config().max_positions);
  std::vector<LoglikelihoodRequest> requests;
  std::vector<size_t> windows_of;
  for (const Item& item : task.items) {
    auto tokens = tokenizer.encode(item.text, false);
    if (tokens.empty()) throw data_error(item.where, "text: tokenizes to no tokens");
    auto windows = rolling_windows(tokens, encoder.context("", item.where).front(), P);
    windows_of.push_back(windows.size());
    for (auto& w : windows) requests.push_back(std::move(w));
  }
  auto ll = loglikelihoods(model, requests, options.batch);
  double total_ll = 0;
  size_t total_words = 0, total_bytes = 0, next = 0;
  result.items = json::Value::array();
  for (size_t i = 0; i < task.items.size(); i++) {
    double sum = 0;
    for (size_t w = 0; w < windows_of[i]; w++) sum += ll[next + w];
    next += windows_of[i];
    size_t words = word_count(task.items[i].text), bytes = task.items[i].text.size();
    total_ll += sum, total_words += words, total_bytes += bytes;
    json::Value detail = json::Value::object();
    detail.set("bytes", json::Value::integer(int64_t(bytes)));
    detail.set("loglikelihood", number(sum));
    detail.set("windows", json::Value::integer(int64_t(windows_of[i])));
    detail.set("words", json::Value::integer(int64_t(words)));
    result.items.push_back(std::move(detail));
  }
  result.metrics = {{"bits_per_byte", -total_ll / double(total_bytes) / std::log(2.0)},
                    {"byte_perplexity", std::exp(-total_ll / double(total_bytes))},
                    {"word_perplexity", std::exp(-total_ll / double(total_words))}};
}

void exact_match(Transformer& model, const Tokenizer& tokenizer, const ContextEncoder& encoder, const Task& task,
                 TaskResult& result) {
  const size_t P = size_t(model.config().max_positions);
  size_t correct = 0;
  result.items = json::Value::array();
  for (const Item& item : task.items) {
    auto prompt = encoder.context(item.prompt, item.where);
    model::GenerationOptions options;  // greedy
    options.max_new_tokens = int(std::min(size_t(item.max_new_tokens), P - 1));
    if (prompt.size() + size_t(options.max_new_tokens) > P)  // keep the most recent context
      prompt.erase(prompt.begin(), prompt.end() - long(P - size_t(options.max_new_tokens)));
    if (model.config().eos_token_id) options.stop_token = *model.config().eos_token_id;
    auto tokens = model::generate(model, prompt, options);
    if (options.stop_token && !tokens.empty() && tokens.back() == *options.stop_token) tokens.pop_back();
    std::string text = tokenizer.decode(tokens);
    size_t cut = text.size();
    for (const auto& stop : item.until) cut = std::min(cut, text.find(stop));
    text.resize(cut);
    bool match = trim(text) == trim(item.target);
    correct += match;
    json::Value detail = json::Value::object();
    detail.set("generated", json::Value::string(text));
    detail.set("match", json::Value::boolean(match));
    result.items.push_back(std::move(detail));
  }
  result.metrics = {{"exact_match", double(correct) / double(task.items.size())}};
}

}  // namespace

SuiteResult evaluate_suite(Transformer& model, const Tokenizer& tokenizer, const Suite& suite,
                           const EvaluateOptions& options) {
  ContextEncoder encoder(model, tokenizer);
  SuiteResult out;
  double weighted = 0, weights = 0;
  for (const Task& task : suite.tasks) {
    TaskResult r;
    r.task = &task;
    switch (task.kind) {
      case TaskKind::multiple_choice: multiple_choice(model, encoder, task, options, r); break;
      case TaskKind::perplexity: perplexity(model, tokenizer, encoder, task, options, r); break;
      case TaskKind::exact_match: exact_match(model, tokenizer, encoder, task, r); break;
    }
    for (const auto& [name, value] : r.metrics)
      if (name == task.metric) r.score = name == "byte_perplexity" ? 100.0 / value : 100.0 * value;
    weighted += double(task.weight) * r.score;
    weights += double(task.weight);
    out.tasks.push_back(std::move(r));
  }
  out.overall = weighted / weights;
  out.score = std::llround(out.overall);
  return out;
}

}  // namespace omlkit::eval
