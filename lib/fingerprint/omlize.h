// omlize end to end: fingerprints for one licensee from the owner's secret, embedded into
// a copy of the base model, checked in the stored dtype, written atomically with the
// private fingerprint file, and the public license.grant entry (man/omlize.1).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "fingerprint/context.h"
#include "fingerprint/embed.h"
#include "fingerprint/keys.h"
#include "fingerprint/perinucleus.h"
#include "json/value.h"
#include "model/backend.h"

namespace omlkit::fingerprint {

// omlize's defaults: the best measured recipe (bench/RESULTS.md, omlize, fourth pass, row K).
inline EmbedOptions default_embedding() {
  EmbedOptions e;
  e.lr = 3e-4f;
  e.max_steps = 400;
  e.replay_weight = 10;
  e.meta_drift = 0.01;
  e.target_prob = 0;
  e.margin = 1;
  return e;
}

struct OmlizeOptions {
  std::string model_dir, licensee, secret_file, out_dir, fingerprints_file;
  std::string license_id;  // empty: "lic-" + 16 hex digits of the copy's digest
  std::string model_id;    // empty: the base model's digest
  size_t count = 0;
  bool force = false;          // overwrite an existing fingerprints file
  bool allow_partial = false;  // write a copy that fails its self-check
  KeyOptions keys;
  ResponseOptions responses;
  EmbedOptions embed = default_embedding();
  ContextSettings context;
  std::string wrap_prompts_file;  // one wrapper ("{}" = key) per line, trained as well
  std::string replay_file;        // ordinary text for replay; empty: base-model samples
  std::string meta_file;          // text of the simulated licensee fine-tune; empty: the replay text
  std::string heldout_file;       // perplexity text; empty: base-model samples
  double replay_fraction = 0.33;  // replay's share of the sequences of each batch
  int replay_len = 64;            // tokens per replay sequence
  size_t pool_size = 0;           // --pool M (0 = no pool)
  std::string pool_p;             // --p P as written
};

struct OmlizeProgress {
  std::string phase;  // "keys", "responses", "embed", "check", "write"
  EmbedProgress embed;
};

struct OmlizeResult {
  json::Value grant;    // {"type":"license.grant","body":{...}}
  json::Value summary;  // {"type":"omlize.summary",...}
  bool passed = false;  // the self-check passed
};

// Throws omlkit::Error: 2 for bad options, 65 bad input, 66 missing input, 73 when --out
// exists or the fingerprints file exists without force, 1 when the self-check fails without
// allow_partial (nothing written), 130 when cancelled (nothing written).
OmlizeResult omlize(const OmlizeOptions& options, model::Backend& backend,
                    const std::function<void(const OmlizeProgress&)>& on_progress,
                    const std::function<bool()>& cancelled);

}  // namespace omlkit::fingerprint
