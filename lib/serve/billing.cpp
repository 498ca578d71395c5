#include "serve/billing.h"

#include <chrono>

#include "crypto/call_receipt.h"
#include "io/error.h"

namespace omlkit::serve {
namespace {

// The prompt as the log and the receipt carry it: a token-id prompt decoded.
std::string logged_prompt(const Billing& billing, const CompletionRequest& request) {
  if (request.prompt_is_text || !billing.tokenizer) return request.prompt_text;
  return billing.tokenizer->decode(request.prompt);
}

}  // namespace

void attach_billing(ServerOptions& options, std::shared_ptr<const Billing> billing) {
  if (billing->keys)
    options.authorize = [billing](const std::string&, const std::string& path, const std::string& header) {
      if (path.rfind("/v1/", 0) != 0) return std::string();
      return billing->keys->payer(header) ? std::string()
                                          : std::string("a known API key is required: Authorization: Bearer <key>");
    };
  if (billing->node_key)
    options.make_id = [billing](const CompletionRequest& request, const CompletionResult& result) {
      return crypto::make_call_id(*billing->node_key, logged_prompt(*billing, request), result.text);
    };
  if (!billing->log) return;
  options.on_completion = [billing](const CompletionRequest& request, const CompletionResult& result,
                                    const std::string& id, const std::string& header) {
    try {
      CallFacts call;
      call.id = id;
      call.model = billing->model_id;
      std::optional<std::string> payer = billing->keys ? billing->keys->payer(header) : std::nullopt;
      if (!payer) throw Error(exit_code::internal, "", "a logged call without a payer");
      call.payer = *payer;
      call.node = billing->node;
      call.prompt = logged_prompt(*billing, request);
      call.output = result.text;
      call.prompt_tokens = request.prompt.size();
      // As the response's usage counts them: an end-of-sequence token is generated work.
      call.output_tokens = result.tokens.size() + (result.finish_reason == "stop" ? 1 : 0);
      call.unix_millis = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count();
      billing->log->append(call_record_line(call, billing->price));
    } catch (const Error& e) {
      if (billing->on_log_error) billing->on_log_error(e);
      throw;
    }
  };
}

}  // namespace omlkit::serve
