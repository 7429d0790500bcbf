/* tests/capi/test_c_api.c - the C API on the tiny model, in C11, through the public header only.
 *
 *   test_c_api CASE BUNDLE PROMPT_WAV SOURCE_WAV WORK_DIR
 *
 * Each CASE is one CTest test (tests/capi/CMakeLists.txt). Expected values come from the request,
 * never from a previous run: the output length follows from the forced token count (one speech
 * token is 2 mel frames of 480 samples at 24 kHz: 960 samples), chunks must add up to the returned
 * audio, a saved and reloaded voice must give the same audio, and so on. */
#define _POSIX_C_SOURCE 200809L

#include <cosyvoice/cosyvoice_c.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *g_bundle, *g_prompt, *g_source, *g_work;
static int g_checks;

#define CHECK(cond)                                                                             \
  do {                                                                                          \
    ++g_checks;                                                                                 \
    if (!(cond)) {                                                                              \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n  last error: %s\n", __FILE__, __LINE__, #cond, \
              cosyvoice_last_error());                                                          \
      exit(1);                                                                                  \
    }                                                                                           \
  } while (0)
#define CHECK_OK(call) CHECK((call) == COSYVOICE_OK)
/* `call` fails with `status` and a message containing `needle`. */
#define CHECK_FAILS(call, status, needle)                                                                 \
  do {                                                                                                    \
    cosyvoice_status s_ = (call);                                                                         \
    if (s_ != (status) || strstr(cosyvoice_last_error(), (needle)) == NULL) {                             \
      fprintf(stderr, "%s:%d: %s\n  expected %s containing \"%s\", got %s: \"%s\"\n", __FILE__, __LINE__, \
              #call, cosyvoice_status_name(status), (needle), cosyvoice_status_name(s_),                  \
              cosyvoice_last_error());                                                                    \
      exit(1);                                                                                            \
    }                                                                                                     \
    ++g_checks;                                                                                           \
  } while (0)

enum { kSamplesPerToken = 960, kRate = 24000 };

/* ---- helpers ------------------------------------------------------------------------------------ */

static cosyvoice_model *LoadModel(void) {
  cosyvoice_model_params params = cosyvoice_model_default_params();
  params.intra_op_threads = 1;
  cosyvoice_model *model = NULL;
  CHECK_OK(cosyvoice_model_load(g_bundle, &params, &model));
  CHECK(model != NULL);
  return model;
}

static cosyvoice_voice *PromptVoice(const cosyvoice_model *model, const char *transcript) {
  cosyvoice_voice *voice = NULL;
  CHECK_OK(cosyvoice_voice_create_from_file(model, g_prompt, transcript, &voice));
  return voice;
}

/* Params that fix the number of speech tokens per segment (and so the length of the audio). */
static cosyvoice_synthesis_params FixedTokens(int tokens, uint64_t seed) {
  cosyvoice_synthesis_params p = cosyvoice_synthesis_default_params();
  p.seed = seed;
  p.has_min_tokens = true;
  p.min_tokens = tokens;
  p.has_max_tokens = true;
  p.max_tokens = tokens;
  return p;
}

static int SameAudio(const cosyvoice_audio *a, const cosyvoice_audio *b) {
  return a->num_samples == b->num_samples && a->sample_rate == b->sample_rate &&
         memcmp(a->samples, b->samples, a->num_samples * sizeof(float)) == 0;
}

static int AllFinite(const float *x, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (!isfinite(x[i])) return 0;
  return 1;
}

static void PathIn(char *out, size_t size, const char *name) {
  snprintf(out, size, "%s/%s", g_work, name);
}

/* Collects streamed chunks: a copy of every sample, counts, and an optional stop. */
typedef struct {
  float *samples;
  size_t num_samples, capacity;
  int chunks, segments_done, last_segment, num_segments;
  int stop_after; /* return non-zero on this chunk (1-based); 0: never */
  int bad_chunk;  /* a chunk broke the documented contract */
} Collector;

static int Collect(const cosyvoice_audio_chunk *chunk, void *user_data) {
  Collector *c = (Collector *)user_data;
  if (chunk->struct_size < sizeof(cosyvoice_audio_chunk) || chunk->sample_rate != kRate ||
      chunk->segment < c->last_segment || chunk->segment >= chunk->num_segments ||
      !AllFinite(chunk->samples, chunk->num_samples))
    c->bad_chunk = 1;
  if (c->num_samples + chunk->num_samples > c->capacity) {
    c->capacity = 2 * (c->num_samples + chunk->num_samples);
    c->samples = (float *)realloc(c->samples, c->capacity * sizeof(float));
    CHECK(c->samples != NULL);
  }
  memcpy(c->samples + c->num_samples, chunk->samples, chunk->num_samples * sizeof(float));
  c->num_samples += chunk->num_samples;
  c->chunks += 1;
  c->segments_done += chunk->segment_done ? 1 : 0;
  c->last_segment = chunk->segment;
  c->num_segments = chunk->num_segments;
  return c->stop_after > 0 && c->chunks >= c->stop_after;
}

/* Offline: the whole output, which must equal what the callback saw; checks the stats. */
static cosyvoice_audio *Offline(cosyvoice_session *session, const cosyvoice_request *request,
                                const cosyvoice_synthesis_params *params, int expect_tokens) {
  Collector c = {0};
  cosyvoice_stats stats = {0};
  stats.struct_size = sizeof(stats);
  cosyvoice_audio *audio = NULL;
  CHECK_OK(cosyvoice_session_synthesize(session, request, params, Collect, &c, &audio, &stats));
  CHECK(audio != NULL && audio->sample_rate == kRate && audio->num_samples > 0);
  CHECK(AllFinite(audio->samples, audio->num_samples));
  CHECK(!c.bad_chunk && c.segments_done == c.num_segments && c.chunks == c.num_segments);
  CHECK(c.num_samples == audio->num_samples &&
        memcmp(c.samples, audio->samples, audio->num_samples * sizeof(float)) == 0);
  CHECK(stats.struct_size == sizeof(stats) && stats.segments == c.num_segments);
  CHECK(fabs(stats.audio_seconds - (double)audio->num_samples / kRate) < 1e-9);
  CHECK(stats.total_seconds > 0 && stats.first_audio_seconds > 0 && stats.rtf > 0);
  CHECK(stats.first_chunk_tokens_seconds == 0 && stats.first_chunk_flow_seconds == 0 &&
        stats.first_chunk_vocoder_seconds == 0); /* not streamed */
  if (expect_tokens > 0) {
    CHECK(stats.speech_tokens == (int64_t)expect_tokens * stats.segments);
    CHECK(audio->num_samples == (size_t)expect_tokens * stats.segments * kSamplesPerToken);
  }
  free(c.samples);
  return audio;
}

/* Streaming with cosyvoice_session_stream: returns the number of chunks, checks the stats. */
static int Streamed(cosyvoice_session *session, const cosyvoice_request *request, int tokens) {
  cosyvoice_synthesis_params p = FixedTokens(tokens, 7);
  p.stream = true;
  Collector c = {0};
  cosyvoice_stats stats = {0};
  stats.struct_size = sizeof(stats);
  CHECK_OK(cosyvoice_session_stream(session, request, &p, Collect, &c, &stats));
  CHECK(!c.bad_chunk && c.chunks > 1 && c.segments_done == 1 && c.num_segments == 1);
  CHECK(stats.speech_tokens == tokens);
  CHECK(c.num_samples == (size_t)tokens * kSamplesPerToken);
  CHECK(fabs(stats.audio_seconds - (double)c.num_samples / kRate) < 1e-9);
  /* the first audio's wait, split: all three happened, in order, before the first chunk left */
  CHECK(stats.first_chunk_tokens_seconds >= stats.llm_prefill_seconds && stats.first_chunk_flow_seconds > 0 &&
        stats.first_chunk_vocoder_seconds > 0);
  CHECK(stats.first_chunk_tokens_seconds + stats.first_chunk_flow_seconds +
            stats.first_chunk_vocoder_seconds <=
        stats.first_audio_seconds + 1e-9);
  free(c.samples);
  return c.chunks;
}

/* ---- cases -------------------------------------------------------------------------------------- */

static void LogToCounter(cosyvoice_log_level level, const char *message, void *user_data) {
  if (level >= COSYVOICE_LOG_WARNING && strstr(message, "cuda") != NULL) ++*(int *)user_data;
}

static void CaseBasics(void) {
  CHECK(strcmp(cosyvoice_version(), COSYVOICE_EXPECTED_VERSION) == 0);
  CHECK(strncmp(cosyvoice_ort_version(), "1.", 2) == 0);
  size_t count = 0;
  const char *const *providers = cosyvoice_available_providers(&count);
  CHECK(providers != NULL && count >= 1 && providers[count] == NULL);
  int has_cpu = 0;
  for (size_t i = 0; i < count; ++i) has_cpu |= strcmp(providers[i], "cpu") == 0;
  CHECK(has_cpu);
  CHECK(strcmp(cosyvoice_status_name(COSYVOICE_ERROR_BUNDLE), "bundle") == 0);
  CHECK(strcmp(cosyvoice_status_name((cosyvoice_status)99), "unknown") == 0);
  CHECK(strcmp(cosyvoice_mode_name(COSYVOICE_MODE_VOICE_CONVERSION), "vc") == 0);
  CHECK(cosyvoice_mode_name(4) == NULL);
  /* defaults: sizes set, no optional field set, the documented values */
  cosyvoice_synthesis_params p = cosyvoice_synthesis_default_params();
  CHECK(p.struct_size == sizeof(p) && p.speed == 1.0f && p.seed == 0 && p.text_frontend && !p.stream &&
        p.stream_mode == COSYVOICE_STREAM_EXACT);
  CHECK(!p.has_n_timesteps && !p.has_cfg_rate && !p.has_top_p && !p.has_top_k && !p.has_win_size &&
        !p.has_tau_r && !p.has_min_token_text_ratio && !p.has_max_token_text_ratio && !p.has_max_tokens &&
        !p.has_min_tokens);
  cosyvoice_model_params m = cosyvoice_model_default_params();
  CHECK(m.struct_size == sizeof(m) && m.graph_optimization == COSYVOICE_GRAPH_OPT_ALL &&
        m.providers == NULL && m.precision == NULL && m.provider_options == NULL && m.stream_cache == NULL &&
        m.max_stream_cache_mb == 4096);
  cosyvoice_request r = cosyvoice_request_default();
  CHECK(r.struct_size == sizeof(r) && r.mode == COSYVOICE_MODE_ZERO_SHOT && r.voice == NULL);

  /* the log callback gets the library's lines: asking for cuda on a CPU-only run warns once */
  int warnings = 0;
  cosyvoice_log_set(LogToCounter, &warnings);
  cosyvoice_model_params cuda = cosyvoice_model_default_params();
  cuda.providers = "cuda,cpu";
  cosyvoice_model *model = NULL;
  CHECK_OK(cosyvoice_model_load(g_bundle, &cuda, &model));
  cosyvoice_log_set(NULL, NULL);
  cosyvoice_model_info info = {0};
  info.struct_size = sizeof(info);
  CHECK_OK(cosyvoice_model_get_info(model, &info));
  CHECK(info.sample_rate == kRate && info.mel_bins == 80 && strcmp(info.bundle_dir, g_bundle) == 0);
  CHECK(strstr(info.providers, "cpu") != NULL && strlen(info.model_name) > 0);
  if (strstr(info.providers, "cuda") == NULL) CHECK(warnings >= 1); /* cuda not usable: it said so */
  /* the default precision runs the bundle's fp32 files for every family */
  CHECK(strcmp(info.variants, "flow=base,frontend=base,hift=base,llm=base") == 0);
  /* an older, smaller info struct gets only the fields it has */
  cosyvoice_model_info old = {0};
  old.struct_size = (uint32_t)offsetof(cosyvoice_model_info, format_version);
  CHECK_OK(cosyvoice_model_get_info(model, &old));
  CHECK(old.struct_size == offsetof(cosyvoice_model_info, format_version) && old.model_name != NULL &&
        old.format_version == NULL && old.sample_rate == 0);
  CHECK(cosyvoice_model_sample_rate(model) == kRate);
  cosyvoice_model_free(model);
  printf("basics: version %s, onnxruntime %s, %zu providers\n", cosyvoice_version(), cosyvoice_ort_version(),
         count);
}

/* Zero-shot, offline and streaming; voice save/load; determinism; session reuse. */
static void CaseZeroShot(void) {
  cosyvoice_model *model = LoadModel();
  cosyvoice_voice *voice = PromptVoice(model, "Front center.");
  CHECK(strcmp(cosyvoice_voice_transcript(voice), "Front center.") == 0);
  CHECK(strcmp(cosyvoice_voice_source(voice), "Front_Center.wav") == 0);
  CHECK(cosyvoice_voice_prompt_seconds(voice) > 1.0 && cosyvoice_voice_prompt_seconds(voice) < 2.0);
  CHECK(cosyvoice_voice_num_prompt_tokens(voice) > 0);
  char path[1024];
  PathIn(path, sizeof(path), "front.voice");
  CHECK_OK(cosyvoice_voice_save(voice, path));
  cosyvoice_voice *loaded = NULL;
  CHECK_OK(cosyvoice_voice_load(path, &loaded));
  CHECK(strcmp(cosyvoice_voice_transcript(loaded), "Front center.") == 0);
  CHECK(cosyvoice_voice_num_prompt_tokens(loaded) == cosyvoice_voice_num_prompt_tokens(voice));

  cosyvoice_session *session = NULL;
  CHECK_OK(cosyvoice_session_create(model, &session));
  cosyvoice_model_free(model); /* the session keeps the model alive */
  cosyvoice_request request = cosyvoice_request_default();
  request.text = "Hello world.";
  request.voice = voice;
  cosyvoice_synthesis_params p = FixedTokens(30, 1);
  cosyvoice_audio *a = Offline(session, &request, &p, 30);
  cosyvoice_audio *b = Offline(session, &request, &p, 30); /* same seed, reused session */
  CHECK(SameAudio(a, b));
  request.voice = loaded; /* the reloaded voice is the same voice */
  cosyvoice_audio *c = Offline(session, &request, &p, 30);
  CHECK(SameAudio(a, c));
  p.seed = 2;
  cosyvoice_audio *d = Offline(session, &request, &p, 30);
  CHECK(!SameAudio(a, d)); /* another seed samples other tokens */
  const int chunks = Streamed(session, &request, 60);
  /* the fast stream mode reaches the engine: the same length, another final chunk (docs/streaming.md §4) */
  cosyvoice_synthesis_params q = FixedTokens(60, 7);
  q.stream = true;
  cosyvoice_audio *exact = NULL, *fast = NULL;
  CHECK_OK(cosyvoice_session_synthesize(session, &request, &q, NULL, NULL, &exact, NULL));
  q.stream_mode = COSYVOICE_STREAM_FAST;
  CHECK_OK(cosyvoice_session_synthesize(session, &request, &q, NULL, NULL, &fast, NULL));
  CHECK(exact->num_samples == 60 * kSamplesPerToken && fast->num_samples == exact->num_samples);
  CHECK(!SameAudio(exact, fast));
  cosyvoice_audio_free(exact);
  cosyvoice_audio_free(fast);
  /* a text long enough to be split (docs/cli.md, normalize): two segments of 20 tokens each */
  char long_text[512] = "";
  for (int i = 0; i < 69; ++i) strcat(long_text, "甲");
  strcat(long_text, "。");
  for (int i = 0; i < 29; ++i) strcat(long_text, "乙");
  strcat(long_text, "。");
  request.text = long_text;
  p = FixedTokens(20, 2);
  cosyvoice_audio *e = Offline(session, &request, &p, 20);
  CHECK(e->num_samples == 2 * 20 * kSamplesPerToken);
  printf("zero_shot: %zu samples offline, %d chunks streamed, 2 segments: %zu samples\n", a->num_samples,
         chunks, e->num_samples);
  /* an unset options pointer is the defaults; a natural length: at most 20 tokens per text token */
  request.text = "Hi.";
  cosyvoice_audio *f = NULL;
  CHECK_OK(cosyvoice_session_synthesize(session, &request, NULL, NULL, NULL, &f, NULL));
  CHECK(f->num_samples > 0 && f->num_samples % kSamplesPerToken == 0);
  /* write the output; a 16-bit WAV reads back within one quantization step */
  PathIn(path, sizeof(path), "zero_shot.wav");
  CHECK_OK(cosyvoice_audio_write_wav(path, a->samples, a->num_samples, a->sample_rate, false));
  cosyvoice_audio *back = NULL;
  CHECK_OK(cosyvoice_audio_read(path, &back));
  CHECK(back->num_samples == a->num_samples && back->sample_rate == kRate);
  float worst = 0.0f;
  for (size_t i = 0; i < a->num_samples; ++i) worst = fmaxf(worst, fabsf(back->samples[i] - a->samples[i]));
  CHECK(worst <= 1.0f / 32768 + 1e-7f);
  cosyvoice_audio *list[] = {a, b, c, d, e, f, back};
  for (size_t i = 0; i < sizeof(list) / sizeof(list[0]); ++i) cosyvoice_audio_free(list[i]);
  cosyvoice_session_free(session);
  cosyvoice_voice_free(voice);
  cosyvoice_voice_free(loaded);
}

static void CaseMode(int32_t mode) {
  cosyvoice_model *model = LoadModel();
  cosyvoice_voice *voice = PromptVoice(model, NULL); /* these modes need no transcript */
  cosyvoice_session *session = NULL;
  CHECK_OK(cosyvoice_session_create(model, &session));
  cosyvoice_audio *source = NULL;
  cosyvoice_request request = cosyvoice_request_default();
  request.mode = mode;
  request.voice = voice;
  request.text = "你好，世界。";
  if (mode == COSYVOICE_MODE_INSTRUCT2) request.instruct = "请用四川话说这句话。";
  if (mode == COSYVOICE_MODE_VOICE_CONVERSION) {
    CHECK_OK(cosyvoice_audio_read(g_source, &source));
    request.source_audio = source;
    request.text = NULL;
  }
  cosyvoice_synthesis_params p = FixedTokens(25, 3);
  /* voice conversion's length follows the source (25 tokens per second of it), not the options */
  const int tokens = mode == COSYVOICE_MODE_VOICE_CONVERSION ? 0 : 25;
  cosyvoice_audio *a = Offline(session, &request, &p, tokens);
  cosyvoice_audio *b = Offline(session, &request, &p, tokens);
  CHECK(SameAudio(a, b));
  if (mode == COSYVOICE_MODE_VOICE_CONVERSION) {
    CHECK(fabs((double)a->num_samples / kRate - (double)source->num_samples / source->sample_rate) < 0.1);
    printf("%s: %zu samples offline\n", cosyvoice_mode_name(mode), a->num_samples);
  } else {
    printf("%s: %zu samples offline, %d chunks streamed\n", cosyvoice_mode_name(mode), a->num_samples,
           Streamed(session, &request, 60));
  }
  cosyvoice_audio_free(a);
  cosyvoice_audio_free(b);
  cosyvoice_audio_free(source);
  cosyvoice_session_free(session);
  cosyvoice_voice_free(voice);
  cosyvoice_model_free(model);
}

/* precision and provider_options reach the model: the quantized tiny bundle (BUNDLE-q, from
 * `make tiny-model`) runs its int8 LLM variant (the other families their float32 variants, as fp32
 * takes them), and the output has the requested length. */
static void CaseVariants(void) {
  char bundle_q[1024];
  snprintf(bundle_q, sizeof(bundle_q), "%s-q", g_bundle);
  cosyvoice_model_params params = cosyvoice_model_default_params();
  params.intra_op_threads = 1;
  params.precision = "llm=int8";
  params.provider_options = "webgpu.preferredLayout=NHWC;"; /* valid; webgpu is not asked for */
  cosyvoice_model *model = NULL;
  CHECK_OK(cosyvoice_model_load(bundle_q, &params, &model));
  cosyvoice_model_info info = {0};
  info.struct_size = sizeof(info);
  CHECK_OK(cosyvoice_model_get_info(model, &info));
  CHECK(strcmp(info.variants, "flow=fp32-panel,frontend=base,hift=fp32-winograd,llm=int8") == 0);
  CHECK(strcmp(info.providers, "cpu") == 0);
  cosyvoice_voice *voice = PromptVoice(model, "Front center.");
  cosyvoice_session *session = NULL;
  CHECK_OK(cosyvoice_session_create(model, &session));
  cosyvoice_request request = cosyvoice_request_default();
  request.voice = voice;
  request.text = "Hello world.";
  cosyvoice_synthesis_params p = FixedTokens(20, 5);
  cosyvoice_audio_free(Offline(session, &request, &p, 20));
  cosyvoice_session_free(session);
  printf("variants: %s\n", info.variants); /* (valid as long as the model) */
  cosyvoice_voice_free(voice);
  cosyvoice_model_free(model);
}

/* has_x + x: a set zero is used as given (here: no guidance), unlike an unset option. */
static void CaseOptions(void) {
  cosyvoice_model *model = LoadModel();
  cosyvoice_voice *voice = PromptVoice(model, "Front center.");
  cosyvoice_session *session = NULL;
  CHECK_OK(cosyvoice_session_create(model, &session));
  cosyvoice_request request = cosyvoice_request_default();
  request.text = "Hello world.";
  request.voice = voice;
  cosyvoice_synthesis_params p = FixedTokens(20, 5);
  cosyvoice_audio *bundle_default = Offline(session, &request, &p, 20);
  p.has_cfg_rate = true;
  p.cfg_rate = 0.7f; /* CosyVoice3's default, set explicitly: the same audio */
  cosyvoice_audio *explicit_default = Offline(session, &request, &p, 20);
  CHECK(SameAudio(bundle_default, explicit_default));
  p.cfg_rate = 0.0f; /* zero is a real value: guidance off */
  cosyvoice_audio *no_guidance = Offline(session, &request, &p, 20);
  CHECK(!SameAudio(bundle_default, no_guidance));
  p.has_cfg_rate = false;
  p.has_n_timesteps = true;
  p.n_timesteps = 1;
  cosyvoice_audio *one_step = Offline(session, &request, &p, 20);
  CHECK(!SameAudio(bundle_default, one_step));
  /* an older, smaller params struct: the fields it lacks take their defaults, whatever follows */
  cosyvoice_synthesis_params old = cosyvoice_synthesis_default_params();
  memset((char *)&old + offsetof(cosyvoice_synthesis_params, has_n_timesteps), 0xff,
         sizeof(old) - offsetof(cosyvoice_synthesis_params, has_n_timesteps));
  old.struct_size = (uint32_t)offsetof(cosyvoice_synthesis_params, has_n_timesteps);
  old.seed = 5;
  request.text = "Hi.";
  cosyvoice_synthesis_params defaults = cosyvoice_synthesis_default_params();
  defaults.seed = 5;
  cosyvoice_audio *with_old = Offline(session, &request, &old, 0);
  cosyvoice_audio *with_defaults = Offline(session, &request, &defaults, 0);
  CHECK(SameAudio(with_old, with_defaults));
  cosyvoice_audio *list[] = {bundle_default, explicit_default, no_guidance,
                             one_step,       with_old,         with_defaults};
  for (size_t i = 0; i < sizeof(list) / sizeof(list[0]); ++i) cosyvoice_audio_free(list[i]);
  cosyvoice_session_free(session);
  cosyvoice_voice_free(voice);
  cosyvoice_model_free(model);
  printf("options: explicit zero differs from unset, older struct takes defaults\n");
}

static void CaseCancelFromCallback(void) {
  cosyvoice_model *model = LoadModel();
  cosyvoice_voice *voice = PromptVoice(model, "Front center.");
  cosyvoice_session *session = NULL;
  CHECK_OK(cosyvoice_session_create(model, &session));
  cosyvoice_request request = cosyvoice_request_default();
  request.text = "Hello world.";
  request.voice = voice;
  cosyvoice_synthesis_params p = FixedTokens(60, 1);
  p.stream = true;
  Collector c = {0};
  c.stop_after = 1;
  CHECK_FAILS(cosyvoice_session_stream(session, &request, &p, Collect, &c, NULL), COSYVOICE_ERROR_CANCELLED,
              "cancel");
  CHECK(c.chunks == 1); /* nothing more after the callback said stop */
  cosyvoice_audio *audio = (cosyvoice_audio *)1;
  Collector d = {0};
  d.stop_after = 1;
  p.stream = false;
  CHECK_FAILS(cosyvoice_session_synthesize(session, &request, &p, Collect, &d, &audio, NULL),
              COSYVOICE_ERROR_CANCELLED, "cancel");
  CHECK(audio == NULL);
  /* the session serves the next request */
  cosyvoice_audio *next = Offline(session, &request, &p, 60);
  cosyvoice_audio_free(next);
  free(c.samples);
  free(d.samples);
  cosyvoice_session_free(session);
  cosyvoice_voice_free(voice);
  cosyvoice_model_free(model);
  printf("cancel_callback: stopped after 1 chunk, session reusable\n");
}

/* Another thread cancels while the first chunk's callback waits for it, so the cancel is certain
 * to arrive mid-request. */
typedef struct {
  cosyvoice_session *session;
  atomic_int first_chunk, cancelled;
} CancelState;

static void SleepMs(long ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&t, NULL);
}

static void *Canceller(void *arg) {
  CancelState *s = (CancelState *)arg;
  while (!atomic_load(&s->first_chunk)) SleepMs(1);
  cosyvoice_session_cancel(s->session);
  atomic_store(&s->cancelled, 1);
  return NULL;
}

static int WaitForCancel(const cosyvoice_audio_chunk *chunk, void *user_data) {
  (void)chunk;
  CancelState *s = (CancelState *)user_data;
  atomic_store(&s->first_chunk, 1);
  while (!atomic_load(&s->cancelled)) SleepMs(1);
  return 0; /* go on: the cancel comes from the other thread */
}

static void CaseCancelFromThread(void) {
  cosyvoice_model *model = LoadModel();
  cosyvoice_voice *voice = PromptVoice(model, "Front center.");
  CancelState state;
  CHECK_OK(cosyvoice_session_create(model, &state.session));
  atomic_init(&state.first_chunk, 0);
  atomic_init(&state.cancelled, 0);
  cosyvoice_session_cancel(state.session); /* before a request: no effect on it */
  cosyvoice_request request = cosyvoice_request_default();
  request.text = "Hello world.";
  request.voice = voice;
  cosyvoice_synthesis_params p = FixedTokens(60, 1);
  p.stream = true;
  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, Canceller, &state) == 0);
  CHECK_FAILS(cosyvoice_session_stream(state.session, &request, &p, WaitForCancel, &state, NULL),
              COSYVOICE_ERROR_CANCELLED, "cancel");
  CHECK(pthread_join(thread, NULL) == 0);
  p.stream = false;
  cosyvoice_audio *next = Offline(state.session, &request, &p, 60);
  cosyvoice_audio_free(next);
  cosyvoice_session_free(state.session);
  cosyvoice_voice_free(voice);
  cosyvoice_model_free(model);
  printf("cancel_thread: cancelled from another thread, session reusable\n");
}

