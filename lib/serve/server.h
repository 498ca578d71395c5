// The HTTP endpoint of `model-run serve`: cpp-httplib (Debian's libcpp-httplib-dev) with
// POST /v1/completions, GET /v1/models and GET /health, one model, requests served one at
// a time on the model (a Transformer is not thread-safe) while connections are accepted
// concurrently.
//
// Extension points for what a deployment adds (API keys, a call log): `authorize` runs
// before every route and may refuse a request; `make_id` names each completion; and
// `on_completion` sees every completion before its answer is sent, and may refuse to let
// it go out. They are plain callbacks so that lib/serve stays free of policy.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "serve/completions.h"

namespace omlkit::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";  // loopback unless the user asks for more
  int port = 8000;                 // 0 picks a free port (see CompletionServer::port)
  int threads = 4;                 // connection-handling threads
  // Returns an empty string to let the request through, else the refusal message (401).
  std::function<std::string(const std::string& method, const std::string& path,
                            const std::string& authorization_header)>
      authorize;
  // The response id of a completion (default "cmpl-<n>", n counting from 1).
  std::function<std::string(const CompletionRequest&, const CompletionResult&)> make_id;
  // Called after each successful completion, outside the model lock, before the answer is
  // sent. When it throws omlkit::Error the client gets a 503 instead of the answer.
  std::function<void(const CompletionRequest&, const CompletionResult&, const std::string& id,
                     const std::string& authorization_header)>
      on_completion;
};

class CompletionServer {
 public:
  CompletionServer(ServedModel served, ServerOptions options);
  ~CompletionServer();

  // Binds the socket. Throws omlkit::Error 74 when the address cannot be bound.
  void bind();
  int port() const { return port_; }
  // Serves until stop() (from another thread or a signal handler's thread).
  void run();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace omlkit::serve
