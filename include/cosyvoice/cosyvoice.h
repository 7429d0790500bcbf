// cosyvoice/cosyvoice.h - the public C++ API of cosyvoice-ort (docs/api.md).
//
// A Model is the loaded bundle: configuration, ONNX Runtime sessions, tables, tokenizer and text
// normalizer. It is immutable after Load and shared by any number of threads. A Session holds the
// state of one request at a time (KV cache, IO binding, sampler, stream schedule, vocoder state);
// create one per concurrent request - it is cheap (no graph is loaded) - and reuse it for the next.
// This is whisper.cpp's context/state and onnxruntime-genai's Model/Generator split.
//
//   #include <cosyvoice/cosyvoice.h>
//   cosyvoice::ModelConfig config;
//   config.model_dir = "bundle";
//   std::shared_ptr<const cosyvoice::Model> model = cosyvoice::Model::Load(config);
//   cosyvoice::Voice voice = model->CreateVoiceFromFile("prompt.wav", "transcript of prompt.wav");
//   voice.Save("me.voice");                                   // prepare once, reuse
//   cosyvoice::Session session(model);                        // one per thread/request
//   cosyvoice::SynthesisRequest request;
//   request.text = "Hello!";
//   request.voice = &voice;
//   cosyvoice::Audio out = session.Synthesize(request);       // 24 kHz mono float
//
// Errors are thrown as cosyvoice::Error (cosyvoice/error.h) with a code and a message that names
// the file or field and what was expected.
//
// Threads: every ONNX graph of every Model runs on one process-wide ONNX Runtime thread pool,
// sized by the first Model loaded (ModelConfig::runtime.intra_op_threads); see ModelConfig.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cosyvoice/audio.h"
#include "cosyvoice/error.h"
#include "cosyvoice/runtime_config.h"
#include "cosyvoice/version.h"

