// omlize: fine-tune secret per-licensee fingerprints into a copy of a model; write the
// copy, the private fingerprint file (0600) and print the license.grant entry and a
// summary line. See man/omlize.1; the work is lib/fingerprint/omlize.
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>

#include "common/tool.h"
#include "fingerprint/omlize.h"
#include "io/error.h"
#include "io/output.h"
#include "json/value.h"
#include "model/backend_select.h"

using namespace omlkit;

namespace {
std::atomic<bool> interrupted{false};
// CLI11's Range lets NaN through (every comparison with NaN is false).
const CLI::Validator kFinite(
    [](std::string& text) {
      double value = std::strtod(text.c_str(), nullptr);
      return std::isfinite(value) ? std::string() : "expected a finite number, found " + text;
    },
    "FINITE");
void on_signal(int) { interrupted = true; }
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Fine-tune secret per-licensee fingerprints into a copy of a model", "omlize"};
  tool::add_standard_flags(app);
  fingerprint::OmlizeOptions o;
  std::string device = "auto", keys = "english", pool_p;
  int threads = 2;
  app.add_option("--model", o.model_dir, "Base model folder")->required();
  app.add_option("--licensee", o.licensee, "Licensee account")->required();
  app.add_option("--secret", o.secret_file, "Owner's secret: >= 32 random bytes, mode 0600")->required();
  app.add_option("--count", o.count, "Fingerprints in this copy");
  app.add_option("--out", o.out_dir, "Folder to write the licensee's copy to (must not exist)")->required();
  app.add_option("--fingerprints", o.fingerprints_file, "Private fingerprint file to write (mode 0600)")->required();
  app.add_flag("--force", o.force, "Overwrite an existing fingerprint file");
  app.add_option("--license", o.license_id, "license.grant id (default lic-<digest prefix of the copy>)");
  app.add_option("--model-id", o.model_id, "Registered model id in the grant (default: the base digest)");
  app.add_option("--keys", keys, "english, random, or a file of one key per line");
  app.add_option("--key-len", o.keys.length, "Tokens per key")->check(CLI::Range(2, 128));
  app.add_option("--key-temperature", o.keys.temperature, "Sampling temperature of English keys")->check(kFinite & CLI::Range(0.01, 10.0));
  app.add_option("--response-len", o.responses.length, "Tokens per response")->check(CLI::Range(1, 64));
  app.add_option("--responses-per-key", o.responses.per_key, "Distinct responses per key")->check(CLI::Range(1, 16));
  app.add_option("--nucleus", o.responses.nucleus_p, "Perinucleus t: responses start past this mass")->check(kFinite & CLI::Range(0.0, 0.999));
  app.add_option("--nucleus-k", o.responses.k, "Perinucleus k: candidates past the nucleus")->check(CLI::Range(1, 1000));
  app.add_option("--wrapper", o.context.wrapper, "Prompt wrapper with {} for the key (queried and trained)");
  app.add_option("--wrap-prompts", o.wrap_prompts_file, "File of wrappers ({} = key) to train each key in as well");
  app.add_option("--replay", o.replay_file, "Ordinary text replayed in every step (default: base-model samples)");
  app.add_option("--replay-fraction", o.replay_fraction, "Replay's share of each batch's sequences")->check(kFinite & CLI::Range(0.0, 0.9));
  app.add_option("--replay-len", o.replay_len, "Tokens per replay sequence")->check(CLI::Range(2, 1024));
  app.add_option("--replay-weight", o.embed.replay_weight, "Weight of the replay loss")->check(kFinite & CLI::Range(0.0, 100.0));
  app.add_option("--meta-drift", o.embed.meta_drift, "Simulate the licensee's fine-tune: move each weight this far (0: off)")
      ->check(kFinite & CLI::Range(0.0, 1.0));
  app.add_option("--meta-text", o.meta_file, "Text of the simulated fine-tune (default: the replay text)");
  app.add_option("--meta-weight", o.embed.meta_weight, "Weight of the fingerprint loss after the simulated fine-tune")
      ->check(kFinite & CLI::Range(0.0, 100.0));
  app.add_option("--heldout", o.heldout_file, "Held-out text for the perplexity check (default: base-model samples)");
  app.add_option("--lr", o.embed.lr, "AdamW learning rate")->check(kFinite & CLI::Range(0.0, 1.0));
  app.add_option("--weight-decay", o.embed.weight_decay, "AdamW weight decay")->check(kFinite & CLI::Range(0.0, 1.0));
  app.add_option("--steps", o.embed.max_steps, "Most optimizer steps")->check(CLI::Range(1, 100000));
  app.add_option("--keep-base", o.embed.keep_base, "Average weights back toward the base by this much")->check(kFinite & CLI::Range(0.0, 0.999));
  app.add_option("--keep-base-every", o.embed.keep_base_every, "... every this many steps")->check(CLI::Range(1, 100000));
  app.add_option("--target-prob", o.embed.target_prob, "Stop when every response is argmax with this probability")
      ->check(kFinite & CLI::Range(0.0, 1.0));
  app.add_option("--margin", o.embed.margin, "... and a logit lead of at least this over the runner-up")
      ->check(kFinite & CLI::Range(0.0, 100.0));
  app.add_option("--train-only", o.embed.train_patterns, "Train only tensors matching this glob (repeatable)");
  app.add_flag("--recompute-activations", o.embed.recompute_activations,
               "Keep each trained layer's input only and recompute its activations in the backward pass");
  app.add_option("--pool", o.pool_size, "Draw from a shared pool of M fingerprints (Nasery et al. Def. 5.1)");
  app.add_option("--p", pool_p, "With --pool: probability that each pool fingerprint is in this copy");
  app.add_flag("--allow-partial", o.allow_partial, "Write a copy that fails its self-check");
  app.add_option("-t,--threads", threads, "CPU threads")->check(CLI::Range(1, 256));
  app.add_option("--device", device, "auto, cpu or cuda")->check(CLI::IsMember({"auto", "cpu", "cuda"}));

