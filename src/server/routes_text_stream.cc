// src/server/routes_text_stream.cc - text-in streaming sessions (text_sessions.h has the design):
// /v1/audio/speech/sessions[/{id}[/text|/audio]].
#include <nlohmann/json.hpp>

#include "server/server.h"
#include "server/synthesis_response.h"

namespace cosyvoice::server {
namespace {

using json = nlohmann::json;
constexpr const char *kBase = "/v1/audio/speech/sessions";

// The opening request: /v1/audio/speech's JSON, with "input" optional (the first text).
void OpenSession(ServerState &state, const CallPtr &call) {
  state.CheckAccepting();
  auto job = std::make_shared<SpeechJob>();
  job->request = ParseOpenAiSpeech(call->req.body, state.limits, state.model_ids, /*input_required=*/false);
  job->voice = ResolveVoice(state, job->request.voice);
  // The engine reads text as it arrives only in the modes whose prompt ends with <|endofprompt|>
  // (include/cosyvoice/cosyvoice.h, SynthesisRequest::text_source).
  const Mode mode = ResolveMode(job->request, *job->voice);
  if (mode != Mode::kZeroShot && mode != Mode::kInstruct2)
    throw ApiException(
        BadRequest(job->request.mode ? "mode" : "voice",
                   std::string("text-in streaming runs zero_shot (a voice with a transcript) or "
                               "instruct2 (with instructions), not ") +
                       ModeName(mode),
                   "mode_not_streamable"));
  if (job->request.transport == Transport::kWhole)
    throw ApiException(
        BadRequest("response_format",
                   "a text session's audio is sent while it is made: use wav, pcm, mp3 or opus "
                   "(and not \"stream\": false)"));
  if (job->request.options.speed != 1.0f)
    throw ApiException(
        BadRequest("speed", "a text session speaks at speed 1 (speed rescales whole sentences)"));
  std::string first = std::move(job->request.text);
  job->request.text.clear();
  const TextSessions::Entry entry = state.text_sessions->Open(job);
  if (!first.empty()) entry.session->Append(first, false);
  const std::string base = std::string(kBase) + "/" + entry.session->id();
  call->Json(json{{"id", entry.session->id()},
                  {"object", "speech.session"},
                  {"text_url", base + "/text"},
                  {"audio_url", base + "/audio"},
                  {"max_text_chars", state.limits.max_text_chars},
                  {"idle_timeout_seconds", state.text_sessions->idle_seconds()}}
                 .dump(),
             201);
}

// {"text": "...", "end": true|false}: either may be left out.
void AddText(ServerState &state, const CallPtr &call) {
  const TextSessions::Entry entry = state.text_sessions->Find(call->req.matches[1]);
  json j;
  try {
    j = json::parse(call->req.body);
  } catch (const json::parse_error &e) {
    throw ApiException(
        BadRequest("", std::string("the body is not valid JSON: ") + e.what(), "invalid_json"));
  }
  if (!j.is_object()) throw ApiException(BadRequest("", "the body must be a JSON object", "invalid_json"));
  for (const auto &item : j.items())
    if (item.key() != "text" && item.key() != "end")
      throw ApiException(
          BadRequest(item.key(), "unknown field '" + item.key() + "': send \"text\" and/or \"end\""));
  std::string text;
  bool end = false;
  if (j.contains("text")) {
    if (!j["text"].is_string()) throw ApiException(BadRequest("text", "text must be a string"));
    text = j["text"].get<std::string>();
  }
  if (j.contains("end")) {
    if (!j["end"].is_boolean()) throw ApiException(BadRequest("end", "end must be true or false"));
    end = j["end"].get<bool>();
  }
  const size_t chars = entry.session->Append(text, end);
  call->Json(json{{"id", entry.session->id()}, {"received_chars", chars}, {"ended", end}}.dump());
}

void StreamAudio(ServerState &state, const CallPtr &call) {
  const TextSessions::Entry entry = state.text_sessions->Find(call->req.matches[1]);
  if (!entry.session->TakeAudio()) {
    throw ApiException(
        Conflict("", "this session's audio is already being read (it can be read once)", "audio_taken"));
  }
  RespondWithSpeech(state, call, entry.job);
}

}  // namespace

void RegisterTextStreamRoutes(Router &router, ServerState &state) {
  using M = Router::Method;
  const std::string id = "/([0-9a-f]{32})";
  const std::string label = std::string(kBase) + "/{id}";
  router.Add(M::kPost, kBase, kBase, Access::kKey,
             [&state](const CallPtr &call) { OpenSession(state, call); });
  router.Add(M::kPost, kBase + id + "/text", label + "/text", Access::kKey,
             [&state](const CallPtr &call) { AddText(state, call); });
  router.Add(M::kGet, kBase + id + "/audio", label + "/audio", Access::kKey,
             [&state](const CallPtr &call) { StreamAudio(state, call); });
  router.Add(M::kDelete, kBase + id, label, Access::kKey, [&state](const CallPtr &call) {
    state.text_sessions->Find(call->req.matches[1]);  // 404 for an unknown id
    state.text_sessions->Close(call->req.matches[1]);
    call->res.status = call->status = 204;
  });
}

}  // namespace cosyvoice::server
