// model-run: run a GPT-2 or Llama model folder: logits, scores and perplexity, generation,
// fine-tuning (train), evaluation suites (evaluate), an HTTP endpoint (serve), the model digest
// (digest), random initialisation (init), and the token context (tokenize, detokenize).
// JSON lines in, JSON lines out; see man/model-run.1. The engine and the subcommands are
// lib/model (model_run.h); this file parses flags.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>

#include "common/tool.h"
#include "eval/command.h"
#include "io/error.h"
#include "io/output.h"
#include "json/value.h"
#include "model/digest.h"
#include "model/init.h"
#include "model/model_run.h"
#include "money/account_name.h"
#include "serve/billing.h"
#include "serve/server.h"

using namespace omlkit;
using namespace omlkit::model;

namespace {

// CLI11's Range lets NaN through (every comparison with NaN is false).
const CLI::Validator kFinite(
    [](std::string& text) {
      double value = std::strtod(text.c_str(), nullptr);
      return std::isfinite(value) ? std::string() : "expected a finite number, found " + text;
    },
    "FINITE");

// ---- evaluate: a suite on the model -> one evaluation record; --check recomputes one ----
void add_evaluate_options(CLI::App* sub, eval::EvaluateCommand& c) {
  sub->add_option("-s,--suite", c.suite, "Suite file: JSON lines of tasks and items (man omlkit-formats)")->required();
  sub->add_option("--check", c.check, "Recompute this evaluation record; exit 1 when it differs");
  sub->add_option("--evaluation", c.evaluation, "Id of the evaluation (default: derived from the digests)");
  sub->add_option("--model-id", c.model_id, "The model's id on the ledger");
  sub->add_option("--owner", c.owner, "The model owner's account");
  sub->add_option("--evaluator", c.evaluator, "The evaluator's account");
  sub->add_option("-b,--batch", c.batch, "Sequences per forward pass")->check(CLI::Range(1, 1024));
}

int run_evaluate(Engine& engine, const eval::EvaluateCommand& command, io::Output& out) {
  auto outcome =
      eval::run_evaluate_command(command, engine.checkpoint(), engine.model(), engine.context().tokenizer());
  out.line(outcome.line);
  out.flush();
  if (!outcome.check_failed) return exit_code::ok;
  tool::error(outcome.where, "check failed: " + outcome.failure);
  return exit_code::check_failed;
}

// model-run serve: binds, prints {"listening":URL,"model":NAME} on stdout, serves until killed.
// Text prompts take the engine's token context (--chat, --no-special-tokens), as generate's do.
// Billing flags as given; turned into serve::Billing once the model is loaded.
struct BillingFlags {
  std::string api_keys, call_log, price, node, model_id, node_key;
};

// SIGHUP reopens the call log (rotation). Libraries start threads before main (OpenBLAS's
// pool), so a blocked mask and sigwait would miss them: the handler, on whatever thread it
// runs, writes one byte to a pipe (async-signal-safe), and one thread reads it and reopens.
int sighup_pipe[2] = {-1, -1};

void on_sighup(int) {
  char byte = 1;
  (void)!::write(sighup_pipe[1], &byte, 1);
}

void reopen_on_sighup(std::shared_ptr<serve::CallLog> log) {
  if (::pipe2(sighup_pipe, O_CLOEXEC) != 0) throw Error(exit_code::internal, "", "cannot make the SIGHUP pipe");
  struct sigaction action {};
  action.sa_handler = on_sighup;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  ::sigaction(SIGHUP, &action, nullptr);
  std::thread([log] {
    char byte;
    while (true) {
      ssize_t n = ::read(sighup_pipe[0], &byte, 1);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      try {
        log->reopen();
        if (log->cut_bytes()) tool::warn(log->path(), "cut a torn last line of " + std::to_string(log->cut_bytes()) + " bytes");
      } catch (const Error& e) {
        tool::error(e.where(), std::string(e.what()) + " (still writing to the previous file)");
      }
    }
  }).detach();
}

int serve_model(Engine& engine, const std::string& model_dir, std::string name, serve::ServerOptions options,
                const BillingFlags& flags) {
  if (name.empty()) name = std::filesystem::path(model_dir).lexically_normal().filename().string();
  if (name.empty()) name = std::filesystem::path(model_dir).lexically_normal().parent_path().filename().string();
  const TokenContext& context = engine.context();
  context.encode_prompt("");  // a --chat template this tokenizer cannot express fails here, not per request
  serve::ServedModel served{name, &engine.model(), &context.tokenizer(),
                            [&context](std::string_view text) { return context.encode_prompt(text); }, 1024};
  auto billing = std::make_shared<serve::Billing>();
  if (!flags.api_keys.empty()) billing->keys = std::make_shared<serve::ApiKeys>(serve::ApiKeys::load(flags.api_keys));
  if (!flags.node_key.empty()) billing->node_key = crypto::SigningKey::load_pem(flags.node_key);
  billing->tokenizer = &context.tokenizer();
  if (!flags.call_log.empty()) {
    billing->price = serve::parse_price(flags.price);
    billing->node = flags.node;
    billing->model_id = flags.model_id.empty() ? name : flags.model_id;
    billing->tokenizer = &context.tokenizer();
    billing->log = std::make_shared<serve::CallLog>(flags.call_log);
    if (billing->log->cut_bytes())
      tool::warn(flags.call_log, "cut a torn last line of " + std::to_string(billing->log->cut_bytes()) +
                                     " bytes (a call that crashed before its answer was sent)");
    billing->on_log_error = [](const Error& e) { tool::error(e.where(), std::string(e.what()) + " (answered 503)"); };
    reopen_on_sighup(billing->log);
  }
  serve::attach_billing(options, billing);
  serve::CompletionServer server(served, options);
  server.bind();
  io::Output out(STDOUT_FILENO);
  std::string host = options.host.find(':') != std::string::npos ? "[" + options.host + "]" : options.host;
  json::Value line = json::Value::object();
  line.set("listening", json::Value::string("http://" + host + ":" + std::to_string(server.port())));
  line.set("model", json::Value::string(name));
  out.line(json::canonical(line));
  out.flush();
  server.run();
  return exit_code::ok;
}

// model-run digest: {"digest":HEX,"dir":DIR,"tensors":N}.
int print_digest(const std::string& dir) {
  Checkpoint checkpoint = Checkpoint::open(dir);
  json::Value line = json::Value::object();
  line.set("dir", json::Value::string(dir));
  line.set("digest", json::Value::string(model_digest(checkpoint)));
  line.set("tensors", json::Value::integer(static_cast<int64_t>(checkpoint.tensors().size())));
  io::Output out(STDOUT_FILENO);
  out.line(json::canonical(line));
  out.flush();
  return exit_code::ok;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Run a GPT-2 or Llama model: logits, scores and perplexity, generation, fine-tuning, tokens", "model-run"};
  tool::add_standard_flags(app);
  app.require_subcommand(1);
  EngineOptions engine_options;
  RecordInputs inputs;
  bool no_special_tokens = false;
  auto common = [&](CLI::App* sub) {
    sub->add_option("-m,--model", engine_options.model_dir, "Model folder (config.json, *.safetensors, tokenizer.json)")
        ->required();
    sub->add_option("-t,--threads", engine_options.threads, "CPU threads for sgemm and the other kernels")
        ->check(CLI::Range(1, 256));
    sub->add_option("--device", engine_options.device, "auto (a GPU when present), cpu or cuda")
        ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  };
  auto* logits = app.add_subcommand("logits", "Logits of {\"tokens\":[...]}: one row per position");
  auto* score = app.add_subcommand("score", "Log-probabilities, mean loss and perplexity of each record, or of --file");
  auto* gen = app.add_subcommand("generate", "Continue {\"prompt\":...}, {\"messages\":[...]} or {\"tokens\":[...]}");
  auto* bench = app.add_subcommand("bench", "Measure forward, training and generation tokens/s and the sgemm limit");
  auto* train = app.add_subcommand("train", "Fine-tune on JSON lines of {\"text\":...} or {\"tokens\":[...]}; write to --out");
  auto* tokenize = app.add_subcommand("tokenize", "Ids, pieces and byte offsets of {\"text\":...}, as the engine feeds them");
  auto* detokenize = app.add_subcommand("detokenize", "Text of {\"ids\":[...]}, with each id's pieces and byte offsets");
  auto* evaluate = app.add_subcommand("evaluate", "Score the model on a suite: one evaluation record (or --check one)");
  eval::EvaluateCommand evaluate_command;
  add_evaluate_options(evaluate, evaluate_command);
  auto* serve = app.add_subcommand("serve", "Answer OpenAI-compatible POST /v1/completions over HTTP (loopback by default)");
  auto* digest = app.add_subcommand("digest", "Print the model digest of a folder (man/omlkit-formats.5, MODEL DIGEST)");
  std::string digest_dir;
  digest->add_option("dir", digest_dir, "Model folder")->required();
  auto* init = app.add_subcommand("init", "Write a randomly initialised model folder shaped by a config.json");
  std::string init_config, init_out;
  uint64_t init_seed = 0;
  init->add_option("-c,--config", init_config, "config.json giving the architecture, shape and torch_dtype")->required();
  init->add_option("--seed", init_seed, "Seed of the random weights (same seed, same bytes)");
  init->add_option("-o,--out", init_out, "Folder to write config.json and model.safetensors to")->required();
  for (auto* sub : {logits, score, gen, bench, train, evaluate, serve}) common(sub);
  for (auto* sub : {tokenize, detokenize})
    sub->add_option("-m,--model", engine_options.model_dir, "Model folder (tokenizer.json)")->required();
  for (auto* sub : {logits, score, gen, tokenize, detokenize})
    sub->add_option("inputs", inputs.paths, "JSON-lines inputs (- = stdin)");
  for (auto* sub : {logits, score, gen, train, tokenize, serve})
    sub->add_flag("--no-special-tokens", no_special_tokens,
                  "Encode text without the tokenizer's post-processor tokens (e.g. Llama's BOS)");
  for (auto* sub : {score, gen, tokenize, serve})
    sub->add_option("--chat", engine_options.tokens.chat,
                    "Chat template for prompts: auto (tokenizer_config.json), llama3, chatml, mistral, llama2, gemma");

  int batch = 4, window = 128, bench_tokens = 128;
  std::string text_file;
  double bench_seconds = 2;
  score->add_option("-b,--batch", batch, "Records scored together")->check(CLI::Range(1, 1024));
  score->add_option("-f,--file", text_file, "Perplexity of a whole text file instead of records");
  score->add_option("-w,--window", window, "With --file: tokens per non-overlapping window")->check(CLI::Range(2, 1 << 20));
  GenerationOptions gen_options;
  bool stop_at_eos = false;
  gen->add_option("-n,--max-new-tokens", gen_options.max_new_tokens, "Tokens to generate")->check(CLI::Range(0, 1 << 20));
  gen->add_option("--temperature", gen_options.sampling.temperature, "0 = greedy")->check(kFinite & CLI::Range(0.0, 100.0));
  gen->add_option("--top-k", gen_options.sampling.top_k, "Sample among the k most likely (0 = all)")->check(CLI::NonNegativeNumber);
  gen->add_option("--top-p", gen_options.sampling.top_p, "Sample within probability mass p")->check(kFinite & CLI::Range(0.0, 1.0));
  gen->add_option("--seed", gen_options.sampling.seed, "Random seed for sampling");
  gen->add_flag("--stop-at-eos", stop_at_eos, "Stop after the model's end-of-sequence token");
  bench->add_option("-b,--batch", batch, "Sequences per forward")->check(CLI::Range(1, 1024));
  bench->add_option("--tokens", bench_tokens, "Positions per sequence")->check(CLI::Range(2, 1 << 16));
  bench->add_option("--seconds", bench_seconds, "Minimum time per measurement")->check(kFinite & CLI::Range(0.0, 600.0));
  bool bench_inference_only = false;
  bench->add_flag("--inference-only", bench_inference_only,
                  "Scoring, generation, sgemm and memory reads only, with BF16/F16 weights read in place");
  bool skip_special_tokens = false;
  detokenize->add_flag("--skip-special-tokens", skip_special_tokens, "Leave special tokens out of the text");

  TrainOptions training;
  std::string data_file, schedule = "constant";
  FineTuneOptions& tune = training.tune;
  train->add_option("-d,--data", data_file, "Training data, JSON lines (- = stdin)")->required();
  train->add_option("-o,--out", training.out_dir, "Folder to write the fine-tuned model to")->required();
  train->add_option("-b,--batch", tune.batch, "Windows per micro-batch")->check(CLI::Range(1, 1024));
  train->add_option("--accumulate", tune.accumulate, "Micro-batches per optimizer step")->check(CLI::Range(1, 1 << 16));
  train->add_option("--steps", tune.steps, "Optimizer steps")->check(CLI::Range(0, 1 << 24));
  train->add_option("--seq-len", tune.seq_len, "Longest window; longer records are cut")->check(CLI::Range(2, 1 << 20));
  train->add_option("--lr", tune.adamw.lr, "Peak learning rate")->check(kFinite & CLI::Range(0.0, 10.0));
  train->add_option("--weight-decay", tune.adamw.weight_decay, "AdamW decoupled weight decay")
      ->check(kFinite & CLI::Range(0.0, 10.0));
  train->add_option("--clip", tune.clip, "Max global gradient norm (0 = off)")->check(kFinite & CLI::Range(0.0, 1e9));
  train->add_option("--warmup", tune.warmup, "Linear warm-up steps")->check(CLI::NonNegativeNumber);
  train->add_option("--schedule", schedule, "After warm-up: constant, linear or cosine decay")
      ->check(CLI::IsMember({"constant", "linear", "cosine"}));
  train->add_option("--min-lr-ratio", tune.min_lr_ratio, "Decay floor as a fraction of --lr")
      ->check(kFinite & CLI::Range(0.0, 1.0));
  train->add_option("--seed", tune.seed, "Seed of the batch order");
  train->add_option("--train-only", training.train_only, "Train only tensors whose name matches this glob (repeatable)");
  train->add_flag("--recompute-activations", training.recompute_activations,
                  "Keep each trained layer's input only and recompute its activations in the backward pass");

  serve::ServerOptions serve_options;
  std::string served_name;
  serve->add_option("--host", serve_options.host, "Address to listen on (default 127.0.0.1: this machine only)");
  serve->add_option("--port", serve_options.port, "TCP port; 0 picks a free one")->check(CLI::Range(0, 65535))->required();
  serve->add_option("--name", served_name, "Model name in requests and /v1/models (default: the folder's name)");
  BillingFlags billing_flags;
  serve->add_option("--api-keys", billing_flags.api_keys, "File of \"<token> <payer account>\" lines (mode 0600): 401 without one");
  serve->add_option("--call-log", billing_flags.call_log, "Append one call record per answered request here (SIGHUP reopens)");
  serve->add_option("--price", billing_flags.price, "With --call-log: ASSET:AMOUNT, base units per prompt and output token");
  serve->add_option("--node", billing_flags.node, "With --call-log: the serving node's account");
  serve->add_option("--model-id", billing_flags.model_id, "With --call-log: the model's id on the ledger (default: --name)");
  serve->add_option("--node-key", billing_flags.node_key, "Ed25519 PEM key: call ids become signed receipts");

  return tool::run(app, argc, argv, [&] {
    if (*serve && !billing_flags.call_log.empty() &&
        (billing_flags.api_keys.empty() || billing_flags.price.empty() || billing_flags.node.empty()))
      throw Error(exit_code::usage, "", "--call-log needs --api-keys (the payers), --price and --node");
    if (*serve && billing_flags.call_log.empty() && (!billing_flags.price.empty() || !billing_flags.node.empty()))
      throw Error(exit_code::usage, "", "--price and --node only make sense with --call-log");
    if (*serve && !billing_flags.call_log.empty() && !money::valid_account_name(billing_flags.node))
      throw Error(exit_code::usage, "", std::string("--node: expected ") + money::account_name_rule);
    if (*digest) return print_digest(digest_dir);
    if (*init) {
      write_random_model(init_config, init_seed, init_out);
      return exit_code::ok;
    }
    engine_options.tokens.special_tokens = !no_special_tokens;
    if (inputs.paths.empty()) inputs.paths.push_back("-");
    inputs.max_line_bytes = tool::max_line_bytes();
    io::Output out(STDOUT_FILENO);
    if (*tokenize || *detokenize) {
      auto context = TokenContext::for_model(engine_options.model_dir, engine_options.tokens);
      if (*tokenize) run_tokenize(context, inputs, out);
      else run_detokenize(context, inputs, skip_special_tokens, out);
      out.flush();
      return exit_code::ok;
    }
    // bench measures training of the whole model. Training widens what it trains (and what
    // its backward pass reads) itself; frozen tensors stay where the file holds them.
    if (*bench && !bench_inference_only) engine_options.weights = WeightPlacement::widened;
    Engine engine(engine_options);
    if (*evaluate) return run_evaluate(engine, evaluate_command, out);
    if (*serve) return serve_model(engine, engine_options.model_dir, served_name, serve_options, billing_flags);
    if (*logits) {
      run_logits(engine, inputs, out);
    } else if (*score && !text_file.empty()) {
      run_score_file(engine, text_file, window, batch, out);
    } else if (*score) {
      run_score(engine, inputs, batch, out);
    } else if (*gen) {
      run_generate(engine, inputs, gen_options, stop_at_eos, out);
    } else if (*train) {
      tune.schedule = schedule == "cosine" ? LrSchedule::cosine : schedule == "linear" ? LrSchedule::linear : LrSchedule::constant;
      training.data = {{data_file}, tool::max_line_bytes()};
      bool progress = tool::stderr_is_terminal();
      run_train(engine, training, [&](const StepReport& r, double tokens_per_s) {
        if (progress)
          std::fprintf(stderr, "\rmodel-run: step %d/%d  loss %.4f  lr %.3g  grad norm %.3g  %.0f tokens/s ", r.step,
                       r.steps, r.loss, double(r.lr), r.grad_norm, tokens_per_s);
      }, out);
      if (progress) std::fprintf(stderr, "\n");
    } else if (*bench) {
      run_bench(engine, batch, bench_tokens, bench_seconds, bench_inference_only, out);
    }
    out.flush();
    return exit_code::ok;
  });
}
