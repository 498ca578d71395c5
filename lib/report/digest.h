// What the HTML report shows of a ledger, gathered while ledger-verify replays it.
//
// A LedgerDigest is fed every entry that passed verification (ledger::EntryObserver), in
// order, and keeps sums rather than entries: by day, by role, by model, by payer and by
// party, so its size follows the number of distinct names and days, not of entries. The
// bodies it reads have been checked by ledger::Accounts already; it never re-parses lines.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "crypto/signed_note.h"
#include "json/value.h"
#include "ledger/replay.h"
#include "report/html.h"

namespace omlkit::report {

struct AssetInfo {
  int decimals = 0;
  std::string issuer;
};

struct ModelInfo {
  std::string id, owner, parent, ts;  // parent empty for a root model
};

struct LicenseInfo {
  std::string id, model, licensee, ts;
  uint64_t fingerprints = 0;
  std::string collateral_asset;  // the collateral the grant asks for, when it names one
  money::u128 collateral = 0;
  std::map<std::string, Total> deposited, slashed;  // by asset
  uint64_t proofs = 0, revealed = 0, slashes = 0;
  bool revoked = false;
};

struct SlashInfo {
  std::string id, license, proof, to, asset, ts;
  money::u128 amount = 0;
};

// The fees of one asset.
struct FeeFlows {
  uint64_t entries = 0;
  Total paid;                                                     // every fee entry's debits
  std::map<std::string, std::map<std::string, Total>> day_role;   // day -> role -> credits
  std::map<std::string, std::map<std::string, Total>> day_model;  // day -> model -> fees
  std::map<std::string, Total> role, model, payer, party;
  std::map<std::string, uint64_t> model_entries;
  std::map<std::string, std::string> party_role;  // the first role a party was paid under
  std::map<std::pair<std::string, std::string>, Total> payer_model, model_party;
};

class LedgerDigest {
 public:
  // verifiers: the trust file's keys; empty means the genesis key, as the replay does.
  explicit LedgerDigest(std::vector<crypto::NoteVerifier> verifiers = {});

  void add(uint64_t seq, const std::string& ts, const std::string& type, const json::Value& body);
  ledger::EntryObserver observer() {
    return [this](uint64_t seq, const std::string& ts, const std::string& type, const json::Value& body) {
      add(seq, ts, type, body);
    };
  }

  // Roles beyond this many distinct names are summed as "other roles".
  static constexpr size_t max_roles = 12;
  // Slash events kept one by one; the rest are counted and summed in their licences.
  static constexpr size_t max_slash_events = 200;

  std::string origin, first_ts, last_ts;
  uint64_t applied = 0;  // entries seen
  std::map<std::string, uint64_t> types;
  std::map<std::string, AssetInfo> assets;
  std::map<std::string, uint64_t> signers;  // key name -> checkpoints it signed
  std::vector<ModelInfo> models;            // in registration order (parents first)
  std::vector<LicenseInfo> licenses;        // in grant order
  std::vector<SlashInfo> slash_events;
  uint64_t slash_count = 0;
  std::map<std::string, FeeFlows> fees;     // by asset

  int decimals(const std::string& asset) const;

 private:
  void fee(const std::string& day, const json::Value& body);
  LicenseInfo* license(const std::string& id);
  const std::string& role_name(const json::Value* role);

  std::vector<crypto::NoteVerifier> verifiers_;
  bool genesis_key_ = false;
  std::unordered_map<std::string, size_t> license_index_;
  std::map<std::string, std::string> roles_;  // interned role names
};

}  // namespace omlkit::report
