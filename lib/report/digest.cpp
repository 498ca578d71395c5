#include "report/digest.h"

namespace omlkit::report {

namespace {

// Fields of a body that ledger::Accounts has already checked; absent ones read as "".
const std::string& text_of(const json::Value& body, const char* key) {
  static const std::string none;
  const json::Value* v = body.find(key);
  return v && v->is_string() ? v->text() : none;
}

struct Money {
  std::string asset;
  money::u128 amount = 0;
};

Money money_of(const json::Value& body, const char* key) {
  const json::Value* v = body.find(key);
  if (!v || !v->is_object()) return {};
  auto amount = money::parse_amount(text_of(*v, "amount"));
  return Money{text_of(*v, "asset"), amount.value_or(0)};
}

}  // namespace

LedgerDigest::LedgerDigest(std::vector<crypto::NoteVerifier> verifiers) : verifiers_(std::move(verifiers)) {
  genesis_key_ = verifiers_.empty();
}

int LedgerDigest::decimals(const std::string& asset) const {
  auto it = assets.find(asset);
  return it == assets.end() ? 0 : it->second.decimals;
}

LicenseInfo* LedgerDigest::license(const std::string& id) {
  auto it = license_index_.find(id);
  return it == license_index_.end() ? nullptr : &licenses[it->second];
}

const std::string& LedgerDigest::role_name(const json::Value* role) {
  static const std::string unlabelled = "unlabelled", other = "other roles";
  if (!role || !role->is_string() || role->text().empty()) return unlabelled;
  auto it = roles_.find(role->text());
  if (it != roles_.end()) return it->second;
  if (roles_.size() >= max_roles) return other;
  return roles_.emplace(role->text(), role->text()).first->second;
}

void LedgerDigest::add(uint64_t, const std::string& ts, const std::string& type, const json::Value& body) {
  ++applied;
  ++types[type];
  if (first_ts.empty()) first_ts = ts;
  last_ts = ts;
  std::string day = ts.substr(0, 10);

  if (type == "genesis") {
    origin = text_of(body, "origin");
    if (genesis_key_)
      if (auto key = crypto::parse_verifier_key(text_of(body, "vkey"))) verifiers_.push_back(*key);
  } else if (type == "checkpoint") {
    for (const std::string& name : crypto::open_note(text_of(body, "note"), verifiers_).signers) ++signers[name];
  } else if (type == "asset.declare") {
    const json::Value* d = body.find("decimals");
    assets[text_of(body, "asset")] =
        AssetInfo{d ? static_cast<int>(d->as_int64().value_or(0)) : 0, text_of(body, "issuer")};
  } else if (type == "model.register") {
    models.push_back(ModelInfo{text_of(body, "model"), text_of(body, "owner"), text_of(body, "parent"), ts});
  } else if (type == "license.grant") {
    LicenseInfo l;
    l.id = text_of(body, "license");
    l.model = text_of(body, "model");
    l.licensee = text_of(body, "licensee");
    l.ts = ts;
    const json::Value* f = body.find("fingerprints");
    l.fingerprints = f ? static_cast<uint64_t>(f->as_int64().value_or(0)) : 0;
    if (body.find("collateral")) {
      Money c = money_of(body, "collateral");
      l.collateral_asset = c.asset;
      l.collateral = c.amount;
    }
    license_index_[l.id] = licenses.size();
    licenses.push_back(std::move(l));
  } else if (type == "license.revoke") {
    if (LicenseInfo* l = license(text_of(body, "license"))) l->revoked = true;
  } else if (type == "collateral.deposit") {
    Money m = money_of(body, "amount");
    if (LicenseInfo* l = license(text_of(body, "license"))) l->deposited[m.asset].add(m.amount);
  } else if (type == "fingerprint.proof") {
    if (LicenseInfo* l = license(text_of(body, "license"))) {
      ++l->proofs;
      const json::Value* f = body.find("fingerprints");
      l->revealed += f && f->is_array() ? f->items().size() : 0;
    }
  } else if (type == "slash") {
    Money m = money_of(body, "amount");
    SlashInfo s{text_of(body, "slash"), text_of(body, "license"), text_of(body, "proof"), text_of(body, "to"),
                m.asset, ts, m.amount};
    if (LicenseInfo* l = license(s.license)) {
      l->slashed[m.asset].add(m.amount);
      ++l->slashes;
    }
    ++slash_count;
    if (slash_events.size() < max_slash_events) slash_events.push_back(std::move(s));
  } else if (type == "inference.fee") {
    fee(day, body);
  }
}

// One fee entry: the payers' debits flow to the model called, its credits from the model
// to the parties. A settlement (many calls in one entry) names no model.
void LedgerDigest::fee(const std::string& day, const json::Value& body) {
  const json::Value* postings = body.find("postings");
  if (!postings || !postings->is_array() || postings->items().empty()) return;
  bool settlement = body.find("calls") != nullptr;
  const std::string& named = text_of(body, "model");
  const std::string model = settlement ? "(settlements)" : named.empty() ? "(model not named)" : named;
  std::map<std::string, bool> seen_assets;
  for (const json::Value& p : postings->items()) {
    auto amount = money::parse_signed(text_of(p, "amount"));
    if (!amount) continue;
    const std::string& asset = text_of(p, "asset");
    const std::string& account = text_of(p, "account");
    FeeFlows& flows = fees[asset];
    if (!seen_assets[asset]) {
      seen_assets[asset] = true;
      ++flows.entries;
      ++flows.model_entries[model];
    }
    if (amount->negative) {
      flows.paid.add(amount->magnitude);
      flows.payer[account].add(amount->magnitude);
      flows.payer_model[{account, model}].add(amount->magnitude);
      flows.model[model].add(amount->magnitude);
      flows.day_model[day][model].add(amount->magnitude);
    } else {
      const std::string& role = role_name(p.find("role"));
      flows.role[role].add(amount->magnitude);
      flows.day_role[day][role].add(amount->magnitude);
      flows.party[account].add(amount->magnitude);
      flows.party_role.emplace(account, role);
      flows.model_party[{model, account}].add(amount->magnitude);
    }
  }
}

}  // namespace omlkit::report
