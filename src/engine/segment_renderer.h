// src/engine/segment_renderer.h - one segment's flow tokens -> mel -> waveform -> the caller.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/audio_emitter.h"
#include "engine/cancellation.h"
#include "engine/model_impl.h"
#include "engine/resolved_options.h"
#include "engine/stream_scheduler.h"
#include "engine/streaming_state.h"

namespace cosyvoice {

// Renders the speech tokens of one segment into audio, either
//  * offline: every token at once - flow (full attention, finalize), optional speed change,
//    vocoder - emitted as one chunk; or
//  * streamed: chunks scheduled by StreamScheduler as tokens arrive (docs/streaming.md):
//    - recompute (upstream, spec §8): each chunk re-runs the flow over all tokens so far (chunk
//      attention, not finalizing) and the vocoder over all mel so far, and emits the new audio;
//      the final chunk uses full attention;
//    - exact: the flow advances attention chunk by attention chunk as their tokens arrive, from
//      cached keys/values (StreamingState), the vocoder runs on a window; the final chunk is one
//      full-attention pass over everything, as upstream's; same audio as recompute;
//    - fast: like exact, but the prompt is cached whole (encoded as if it stood alone, so the first
//      chunk runs only new frames), the final chunk keeps chunk attention, and a chunk is emitted
//      every attention chunk (25 tokens) instead of upstream's doubling hops.
// The token source does not matter: the LLM pushes tokens as it generates them, voice conversion
// pushes the source speech's tokens at once. Per request; reads the Model only.
class SegmentRenderer {
 public:
  // `incremental`: the Session's streaming state, required for exact/fast (null: recompute).
  SegmentRenderer(const Model::Impl &model, const Voice &voice, const ResolvedOptions &options, bool stream,
                  StreamingState *incremental, AudioEmitter &emit, SynthesisStats &stats,
                  const CancelToken &cancel);

  // Adds a flow token; when streaming, renders the flow chunks and audio chunks now ready.
  void Push(int token);
  // Renders what is left (the final chunk, or everything offline) and ends the segment. A segment
  // without tokens emits an empty final chunk.
  void Finish();

  size_t num_tokens() const { return tokens_.size(); }
  // Streaming: tokens still to come before the next chunk renders (0 when one renders on the next
  // Push). Offline: -1 (nothing renders before Finish).
  int TokensToNextChunk() const;
  // Streaming: a chunk of this segment was rendered (its audio emitted).
  bool RenderedAChunk() const { return scheduler_.offset() > 0; }
  // Streaming: tokens whose audio the next chunk emits.
  int NextHop() const { return scheduler_.hop(); }

 private:
  void RunReadyChunks();
  void RunChunk(const StreamChunk &chunk);
  void RenderOffline();
  std::vector<float> FlowPass(size_t num_tokens, bool finalize, bool streaming, int64_t *frames);
  void VocodeOffline(const std::vector<float> &mel, int64_t frames);
  // Appends frames [from_frame, frames) of a [mel_bins, frames] flow output to the accumulated mel.
  void AppendMel(const std::vector<float> &mel, int64_t frames, int64_t from_frame);

  // incremental modes
  void AdvanceFlow(bool final);  // the flow over every attention chunk whose tokens are all here
  // x of absolute frames [lo, target), [mel_bins, target - lo]: from the cache, or (past
  // ModelConfig::max_stream_cache_bytes) by one flow pass over the prompt and every token so far
  std::vector<float> CachedFlowFrames(int64_t lo, int64_t target, bool final);
  std::vector<float> RecomputedFlowFrames(int64_t lo, int64_t target, bool final);
  std::vector<float> RecomputedAfterWholePrompt(int64_t target);
  bool CacheFits(int64_t target);  // and caps the cache's growth there
  void FallBackToRecompute();
  std::vector<float> FlowFrames(int64_t from, int64_t to) const;  // x of absolute frames, [mel_bins, n]
  void Vocode(const std::vector<float> &mel, int64_t frames, bool final);

  const Model::Impl &model_;
  const ResolvedOptions &options_;
  const bool stream_;
  StreamingState *inc_;  // exact/fast; null for recompute and offline
  AudioEmitter &emit_;
  SynthesisStats &stats_;
  const CancelToken &cancel_;
  FlowInput input_;              // the voice's prompt; tokens set per pass
  std::vector<int32_t> tokens_;  // the segment's flow tokens so far
  StreamScheduler scheduler_;    // streaming only
  // recompute
  std::vector<float> acc_mel_;  // [mel_bins, acc_frames_] channel-major: all mel emitted so far
  int64_t acc_frames_ = 0;
  size_t emitted_samples_ = 0;  // of the vocoder's output over acc_mel_
  // incremental
  std::vector<float> x_;  // [frames since x_base_][mel_bins]: final x of the frames the flow did
  int64_t x_base_ = 0;
  int64_t flow_frames_ = 0;      // absolute frames of x done
  bool recompute_flow_ = false;  // the cache reached its limit: the rest recomputes the flow
};

// The bundle's streaming schedule (config.json "streaming" and "flow") for a stream mode: fast
// keeps the hop at one attention chunk.
StreamSchedule StreamScheduleOf(const BundleConfig &bundle, StreamMode mode = StreamMode::kRecompute);

}  // namespace cosyvoice
