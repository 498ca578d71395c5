// What makes a served model a paid deployment (model-run serve --api-keys, --call-log,
// --price, --node, --node-key): requests need a known bearer token, each answered call is
// logged with its payer and fee before its answer goes out, and call ids are signed
// receipts (crypto/call_receipt.h). attach_billing wires these into ServerOptions.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "crypto/ed25519.h"
#include "io/error.h"
#include "model/tokenizer.h"
#include "serve/api_keys.h"
#include "serve/call_log.h"
#include "serve/server.h"

namespace omlkit::serve {

struct Billing {
  std::shared_ptr<const ApiKeys> keys;   // null: every request is let through
  std::shared_ptr<CallLog> log;          // null: nothing is logged (then keys may be null)
  Price price;
  std::string node;                      // the serving node's account
  std::string model_id;                  // the model's id on the ledger
  std::optional<crypto::SigningKey> node_key;  // set: call ids are signed receipts
  const model::Tokenizer* tokenizer = nullptr; // token-id prompts as text, in the log and receipts
  // Told about a call the log could not take (the client got a 503).
  std::function<void(const Error&)> on_log_error;
};

// Sets options.authorize (401 for /v1/ paths without a known token; /health stays open),
// options.make_id (signed receipts when billing.node_key is set) and options.on_completion
// (one call record per answered request). The tokens never reach the log or a message.
void attach_billing(ServerOptions& options, std::shared_ptr<const Billing> billing);

}  // namespace omlkit::serve
