// model-run's subcommands as library calls: a model folder opened once (Engine), JSON-lines
// records read with lib/json's strict parser, one result record written per input record.
// tools/model-run.cpp only parses flags and calls these. Nothing here prints to a terminal
// or exits: results go to the io::Output given, errors are omlkit::Error with the record's
// place ("file:line: field: message").
//
// Inputs are bounded before memory is committed to them: token ids are checked against the
// vocabulary and the model's context when a record is read, before any buffer is sized.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/output.h"
#include "json/value.h"
#include "model/backend.h"
#include "model/checkpoint.h"
#include "model/fine_tune.h"
#include "model/generate.h"
#include "model/token_context.h"
#include "model/transformer.h"

namespace omlkit::model {

// JSON-lines inputs ("-" = stdin) and the longest line accepted.
struct RecordInputs {
  std::vector<std::string> paths;
  size_t max_line_bytes = 16 << 20;
};

// Calls handle(record) for every non-blank line of every input, parsed strictly (duplicate
// keys, a BOM, invalid UTF-8 are errors with line and column; numbers keep their text, so
// 1e999 where an id is expected is an error naming that field); the record must be an object.
// Errors from handle get the line's place when they have none.
void for_each_record(const RecordInputs& inputs, const std::function<void(const json::Value&)>& handle);

struct EngineOptions {
  std::string model_dir;
  std::string device = "auto";  // auto, cpu, cuda
  int threads = 2;
  TokenContextOptions tokens;
  // in_place: weights are read where the file's mapping holds them (CPU); training widens
  // to F32 only what it trains and what its backward pass reads.
  WeightPlacement weights = WeightPlacement::in_place;
};

class Engine {
 public:
  // Opens the folder: token context first (tokenizer, chat template), then the weights.
  explicit Engine(const EngineOptions& options);

  Backend& backend() { return *backend_; }
  const Checkpoint& checkpoint() const { return checkpoint_; }
  const TokenContext& context() const { return context_; }
  Transformer& model() { return model_; }
  int threads() const { return threads_; }

  // The ids a record stands for: "tokens" exactly as given; else "messages" through the
  // chat template (the generation prompt added when add_generation_prompt); else the
  // string at text_key as a prompt (TokenContext::encode_prompt). Throws 65 naming the
  // field for a missing or mistyped field, an id outside the vocabulary (with its index),
  // or more ids than the model's context (max_new more positions are needed after them).
  std::vector<int32_t> tokens_of(const json::Value& record, std::string_view text_key, bool add_generation_prompt,
                                 size_t max_new = 0) const;

 private:
  int threads_;
  std::unique_ptr<Backend> backend_;
  Checkpoint checkpoint_;
  TokenContext context_;
  Transformer model_;
};

// {"logits": [[V floats] per position]} per record of {"tokens"} or {"text"}.
void run_logits(Engine& engine, const RecordInputs& inputs, io::Output& out);
// {"tokens", "mean_loss", "perplexity", "logprobs"} per record.
void run_score(Engine& engine, const RecordInputs& inputs, int batch, io::Output& out);
// Windowed perplexity of a whole text file: one record.
void run_score_file(Engine& engine, const std::string& path, int window, int batch, io::Output& out);
// {"tokens": new ids, "text"} per record of {"prompt"}, {"messages"} or {"tokens"}.
void run_generate(Engine& engine, const RecordInputs& inputs, GenerationOptions options, bool stop_at_eos,
                  io::Output& out);

struct TrainOptions {
  RecordInputs data;  // JSON lines of {"text"} or {"tokens", "loss_mask"}
  std::string out_dir;
  FineTuneOptions tune;
  std::vector<std::string> train_only;
  bool recompute_activations = false;  // Transformer::set_recompute_activations
};
// Fine-tunes and writes the model to out_dir, then one summary record. progress is called
// after every step with the tokens/s so far. Throws 65, writing nothing, when the loss or
// the gradients stop being finite.
void run_train(Engine& engine, const TrainOptions& options,
               const std::function<void(const StepReport&, double tokens_per_s)>& progress, io::Output& out);
// One record of run_benchmark's rates; with inference_only, those it did not measure are
// left out.
void run_bench(Engine& engine, int batch, int tokens, double seconds, bool inference_only, io::Output& out);

// {"ids", "pieces", "offsets": [[begin, end] byte offsets into the text]} per record of
// {"text"}: exactly the ids the engine feeds the model for that text (with --chat, the
// rendered conversation, given as "text" too).
void run_tokenize(const TokenContext& context, const RecordInputs& inputs, io::Output& out);
// {"text", "pieces", "offsets" into that text} per record of {"ids"} (or {"tokens"}).
void run_detokenize(const TokenContext& context, const RecordInputs& inputs, bool skip_special_tokens,
                    io::Output& out);

}  // namespace omlkit::model