/* Two threads, one model, a session each: each result equals the same request run alone. */
typedef struct {
  cosyvoice_session *session;
  const cosyvoice_voice *voice;
  const char *text;
  cosyvoice_audio *audio;
  cosyvoice_status status;
} Job;

static void *RunJob(void *arg) {
  Job *job = (Job *)arg;
  cosyvoice_request request = cosyvoice_request_default();
  request.text = job->text;
  request.voice = job->voice;
  cosyvoice_synthesis_params p = FixedTokens(25, 11);
  job->status = cosyvoice_session_synthesize(job->session, &request, &p, NULL, NULL, &job->audio, NULL);
  return NULL;
}

static void CaseThreads(void) {
  cosyvoice_model *model = LoadModel();
  cosyvoice_voice *voice = PromptVoice(model, "Front center.");
  Job jobs[2] = {{NULL, voice, "Hello world.", NULL, COSYVOICE_OK},
                 {NULL, voice, "你好，世界。", NULL, COSYVOICE_OK}};
  Job alone[2];
  for (int i = 0; i < 2; ++i) {
    CHECK_OK(cosyvoice_session_create(model, &jobs[i].session));
    alone[i] = jobs[i];
    RunJob(&alone[i]);
    CHECK_OK(alone[i].status);
  }
  cosyvoice_model_free(model); /* the sessions keep it alive */
  pthread_t threads[2];
  for (int i = 0; i < 2; ++i) CHECK(pthread_create(&threads[i], NULL, RunJob, &jobs[i]) == 0);
  for (int i = 0; i < 2; ++i) CHECK(pthread_join(threads[i], NULL) == 0);
  for (int i = 0; i < 2; ++i) {
    CHECK_OK(jobs[i].status);
    CHECK(SameAudio(jobs[i].audio, alone[i].audio));
    cosyvoice_audio_free(jobs[i].audio);
    cosyvoice_audio_free(alone[i].audio);
    cosyvoice_session_free(jobs[i].session);
  }
  cosyvoice_voice_free(voice);
  printf("threads: 2 concurrent sessions on one model equal their runs alone\n");
}

