// src/server/routes_native.cc - POST /v1/audio/synthesize: every mode in one multipart route, for
// the web page and scripts. Fields: mode, text, instruct, voice (a library voice) or prompt_audio
// (+ prompt_text), source_audio (vc), seed, speed, stream, steps, min_tokens, max_tokens,
// response_format (default wav), text_frontend.
#include "server/form.h"
#include "server/server.h"
#include "server/synthesis_response.h"

namespace cosyvoice::server {

void RegisterNativeRoutes(Router &router, ServerState &state) {
  router.Add(
      Router::Method::kPost, "/v1/audio/synthesize", "/v1/audio/synthesize", Access::kKey,
      [&state](const CallPtr &call) {
        state.CheckAccepting();
        const Form form = ReadForm(call->req, *call->reader, FormLimits{state.config.max_form_parts});
        auto job = std::make_shared<SpeechJob>();
        job->request = ParseSpeechForm(form.fields, state.limits, "text", AudioFormat::kWav);
        if (const FormFile *prompt = form.File("prompt_audio")) {
          job->prompt =
              DecodeUpload("prompt_audio", prompt->filename, prompt->data, state.config.max_prompt_seconds);
          auto it = form.fields.find("prompt_text");
          job->prompt_transcript = it == form.fields.end() ? "" : it->second;
          job->prompt_name = prompt->filename;
        } else if (!job->request.voice.empty()) {
          job->voice = ResolveVoice(state, job->request.voice);
        } else {
          throw ApiException(BadRequest(
              "voice",
              "give a voice from the library (field voice) or a prompt recording (file field prompt_audio)",
              "missing_field"));
        }
        if (job->request.mode == Mode::kVoiceConversion) {
          const FormFile *source = form.File("source_audio");
          if (source == nullptr)
            throw ApiException(BadRequest(
                "source_audio", "voice conversion needs the recording to re-voice (file field source_audio)",
                "missing_field"));
          job->source =
              DecodeUpload("source_audio", source->filename, source->data, state.config.max_prompt_seconds);
        }
        RespondWithSpeech(state, call, job);
      },
      /*body_reader=*/true);
}

}  // namespace cosyvoice::server