namespace cosyvoice {

// ModelConfig::max_stream_cache_bytes's default (4 GiB), also the CLI's and the C API's.
inline constexpr int64_t kDefaultMaxStreamCacheBytes = int64_t{4} << 30;

// Load-time configuration of a Model.
//
// `runtime.intra_op_threads` and `runtime.inter_op_threads` size the ONNX Runtime thread pool that
// all sessions of the process share (so N concurrent requests do not create N pools). The first
// Model loaded creates the pool; a later Model asking for other sizes gets the existing pool and
// one warning in the log. The other runtime fields (providers, optimization, profiling) apply per
// Model.
struct ModelConfig {
  std::string model_dir;  // the bundle directory (docs/bundle.md)
  RuntimeConfig runtime;  // threads, execution providers, graph optimization
  // sha256 of every bundle file, checked on a second thread while the graphs load; Load returns
  // only when they match (docs/bundle.md §4.1: ~3.5 s of CPU for the 3.5 GB release, mostly hidden
  // by its ~37 s load; files already verified by this process are skipped). false: sizes only.
  bool verify_checksums = true;
  // Which of the bundle's variants to run (docs/bundle.md §7): "fp32", "fp16", "int8", "int4", a
  // variant name, "auto" (the fastest that passed the A/B gate for the active provider, else
  // fp32) or "base" (the bundle's own graphs, no fp32-equivalent variant), for every family or per
  // family: "llm=int4,flow=int8" (families not named: fp32).
  std::string precision = "fp32";
  // Graphs optimized for this machine by `cosyvoice optimize` (docs/bundle.md §8): loaded instead of
  // the bundle's graphs when their manifest matches this ONNX Runtime, optimization level, provider
  // and CPU exactly (otherwise one log line and the plain graphs). "" (default): MODEL_DIR/optimized
  // when it exists; "off": never; a directory: that one (it must exist).
  std::string optimized_dir;
  // How streaming without recomputation (`exact`, `fast`) keeps the flow's keys/values per ODE
  // step (docs/streaming.md §5): "fp32" (default) or "fp16" - half the cache (full size: 1.8 instead
  // of 3.6 MB per mel frame of a segment, i.e. 90 instead of 180 MB per second of audio, plus one
  // ODE step's float32 staging) at no measured time cost, audio within 74 dB SNR of fp32's.
  std::string stream_cache = "fp32";
  // The most memory one Session's streaming cache (`exact`, `fast`: the segment's keys/values and
  // the voice's prompt cache) may hold, in bytes; 0: no limit. The cache grows with the segment
  // (above); a segment that would pass the limit finishes with its flow recomputed per chunk, as
  // `recompute` does (the same audio as `exact` within float32 parity, more work per chunk), with
  // one warning. The default 4 GiB holds about 19 s of one segment at full size in fp32 (35 s in
  // fp16) after a 3 s prompt. CLI --max-stream-cache-mb; docs/streaming.md §5.2.
  int64_t max_stream_cache_bytes = kDefaultMaxStreamCacheBytes;
  void Validate() const;  // throws Error(kInvalidArgument) naming the field
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
  std::string source;         // where it came from (file name without directories), informational
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
// "zero_shot", "cross_lingual", "instruct2" or "vc".
const char *ModeName(Mode mode);
// zero_shot | cross_lingual | instruct2 | vc (and the spellings zero-shot, cross-lingual, instruct,
// voice_conversion); throws Error(kInvalidArgument) otherwise.
Mode ParseMode(const std::string &name);

// How a streamed segment is computed (docs/streaming.md). All three emit audio while the speech
// tokens are still being generated.
enum class StreamMode {
  // Upstream's loop: each chunk re-runs the flow over the prompt and every token so far and the
  // vocoder over all mel so far; the work grows with the square of the length.
  kRecompute,
  // The same audio as kRecompute (within float32 parity) from cached attention keys/values and a
  // vocoder window: each chunk costs its own frames; the final chunk is still one full-attention
  // pass over everything, as upstream's is.
  kExact,
  // Incremental everywhere, the voice's prompt cached whole (encoded as if it stood alone, so the
  // first chunk runs only new frames, docs/streaming.md §8.5), the final chunk with chunk
  // attention; audio every 25 tokens; total work below offline. Differs from kExact beyond
  // rounding (§4).
  kFast,
};
// "recompute", "exact" or "fast".
const char *StreamModeName(StreamMode mode);
StreamMode ParseStreamMode(const std::string &name);  // throws Error(kInvalidArgument) otherwise

// Text-in streaming (docs/streaming.md §6): stores the next piece of text in `piece` and returns
// true, or returns false when the text has ended. A piece is whole UTF-8 characters (it may be
// empty) and is tokenized on its own, as upstream does, so a word split across two pieces becomes
// different tokens than the whole word. Called on a decoding thread of the Session, not the
// caller's; it may block until text arrives, and Session::Cancel() takes effect once it returns.
using TextSource = std::function<bool(std::string &piece)>;

// What to synthesize. The pointed-to voice and audio must outlive the call.
struct SynthesisRequest {
  Mode mode = Mode::kZeroShot;
  std::string text;  // what to say (all modes but voice conversion)
  // Instead of `text` (which must then be empty): text that arrives while speech is generated,
  // upstream's bistream interleaving of text and speech tokens, so that speech can start before
  // the text is complete. zero_shot and instruct2 only (the prompt needs <|endofprompt|>); no
  // normalization or sentence splitting; one segment.
  TextSource text_source;
  const Voice *voice = nullptr;         // required
  std::string instruct;                 // instruct2: the instruction
  const Audio *source_audio = nullptr;  // voice conversion: the speech to re-voice (<= 30 s)
};

// Per-request options. An empty optional means "the bundle's default" (config.json); a set
// value is used as given - zero included - after the range checks of Validate().
struct SynthesisOptions {
  uint64_t seed = 0;                          // sampling seed; segment i of the text uses seed + i
  float speed = 1.0f;                         // 0.5 .. 2.0 (not with stream)
  std::optional<int> n_timesteps;             // flow ODE steps, 1 .. 1000 (bundle: 10)
  std::optional<float> cfg_rate;              // classifier-free guidance, 0 .. 100; 0 = none (bundle: 0.7)
  std::optional<float> top_p;                 // nucleus mass, (0, 1] (bundle: 0.8)
  std::optional<int> top_k;                   // >= 1 (bundle: 25)
  std::optional<int> win_size;                // repetition window, >= 0; 0 = all tokens so far (bundle: 10)
  std::optional<float> tau_r;                 // repetition threshold, >= 0 (bundle: 0.1)
  std::optional<float> min_token_text_ratio;  // speech tokens per text token, >= 0 (bundle: 2)
  std::optional<float> max_token_text_ratio;  // >= min_token_text_ratio (bundle: 20)
  std::optional<int> max_tokens;              // hard cap on speech tokens per segment, >= 1 (none)
  std::optional<int> min_tokens;              // hard floor, >= 0 (min_tokens == max_tokens fixes the length)
  bool text_frontend = true;                  // normalize numbers/symbols and split long text into sentences
  bool text_normalization = true;  // numbers, dates, units... (false: only the CosyVoice3 rules + splitting)
  bool stream = false;             // emit audio in chunks while a sentence is generated
  // With stream: how chunks are computed. kExact and kFast need the bundle's
  // flow/flow_estimator_chunk.onnx; without it kExact runs as kRecompute (same audio) and kFast is
  // refused.
  StreamMode stream_mode = StreamMode::kExact;
  void Validate() const;  // throws Error(kInvalidArgument) naming the option
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
// Return false to stop: synthesis ends and Synthesize/Stream throw Error(kCancelled). The callback
// runs on the thread that called Synthesize/Stream.
using AudioCallback = std::function<bool(const AudioChunk &)>;

// Wall-clock seconds per stage of one request.
struct StageTimes {
  double text = 0, llm_prefill = 0, llm_decode = 0, flow = 0, vocoder = 0, frontend = 0;
};
// What one request did and how long it took.
struct SynthesisStats {
  StageTimes seconds;
  int segments = 0;
  int64_t prompt_positions = 0;  // LLM prefill positions, summed over segments
  int64_t speech_tokens = 0;     // generated speech tokens, summed over segments
  double audio_seconds = 0;
  double total_seconds = 0;
  double first_audio_seconds = 0;  // from the call to the first callback
  // Work, for comparing streaming modes with offline synthesis (docs/streaming.md): flow estimator
  // frames evaluated (frames x ODE steps, the CFG batch counted once), vocoder generator frames,
  // and the largest streaming cache (keys/values of every layer and ODE step) held.
  int64_t flow_frame_steps = 0;
  int64_t vocoder_frames = 0;
  uint64_t stream_cache_bytes = 0;
  // Segments whose streaming cache reached ModelConfig::max_stream_cache_bytes and finished with the
  // flow recomputed per chunk.
  int stream_cache_fallbacks = 0;
  // Where a streamed request's first audio waited (docs/streaming.md §8.3; 0 when not streamed):
  // seconds from the call until the token that completed the first chunk reached the renderer
  // (LLM prefill and decoding, and the voice's streaming prompt cache, which is built meanwhile),
  // then the flow and vocoder seconds of the rendering that token set off. first_audio_seconds is
  // their sum plus the (short) hand-over to the callback.
  double first_chunk_tokens_seconds = 0;
  double first_chunk_flow_seconds = 0;
  double first_chunk_vocoder_seconds = 0;
  double rtf() const { return audio_seconds > 0 ? total_seconds / audio_seconds : 0.0; }
  double tokens_per_second() const {
    return seconds.llm_decode > 0 ? static_cast<double>(speech_tokens) / seconds.llm_decode : 0.0;
  }
};

// What a loaded bundle is, for display and for clients (`cosyvoice info`, GET /v1/models).
struct ModelInfo {
  std::string model_name;
  int sample_rate = 0;
  int mel_bins = 0;
  std::string format_version;          // "MAJOR.MINOR" of the bundle format
  std::string bundle_dir;              // as given in ModelConfig::model_dir
  std::vector<std::string> providers;  // execution providers actually in use
  int intra_op_threads = 0;            // size of the shared ONNX Runtime pool (0: one per physical core)
  // Per family (llm, flow, hift, frontend) what ModelConfig::precision chose.
  struct Precision {
    std::string family;
    std::string variant;    // the variant's name, or "base" for the bundle's fp32 files
    std::string precision;  // fp32 | fp16 | int8 | int4
    std::string gate;       // A/B gate status (untested | passed | failed | parity); "base" for the base
  };
  std::vector<Precision> precisions;
  // The optimized-graphs directory in use and how many of the five synthesis graphs (LLM, flow
  // encoder and estimator, HiFT F0 and generator) were loaded from it (docs/bundle.md §8); empty/0
  // when every graph is the bundle's plain one.
  std::string optimized_dir;
  int optimized_graphs = 0;
};

// The loaded bundle. Immutable and thread-safe: every const method may be called from any number
// of threads at once, and any number of Sessions may run on one Model concurrently.
class Model {
 public:
  // Loads and checks the bundle (docs/bundle.md §4). Throws Error(kBundle) naming the file/field,
  // Error(kInvalidArgument) for a bad config. On glibc it changes the process's malloc thresholds
  // during the load and leaves them at 32/64 MiB after it (docs/api.md, "What a load changes in
  // the process").
  static std::shared_ptr<const Model> Load(const ModelConfig &config);
  ~Model();
  Model(const Model &) = delete;
  Model &operator=(const Model &) = delete;

