// Signed call ids: the receipt a serving node gives with every answer, so that whoever
// holds an answer can prove the node served it, and nobody can invent one it did not.
//
// id = "cmpl-" + nonce (32 hex digits, random per call) + "-" + signature (128 hex digits),
// the signature being the node's Ed25519 signature over
//   "omlkit-call-receipt-v1\n" + nonce + "\n" + hex(SHA-256(prompt)) + "\n" +
//   hex(SHA-256(output)) + "\n"
// (prompt and output as UTF-8 text), so a receipt cannot be moved to another prompt.
// The id is what the OpenAI response's "id" carries, so any client keeps it without
// knowing about receipts; the call log and the ledger's inference.fee carry the same id.
#pragma once

#include <string>
#include <string_view>

#include "crypto/ed25519.h"

namespace omlkit::crypto {

// A fresh id for a call that answered `prompt` with `output`.
std::string make_call_id(const SigningKey& key, std::string_view prompt, std::string_view output);

// True when `id` has the form above and its signature over `prompt` and `output` verifies
// under `key`.
bool verify_call_id(const PublicKey& key, std::string_view id, std::string_view prompt, std::string_view output);

}  // namespace omlkit::crypto
