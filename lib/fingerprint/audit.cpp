#include "fingerprint/audit.h"

#include <ctime>
#include <random>
#include <set>

#include "crypto/call_receipt.h"
#include "io/error.h"
#include "io/line_reader.h"
#include "ledger/entry.h"
#include "ledger/replay.h"

namespace omlkit::fingerprint {
namespace {

using json::Value;

Value text(const std::string& s) { return Value::string(s); }

const std::string* string_member(const Value& v, const char* key) {
  const Value* m = v.find(key);
  return m && m->is_string() ? &m->text() : nullptr;
}

Value call_list(const std::vector<AuditedCall>& calls) {
  Value list = Value::array();
  for (const AuditedCall& c : calls) {
    Value& item = list.push_back(Value::object());
    item.set("call", text(c.call));
    item.set("probe", text(c.probe));
    item.set("sent", text(c.sent));
  }
  return list;
}

}  // namespace

LedgerCalls read_ledger_calls(const std::string& path, const ledger::TrustFile* trust) {
  io::LineReader reader(path);
  ledger::ReplayOptions options;
  options.trust = trust;
  ledger::Replay replay(options);
  LedgerCalls signed_part, pending;
  replay.on_entry = [&](uint64_t, const std::string& ts, const std::string& type, const Value& body) {
    if (type == "license.grant") {
      const std::string *license = string_member(body, "license"), *model = string_member(body, "model");
      if (license && model) pending.models[*license] = *model;
    } else if (type == "inference.fee") {
      if (const std::string* call = string_member(body, "call")) {
        const std::string* model = string_member(body, "model");
        pending.fees[*call] = {model ? *model : "", ts};
      } else if (const Value* calls = body.find("calls"); calls && calls->is_array()) {
        for (const Value& c : calls->items())
          if (const std::string* id = string_member(c, "call")) {
            const std::string* model = string_member(c, "model");
            pending.fees[*id] = {model ? *model : "", ts};
          }
      }
    }
  };
  std::string_view line;
  try {
    // A torn tail is not part of the ledger; an unsigned one is applied but not counted.
    while (reader.next(&line) && !reader.ended_without_newline()) {
      replay.apply(line, reader.where());
      if (replay.unsigned_lines() == 0) {  // a checkpoint: what it covers counts
        signed_part.fees.merge(pending.fees);
        signed_part.models.merge(pending.models);
        pending = {};
        signed_part.size = replay.size();
        signed_part.root = replay.checkpoints().back().root;
      }
    }
  } catch (const Error& e) {
    if (e.code() != exit_code::check_failed && e.code() != exit_code::data) throw;
    throw data_error(e.where(), std::string("invalid ledger: ") + e.what());
  }
  if (replay.size() == 0) throw data_error(path, "empty ledger: expected a genesis entry");
  if (replay.checkpoints().empty()) throw data_error(path, "no signed checkpoint: nothing of this ledger is signed");
  return signed_part;
}

std::vector<AuditAnswer> read_audit_answers(const std::vector<std::string>& paths, size_t max_line_bytes) {
  std::vector<AuditAnswer> answers;
  for (const std::string& path : paths) {
    io::LineReader reader(path, max_line_bytes);
    std::string_view line;
    Value v;
    while (reader.next(&line)) {
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      json::parse_into(line, v, reader.where());
      const std::string* type = v.is_object() ? string_member(v, "type") : nullptr;
      if (!type || *type != "answer") throw data_error(reader.where(), "expected a record of type \"answer\"");
      AuditAnswer a;
      a.where = reader.where();
      for (auto [key, out] : {std::pair{"id", &a.probe}, {"output", &a.output}, {"response", &a.response}, {"sent", &a.sent}}) {
        const std::string* s = string_member(v, key);
        if (!s) throw data_error(a.where, std::string(key) + ": expected a string" +
                                              (std::string_view(key) == "response" ? " (the id the deployment returned)" : ""));
        *out = *s;
      }
      if (!ledger::valid_timestamp(a.sent))
        throw data_error(a.where, "sent: expected YYYY-MM-DDTHH:MM:SS.mmmZ, found \"" + a.sent + "\"");
      answers.push_back(std::move(a));
    }
  }
  return answers;
}

void split_by_receipt(const FingerprintSet& set, int samples, const std::vector<AuditAnswer>& answers,
                      const crypto::PublicKey& node_key, std::vector<AuditAnswer>& served,
                      std::vector<AuditAnswer>& forged) {
  // The prompt each probe id was sent with (ids do not depend on the shuffle's seed).
  std::mt19937_64 any_order(0);
  std::map<std::string, std::string> prompts;
  for (const ProbeLine& p : make_probes(set, samples, any_order)) prompts[p.id] = p.prompt;
  std::set<std::string> used;
  for (const AuditAnswer& a : answers) {
    auto prompt = prompts.find(a.probe);
    bool genuine = prompt != prompts.end() && !used.count(a.response) &&
                   crypto::verify_call_id(node_key, a.response, prompt->second, a.output);
    if (genuine) used.insert(a.response);
    (genuine ? served : forged).push_back(a);
  }
}

AuditResult audit_answers(const FingerprintSet& set, int samples, const std::vector<AuditAnswer>& answers,
                          const std::vector<bool>& detected, const LedgerCalls& ledger, const AuditSettings& settings) {
  AuditResult result;
  split_by_receipt(set, samples, answers, settings.node_key, result.served, result.forged);
  for (size_t k = 0; k < set.licences.size(); k++) {
    LicenceAudit audit;
    audit.licence = k;
    audit.detected = detected[k];
    if (auto it = ledger.models.find(set.licences[k].license); it != ledger.models.end()) audit.model = it->second;
    if (audit.detected) {
      if (audit.model.empty())
        throw data_error(set.licences[k].file, "license \"" + set.licences[k].license +
                                                   "\" is detected but not granted on the signed ledger: nothing to audit against");
      // Every answer the deployment gave was a call of the licensee's copy.
      for (const AuditAnswer& a : result.served) {
        AuditedCall call{a.response, a.probe, a.sent};
        const int64_t deadline = *parse_timestamp_ms(a.sent) + settings.window_ms;
        auto fee = ledger.fees.find(a.response);
        bool on_model = fee != ledger.fees.end() && (fee->second.model.empty() || fee->second.model == audit.model);
        if (on_model && *parse_timestamp_ms(fee->second.ts) <= deadline) audit.recorded.push_back(call);
        else if (settings.at_ms < deadline) audit.pending.push_back(call);
        else audit.unrecorded.push_back(call);
      }
    }
    result.licences.push_back(std::move(audit));
  }
  return result;
}

json::Value audit_record(const FingerprintSet& set, const LicenceAudit& audit, const Verdict& verdict,
                         const AuditResult& result, const LedgerCalls& ledger, const AuditSettings& settings,
                         const std::optional<std::string>& proof, const std::optional<std::string>& slash) {
  const LicenceGroup& g = set.licences[audit.licence];
  Value r = Value::object();
  r.set("type", text("audit"));
  r.set("v", Value::integer(1));
  r.set("license", text(g.license));
  r.set("licensee", text(g.licensee));
  r.set("model", audit.model.empty() ? Value() : text(audit.model));
  r.set("detected", Value::boolean(audit.detected));
  r.set("tested", Value::integer(verdict.tested));
  r.set("matched", Value::integer(verdict.matched));
  r.set("answered", Value::integer(audit.detected ? int64_t(result.served.size()) : 0));
  r.set("recorded", Value::integer(int64_t(audit.recorded.size())));
  r.set("unrecorded", call_list(audit.unrecorded));
  r.set("pending", call_list(audit.pending));
  r.set("forged", Value::integer(int64_t(result.forged.size())));
  r.set("window_s", Value::integer(settings.window_ms / 1000));
  r.set("at", text(ledger::format_timestamp(settings.at_ms)));
  Value& head = r.set("ledger", Value::object());
  head.set("size", Value::integer(int64_t(ledger.size)));
  head.set("root", text(crypto::to_hex(ledger.root)));
  r.set("proof", proof ? text(*proof) : Value());
  r.set("slash", slash ? text(*slash) : Value());
  return r;
}

std::optional<int64_t> parse_duration_ms(const std::string& text) {
  if (text.empty() || text.size() > 12) return std::nullopt;
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') digits++;
  if (digits == 0 || digits + 1 < text.size()) return std::nullopt;
  int64_t n = std::stoll(text.substr(0, digits));
  int64_t unit = 1000;
  if (digits < text.size()) {
    switch (text[digits]) {
      case 's': unit = 1000; break;
      case 'm': unit = 60 * 1000; break;
      case 'h': unit = 3600 * 1000; break;
      case 'd': unit = 86400 * 1000; break;
      default: return std::nullopt;
    }
  }
  if (n > int64_t(1) << 40) return std::nullopt;
  return n * unit;
}

std::optional<int64_t> parse_timestamp_ms(const std::string& ts) {
  if (!ledger::valid_timestamp(ts)) return std::nullopt;
  std::tm tm{};
  tm.tm_year = std::stoi(ts.substr(0, 4)) - 1900;
  tm.tm_mon = std::stoi(ts.substr(5, 2)) - 1;
  tm.tm_mday = std::stoi(ts.substr(8, 2));
  tm.tm_hour = std::stoi(ts.substr(11, 2));
  tm.tm_min = std::stoi(ts.substr(14, 2));
  tm.tm_sec = std::stoi(ts.substr(17, 2));
  return int64_t(timegm(&tm)) * 1000 + std::stoi(ts.substr(20, 3));
}

}  // namespace omlkit::fingerprint
