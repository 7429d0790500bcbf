// src/engine/session_state.h - what one request needs for itself (Session::State).
#pragma once

#include <memory>
#include <vector>

#include "cosyvoice/cosyvoice.h"
#include "engine/audio_emitter.h"
#include "engine/cancellation.h"
#include "engine/model_impl.h"
#include "engine/resolved_options.h"
#include "engine/token_channel.h"
#include "engine/token_generator.h"

namespace cosyvoice {

struct StreamingState;

// The per-request side of the Model/Session split: the LLM's IO binding, logits and KV cache (in
// the SpeechTokenGenerator, kept between requests so their memory is reused), and, while a
// request runs, its sampler, silent-token filter, stream schedule, mel accumulator and scratch
// buffers. Everything shared is read through `const Model::Impl &`.
//
// A request is a few named steps (synthesis.cc):
//   check the request -> plan segments -> per segment: generate tokens -> filter silent tokens ->
//   schedule chunks -> render mel -> vocode -> emit.
class Session::State {
 public:
  explicit State(const Model::Impl &model);
  ~State();

  // Runs one request; audio goes to `emit`. Throws Error(kCancelled) once `cancel` is set.
  void Run(const SynthesisRequest &request, const SynthesisOptions &options, AudioEmitter &emit,
           SynthesisStats &stats, const CancelToken &cancel);

 private:
  void CheckRequest(const SynthesisRequest &request) const;
  // The streaming state for exact/fast streaming (created on first use); null for offline and
  // recompute. Turns exact into recompute when the bundle cannot stream incrementally.
  StreamingState *PrepareStreaming(ResolvedOptions &options);
  void RunVoiceConversion(const SynthesisRequest &request, const ResolvedOptions &options,
                          StreamingState *incremental, AudioEmitter &emit, SynthesisStats &stats,
                          const CancelToken &cancel);
  void RunSegments(const std::vector<SegmentPlan> &plans, const Voice &voice, const ResolvedOptions &options,
                   StreamingState *incremental, AudioEmitter &emit, SynthesisStats &stats,
                   const CancelToken &cancel);
  void RunTextStream(const SynthesisRequest &request, const ResolvedOptions &options,
                     StreamingState *incremental, AudioEmitter &emit, SynthesisStats &stats,
                     const CancelToken &cancel);
  // The producer of a text stream: pulls text pieces, tokenizes each on its own, decodes.
  void GenerateTextStream(const SynthesisRequest &request, const std::vector<int32_t> &prompt_ids,
                          const ResolvedOptions &options, TokenChannel &channel, GenerationStats &stats,
                          double &text_seconds, const CancelToken &cancel);
  // The producer side (the LLM thread) and the consumer side (the caller's thread) of one segment.
  void GenerateSegment(int index, const SegmentPlan &plan, const Voice &voice, const ResolvedOptions &options,
                       TokenChannel &channel, GenerationStats &stats, const CancelToken &cancel);
  void RenderSegment(int index, int count, const Voice &voice, const ResolvedOptions &options,
                     StreamingState *incremental, TokenChannel &channel, AudioEmitter &emit,
                     SynthesisStats &stats, const CancelToken &cancel);

  const Model::Impl &model_;
  SpeechTokenGenerator generator_;
  std::unique_ptr<StreamingState> streaming_;
};

}  // namespace cosyvoice
