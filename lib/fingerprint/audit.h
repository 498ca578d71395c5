// fingerprint-check audit: were a deployment's answers paid for? A prover sent fingerprint
// probes to a licensee's deployment; every answer carries the id the deployment returned,
// a signed receipt (crypto/call_receipt.h) over the probe's prompt and the output that only
// the node could have made. Answers the
// judge attributes to a licence must each appear on the ledger as an inference.fee with
// that call id, on the licence's model, settled no later than `window` after the probe
// was sent. An answer whose receipt does not verify under the node's key for its probe's
// prompt and its output was never served (or was altered, or its receipt was moved from
// another call), and neither is a second answer with a receipt already used: they are not
// evidence, and are counted apart.
//
// The ledger is read as ledger-verify reads it (ledger/replay.h, under the trust file's
// keys) and only entries covered by a signed checkpoint count.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "crypto/ed25519.h"
#include "crypto/sha256.h"
#include "fingerprint/check.h"
#include "json/value.h"
#include "ledger/trust.h"

namespace omlkit::fingerprint {

// What the signed part of a ledger says about calls and licences.
struct LedgerCalls {
  struct Fee {
    std::string model;  // empty for a call inside a settlement (it carries no model)
    std::string ts;     // the entry's time, "YYYY-MM-DDTHH:MM:SS.mmmZ"
  };
  std::map<std::string, Fee> fees;            // call id -> its inference.fee
  std::map<std::string, std::string> models;  // license id -> the licence's model
  uint64_t size = 0;                          // entries covered by the last checkpoint
  crypto::Hash root{};                        // that checkpoint's root
};
// Throws data_error 65 ("invalid ledger: ...") where ledger-verify would fail.
LedgerCalls read_ledger_calls(const std::string& path, const ledger::TrustFile* trust);

struct AuditAnswer {
  std::string probe;     // the probe id ("id")
  std::string output;
  std::string response;  // the deployment's response id
  std::string sent;      // when the probe was sent, ledger time format
  std::string where;     // file:line
};
// Reads {"type":"answer","id","output","response","sent"} lines. Throws 65 at the place
// of a malformed one.
std::vector<AuditAnswer> read_audit_answers(const std::vector<std::string>& paths, size_t max_line_bytes);

struct AuditSettings {
  crypto::PublicKey node_key{};
  int64_t window_ms = 24 * 3600 * 1000;
  int64_t at_ms = 0;  // the audit's time: a window still open is pending, not unrecorded
};

struct AuditedCall {
  std::string call, probe, sent;
};
struct LicenceAudit {
  size_t licence = 0;  // index into set.licences
  bool detected = false;
  std::string model;   // the licence's model on the ledger ("" when not granted there)
  std::vector<AuditedCall> recorded, unrecorded, pending;
};
struct AuditResult {
  std::vector<AuditAnswer> served;  // answers whose receipts verify
  std::vector<AuditAnswer> forged;  // the rest: not evidence
  std::vector<LicenceAudit> licences;
};

// Splits answers by receipt, then for every licence the verdict says is detected, checks
// each served answer against the ledger. `detected[k]` is licence k's verdict.
// `samples` is the probes per key the answers were made with (as for judge).
AuditResult audit_answers(const FingerprintSet& set, int samples, const std::vector<AuditAnswer>& answers,
                          const std::vector<bool>& detected, const LedgerCalls& ledger, const AuditSettings& settings);
// The receipt check alone (served first, then forged), for judging before the audit.
void split_by_receipt(const FingerprintSet& set, int samples, const std::vector<AuditAnswer>& answers,
                      const crypto::PublicKey& node_key, std::vector<AuditAnswer>& served,
                      std::vector<AuditAnswer>& forged);

// The `audit` record of one licence (man/omlkit-formats.5, AUDIT RECORDS).
json::Value audit_record(const FingerprintSet& set, const LicenceAudit& audit, const Verdict& verdict,
                         const AuditResult& result, const LedgerCalls& ledger, const AuditSettings& settings,
                         const std::optional<std::string>& proof, const std::optional<std::string>& slash);

// "90s", "30m", "24h", "7d" or plain seconds -> milliseconds; nullopt when malformed.
std::optional<int64_t> parse_duration_ms(const std::string& text);
// The ledger's time format -> Unix milliseconds; nullopt when malformed.
std::optional<int64_t> parse_timestamp_ms(const std::string& text);

}  // namespace omlkit::fingerprint
