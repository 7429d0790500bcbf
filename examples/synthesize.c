/* examples/synthesize.c - clone a voice and speak, streaming, with the C API (docs/api.md).
 *   synthesize BUNDLE PROMPT.wav TRANSCRIPT OUT.wav */
#include <cosyvoice/cosyvoice_c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  float *samples;
  size_t count;
} Output;

/* Called for each piece of audio as soon as it is ready; returning non-zero would cancel. */
static int on_audio(const cosyvoice_audio_chunk *chunk, void *user_data) {
  Output *out = (Output *)user_data;
  float *grown = (float *)realloc(out->samples, (out->count + chunk->num_samples) * sizeof(float));
  if (grown == NULL) return 1;
  memcpy(grown + out->count, chunk->samples, chunk->num_samples * sizeof(float));
  out->samples = grown;
  out->count += chunk->num_samples;
  printf("segment %d/%d: +%zu samples\n", chunk->segment + 1, chunk->num_segments, chunk->num_samples);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s BUNDLE PROMPT.wav TRANSCRIPT OUT.wav\n", argv[0]);
    return 2;
  }
  cosyvoice_model *model = NULL;
  cosyvoice_voice *voice = NULL;
  cosyvoice_session *session = NULL;
  Output out = {NULL, 0};
  cosyvoice_status status = cosyvoice_model_load(argv[1], NULL, &model);
  if (status == COSYVOICE_OK) status = cosyvoice_voice_create_from_file(model, argv[2], argv[3], &voice);
  if (status == COSYVOICE_OK) status = cosyvoice_session_create(model, &session);
  if (status == COSYVOICE_OK) {
    cosyvoice_request request = cosyvoice_request_default();
    request.mode = COSYVOICE_MODE_ZERO_SHOT;
    request.text = "Hello! This voice was cloned from a short recording.";
    request.voice = voice;
    cosyvoice_synthesis_params params = cosyvoice_synthesis_default_params();
    params.stream = true;
    params.seed = 42;
    cosyvoice_stats stats = {0};
    stats.struct_size = sizeof(stats);
    status = cosyvoice_session_stream(session, &request, &params, on_audio, &out, &stats);
    if (status == COSYVOICE_OK) {
      status = cosyvoice_audio_write_wav(argv[4], out.samples, out.count, cosyvoice_model_sample_rate(model),
                                         false);
      printf("wrote %s: %.2f s of audio in %.2f s (first audio after %.2f s)\n", argv[4], stats.audio_seconds,
             stats.total_seconds, stats.first_audio_seconds);
    }
  }
  if (status != COSYVOICE_OK)
    fprintf(stderr, "error (%s): %s\n", cosyvoice_status_name(status), cosyvoice_last_error());
  free(out.samples);
  cosyvoice_session_free(session);
  cosyvoice_voice_free(voice);
  cosyvoice_model_free(model);
  return status == COSYVOICE_OK ? 0 : 1;
}
