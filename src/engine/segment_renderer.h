// src/engine/segment_renderer.h - one segment's flow tokens -> mel -> waveform -> the caller.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/audio_emitter.h"
#include "engine/cancellation.h"
#include "engine/model_impl.h"
#include "engine/resolved_options.h"
#include "engine/stream_scheduler.h"

namespace cosyvoice {

// Renders the speech tokens of one segment into audio, either
//  * offline: every token at once - flow (full attention, finalize), optional speed change,
//    vocoder - emitted as one chunk; or
//  * streamed (spec §8): chunks scheduled by StreamScheduler as tokens arrive; each re-runs the
//    flow over all tokens so far (chunk attention, not finalizing) and the vocoder over all mel
//    so far, and emits only the audio that is new; the final chunk uses full attention.
// The token source does not matter: the LLM pushes tokens as it generates them, voice conversion
// pushes the source speech's tokens at once. Per request; reads the Model only.
class SegmentRenderer {
 public:
  SegmentRenderer(const Model::Impl &model, const Voice &voice, const ResolvedOptions &options, bool stream,
                  AudioEmitter &emit, SynthesisStats &stats, const CancelToken &cancel);

  // Adds a flow token; when streaming, renders every chunk that became ready.
  void Push(int token);
  // Renders what is left (the final chunk, or everything offline) and ends the segment. A segment
  // without tokens emits an empty final chunk.
  void Finish();

  size_t num_tokens() const { return tokens_.size(); }
  // Wall time spent rendering inside Push (it runs within the LLM loop when streaming).
  double push_seconds() const { return push_seconds_; }

 private:
  void RunReadyChunks();
  void RunChunk(const StreamChunk &chunk);
  void RenderOffline();
  // Appends frames [from_frame, frames) of a [mel_bins, frames] flow output to the accumulated mel.
  void AppendMel(const std::vector<float> &mel, int64_t frames, int64_t from_frame);

  const Model::Impl &model_;
  const ResolvedOptions &options_;
  const bool stream_;
  AudioEmitter &emit_;
  SynthesisStats &stats_;
  const CancelToken &cancel_;
  FlowInput input_;              // the voice's prompt; tokens set per pass
  std::vector<int32_t> tokens_;  // the segment's flow tokens so far
  StreamScheduler scheduler_;    // streaming only
  std::vector<float> acc_mel_;   // [mel_bins, acc_frames_] channel-major: all mel emitted so far
  int64_t acc_frames_ = 0;
  size_t emitted_samples_ = 0;  // of the vocoder's output over acc_mel_
  double push_seconds_ = 0;
};

// The bundle's streaming schedule (config.json "streaming" and "flow").
StreamSchedule StreamScheduleOf(const BundleConfig &bundle);

}  // namespace cosyvoice
