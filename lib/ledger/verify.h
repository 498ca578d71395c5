// Offline audit of a ledger file in one streaming pass (ledger/replay.h does the checks).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "crypto/merkle.h"
#include "json/value.h"
#include "ledger/accounts.h"
#include "ledger/replay.h"
#include "ledger/trust.h"

namespace omlkit::ledger {

// A checkpoint an auditor kept from earlier: the ledger must extend it.
struct TrustedHead {
  std::string origin;
  uint64_t size;
  crypto::Hash root;
  std::string source;  // file name, for messages
};

// Reads a kept checkpoint: a C2SP signed note, or a checkpoint receipt / ledger line
// (JSON with "note"). Signatures are checked by the verifier against the trust keys.
TrustedHead load_trusted_head(const std::string& path, const std::vector<crypto::NoteVerifier>& verifiers);

struct VerifyOptions {
  const TrustFile* trust = nullptr;
  std::optional<uint64_t> prove_seq;  // make an inclusion proof for this entry
  std::optional<TrustedHead> trusted;
  bool keep_balances = false;
  bool keep_leaves = false;  // report every leaf hash (32 bytes per entry)
  size_t max_line_bytes = 16 << 20;
  // Memory for the ids (kept as 24-byte digests) and balances (32 bytes a pair when
  // keep_balances is off) together; past it the id digests spill to spill_dir as sorted
  // runs, merged at the end. 0: no limit.
  uint64_t memory_budget = 0;
  std::string spill_dir = "/tmp";
  // Called every 2^16 entries with the count so far (a tool shows it on a terminal).
  std::function<void(uint64_t)> progress;
  // Sees every entry that passed its checks, in order (ledger-verify --report).
  EntryObserver on_entry;
};

struct InclusionProof {
  uint64_t seq, size;
  crypto::Hash leaf, root;
  std::vector<crypto::Hash> path;
};

struct VerifyReport {
  int exit_code = 0;       // 0 valid, 1 invalid, 3 torn tail only
  std::string where;       // place of the first failure
  std::string message;     // what was expected and found
  uint64_t entries = 0;    // complete lines checked
  uint64_t signed_entries = 0;  // entries covered by the last checkpoint, itself included
  std::vector<Checkpoint> checkpoints;
  crypto::Hash root{};     // Merkle root of all complete lines
  uint64_t torn_bytes = 0;
  uint64_t unsigned_lines = 0;
  std::vector<Balance> balances;
  std::optional<InclusionProof> proof;
  std::vector<crypto::Hash> consistency;  // from the trusted head to the last checkpoint
  std::vector<crypto::Hash> leaves;       // with keep_leaves
  // The compact state's memory (ledger/id_digest_set.h, ledger/balance_table.h).
  uint64_t id_table_peak_bytes = 0, balance_table_bytes = 0;
  uint64_t ids_spilled = 0, spill_runs = 0;  // id digests written to disk, runs written
  bool repeat_found_by_merge = false;        // the failure was found after the pass
};

VerifyReport verify_ledger(const std::string& path, const VerifyOptions& options);

// Checks a proof made by --prove: the path leads from the leaf to the root.
bool check_inclusion_proof(const json::Value& proof, const std::string& where, InclusionProof* out);
json::Value inclusion_proof_json(const InclusionProof& proof);

// Each receipt line printed by ledger-append ({"seq":N,"leaf":hex,...}) in the file at
// path must name an entry of the verified ledger (report, made with keep_leaves), covered
// by a checkpoint, with that leaf hash. The first that does not sets report's exit code 1,
// place and message. Returns the receipts that passed. Throws data_error for a line that
// is no receipt.
uint64_t check_receipts(const std::string& path, size_t max_line_bytes, VerifyReport& report);

// Checks an inclusion proof file made by --prove against the verified ledger: the path
// leads from the leaf to a root that one of its checkpoints signed. Sets report's exit code
// 1 when not.
void check_proof_file(const std::string& path, VerifyReport& report);

}  // namespace omlkit::ledger
