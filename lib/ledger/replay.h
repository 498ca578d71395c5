// Replays ledger lines in order and checks everything one line can be checked for:
// canonical form, envelope, hash chain, timestamps, Merkle checkpoints and their
// signatures, batch authorisation, then the accounting of ledger/accounts.h.
//
// Both ledger-verify (over a file) and ledger-append (over the file, then the new batch)
// use it, so an append can never write what verify would refuse.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/merkle.h"
#include "crypto/signed_note.h"
#include "ledger/accounts.h"
#include "ledger/line_scan.h"
#include "ledger/trust.h"

namespace omlkit::ledger {

// Sees each line once it is checked and applied: its seq, ts, type and parsed body.
using EntryObserver = std::function<void(uint64_t seq, const std::string& ts, const std::string& type,
                                         const json::Value& body)>;

struct ReplayOptions {
  // Keys allowed to sign checkpoints. Null: the genesis entry's key, for every type.
  const TrustFile* trust = nullptr;
  bool check_signatures = true;
  // Lines the tree-free scanner (ledger/line_scan.h) is sure of skip the value tree; off,
  // every line takes the full parser (the reference the fast path is tested against).
  bool fast_path = true;
};

struct Checkpoint {
  uint64_t size;  // leaves [0, size) are covered; the checkpoint line itself is leaf `size`
  crypto::Hash root;
  std::string note;
};

// Where a replay stands after a checkpoint line: what it needs to go on from there
// without the lines before (ledger/state_cache.h keeps it with the accounting state).
struct ReplayHead {
  uint64_t size = 0;                // lines applied; the last is a checkpoint
  std::vector<crypto::Hash> peaks;  // the Merkle compact range of the lines before it
  crypto::Hash last_leaf{}, genesis_leaf{};
  std::string last_ts, origin, genesis_vkey;
  Checkpoint checkpoint;            // the last line's
};

class Replay {
 public:
  explicit Replay(ReplayOptions options = {});

  // Checks and applies one line (without '\n'). Throws Error(exit 1) at `where`.
  // Returns the line's leaf hash.
  crypto::Hash apply(std::string_view line, const std::string& where);

  void check_signatures(bool on) { options_.check_signatures = on; }

  // Only after a checkpoint line (unsigned_lines() == 0, size() > 0).
  ReplayHead head() const;
  // Goes on from head, with the accounting state of that line in base; a fresh Replay only.
  void resume(const ReplayHead& head, const StateStore* base, const AccountsScalars& scalars);
  Accounts& mutable_accounts() { return accounts_; }

  uint64_t size() const { return tree_.size(); }
  const crypto::Hash& last_leaf() const { return last_leaf_; }
  crypto::Hash root() const { return tree_.root(); }
  const std::string& last_ts() const { return last_ts_; }
  const std::string& origin() const { return origin_; }
  // The keys checkpoints are checked against: the trust file's, or the genesis key.
  const std::vector<crypto::NoteVerifier>& verifiers() const { return verifiers_; }
  // Lines applied after the last checkpoint (an unsigned tail when non-zero at the end).
  uint64_t unsigned_lines() const { return tree_.size() - signed_size_; }
  const std::vector<Checkpoint>& checkpoints() const { return checkpoints_; }
  const Accounts& accounts() const { return accounts_; }
  // Lines applied by the fast path (ReplayOptions::fast_path), for tests and benches.
  uint64_t scanned_lines() const { return scanned_lines_; }
  // Called with (size, root) before each line is added, and once more by finish_roots().
  std::function<void(uint64_t, const crypto::Hash&)> on_tree;
  // Called after each line is applied (never for a line that fails).
  EntryObserver on_entry;

 private:
  void apply_body(const std::string& type, const json::Value& ts, const json::Value& body, uint64_t seq,
                  const std::string& where);
  void check_checkpoint(const json::Value& body, uint64_t seq, const std::string& where);
  // The fast path: applies the scanned line when every check it makes passes and its
  // body is one Accounts can read from the scan; false, with nothing changed, otherwise.
  bool apply_scanned(std::string_view line, uint64_t seq, const std::string& where, crypto::Hash* leaf);
  // What follows a line's checks on either path: its leaf, the tree, the chain and ts.
  crypto::Hash add_leaf(std::string_view line, uint64_t seq, std::string_view ts, std::string_view type);

  ReplayOptions options_;
  crypto::CompactRange tree_;
  crypto::Hash last_leaf_{};
  std::string last_leaf_hex_;
  std::string last_ts_;
  std::string origin_;
  std::string genesis_vkey_;
  std::vector<crypto::Hash> peaks_before_checkpoint_;
  crypto::Hash genesis_leaf_{};
  std::vector<crypto::NoteVerifier> verifiers_;
  std::set<std::string, std::less<>> batch_types_;  // entry types since the last checkpoint
  uint64_t signed_size_ = 0;           // lines up to and including the last checkpoint
  uint64_t scanned_lines_ = 0;
  std::vector<Checkpoint> checkpoints_;
  Accounts accounts_;
  json::ParseOptions parse_options_;
  json::Value entry_;  // the line being checked; reused so that parsing allocates little
  LineScan scan_;      // the same for the fast path
};

}  // namespace omlkit::ledger
