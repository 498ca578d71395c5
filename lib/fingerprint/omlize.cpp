#include "fingerprint/omlize.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>

#include "crypto/sha256.h"
#include "fingerprint/record.h"
#include "fingerprint/words.h"
#include "io/error.h"
#include "io/line_reader.h"
#include "io/output.h"
#include "model/checkpoint.h"
#include "model/checkpoint_writer.h"
#include "model/digest.h"
#include "model/fine_tune.h"
#include "model/generate.h"
#include "model/scoring.h"
#include "model/tokenizer.h"
#include "model/transformer.h"

namespace omlkit::fingerprint {

namespace fs = std::filesystem;

namespace {

// A folder that is removed (with everything in it) unless released: the copy is built in
// one next to --out and renamed into place only when it is complete.
class TempFolder {
 public:
  explicit TempFolder(std::string path) : path_(std::move(path)) {}
  ~TempFolder() {
    if (!path_.empty()) {
      std::error_code ec;
      fs::remove_all(path_, ec);
    }
  }
  const std::string& path() const { return path_; }
  void release() { path_.clear(); }

 private:
  std::string path_;
};

std::string hex_salt(const Derivation& d, std::string_view licensee, uint64_t index) {
  return crypto::to_hex(d.derive("salt", licensee, index));
}

std::vector<std::string> read_wrappers(const std::string& path) {
  std::vector<std::string> out;
  io::LineReader reader(path);
  std::string_view line;
  while (reader.next(&line)) {
    if (line.empty()) continue;
    check_wrapper(line, reader.where());
    out.emplace_back(line);
  }
  if (out.empty()) throw data_error(path, "expected at least one wrapper line holding \"{}\"");
  return out;
}

// Text as token windows of `len` tokens, every one of them, in file order from a start
// chosen by the secret.
std::vector<std::vector<int32_t>> text_windows(const model::Tokenizer& tokenizer, const std::string& path, int len,
                                               const Derivation& d, std::string_view purpose) {
  std::vector<int32_t> ids = tokenizer.encode(io::read_file(path));
  size_t windows = ids.size() / size_t(len);
  if (windows == 0)
    throw data_error(path, "expected at least " + std::to_string(len) + " tokens of text, found " +
                               std::to_string(ids.size()));
  std::vector<std::vector<int32_t>> out;
  size_t first = d.below(windows, purpose, "", 0);
  for (size_t i = 0; i < windows; ++i) {
    size_t w = (first + i) % windows;
    out.emplace_back(ids.begin() + long(w * len), ids.begin() + long((w + 1) * len));
  }
  return out;
}

// Base-model replay: a pool of this many steps' worth of samples, taken in turn.
constexpr size_t kSamplePoolSteps = 8;

// Ordinary text sampled from the base model at temperature 1, each sequence from a common
// word: `count` sequences of `len` tokens. Sequences whose prompts are of one length run as
// one batch through the KV cache, and each draws its tokens in id order from its own seeded
// stream (no sort of the vocabulary per token), so that a pool of hundreds costs seconds.
std::vector<std::vector<int32_t>> model_samples(model::Transformer& model, const model::Tokenizer& tokenizer,
                                                const ContextSettings& context, int len, size_t count,
                                                const Derivation& d, std::string_view purpose) {
  constexpr size_t kBatch = 32;
  auto words = common_words();
  std::vector<std::vector<int32_t>> out(count);
  std::map<size_t, std::vector<size_t>> by_length;
  for (size_t i = 0; i < count; ++i) {
    std::string word(words[d.below(words.size(), purpose, "", i)]);
    word[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(word[0])));
    out[i] = prompt_ids(tokenizer, word, context);
    by_length[out[i].size()].push_back(i);
  }
  const size_t V = static_cast<size_t>(model.config().vocab_size);
  std::vector<float> logits;
  std::vector<double> weights(V);  // exp(logit - top) of one row
  for (const auto& [prompt_len, group] : by_length) {
    const int P = static_cast<int>(prompt_len), new_tokens = std::max(1, len - P);
    for (size_t begin = 0; begin < group.size(); begin += kBatch) {
      const size_t B = std::min(kBatch, group.size() - begin);
      std::vector<int32_t> tokens;
      std::vector<std::mt19937_64> streams;
      for (size_t b = 0; b < B; ++b) {
        const std::vector<int32_t>& s = out[group[begin + b]];
        tokens.insert(tokens.end(), s.begin(), s.end());
        streams.emplace_back(d.u64(purpose, "", group[begin + b], 1));
      }
      model.reserve(int(B), P + new_tokens);
      const float* device = model.forward(tokens, int(B), P, 0, true);
      for (int t = 0; t < new_tokens; ++t) {
        logits.resize(B * V);
        model.backend().download(logits.data(), device, logits.size());
        for (size_t b = 0; b < B; ++b) {
          const float* row = logits.data() + b * V;
          const float top = *std::max_element(row, row + V);
          if (!std::isfinite(top)) throw data_error("", "sampling: the model produced a non-finite logit");
          double sum = 0;
          for (size_t v = 0; v < V; ++v) sum += weights[v] = std::exp(double(row[v]) - top);
          double u = double(streams[b]() >> 11) * 0x1.0p-53 * sum;
          size_t v = 0;
          while (v + 1 < V && (u -= weights[v]) >= 0) ++v;
          tokens[b] = static_cast<int32_t>(v);
          out[group[begin + b]].push_back(tokens[b]);
        }
        if (t + 1 < new_tokens) device = model.forward(std::span(tokens.data(), B), int(B), 1, P + t, true);
      }
    }
  }
  return out;
}

double perplexity(model::Transformer& model, const std::vector<std::vector<int32_t>>& seqs) {
  std::vector<model::SequenceScore> scores = model::score_sequences(model, seqs, 16);
  double loss = 0;
  size_t n = 0;
  for (const auto& s : scores) {
    for (float lp : s.logprobs) loss -= lp;
    n += s.logprobs.size();
  }
  return n ? std::exp(loss / double(n)) : 0;
}

// Greedy decoding of each record's prompt, compared with its response ids.
size_t greedy_recall(model::Transformer& model, const std::vector<FingerprintRecord>& records) {
  size_t hits = 0;
  for (const FingerprintRecord& r : records) {
    model::GenerationOptions g;
    g.max_new_tokens = static_cast<int>(r.response_ids.size());
    hits += model::generate(model, r.prompt_ids, g) == r.response_ids;
  }
  return hits;
}

json::Value number(double x) { return json::Value::number_text(json::format_es6_number(std::round(x * 1e6) / 1e6)); }

void check_options(const OmlizeOptions& o) {
  if (o.pool_size == 0 && o.count == 0) throw Error(exit_code::usage, "", "--count: expected at least 1, found 0");
  if (o.pool_size > 0 && o.count > 0) throw Error(exit_code::usage, "", "--count and --pool exclude each other");
  if (o.licensee.empty()) throw Error(exit_code::usage, "", "--licensee: expected an account name");
  check_wrapper(o.context.wrapper, "--wrapper");
  if (fs::exists(o.out_dir)) throw Error(exit_code::cannot_create, o.out_dir, "--out already exists; choose a new folder");
  if (!o.force && fs::exists(o.fingerprints_file))
    throw Error(exit_code::cannot_create, o.fingerprints_file, "the fingerprints file exists; --force overwrites it");
  if (!fs::is_directory(o.model_dir)) throw Error(exit_code::no_input, o.model_dir, "not a model folder (no such folder)");
  if (!fs::exists(fs::path(o.model_dir) / "tokenizer.json"))
    throw Error(exit_code::no_input, o.model_dir, "not a model folder: no tokenizer.json");
}

}  // namespace

