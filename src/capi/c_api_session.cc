// src/capi/c_api_session.cc - sessions and synthesis of the C API (include/cosyvoice/cosyvoice_c.h).
#include <algorithm>
#include <cstddef>
#include <iterator>
#include <memory>
#include <optional>
#include <string>

#include "capi/boundary.h"
#include "capi/handles.h"

using cosyvoice::Error;
using cosyvoice::ErrorCode;
using cosyvoice::capi::Guard;
using cosyvoice::capi::RequireArg;

static_assert(cosyvoice::capi::NoTailPadding<cosyvoice_request>(offsetof(cosyvoice_request, source_audio) +
                                                                sizeof(const cosyvoice_audio *)));
static_assert(cosyvoice::capi::NoTailPadding<cosyvoice_synthesis_params>(
    offsetof(cosyvoice_synthesis_params, reserved) + sizeof(int32_t)));

namespace {

// The C stream modes and the engine's: one table for both directions.
struct StreamModePair {
  int32_t c;
  cosyvoice::StreamMode mode;
};
constexpr StreamModePair kStreamModes[] = {
    {COSYVOICE_STREAM_EXACT, cosyvoice::StreamMode::kExact},
    {COSYVOICE_STREAM_FAST, cosyvoice::StreamMode::kFast},
    {COSYVOICE_STREAM_RECOMPUTE, cosyvoice::StreamMode::kRecompute},
};

// A request in C++ terms; owns the copy of the voice-conversion source the C++ request points to.
struct Request {
  cosyvoice::SynthesisRequest request;
  cosyvoice::Audio source;
};

cosyvoice::Mode ToMode(int32_t mode) {
  switch (mode) {
    case COSYVOICE_MODE_ZERO_SHOT: return cosyvoice::Mode::kZeroShot;
    case COSYVOICE_MODE_CROSS_LINGUAL: return cosyvoice::Mode::kCrossLingual;
    case COSYVOICE_MODE_INSTRUCT2: return cosyvoice::Mode::kInstruct2;
    case COSYVOICE_MODE_VOICE_CONVERSION: return cosyvoice::Mode::kVoiceConversion;
    default: break;
  }
  throw Error(ErrorCode::kInvalidArgument, "request->mode " + std::to_string(mode) +
                                               ": expected COSYVOICE_MODE_ZERO_SHOT (0) .. "
                                               "COSYVOICE_MODE_VOICE_CONVERSION (3)");
}

void ToRequest(const cosyvoice_request *in, const char *function, Request *out) {
  RequireArg(in, function, "request");
  const cosyvoice_request r =
      cosyvoice::capi::ReadVersioned(in, cosyvoice_request_default(), function, "request");
  RequireArg(r.voice, function, "request->voice");
  out->request.mode = ToMode(r.mode);
  out->request.text = r.text != nullptr ? r.text : "";
  out->request.instruct = r.instruct != nullptr ? r.instruct : "";
  out->request.voice = &r.voice->voice;
  if (r.source_audio != nullptr) {
    if (r.source_audio->num_samples > 0)
      RequireArg(r.source_audio->samples, function, "request->source_audio->samples");
    out->source.samples.assign(r.source_audio->samples,
                               r.source_audio->samples + r.source_audio->num_samples);
    out->source.sample_rate = r.source_audio->sample_rate;
    out->request.source_audio = &out->source;
  } else if (out->request.mode == cosyvoice::Mode::kVoiceConversion) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string(function) +
                    ": request->source_audio is NULL; voice conversion needs the speech to re-voice");
  }
}

template <typename T>
std::optional<T> Optional(bool has, T value) {
  return has ? std::optional<T>(value) : std::nullopt;
}

