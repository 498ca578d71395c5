#include "model/model_run.h"

#include <chrono>
#include <cmath>
#include <cstdio>

#include "io/error.h"
#include "io/line_reader.h"
#include "model/backend_select.h"
#include "model/benchmark.h"
#include "model/checkpoint_writer.h"
#include "model/scoring.h"

namespace omlkit::model {
namespace {

json::Value number(double d, std::string_view what) {
  if (!std::isfinite(d)) throw data_error("", std::string(what) + ": the model produced a non-finite value");
  return json::Value::number_text(json::format_es6_number(d));
}

json::Value integer(size_t n) { return json::Value::integer(int64_t(n)); }

json::Value integers(std::span<const int32_t> ids) {
  json::Value a = json::Value::array();
  for (int32_t id : ids) a.push_back(json::Value::integer(id));
  return a;
}

json::Value floats(std::span<const float> values, std::string_view what) {
  json::Value a = json::Value::array();
  for (float v : values) a.push_back(number(double(v), what));
  return a;
}

// A value for a message: a number's own text (1e999 has no double), else its JSON.
std::string describe(const json::Value& v) {
  if (v.is_number()) return v.text();
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  return json::canonical(v);
}

// Carries an input's "id" to its output so results can be matched in a pipe.
std::string with_id(const json::Value& record, json::Value result) {
  if (const json::Value* id = record.find("id")) result.set("id", *id);
  return json::canonical(result);
}

// The array at key as int64 ids (before any range check), or nullopt when absent.
std::optional<std::vector<int64_t>> id_array(const json::Value& record, std::string_view key) {
  const json::Value* v = record.find(key);
  if (!v) return std::nullopt;
  std::string name(key);
  if (!v->is_array()) throw data_error("", name + ": expected an array of token ids");
  std::vector<int64_t> ids;
  ids.reserve(v->items().size());
  for (size_t i = 0; i < v->items().size(); i++) {
    const json::Value& t = v->items()[i];
    auto id = t.is_number() ? t.as_int64() : std::nullopt;
    if (!id)
      throw data_error("", name + "[" + std::to_string(i) + "]: expected an integer token id, found " +
                               describe(t));
    ids.push_back(*id);
  }
  return ids;
}

std::vector<ChatMessage> messages_of(const json::Value& v) {
  if (!v.is_array()) throw data_error("", "messages: expected an array of {\"role\", \"content\"}");
  std::vector<ChatMessage> out;
  for (size_t i = 0; i < v.items().size(); i++) {
    const json::Value& m = v.items()[i];
    const json::Value* role = m.is_object() ? m.find("role") : nullptr;
    const json::Value* content = m.is_object() ? m.find("content") : nullptr;
    if (!role || !role->is_string() || !content || !content->is_string())
      throw data_error("", "messages[" + std::to_string(i) + "]: expected {\"role\": string, \"content\": string}");
    out.push_back({role->text(), content->text()});
  }
  return out;
}

json::Value spans_json(const std::vector<TokenSpan>& spans, json::Value& result) {
  json::Value ids = json::Value::array(), pieces = json::Value::array(), offsets = json::Value::array();
  for (const auto& s : spans) {
    ids.push_back(json::Value::integer(s.id));
    pieces.push_back(json::Value::string(s.piece));
    json::Value pair = json::Value::array();
    pair.push_back(integer(s.begin));
    pair.push_back(integer(s.end));
    offsets.push_back(std::move(pair));
  }
  result.set("ids", std::move(ids));
  result.set("pieces", std::move(pieces));
  result.set("offsets", std::move(offsets));
  return result;
}

}  // namespace

void for_each_record(const RecordInputs& inputs, const std::function<void(const json::Value&)>& handle) {
  json::Value record;
  for (const auto& input : inputs.paths) {
    io::LineReader reader(input, inputs.max_line_bytes);
    std::string_view line;
    while (reader.next(&line)) {
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      try {
        json::parse_into(line, record, reader.where());
        if (!record.is_object()) throw data_error(reader.where(), "expected a JSON object");
        handle(record);
      } catch (const Error& e) {
        if (!e.where().empty()) throw;
        throw Error(e.code(), reader.where(), e.what());
      }
    }
  }
}

Engine::Engine(const EngineOptions& options)
    : threads_(options.threads),
      backend_(make_backend(options.device, options.threads)),
      checkpoint_(Checkpoint::open(options.model_dir)),
      context_(TokenContext::for_model(options.model_dir, options.tokens)),
      model_(checkpoint_, *backend_, options.weights) {}

std::vector<int32_t> Engine::tokens_of(const json::Value& record, std::string_view text_key,
                                       bool add_generation_prompt, size_t max_new) const {
  const ModelConfig& c = model_.config();
  std::vector<int32_t> ids;
  if (auto given = id_array(record, "tokens")) {
    TokenContext::check_ids(*given, size_t(c.vocab_size), "tokens");
    ids.assign(given->begin(), given->end());
  } else if (const json::Value* messages = record.find("messages")) {
    ids = context_.encode_messages(messages_of(*messages), add_generation_prompt);
  } else if (const json::Value* text = record.find(text_key)) {
    if (!text->is_string()) throw data_error("", std::string(text_key) + ": expected a string");
    ids = context_.encode_prompt(text->text());
  } else {
    throw data_error("", "expected \"tokens\" or \"" + std::string(text_key) + "\"");
  }
  if (ids.empty()) throw data_error("", "tokens: empty");
  for (size_t i = 0; i < ids.size(); i++)  // a tokenizer larger than the model's embedding
    if (ids[i] >= c.vocab_size)
      throw data_error("", "token " + std::to_string(i) + ": the tokenizer's id " + std::to_string(ids[i]) +
                               " is outside the model's vocabulary of " + std::to_string(c.vocab_size));
  if (ids.size() + max_new > size_t(c.max_positions))
    throw data_error("", std::to_string(ids.size()) + " tokens" +
                             (max_new ? " plus " + std::to_string(max_new) + " new ones" : std::string()) +
                             " exceed the model's context of " + std::to_string(c.max_positions) + " positions");
  return ids;
}

void run_logits(Engine& engine, const RecordInputs& inputs, io::Output& out) {
  const size_t V = size_t(engine.model().config().vocab_size);
  std::vector<float> host;
  for_each_record(inputs, [&](const json::Value& record) {
    auto tokens = engine.tokens_of(record, "text", false);
    host.resize(tokens.size() * V);
    engine.model().reserve(1, int(tokens.size()));
    engine.backend().download(host.data(), engine.model().forward(tokens, 1, int(tokens.size()), 0), host.size());
    // Rows of %.9g text (exact for a float) rather than a JSON value per float.
    std::string line = "{\"logits\":[";
    char buf[32];
    for (size_t t = 0; t < tokens.size(); t++) {
      line += t ? ",[" : "[";
      for (size_t v = 0; v < V; v++) {
        float x = host[t * V + v];
        if (!std::isfinite(x))
          throw data_error("", "logits: the model produced a non-finite value at position " + std::to_string(t));
        std::snprintf(buf, sizeof buf, "%s%.9g", v ? "," : "", double(x));
        line += buf;
      }
      line += "]";
    }
    line += "]";
    if (const json::Value* id = record.find("id")) line += ",\"id\":" + json::canonical(*id);
    out.line(line + "}");
  });
}

void run_score(Engine& engine, const RecordInputs& inputs, int batch, io::Output& out) {
  for_each_record(inputs, [&](const json::Value& record) {
    auto s = score_sequences(engine.model(), {engine.tokens_of(record, "text", false)}, batch)[0];
    json::Value r = json::Value::object();
    r.set("tokens", integer(s.logprobs.size() + 1));
    r.set("mean_loss", number(s.mean_loss, "mean_loss"));
    r.set("perplexity", number(std::exp(s.mean_loss), "perplexity"));
    r.set("logprobs", floats(s.logprobs, "logprobs"));
    out.line(with_id(record, std::move(r)));
  });
}

void run_score_file(Engine& engine, const std::string& path, int window, int batch, io::Output& out) {
  int context = engine.model().config().max_positions;
  if (window > context)
    throw Error(exit_code::usage, "", "--window " + std::to_string(window) + " exceeds the model's context of " +
                                          std::to_string(context) + " positions");
  auto tokens = engine.context().encode_text(read_text_file(path));
  auto p = windowed_perplexity(engine.model(), tokens, window, batch);
  json::Value r = json::Value::object();
  r.set("file", json::Value::string(path));
  r.set("tokens", integer(p.tokens));
  r.set("window", integer(size_t(window)));
  r.set("windows", integer(p.windows));
  r.set("predictions", integer(p.predictions));
  r.set("mean_loss", number(p.mean_loss, "mean_loss"));
  r.set("perplexity", number(p.perplexity, "perplexity"));
  out.line(json::canonical(r));
}

void run_generate(Engine& engine, const RecordInputs& inputs, GenerationOptions options, bool stop_at_eos,
                  io::Output& out) {
  if (stop_at_eos) options.stop_token = engine.model().config().eos_token_id;
  const TokenContext& context = engine.context();
  for_each_record(inputs, [&](const json::Value& record) {
    auto prompt = engine.tokens_of(record, "prompt", true, size_t(options.max_new_tokens));
    auto tokens = generate(engine.model(), prompt, options);
    json::Value r = json::Value::object();
    r.set("tokens", integers(tokens));
    if (context.has_tokenizer()) r.set("text", json::Value::string(context.tokenizer().decode(tokens)));
    out.line(with_id(record, std::move(r)));
  });
}

void run_train(Engine& engine, const TrainOptions& options,
               const std::function<void(const StepReport&, double tokens_per_s)>& progress, io::Output& out) {
  Transformer& model = engine.model();
  const int V = model.config().vocab_size;
  model.set_trainable(select_trainable(model.parameters(), options.train_only));
  model.set_recompute_activations(options.recompute_activations);
  // Training examples: {"text"} (never through a chat template) or {"tokens", "loss_mask"}.
  std::vector<TrainingExample> examples;
  for_each_record(options.data, [&](const json::Value& record) {
    TrainingExample e;
    if (auto given = id_array(record, "tokens")) {
      TokenContext::check_ids(*given, size_t(V), "tokens");
      e.tokens.assign(given->begin(), given->end());
    } else if (const json::Value* text = record.find("text"); text && text->is_string()) {
      e.tokens = engine.context().encode_text(text->text());
    } else {
      throw data_error("", "expected \"tokens\" or \"text\"");
    }
    if (const json::Value* mask = record.find("loss_mask")) {
      if (!record.find("tokens")) throw data_error("", "loss_mask: needs \"tokens\" of the same length");
      if (!mask->is_array()) throw data_error("", "loss_mask: expected an array of 0 or 1");
      for (const auto& m : mask->items()) {
        auto v = m.is_number() ? m.as_int64() : std::nullopt;
        if (!v || (*v != 0 && *v != 1)) throw data_error("", "loss_mask: expected 0 or 1, found " + describe(m));
        e.loss_mask.push_back(uint8_t(*v));
      }
      if (e.loss_mask.size() != e.tokens.size()) throw data_error("", "loss_mask: length differs from tokens");
    }
    examples.push_back(std::move(e));
  });
  auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  size_t tokens = 0;
  double first_loss = 0, last_loss = 0;
  fine_tune(model, examples, options.tune, [&](const StepReport& r) {
    tokens += r.tokens;
    if (r.step == 1) first_loss = r.loss;
    last_loss = r.loss;
    if (progress) progress(r, double(tokens) / elapsed());
  });
  double seconds = elapsed();
  // The trained tensors from their F32 values; every other one copied as the file holds it.
  ParameterSubset trained(model.parameters(), model.trainable());
  trained.download(engine.backend(), model.parameter_data());
  save_checkpoint(engine.checkpoint(), trained, options.out_dir);
  json::Value r = json::Value::object();
  r.set("out", json::Value::string(options.out_dir));
  r.set("steps", integer(size_t(options.tune.steps)));
  r.set("tokens", integer(tokens));
  r.set("first_loss", number(first_loss, "first_loss"));
  r.set("last_loss", number(last_loss, "last_loss"));
  r.set("seconds", number(seconds, "seconds"));
  r.set("tokens_per_s", number(seconds > 0 ? double(tokens) / seconds : 0, "tokens_per_s"));
  out.line(json::canonical(r));
}

void run_bench(Engine& engine, int batch, int tokens, double seconds, bool inference_only, io::Output& out) {
  auto b = run_benchmark(engine.model(), batch, tokens, seconds, engine.threads(), inference_only);
  json::Value r = json::Value::object();
  r.set("model", json::Value::string(engine.checkpoint().dir()));
  r.set("backend", json::Value::string(engine.backend().name()));
  r.set("batch", integer(size_t(b.batch)));
  r.set("tokens", integer(size_t(b.tokens)));
  struct Rate {
    const char* key;
    double value;
    bool trains_or_all_logits;  // not measured with inference_only
  };
  const Rate rates[] = {
      {"forward_tokens_per_s", b.forward_tokens_per_s, true},
      {"generate_tokens_per_s", b.generate_tokens_per_s, false},
      {"prefill_last_tokens_per_s", b.prefill_last_tokens_per_s, true},
      {"score_tokens_per_s", b.score_tokens_per_s, false},
      {"score_all_logits_tokens_per_s", b.score_all_logits_tokens_per_s, true},
      {"train_tokens_per_s", b.train_tokens_per_s, true},
      {"train_step_tokens_per_s", b.train_step_tokens_per_s, true},
      {"train_masked_tokens_per_s", b.train_masked_tokens_per_s, true},
      {"forward_flops_per_token", b.forward_flops_per_token, false},
      {"sgemm_gflops", b.sgemm_gflops, false},
      {"limit_tokens_per_s", b.limit_tokens_per_s, false},
      {"train_limit_tokens_per_s", b.train_limit_tokens_per_s, true},
      {"read_gbps", b.read_gbps, false},
      {"weight_bytes_per_token", b.weight_bytes_per_token, false},
      {"generate_limit_tokens_per_s", b.generate_limit_tokens_per_s, false}};
  for (const auto& rate : rates)
    if (!inference_only || !rate.trains_or_all_logits) r.set(rate.key, number(rate.value, rate.key));
  out.line(json::canonical(r));
}

void run_tokenize(const TokenContext& context, const RecordInputs& inputs, io::Output& out) {
  for_each_record(inputs, [&](const json::Value& record) {
    const json::Value* text = record.find("text");
    if (!text || !text->is_string()) throw data_error("", "text: expected a string");
    json::Value r = json::Value::object();
    spans_json(context.encode_prompt_with_offsets(text->text()), r);
    if (context.chat()) r.set("text", json::Value::string(context.prompt_text(text->text())));
    out.line(with_id(record, std::move(r)));
  });
}

void run_detokenize(const TokenContext& context, const RecordInputs& inputs, bool skip_special_tokens,
                    io::Output& out) {
  const Tokenizer& tokenizer = context.tokenizer();
  for_each_record(inputs, [&](const json::Value& record) {
    const char* key = record.find("ids") ? "ids" : "tokens";
    auto given = id_array(record, key);
    if (!given) throw data_error("", "expected \"ids\" (or \"tokens\"): an array of token ids");
    TokenContext::check_ids(*given, tokenizer.vocab_size(), key);
    std::vector<int32_t> ids(given->begin(), given->end());
    std::vector<TokenSpan> spans;
    json::Value r = json::Value::object();
    r.set("text", json::Value::string(tokenizer.decode_with_offsets(ids, spans, skip_special_tokens)));
    spans_json(spans, r);
    out.line(with_id(record, std::move(r)));
  });
}

}  // namespace omlkit::model