OmlizeResult omlize(const OmlizeOptions& o, model::Backend& backend,
                    const std::function<void(const OmlizeProgress&)>& on_progress,
                    const std::function<bool()>& cancelled) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  check_options(o);
  std::string secret = read_secret(o.secret_file);
  model::Checkpoint checkpoint = model::Checkpoint::open(o.model_dir);
  model::Tokenizer tokenizer = model::Tokenizer::from_file(o.model_dir + "/tokenizer.json");
  // Weights read where the file holds them (CPU); set_trainable widens to F32 what training
  // reads (every layer from the lowest trained one up, and the head), before anything
  // runs, so keys and responses come from the weights placed as the training uses them.
  model::Transformer model(checkpoint, backend, model::WeightPlacement::in_place);
  model.set_trainable(model::select_trainable(model.parameters(), o.embed.train_patterns));
  if (o.replay_fraction > 0 && o.replay_len > model.config().max_positions)
    throw Error(exit_code::usage, "",
                "--replay-len: " + std::to_string(o.replay_len) + " tokens is longer than the model's context of " +
                    std::to_string(model.config().max_positions));
  const std::string base_digest = model::model_digest(checkpoint);
  Derivation d(std::move(secret), base_digest);
  auto progress = [&](const std::string& phase) {
    if (cancelled && cancelled()) throw Error(130, "", "interrupted");
    if (on_progress) on_progress(OmlizeProgress{phase, {}});
  };

  // 1. Fingerprints: the licensee's own, or a shared pool's members.
  const bool pooled = o.pool_size > 0;
  const std::string scope = pooled ? std::string() : o.licensee;
  const size_t n_keys = pooled ? o.pool_size : o.count;
  progress("keys");
  std::vector<CanonicalKey> keys = make_keys(model, tokenizer, o.context, d, scope, n_keys, o.keys);
  double pool_p = pooled ? std::strtod(o.pool_p.c_str(), nullptr) : 1.0;
  std::vector<FingerprintRecord> records;
  progress("responses");
  for (size_t k = 0; k < keys.size(); ++k) {
    if (pooled && !(d.uniform("pool-member", o.licensee, k) < pool_p)) continue;
    std::vector<int32_t> prompt = prompt_ids(tokenizer, keys[k].text, o.context);
    for (const PerinucleusResponse& resp : perinucleus(model, tokenizer, prompt, d, scope, k, o.responses)) {
      FingerprintRecord r;
      r.index = static_cast<int64_t>(records.size());
      r.key_index = static_cast<int64_t>(k);
      r.licensee = o.licensee;
      r.model = base_digest;
      r.key = keys[k].text;
      r.key_ids = keys[k].ids;
      r.context = o.context;
      r.prompt_ids = prompt;
      r.response_ids = resp.ids;
      r.response = tokenizer.decode(resp.ids);
      r.base_prob = resp.base_prob;
      r.base_rank = resp.base_rank;
      if (pooled) r.pool = PoolAssignment{static_cast<int64_t>(k), static_cast<int64_t>(o.pool_size), o.pool_p};
      records.push_back(std::move(r));
    }
  }
  if (records.empty()) throw data_error("", "--pool: this licensee drew none of the pool's fingerprints; raise --p or --pool");
  for (FingerprintRecord& r : records) r.salt = hex_salt(d, o.licensee, static_cast<uint64_t>(r.index));

  // 2. Training and check sequences, replay and held-out text.
  std::vector<FingerprintSequence> check, train;
  for (const FingerprintRecord& r : records) check.push_back(fingerprint_sequence(r.prompt_ids, r.response_ids));
  train = check;
  if (!o.wrap_prompts_file.empty())
    for (const std::string& wrapper : read_wrappers(o.wrap_prompts_file))
      for (const FingerprintRecord& r : records) {
        ContextSettings wrapped = o.context;
        wrapped.wrapper = wrapper;
        train.push_back(fingerprint_sequence(prompt_ids(tokenizer, r.key, wrapped), r.response_ids));
      }
  size_t n_replay = o.replay_fraction > 0
                        ? static_cast<size_t>(std::ceil(o.replay_fraction / (1 - o.replay_fraction) * double(train.size())))
                        : 0;
  // n_replay sequences per step, taken in turn from a pool: of base-model samples
  // (kSamplePoolSteps steps' worth), with the base model's distributions as targets
  // (distillation), or of every window of a --replay file, with their own next tokens as
  // targets.
  std::vector<std::vector<int32_t>> replay =
      n_replay == 0           ? std::vector<std::vector<int32_t>>{}
      : o.replay_file.empty() ? model_samples(model, tokenizer, o.context, o.replay_len, kSamplePoolSteps * n_replay, d, "replay")
                              : text_windows(tokenizer, o.replay_file, o.replay_len, d, "replay");
  EmbedOptions embed_options = o.embed;
  embed_options.replay_per_step = n_replay;
  embed_options.replay_distill = o.replay_file.empty();
  std::vector<std::vector<int32_t>> meta;
  if (o.embed.meta_drift > 0)
    meta = !o.meta_file.empty() ? text_windows(tokenizer, o.meta_file, o.replay_len, d, "meta")
           : !replay.empty()    ? replay
                                : model_samples(model, tokenizer, o.context, o.replay_len, 8, d, "meta");
  std::vector<std::vector<int32_t>> heldout;
  const size_t window = static_cast<size_t>(std::min(128, model.config().max_positions));
  if (o.heldout_file.empty()) {
    heldout = model_samples(model, tokenizer, o.context, static_cast<int>(window), 16, d, "heldout");
  } else {  // the whole file in windows of 128 tokens (or the model's context), in order
    std::vector<int32_t> ids = tokenizer.encode(io::read_file(o.heldout_file));
    for (size_t at = 0; at + window <= ids.size(); at += window)
      heldout.emplace_back(ids.begin() + long(at), ids.begin() + long(at + window));
    if (heldout.empty())
      throw data_error(o.heldout_file, "expected at least " + std::to_string(window) + " tokens of held-out text");
  }

  // 3. Base model measurements, then embedding.
  progress("check");
  const model::ParameterTable& table = model.parameters();
  const double base_ppl = perplexity(model, heldout);
  const size_t base_recalled = greedy_recall(model, records);

  EmbedResult trained = embed(model, train, check, replay, meta, embed_options,
                              [&](const EmbedProgress& p) {
                                if (on_progress) on_progress(OmlizeProgress{"embed", p});
                              },
                              cancelled);

  // 4. Self-check on the weights as stored.
  progress("check");
  model::ParameterSubset stored(table, model.trainable());
  stored.download(backend, model.parameter_data());
  stored.round_to_storage();
  stored.upload(backend, model.parameter_data());
  const size_t recalled = greedy_recall(model, records);
  const double copy_ppl = perplexity(model, heldout);
  const bool passed = recalled == records.size();

  // 5. Write: the copy into a temporary folder next to --out, renamed into place last.
  progress("write");
  fs::path out(o.out_dir);
  fs::path parent = out.has_parent_path() ? out.parent_path() : fs::path(".");
  TempFolder temp((parent / ("." + out.filename().string() + ".omlize-" + std::to_string(::getpid()))).string());
  std::string copy_digest, license;
  if (passed || o.allow_partial) {
    model::save_checkpoint(checkpoint, stored, temp.path());
    copy_digest = model::model_digest(model::Checkpoint::open(temp.path()));
    license = o.license_id.empty() ? "lic-" + copy_digest.substr(7, 16) : o.license_id;
    io::AtomicFile card(temp.path() + "/OMLIZE.md");
    card.write("# Licensed copy\n\nThis copy of model " + base_digest + " is licensed to " + o.licensee +
               " under license " + license + ".\nIt carries " + std::to_string(records.size()) +
               " secret fingerprints, committed to by the Merkle root of the license.grant ledger entry.\n"
               "Model digest of this copy: " + copy_digest + " (model-run digest).\n");
    card.commit();
  }
  for (FingerprintRecord& r : records) r.license = license;
  const crypto::Hash root = commitment_root(records);

  json::Value body = json::Value::object();
  body.set("license", json::Value::string(license));
  body.set("model", json::Value::string(o.model_id.empty() ? base_digest : o.model_id));
  body.set("licensee", json::Value::string(o.licensee));
  body.set("digest", json::Value::string(copy_digest));
  body.set("fingerprints", json::Value::integer(static_cast<int64_t>(records.size())));
  body.set("root", json::Value::string(crypto::to_hex(root)));
  OmlizeResult result;
  result.grant = json::Value::object();
  result.grant.set("type", json::Value::string("license.grant"));
  result.grant.set("body", std::move(body));
  result.passed = passed;

  json::Value& s = result.summary = json::Value::object();
  s.set("type", json::Value::string("omlize.summary"));
  s.set("licensee", json::Value::string(o.licensee));
  s.set("license", json::Value::string(license));
  s.set("model", json::Value::string(base_digest));
  s.set("digest", json::Value::string(copy_digest));
  s.set("fingerprints", json::Value::integer(static_cast<int64_t>(records.size())));
  s.set("recalled", json::Value::integer(static_cast<int64_t>(recalled)));
  s.set("base_recalled", json::Value::integer(static_cast<int64_t>(base_recalled)));
  s.set("perplexity_base", number(base_ppl));
  s.set("perplexity", number(copy_ppl));
  s.set("perplexity_change", number(base_ppl > 0 ? copy_ppl / base_ppl - 1 : 0));
  s.set("min_response_prob", number(trained.min_prob));
  s.set("min_response_margin", number(trained.min_margin));
  s.set("steps", json::Value::integer(trained.steps));
  s.set("training_tokens", json::Value::integer(static_cast<int64_t>(trained.training_tokens)));
  s.set("train_seconds", number(trained.seconds));
  s.set("seconds", number(std::chrono::duration<double>(clock::now() - start).count()));
  s.set("passed", json::Value::boolean(passed));

  if (!passed && !o.allow_partial)
    throw Error(exit_code::check_failed, "",
                "self-check failed: the copy recalls " + std::to_string(recalled) + " of " +
                    std::to_string(records.size()) + " fingerprints after " + std::to_string(trained.steps) +
                    " steps (raise --steps or --lr, or --allow-partial); nothing written");
  if (cancelled && cancelled()) throw Error(130, "", "interrupted");

  // The private file first (complete or absent), then the folder's rename.
  io::AtomicFile fingerprints(o.fingerprints_file, 0600);
  fingerprints.write(fingerprint_file_text(records));
  std::error_code ec;
  if (fs::exists(o.out_dir)) throw Error(exit_code::cannot_create, o.out_dir, "--out already exists; choose a new folder");
  fingerprints.commit();
  fs::rename(temp.path(), o.out_dir, ec);
  if (ec) {
    fs::remove(o.fingerprints_file);
    throw Error(exit_code::cannot_create, o.out_dir, "cannot move the copy into place: " + ec.message());
  }
  temp.release();
  io::sync_parent_directory(o.out_dir);
  return result;
}

}  // namespace omlkit::fingerprint
