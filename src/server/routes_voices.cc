// src/server/routes_voices.cc - the voice library: GET/POST /v1/audio/voices, GET/DELETE
// /v1/audio/voices/{id}. A voice is prepared once from a prompt recording (speech tokens, speaker
// embedding, prompt mel) and stored durably (voice_store.h).
//
// The listing has Kokoro-FastAPI's shape {"voices": [{"id", "name", ...}]}: Open WebUI and other
// OpenAI-speech clients read voice["id"].
#include <nlohmann/json.hpp>

#include "server/form.h"
#include "server/server.h"
#include "server/synthesis_response.h"

namespace cosyvoice::server {
namespace {

nlohmann::json VoiceJson(const VoiceRecord &r) {
  return {{"id", r.id},
          {"object", "voice"},
          {"name", r.name},
          {"duration", r.prompt_seconds},
          {"created", r.created},
          {"transcript", r.transcript},
          {"frontend_id", r.frontend_id}};
}

void CreateVoice(ServerState &state, const CallPtr &call) {
  state.CheckAccepting();
  const Form form = ReadForm(call->req, *call->reader, FormLimits{state.config.max_form_parts});
  auto field = [&](const char *key) {
    auto it = form.fields.find(key);
    return it == form.fields.end() ? std::string() : it->second;
  };
  const std::string name = field("name");
  ValidateVoiceName(name);
  if (state.store->Find(name)) {
    throw ApiException(NameTaken(name));
  }
  const FormFile *audio = form.File("audio");
  if (audio == nullptr)
    throw ApiException(BadRequest(
        "audio", "the prompt recording is missing: send it as the file field 'audio'", "missing_field"));
  std::string transcript = field("transcript");
  if (transcript.empty()) transcript = field("prompt_text");
  if (CountCodePoints(transcript) > state.limits.max_text_chars)
    throw ApiException(BadRequest("transcript", "transcript is too long", "text_too_long"));
  const auto prompt = DecodeUpload("audio", audio->filename, audio->data, state.config.max_prompt_seconds);
  // Only the file name (no directories) is kept as the voice's source.
  std::string source = audio->filename;
  if (const auto slash = source.find_last_of("/\\"); slash != std::string::npos)
    source = source.substr(slash + 1);
  Voice voice;
  RunOnWorker(state, call,
              [&](EngineWorker &worker) { voice = worker.CreateVoice(*prompt, transcript, source); });
  const VoiceRecord record = state.store->Add(name, voice);
  call->Json(VoiceJson(record).dump(), 201);
}

}  // namespace

void RegisterVoiceRoutes(Router &router, ServerState &state) {
  using M = Router::Method;
  router.Add(M::kGet, "/v1/audio/voices", "/v1/audio/voices", Access::kKey, [&state](const CallPtr &call) {
    nlohmann::json voices = nlohmann::json::array();
    for (const auto &r : state.store->List()) voices.push_back(VoiceJson(r));
    call->Json(nlohmann::json{{"voices", voices}}.dump());
  });
  router.Add(
      M::kPost, "/v1/audio/voices", "/v1/audio/voices", Access::kKey,
      [&state](const CallPtr &call) { CreateVoice(state, call); }, /*body_reader=*/true);
  router.Add(M::kGet, R"(/v1/audio/voices/([^/]+))", "/v1/audio/voices/{id}", Access::kKey,
             [&state](const CallPtr &call) {
               const std::string key = call->req.matches[1];
               const auto record = state.store->Find(key);
               if (!record)
                 throw ApiException(
                     NotFound("voice", "voice '" + key + "' is not in the voice library", "voice_not_found"));
               call->Json(VoiceJson(*record).dump());
             });
  router.Add(M::kDelete, R"(/v1/audio/voices/([^/]+))", "/v1/audio/voices/{id}", Access::kKey,
             [&state](const CallPtr &call) {
               const std::string key = call->req.matches[1];
               const auto record = state.store->Find(key);
               if (!record || !state.store->Remove(record->id))
                 throw ApiException(
                     NotFound("voice", "voice '" + key + "' is not in the voice library", "voice_not_found"));
               call->Json(nlohmann::json{{"id", record->id}, {"object", "voice"}, {"deleted", true}}.dump());
             });
}

}  // namespace cosyvoice::server