cosyvoice::SynthesisOptions ToOptions(const cosyvoice_synthesis_params *in, const char *function) {
  const cosyvoice_synthesis_params p =
      cosyvoice::capi::ReadVersioned(in, cosyvoice_synthesis_default_params(), function, "params");
  cosyvoice::SynthesisOptions o;
  o.seed = p.seed;
  o.speed = p.speed;
  o.n_timesteps = Optional<int>(p.has_n_timesteps, p.n_timesteps);
  o.cfg_rate = Optional<float>(p.has_cfg_rate, p.cfg_rate);
  o.top_p = Optional<float>(p.has_top_p, p.top_p);
  o.top_k = Optional<int>(p.has_top_k, p.top_k);
  o.win_size = Optional<int>(p.has_win_size, p.win_size);
  o.tau_r = Optional<float>(p.has_tau_r, p.tau_r);
  o.min_token_text_ratio = Optional<float>(p.has_min_token_text_ratio, p.min_token_text_ratio);
  o.max_token_text_ratio = Optional<float>(p.has_max_token_text_ratio, p.max_token_text_ratio);
  o.max_tokens = Optional<int>(p.has_max_tokens, p.max_tokens);
  o.min_tokens = Optional<int>(p.has_min_tokens, p.min_tokens);
  o.text_frontend = p.text_frontend;
  o.text_normalization = p.text_normalization;
  o.stream = p.stream;
  const auto *mode = std::find_if(std::begin(kStreamModes), std::end(kStreamModes),
                                  [&](const StreamModePair &m) { return m.c == p.stream_mode; });
  if (mode == std::end(kStreamModes))
    throw cosyvoice::Error(cosyvoice::ErrorCode::kInvalidArgument,
                           std::string(function) + ": params->stream_mode is " +
                               std::to_string(p.stream_mode) +
                               "; expected COSYVOICE_STREAM_EXACT (0), _FAST (1) or _RECOMPUTE (2)");
  o.stream_mode = mode->mode;
  if (p.reserved != 0)
    throw cosyvoice::Error(cosyvoice::ErrorCode::kInvalidArgument,
                           std::string(function) + ": params->reserved must be 0");
  o.Validate();
  return o;
}

// The C callback as a C++ AudioCallback (empty when there is none).
cosyvoice::AudioCallback ToCallback(cosyvoice_audio_callback callback, void *user_data) {
  if (callback == nullptr) return nullptr;
  return [callback, user_data](const cosyvoice::AudioChunk &chunk) {
    cosyvoice_audio_chunk c{};
    c.struct_size = sizeof(c);
    c.samples = chunk.samples;
    c.num_samples = chunk.num_samples;
    c.sample_rate = chunk.sample_rate;
    c.segment = chunk.segment;
    c.num_segments = chunk.num_segments;
    c.segment_done = chunk.segment_done;
    return callback(&c, user_data) == 0;
  };
}

// A bad stats struct is reported before the synthesis, not after it.
void CheckStats(const cosyvoice_stats *stats, const char *function) {
  if (stats != nullptr && stats->struct_size < sizeof(uint32_t))
    throw Error(ErrorCode::kInvalidArgument, std::string(function) + ": stats->struct_size is " +
                                                 std::to_string(stats->struct_size) +
                                                 "; set it to sizeof(cosyvoice_stats)");
}

void WriteStats(const cosyvoice::SynthesisStats &s, cosyvoice_stats *out, const char *function) {
  cosyvoice_stats c{};
  c.struct_size = sizeof(c);
  c.segments = s.segments;
  c.prompt_positions = s.prompt_positions;
  c.speech_tokens = s.speech_tokens;
  c.audio_seconds = s.audio_seconds;
  c.total_seconds = s.total_seconds;
  c.first_audio_seconds = s.first_audio_seconds;
  c.text_seconds = s.seconds.text;
  c.llm_prefill_seconds = s.seconds.llm_prefill;
  c.llm_decode_seconds = s.seconds.llm_decode;
  c.flow_seconds = s.seconds.flow;
  c.vocoder_seconds = s.seconds.vocoder;
  c.frontend_seconds = s.seconds.frontend;
  c.rtf = s.rtf();
  c.tokens_per_second = s.tokens_per_second();
  c.first_chunk_tokens_seconds = s.first_chunk_tokens_seconds;
  c.first_chunk_flow_seconds = s.first_chunk_flow_seconds;
  c.first_chunk_vocoder_seconds = s.first_chunk_vocoder_seconds;
  cosyvoice::capi::WriteVersioned(out, c, function, "stats");
}

}  // namespace

