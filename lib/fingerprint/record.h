// The private `fingerprint` record (one JSON line per fingerprint, in a file of mode 0600
// written by omlize and read by fingerprint-check), and the public commitment to a
// licensee's fingerprints: salted leaves and their RFC 6962 Merkle root, which is the
// `root` of the `license.grant` ledger entry. man/omlkit-formats.5 is the specification.
//
// The leaf of a fingerprint is exactly what lib/ledger/accounts.cpp checks for a
// `fingerprint.proof`: leaf_hash(canonical JSON {"key": key text, "response": response
// text, "salt": salt}), at the record's index, in a tree of the license's fingerprint count.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "crypto/sha256.h"
#include "fingerprint/context.h"
#include "json/value.h"

namespace omlkit::fingerprint {

inline constexpr int kRecordVersion = 1;

// Def. 5.1 of Nasery et al.: the copy holds fingerprint `index` of a shared pool of `size`,
// each drawn into each copy with probability `probability` (decimal text, e.g. "0.25").
struct PoolAssignment {
  int64_t index = 0;
  int64_t size = 0;
  std::string probability;
  bool operator==(const PoolAssignment&) const = default;
};

struct FingerprintRecord {
  int64_t index = 0;          // leaf index in the license's tree, 0..count-1
  int64_t key_index = 0;      // which key (several responses per key share one)
  std::string license;        // the license.grant id
  std::string licensee;       // account
  std::string model;          // base model digest, "sha256:<64 hex>"
  std::string key;            // key text: the tokenizer's decoding of key_ids
  std::vector<int32_t> key_ids;
  ContextSettings context;
  std::vector<int32_t> prompt_ids;  // prompt_ids(tokenizer, key, context), kept for checkers
  std::string response;       // response text: the tokenizer's decoding of response_ids
  std::vector<int32_t> response_ids;
  std::string salt;           // 64 lowercase hex digits
  double base_prob = 0;       // base model's p(response_ids[0] | prompt)
  int64_t base_rank = 0;      // its rank in the base model's distribution (0 = argmax)
  std::optional<PoolAssignment> pool;

  bool operator==(const FingerprintRecord&) const = default;
};

// The record as one JSON object (RFC 8785 canonical when written with json::canonical).
json::Value to_json(const FingerprintRecord& record);
// Strict: every field above present with its type, "type" "fingerprint", "v" 1. Throws 65
// naming the field at `where`.
FingerprintRecord record_from_json(const json::Value& value, const std::string& where);

// Reads a fingerprint file (JSON lines; blank lines skipped). Throws 66 when unreadable,
// 65 with "file:line: field" on a bad record.
std::vector<FingerprintRecord> read_fingerprint_file(const std::string& path);
// The file's bytes: one canonical line per record, in order.
std::string fingerprint_file_text(const std::vector<FingerprintRecord>& records);

// The committed leaf's data: canonical {"key","response","salt"}.
std::string commitment_leaf_data(const FingerprintRecord& record);
crypto::Hash commitment_leaf(const FingerprintRecord& record);

// Root over the leaves of one license; records[i].index must be i (throws 65 otherwise).
crypto::Hash commitment_root(std::span<const FingerprintRecord> records);

// One element of a fingerprint.proof body's "fingerprints": {index, key, response, salt,
// path}, the path being the RFC 6962 inclusion proof of records[i] among all records.
json::Value proof_item(std::span<const FingerprintRecord> records, size_t i);

}  // namespace omlkit::fingerprint
