/* cosyvoice/cosyvoice_c.h - the C API of cosyvoice-ort (docs/api.md, "C").
 *
 * A stable C ABI over the C++ library (cosyvoice/cosyvoice.h), for C and for the languages that
 * reach native code through C: Python (ctypes, python/cosyvoice), C#, Go, Swift, Kotlin/JNI...
 * C99 or later; usable from C++ as is.
 *
 *   #include <cosyvoice/cosyvoice_c.h>
 *   cosyvoice_model *model = NULL;
 *   cosyvoice_voice *voice = NULL;
 *   cosyvoice_session *session = NULL;
 *   cosyvoice_audio *audio = NULL;
 *   if (cosyvoice_model_load("bundle", NULL, &model) != COSYVOICE_OK ||
 *       cosyvoice_voice_create_from_file(model, "prompt.wav", "what it says", &voice) != COSYVOICE_OK ||
 *       cosyvoice_session_create(model, &session) != COSYVOICE_OK) {
 *     fprintf(stderr, "%s\n", cosyvoice_last_error());
 *   } else {
 *     cosyvoice_request request = cosyvoice_request_default();
 *     request.text = "Hello!";
 *     request.voice = voice;
 *     cosyvoice_synthesis_params params = cosyvoice_synthesis_default_params();
 *     params.has_top_k = true; params.top_k = 10;        // unset optional fields: the bundle's default
 *     if (cosyvoice_session_synthesize(session, &request, &params, NULL, NULL, &audio, NULL) == COSYVOICE_OK)
 *       cosyvoice_audio_write_wav("out.wav", audio->samples, audio->num_samples, audio->sample_rate, false);
 *   }
 *   cosyvoice_audio_free(audio);                          // every _free accepts NULL
 *   cosyvoice_session_free(session);
 *   cosyvoice_voice_free(voice);
 *   cosyvoice_model_free(model);
 *
 * Conventions
 *   - Opaque handles, created by a _create or _load function into an out-parameter and released
 *     by the matching _free function (which accepts NULL). A session holds a reference to its
 *     model: the model handle may be freed while sessions made from it live; the weights go when
 *     the last session goes.
 *   - Every fallible function returns a cosyvoice_status. On failure the out-parameters are left
 *     NULL and cosyvoice_last_error() gives a message naming the file, field or argument involved
 *     and what was expected. No C++ exception ever crosses this API (out of memory included: it
 *     is COSYVOICE_ERROR_INTERNAL).
 *   - Parameter structs start with `struct_size`. Get them from the *_default* functions, which set
 *     it to the size this header declares. The library accepts any older, smaller struct (the
 *     fields it lacks keep their defaults), so a program built against this header keeps working
 *     with later libraries; a struct larger than the library knows is refused. Output structs
 *     (stats, model info): set struct_size; the library fills the fields that fit and sets
 *     struct_size to the number of bytes it wrote.
 *   - Optional numeric options come as `has_x` + `x` pairs: an option whose has_x is false takes
 *     the bundle's default (config.json); a set one is used as given, zero included (cfg_rate 0
 *     turns guidance off, win_size 0 watches every token so far), after range checks.
 *   - Strings are UTF-8 and NUL-terminated. Strings returned by the library are owned by it; how
 *     long they stay valid is said at each function.
 *
 * Threads
 *   - A model is immutable: every function taking a `const cosyvoice_model *` may run in any number
 *     of threads at once, and any number of sessions may synthesize on one model concurrently.
 *   - A voice is immutable after creation: share it between sessions and threads freely; free it
 *     only when no call uses it.
 *   - A session runs one request at a time (use one per thread); cosyvoice_session_cancel() is the
 *     exception and may be called from any thread while the session exists.
 *   - cosyvoice_last_error() is per thread. cosyvoice_log_set() is process-wide.
 */
#ifndef COSYVOICE_COSYVOICE_C_H_
#define COSYVOICE_COSYVOICE_C_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#if defined(COSYVOICE_C_BUILD)
#define COSYVOICE_C_API __declspec(dllexport)
#else
#define COSYVOICE_C_API __declspec(dllimport)
#endif
#elif defined(__GNUC__)
#define COSYVOICE_C_API __attribute__((visibility("default")))
#else
#define COSYVOICE_C_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status, errors, logging, versions ------------------------------------------------------- */

/* What a call returned. The error values are those of cosyvoice::ErrorCode (cosyvoice/error.h) and
 * of the CLI's exit codes (docs/cli.md); they never change. */