extern "C" {

const char *cosyvoice_mode_name(int32_t mode) {
  if (mode < COSYVOICE_MODE_ZERO_SHOT || mode > COSYVOICE_MODE_VOICE_CONVERSION) return nullptr;
  return cosyvoice::ModeName(static_cast<cosyvoice::Mode>(mode));
}

cosyvoice_request cosyvoice_request_default(void) {
  cosyvoice_request r{};
  r.struct_size = sizeof(r);
  r.mode = COSYVOICE_MODE_ZERO_SHOT;
  return r;
}

cosyvoice_synthesis_params cosyvoice_synthesis_default_params(void) {
  const cosyvoice::SynthesisOptions o;
  cosyvoice_synthesis_params p{};  // every has_x false: the bundle's defaults
  p.struct_size = sizeof(p);
  p.seed = o.seed;
  p.speed = o.speed;
  p.text_frontend = o.text_frontend;
  p.text_normalization = o.text_normalization;
  p.stream = o.stream;
  for (const StreamModePair &m : kStreamModes)
    if (m.mode == o.stream_mode) p.stream_mode = m.c;
  return p;
}

cosyvoice_status cosyvoice_session_create(const cosyvoice_model *model, cosyvoice_session **out) {
  return Guard("cosyvoice_session_create", [&] {
    RequireArg(out, "cosyvoice_session_create", "out");
    *out = nullptr;
    RequireArg(model, "cosyvoice_session_create", "model");
    *out = new cosyvoice_session(model->model);
  });
}

void cosyvoice_session_free(cosyvoice_session *session) {
  delete session;
}

cosyvoice_status cosyvoice_session_synthesize(cosyvoice_session *session, const cosyvoice_request *request,
                                              const cosyvoice_synthesis_params *params,
                                              cosyvoice_audio_callback callback, void *user_data,
                                              cosyvoice_audio **out_audio, cosyvoice_stats *stats) {
  static const char *const kFunction = "cosyvoice_session_synthesize";
  return Guard(kFunction, [&] {
    RequireArg(out_audio, kFunction, "out_audio");
    *out_audio = nullptr;
    RequireArg(session, kFunction, "session");
    CheckStats(stats, kFunction);
    Request r;
    ToRequest(request, kFunction, &r);
    const cosyvoice::SynthesisOptions options = ToOptions(params, kFunction);
    cosyvoice::SynthesisStats s;
    cosyvoice::Audio audio =
        session->session.Synthesize(r.request, options, ToCallback(callback, user_data), &s);
    if (stats != nullptr) WriteStats(s, stats, kFunction);
    *out_audio = cosyvoice::capi::GiveAway(std::move(audio));
  });
}

cosyvoice_status cosyvoice_session_stream(cosyvoice_session *session, const cosyvoice_request *request,
                                          const cosyvoice_synthesis_params *params,
                                          cosyvoice_audio_callback callback, void *user_data,
                                          cosyvoice_stats *stats) {
  static const char *const kFunction = "cosyvoice_session_stream";
  return Guard(kFunction, [&] {
    RequireArg(session, kFunction, "session");
    if (callback == nullptr)
      throw Error(ErrorCode::kInvalidArgument, std::string(kFunction) + ": callback is NULL");
    CheckStats(stats, kFunction);
    Request r;
    ToRequest(request, kFunction, &r);
    const cosyvoice::SynthesisOptions options = ToOptions(params, kFunction);
    cosyvoice::SynthesisStats s;
    session->session.Stream(r.request, options, ToCallback(callback, user_data), &s);
    if (stats != nullptr) WriteStats(s, stats, kFunction);
  });
}

void cosyvoice_session_cancel(cosyvoice_session *session) {
  if (session != nullptr) session->session.Cancel();
}

}  // extern "C"