static void CaseErrors(void) {
  char path[1024];
  cosyvoice_model *model = (cosyvoice_model *)1;
  PathIn(path, sizeof(path), "no-such-bundle");
  CHECK_FAILS(cosyvoice_model_load(path, NULL, &model), COSYVOICE_ERROR_BUNDLE, "no-such-bundle");
  CHECK(model == NULL);
  CHECK_FAILS(cosyvoice_model_load(NULL, NULL, &model), COSYVOICE_ERROR_INVALID_ARGUMENT,
              "cosyvoice_model_load: bundle_dir is NULL");
  CHECK_FAILS(cosyvoice_model_load(g_bundle, NULL, NULL), COSYVOICE_ERROR_INVALID_ARGUMENT, "out is NULL");
  cosyvoice_model_params mp = cosyvoice_model_default_params();
  mp.struct_size = 0;
  CHECK_FAILS(cosyvoice_model_load(g_bundle, &mp, &model), COSYVOICE_ERROR_INVALID_ARGUMENT,
              "params->struct_size is 0");
  mp = cosyvoice_model_default_params();
  mp.struct_size = sizeof(mp) + 8;
  CHECK_FAILS(cosyvoice_model_load(g_bundle, &mp, &model), COSYVOICE_ERROR_INVALID_ARGUMENT, "newer");
  mp = cosyvoice_model_default_params();
  mp.providers = "tpu";
  CHECK_FAILS(cosyvoice_model_load(g_bundle, &mp, &model), COSYVOICE_ERROR_INVALID_ARGUMENT, "tpu");
  mp = cosyvoice_model_default_params();
  mp.precision = "int3";
  CHECK_FAILS(cosyvoice_model_load(g_bundle, &mp, &model), COSYVOICE_ERROR_INVALID_ARGUMENT,
              "precision 'int3'");
  mp.precision = "int8"; /* the base bundle has no variants */
  CHECK_FAILS(cosyvoice_model_load(g_bundle, &mp, &model), COSYVOICE_ERROR_INVALID_ARGUMENT,
              "the bundle has no int8");
  mp = cosyvoice_model_default_params();
  mp.stream_cache = "fp8";
  CHECK_FAILS(cosyvoice_model_load(g_bundle, &mp, &model), COSYVOICE_ERROR_INVALID_ARGUMENT,
              "stream_cache must be fp32 or fp16");
  mp = cosyvoice_model_default_params();
  mp.max_stream_cache_mb = -1;
  CHECK_FAILS(cosyvoice_model_load(g_bundle, &mp, &model), COSYVOICE_ERROR_INVALID_ARGUMENT,
              "cosyvoice_model_params.max_stream_cache_mb must be 0 (no limit) .. 2^30 MiB, got -1");
  mp = cosyvoice_model_default_params();
  mp.provider_options = "webgpu.preferredLayout";
  CHECK_FAILS(cosyvoice_model_load(g_bundle, &mp, &model), COSYVOICE_ERROR_INVALID_ARGUMENT,
              "cosyvoice_model_params.provider_options: provider option 'webgpu.preferredLayout': expected "
              "provider.key=value");
  mp.provider_options = "webgpu.preferredLayout=NHWC;tpu.cores=4";
  CHECK_FAILS(cosyvoice_model_load(g_bundle, &mp, &model), COSYVOICE_ERROR_INVALID_ARGUMENT,
              "unknown provider 'tpu'");
  mp.provider_options = "webgpu.preferredLayout=NCHW4";
  CHECK_FAILS(cosyvoice_model_load(g_bundle, &mp, &model), COSYVOICE_ERROR_INVALID_ARGUMENT,
              "webgpu.preferredLayout: expected one of");
  mp = cosyvoice_model_default_params();
  mp.graph_optimization = 7;
  CHECK_FAILS(cosyvoice_model_load(g_bundle, &mp, &model), COSYVOICE_ERROR_INVALID_ARGUMENT,
              "graph_optimization");

  model = LoadModel();
  CHECK(strcmp(cosyvoice_last_error(), "") == 0); /* success clears the message */
  cosyvoice_voice *voice = NULL;
  PathIn(path, sizeof(path), "nope.voice");
  CHECK_FAILS(cosyvoice_voice_load(path, &voice), COSYVOICE_ERROR_INVALID_ARGUMENT,
              "nope.voice: cannot open");
  PathIn(path, sizeof(path), "garbage.voice");
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL && fputs("this is not a voice file at all", f) >= 0 && fclose(f) == 0);
  CHECK_FAILS(cosyvoice_voice_load(path, &voice), COSYVOICE_ERROR_INVALID_ARGUMENT,
              "garbage.voice: not a usable");
  CHECK(voice == NULL);
  CHECK_FAILS(cosyvoice_voice_create_from_file(model, "/nonexistent/x.wav", "", &voice), COSYVOICE_ERROR_IO,
              "/nonexistent/x.wav");
  float silence[16000] = {0};
  CHECK_FAILS(cosyvoice_voice_create(model, silence, 16000, 16000, "", &voice), COSYVOICE_ERROR_INVALID_AUDIO,
              "silent");
  CHECK_FAILS(cosyvoice_voice_create(NULL, silence, 16000, 16000, "", &voice),
              COSYVOICE_ERROR_INVALID_ARGUMENT, "model is NULL");
  CHECK_FAILS(cosyvoice_voice_create(model, NULL, 16000, 16000, "", &voice), COSYVOICE_ERROR_INVALID_ARGUMENT,
              "samples is NULL");
  CHECK_FAILS(cosyvoice_voice_save(NULL, path), COSYVOICE_ERROR_INVALID_ARGUMENT, "voice is NULL");

  cosyvoice_voice *no_transcript = PromptVoice(model, "");
  cosyvoice_session *session = NULL;
  CHECK_FAILS(cosyvoice_session_create(NULL, &session), COSYVOICE_ERROR_INVALID_ARGUMENT, "model is NULL");
  CHECK_OK(cosyvoice_session_create(model, &session));
  cosyvoice_request request = cosyvoice_request_default();
  request.text = "Hello.";
  cosyvoice_audio *audio = NULL;
  CHECK_FAILS(cosyvoice_session_synthesize(session, &request, NULL, NULL, NULL, &audio, NULL),
              COSYVOICE_ERROR_INVALID_ARGUMENT, "request->voice is NULL");
  CHECK_FAILS(cosyvoice_session_synthesize(session, NULL, NULL, NULL, NULL, &audio, NULL),
              COSYVOICE_ERROR_INVALID_ARGUMENT, "request is NULL");
  CHECK_FAILS(cosyvoice_session_synthesize(NULL, &request, NULL, NULL, NULL, &audio, NULL),
              COSYVOICE_ERROR_INVALID_ARGUMENT, "session is NULL");
  request.voice = no_transcript;
  CHECK_FAILS(cosyvoice_session_synthesize(session, &request, NULL, NULL, NULL, NULL, NULL),
              COSYVOICE_ERROR_INVALID_ARGUMENT, "out_audio is NULL");
  CHECK_FAILS(cosyvoice_session_stream(session, &request, NULL, NULL, NULL, NULL),
              COSYVOICE_ERROR_INVALID_ARGUMENT, "callback is NULL");
  CHECK_FAILS(cosyvoice_session_synthesize(session, &request, NULL, NULL, NULL, &audio, NULL),
              COSYVOICE_ERROR_INVALID_ARGUMENT, "transcript");
  request.mode = 9;
  CHECK_FAILS(cosyvoice_session_synthesize(session, &request, NULL, NULL, NULL, &audio, NULL),
              COSYVOICE_ERROR_INVALID_ARGUMENT, "request->mode 9");
  request.mode = COSYVOICE_MODE_VOICE_CONVERSION;
  CHECK_FAILS(cosyvoice_session_synthesize(session, &request, NULL, NULL, NULL, &audio, NULL),
              COSYVOICE_ERROR_INVALID_ARGUMENT, "source_audio is NULL");
  request.mode = COSYVOICE_MODE_CROSS_LINGUAL;
  cosyvoice_synthesis_params p = cosyvoice_synthesis_default_params();
  p.has_top_p = true;
  p.top_p = 0.0f;
  CHECK_FAILS(cosyvoice_session_synthesize(session, &request, &p, NULL, NULL, &audio, NULL),
              COSYVOICE_ERROR_INVALID_ARGUMENT, "top_p");
  p = cosyvoice_synthesis_default_params();
  p.stream_mode = 7;
  CHECK_FAILS(cosyvoice_session_synthesize(session, &request, &p, NULL, NULL, &audio, NULL),
              COSYVOICE_ERROR_INVALID_ARGUMENT, "params->stream_mode is 7");
  p = cosyvoice_synthesis_default_params();
  p.stream = true;
  p.speed = 1.5f;
  CHECK_FAILS(cosyvoice_session_synthesize(session, &request, &p, NULL, NULL, &audio, NULL),
              COSYVOICE_ERROR_INVALID_ARGUMENT, "speed");
  cosyvoice_stats stats = {0}; /* struct_size left 0 */
  CHECK_FAILS(cosyvoice_session_synthesize(session, &request, NULL, NULL, NULL, &audio, &stats),
              COSYVOICE_ERROR_INVALID_ARGUMENT, "stats->struct_size is 0");
  request.text = "   ";
  CHECK_FAILS(cosyvoice_session_synthesize(session, &request, NULL, NULL, NULL, &audio, NULL),
              COSYVOICE_ERROR_INVALID_ARGUMENT, "text is empty");
  CHECK(audio == NULL);

  /* non-finite audio is never written, and a failed write leaves nothing behind */
  float bad[3] = {0.0f, NAN, 0.0f};
  PathIn(path, sizeof(path), "nan.wav");
  CHECK_FAILS(cosyvoice_audio_write_wav(path, bad, 3, kRate, false), COSYVOICE_ERROR_INVALID_AUDIO,
              "not finite");
  CHECK(fopen(path, "rb") == NULL);
  CHECK_FAILS(cosyvoice_audio_write_wav("/nonexistent-dir/x.wav", bad, 1, kRate, false), COSYVOICE_ERROR_IO,
              "/nonexistent-dir/x.wav");
  CHECK_FAILS(cosyvoice_audio_read("/nonexistent/y.wav", &audio), COSYVOICE_ERROR_IO, "/nonexistent/y.wav");
  /* the freeing functions accept NULL */
  cosyvoice_audio_free(NULL);
  cosyvoice_voice_free(NULL);
  cosyvoice_session_free(NULL);
  cosyvoice_model_free(NULL);
  cosyvoice_session_cancel(NULL);

  cosyvoice_session_free(session);
  cosyvoice_voice_free(no_transcript);
  cosyvoice_model_free(model);
  printf("errors: every bad call returned its status and a message naming the problem\n");
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s CASE BUNDLE PROMPT_WAV SOURCE_WAV WORK_DIR\n", argv[0]);
    return 2;
  }
  const char *name = argv[1];
  g_bundle = argv[2];
  g_prompt = argv[3];
  g_source = argv[4];
  g_work = argv[5];
  if (strcmp(name, "basics") == 0)
    CaseBasics();
  else if (strcmp(name, "zero_shot") == 0)
    CaseZeroShot();
  else if (strcmp(name, "cross_lingual") == 0)
    CaseMode(COSYVOICE_MODE_CROSS_LINGUAL);
  else if (strcmp(name, "instruct2") == 0)
    CaseMode(COSYVOICE_MODE_INSTRUCT2);
  else if (strcmp(name, "vc") == 0)
    CaseMode(COSYVOICE_MODE_VOICE_CONVERSION);
  else if (strcmp(name, "options") == 0)
    CaseOptions();
  else if (strcmp(name, "variants") == 0)
    CaseVariants();
  else if (strcmp(name, "cancel_callback") == 0)
    CaseCancelFromCallback();
  else if (strcmp(name, "cancel_thread") == 0)
    CaseCancelFromThread();
  else if (strcmp(name, "threads") == 0)
    CaseThreads();
  else if (strcmp(name, "errors") == 0)
    CaseErrors();
  else {
    fprintf(stderr, "unknown case '%s'\n", name);
    return 2;
  }
  printf("%s: %d checks passed\n", name, g_checks);
  /* Under ThreadSanitizer (`make test-tsan` sets this), ONNX Runtime's exit handlers unlock a mutex
   * its uninstrumented code locked, which TSan misreports; skip them (as tests/unit/test_main.cc). */
  if (getenv("COSYVOICE_TEST_QUICK_EXIT") != NULL) {
    fflush(NULL);
    _Exit(0);
  }
  return 0;
}