typedef enum cosyvoice_status {
  COSYVOICE_OK = 0,
  COSYVOICE_ERROR_INTERNAL = 1,         /* a bug or out of memory: the message says what failed */
  COSYVOICE_ERROR_INVALID_ARGUMENT = 2, /* an argument, option, text or voice file is unusable */
  COSYVOICE_ERROR_INVALID_AUDIO = 3,    /* unreadable, silent, too short/long or low-rate audio */
  COSYVOICE_ERROR_BUNDLE = 4,           /* the bundle is missing, damaged or not for this build */
  COSYVOICE_ERROR_IO = 5,               /* a file could not be read or written */
  COSYVOICE_ERROR_RUNTIME = 6,          /* ONNX Runtime or another backend failed while running */
  COSYVOICE_ERROR_CANCELLED = 7,        /* the callback or cosyvoice_session_cancel() stopped it */
  COSYVOICE_ERROR_UNSUPPORTED = 8       /* valid, but not supported by this build or bundle */
} cosyvoice_status;

/* A stable lower-case name for a status ("ok", "invalid_argument", ...); "unknown" for other
 * values. Static storage. */
COSYVOICE_C_API const char *cosyvoice_status_name(cosyvoice_status status);

/* The message of the last failed call made by this thread: "" after a successful one. Valid until
 * this thread's next call into the library; copy it to keep it. Never NULL. */
COSYVOICE_C_API const char *cosyvoice_last_error(void);

/* The library version, e.g. "0.1.0" (static storage). */
COSYVOICE_C_API const char *cosyvoice_version(void);

/* The version of the ONNX Runtime library actually loaded, e.g. "1.30.0" (static storage). */
COSYVOICE_C_API const char *cosyvoice_ort_version(void);

/* The execution providers this ONNX Runtime build offers, lower-case ("cpu", "cuda", ...), as a
 * NULL-terminated array; `count` (may be NULL) receives their number. Static storage, computed on
 * the first call; NULL only if ONNX Runtime cannot be queried (cosyvoice_last_error() says why). */
COSYVOICE_C_API const char *const *cosyvoice_available_providers(size_t *count);

typedef enum cosyvoice_log_level {
  COSYVOICE_LOG_DEBUG = 0,
  COSYVOICE_LOG_INFO = 1,
  COSYVOICE_LOG_WARNING = 2,
  COSYVOICE_LOG_ERROR = 3,
  COSYVOICE_LOG_SILENT = 4 /* only as a threshold: nothing is logged */
} cosyvoice_log_level;

/* Receives each log line (no level prefix, no trailing newline; valid only during the call). It
 * runs on the thread that logged, one line at a time. It must not call cosyvoice_log_set(); other
 * library calls it makes do not log through it (their lines go to stderr). */
typedef void (*cosyvoice_log_callback)(cosyvoice_log_level level, const char *message, void *user_data);

/* Routes the library's log to `callback` (NULL: back to stderr, the default). Once this returns,
 * the previous callback is not called any more, so its user_data may be released. Thread-safe. */
COSYVOICE_C_API void cosyvoice_log_set(cosyvoice_log_callback callback, void *user_data);

/* Lines below `level` are dropped (default COSYVOICE_LOG_INFO). Thread-safe. */
COSYVOICE_C_API void cosyvoice_log_set_level(cosyvoice_log_level level);

/* ---- audio ----------------------------------------------------------------------------------- */

/* Mono float audio owned by the library (output of synthesis or cosyvoice_audio_read). The caller
 * may read and modify the samples, and frees the whole with cosyvoice_audio_free. */
typedef struct cosyvoice_audio {
  float *samples; /* num_samples floats, nominally in [-1, 1] */
  size_t num_samples;
  int32_t sample_rate; /* Hz */
} cosyvoice_audio;

/* Frees audio returned by the library. NULL is ignored. */
COSYVOICE_C_API void cosyvoice_audio_free(cosyvoice_audio *audio);

/* Reads WAV/FLAC/OGG/MP3 (what libsndfile reads), averaging channels to mono, into *out (free with
 * cosyvoice_audio_free). COSYVOICE_ERROR_IO when it cannot be opened, _INVALID_AUDIO when it is
 * not decodable audio. */
COSYVOICE_C_API cosyvoice_status cosyvoice_audio_read(const char *path, cosyvoice_audio **out);

