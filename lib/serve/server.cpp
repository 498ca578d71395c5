#include "serve/server.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdio>

#include "io/error.h"

namespace omlkit::serve {

struct CompletionServer::Impl {
  ServedModel served;
  ServerOptions options;
  httplib::Server http;
  std::mutex model_lock;
  std::atomic<uint64_t> next_id{1};
};

namespace {

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void send_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(error_body(message), "application/json");
}

}  // namespace

CompletionServer::CompletionServer(ServedModel served, ServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->served = std::move(served);
  impl_->options = std::move(options);
  Impl* s = impl_.get();
  const int threads = std::max(1, s->options.threads);
  s->http.new_task_queue = [threads] { return new httplib::ThreadPool(size_t(threads)); };
  s->http.set_payload_max_length(8u << 20);
  // Headers and body go out in separate writes: with Nagle's algorithm the body waits for
  // the client's delayed ACK of the headers (up to 40 ms on Linux) on every keep-alive call.
  s->http.set_tcp_nodelay(true);
  // cpp-httplib's default also sets SO_REUSEPORT, which lets a second server bind the same
  // port and silently take half the requests; a busy port must be an error instead.
  s->http.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });

  s->http.set_pre_routing_handler([s](const httplib::Request& req, httplib::Response& res) {
    if (!s->options.authorize) return httplib::Server::HandlerResponse::Unhandled;
    std::string refusal = s->options.authorize(req.method, req.path, req.get_header_value("Authorization"));
    if (refusal.empty()) return httplib::Server::HandlerResponse::Unhandled;
    send_error(res, 401, refusal);
    return httplib::Server::HandlerResponse::Handled;
  });
  s->http.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"status\":\"ok\"}", "application/json");
  });
  s->http.Get("/v1/models", [s](const httplib::Request&, httplib::Response& res) {
    res.set_content(models_body(s->served, unix_now()), "application/json");
  });
  s->http.Post("/v1/completions", [s](const httplib::Request& req, httplib::Response& res) {
    try {
      CompletionRequest request = parse_completion_request(req.body, s->served);
      CompletionResult result;
      {
        std::lock_guard<std::mutex> hold(s->model_lock);
        result = complete(s->served, request);
      }
      std::string id = s->options.make_id ? s->options.make_id(request, result) : "cmpl-" + std::to_string(s->next_id.fetch_add(1));
      if (s->options.on_completion) {
        try {
          s->options.on_completion(request, result, id, req.get_header_value("Authorization"));
        } catch (const Error&) {
          send_error(res, 503, "this server could not record the call, so it does not answer it");
          return;
        }
      }
      res.set_content(completion_response_body(s->served, request, result, id, unix_now()), "application/json");
    } catch (const RequestError& e) {
      send_error(res, e.status(), e.what());
    } catch (const Error& e) {
      send_error(res, 400, e.what());  // the engine refused this input (65)
    }
  });
  s->http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    send_error(res, 500, "internal error");
  });
}

CompletionServer::~CompletionServer() = default;

void CompletionServer::bind() {
  Impl* s = impl_.get();
  if (s->options.port == 0) {
    port_ = s->http.bind_to_any_port(s->options.host);
  } else {
    port_ = s->http.bind_to_port(s->options.host, s->options.port) ? s->options.port : -1;
  }
  if (port_ <= 0)
    throw Error(exit_code::io, "", "cannot listen on " + s->options.host + ":" + std::to_string(s->options.port) +
                                       " (address in use, or not an address of this machine)");
}

void CompletionServer::run() {
  if (!impl_->http.listen_after_bind()) throw Error(exit_code::io, "", "the server stopped on a socket error");
}

void CompletionServer::stop() { impl_->http.stop(); }

}  // namespace omlkit::serve