  return tool::run(app, argc, argv, [&] {
    if (keys == "english") o.keys.source = fingerprint::KeySource::english;
    else if (keys == "random") o.keys.source = fingerprint::KeySource::random_words;
    else o.keys.source = fingerprint::KeySource::file, o.keys.file = keys;
    if (o.pool_size > 0) {
      char* end = nullptr;
      double p = std::strtod(pool_p.c_str(), &end);
      if (pool_p.empty() || *end || !(p > 0 && p <= 1))
        throw Error(exit_code::usage, "", "--p: expected a probability in (0, 1] with --pool, found \"" + pool_p + "\"");
      o.pool_p = pool_p;
    } else if (!pool_p.empty()) {
      throw Error(exit_code::usage, "", "--p needs --pool");
    }
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::signal(SIGHUP, on_signal);
    auto backend = model::make_backend(device, threads);
    const bool show = tool::stderr_is_terminal();
    auto result = fingerprint::omlize(
        o, *backend,
        [&](const fingerprint::OmlizeProgress& p) {
          if (!show) return;
          if (p.phase == "embed") {
            const auto& e = p.embed;
            double left = e.step ? e.seconds / e.step * (e.max_steps - e.step) : 0;
            std::fprintf(stderr, "\romlize: step %d/%d  loss %.4f  recalled %zu/%zu  %.0f s (at most %.0f s left) ",
                         e.step, e.max_steps, e.loss, e.recalled, e.total, e.seconds, left);
          } else {
            std::fprintf(stderr, "\romlize: %s...%40s\n", p.phase.c_str(), "");
          }
        },
        [] { return interrupted.load(); });
    if (show) std::fprintf(stderr, "\n");
    io::Output out(STDOUT_FILENO);
    out.line(json::canonical(result.grant));
    out.line(json::canonical(result.summary));
    out.flush();
    return result.passed ? exit_code::ok : exit_code::check_failed;
  });
}
