// fingerprint-check: whose copy is this? White-box on a model folder, or black-box through
// probes and a deployment's answers; one verdict line per licence; see
// man/fingerprint-check.1. The logic is lib/fingerprint (check.h).
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "common/tool.h"
#include "crypto/signed_note.h"
#include "fingerprint/audit.h"
#include "fingerprint/check.h"
#include "io/error.h"
#include "io/line_reader.h"
#include "io/output.h"
#include "json/value.h"
#include "model/backend_select.h"
#include "model/checkpoint.h"
#include "model/digest.h"
#include "ledger/trust.h"

using namespace omlkit;
using namespace omlkit::fingerprint;

namespace {

struct LoadedModel {
  std::unique_ptr<model::Backend> backend;
  model::Checkpoint checkpoint;
  model::Transformer transformer;
  LoadedModel(const std::string& dir, const std::string& device, int threads)
      : backend(model::make_backend(device, threads)), checkpoint(model::Checkpoint::open(dir)),
        transformer(checkpoint, *backend) {}
};

std::optional<model::Tokenizer> tokenizer_in(const std::string& dir) {
  if (dir.empty() || !std::filesystem::exists(dir + "/tokenizer.json")) return std::nullopt;
  return model::Tokenizer::from_file(dir + "/tokenizer.json");
}

std::vector<Answer> read_answers(const std::vector<std::string>& inputs) {
  std::vector<Answer> answers;
  for (const auto& input : inputs) {
    io::LineReader reader(input, tool::max_line_bytes());
    std::string_view line;
    json::Value v;
    while (reader.next(&line)) {
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      json::parse_into(line, v, reader.where());
      const json::Value *type = v.find("type"), *id = v.find("id"), *output = v.find("output");
      if (!type || !type->is_string() || type->text() != "answer")
        throw data_error(reader.where(), "expected a record of type \"answer\"");
      if (!id || !id->is_string()) throw data_error(reader.where(), "id: expected a string");
      if (!output || !output->is_string()) throw data_error(reader.where(), "output: expected a string");
      answers.push_back({id->text(), output->text(), reader.where()});
    }
  }
  return answers;
}

// --node-key: the verifier key string ("name+keyid+base64", as ledger-append --print-key
// prints it), or a file whose first line is one.
crypto::PublicKey node_public_key(const std::string& given) {
  std::string text = given;
  if (std::filesystem::is_regular_file(given)) {
    text = io::read_file(given);
    text = text.substr(0, text.find('\n'));
  }
  std::optional<crypto::NoteVerifier> v = crypto::parse_verifier_key(text);
  if (!v) throw Error(exit_code::usage, "", "--node-key: expected a verifier key (ledger-append --print-key) or a file holding one");
  return v->key;
}

struct AuditFlags {
  std::vector<std::string> answers;
  std::string ledger, trust, node_key, window = "24h", at;
};

// The evidence entries, ready for ledger-append; they reveal fingerprint keys, so the file
// is private (0600) until appended, and written whole or not at all.
void write_evidence(const std::string& path, const std::vector<json::Value>& entries) {
  io::AtomicFile file(path, 0600);
  std::string text;
  for (const auto& e : entries) text += json::canonical(e) + "\n";
  file.write(text);
  file.commit();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Tell whose fingerprinted copy a model or a deployment is", "fingerprint-check"};
  tool::add_standard_flags(app);
  app.require_subcommand(0, 1);
  std::vector<std::string> files, expect, inputs;
  std::string model_dir, base_dir, device = "auto", evidence, tokenizer_dir;
  CheckSettings settings;
  bool forbid_any = false;
  int threads = 2, samples = 1;
  uint64_t seed = 0;
  model::SamplingOptions sampling;
  SlashProposal slash;
  auto* probe = app.add_subcommand("probe", "Write probe lines for a deployment, shuffled across licensees");
  auto* judge = app.add_subcommand("judge", "Read a deployment's answer lines and write verdicts");
  auto* audit = app.add_subcommand("audit", "Check on the ledger that a licensee's deployment paid for every probe it answered");
  AuditFlags af;
  audit->add_option("--answers", af.answers, "Answer lines with the deployment's response ids and the time sent")->required();
  audit->add_option("--ledger", af.ledger, "The ledger (read as ledger-verify reads it: signed entries only)")->required();
  audit->add_option("--trust", af.trust, "Trust file: the keys whose checkpoints the ledger is read under");
  audit->add_option("--node-key", af.node_key, "The serving node's verifier key (or a file with it): checks the receipts")->required();
  audit->add_option("--window", af.window, "A call must be on the ledger this long after it was sent: 90s, 30m, 24h, 7d");
  audit->add_option("--at", af.at, "The audit's time, YYYY-MM-DDTHH:MM:SS.mmmZ (default: now)");
  audit->add_option("--tokenizer", tokenizer_dir, "Folder whose tokenizer.json reads the answers (default: --base)");
  audit->add_option("--samples", samples, "Probes per key (when the endpoint samples)")->check(CLI::Range(1, 10000));
  auto decision_flags = [&](CLI::App* a) {
    a->add_option("--alpha", settings.alpha, "Decision level per licence (default 1e-6)")->check(CLI::Range(1e-300, 0.5));
    a->add_option("--chance-confidence", settings.chance_beta, "1 - confidence of the chance-rate bound (default 0.05)")
        ->check(CLI::Range(1e-12, 0.5));
    a->add_option("--expect", expect, "Exit 1 unless this licensee (or license id) is detected; repeatable");
    a->add_flag("--forbid-any", forbid_any, "Exit 1 if any licensee is detected");
    a->add_option("--evidence", evidence, "Write fingerprint.proof (and slash) entries for detected licences here");
    a->add_option("--slash-to", slash.to, "With --evidence: propose a slash of the collateral to this account");
    a->add_option("--slash-amount", slash.amount, "Amount of the slash, decimal base units");
    a->add_option("--slash-asset", slash.asset, "Asset of the slash");
    a->add_option("--base", base_dir, "The base model folder: measure the chance rate on it now");
    a->add_option("--device", device, "auto, cpu or cuda")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
    a->add_option("-t,--threads", threads, "CPU threads")->check(CLI::Range(1, 256));
    a->add_option("-b,--batch", settings.batch, "Fingerprints per forward")->check(CLI::Range(1, 4096));
  };
  for (auto* a : {&app, probe, judge, audit}) a->add_option("-f,--fingerprints", files, "Private fingerprint files (mode 0600)");
  for (auto* a : {&app, judge, audit}) decision_flags(a);
  for (auto* a : {probe, judge}) a->add_option("--samples", samples, "Probes per key (when the endpoint samples)")->check(CLI::Range(1, 10000));
  app.add_option("-m,--model", model_dir, "The model folder to check");
  std::string details;
  app.add_option("--details", details, "Write one private line per fingerprint (hit, rank, log-probability) here");
  probe->add_option("--seed", seed, "Seed of the shuffle (default: random)");
  judge->add_option("inputs", inputs, "Answer lines (- = stdin)");
  judge->add_option("--tokenizer", tokenizer_dir, "Folder whose tokenizer.json reads the answers (default: --base)");
  judge->add_option("--temperature", sampling.temperature, "The endpoint's sampling temperature (0 = greedy)")->check(CLI::Range(0.0, 2.0));
  judge->add_option("--top-p", sampling.top_p, "The endpoint's top-p")->check(CLI::Range(0.0, 1.0));

  return tool::run(app, argc, argv, [&] {
    if (files.empty()) throw Error(exit_code::usage, "", "--fingerprints is required: the private files to check against");
    if (!*probe && !*judge && !*audit && model_dir.empty()) throw Error(exit_code::usage, "", "--model is required (or use probe / judge)");
    if (!slash.to.empty() && (slash.amount.empty() || slash.asset.empty() || evidence.empty()))
      throw Error(exit_code::usage, "", "--slash-to needs --slash-amount, --slash-asset and --evidence");
    FingerprintSet set = load_fingerprint_set(files);
    io::Output out(STDOUT_FILENO);
    if (*probe) {
      std::mt19937_64 rng(probe->count("--seed") ? seed : std::random_device{}());
      for (const ProbeLine& p : make_probes(set, samples, rng))
        out.line(nlohmann::json{{"type", "probe"}, {"id", p.id}, {"prompt", p.prompt}, {"max_tokens", p.max_tokens}}.dump());
      out.flush();
      return exit_code::ok;
    }
    for (const auto& e : expect) {
      bool known = false;
      for (const auto& g : set.licences) known = known || g.licensee == e || g.license == e;
      if (!known) throw Error(exit_code::usage, "", "--expect " + e + ": no licence of the fingerprint files names it");
    }
    std::optional<LoadedModel> base;
    if (!base_dir.empty()) {
      base.emplace(base_dir, device, threads);
      std::string digest = model::model_digest(base->checkpoint);
      if (digest != set.base_digest)
        throw data_error(set.licences[0].file, "made for base model " + set.base_digest + ", but --base " + base_dir +
                                                   " is " + digest + ": these are not its fingerprints");
    }
    const bool sampled = *judge && sampling.temperature > 0;
    AuditSettings audit_settings;
    std::vector<AuditAnswer> audit_answers_read;
    if (*audit) {
      audit_settings.node_key = node_public_key(af.node_key);
      std::optional<int64_t> window = parse_duration_ms(af.window);
      if (!window) throw Error(exit_code::usage, "", "--window: expected 90s, 30m, 24h, 7d or seconds, found \"" + af.window + "\"");
      audit_settings.window_ms = *window;
      audit_settings.at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch()).count();
      if (!af.at.empty()) {
        std::optional<int64_t> at = parse_timestamp_ms(af.at);
        if (!at) throw Error(exit_code::usage, "", "--at: expected YYYY-MM-DDTHH:MM:SS.mmmZ, found \"" + af.at + "\"");
        audit_settings.at_ms = *at;
      }
      audit_answers_read = read_audit_answers(af.answers, tool::max_line_bytes());
    }
    if (sampled && !base) throw Error(exit_code::usage, "", "judge --temperature > 0 needs --base to measure the chance rate under sampling");
    Observation seen;
    std::string suspect;
    std::optional<model::Tokenizer> tokenizer;
    std::vector<AuditAnswer> served, forged;
    if (*judge || *audit) {
      tokenizer = tokenizer_in(tokenizer_dir.empty() ? base_dir : tokenizer_dir);
      if (!tokenizer) throw Error(exit_code::usage, "", "judge needs --tokenizer DIR or --base DIR with a tokenizer.json");
      check_against_tokenizer(set, *tokenizer, tokenizer_dir.empty() ? base_dir : tokenizer_dir);
      if (*audit) {
        // Answers whose receipts do not verify were never served: they are not evidence.
        split_by_receipt(set, samples, audit_answers_read, audit_settings.node_key, served, forged);
        for (const AuditAnswer& a : forged)
          tool::warn(a.where, "response " + a.response.substr(0, 40) +
                                  ": not a receipt of this node for this probe and output (never served, altered, "
                                  "or used twice): not evidence");
        std::vector<Answer> judged;
        for (const AuditAnswer& a : served) judged.push_back({a.probe, a.output, a.where});
        seen = judge_answers(set, *tokenizer, judged, samples);
        suspect = "answers:" + af.answers[0];
      } else {
        if (inputs.empty()) inputs.push_back("-");
        seen = judge_answers(set, *tokenizer, read_answers(inputs), samples);
        suspect = "answers:" + inputs[0];
      }
    } else {
      LoadedModel suspect_model(model_dir, device, threads);
      if ((tokenizer = tokenizer_in(model_dir))) check_against_tokenizer(set, *tokenizer, model_dir + "/tokenizer.json");
      seen = observe(set, score_records(suspect_model.transformer, set, settings.batch));
      suspect = model::model_digest(suspect_model.checkpoint);
      if (!details.empty()) {
        io::AtomicFile file(details, 0600);
        for (size_t i = 0; i < set.records.size(); i++) file.write(json::canonical(detail_record(set, i, seen)) + "\n");
        file.commit();
      }
    }
    const double floor = 1.0 / double(base ? base->transformer.config().vocab_size : 1 << 20);
    ChanceRate chance = base ? chance_from_base(set, score_records(base->transformer, set, settings.batch,
                                                                   sampled ? std::optional(sampling) : std::nullopt),
                                                sampled, settings.chance_beta, floor)
                             : chance_from_records(set, settings.chance_beta, floor);
    std::string source = base ? (sampled ? "base model, sampled" : "base model, greedy") : "fingerprint records";
    auto verdicts = decide(set, seen, chance, settings);
    if (*audit) {
      ledger::TrustFile trust;
      if (!af.trust.empty()) trust = ledger::load_trust_file(af.trust);
      else tool::warn(af.ledger, "no --trust file: checkpoint signatures are checked against the genesis key only");
      LedgerCalls ledger_calls = read_ledger_calls(af.ledger, af.trust.empty() ? nullptr : &trust);
      std::vector<bool> detected;
      for (const auto& v : verdicts) detected.push_back(v.detected);
      AuditResult result = audit_answers(set, samples, audit_answers_read, detected, ledger_calls, audit_settings);
      std::vector<json::Value> entries;
      bool evaded = false;
      for (const LicenceAudit& a : result.licences) {
        std::optional<std::string> proof_id, slash_id;
        if (!a.unrecorded.empty()) {
          evaded = true;
          if (!evidence.empty()) {
            auto made = evidence_entries(set, a.licence, verdicts[a.licence], seen, suspect,
                                         slash.to.empty() ? std::nullopt : std::optional(slash));
            proof_id = made[0].find("body")->find("proof")->text();
            if (made.size() > 1) {
              json::Value* body = made[1].find("body");
              slash_id = body->find("slash")->text();
              body->set("reason", json::Value::string(
                  "evaded usage: " + std::to_string(a.unrecorded.size()) + " of " + std::to_string(result.served.size()) +
                  " answered probes have no inference.fee on model " + a.model + " within " + af.window));
              json::Value& calls = body->set("calls", json::Value::array());
              for (const auto& c : a.unrecorded) calls.push_back(json::Value::string(c.call));
            }
            for (auto& e : made) entries.push_back(std::move(e));
          }
        }
        out.line(json::canonical(audit_record(set, a, verdicts[a.licence], result, ledger_calls, audit_settings,
                                              proof_id, slash_id)));
      }
      out.flush();
      if (!evidence.empty()) write_evidence(evidence, entries);
      if (evaded) tool::error("", "answered probes missing from the ledger: evidence of evaded usage");
      return evaded ? exit_code::check_failed : exit_code::ok;
    }
    std::vector<json::Value> entries;
    bool any = false, expected_all = true;
    for (size_t k = 0; k < verdicts.size(); k++) {
      out.line(json::canonical(verdict_record(set, k, verdicts[k], seen, chance, source, settings, suspect)));
      any = any || verdicts[k].detected;
      if (verdicts[k].detected && !evidence.empty())
        for (auto& e : evidence_entries(set, k, verdicts[k], seen, suspect,
                                        slash.to.empty() ? std::nullopt : std::optional(slash)))
          entries.push_back(std::move(e));
    }
    for (const auto& e : expect) {
      bool found = false;
      for (size_t k = 0; k < verdicts.size(); k++)
        found = found || ((set.licences[k].licensee == e || set.licences[k].license == e) && verdicts[k].detected);
      if (!found) tool::error("", "--expect " + e + ": not detected"), expected_all = false;
    }
    out.flush();
    if (!evidence.empty()) write_evidence(evidence, entries);
    if (forbid_any && any) tool::error("", "--forbid-any: a licensee's fingerprints are present");
    return (!expected_all || (forbid_any && any)) ? exit_code::check_failed : exit_code::ok;
  });
}