/* Writes a mono WAV, 16-bit PCM or (float_samples) 32-bit float. Non-finite samples are refused
 * (COSYVOICE_ERROR_INVALID_AUDIO) and nothing is written. */
COSYVOICE_C_API cosyvoice_status cosyvoice_audio_write_wav(const char *path, const float *samples,
                                                           size_t num_samples, int32_t sample_rate,
                                                           bool float_samples);

/* ---- model ----------------------------------------------------------------------------------- */

typedef struct cosyvoice_model cosyvoice_model;

typedef enum cosyvoice_graph_optimization {
  COSYVOICE_GRAPH_OPT_DISABLED = 0,
  COSYVOICE_GRAPH_OPT_BASIC = 1,
  COSYVOICE_GRAPH_OPT_EXTENDED = 2,
  COSYVOICE_GRAPH_OPT_ALL = 3
} cosyvoice_graph_optimization;

/* Load-time settings (cosyvoice::ModelConfig). Get defaults from cosyvoice_model_default_params(). */
typedef struct cosyvoice_model_params {
  uint32_t struct_size;            /* sizeof(cosyvoice_model_params) as the caller was compiled */
  int32_t intra_op_threads;        /* ONNX Runtime intra-op pool, shared by every model of the process
                                      and sized by the first one loaded; 0: one per physical core */
  int32_t inter_op_threads;        /* default 1 (graphs run sequentially) */
  const char *providers;           /* execution providers in order of preference, comma-separated, e.g.
                                      "cuda,cpu"; NULL or "": "cpu". cpu is always the last resort */
  int32_t device_id;               /* device for cuda, tensorrt, directml unless provider_options set
                                      it (default 0) */
  int32_t graph_optimization;      /* a cosyvoice_graph_optimization (default _ALL) */
  bool verify_checksums;           /* sha256 every bundle file at load, while the graphs load and
                                      remembered in-process (default on, docs/bundle.md §4.1); false:
                                      sizes only */
  const char *profile_prefix;      /* non-NULL: ONNX Runtime writes a chrome-trace profile per graph */
  const char *optimized_model_dir; /* non-NULL: where ONNX Runtime saves each optimized graph */
  const char *precision;           /* which of the bundle's variants run (docs/bundle.md §7): "fp32",
                                      "fp16", "int8", "int4", a variant name, "auto" or "base" (the
                                      bundle's own fp32 graphs), for every
                                      family or per family as "llm=int4,flow=int8" (families not
                                      named: fp32). NULL or "": "fp32" */
  const char *provider_options;    /* options of the providers with ONNX Runtime's own keys
                                      (docs/gpu.md), "provider.key=value" entries separated by ';',
                                      e.g. "webgpu.preferredLayout=NHWC"; NULL or "": none. Unknown
                                      providers, keys or values are COSYVOICE_ERROR_INVALID_ARGUMENT */
  const char *stream_cache;        /* how streaming (exact, fast) keeps the flow's keys/values: "fp32"
                                      or "fp16" (half the memory, docs/streaming.md §5); NULL or "":
                                      "fp32" */
  int64_t max_stream_cache_mb;     /* most memory one session's streaming cache may hold, MiB (default
                                      4096; 0: no limit); a longer segment finishes with the flow
                                      recomputed per chunk (docs/streaming.md §5.2) */
} cosyvoice_model_params;

/* Defaults: ONNX Runtime's thread count, cpu, all graph optimizations, checksums verified, fp32, no
 * provider options. */
COSYVOICE_C_API cosyvoice_model_params cosyvoice_model_default_params(void);

/* Loads and checks the bundle directory `bundle_dir` (docs/bundle.md). `params` may be NULL
 * (defaults). On success *out holds the model (free with cosyvoice_model_free). Errors:
 * COSYVOICE_ERROR_BUNDLE naming the file/field, _INVALID_ARGUMENT for bad params. Thread-safe.
 * On glibc it changes the process's malloc thresholds during the load and leaves them at 32/64 MiB
 * (docs/api.md, "What a load changes in the process"). */
COSYVOICE_C_API cosyvoice_status cosyvoice_model_load(const char *bundle_dir,
                                                      const cosyvoice_model_params *params,
                                                      cosyvoice_model **out);

/* Releases the caller's reference. Sessions made from the model keep it alive. NULL is ignored. */
COSYVOICE_C_API void cosyvoice_model_free(cosyvoice_model *model);

