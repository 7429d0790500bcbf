// src/server/routes_official.cc - the official CosyVoice FastAPI server's routes, for existing
// clients (https://github.com/FunAudioLLM/CosyVoice/blob/main/runtime/python/fastapi/server.py):
// form fields tts_text, prompt_text, instruct_text and the file prompt_wav; the answer is raw int16
// little-endian mono PCM, streamed. Unlike upstream we also state the sample rate (X-Sample-Rate,
// and the Content-Type's rate parameter): upstream's client.py assumes 22050 Hz, CosyVoice3 is 24 kHz.
//
// /inference_sft takes spk_id as a voice from the voice library (CosyVoice3 has no built-in
// speakers). Upstream registers GET too, and its client.py sends a GET with a form body; HTTP
// servers do not read GET bodies (cpp-httplib neither), so send POST: requests.post(url, data=...,
// files=...). Extensions: seed, speed, stream (sentence-internal streaming, default off as upstream), steps,
// min_tokens, max_tokens.
#include "server/form.h"
#include "server/server.h"
#include "server/synthesis_response.h"

namespace cosyvoice::server {
namespace {

void Official(ServerState &state, const CallPtr &call, Mode mode, bool needs_prompt) {
  state.CheckAccepting();
  const Form form = ReadForm(call->req, *call->reader, FormLimits{state.config.max_form_parts});
  auto fields = form.fields;
  fields.erase("mode");
  fields.erase("response_format");
  auto job = std::make_shared<SpeechJob>();
  job->request = ParseSpeechForm(fields, state.limits, "tts_text", AudioFormat::kPcm);
  job->request.mode = mode;
  job->request.transport = Transport::kChunked;
  // Upstream calls the model with stream=False: one chunk per sentence unless asked otherwise.
  auto stream = fields.find("stream");
  if (stream == fields.end()) job->request.options.stream = false;
  if (needs_prompt) {
    const FormFile *wav = form.File("prompt_wav");
    if (wav == nullptr)
      throw ApiException(BadRequest("prompt_wav",
                                    "the prompt recording is missing: send it as the file field prompt_wav",
                                    "missing_field"));
    job->prompt = DecodeUpload("prompt_wav", wav->filename, wav->data, state.config.max_prompt_seconds);
    auto text = fields.find("prompt_text");
    job->prompt_transcript = text == fields.end() ? "" : text->second;
    job->prompt_name = wav->filename;
    if (mode == Mode::kZeroShot && job->prompt_transcript.find_first_not_of(" \t\r\n") == std::string::npos)
      throw ApiException(BadRequest(
          "prompt_text", "zero-shot needs prompt_text: what the prompt recording says", "missing_field"));
    if (mode == Mode::kInstruct2 && job->request.instruct.find_first_not_of(" \t\r\n") == std::string::npos)
      throw ApiException(BadRequest(
          "instruct_text", "instruct2 needs instruct_text, e.g. 请用四川话说这句话。", "missing_field"));
  } else {
    if (job->request.voice.empty())
      throw ApiException(
          BadRequest("spk_id", "spk_id is required: a voice from GET /v1/audio/voices", "missing_field"));
    job->voice = ResolveVoice(state, job->request.voice);
    job->request.mode.reset();  // the voice decides: zero-shot with a transcript, else cross-lingual
  }
  RespondWithSpeech(state, call, job);
}

}  // namespace

void RegisterOfficialRoutes(Router &router, ServerState &state) {
  struct Route {
    const char *path;
    Mode mode;
    bool needs_prompt;
  };
  for (const Route r : {Route{"/inference_zero_shot", Mode::kZeroShot, true},
                        Route{"/inference_cross_lingual", Mode::kCrossLingual, true},
                        Route{"/inference_instruct2", Mode::kInstruct2, true},
                        Route{"/inference_sft", Mode::kZeroShot, false}}) {
    router.Add(
        Router::Method::kPost, r.path, r.path, Access::kKey,
        [&state, r](const CallPtr &call) { Official(state, call, r.mode, r.needs_prompt); },
        /*body_reader=*/true);
    router.AddRefusal(Router::Method::kGet, r.path, r.path, [](const CallPtr &call) {
      call->res.set_header("Allow", "POST");
      throw ApiException(MethodNotAllowed(
          "send this form with POST: a GET request's body is not read (upstream's client.py sends GET; use "
          "requests.post with the same data and files)",
          "use_post"));
    });
  }
}

}  // namespace cosyvoice::server
