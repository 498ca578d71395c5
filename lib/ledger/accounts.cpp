#include "ledger/accounts.h"

#include <algorithm>

#include "crypto/merkle.h"
#include "crypto/signed_note.h"
#include "io/error.h"
#include "money/account_name.h"
#include "money/split_tree.h"

namespace omlkit::ledger {

using money::Signed;
using money::u128;
using money::valid_account_name;

namespace {

Error invalid(const std::string& where, const std::string& message) {
  return Error(exit_code::check_failed, where, message);
}

std::string describe(const json::Value* v) {
  if (!v) return "nothing";
  switch (v->kind()) {
    case json::Kind::null: return "null";
    case json::Kind::boolean: return v->as_bool() ? "true" : "false";
    case json::Kind::number: return v->text();
    case json::Kind::string: return "\"" + v->text().substr(0, 80) + "\"";
    case json::Kind::array: return "an array";
    case json::Kind::object: return "an object";
  }
  return "?";
}

// The field accessors name the field and say what they expected and found.
const std::string& text(const json::Value& body, const char* key, const std::string& where) {
  const json::Value* v = body.find(key);
  if (!v || !v->is_string() || v->text().empty())
    throw invalid(where, std::string("body.") + key + ": expected a non-empty string, found " + describe(v));
  return v->text();
}

const std::string* optional_text(const json::Value& body, const char* key, const std::string& where) {
  const json::Value* v = body.find(key);
  if (!v || v->is_null()) return nullptr;
  return &text(body, key, where);
}

int64_t integer(const json::Value& body, const char* key, int64_t lo, int64_t hi, const std::string& where) {
  const json::Value* v = body.find(key);
  auto n = v ? v->as_int64() : std::nullopt;
  if (!n || *n < lo || *n > hi)
    throw invalid(where, std::string("body.") + key + ": expected an integer in [" + std::to_string(lo) +
                             ", " + std::to_string(hi) + "], found " + describe(v));
  return *n;
}

struct Money {
  std::string asset;
  u128 amount;
};

Money money_field(const json::Value& body, const char* key, const std::string& where) {
  const json::Value* v = body.find(key);
  std::string field = std::string("body.") + key;
  if (!v || !v->is_object()) throw invalid(where, field + ": expected {\"asset\",\"amount\"}, found " + describe(v));
  const json::Value* asset = v->find("asset");
  const json::Value* amount = v->find("amount");
  if (!asset || !asset->is_string() || asset->text().empty())
    throw invalid(where, field + ".asset: expected a non-empty string, found " + describe(asset));
  auto parsed = amount && amount->is_string() ? money::parse_amount(amount->text()) : std::nullopt;
  if (!parsed)
    throw invalid(where, field + ".amount: expected a decimal string below 2^128, found " + describe(amount));
  return Money{asset->text(), *parsed};
}

bool is_sha256_digest(const std::string& s) {
  uint8_t out[32];
  return s.size() == 71 && s.compare(0, 7, "sha256:") == 0 && crypto::from_hex(std::string_view(s).substr(7), out, 32);
}

std::string collateral_account(const std::string& license) { return "collateral:" + license; }

// A state payload of several fields: a canonical JSON array of strings (any bytes fit).
std::string pack_fields(std::initializer_list<std::string> fields) {
  json::Value array = json::Value::array();
  for (const std::string& f : fields) array.push_back(json::Value::string(f));
  return json::canonical(array);
}

std::vector<std::string> split_fields(std::string_view payload, size_t n) {
  json::Value array = json::parse(payload, "state cache");
  std::vector<std::string> out;
  if (array.is_array())
    for (const json::Value& f : array.items())
      if (f.is_string()) out.push_back(f.text());
  if (out.size() != n) throw Error(exit_code::internal, "", "state cache: a payload has the wrong fields");
  return out;
}

}  // namespace

void Accounts::claim_id(IdSpace id_space, const std::string& id, const std::string& where) {
  const std::string_view space = name(id_space);
  if (compact_.ids) {
    uint64_t first_seq;
    if (!compact_.ids->insert((*compact_.digester)(space, id), seq_, &first_seq))
      throw invalid(where, std::string(space) + " \"" + id + "\" already appears earlier in the ledger");
    return;
  }
  std::string key;
  if (base_) {
    key.reserve(space.size() + 1 + id.size());
    key.append(space).append(1, '\0').append(id);
  }
  if ((base_ && ids_.contains(space, id) == false && base_->get(state_table::id, key, &scratch_)) ||
      !ids_.insert(space, id))
    throw invalid(where, std::string(space) + " \"" + id + "\" already appears earlier in the ledger");
}

void Accounts::require_account(const std::string& account, const std::string& field,
                               const std::string& where) const {
  if (!valid_account_name(account))
    throw invalid(where, field + ": expected " + money::account_name_rule + ", found \"" + account + "\"");
  if (declare_accounts_ && account.rfind("collateral:", 0) != 0 && !has_account(account))
    throw invalid(where, field + ": account \"" + account + "\" was never opened (this ledger requires account.open)");
}

const Accounts::Asset& Accounts::require_asset(const std::string& asset, const std::string& field,
                                               const std::string& where) const {
  const Asset* found = find_asset(asset);
  if (!found) throw invalid(where, field + ": unknown asset \"" + asset + "\" (no asset.declare)");
  return *found;
}

const std::vector<Accounts::Posting>& Accounts::read_postings(const json::Value& body, const std::string& where) {
  const json::Value* list = body.find("postings");
  if (!list || !list->is_array() || list->items().empty())
    throw invalid(where, "body.postings: expected a non-empty array, found " + describe(list));
  // The postings and their sums go to scratch kept across entries (an entry allocates
  // nothing once they have grown); field names are made only for a message.
  std::vector<Posting>& postings = postings_;
  postings.resize(list->items().size());
  std::vector<AssetSum>& sums = sums_;
  sums.clear();
  auto field = [](size_t i) { return "body.postings[" + std::to_string(i) + "]"; };
  for (size_t i = 0; i < list->items().size(); ++i) {
    const json::Value& p = list->items()[i];
    if (!p.is_object()) throw invalid(where, field(i) + ": expected an object, found " + describe(&p));
    Posting& posting = postings[i];
    posting.account = text(p, "account", where);
    posting.asset = text(p, "asset", where);
    const json::Value* amount = p.find("amount");
    auto parsed = amount && amount->is_string() ? money::parse_signed(amount->text()) : std::nullopt;
    if (!parsed || parsed->is_zero())
      throw invalid(where, field(i) + ".amount: expected a non-zero signed decimal string, found " + describe(amount));
    posting.amount = *parsed;
    require_account(posting.account, field(i) + ".account", where);
    require_asset(posting.asset, field(i) + ".asset", where);
    size_t k = 0;
    while (k < sums.size() && *sums[k].asset != posting.asset) ++k;
    if (k == sums.size()) sums.push_back(AssetSum{&posting.asset, {}});
    if (!money::add(sums[k].sum, posting.amount))
      throw invalid(where, field(i) + ": the postings' sum overflows 2^128");
  }
  // The first asset, in byte order, whose postings do not sum to zero.
  const AssetSum* unbalanced = nullptr;
  for (const AssetSum& a : sums)
    if (!a.sum.is_zero() && (!unbalanced || *a.asset < *unbalanced->asset)) unbalanced = &a;
  if (unbalanced)
    throw invalid(where, "body.postings: expected the " + *unbalanced->asset + " postings to sum to 0, found " +
                             money::to_string(unbalanced->sum));
  return postings;
}

bool Accounts::apply_transfer(const LineScan& line, uint32_t body, uint64_t seq, const std::string& where) {
  // The checks of apply("transfer") and read_postings, in their terms, as tests that
  // return false where those would throw.
  if (!started_) return false;
  const ScanNode* id = line.member(body, "transfer");
  const ScanNode* list = line.member(body, "postings");
  if (!id || id->kind != json::Kind::string || id->text.empty()) return false;
  if (!list || list->kind != json::Kind::array || list->count == 0) return false;
  std::vector<Posting>& postings = postings_;
  postings.resize(list->count);
  std::vector<AssetSum>& sums = sums_;
  sums.clear();
  uint32_t item = list->first;
  for (uint32_t i = 0; i < list->count; ++i, item = line.node(item).next) {
    const ScanNode* account = line.member(item, "account");  // nullptr unless an object
    const ScanNode* asset = line.member(item, "asset");
    const ScanNode* amount = line.member(item, "amount");
    if (!account || account->kind != json::Kind::string || account->text.empty()) return false;
    if (!asset || asset->kind != json::Kind::string || asset->text.empty()) return false;
    if (!amount || amount->kind != json::Kind::string) return false;
    auto parsed = money::parse_signed(amount->text);
    if (!parsed || parsed->is_zero()) return false;
    Posting& posting = postings[i];
    posting.account.assign(account->text);
    posting.asset.assign(asset->text);
    posting.amount = *parsed;
    if (!valid_account_name(posting.account)) return false;
    if (declare_accounts_ && posting.account.rfind("collateral:", 0) != 0 && !has_account(posting.account))
      return false;
    if (!find_asset(posting.asset)) return false;
    size_t k = 0;
    while (k < sums.size() && *sums[k].asset != posting.asset) ++k;
    if (k == sums.size()) sums.push_back(AssetSum{&posting.asset, {}});
    if (!money::add(sums[k].sum, posting.amount)) return false;
  }
  for (const AssetSum& a : sums)
    if (!a.sum.is_zero()) return false;
  seq_ = seq;
  id_.assign(id->text);
  claim_id(IdSpace::transfer, id_, where);
  post(postings, where);
  return true;
}

void Accounts::post(const std::vector<Posting>& postings, const std::string& where) {
  // Sum all postings first (an account may be debited and credited in one entry), check
  // the results, then store them: a refused entry leaves the balances of the entries
  // before it. The sums go to scratch kept across entries.
  std::vector<BalanceAfter>& after = after_;
  std::vector<size_t>& of_posting = of_posting_;
  size_t count = 0;  // entries of `after` in use
  of_posting.resize(postings.size());
  std::unordered_map<std::string, size_t> index;  // for entries with many postings
  if (after.size() < postings.size()) after.resize(postings.size());
  for (size_t i = 0; i < postings.size(); ++i) {
    const Posting& p = postings[i];
    key_.assign(p.account).append(1, '\n').append(p.asset);
    size_t k = 0;
    if (postings.size() <= 16) {
      while (k < count && after[k].key != key_) ++k;
    } else {
      k = index.emplace(key_, count).first->second;
    }
    if (k == count) {
      BalanceAfter& a = after[count++];
      a.key = key_;
      if (compact_.balances_by_digest) {
        a.digest = (*compact_.digester)("balance", key_);
        a.amount = balance_table_.get(a.digest);
      } else {
        a.amount = *find_balance(key_);
      }
    }
    of_posting[i] = k;
    if (!money::add(after[k].amount, p.amount))
      throw invalid(where, "balance of " + p.account + " in " + p.asset + " overflows 2^128");
  }
  for (size_t i = 0; i < postings.size(); ++i) {
    const Posting& p = postings[i];
    const Signed& b = after[of_posting[i]].amount;
    if (b.negative && find_asset(p.asset)->issuer != p.account)
      throw invalid(where, "balance of " + p.account + " in " + p.asset + " would be " + money::to_string(b) +
                               ": only the asset's issuer may go below 0");
  }
  for (size_t k = 0; k < count; ++k) {
    const BalanceAfter& a = after[k];
    if (compact_.balances_by_digest)
      balance_table_.set(a.digest, a.amount);
    else
      *find_balance(a.key) = a.amount;
  }
  if (compact_.memory_budget && compact_.ids) {
    // The ids get what the balances leave of the budget, and never less than an eighth.
    uint64_t budget = compact_.memory_budget, held = balance_table_.bytes();
    compact_.ids->set_budget(std::max(budget / 8, held < budget ? budget - held : 0));
  }
}

void Accounts::genesis(const json::Value& body, uint64_t seq, const std::string& where) {
  if (seq != 0) throw invalid(where, "genesis may only be the first entry, found it at seq " + std::to_string(seq));
  const std::string& origin = text(body, "origin", where);
  if (!crypto::valid_key_name(origin))
    throw invalid(where, "body.origin: expected a name without spaces or '+', found \"" + origin + "\"");
  if (!crypto::parse_verifier_key(text(body, "vkey", where)))
    throw invalid(where, "body.vkey: expected a verifier key name+keyid+base64");
  if (const json::Value* d = body.find("declare_accounts")) {
    if (!d->is_bool()) throw invalid(where, "body.declare_accounts: expected true or false, found " + describe(d));
    declare_accounts_ = d->as_bool();
  }
}

void Accounts::fee(const json::Value& body, const std::string& where) {
  const std::vector<Posting>& postings = read_postings(body, where);
  if (const json::Value* calls = body.find("calls")) {
    settlement(*calls, body, postings, where);
    post(postings, where);
    return;
  }
  claim_id(IdSpace::call, text(body, "call", where), where);
  Money fee = money_field(body, "fee", where);
  const std::string& payer = text(body, "payer", where);
  const Posting& first = postings[0];
  if (first.account != payer || first.asset != fee.asset || !first.amount.negative ||
      first.amount.magnitude != fee.amount)
    throw invalid(where, "body.postings[0]: expected the payer's debit " + payer + " -" +
                             money::to_string(fee.amount) + " " + fee.asset + ", found " + first.account + " " +
                             money::to_string(first.amount) + " " + first.asset);
  if (const json::Value* split = body.find("split")) {
    std::vector<money::Credit> credits = money::flatten_split(*split, fee.amount, where);
    size_t k = 1;
    for (const money::Credit& c : credits) {
      if (c.amount == 0) continue;
      std::string field = "body.postings[" + std::to_string(k) + "]";
      if (k >= postings.size())
        throw invalid(where, field + ": expected " + c.account + " +" + money::to_string(c.amount) +
                                 " from the split, found no posting");
      const Posting& p = postings[k++];
      if (p.account != c.account || p.asset != fee.asset || p.amount.negative || p.amount.magnitude != c.amount)
        throw invalid(where, field + ": expected " + c.account + " +" + money::to_string(c.amount) + " " + fee.asset +
                                 " (largest-remainder split of the recorded weights), found " + p.account + " " +
                                 money::to_string(p.amount) + " " + p.asset);
    }
    if (k != postings.size())
      throw invalid(where, "body.postings: expected " + std::to_string(k) + " postings from the split, found " +
                               std::to_string(postings.size()));
  }
  post(postings, where);
}

// A settlement aggregates many calls: each is recorded with its payer, fee and split tree,
// so its postings are recomputed here and must be exactly the aggregate split-fees writes
// (fees/settlement.h): one debit per (asset, payer), then one credit per (asset, account,
// role), each group in byte order of asset JSON, account JSON, role.
void Accounts::settlement(const json::Value& calls, const json::Value& body, const std::vector<Posting>& postings,
                          const std::string& where) {
  if (!calls.is_array() || calls.items().empty())
    throw invalid(where, "body.calls: expected a non-empty array of {call, fee, payer, split}, found " + describe(&calls));
  std::map<std::string, u128> debits, credits;  // key: asset json '\0' account json '\0' role
  std::map<std::string, u128> asset_totals;
  auto key = [](const std::string& asset, const std::string& account, const std::string& role) {
    return json::canonical(json::Value::string(asset)) + '\0' + json::canonical(json::Value::string(account)) + '\0' +
           role;
  };
  for (size_t i = 0; i < calls.items().size(); ++i) {
    const json::Value& c = calls.items()[i];
    std::string field = "body.calls[" + std::to_string(i) + "]";
    if (!c.is_object() || !c.find("split"))
      throw invalid(where, field + ": expected {call, fee, payer, split} (the split the settlement aggregates), found " +
                               describe(&c));
    claim_id(IdSpace::call, text(c, "call", where), where);
    Money fee = money_field(c, "fee", where);
    require_asset(fee.asset, field + ".fee.asset", where);
    const std::string& payer = text(c, "payer", where);
    require_account(payer, field + ".payer", where);
    u128& total = asset_totals[fee.asset];
    if (fee.amount > money::u128_max - total)
      throw invalid(where, field + ".fee: the settlement's " + fee.asset + " fees sum to 2^128 or more");
    total += fee.amount;
    debits[key(fee.asset, payer, "")] += fee.amount;  // below the asset's total
    for (const money::Credit& credit : money::flatten_split(*c.find("split"), fee.amount, where + ": " + field))
      if (credit.amount > 0) credits[key(fee.asset, credit.account, credit.role)] += credit.amount;
  }
  const json::Value& list = *body.find("postings");
  size_t k = 0;
  auto expect = [&](const std::map<std::string, u128>& totals, bool debit) {
    for (const auto& [k_text, amount] : totals) {
      size_t asset_end = k_text.find('\0'), account_end = k_text.find('\0', asset_end + 1);
      std::string asset = json::parse(k_text.substr(0, asset_end), where).text();
      std::string account = json::parse(k_text.substr(asset_end + 1, account_end - asset_end - 1), where).text();
      std::string role = k_text.substr(account_end + 1);
      std::string wanted = account + " " + (debit ? "-" : "+") + money::to_string(amount) + " " + asset +
                           (role.empty() ? "" : " (" + role + ")");
      std::string field = "body.postings[" + std::to_string(k) + "]";
      if (k >= postings.size())
        throw invalid(where, field + ": expected " + wanted + " recomputed from body.calls, found no posting");
      const Posting& p = postings[k];
      const json::Value* role_value = list.items()[k].find("role");
      std::string found_role = role_value && role_value->is_string() ? role_value->text() : "";
      if (p.account != account || p.asset != asset || p.amount.negative != debit || p.amount.magnitude != amount ||
          found_role != role)
        throw invalid(where, field + ": expected " + wanted + " recomputed from body.calls, found " + p.account +
                                 " " + money::to_string(p.amount) + " " + p.asset +
                                 (found_role.empty() ? "" : " (" + found_role + ")"));
      ++k;
    }
  };
  expect(debits, true);
  expect(credits, false);
  if (k != postings.size())
    throw invalid(where, "body.postings: expected " + std::to_string(k) + " postings recomputed from body.calls, found " +
                             std::to_string(postings.size()));
}

void Accounts::fingerprint_proof(const json::Value& body, const std::string& where) {
  const std::string& id = text(body, "proof", where);
  claim_id(IdSpace::proof, id, where);
  const std::string& license_id = text(body, "license", where);
  const License* license = find_license(license_id);
  if (!license) throw invalid(where, "body.license: no license.grant for \"" + license_id + "\"");
  crypto::Hash root;
  crypto::from_hex(license->root_hex, root.data(), root.size());
  const json::Value* list = body.find("fingerprints");
  if (!list || !list->is_array() || list->items().empty())
    throw invalid(where, "body.fingerprints: expected a non-empty array, found " + describe(list));
  for (size_t i = 0; i < list->items().size(); ++i) {
    const json::Value& f = list->items()[i];
    std::string field = "body.fingerprints[" + std::to_string(i) + "]";
    if (!f.is_object()) throw invalid(where, field + ": expected an object");
    int64_t index = integer(f, "index", 0, static_cast<int64_t>(license->fingerprints) - 1, where);
    // The committed leaf is the canonical JSON of the revealed fingerprint.
    json::Value leaf = json::Value::object();
    for (const char* key : {"key", "response", "salt"}) leaf.set(key, json::Value::string(text(f, key, where)));
    const json::Value* path = f.find("path");
    if (!path || !path->is_array()) throw invalid(where, field + ".path: expected an array of hex hashes");
    std::vector<crypto::Hash> proof;
    for (const json::Value& h : path->items()) {
      crypto::Hash hash;
      if (!h.is_string() || !crypto::from_hex(h.text(), hash.data(), hash.size()))
        throw invalid(where, field + ".path: expected 64-digit hex hashes, found " + describe(&h));
      proof.push_back(hash);
    }
    if (!crypto::verify_inclusion(static_cast<uint64_t>(index), license->fingerprints,
                                  crypto::leaf_hash(json::canonical(leaf)), proof, root))
      throw invalid(where, field + ": inclusion proof does not verify against the root of license \"" +
                               license_id + "\"");
  }
  proofs_[id] = license_id;
}

void Accounts::apply(const std::string& type, const json::Value& body, uint64_t seq, const std::string& where) {
  seq_ = seq;
  // Compared as a view: a literal of another length is told apart without a memcmp.
  const std::string_view kind = type;
  if (!body.is_object()) throw invalid(where, "body: expected an object, found " + describe(&body));
  if (!started_ && kind != "genesis") throw invalid(where, "expected a genesis entry first, found " + type);
  started_ = true;

  if (kind == "genesis") {
    genesis(body, seq, where);
  } else if (kind == "checkpoint") {
    // Checked by the replay (Merkle root and signature); no accounting meaning.
  } else if (kind == "asset.declare") {
    const std::string& asset = text(body, "asset", where);
    if (asset.size() > 32 || asset.find_first_of(" \n\t") != std::string::npos)
      throw invalid(where, "body.asset: expected an asset code of at most 32 bytes without spaces");
    claim_id(IdSpace::asset, asset, where);
    int decimals = static_cast<int>(integer(body, "decimals", 0, 38, where));
    const std::string& issuer = text(body, "issuer", where);
    if (!valid_account_name(issuer)) throw invalid(where, std::string("body.issuer: expected ") + money::account_name_rule);
    assets_[asset] = Asset{decimals, issuer};
    accounts_.insert(issuer);
  } else if (kind == "account.open") {
    const std::string& account = text(body, "account", where);
    if (!valid_account_name(account)) throw invalid(where, std::string("body.account: expected ") + money::account_name_rule);
    claim_id(IdSpace::account, account, where);
    accounts_.insert(account);
  } else if (kind == "model.register") {
    const std::string& id = text(body, "model", where);
    claim_id(IdSpace::model, id, where);
    const std::string& owner = text(body, "owner", where);
    require_account(owner, "body.owner", where);
    if (!is_sha256_digest(text(body, "digest", where)))
      throw invalid(where, "body.digest: expected \"sha256:\" and 64 hex digits");
    const std::string* parent = optional_text(body, "parent", where);
    if (parent && !model(*parent))
      throw invalid(where, "body.parent: model \"" + *parent + "\" is not registered");
    models_[id] = Model{owner, parent ? *parent : std::string(), model_count_++};
  } else if (kind == "license.grant") {
    const std::string& id = text(body, "license", where);
    claim_id(IdSpace::license, id, where);
    const std::string& model = text(body, "model", where);
    if (!this->model(model)) throw invalid(where, "body.model: model \"" + model + "\" is not registered");
    require_account(text(body, "licensee", where), "body.licensee", where);
    if (!is_sha256_digest(text(body, "digest", where)))
      throw invalid(where, "body.digest: expected \"sha256:\" and 64 hex digits");
    int64_t count = integer(body, "fingerprints", 1, int64_t(1) << 32, where);
    const std::string& root = text(body, "root", where);
    uint8_t bytes[32];
    if (!crypto::from_hex(root, bytes, 32)) throw invalid(where, "body.root: expected 64 hex digits");
    if (body.find("collateral")) require_asset(money_field(body, "collateral", where).asset, "body.collateral.asset", where);
    licenses_[id] = License{model, static_cast<uint64_t>(count), root};
  } else if (kind == "license.revoke") {
    const std::string& id = text(body, "license", where);
    License* license = find_license(id);
    if (!license) throw invalid(where, "body.license: no license.grant for \"" + id + "\"");
    if (license->revoked) throw invalid(where, "body.license: license \"" + id + "\" is already revoked");
    license->revoked = true;
  } else if (kind == "collateral.deposit") {
    claim_id(IdSpace::deposit, text(body, "deposit", where), where);
    const std::string& license = text(body, "license", where);
    if (!find_license(license)) throw invalid(where, "body.license: no license.grant for \"" + license + "\"");
    Money m = money_field(body, "amount", where);
    require_asset(m.asset, "body.amount.asset", where);
    const std::string& from = text(body, "from", where);
    require_account(from, "body.from", where);
    post({{from, m.asset, Signed::of(m.amount, true)}, {collateral_account(license), m.asset, Signed::of(m.amount)}}, where);
  } else if (kind == "fingerprint.proof") {
    fingerprint_proof(body, where);
  } else if (kind == "slash") {
    claim_id(IdSpace::slash, text(body, "slash", where), where);
    const std::string& license = text(body, "license", where);
    const std::string& proof = text(body, "proof", where);
    const std::string* proof_license = find_proof(proof);
    if (!proof_license || *proof_license != license)
      throw invalid(where, "body.proof: expected a fingerprint.proof of license \"" + license + "\", found \"" + proof + "\"");
    Money m = money_field(body, "amount", where);
    require_asset(m.asset, "body.amount.asset", where);
    const std::string& to = text(body, "to", where);
    require_account(to, "body.to", where);
    std::string locked_key = collateral_account(license) + '\n' + m.asset;
    u128 available = load_balance(locked_key).magnitude;
    if (m.amount > available)
      throw invalid(where, "body.amount: slash of " + money::to_string(m.amount) + " exceeds the locked collateral " +
                               money::to_string(available) + " " + m.asset + " of license \"" + license + "\"");
    post({{collateral_account(license), m.asset, Signed::of(m.amount, true)}, {to, m.asset, Signed::of(m.amount)}}, where);
  } else if (kind == "inference.fee") {
    fee(body, where);
  } else if (kind == "payout") {
    claim_id(IdSpace::payout, text(body, "payout", where), where);
    Money m = money_field(body, "amount", where);
    const Asset& asset = require_asset(m.asset, "body.amount.asset", where);
    const std::string& account = text(body, "account", where);
    require_account(account, "body.account", where);
    post({{account, m.asset, Signed::of(m.amount, true)}, {asset.issuer, m.asset, Signed::of(m.amount)}}, where);
  } else if (kind == "evaluation") {
    const std::string& id = text(body, "evaluation", where);
    claim_id(IdSpace::evaluation, id, where);
    const std::string& model = text(body, "model", where);
    if (!this->model(model)) throw invalid(where, "body.model: model \"" + model + "\" is not registered");
    require_account(text(body, "evaluator", where), "body.evaluator", where);
    integer(body, "score", -(int64_t(1) << 53) + 1, (int64_t(1) << 53) - 1, where);
    evaluations_.insert(id);
  } else if (kind == "reward") {
    claim_id(IdSpace::reward, text(body, "reward", where), where);
    const std::string& evaluation = text(body, "evaluation", where);
    if (!has_evaluation(evaluation))
      throw invalid(where, "body.evaluation: no evaluation \"" + evaluation + "\" earlier in the ledger");
    post(read_postings(body, where), where);
  } else if (kind == "transfer") {
    claim_id(IdSpace::transfer, text(body, "transfer", where), where);
    post(read_postings(body, where), where);
  } else if (kind == "assert") {
    const std::string& account = text(body, "account", where);
    const std::string& asset = text(body, "asset", where);
    require_asset(asset, "body.asset", where);
    const json::Value* expected_text = body.find("balance");
    auto expected = expected_text && expected_text->is_string() ? money::parse_signed(expected_text->text()) : std::nullopt;
    if (!expected) throw invalid(where, "body.balance: expected a signed decimal string, found " + describe(expected_text));
    Signed actual = load_balance(account + '\n' + asset);
    if (!(actual == *expected))
      throw invalid(where, "assertion failed: " + account + " holds " + money::to_string(actual) + " " + asset +
                               ", the entry asserts " + money::to_string(*expected));
  } else {
    throw invalid(where, "unknown entry type \"" + type + "\"");
  }
}

std::vector<Balance> Accounts::balances() const {
  std::vector<Balance> out;
  for (const auto& [key, amount] : balances_) {
    if (amount.is_zero()) continue;
    size_t nl = key.find('\n');
    out.push_back(Balance{key.substr(0, nl), key.substr(nl + 1), amount});
  }
  std::sort(out.begin(), out.end(), [](const Balance& a, const Balance& b) {
    return a.account != b.account ? a.account < b.account : a.asset < b.asset;
  });
  return out;
}

const Accounts::Model* Accounts::model(const std::string& id) const {
  auto it = models_.find(id);
  if (it != models_.end()) return &it->second;
  std::string payload;
  if (!base_ || !base_->get(state_table::model, id, &payload)) return nullptr;
  std::vector<std::string> f = split_fields(payload, 3);
  return &models_.emplace(id, Model{f[0], f[1], std::stoull(f[2])}).first->second;
}

bool Accounts::has_account(const std::string& account) const {
  if (accounts_.count(account)) return true;
  std::string payload;
  if (!base_ || !base_->get(state_table::account, account, &payload)) return false;
  accounts_.insert(account);
  return true;
}

const Accounts::Asset* Accounts::find_asset(const std::string& asset) const {
  auto it = assets_.find(asset);
  if (it != assets_.end()) return &it->second;
  std::string payload;
  if (!base_ || !base_->get(state_table::asset, asset, &payload)) return nullptr;
  std::vector<std::string> f = split_fields(payload, 2);
  return &assets_.emplace(asset, Asset{std::stoi(f[0]), f[1]}).first->second;
}

Accounts::License* Accounts::find_license(const std::string& id) {
  auto it = licenses_.find(id);
  if (it != licenses_.end()) return &it->second;
  std::string payload;
  if (!base_ || !base_->get(state_table::license, id, &payload)) return nullptr;
  std::vector<std::string> f = split_fields(payload, 4);
  return &licenses_.emplace(id, License{f[0], std::stoull(f[1]), f[2], f[3] == "1"}).first->second;
}

const std::string* Accounts::find_proof(const std::string& id) const {
  auto it = proofs_.find(id);
  if (it != proofs_.end()) return &it->second;
  std::string payload;
  if (!base_ || !base_->get(state_table::proof, id, &payload)) return nullptr;
  return &proofs_.emplace(id, payload).first->second;
}

bool Accounts::has_evaluation(const std::string& id) const {
  if (evaluations_.count(id)) return true;
  std::string payload;
  if (!base_ || !base_->get(state_table::evaluation, id, &payload)) return false;
  evaluations_.insert(id);
  return true;
}

Signed* Accounts::find_balance(const std::string& key) {
  auto it = balances_.find(key);
  if (it == balances_.end()) {
    Signed amount{};
    std::string payload;
    if (base_ && base_->get(state_table::balance, key, &payload)) {
      auto parsed = money::parse_signed(payload);
      if (!parsed) throw Error(exit_code::internal, "", "state cache: balance of \"" + key + "\" is not a decimal");
      amount = *parsed;
    }
    it = balances_.emplace(key, amount).first;
  }
  return &it->second;
}

Signed Accounts::load_balance(const std::string& key) {
  if (compact_.balances_by_digest) return balance_table_.get((*compact_.digester)("balance", key));
  return *find_balance(key);
}

void Accounts::use_compact_state(const CompactState& state) {
  if (started_ || base_ || !state.digester)
    throw Error(exit_code::internal, "", "compact state asked for after the first entry or without a digester");
  compact_ = state;
}

void Accounts::set_base(const StateStore* base, const AccountsScalars& scalars) {
  base_ = base;
  started_ = scalars.started;
  declare_accounts_ = scalars.declare_accounts;
  model_count_ = scalars.model_count;
}

size_t Accounts::change_count() const {
  return ids_.size() + balances_.size() + accounts_.size() + assets_.size() + models_.size() + licenses_.size() +
         proofs_.size() + evaluations_.size();
}

void Accounts::write_changes(StateSink& sink) const {
  std::string key;
  ids_.for_each([&](std::string_view space, std::string_view id) {
    key.assign(space).append(1, '\0').append(id);
    sink.put(state_table::id, key, "");
  });
  for (const auto& [k, amount] : balances_) sink.put(state_table::balance, k, money::to_string(amount));
  for (const auto& a : accounts_) sink.put(state_table::account, a, "");
  for (const auto& [k, a] : assets_) sink.put(state_table::asset, k, pack_fields({std::to_string(a.decimals), a.issuer}));
  for (const auto& [k, m] : models_)
    sink.put(state_table::model, k, pack_fields({m.owner, m.parent, std::to_string(m.order)}));
  for (const auto& [k, l] : licenses_)
    sink.put(state_table::license, k, pack_fields({l.model, std::to_string(l.fingerprints), l.root_hex, l.revoked ? "1" : "0"}));
  for (const auto& [k, license] : proofs_) sink.put(state_table::proof, k, license);
  for (const auto& e : evaluations_) sink.put(state_table::evaluation, e, "");
}

void Accounts::clear_changes() {
  ids_ = StringSet();
  balances_.clear();
  accounts_.clear();
  assets_.clear();
  models_.clear();
  licenses_.clear();
  proofs_.clear();
  evaluations_.clear();
}

}  // namespace omlkit::ledger