/* What a loaded bundle is. Set struct_size (sizeof(cosyvoice_model_info)) before the call. */
typedef struct cosyvoice_model_info {
  uint32_t struct_size;
  const char *model_name;     /* config.json's model name */
  const char *format_version; /* "MAJOR.MINOR" of the bundle format */
  const char *bundle_dir;     /* as given to cosyvoice_model_load */
  const char *providers;      /* execution providers in use, comma-separated, e.g. "cpu" */
  int32_t sample_rate;        /* of the synthesized audio, Hz */
  int32_t mel_bins;
  const char *variants; /* per graph family the variant in use, "family=variant" comma-separated, e.g.
                           "flow=base,frontend=base,hift=base,llm=int8" (base: the fp32 files) */
} cosyvoice_model_info;

/* Fills *info; its strings live as long as the model. Thread-safe. */
COSYVOICE_C_API cosyvoice_status cosyvoice_model_get_info(const cosyvoice_model *model,
                                                          cosyvoice_model_info *info);

/* The output sample rate in Hz (0 for NULL). Thread-safe. */
COSYVOICE_C_API int32_t cosyvoice_model_sample_rate(const cosyvoice_model *model);

/* ---- voice ----------------------------------------------------------------------------------- */

/* A prepared prompt voice (cosyvoice::Voice: speech tokens, speaker embedding, prompt mel and the
 * transcript), computed once from a recording and reusable; saved as a small file
 * (docs/voice-format.md). Immutable; not tied to a model handle (it outlives the model). */
typedef struct cosyvoice_voice cosyvoice_voice;

/* Prepares a voice from a mono recording (>= 16 kHz, speech, at most 30 s) and its transcript (NULL
 * or "" when the voice serves only cross-lingual, instruct2 and vc). COSYVOICE_ERROR_INVALID_AUDIO
 * for unusable audio. Runs the model's speech tokenizer and speaker encoder. Thread-safe. */
COSYVOICE_C_API cosyvoice_status cosyvoice_voice_create(const cosyvoice_model *model, const float *samples,
                                                        size_t num_samples, int32_t sample_rate,
                                                        const char *transcript, cosyvoice_voice **out);

/* The same from an audio file (cosyvoice_audio_read's formats); the voice's source is the file
 * name. */
COSYVOICE_C_API cosyvoice_status cosyvoice_voice_create_from_file(const cosyvoice_model *model,
                                                                  const char *audio_path,
                                                                  const char *transcript,
                                                                  cosyvoice_voice **out);

/* Loads a voice file written by cosyvoice_voice_save or `cosyvoice voice create`. A missing or
 * damaged file is COSYVOICE_ERROR_INVALID_ARGUMENT naming the file. */
COSYVOICE_C_API cosyvoice_status cosyvoice_voice_load(const char *path, cosyvoice_voice **out);

/* Writes the voice to `path` (atomically: a partial file never replaces an old one). */
COSYVOICE_C_API cosyvoice_status cosyvoice_voice_save(const cosyvoice_voice *voice, const char *path);

/* Frees the voice. NULL is ignored. */
COSYVOICE_C_API void cosyvoice_voice_free(cosyvoice_voice *voice);

/* Accessors; thread-safe. For a NULL voice they return "" or 0. */
/* What the prompt says ("" if none was given). Valid as long as the voice. */
COSYVOICE_C_API const char *cosyvoice_voice_transcript(const cosyvoice_voice *voice);
/* Where the voice came from (a file name, informational; may be ""). Valid as long as the voice. */
COSYVOICE_C_API const char *cosyvoice_voice_source(const cosyvoice_voice *voice);
/* Duration of the prompt recording in seconds. */
COSYVOICE_C_API double cosyvoice_voice_prompt_seconds(const cosyvoice_voice *voice);
/* Number of prompt speech tokens (25 per second of prompt). */
COSYVOICE_C_API size_t cosyvoice_voice_num_prompt_tokens(const cosyvoice_voice *voice);

/* ---- synthesis ------------------------------------------------------------------------------- */

typedef enum cosyvoice_mode {
  COSYVOICE_MODE_ZERO_SHOT = 0,       /* speak `text` in the voice; needs the voice's transcript */
  COSYVOICE_MODE_CROSS_LINGUAL = 1,   /* speak `text` (any language) in the voice, no transcript */
  COSYVOICE_MODE_INSTRUCT2 = 2,       /* speak `text` in the voice following `instruct` */
  COSYVOICE_MODE_VOICE_CONVERSION = 3 /* re-voice the source audio with the voice; no text */
} cosyvoice_mode;

