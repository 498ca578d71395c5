// fingerprint-check's library entry points: the white-box check of a model folder, the
// probes for a deployment, the judgement of a deployment's answers, and the records
// (verdicts, evidence) they produce. The tool (tools/fingerprint-check.cpp) parses flags,
// opens models and streams, and prints what these return.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "fingerprint/fingerprint_set.h"
#include "fingerprint/query.h"
#include "fingerprint/verdict.h"
#include "json/value.h"
#include "model/tokenizer.h"
#include "model/transformer.h"

namespace omlkit::fingerprint {

struct CheckSettings {
  double alpha = 1e-6;         // decision level per licence
  double chance_beta = 0.05;   // the chance rate is the (1 - beta) upper confidence bound
  double perinucleus_k = 3;    // q = 1/k of the Hoeffding bound
  int batch = 32;              // queries per forward
};

// What came back for each unit (and each record) of a set.
struct Observation {
  std::vector<int64_t> unit_trials;   // queries (samples) answered per unit
  std::vector<int64_t> unit_hits;     // of them reproducing a response of the unit
  std::vector<bool> record_hit;       // a record's own response came back at least once
  std::vector<QueryResult> record_scores;  // white-box only: graded evidence per record
};

// Runs `model` on every record's (prompt ids, response ids) once (records sharing a
// prompt and response are queried once). With `sampling`, each result's
// sampled_probability is filled in too.
std::vector<QueryResult> score_records(model::Transformer& model, const FingerprintSet& set, int batch,
                                       const std::optional<model::SamplingOptions>& sampling = std::nullopt);

// White-box observation: a unit is hit when greedy decoding reproduces any of its responses.
Observation observe(const FingerprintSet& set, std::vector<QueryResult> scores);

// The chance rate of one unit on the base model. From the base model's scores: greedy hits,
// or with sampling, the expected number of sampled hits (the sum of the units' sampled
// probabilities). From the records alone (no base model at hand): units whose response's
// first token was the base model's argmax when omlize made them (exact for one-token
// responses, an over-count, so still an upper bound, for longer ones).
ChanceRate chance_from_base(const FingerprintSet& set, const std::vector<QueryResult>& base_scores, bool sampled,
                            double beta, double floor);
ChanceRate chance_from_records(const FingerprintSet& set, double beta, double floor);

// One verdict per licence of the set, in set.licences order.
std::vector<Verdict> decide(const FingerprintSet& set, const Observation& seen, const ChanceRate& chance,
                            const CheckSettings& settings);

// The `verdict` record of one licence.
json::Value verdict_record(const FingerprintSet& set, size_t licence, const Verdict& verdict, const Observation& seen,
                           const ChanceRate& chance, const std::string& chance_source, const CheckSettings& settings,
                           const std::string& suspect);

// One private line per record of a white-box check: {"license","index","hit","rank",
// "logprob","top_prob"} (rank, log-probability and top next-token probability at the first
// response position), for studying attacks such as a confidence gate.
json::Value detail_record(const FingerprintSet& set, size_t record, const Observation& seen);

// ---- Black box ----
struct ProbeLine {
  std::string id;
  std::string prompt;  // the exact prompt text (context.h prompt_text)
  int max_tokens = 1;
};
// `samples` probes per unit, shuffled with `rng` across licences.
std::vector<ProbeLine> make_probes(const FingerprintSet& set, int samples, std::mt19937_64& rng);

struct Answer {
  std::string id;
  std::string output;
  std::string where;  // file:line, for errors
};
// Reads the deployment's answers against the probes of `samples` per unit. Throws 65 for
// an id that is no probe of these files or an id answered twice.
Observation judge_answers(const FingerprintSet& set, const model::Tokenizer& tokenizer, const std::vector<Answer>& answers,
                  int samples);
// True when the deployment's output reproduces `response_ids`: its tokenization starts with
// them, or the output is exactly the response's text.
bool output_matches(const model::Tokenizer& tokenizer, const std::string& output, const std::vector<int32_t>& response_ids,
                    const std::string& response_text);

// ---- Evidence ----
struct SlashProposal {
  std::string to;      // account paid from the collateral
  std::string asset;
  std::string amount;  // decimal base units
};
// The fingerprint.proof entry of a detected licence (its reproduced fingerprints, revealed,
// each with its inclusion proof) and, when `slash` is given, the slash entry that cites it;
// both as {"type":..., "body":...} lines for ledger-append.
std::vector<json::Value> evidence_entries(const FingerprintSet& set, size_t licence, const Verdict& verdict,
                                          const Observation& seen, const std::string& suspect,
                                          const std::optional<SlashProposal>& slash);

}  // namespace omlkit::fingerprint
