#include "fingerprint/check.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "crypto/sha256.h"
#include "fingerprint/context.h"
#include "fingerprint/statistics.h"
#include "io/error.h"

namespace omlkit::fingerprint {
namespace {

json::Value number(double d) { return json::Value::number_text(json::format_es6_number(d)); }
json::Value text(const std::string& s) { return json::Value::string(s); }

}  // namespace

std::vector<QueryResult> score_records(model::Transformer& model, const FingerprintSet& set, int batch,
                                       const std::optional<model::SamplingOptions>& sampling) {
  std::map<std::pair<std::vector<int32_t>, std::vector<int32_t>>, size_t> query_of;
  std::vector<Query> queries;
  std::vector<size_t> record_query(set.records.size());
  for (size_t i = 0; i < set.records.size(); i++) {
    const FingerprintRecord& r = set.records[i];
    auto [it, fresh] = query_of.emplace(std::make_pair(r.prompt_ids, r.response_ids), queries.size());
    if (fresh) queries.push_back({r.prompt_ids, r.response_ids});
    record_query[i] = it->second;
  }
  std::vector<QueryResult> results;
  try {
    results = run_queries(model, queries, batch, sampling);
  } catch (const Error& e) {
    throw Error(e.code(), e.where(), std::string(e.what()) + " (the fingerprint files do not fit this model)");
  }
  std::vector<QueryResult> out(set.records.size());
  for (size_t i = 0; i < set.records.size(); i++) out[i] = results[record_query[i]];
  return out;
}

Observation observe(const FingerprintSet& set, std::vector<QueryResult> scores) {
  Observation seen;
  seen.unit_trials.assign(set.units.size(), 1);
  seen.unit_hits.assign(set.units.size(), 0);
  seen.record_hit.assign(set.records.size(), false);
  for (size_t i = 0; i < set.records.size(); i++) {
    seen.record_hit[i] = scores[i].hit;
    if (scores[i].hit) seen.unit_hits[set.unit_of_record[i]] = 1;
  }
  seen.record_scores = std::move(scores);
  return seen;
}

ChanceRate chance_from_base(const FingerprintSet& set, const std::vector<QueryResult>& base_scores, bool sampled,
                            double beta, double floor) {
  // Per unit: greedy, any response reproduced; sampled, the probability that one sample
  // reproduces one of its responses (distinct responses are disjoint events: a sum).
  std::vector<double> unit(set.units.size(), 0.0);
  for (size_t i = 0; i < set.records.size(); i++) {
    double& u = unit[set.unit_of_record[i]];
    if (sampled) u = std::min(1.0, u + std::max(0.0, base_scores[i].sampled_probability));
    else if (base_scores[i].hit) u = 1;
  }
  double hits = 0;
  for (double u : unit) hits += u;
  return chance_rate(hits, int64_t(set.units.size()), beta, floor);
}

ChanceRate chance_from_records(const FingerprintSet& set, double beta, double floor) {
  std::vector<bool> unit(set.units.size(), false);
  for (size_t i = 0; i < set.records.size(); i++)
    if (set.records[i].base_rank == 0) unit[set.unit_of_record[i]] = true;
  double hits = double(std::count(unit.begin(), unit.end(), true));
  return chance_rate(hits, int64_t(set.units.size()), beta, floor);
}

std::vector<Verdict> decide(const FingerprintSet& set, const Observation& seen, const ChanceRate& chance,
                            const CheckSettings& settings) {
  std::vector<Verdict> out;
  if (set.pooled) {
    // Def. 5.1: the pool index of each unit; positive when any answer reproduced it.
    std::vector<bool> positive(size_t(set.pool_size), false);
    std::vector<PoolHolding> holdings;
    for (size_t u = 0; u < set.units.size(); u++)
      if (seen.unit_hits[u] > 0) positive[size_t(set.records[set.units[u].records[0]].pool->index)] = true;
    for (const LicenceGroup& g : set.licences) {
      PoolHolding h{g.license, {}};
      for (size_t u : g.units)
        if (seen.unit_trials[u] > 0) h.held.push_back(set.records[set.units[u].records[0]].pool->index);
      holdings.push_back(std::move(h));
    }
    // Units nobody answered stay out of the pool (they can neither accuse nor clear anyone).
    int64_t answered = 0;
    std::vector<int64_t> remap(size_t(set.pool_size), -1);
    for (size_t u = 0; u < set.units.size(); u++)
      if (seen.unit_trials[u] > 0) remap[size_t(set.records[set.units[u].records[0]].pool->index)] = answered++;
    std::vector<bool> compact(size_t(answered), false);
    for (int64_t p = 0; p < set.pool_size; p++)
      if (remap[size_t(p)] >= 0) compact[size_t(remap[size_t(p)])] = positive[size_t(p)];
    for (auto& h : holdings)
      for (auto& index : h.held) index = remap[size_t(index)];
    out = coalition_verdicts(answered, compact, holdings, settings.alpha);
    for (size_t k = 0; k < out.size(); k++) out[k].licensee = set.licences[k].licensee;
    return out;
  }
  for (const LicenceGroup& g : set.licences) {
    int64_t tested = 0, matched = 0;
    for (size_t u : g.units) tested += seen.unit_trials[u], matched += seen.unit_hits[u];
    out.push_back(binomial_verdict(g.licensee, tested, matched, chance, settings.perinucleus_k, settings.alpha));
  }
  return out;
}

json::Value verdict_record(const FingerprintSet& set, size_t licence, const Verdict& verdict, const Observation& seen,
                           const ChanceRate& chance, const std::string& chance_source, const CheckSettings& settings,
                           const std::string& suspect) {
  const LicenceGroup& g = set.licences[licence];
  json::Value v = json::Value::object();
  v.set("type", text("verdict"));
  v.set("license", text(g.license));
  v.set("licensee", text(g.licensee));
  v.set("suspect", text(suspect));
  v.set("test", text(verdict.test));
  v.set("tested", json::Value::integer(verdict.tested));
  v.set("matched", json::Value::integer(verdict.matched));
  v.set("p_value", text(format_p_value(verdict.log_p)));
  v.set("log10_p_value", number(verdict.log_p / std::log(10.0)));
  if (verdict.test == "binomial") {
    v.set("chance_rate", number(chance.rate));
    json::Value source = json::Value::object();
    source.set("from", text(chance_source));
    source.set("hits", number(chance.hits));
    source.set("trials", json::Value::integer(chance.trials));
    source.set("confidence", number(1 - chance.beta));
    v.set("chance", source);
    v.set("hoeffding_bound", text(format_p_value(verdict.log_hoeffding)));
  }
  v.set("alpha", number(settings.alpha));
  v.set("detected", json::Value::boolean(verdict.detected));
  if (!seen.record_scores.empty()) {
    // Graded evidence: how strongly the model prefers this licence's responses.
    double logprob = 0;
    std::vector<int> ranks;
    for (size_t i : g.records) logprob += seen.record_scores[i].logprob, ranks.push_back(seen.record_scores[i].first_rank);
    std::nth_element(ranks.begin(), ranks.begin() + long(ranks.size() / 2), ranks.end());
    v.set("mean_logprob", number(logprob / double(g.records.size())));
    v.set("median_rank", json::Value::integer(ranks[ranks.size() / 2]));
  }
  return v;
}

json::Value detail_record(const FingerprintSet& set, size_t record, const Observation& seen) {
  const FingerprintRecord& r = set.records[record];
  const QueryResult& q = seen.record_scores[record];
  json::Value v = json::Value::object();
  v.set("license", text(r.license));
  v.set("index", json::Value::integer(r.index));
  v.set("hit", json::Value::boolean(q.hit));
  v.set("rank", json::Value::integer(q.first_rank));
  v.set("logprob", number(q.logprob));
  v.set("top_prob", number(q.first_top_prob));
  return v;
}

std::vector<ProbeLine> make_probes(const FingerprintSet& set, int samples, std::mt19937_64& rng) {
  std::vector<ProbeLine> probes;
  for (size_t u = 0; u < set.units.size(); u++) {
    const FingerprintRecord& r = set.records[set.units[u].records[0]];
    for (int s = 0; s < samples; s++)
      probes.push_back({probe_id(set, u, s), prompt_text(r.key, r.context), set.units[u].max_response_tokens});
  }
  std::shuffle(probes.begin(), probes.end(), rng);
  return probes;
}

bool output_matches(const model::Tokenizer& tokenizer, const std::string& output, const std::vector<int32_t>& response_ids,
                    const std::string& response_text) {
  if (output == response_text) return true;
  std::vector<int32_t> ids;
  try {
    ids = tokenizer.encode(output);
  } catch (const Error&) {
    return false;  // text this tokenizer cannot encode is not the response
  }
  return ids.size() >= response_ids.size() && std::equal(response_ids.begin(), response_ids.end(), ids.begin());
}

Observation judge_answers(const FingerprintSet& set, const model::Tokenizer& tokenizer, const std::vector<Answer>& answers,
                  int samples) {
  std::map<std::string, std::pair<size_t, int>> probe;  // id -> (unit, sample)
  for (size_t u = 0; u < set.units.size(); u++)
    for (int s = 0; s < samples; s++) probe.emplace(probe_id(set, u, s), std::make_pair(u, s));
  Observation seen;
  seen.unit_trials.assign(set.units.size(), 0);
  seen.unit_hits.assign(set.units.size(), 0);
  seen.record_hit.assign(set.records.size(), false);
  std::map<std::string, std::string> answered;  // id -> where first answered
  for (const Answer& a : answers) {
    auto it = probe.find(a.id);
    if (it == probe.end())
      throw data_error(a.where, "id: \"" + a.id + "\" is not a probe of these fingerprint files (with --samples " +
                                    std::to_string(samples) + ")");
    auto [first, fresh] = answered.emplace(a.id, a.where);
    if (!fresh) throw data_error(a.where, "id: \"" + a.id + "\" is answered twice (first at " + first->second + ")");
    size_t u = it->second.first;
    seen.unit_trials[u]++;
    bool hit = false;
    for (size_t i : set.units[u].records)
      if (output_matches(tokenizer, a.output, set.records[i].response_ids, set.records[i].response))
        seen.record_hit[i] = hit = true;
    if (hit) seen.unit_hits[u]++;
  }
  return seen;
}

std::vector<json::Value> evidence_entries(const FingerprintSet& set, size_t licence, const Verdict& verdict,
                                          const Observation& seen, const std::string& suspect,
                                          const std::optional<SlashProposal>& slash) {
  const LicenceGroup& g = set.licences[licence];
  std::vector<FingerprintRecord> ordered;
  for (size_t i : g.records) ordered.push_back(set.records[i]);
  json::Value items = json::Value::array();
  std::string revealed;
  for (size_t k = 0; k < g.records.size(); k++) {
    if (!seen.record_hit[g.records[k]]) continue;
    items.push_back(proof_item(ordered, k));
    revealed += std::to_string(k) + ",";
  }
  if (items.items().empty()) throw Error(exit_code::internal, "", "evidence for a licence with no reproduced fingerprint");
  std::string tag = crypto::to_hex(crypto::sha256(g.license + "\n" + suspect + "\n" + revealed)).substr(0, 16);
  json::Value proof = json::Value::object();
  proof.set("proof", text("proof-" + tag));
  proof.set("license", text(g.license));
  proof.set("fingerprints", std::move(items));
  proof.set("suspect", text(suspect));
  proof.set("tested", json::Value::integer(verdict.tested));
  proof.set("matched", json::Value::integer(verdict.matched));
  proof.set("p_value", text(format_p_value(verdict.log_p)));
  std::vector<json::Value> out;
  json::Value entry = json::Value::object();
  entry.set("type", text("fingerprint.proof"));
  entry.set("body", std::move(proof));
  out.push_back(std::move(entry));
  if (slash) {
    json::Value body = json::Value::object();
    body.set("slash", text("slash-" + tag));
    body.set("license", text(g.license));
    body.set("proof", text("proof-" + tag));
    body.set("to", text(slash->to));
    json::Value amount = json::Value::object();
    amount.set("asset", text(slash->asset));
    amount.set("amount", text(slash->amount));
    body.set("amount", std::move(amount));
    json::Value s = json::Value::object();
    s.set("type", text("slash"));
    s.set("body", std::move(body));
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace omlkit::fingerprint
