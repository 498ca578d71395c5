// model-run: run a GPT-2 or Llama model folder: logits, scores and perplexity, generation,
// and fine-tuning (train).
// JSON lines in, JSON lines out; see man/model-run.1. The engine is lib/model.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/tool.h"
#include "io/error.h"
#include "io/line_reader.h"
#include "io/output.h"
#include "model/backend_select.h"
#include "model/benchmark.h"
#include "model/checkpoint_writer.h"
#include "model/digest.h"
#include "model/fine_tune.h"
#include "model/generate.h"
#include "model/scoring.h"
#include "model/tokenizer.h"
#include "model/transformer.h"
#include "serve/server.h"

using namespace omlkit;
using namespace omlkit::model;
using json = nlohmann::json;

namespace {

struct Engine {
  std::unique_ptr<Backend> backend;
  Checkpoint checkpoint;
  Transformer model;
  std::optional<Tokenizer> tokenizer;  // absent when the folder has no tokenizer.json

  Engine(const std::string& dir, const std::string& device, int threads)
      : backend(make_backend(device, threads)), checkpoint(Checkpoint::open(dir)), model(checkpoint, *backend) {
    if (std::filesystem::exists(dir + "/tokenizer.json")) tokenizer = Tokenizer::from_file(dir + "/tokenizer.json");
  }
  const Tokenizer& need_tokenizer() const {
    if (!tokenizer) throw data_error("", "text needs a tokenizer.json in the model folder; give \"tokens\"");
    return *tokenizer;
  }
  // Token ids of a record's `tokens` array or of its `text_key` string.
  std::vector<int32_t> tokens_of(const json& record, const char* text_key) const {
    if (record.contains("tokens")) {
      if (!record["tokens"].is_array()) throw data_error("", "tokens: expected an array of token ids");
      std::vector<int32_t> ids;
      for (const auto& t : record["tokens"]) {
        if (!t.is_number_integer()) throw data_error("", "tokens: expected integers, found " + t.dump());
        ids.push_back(t.get<int32_t>());
      }
      return ids;
    }
    if (record.contains(text_key) && record[text_key].is_string())
      return need_tokenizer().encode(record[text_key].get<std::string>());
    throw data_error("", std::string("expected \"tokens\" or \"") + text_key + "\"");
  }
};

std::string floats(const float* values, size_t n) {
  std::string out = "[";
  char buf[32];
  for (size_t i = 0; i < n; i++) {
    std::snprintf(buf, sizeof buf, "%s%.9g", i ? "," : "", double(values[i]));
    out += buf;
  }
  return out + "]";
}

// Reads each input's records, calling handle(record); errors get the record's place.
void for_each_record(const std::vector<std::string>& inputs, const std::function<void(const json&)>& handle) {
  for (const auto& input : inputs) {
    io::LineReader reader(input, tool::max_line_bytes());
    std::string_view line;
    while (reader.next(&line)) {
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      try {
        json record = json::parse(line);
        if (!record.is_object()) throw data_error("", "expected a JSON object");
        handle(record);
      } catch (const json::exception& e) {
        throw data_error(reader.where(), std::string("invalid JSON: ") + e.what());
      } catch (const Error& e) {
        throw Error(e.code(), e.where().empty() ? reader.where() : e.where(), e.what());
      }
    }
  }
}

// Training examples from JSON lines of {"text":...} or {"tokens":[...], "loss_mask":[0|1...]}.
std::vector<TrainingExample> read_examples(const Engine& engine, const std::string& path) {
  std::vector<TrainingExample> examples;
  for_each_record({path}, [&](const json& record) {
    TrainingExample e{engine.tokens_of(record, "text"), {}};
    if (record.contains("loss_mask")) {
      if (!record.contains("tokens")) throw data_error("", "loss_mask: needs \"tokens\" of the same length");
      for (const auto& m : record["loss_mask"]) {
        if (!m.is_number_integer() || (m != 0 && m != 1)) throw data_error("", "loss_mask: expected 0 or 1, found " + m.dump());
        e.loss_mask.push_back(uint8_t(m.get<int>()));
      }
      if (e.loss_mask.size() != e.tokens.size()) throw data_error("", "loss_mask: length differs from tokens");
    }
    examples.push_back(std::move(e));
  });
  return examples;
}

// Carries an input's "id" to its output so results can be matched in a pipe.
json with_id(const json& record, json result) {
  if (record.contains("id")) result["id"] = record["id"];
  return result;
}

// model-run serve: binds, prints {"listening":URL,"model":NAME} on stdout, serves until killed.
int serve_model(Engine& engine, const std::string& model_dir, std::string name, serve::ServerOptions options) {
  if (name.empty()) name = std::filesystem::path(model_dir).lexically_normal().filename().string();
  if (name.empty()) name = std::filesystem::path(model_dir).lexically_normal().parent_path().filename().string();
  serve::ServedModel served{name, &engine.model, &engine.need_tokenizer(), nullptr, 1024};
  serve::CompletionServer server(served, options);
  server.bind();
  io::Output out(STDOUT_FILENO);
  std::string host = options.host.find(':') != std::string::npos ? "[" + options.host + "]" : options.host;
  out.line(json{{"listening", "http://" + host + ":" + std::to_string(server.port())}, {"model", name}}.dump());
  out.flush();
  server.run();
  return exit_code::ok;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Run a GPT-2 or Llama model: logits, scores and perplexity, generation", "model-run"};
  tool::add_standard_flags(app);
  app.require_subcommand(1);
  std::string model_dir, device = "auto";
  int threads = 2;
  std::vector<std::string> inputs;
  auto common = [&](CLI::App* sub) {
    sub->add_option("-m,--model", model_dir, "Model folder (config.json, *.safetensors, tokenizer.json)")->required();
    sub->add_option("-t,--threads", threads, "CPU threads for sgemm and the other kernels")->check(CLI::Range(1, 256));
    sub->add_option("--device", device, "auto (a GPU when present), cpu or cuda")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  };
  auto* logits = app.add_subcommand("logits", "Logits of {\"tokens\":[...]}: one row per position");
  auto* score = app.add_subcommand("score", "Log-probabilities, mean loss and perplexity of each record, or of --file");
  auto* gen = app.add_subcommand("generate", "Continue {\"prompt\":...} or {\"tokens\":[...]}");
  auto* bench = app.add_subcommand("bench", "Measure forward, training and generation tokens/s and the sgemm limit");
  auto* train = app.add_subcommand("train", "Fine-tune on JSON lines of {\"text\":...} or {\"tokens\":[...]}; write to --out");
  auto* serve = app.add_subcommand("serve", "Answer OpenAI-compatible POST /v1/completions over HTTP (loopback by default)");
  for (auto* sub : {logits, score, gen, bench, train, serve}) common(sub);
  auto* digest = app.add_subcommand("digest", "Print the model digest of a folder (man/omlkit-formats.5, MODEL DIGEST)");
  std::string digest_dir;
  digest->add_option("dir", digest_dir, "Model folder")->required();
  for (auto* sub : {logits, score, gen}) sub->add_option("inputs", inputs, "JSON-lines inputs (- = stdin)");

  int batch = 4, window = 128, bench_tokens = 128;
  std::string text_file;
  double bench_seconds = 2;
  score->add_option("-b,--batch", batch, "Records scored together")->check(CLI::Range(1, 1024));
  score->add_option("-f,--file", text_file, "Perplexity of a whole text file instead of records");
  score->add_option("-w,--window", window, "With --file: tokens per non-overlapping window")->check(CLI::Range(2, 1 << 20));
  GenerationOptions gen_options;
  bool stop_at_eos = false;
  gen->add_option("-n,--max-new-tokens", gen_options.max_new_tokens, "Tokens to generate")->check(CLI::Range(0, 1 << 20));
  gen->add_option("--temperature", gen_options.sampling.temperature, "0 = greedy")->check(CLI::Range(0.0, 100.0));
  gen->add_option("--top-k", gen_options.sampling.top_k, "Sample among the k most likely (0 = all)")->check(CLI::NonNegativeNumber);
  gen->add_option("--top-p", gen_options.sampling.top_p, "Sample within probability mass p")->check(CLI::Range(0.0, 1.0));
  gen->add_option("--seed", gen_options.sampling.seed, "Random seed for sampling");
  gen->add_flag("--stop-at-eos", stop_at_eos, "Stop after the model's end-of-sequence token");
  bench->add_option("-b,--batch", batch, "Sequences per forward")->check(CLI::Range(1, 1024));
  bench->add_option("--tokens", bench_tokens, "Positions per sequence")->check(CLI::Range(2, 1 << 16));
  bench->add_option("--seconds", bench_seconds, "Minimum time per measurement")->check(CLI::Range(0.0, 600.0));

  std::string data_file, out_dir, schedule = "constant";
  FineTuneOptions tune;
  std::vector<std::string> train_only;
  train->add_option("-d,--data", data_file, "Training data, JSON lines (- = stdin)")->required();
  train->add_option("-o,--out", out_dir, "Folder to write the fine-tuned model to")->required();
  train->add_option("-b,--batch", tune.batch, "Windows per micro-batch")->check(CLI::Range(1, 1024));
  train->add_option("--accumulate", tune.accumulate, "Micro-batches per optimizer step")->check(CLI::Range(1, 1 << 16));
  train->add_option("--steps", tune.steps, "Optimizer steps")->check(CLI::Range(0, 1 << 24));
  train->add_option("--seq-len", tune.seq_len, "Longest window; longer records are cut")->check(CLI::Range(2, 1 << 20));
  train->add_option("--lr", tune.adamw.lr, "Peak learning rate")->check(CLI::Range(0.0, 10.0));
  train->add_option("--weight-decay", tune.adamw.weight_decay, "AdamW decoupled weight decay")->check(CLI::Range(0.0, 10.0));
  train->add_option("--clip", tune.clip, "Max global gradient norm (0 = off)")->check(CLI::Range(0.0, 1e9));
  train->add_option("--warmup", tune.warmup, "Linear warm-up steps")->check(CLI::NonNegativeNumber);
  train->add_option("--schedule", schedule, "After warm-up: constant, linear or cosine decay")
      ->check(CLI::IsMember({"constant", "linear", "cosine"}));
  train->add_option("--min-lr-ratio", tune.min_lr_ratio, "Decay floor as a fraction of --lr")->check(CLI::Range(0.0, 1.0));
  train->add_option("--seed", tune.seed, "Seed of the batch order");
  train->add_option("--train-only", train_only, "Train only tensors whose name matches this glob (repeatable)");

  serve::ServerOptions serve_options;
  std::string served_name;
  serve->add_option("--host", serve_options.host, "Address to listen on (default 127.0.0.1: this machine only)");
  serve->add_option("--port", serve_options.port, "TCP port; 0 picks a free one")->check(CLI::Range(0, 65535))->required();
  serve->add_option("--name", served_name, "Model name in requests and /v1/models (default: the folder's name)");

  return tool::run(app, argc, argv, [&] {
    if (*digest) {
      Checkpoint checkpoint = Checkpoint::open(digest_dir);
      io::Output out(STDOUT_FILENO);
      out.line(json{{"dir", digest_dir}, {"digest", model_digest(checkpoint)}, {"tensors", checkpoint.tensors().size()}}.dump());
      out.flush();
      return exit_code::ok;
    }
    Engine engine(model_dir, device, threads);
    if (*serve) return serve_model(engine, model_dir, served_name, serve_options);
    const int V = engine.model.config().vocab_size;
    if (inputs.empty()) inputs.push_back("-");
    io::Output out(STDOUT_FILENO);

    if (*logits) {
      for_each_record(inputs, [&](const json& record) {
        auto tokens = engine.tokens_of(record, "text");
        if (tokens.empty()) throw data_error("", "tokens: empty");
        std::vector<float> host(tokens.size() * size_t(V));
        engine.model.reserve(1, int(tokens.size()));
        engine.backend->download(host.data(), engine.model.forward(tokens, 1, int(tokens.size()), 0), host.size());
        std::string rows = "{\"logits\":[";
        for (size_t t = 0; t < tokens.size(); t++) rows += (t ? "," : "") + floats(&host[t * size_t(V)], size_t(V));
        if (record.contains("id")) rows += "]," + json{{"id", record["id"]}}.dump().substr(1);
        else rows += "]}";
        out.line(rows);
      });
    } else if (*score && !text_file.empty()) {
      auto tokens = engine.need_tokenizer().encode(io::read_file(text_file));
      auto r = windowed_perplexity(engine.model, tokens, window, batch);
      out.line(json{{"file", text_file}, {"tokens", r.tokens}, {"window", window}, {"windows", r.windows},
                    {"predictions", r.predictions}, {"mean_loss", r.mean_loss}, {"perplexity", r.perplexity}}
                   .dump());
    } else if (*score) {
      for_each_record(inputs, [&](const json& record) {
        auto s = score_sequences(engine.model, {engine.tokens_of(record, "text")}, batch)[0];
        out.line(with_id(record, {{"tokens", s.logprobs.size() + 1}, {"mean_loss", s.mean_loss},
                                  {"perplexity", std::exp(s.mean_loss)}, {"logprobs", s.logprobs}})
                     .dump());
      });
    } else if (*gen) {
      if (stop_at_eos) gen_options.stop_token = engine.model.config().eos_token_id;
      for_each_record(inputs, [&](const json& record) {
        auto tokens = generate(engine.model, engine.tokens_of(record, "prompt"), gen_options);
        json result = {{"tokens", tokens}};
        if (engine.tokenizer) result["text"] = engine.tokenizer->decode(tokens);
        out.line(with_id(record, result).dump());
      });
    } else if (*train) {
      tune.schedule = schedule == "cosine" ? LrSchedule::cosine : schedule == "linear" ? LrSchedule::linear : LrSchedule::constant;
      engine.model.set_trainable(select_trainable(engine.model.parameters(), train_only));
      auto examples = read_examples(engine, data_file);
      bool progress = tool::stderr_is_terminal();
      auto start = std::chrono::steady_clock::now();
      size_t tokens = 0;
      double first_loss = 0, last_loss = 0;
      fine_tune(engine.model, examples, tune, [&](const StepReport& r) {
        tokens += r.tokens;
        if (r.step == 1) first_loss = r.loss;
        last_loss = r.loss;
        double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (progress)
          std::fprintf(stderr, "\rmodel-run: step %d/%d  loss %.4f  lr %.3g  grad norm %.3g  %.0f tokens/s ", r.step, r.steps,
                       r.loss, double(r.lr), r.grad_norm, double(tokens) / seconds);
      });
      if (progress) std::fprintf(stderr, "\n");
      double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::vector<float> weights(engine.model.parameters().total_floats());
      engine.backend->download(weights.data(), engine.model.parameter_data(), weights.size());
      save_checkpoint(engine.checkpoint, engine.model.parameters(), weights, out_dir);
      out.line(json{{"out", out_dir}, {"steps", tune.steps}, {"tokens", tokens}, {"first_loss", first_loss},
                    {"last_loss", last_loss}, {"seconds", seconds}, {"tokens_per_s", double(tokens) / seconds}}
                   .dump());
    } else if (*bench) {
      auto r = run_benchmark(engine.model, batch, bench_tokens, bench_seconds);
      out.line(json{{"model", model_dir}, {"backend", engine.backend->name()}, {"batch", r.batch},
                    {"tokens", r.tokens}, {"forward_tokens_per_s", r.forward_tokens_per_s},
                    {"generate_tokens_per_s", r.generate_tokens_per_s},
                    {"train_tokens_per_s", r.train_tokens_per_s}, {"train_step_tokens_per_s", r.train_step_tokens_per_s},
                    {"forward_flops_per_token", r.forward_flops_per_token}, {"sgemm_gflops", r.sgemm_gflops},
                    {"limit_tokens_per_s", r.limit_tokens_per_s}, {"train_limit_tokens_per_s", r.train_limit_tokens_per_s}}
                   .dump());
    }
    out.flush();
    return exit_code::ok;
  });
}