/* "zero_shot", "cross_lingual", "instruct2", "vc"; NULL for other values. Static storage. */
COSYVOICE_C_API const char *cosyvoice_mode_name(int32_t mode);

/* What to synthesize. The pointed-to strings, voice and samples must stay valid during the call. */
typedef struct cosyvoice_request {
  uint32_t struct_size;                /* sizeof(cosyvoice_request) as the caller was compiled */
  int32_t mode;                        /* a cosyvoice_mode */
  const char *text;                    /* what to say (all modes but voice conversion) */
  const cosyvoice_voice *voice;        /* required */
  const char *instruct;                /* instruct2: the instruction, e.g. "请用四川话说这句话。" */
  const cosyvoice_audio *source_audio; /* voice conversion: the speech to re-voice (>= 16 kHz,
                                          <= 30 s): from cosyvoice_audio_read, or filled in */
} cosyvoice_request;

/* A zero-shot request with no text and no voice yet. */
COSYVOICE_C_API cosyvoice_request cosyvoice_request_default(void);

/* How a streamed segment is computed (cosyvoice::StreamMode, docs/streaming.md §3). */
typedef enum cosyvoice_stream_mode {
  COSYVOICE_STREAM_EXACT = 0,    /* upstream's streamed audio, earlier chunks not recomputed (default) */
  COSYVOICE_STREAM_FAST = 1,     /* incremental everywhere: less work, first audio sooner; the prompt
                                    cached on its own (docs/streaming.md §8.5), the final chunk
                                    with chunk attention (§4) */
  COSYVOICE_STREAM_RECOMPUTE = 2 /* upstream's loop (each chunk recomputes everything so far) */
} cosyvoice_stream_mode;

/* Per-request options (cosyvoice::SynthesisOptions). Get defaults from
 * cosyvoice_synthesis_default_params(): no optional field set, seed 0, speed 1, text frontend and
 * normalization on, no streaming. */
typedef struct cosyvoice_synthesis_params {
  uint32_t struct_size;    /* sizeof(cosyvoice_synthesis_params) as the caller was compiled */
  float speed;             /* 0.5 .. 2.0 (must stay 1 with stream) */
  uint64_t seed;           /* sampling seed; segment i of the text uses seed + i */
  bool text_frontend;      /* normalize numbers/symbols and split long text into sentences */
  bool text_normalization; /* numbers, dates, units... (false: only CosyVoice3's rules + split) */
  bool stream;             /* emit audio in chunks while a sentence is generated */
  /* Optional: has_x false = the bundle's default (shown in parentheses for CosyVoice3). */
  bool has_n_timesteps;
  int32_t n_timesteps; /* flow ODE steps, 1 .. 1000 (10) */
  bool has_cfg_rate;
  float cfg_rate; /* classifier-free guidance, 0 .. 100; 0 = none (0.7) */
  bool has_top_p;
  float top_p; /* nucleus mass, (0, 1] (0.8) */
  bool has_top_k;
  int32_t top_k; /* >= 1 (25) */
  bool has_win_size;
  int32_t win_size; /* repetition window, >= 0; 0 = every token so far (10) */
  bool has_tau_r;
  float tau_r; /* repetition threshold, >= 0 (0.1) */
  bool has_min_token_text_ratio;
  float min_token_text_ratio; /* speech tokens per text token, >= 0 (2) */
  bool has_max_token_text_ratio;
  float max_token_text_ratio; /* >= min_token_text_ratio (20) */
  bool has_max_tokens;
  int32_t max_tokens; /* hard cap on speech tokens per segment, >= 1 (none) */
  bool has_min_tokens;
  int32_t min_tokens;  /* hard floor, >= 0; min_tokens == max_tokens fixes the length (none) */
  int32_t stream_mode; /* a cosyvoice_stream_mode, with stream (default COSYVOICE_STREAM_EXACT) */
  int32_t reserved;    /* 0 (keeps the struct free of tail padding; a later version may use it) */
} cosyvoice_synthesis_params;

COSYVOICE_C_API cosyvoice_synthesis_params cosyvoice_synthesis_default_params(void);

/* A piece of output audio handed to the callback as soon as it is ready. Without streaming there
 * is one chunk per text segment. */
