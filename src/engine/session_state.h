// src/engine/session_state.h - what one request needs for itself (Session::State).
#pragma once

#include <vector>

#include "cosyvoice/cosyvoice.h"
#include "engine/audio_emitter.h"
#include "engine/cancellation.h"
#include "engine/model_impl.h"
#include "engine/resolved_options.h"
#include "engine/token_generator.h"

namespace cosyvoice {

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

  // Runs one request; audio goes to `emit`. Throws Error(kCancelled) once `cancel` is set.
  void Run(const SynthesisRequest &request, const SynthesisOptions &options, AudioEmitter &emit,
           SynthesisStats &stats, const CancelToken &cancel);

 private:
  void CheckRequest(const SynthesisRequest &request) const;
  void RunVoiceConversion(const SynthesisRequest &request, const ResolvedOptions &options, AudioEmitter &emit,
                          SynthesisStats &stats, const CancelToken &cancel);
  void RunSegment(int index, const SegmentPlan &plan, const Voice &voice, const ResolvedOptions &options,
                  AudioEmitter &emit, SynthesisStats &stats, const CancelToken &cancel);

  const Model::Impl &model_;
  SpeechTokenGenerator generator_;
};

}  // namespace cosyvoice
