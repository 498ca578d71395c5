// model-run: run a GPT-2 or Llama model folder: logits, scores and perplexity, generation.
// JSON lines in, JSON lines out; see man/model-run.1. The engine is lib/model.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/tool.h"
#include "io/error.h"
#include "io/line_reader.h"
#include "io/output.h"
#include "model/benchmark.h"
#include "model/cpu/cpu_backend.h"
#include "model/generate.h"
#include "model/scoring.h"
#include "model/tokenizer.h"
#include "model/transformer.h"

using namespace omlkit;
using namespace omlkit::model;
using json = nlohmann::json;

namespace {

struct Engine {
  CpuBackend backend;
  Transformer model;
  std::optional<Tokenizer> tokenizer;  // absent when the folder has no tokenizer.json

  Engine(const std::string& dir, int threads) : backend(threads), model(Checkpoint::open(dir), backend) {
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

// Reads each input's records, calling handle(record) -> output line; errors get the place.
void for_each_record(const std::vector<std::string>& inputs, io::Output& out,
                     const std::function<std::string(const json&)>& handle) {
  for (const auto& input : inputs) {
    io::LineReader reader(input);
    std::string_view line;
    while (reader.next(&line)) {
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      try {
        json record = json::parse(line);
        if (!record.is_object()) throw data_error("", "expected a JSON object");
        out.line(handle(record));
        out.maybe_flush();
      } catch (const json::exception& e) {
        throw data_error(reader.where(), std::string("invalid JSON: ") + e.what());
      } catch (const Error& e) {
        throw Error(e.code(), e.where().empty() ? reader.where() : e.where(), e.what());
      }
    }
  }
}

// Carries an input's "id" to its output so results can be matched in a pipe.
json with_id(const json& record, json result) {
  if (record.contains("id")) result["id"] = record["id"];
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Run a GPT-2 or Llama model: logits, scores and perplexity, generation", "model-run"};
  tool::add_standard_flags(app);
  app.require_subcommand(1);
  std::string model_dir;
  int threads = 2;
  std::vector<std::string> inputs;
  auto common = [&](CLI::App* sub) {
    sub->add_option("-m,--model", model_dir, "Model folder (config.json, *.safetensors, tokenizer.json)")->required();
    sub->add_option("-t,--threads", threads, "CPU threads for sgemm and the other kernels")->check(CLI::Range(1, 256));
  };
  auto* logits = app.add_subcommand("logits", "Logits of {\"tokens\":[...]}: one row per position");
  auto* score = app.add_subcommand("score", "Log-probabilities, mean loss and perplexity of each record, or of --file");
  auto* gen = app.add_subcommand("generate", "Continue {\"prompt\":...} or {\"tokens\":[...]}");
  auto* bench = app.add_subcommand("bench", "Measure forward and generation tokens/s and the sgemm limit");
  for (auto* sub : {logits, score, gen, bench}) common(sub);
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

  return tool::run(app, argc, argv, [&] {
    Engine engine(model_dir, threads);
    const int V = engine.model.config().vocab_size;
    if (inputs.empty()) inputs.push_back("-");
    io::Output out(STDOUT_FILENO);

    if (*logits) {
      for_each_record(inputs, out, [&](const json& record) {
        auto tokens = engine.tokens_of(record, "text");
        if (tokens.empty()) throw data_error("", "tokens: empty");
        std::vector<float> host(tokens.size() * size_t(V));
        engine.model.reserve(1, int(tokens.size()));
        engine.backend.download(host.data(), engine.model.forward(tokens, 1, int(tokens.size()), 0), host.size());
        std::string rows = "{\"logits\":[";
        for (size_t t = 0; t < tokens.size(); t++) rows += (t ? "," : "") + floats(&host[t * size_t(V)], size_t(V));
        if (record.contains("id")) rows += "]," + json{{"id", record["id"]}}.dump().substr(1);
        else rows += "]}";
        return rows;
      });
    } else if (*score && !text_file.empty()) {
      auto tokens = engine.need_tokenizer().encode(io::read_file(text_file));
      auto r = windowed_perplexity(engine.model, tokens, window, batch);
      out.line(json{{"file", text_file}, {"tokens", r.tokens}, {"window", window}, {"windows", r.windows},
                    {"predictions", r.predictions}, {"mean_loss", r.mean_loss}, {"perplexity", r.perplexity}}
                   .dump());
    } else if (*score) {
      for_each_record(inputs, out, [&](const json& record) {
        auto s = score_sequences(engine.model, {engine.tokens_of(record, "text")}, batch)[0];
        return with_id(record, {{"tokens", s.logprobs.size() + 1}, {"mean_loss", s.mean_loss},
                                {"perplexity", std::exp(s.mean_loss)}, {"logprobs", s.logprobs}})
            .dump();
      });
    } else if (*gen) {
      if (stop_at_eos) gen_options.stop_token = engine.model.config().eos_token_id;
      for_each_record(inputs, out, [&](const json& record) {
        auto tokens = generate(engine.model, engine.tokens_of(record, "prompt"), gen_options);
        json result = {{"tokens", tokens}};
        if (engine.tokenizer) result["text"] = engine.tokenizer->decode(tokens);
        return with_id(record, result).dump();
      });
    } else if (*bench) {
      auto r = run_benchmark(engine.model, batch, bench_tokens, bench_seconds);
      out.line(json{{"model", model_dir}, {"backend", engine.backend.name()}, {"batch", r.batch},
                    {"tokens", r.tokens}, {"forward_tokens_per_s", r.forward_tokens_per_s},
                    {"generate_tokens_per_s", r.generate_tokens_per_s},
                    {"forward_flops_per_token", r.forward_flops_per_token}, {"sgemm_gflops", r.sgemm_gflops},
                    {"limit_tokens_per_s", r.limit_tokens_per_s}}
                   .dump());
    }
    out.flush();
    return exit_code::ok;
  });
}
