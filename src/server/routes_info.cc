// src/server/routes_info.cc - GET /health, /metrics, /v1/models, /v1/models/{id} and the web page.
#include <nlohmann/json.hpp>

#include <string_view>

#include "audio/encoder.h"
#include "cosyvoice/version.h"
#include "server/server.h"

namespace cosyvoice::server {
namespace web {
std::string_view EmbeddedFile(
    std::string_view name);  // generated from src/server/web/ (cmake/EmbedFiles.cmake)
}

namespace {

nlohmann::json ModelObject(const std::string &id) {
  return {{"id", id}, {"object", "model"}, {"created", 0}, {"owned_by", "cosyvoice-ort"}};
}

void ServeAsset(const CallPtr &call, const char *name, const char *type) {
  const std::string_view data = web::EmbeddedFile(name);
  call->res.set_content(std::string(data), type);
  call->res.set_header("Cache-Control", "no-cache");
  // The page loads nothing from elsewhere; say so to the browser too.
  call->res.set_header(
      "Content-Security-Policy",
      "default-src 'self'; media-src 'self' blob:; img-src 'self' data:; connect-src 'self' blob:");
  call->res.set_header("X-Content-Type-Options", "nosniff");
}

}  // namespace

void RegisterInfoRoutes(Router &router, ServerState &state) {
  using M = Router::Method;
  router.Add(M::kGet, "/health", "/health", Access::kPublic, [&state, &router](const CallPtr &call) {
    nlohmann::json j = {{"status", state.draining ? "shutting_down" : "ok"},
                        {"model", state.backend->model_name()},
                        {"sample_rate", state.backend->sample_rate()},
                        {"version", kVersion},
                        {"workers", state.pool->workers()},
                        {"in_flight", state.pool->running()},
                        {"queued", state.pool->queued()},
                        {"queue_capacity", state.pool->queue_capacity()},
                        {"auth_required", router.auth_required()},
                        {"voice_store", state.store->Describe()}};
    nlohmann::json formats = nlohmann::json::array();
    for (AudioFormat f : AvailableFormats(state.backend->sample_rate()))
      formats.push_back(AudioFormatName(f));
    j["formats"] = formats;
    call->Json(j.dump(), state.draining ? 503 : 200);
  });
  router.Add(M::kGet, "/metrics", "/metrics", Access::kKey, [&state](const CallPtr &call) {
    Metrics::Gauges g;
    g.queued = state.pool->queued();
    g.running = state.pool->running();
    g.workers = state.pool->workers();
    g.queue_capacity = state.pool->queue_capacity();
    g.voices = state.store->Count();
    call->res.set_content(state.metrics.Render(g), "text/plain; version=0.0.4");
  });
  router.Add(M::kGet, "/v1/models", "/v1/models", Access::kKey, [&state](const CallPtr &call) {
    nlohmann::json data = nlohmann::json::array();
    for (const auto &id : state.model_ids) data.push_back(ModelObject(id));
    call->Json(nlohmann::json{{"object", "list"}, {"data", data}}.dump());
  });
  router.Add(
      M::kGet, R"(/v1/models/([^/]+))", "/v1/models/{id}", Access::kKey, [&state](const CallPtr &call) {
        const std::string id = call->req.matches[1];
        for (const auto &known : state.model_ids)
          if (known == id) return call->Json(ModelObject(id).dump());
        throw ApiException(NotFound("model", "model '" + id + "' is not served here", "model_not_found"));
      });
  router.Add(M::kGet, "/", "/", Access::kPublic,
             [](const CallPtr &call) { ServeAsset(call, "index.html", "text/html; charset=utf-8"); });
  // Browsers ask for it; the page has none.
  router.Add(M::kGet, "/favicon.ico", "/favicon.ico", Access::kPublic, [](const CallPtr &call) {
    call->status = 204;
    call->res.status = 204;
  });
  router.Add(M::kGet, "/app.js", "/app.js", Access::kPublic,
             [](const CallPtr &call) { ServeAsset(call, "app.js", "text/javascript; charset=utf-8"); });
  router.Add(M::kGet, "/style.css", "/style.css", Access::kPublic,
             [](const CallPtr &call) { ServeAsset(call, "style.css", "text/css; charset=utf-8"); });
}

}  // namespace cosyvoice::server
