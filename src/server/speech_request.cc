// src/server/speech_request.cc - see speech_request.h.
#include "server/speech_request.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "server/api_error.h"

namespace cosyvoice::server {
namespace {

using nlohmann::json;

[[noreturn]] void Bad(const std::string &param, const std::string &message,
                      const std::string &code = "invalid_value") {
  throw ApiException(BadRequest(param, message, code));
}

bool Blank(const std::string &s) {
  return s.find_first_not_of(" \t\r\n") == std::string::npos;
}

// The engine accepts speeds 0.5..2.0 (time-scaling of the mel, spec §7); OpenAI allows 0.25..4.
float CheckSpeed(double speed) {
  if (!std::isfinite(speed) || speed < 0.5 || speed > 2.0)
    Bad("speed", "speed must be between 0.5 and 2.0 (got " + std::to_string(speed) + ")");
  return static_cast<float>(speed);
}

int CheckTokens(const std::string &param, long long v, const RequestLimits &limits) {
  if (v < 1 || v > limits.max_tokens_cap)
    Bad(param,
        param + " must be between 1 and " + std::to_string(limits.max_tokens_cap) + " (25 tokens = 1 s)");
  return static_cast<int>(v);
}

int CheckSteps(long long v) {
  if (v < 1 || v > 100) Bad("steps", "steps (flow ODE steps) must be between 1 and 100");
  return static_cast<int>(v);
}

AudioFormat CheckFormat(const std::string &name, const RequestLimits &limits) {
  const auto available = AvailableFormats(limits.sample_rate);
  const auto f = ParseAudioFormat(name);
  if (!f || std::find(available.begin(), available.end(), *f) == available.end())
    Bad("response_format",
        "response_format '" + name + "' cannot be produced; available: " + AudioFormatList(available),
        "unsupported_format");
  return *f;
}

Mode CheckMode(const std::string &name) {
  if (name == "zero_shot") return Mode::kZeroShot;
  if (name == "cross_lingual") return Mode::kCrossLingual;
  if (name == "instruct2" || name == "instruct") return Mode::kInstruct2;
  if (name == "vc") return Mode::kVoiceConversion;
  Bad("mode", "mode '" + name + "': expected zero_shot, cross_lingual, instruct2 or vc");
}

StreamMode CheckStreamMode(const std::string &name) {
  try {
    return ParseStreamMode(name);
  } catch (const Error &) {
    Bad("stream_mode",
        "stream_mode must be 'exact', 'fast' or 'recompute' (docs/streaming.md), got '" + name + "'");
  }
}

void CheckText(const std::string &param, const std::string &text, const RequestLimits &limits) {
  const size_t n = CountCodePoints(text);
  if (n > limits.max_text_chars)
    Bad(param,
        param + " is " + std::to_string(n) + " characters long; at most " +
            std::to_string(limits.max_text_chars) + " are accepted per request",
        "text_too_long");
}

// The transport: stream_format=sse wins; otherwise stream (default true) picks chunked or whole.
// FLAC cannot be streamed (its header holds the length), so it is always sent whole.
void ResolveTransport(SpeechRequest &r, bool sse, bool stream) {
  if (sse) {
    if (!CanStream(r.format))
      Bad("response_format", std::string(AudioFormatName(r.format)) +
                                 " cannot be sent as SSE deltas; use wav, pcm, mp3 or opus");
    r.transport = Transport::kSse;
  } else {
    r.transport = stream && CanStream(r.format) ? Transport::kChunked : Transport::kWhole;
  }
  // Within a sentence the engine can only stream at the natural speed (speed rescales whole sentences).
  r.options.stream = r.transport != Transport::kWhole && r.options.speed == 1.0f;
}

template <typename T>
T Get(const json &j, const char *key, const char *what) {
  try {
    return j.at(key).get<T>();
  } catch (const json::exception &) {
    Bad(key, std::string(key) + " must be " + what);
  }
}

bool ParseBool(const std::string &param, const std::string &v) {
  std::string s = v;
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (s == "1" || s == "true" || s == "yes" || s == "on" || s == "是") return true;
  if (s == "0" || s == "false" || s == "no" || s == "off" || s == "否" || s.empty()) return false;
  Bad(param, param + " must be true or false (got '" + v + "')");
}

long long ParseInt(const std::string &param, const std::string &v) {
  char *end = nullptr;
  errno = 0;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0) Bad(param, param + " must be an integer (got '" + v + "')");
  return x;
}

double ParseNumber(const std::string &param, const std::string &v) {
  char *end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0') Bad(param, param + " must be a number (got '" + v + "')");
  return x;
}

}  // namespace