  // Prepares a voice from a recording (>= 16 kHz, speech, at most 30 s) and its transcript (may
  // be empty for cross-lingual/instruct2/vc use). Throws Error(kInvalidAudio) for unusable audio.
  // The speech tokenizer and speaker encoder load on first use (once, whichever thread comes first).
  Voice CreateVoice(const Audio &prompt, const std::string &transcript, const std::string &source = "") const;
  // Reads the recording (cosyvoice::ReadAudioFile) and prepares it; Voice::source is its file name.
  Voice CreateVoiceFromFile(const std::string &path, const std::string &transcript) const;

  // The text segments `text` would be synthesized as (normalization + sentence splitting).
  std::vector<std::string> SplitText(const std::string &text, bool text_frontend = true) const;
  // Token ids of `text` under the bundle's tokenizer.
  std::vector<int32_t> Tokenize(const std::string &text) const;

  const ModelInfo &info() const;
  int sample_rate() const;

  // The implementation (src/engine/model_impl.h), for the library's own tests and tools.
  class Impl;
  const Impl &impl() const { return *impl_; }

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Runs one request at a time against a shared Model. Not thread-safe itself (use one per thread;
// a second concurrent call throws Error(kInvalidArgument)), except Cancel(), which any thread may
// call. Creating one loads nothing; keeping one per worker thread reuses its buffers.
class Session {
 public:
  // Throws Error(kInvalidArgument) if `model` is null.
  explicit Session(std::shared_ptr<const Model> model);
  ~Session();
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;

  // Synthesizes the request; returns the whole output and also streams it through `callback`
  // (optional). Throws Error(kCancelled) when the callback returns false or Cancel() was called;
  // the Session is then ready for the next request.
  Audio Synthesize(const SynthesisRequest &request, const SynthesisOptions &options = {},
                   const AudioCallback &callback = nullptr, SynthesisStats *stats = nullptr);

  // Like Synthesize, but keeps no copy of the output: audio reaches the caller only through
  // `callback` (required), so memory stays bounded by one segment/chunk whatever the text length
  // (the CLI writes long texts segment by segment; the server streams).
  void Stream(const SynthesisRequest &request, const SynthesisOptions &options, const AudioCallback &callback,
              SynthesisStats *stats = nullptr);

  // Asks the running Synthesize/Stream to stop at its next checkpoint (every LLM token, flow ODE
  // step and audio chunk); it then throws Error(kCancelled). Safe from any thread, including a
  // signal-watching one. The flag is cleared when the next Synthesize/Stream starts, so a Cancel()
  // that comes before a request starts has no effect on it.
  void Cancel();

  const Model &model() const { return *model_; }

  class State;  // per-request state (src/engine/session_state.h)

 private:
  void Run(const SynthesisRequest &request, const SynthesisOptions &options, const AudioCallback &callback,
           SynthesisStats *stats, Audio *out);

  std::shared_ptr<const Model> model_;
  std::unique_ptr<State> state_;
  std::atomic<bool> cancel_{false};
  std::atomic<bool> busy_{false};
};

}  // namespace cosyvoice
