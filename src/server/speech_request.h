// src/server/speech_request.h - what a synthesis request asks for, parsed and checked from the
// OpenAI JSON body or from form fields (the page's route and the official /inference_* routes).
// Parsing is pure (no model, no store): the voice is returned by name and resolved by the caller.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audio/encoder.h"
#include "cosyvoice/cosyvoice.h"
#include "server/engine_port.h"

namespace cosyvoice::server {

struct RequestLimits {
  size_t max_text_chars = 4096;
  int max_tokens_cap = 3000;
  int sample_rate = 24000;  // of the model's output (which formats exist at this rate)
};

enum class Transport {
  kChunked,  // audio bytes sent as produced (chunked transfer)
  kWhole,    // the complete file at the end (exact lengths in headers)
  kSse,      // OpenAI stream_format=sse: speech.audio.delta events with base64 audio, then speech.audio.done
};

struct SpeechRequest {
  std::optional<Mode>
      mode;  // empty: inferred (instruct -> instruct2, transcript -> zero_shot, else cross_lingual)
  std::string text;
  std::string instruct;
  std::string voice;  // id or name in the voice library (empty: a prompt comes with the request)
  SpeechOptions options;
  AudioFormat format = AudioFormat::kMp3;
  Transport transport = Transport::kChunked;
};

// POST /v1/audio/speech. `body` is the raw JSON. Throws ApiException 400 naming the field.
// `input_required` false: a text session's opening request, whose "input" (the first text) may
// be absent or empty.
SpeechRequest ParseOpenAiSpeech(const std::string &body, const RequestLimits &limits,
                                const std::vector<std::string> &model_ids, bool input_required = true);

// Form fields shared by the page's route and the official routes: mode, text, instruct, voice, seed,
// speed, stream, steps, min_tokens, max_tokens, response_format, text_frontend. `text_field` names the
// text field ("text", or upstream's "tts_text"). Throws ApiException 400 naming the field.
SpeechRequest ParseSpeechForm(const std::map<std::string, std::string> &fields, const RequestLimits &limits,
                              const std::string &text_field, AudioFormat default_format);

// The mode a request runs in, given the voice's transcript.
Mode ResolveMode(const SpeechRequest &request, const Voice &voice);

// Number of Unicode code points (invalid bytes count one each).
size_t CountCodePoints(const std::string &utf8);

}  // namespace cosyvoice::server
