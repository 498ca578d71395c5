// OpenAI-compatible text completions (POST /v1/completions) over one loaded model: the
// request's fields, how they are read, and the response body. Pure functions of their
// inputs apart from the model itself, so they are tested without a socket.
//
// Supported request fields: model (optional; must name the served model when given),
// prompt (a string, or an array of token ids, or a one-element array of either), max_tokens
// (default 16), temperature (default 1, as OpenAI), top_p (default 1), seed (default: a
// fresh random seed per request), n (only 1), stop (ignored: refused when given, so a
// client never believes it was honoured). Anything the model cannot do is a 400 with an
// OpenAI-style error body, never a silent approximation.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "model/generate.h"
#include "model/tokenizer.h"
#include "model/transformer.h"

namespace omlkit::serve {

// An error the client caused: HTTP status 400 (or 404) with this message.
class RequestError : public std::runtime_error {
 public:
  RequestError(int status, const std::string& message) : std::runtime_error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

struct CompletionRequest {
  std::vector<int32_t> prompt;  // token ids, the exact context the model runs on
  bool prompt_is_text = true;
  std::string prompt_text;      // the prompt as sent (a text prompt), else empty
  int max_tokens = 16;
  float temperature = 1.0f;
  float top_p = 1.0f;
  std::optional<uint64_t> seed;
};

struct CompletionResult {
  std::vector<int32_t> tokens;  // generated, without a final end-of-sequence token
  std::string text;             // decoded tokens
  std::string finish_reason;    // "stop" (end of sequence) or "length"
  uint64_t seed = 0;            // the seed that was used
};

struct ServedModel {
  std::string name;  // what /v1/models lists and requests may name
  model::Transformer* model = nullptr;
  const model::Tokenizer* tokenizer = nullptr;
  // How a text prompt becomes token ids (the deployment's context rule); by default the
  // tokenizer's own encoding with its special tokens (a BOS where its post-processor adds one).
  std::function<std::vector<int32_t>(std::string_view)> encode_prompt;
  int max_tokens_limit = 1024;
};

// Reads a request body. Throws RequestError(400) for malformed JSON, wrong types, values
// out of range, an unknown model, or a prompt longer than the model's context.
CompletionRequest parse_completion_request(std::string_view body, const ServedModel& served);

// Runs the model (callers serialise access: a Transformer runs one pass at a time).
CompletionResult complete(const ServedModel& served, const CompletionRequest& request);

// The OpenAI response body of one completion; `id` and `created` are given by the caller.
std::string completion_response_body(const ServedModel& served, const CompletionRequest& request,
                                     const CompletionResult& result, const std::string& id, int64_t created);

// {"error":{"message":...,"type":"invalid_request_error","code":null}}
std::string error_body(const std::string& message);

// GET /v1/models.
std::string models_body(const ServedModel& served, int64_t created);

}  // namespace omlkit::serve