typedef struct cosyvoice_audio_chunk {
  uint32_t struct_size; /* sizeof(cosyvoice_audio_chunk) of the library: fields may be added */
  const float *samples; /* valid only during the callback: copy what you keep */
  size_t num_samples;
  int32_t sample_rate; /* Hz */
  int32_t segment;     /* index of the text segment this audio belongs to */
  int32_t num_segments;
  bool segment_done; /* last chunk of this segment */
} cosyvoice_audio_chunk;

/* Called on the synthesizing thread for each chunk. Return 0 to go on, anything else to stop: the
 * synthesis then returns COSYVOICE_ERROR_CANCELLED. It must not call into the same session (except
 * cosyvoice_session_cancel). */
typedef int (*cosyvoice_audio_callback)(const cosyvoice_audio_chunk *chunk, void *user_data);

/* What one request did and how long it took. Set struct_size (sizeof(cosyvoice_stats)). */
typedef struct cosyvoice_stats {
  uint32_t struct_size;
  int32_t segments;           /* text segments synthesized */
  int64_t prompt_positions;   /* LLM prefill positions, summed over segments */
  int64_t speech_tokens;      /* generated speech tokens, summed over segments */
  double audio_seconds;       /* of output */
  double total_seconds;       /* wall clock of the call */
  double first_audio_seconds; /* from the call to the first chunk */
  double text_seconds;        /* per stage, wall clock: text frontend */
  double llm_prefill_seconds;
  double llm_decode_seconds;
  double flow_seconds;
  double vocoder_seconds;
  double frontend_seconds;  /* speech tokenizer + speaker encoder (voice conversion's source) */
  double rtf;               /* total_seconds / audio_seconds (0 without audio) */
  double tokens_per_second; /* speech_tokens / llm_decode_seconds (0 without decoding) */
  /* Where a streamed request's first audio waited (0 when not streamed; docs/streaming.md §8.3):
   * seconds from the call until the token that completed the first chunk arrived, then the flow
   * and vocoder seconds of that chunk. first_audio_seconds is about their sum. */
  double first_chunk_tokens_seconds;
  double first_chunk_flow_seconds;
  double first_chunk_vocoder_seconds;
} cosyvoice_stats;

/* A session: the per-request state (KV cache, IO bindings, sampler, stream schedule, vocoder
 * caches) for requests on one model. Creating one is cheap (nothing is loaded); reuse it. */
typedef struct cosyvoice_session cosyvoice_session;

/* Creates a session on `model`, taking a reference to it (the model handle may be freed first).
 * Thread-safe with respect to the model. */
COSYVOICE_C_API cosyvoice_status cosyvoice_session_create(const cosyvoice_model *model,
                                                          cosyvoice_session **out);

/* Frees the session (and drops its model reference). Not while a call on it runs. NULL ignored. */
COSYVOICE_C_API void cosyvoice_session_free(cosyvoice_session *session);

/* Synthesizes `request` and returns the whole output in *out_audio (free with cosyvoice_audio_free).
 * `params` may be NULL (defaults). `callback` (may be NULL) also receives the audio as it is made,
 * with `user_data`. `stats` (may be NULL; set its struct_size) is filled on success. One call at a
 * time per session. COSYVOICE_ERROR_CANCELLED when the callback returned non-zero or
 * cosyvoice_session_cancel() was called; the session is then ready for the next request. */
COSYVOICE_C_API cosyvoice_status cosyvoice_session_synthesize(
    cosyvoice_session *session, const cosyvoice_request *request, const cosyvoice_synthesis_params *params,
    cosyvoice_audio_callback callback, void *user_data, cosyvoice_audio **out_audio, cosyvoice_stats *stats);

/* Like cosyvoice_session_synthesize, but the audio reaches the caller only through `callback`
 * (required): no copy of the output is kept, so memory stays bounded by one segment or chunk
 * whatever the length of the text. */
COSYVOICE_C_API cosyvoice_status cosyvoice_session_stream(cosyvoice_session *session,
                                                          const cosyvoice_request *request,
                                                          const cosyvoice_synthesis_params *params,
                                                          cosyvoice_audio_callback callback, void *user_data,
                                                          cosyvoice_stats *stats);

/* Asks the running synthesize/stream call on `session` to stop at its next checkpoint (every LLM
 * token, flow step and chunk); that call then returns COSYVOICE_ERROR_CANCELLED. Safe from any
 * thread (the session must not be freed meanwhile). A cancel made while no request runs has no
 * effect on the next request. NULL is ignored. */
COSYVOICE_C_API void cosyvoice_session_cancel(cosyvoice_session *session);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* COSYVOICE_COSYVOICE_C_H_ */
