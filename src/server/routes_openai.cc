// src/server/routes_openai.cc - POST /v1/audio/speech, OpenAI-compatible
// (https://platform.openai.com/docs/api-reference/audio/createSpeech), with extensions in the same
// JSON object (the openai clients send them through extra_body): seed, mode, steps, stream,
// min_tokens, max_tokens, text_frontend.
#include "server/server.h"
#include "server/synthesis_response.h"

namespace cosyvoice::server {

// The voice named by a request, from the library; 404 listing what exists.
std::shared_ptr<const Voice> ResolveVoice(ServerState &state, const std::string &key) {
  auto voice = state.store->Load(key);
  if (voice) return voice;
  std::string names;
  for (const auto &r : state.store->List()) names += (names.empty() ? "" : ", ") + r.name;
  throw ApiException(
      NotFound("voice",
               "voice '" + key + "' is not in the voice library (" +
                   (names.empty() ? std::string("which is empty: add one with POST /v1/audio/voices")
                                  : "voices: " + names) +
                   ")",
               "voice_not_found"));
}

void RegisterOpenAiRoutes(Router &router, ServerState &state) {
  router.Add(Router::Method::kPost, "/v1/audio/speech", "/v1/audio/speech", Access::kKey,
             [&state](const CallPtr &call) {
               state.CheckAccepting();
               auto job = std::make_shared<SpeechJob>();
               job->request = ParseOpenAiSpeech(call->req.body, state.limits, state.model_ids);
               job->voice = ResolveVoice(state, job->request.voice);
               RespondWithSpeech(state, call, job);
             });
}

}  // namespace cosyvoice::server
