// src/server/server.cc - HttpServer: configuration of cpp-httplib, the routes, and shutdown.
#include "server/server.h"

#include <sys/socket.h>

#include <algorithm>

#include "common/log.h"
#include "cosyvoice/error.h"

namespace cosyvoice::server {

void ServerState::CheckAccepting() const {
  if (!draining) return;
  ApiError e;
  e.status = 503;
  e.type = "server_error";
  e.code = "shutting_down";
  e.message = "the server is shutting down and takes no new work";
  throw ApiException(e);
}

HttpServer::HttpServer(ServerConfig config, std::unique_ptr<EngineBackend> backend,
                       std::unique_ptr<VoiceStore> store)
    : state_(std::make_unique<ServerState>()) {
  ServerState &s = *state_;
  s.config = std::move(config);
  s.backend = std::move(backend);
  s.store = std::move(store);
  s.limits.max_text_chars = s.config.max_text_chars;
  s.limits.max_tokens_cap = s.config.max_tokens_cap;
  s.limits.sample_rate = s.backend->sample_rate();
  // Our own ids first; the OpenAI names are accepted so that unmodified clients work.
  s.model_ids = {s.backend->model_name(), "cosyvoice3", "tts-1", "tts-1-hd", "gpt-4o-mini-tts"};
  s.model_ids.erase(std::unique(s.model_ids.begin(), s.model_ids.end()), s.model_ids.end());
  s.pool = std::make_unique<WorkerPool>(*s.backend, s.config.ResolvedWorkers(), s.config.ResolvedQueue());
  s.text_sessions = std::make_unique<TextSessions>(s.config.max_text_sessions, s.config.max_text_chars,
                                                   s.config.text_idle_seconds);

  // Every waiting or running request holds one HTTP thread (its response is written from it), so
  // there are enough for all the pool admits plus headroom for /health, /metrics and the page.
  const size_t threads = static_cast<size_t>(s.pool->workers() + s.pool->queue_capacity() + 16);
  http_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_.set_payload_max_length(s.config.max_body_bytes);
  http_.set_read_timeout(30, 0);   // a client that stops sending its body
  http_.set_write_timeout(30, 0);  // a client that stops reading
  http_.set_keep_alive_timeout(5);
  http_.set_tcp_nodelay(true);  // small audio chunks must not wait for Nagle
  // Instead of cpp-httplib's default SO_REUSEPORT, which would let a second server bind the same
  // port and silently share it: SO_REUSEADDR only, so a taken port is an error. The listening
  // socket is remembered for Shutdown.
  http_.set_socket_options([this](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    listen_fd_ = sock;
  });
  http_.set_error_handler([](const httplib::Request &req, httplib::Response &res) {
    // cpp-httplib's own answers (404, 413 payload too large, 400 bad request) as error objects.
    if (!res.body.empty()) return;
    ApiError e;
    e.status = res.status;
    e.type = res.status < 500 ? "invalid_request_error" : "server_error";
    e.code = res.status == 404 ? "not_found" : res.status == 413 ? "too_large" : "http_error";
    // cpp-httplib refuses a POST, PUT or PATCH that announces no body length with a bare 400.
    const bool no_length = res.status == 400 && !req.has_header("Content-Length") &&
                           !req.has_header("Transfer-Encoding") &&
                           (req.method == "POST" || req.method == "PUT" || req.method == "PATCH");
    if (no_length) e.code = "length_required";
    e.message =
        no_length ? req.method + " needs a Content-Length header (or a chunked body), even for an empty body"
        : res.status == 404 ? "no such route: see docs/server.md for the API"
        : res.status == 413 ? "the request body is larger than the server accepts (--max-body-mb)"
                            : "the request could not be handled (HTTP " + std::to_string(res.status) + ")";
    res.set_content(e.ToJson(), "application/json");
  });

  router_ = std::make_unique<Router>(http_, s.metrics, s.config.api_keys, !s.config.quiet_requests);
  s.router = router_.get();
  RegisterInfoRoutes(*router_, s);
  RegisterOpenAiRoutes(*router_, s);
  RegisterVoiceRoutes(*router_, s);
  RegisterNativeRoutes(*router_, s);
  RegisterOfficialRoutes(*router_, s);
  RegisterTextStreamRoutes(*router_, s);
  router_->AddMethodNotAllowed();  // last: after every real route
}

HttpServer::~HttpServer() {
  http_.stop();
  state_->pool->Stop();
}

int HttpServer::Bind() {
  const ServerConfig &c = state_->config;
  if (c.port == 0) {
    port_ = http_.bind_to_any_port(c.host);
  } else {
    port_ = http_.bind_to_port(c.host, c.port) ? c.port : -1;
  }
  if (port_ <= 0)
    throw Error(ErrorCode::kIo, "cannot listen on " + c.host + ":" + std::to_string(c.port) +
                                    " (is the port in use, or the address not this machine's?)");
  // Debian's cpp-httplib 0.11 is a compiled library that listens with a backlog of 5
  // (CPPHTTPLIB_LISTEN_BACKLOG, fixed at its build); a burst of clients connecting while the accept
  // thread waits for a core (both busy synthesizing) overflows that queue. listen(2) again on the
  // listening socket only raises the backlog (to the system's cap, net.core.somaxconn).
  if (listen_fd_ >= 0 && ::listen(listen_fd_, SOMAXCONN) != 0)
    COSY_LOG(kWarning) << "could not raise the listen backlog; connection bursts may be refused";
  return port_;
}

void HttpServer::Run() {
  if (port_ <= 0) Bind();
  http_.listen_after_bind();
}

void HttpServer::Shutdown() {
  std::call_once(shutdown_once_, [this] {
    ServerState &s = *state_;
    s.draining = true;
    COSY_LOG(kInfo) << "shutting down: no new connections; " << s.pool->running() << " running and "
                    << s.pool->queued() << " queued jobs may finish within "
                    << s.config.shutdown_grace_seconds << " s";
    // Shutting the listening socket down ends cpp-httplib's accept loop; Server::stop() would also
    // make it abandon responses still being streamed (its is_shutting_down check), which must finish.
    if (listen_fd_ >= 0) ::shutdown(listen_fd_, SHUT_RDWR);
    const auto grace = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(s.config.shutdown_grace_seconds));
    if (!s.pool->WaitIdle(Clock::now() + grace)) {
      COSY_LOG(kWarning) << "grace period over: cancelling " << s.pool->running() + s.pool->queued()
                         << " jobs";
      ApiError why;
      why.status = 503;
      why.type = "server_error";
      why.code = "shutting_down";
      why.message = "the server shut down before this request finished";
      s.pool->CancelAll(why);
    }
  });
}

}  // namespace cosyvoice::server
