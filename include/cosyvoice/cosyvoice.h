// cosyvoice/cosyvoice.h - the public C++ API of cosyvoice-ort.
//
//   #include <cosyvoice/cosyvoice.h>
//   auto engine = cosyvoice::Engine::Create({.model_dir = "bundle"});
//   cosyvoice::Voice voice = engine->CreateVoiceFromFile("prompt.wav", "transcript of prompt.wav");
//   voice.Save("me.voice");                                  // prepare once, reuse
//   cosyvoice::SynthesisRequest req;
//   req.text = "Hello!";
//   req.voice = &voice;
//   cosyvoice::Audio out = engine->Synthesize(req);          // 24 kHz mono float
//
// Errors are thrown as cosyvoice::Error (cosyvoice/error.h) with a code and a message that names
// the file or field and what was expected. An Engine is safe to use from one thread at a time;
// use one Engine per thread for parallel synthesis (graphs are loaded per Engine).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cosyvoice/audio.h"
#include "cosyvoice/error.h"
#include "cosyvoice/runtime_config.h"
#include "cosyvoice/version.h"

namespace cosyvoice {

// Load-time configuration.
struct EngineConfig {
  std::string model_dir;          // the bundle directory (docs/bundle.md)
  RuntimeConfig runtime;          // threads, execution providers, graph optimization
  bool verify_checksums = false;  // sha256 every bundle file at load (slow; sizes are always checked)
  void Validate() const;
};

// What the model needs from a prompt recording, computed once (speech tokens, speaker embedding,
// prompt mel) and reusable: Save/Load keep it in a small file (docs/voice-format.md).
struct Voice {
  std::string transcript;                // what the prompt says (needed for zero-shot only)
  std::vector<int32_t> speech_tokens;    // K prompt speech tokens (25 Hz), aligned 2:1 with prompt_mel
  std::vector<float> speaker_embedding;  // CAM++ embedding (192 floats)
  std::vector<float> prompt_mel;         // [2K frames][mel_bins] row-major, 50 Hz
  int mel_bins = 80;
  double prompt_seconds = 0;  // duration of the recording
  std::string source;         // where it came from (file name), informational
  std::string frontend_id;    // identifies the speech tokenizer + speaker encoder used

  int64_t mel_frames() const { return mel_bins > 0 ? static_cast<int64_t>(prompt_mel.size()) / mel_bins : 0; }
  void Save(const std::string &path) const;
  static Voice Load(const std::string &path);  // throws Error(kInvalidArgument) naming the file
};

enum class Mode {
  kZeroShot,         // speak `text` in the voice; needs voice.transcript
  kCrossLingual,     // speak `text` (any language) in the voice, transcript not used
  kInstruct2,        // speak `text` in the voice following `instruct` ("请用四川话说", "Speak slowly")
  kVoiceConversion,  // re-voice `source_audio` with the voice; no text
};
const char *ModeName(Mode mode);
Mode ParseMode(const std::string &name);  // zero_shot | cross_lingual | instruct2 | vc

struct SynthesisRequest {
  Mode mode = Mode::kZeroShot;
  std::string text;                     // what to say (all modes but voice conversion)
  const Voice *voice = nullptr;         // required
  std::string instruct;                 // instruct2: the instruction
  const Audio *source_audio = nullptr;  // voice conversion: the speech to re-voice (<= 30 s)
};

// Per-request options. A zero/negative value means "the bundle's default".
struct SynthesisOptions {
  uint64_t seed = 0;       // sampling seed; segment i of the text uses seed + i
  float speed = 1.0f;      // 0.5 .. 2.0 (not with stream)
  int n_timesteps = 0;     // flow ODE steps (bundle default: 10)
  float cfg_rate = -1.0f;  // classifier-free guidance (bundle default: 0.7)
  float top_p = -1.0f;     // sampling (bundle defaults: 0.8, 25, 10, 0.1)
  int top_k = 0;
  int win_size = -1;
  float tau_r = -1.0f;
  float min_token_text_ratio = -1.0f;  // speech tokens per text token (bundle: 2 and 20)
  float max_token_text_ratio = -1.0f;
  int max_tokens = 0;              // hard cap on speech tokens per segment (0: only the ratio)
  int min_tokens = 0;              // hard floor (benchmarks: min_tokens == max_tokens fixes the length)
  bool text_frontend = true;       // normalize numbers/symbols and split long text into sentences
  bool text_normalization = true;  // numbers, dates, units... (false: only the CosyVoice3 rules + splitting)
  bool stream = false;             // emit audio in chunks while a sentence is generated
  void Validate() const;
};

// A piece of output audio, passed to the callback as soon as it is ready. `samples` is valid only
// during the call. Without streaming there is one chunk per text segment.
struct AudioChunk {
  const float *samples = nullptr;
  size_t num_samples = 0;
  int sample_rate = 0;
  int segment = 0;  // index of the text segment this audio belongs to
  int num_segments = 0;
  bool segment_done = false;  // last chunk of this segment
};
// Return false to stop: synthesis ends and Synthesize throws Error(kCancelled).
using AudioCallback = std::function<bool(const AudioChunk &)>;

struct StageTimes {
  double text = 0, llm_prefill = 0, llm_decode = 0, flow = 0, vocoder = 0, frontend = 0;
};
struct SynthesisStats {
  StageTimes seconds;
  int segments = 0;
  int64_t prompt_positions = 0;  // LLM prefill positions, summed over segments
  int64_t speech_tokens = 0;     // generated speech tokens, summed over segments
  double audio_seconds = 0;
  double total_seconds = 0;
  double first_audio_seconds = 0;  // from the call to the first callback
  double rtf() const { return audio_seconds > 0 ? total_seconds / audio_seconds : 0.0; }
  double tokens_per_second() const {
    return seconds.llm_decode > 0 ? static_cast<double>(speech_tokens) / seconds.llm_decode : 0.0;
  }
};

struct BundleSummary {
  std::string model_name;
  int sample_rate = 0;
  int mel_bins = 0;
  std::string format_version;
  std::vector<std::string> providers;  // execution providers actually in use
};

class Engine {
 public:
  // Loads and checks the bundle (docs/bundle.md §4). Throws Error(kBundle) naming the file/field.
  static std::unique_ptr<Engine> Create(const EngineConfig &config);
  ~Engine();
  Engine(const Engine &) = delete;
  Engine &operator=(const Engine &) = delete;

  // Prepares a voice from a recording (>= 16 kHz, speech, at most 30 s) and its transcript (may
  // be empty for cross-lingual/instruct2/vc use). Throws Error(kInvalidAudio) for unusable audio.
  Voice CreateVoice(const Audio &prompt, const std::string &transcript, const std::string &source = "") const;
  Voice CreateVoiceFromFile(const std::string &wav_path, const std::string &transcript) const;

  // Synthesizes the request; returns the whole output and also streams it through `callback`.
  Audio Synthesize(const SynthesisRequest &request, const SynthesisOptions &options = {},
                   const AudioCallback &callback = nullptr, SynthesisStats *stats = nullptr);

  // The text segments `text` would be synthesized as (normalization + sentence splitting).
  std::vector<std::string> SplitText(const std::string &text, bool text_frontend = true) const;
  // Token ids of `text` under the bundle's tokenizer.
  std::vector<int32_t> Tokenize(const std::string &text) const;

  const BundleSummary &summary() const;
  int sample_rate() const;

  class Impl;

 private:
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cosyvoice
