// The accounting replay of a ledger: the meaning of each entry type's body.
//
// Accounts checks one entry at a time against everything before it: body schema, unique
// ids, references (a license names a registered model, a proof names a license), postings
// that sum to zero per declared asset, no negative balance outside an asset's issuer,
// exact assertions, fee splits that equal the largest-remainder split of their recorded
// weights, slashes within the locked collateral, fingerprint proofs that verify against
// the license's committed root. A failure throws Error(exit 1) at the entry's place.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "json/value.h"
#include "ledger/string_set.h"
#include "money/amount.h"

namespace omlkit::ledger {

struct Balance {
  std::string account, asset;
  money::Signed amount;
};

class Accounts {
 public:
  // Checks and applies one entry. seq is its index; where is "file:line" for errors.
  void apply(const std::string& type, const json::Value& body, uint64_t seq, const std::string& where);

  // Final balances (non-zero), sorted by account then asset.
  std::vector<Balance> balances() const;
  bool declare_accounts() const { return declare_accounts_; }
  // Lineage of a registered model, itself first; empty when unknown.
  struct Model {
    std::string owner, parent;  // parent empty for a root model
    uint64_t order = 0;         // registrations before this one
  };
  uint64_t model_count() const { return models_.size(); }
  const Model* model(const std::string& id) const;

 private:
  struct Asset {
    int decimals;
    std::string issuer;
  };
  struct License {
    std::string model;
    uint64_t fingerprints;
    std::string root_hex;
    bool revoked = false;
  };
  struct Posting {
    std::string account, asset;
    money::Signed amount;
  };

  void genesis(const json::Value& body, uint64_t seq, const std::string& where);
  void fee(const json::Value& body, const std::string& where);
  void settlement(const json::Value& calls, const json::Value& body, const std::vector<Posting>& postings,
                  const std::string& where);
  void fingerprint_proof(const json::Value& body, const std::string& where);
  // Reads and checks a "postings" array (declared assets, known accounts, sum zero).
  std::vector<Posting> read_postings(const json::Value& body, const std::string& where) const;
  void post(const std::vector<Posting>& postings, const std::string& where);
  money::Signed& balance(const std::string& account, const std::string& asset);
  void claim_id(const std::string& space, const std::string& id, const std::string& where);
  void require_account(const std::string& account, const std::string& field, const std::string& where) const;
  const Asset& require_asset(const std::string& asset, const std::string& field, const std::string& where) const;

  bool started_ = false;
  bool declare_accounts_ = false;
  std::unordered_map<std::string, Asset> assets_;
  std::unordered_set<std::string> accounts_;  // opened accounts (and issuers)
  std::unordered_map<std::string, money::Signed> balances_;  // key: account '\n' asset
  StringSet ids_;                                            // (space, id) claimed
  std::string key_;                                          // scratch for balance keys
  std::unordered_map<std::string, Model> models_;
  std::unordered_map<std::string, License> licenses_;
  std::unordered_map<std::string, std::string> proofs_;       // proof id -> license
  std::unordered_set<std::string> evaluations_;
};

}  // namespace omlkit::ledger