size_t CountCodePoints(const std::string &s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

SpeechRequest ParseOpenAiSpeech(const std::string &body, const RequestLimits &limits,
                                const std::vector<std::string> &model_ids, bool input_required) {
  json j;
  try {
    j = json::parse(body);
  } catch (const json::parse_error &e) {
    Bad("", std::string("the body is not valid JSON: ") + e.what(), "invalid_json");
  }
  if (!j.is_object()) Bad("", "the body must be a JSON object", "invalid_json");
  SpeechRequest r;
  if (j.contains("model") && !j["model"].is_null()) {
    const auto model = Get<std::string>(j, "model", "a string");
    if (std::find(model_ids.begin(), model_ids.end(), model) == model_ids.end()) {
      std::string ids;
      for (const auto &id : model_ids) ids += (ids.empty() ? "" : ", ") + id;
      throw ApiException(
          NotFound("model", "model '" + model + "' is not served here; models: " + ids, "model_not_found"));
    }
  }
  if (input_required || (j.contains("input") && !j["input"].is_null())) {
    if (!j.contains("input")) Bad("input", "input is required: the text to speak", "missing_field");
    r.text = Get<std::string>(j, "input", "a string");
    if (input_required && Blank(r.text))
      Bad("input", "input is empty: give the text to speak", "empty_input");
    if (!r.text.empty()) CheckText("input", r.text, limits);
  }
  if (!j.contains("voice"))
    Bad("voice", "voice is required: the id or name of a voice in GET /v1/audio/voices", "missing_field");
  if (j["voice"].is_object()) {
    const json &v = j["voice"];
    if (!v.contains("id") || !v["id"].is_string())
      Bad("voice", "voice must be a string or an object {\"id\": \"...\"}");
    r.voice = v["id"].get<std::string>();
  } else {
    r.voice = Get<std::string>(j, "voice", "a string or an object {\"id\": \"...\"}");
  }
  if (Blank(r.voice)) Bad("voice", "voice is empty", "missing_field");
  const std::string format =
      j.contains("response_format") ? Get<std::string>(j, "response_format", "a string") : "mp3";
  r.format = CheckFormat(format, limits);
  if (j.contains("speed") && !j["speed"].is_null())
    r.options.speed = CheckSpeed(Get<double>(j, "speed", "a number"));
  if (j.contains("instructions") && !j["instructions"].is_null()) {
    r.instruct = Get<std::string>(j, "instructions", "a string");
    CheckText("instructions", r.instruct, limits);
  }
  if (j.contains("mode") && !j["mode"].is_null()) r.mode = CheckMode(Get<std::string>(j, "mode", "a string"));
  if (r.mode == Mode::kVoiceConversion)
    Bad("mode", "voice conversion needs the source audio: use POST /v1/audio/synthesize (multipart)");
  if (j.contains("seed") && !j["seed"].is_null()) {
    if (!j["seed"].is_number_integer() || j["seed"].get<long long>() < 0)
      Bad("seed", "seed must be a non-negative integer");
    r.options.seed = j["seed"].get<uint64_t>();
  }
  if (j.contains("steps") && !j["steps"].is_null())
    r.options.steps = CheckSteps(Get<long long>(j, "steps", "an integer"));
  if (j.contains("stream_mode") && !j["stream_mode"].is_null())
    r.options.stream_mode = CheckStreamMode(Get<std::string>(j, "stream_mode", "a string"));
  if (j.contains("min_tokens") && !j["min_tokens"].is_null())
    r.options.min_tokens = CheckTokens("min_tokens", Get<long long>(j, "min_tokens", "an integer"), limits);
  if (j.contains("max_tokens") && !j["max_tokens"].is_null())
    r.options.max_tokens = CheckTokens("max_tokens", Get<long long>(j, "max_tokens", "an integer"), limits);
  if (r.options.min_tokens && r.options.max_tokens && *r.options.min_tokens > *r.options.max_tokens)
    Bad("min_tokens", "min_tokens must not exceed max_tokens");
  if (j.contains("text_frontend") && !j["text_frontend"].is_null())
    r.options.text_frontend = Get<bool>(j, "text_frontend", "true or false");
  std::string stream_format = "audio";
  if (j.contains("stream_format") && !j["stream_format"].is_null()) {
    stream_format = Get<std::string>(j, "stream_format", "a string");
    if (stream_format != "audio" && stream_format != "sse")
      Bad("stream_format", "stream_format must be 'audio' or 'sse'");
  }
  const bool stream =
      j.contains("stream") && !j["stream"].is_null() ? Get<bool>(j, "stream", "true or false") : true;
  ResolveTransport(r, stream_format == "sse", stream);
  return r;
}

SpeechRequest ParseSpeechForm(const std::map<std::string, std::string> &fields, const RequestLimits &limits,
                              const std::string &text_field, AudioFormat default_format) {
  auto get = [&](const std::string &key) -> const std::string * {
    auto it = fields.find(key);
    return it == fields.end() ? nullptr : &it->second;
  };
  SpeechRequest r;
  if (const auto *m = get("mode"); m && !m->empty()) r.mode = CheckMode(*m);
  if (const auto *t = get(text_field)) r.text = *t;
  CheckText(text_field, r.text, limits);
  if (r.mode != Mode::kVoiceConversion && Blank(r.text))
    Bad(text_field, text_field + " is empty: give the text to speak",
        Blank(r.text) && !get(text_field) ? "missing_field" : "empty_input");
  for (const char *key : {"instruct", "instruct_text"})
    if (const auto *i = get(key)) r.instruct = *i;
  CheckText("instruct", r.instruct, limits);
  for (const char *key : {"voice", "spk_id"})
    if (const auto *v = get(key)) r.voice = *v;
  r.format = default_format;
  if (const auto *f = get("response_format"); f && !f->empty()) r.format = CheckFormat(*f, limits);
  if (const auto *s = get("speed"); s && !s->empty()) r.options.speed = CheckSpeed(ParseNumber("speed", *s));
  if (const auto *s = get("seed"); s && !s->empty()) {
    const long long seed = ParseInt("seed", *s);
    if (seed < 0) Bad("seed", "seed must be a non-negative integer");
    r.options.seed = static_cast<uint64_t>(seed);
  }
  if (const auto *s = get("steps"); s && !s->empty()) r.options.steps = CheckSteps(ParseInt("steps", *s));
  if (const auto *s = get("stream_mode"); s && !s->empty()) r.options.stream_mode = CheckStreamMode(*s);
  if (const auto *s = get("min_tokens"); s && !s->empty())
    r.options.min_tokens = CheckTokens("min_tokens", ParseInt("min_tokens", *s), limits);
  if (const auto *s = get("max_tokens"); s && !s->empty())
    r.options.max_tokens = CheckTokens("max_tokens", ParseInt("max_tokens", *s), limits);
  if (r.options.min_tokens && r.options.max_tokens && *r.options.min_tokens > *r.options.max_tokens)
    Bad("min_tokens", "min_tokens must not exceed max_tokens");
  if (const auto *s = get("text_frontend")) r.options.text_frontend = ParseBool("text_frontend", *s);
  const auto *stream = get("stream");
  ResolveTransport(r, false, stream ? ParseBool("stream", *stream) : true);
  return r;
}

Mode ResolveMode(const SpeechRequest &request, const Voice &voice) {
  if (request.mode) return *request.mode;
  if (!Blank(request.instruct)) return Mode::kInstruct2;
  return Blank(voice.transcript) ? Mode::kCrossLingual : Mode::kZeroShot;
}

}  // namespace cosyvoice::server
