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
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "json/value.h"
#include "ledger/balance_table.h"
#include "ledger/id_digest_set.h"
#include "ledger/line_scan.h"
#include "ledger/string_set.h"
#include "money/amount.h"

namespace omlkit::ledger {

// The spaces in which Accounts claims ids: an id may appear once per space over the whole
// ledger. The one list of them (ledger-verify's spill search tries every space).
enum class IdSpace { asset, account, model, license, call, deposit, proof, slash, payout, evaluation, reward, transfer };
inline constexpr std::string_view id_space_names[] = {"asset",   "account", "model",  "license",    "call",   "deposit",
                                                      "proof",   "slash",   "payout", "evaluation", "reward", "transfer"};
inline constexpr std::string_view name(IdSpace space) { return id_space_names[static_cast<size_t>(space)]; }

// The accounting state as of an earlier line, kept outside memory (ledger/state_cache.h):
// Accounts looks there for what it has not seen since. Keys and payloads are bytes; the
// tables are named by one character (see man/omlkit-formats.5, STATE CACHE).
namespace state_table {
inline constexpr char id = 'i';          // space '\0' id -> ""
inline constexpr char balance = 'b';     // account '\n' asset -> signed decimal
inline constexpr char account = 'a';     // opened account -> ""
inline constexpr char asset = 'A';       // asset -> ["decimals","issuer"]
inline constexpr char model = 'm';       // model -> ["owner","parent","order"]
inline constexpr char license = 'l';     // license -> ["model","fingerprints","root","0|1 revoked"]
inline constexpr char proof = 'p';       // fingerprint.proof id -> license
inline constexpr char evaluation = 'e';  // evaluation id -> ""
}  // namespace state_table

class StateStore {
 public:
  virtual ~StateStore() = default;
  // The payload stored under (table, key); false when absent. Throws when the store is
  // damaged (ledger/state_cache.h: StateCacheDamaged).
  virtual bool get(char table, std::string_view key, std::string* payload) const = 0;
};

class StateSink {
 public:
  virtual ~StateSink() = default;
  virtual void put(char table, std::string_view key, std::string_view payload) = 0;
};

// The few scalars of the accounting state, kept beside the tables.
struct AccountsScalars {
  bool started = false;
  bool declare_accounts = false;
  uint64_t model_count = 0;
};

// ledger-verify's compact state: ids claimed as digests in a set that spills to disk past
// its budget (repeats found there are reported by finish(), not by apply()), and balances
// by digest when no one needs their names. ledger-append keeps the named state it caches.
struct CompactState {
  IdDigester* digester = nullptr;  // shared with the code that re-reads a repeat's lines
  IdDigestSet* ids = nullptr;
  bool balances_by_digest = false;
  uint64_t memory_budget = 0;      // ids and balances together (0: none); only ids spill
};

struct Balance {
  std::string account, asset;
  money::Signed amount;
};

class Accounts {
 public:
  // Checks and applies one entry. seq is its index; where is "file:line" for errors.
  void apply(const std::string& type, const json::Value& body, uint64_t seq, const std::string& where);
  // The same for a "transfer" whose body (node `body` of a scanned line) passes every check
  // that reading it makes; false, with nothing changed, for any other, which the caller
  // then applies as a value (and apply() words what is wrong). Throws as apply() does for
  // what only applying finds: a repeated id, a balance out of range.
  bool apply_transfer(const LineScan& line, uint32_t body, uint64_t seq, const std::string& where);

  // Looks up what it has not seen in base (null: none) as of the scalars given: the
  // state of an earlier line, to which every later line is then applied.
  void set_base(const StateStore* base, const AccountsScalars& scalars);
  // Before the first entry: keep the ids (and balances) as digests (see CompactState).
  void use_compact_state(const CompactState& state);
  // Memory held by the balances kept by digest (0 when they are kept by name).
  uint64_t balance_table_bytes() const { return balance_table_.bytes(); }
  AccountsScalars scalars() const { return {started_, declare_accounts_, model_count_}; }
  // Everything applied (or looked up) since the base, as table rows; then forgets it
  // (once written to the base, lookups find it there).
  void write_changes(StateSink& sink) const;
  size_t change_count() const;
  void clear_changes();

  // Final balances (non-zero), sorted by account then asset. Without a base only (with
  // one, the balances of accounts untouched since are not in memory).
  std::vector<Balance> balances() const;
  bool declare_accounts() const { return declare_accounts_; }
  // Lineage of a registered model, itself first; empty when unknown.
  struct Model {
    std::string owner, parent;  // parent empty for a root model
    uint64_t order = 0;         // registrations before this one
  };
  uint64_t model_count() const { return model_count_; }
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
  // Reads and checks a "postings" array (declared assets, known accounts, sum zero) into
  // scratch that the next call overwrites.
  const std::vector<Posting>& read_postings(const json::Value& body, const std::string& where);
  void post(const std::vector<Posting>& postings, const std::string& where);
  money::Signed* find_balance(const std::string& key);
  // A balance by key (account '\n' asset), in whichever table holds balances.
  money::Signed load_balance(const std::string& key);
  // Lookups in memory first, then in the base (what is found there is kept in memory).
  bool has_account(const std::string& account) const;
  const Asset* find_asset(const std::string& asset) const;
  License* find_license(const std::string& id);
  const std::string* find_proof(const std::string& id) const;
  bool has_evaluation(const std::string& id) const;
  void claim_id(IdSpace space, const std::string& id, const std::string& where);
  void require_account(const std::string& account, const std::string& field, const std::string& where) const;
  const Asset& require_asset(const std::string& asset, const std::string& field, const std::string& where) const;

  const StateStore* base_ = nullptr;
  CompactState compact_;
  BalanceTable balance_table_;  // with compact_.balances_by_digest
  uint64_t seq_ = 0;            // of the entry being applied
  bool started_ = false;
  bool declare_accounts_ = false;
  uint64_t model_count_ = 0;
  mutable std::unordered_map<std::string, Asset> assets_;
  mutable std::unordered_set<std::string> accounts_;  // opened accounts (and issuers)
  std::unordered_map<std::string, money::Signed> balances_;  // key: account '\n' asset
  StringSet ids_;                                            // (space, id) claimed
  std::string key_;                                          // scratch for balance keys
  struct AssetSum {
    const std::string* asset;
    money::Signed sum;
  };
  struct BalanceAfter {
    std::string key;  // account '\n' asset
    IdDigest digest;  // of key, with balances by digest
    money::Signed amount;
  };
  std::vector<Posting> postings_;         // read_postings' result
  std::vector<AssetSum> sums_;            // read_postings' per-asset sums
  std::vector<BalanceAfter> after_;       // post's balances after the entry
  std::vector<size_t> of_posting_;        // post's index into after_ of each posting
  std::string scratch_;                                      // payloads of id lookups
  std::string id_;                                           // apply_transfer's id
  mutable std::unordered_map<std::string, Model> models_;
  std::unordered_map<std::string, License> licenses_;
  mutable std::unordered_map<std::string, std::string> proofs_;  // proof id -> license
  mutable std::unordered_set<std::string> evaluations_;
};

}  // namespace omlkit::ledger
