#include "serve/completions.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

#include "io/error.h"

namespace omlkit::serve {
namespace {

using json = nlohmann::json;

RequestError bad(const std::string& message) { return RequestError(400, message); }

double number_field(const json& body, const char* key, double fallback, double low, double high) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_number()) throw bad(std::string(key) + ": expected a number, found " + it->dump());
  double v = it->get<double>();
  if (!(v >= low && v <= high))
    throw bad(std::string(key) + ": expected a number in [" + json(low).dump() + ", " + json(high).dump() +
              "], found " + it->dump());
  return v;
}

}  // namespace

CompletionRequest parse_completion_request(std::string_view text, const ServedModel& served) {
  json body = json::parse(text, nullptr, false);
  if (body.is_discarded()) throw bad("the request body is not valid JSON");
  if (!body.is_object()) throw bad("the request body must be a JSON object");
  CompletionRequest r;
  if (auto it = body.find("model"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) throw bad("model: expected a string");
    if (it->get<std::string>() != served.name)
      throw RequestError(404, "model: \"" + it->get<std::string>() + "\" is not served here (this server has \"" +
                                  served.name + "\")");
  }
  for (const char* unsupported : {"stop", "suffix", "logprobs", "echo", "best_of", "logit_bias"})
    if (auto it = body.find(unsupported); it != body.end() && !it->is_null() && *it != false)
      throw bad(std::string(unsupported) + ": not supported by this server");
  if (auto it = body.find("n"); it != body.end() && !it->is_null() && *it != 1) throw bad("n: only 1 is supported");

  auto it = body.find("prompt");
  if (it == body.end()) throw bad("prompt: required");
  json prompt = *it;
  if (prompt.is_array() && prompt.size() == 1 && (prompt[0].is_string() || prompt[0].is_array())) prompt = prompt[0];
  const int V = served.model->config().vocab_size;
  if (prompt.is_string()) {
    r.prompt_text = prompt.get<std::string>();
    r.prompt = served.encode_prompt ? served.encode_prompt(prompt.get<std::string>())
                                    : served.tokenizer->encode(prompt.get<std::string>(), true);
  } else if (prompt.is_array()) {
    r.prompt_is_text = false;
    for (const auto& t : prompt) {
      if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= V)
        throw bad("prompt: expected token ids in [0, " + std::to_string(V) + "), found " + t.dump());
      r.prompt.push_back(t.get<int32_t>());
    }
  } else {
    throw bad("prompt: expected a string or an array of token ids (one prompt per request)");
  }
  if (r.prompt.empty()) throw bad("prompt: empty");

  r.max_tokens = int(number_field(body, "max_tokens", 16, 0, served.max_tokens_limit));
  if (body.contains("max_tokens") && body["max_tokens"].is_number_float() &&
      std::floor(body["max_tokens"].get<double>()) != body["max_tokens"].get<double>())
    throw bad("max_tokens: expected an integer");
  r.temperature = float(number_field(body, "temperature", 1, 0, 2));
  r.top_p = float(number_field(body, "top_p", 1, 0, 1));
  if (r.top_p == 0) throw bad("top_p: expected a number in (0, 1]");
  if (auto s = body.find("seed"); s != body.end() && !s->is_null()) {
    if (!s->is_number_integer()) throw bad("seed: expected an integer");
    r.seed = s->is_number_unsigned() ? s->get<uint64_t>() : uint64_t(s->get<int64_t>());
  }
  const size_t context = size_t(served.model->config().max_positions);
  if (r.prompt.size() + size_t(r.max_tokens) > context)
    throw bad("prompt of " + std::to_string(r.prompt.size()) + " tokens plus max_tokens " +
              std::to_string(r.max_tokens) + " exceeds the model's context of " + std::to_string(context));
  return r;
}

CompletionResult complete(const ServedModel& served, const CompletionRequest& request) {
  CompletionResult result;
  result.seed = request.seed ? *request.seed : (uint64_t(std::random_device{}()) << 32 | std::random_device{}());
  result.finish_reason = "length";
  if (request.max_tokens > 0) {
    model::GenerationOptions options;
    options.max_new_tokens = request.max_tokens;
    options.sampling.temperature = request.temperature;
    options.sampling.top_p = request.top_p;
    options.sampling.seed = result.seed;
    options.stop_token = served.model->config().eos_token_id;
    result.tokens = model::generate(*served.model, request.prompt, options);
    if (!result.tokens.empty() && result.tokens.back() == served.model->config().eos_token_id) {
      result.tokens.pop_back();
      result.finish_reason = "stop";
    }
  }
  result.text = served.tokenizer->decode(result.tokens);
  return result;
}

std::string completion_response_body(const ServedModel& served, const CompletionRequest& request,
                                     const CompletionResult& result, const std::string& id, int64_t created) {
  json choice = {{"text", result.text}, {"index", 0}, {"logprobs", nullptr}, {"finish_reason", result.finish_reason}};
  size_t completion_tokens = result.tokens.size() + (result.finish_reason == "stop" ? 1 : 0);
  json body = {{"id", id},
               {"object", "text_completion"},
               {"created", created},
               {"model", served.name},
               {"choices", json::array({choice})},
               {"usage",
                {{"prompt_tokens", request.prompt.size()},
                 {"completion_tokens", completion_tokens},
                 {"total_tokens", request.prompt.size() + completion_tokens}}},
               {"system_fingerprint", nullptr},
               {"seed", result.seed}};
  return body.dump();
}

std::string error_body(const std::string& message) {
  return json{{"error", {{"message", message}, {"type", "invalid_request_error"}, {"param", nullptr}, {"code", nullptr}}}}
      .dump();
}

std::string models_body(const ServedModel& served, int64_t created) {
  return json{{"object", "list"},
              {"data", json::array({{{"id", served.name}, {"object", "model"}, {"created", created}, {"owned_by", "omlkit"}}})}}
      .dump();
}

}  // namespace omlkit::serve
