// src/server/server.h - `cosyvoice serve`: the HTTP server around a worker pool on one model.
//
//   ServerConfig config;  config.model_dir = "bundle";
//   HttpServer server(config, LoadEngineBackend(model_config), OpenSqliteVoiceStore(dir, 1000));
//   int port = server.Bind();   // throws Error(kIo) when the address is taken
//   server.Run();               // until Shutdown() (SIGTERM): stop accepting, drain, return
//
// Routes (docs/server.md): the OpenAI-compatible /v1/audio/speech, the voice library
// /v1/audio/voices, the page's /v1/audio/synthesize, the official /inference_* routes, /v1/models,
// /health, /metrics and the web page at /.
#pragma once

#include <httplib.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "server/engine_port.h"
#include "server/metrics.h"
#include "server/router.h"
#include "server/server_config.h"
#include "server/speech_request.h"
#include "server/text_sessions.h"
#include "server/voice_store.h"
#include "server/worker_pool.h"

namespace cosyvoice::server {

// What the route handlers share.
struct ServerState {
  ServerConfig config;
  std::unique_ptr<EngineBackend> backend;
  std::unique_ptr<VoiceStore> store;
  std::unique_ptr<WorkerPool> pool;
  std::unique_ptr<TextSessions> text_sessions;  // text-in streaming
  Metrics metrics;
  RequestLimits limits;
  std::vector<std::string> model_ids;  // accepted "model" values
  std::atomic<bool> draining{false};
  Router *router = nullptr;

  // 503 while shutting down.
  void CheckAccepting() const;
};

// Route groups (one file each).
void RegisterInfoRoutes(Router &router, ServerState &state);        // /health /metrics /v1/models /
void RegisterOpenAiRoutes(Router &router, ServerState &state);      // /v1/audio/speech
void RegisterVoiceRoutes(Router &router, ServerState &state);       // /v1/audio/voices[/{id}]
void RegisterNativeRoutes(Router &router, ServerState &state);      // /v1/audio/synthesize
void RegisterOfficialRoutes(Router &router, ServerState &state);    // /inference_*
void RegisterTextStreamRoutes(Router &router, ServerState &state);  // /v1/audio/speech/sessions...

class HttpServer {
 public:
  HttpServer(ServerConfig config, std::unique_ptr<EngineBackend> backend, std::unique_ptr<VoiceStore> store);
  ~HttpServer();
  HttpServer(const HttpServer &) = delete;
  HttpServer &operator=(const HttpServer &) = delete;

  // Binds the listening socket; returns the port (useful with port 0). Error(kIo) on failure.
  int Bind();
  // Serves until Shutdown() has drained the server.
  void Run();
  // Stops accepting connections, lets running and queued jobs finish until the grace deadline,
  // then cancels the rest. Blocks until the jobs are over; safe from any thread, idempotent.
  void Shutdown();

  ServerState &state() { return *state_; }

 private:
  std::unique_ptr<ServerState> state_;
  httplib::Server http_;
  std::unique_ptr<Router> router_;
  std::once_flag shutdown_once_;
  int port_ = -1;
  std::atomic<int> listen_fd_{-1};
};

}  // namespace cosyvoice::server
