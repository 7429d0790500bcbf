// src/engine/incremental_flow.h - the flow's Euler/CFG solver advanced chunk by chunk, each ODE
// step attending to cached keys/values of the frames done (docs/streaming.md §2).
#pragma once

#include <cstdint>
#include <vector>

#include "common/npy.h"
#include "engine/bundle_config.h"
#include "engine/cancellation.h"
#include "engine/flow_matching.h"
#include "models/flow_chunk_graph.h"

namespace cosyvoice {

// Where an Advance may end. A non-final advance normally ends on an attention-chunk boundary, so
// the frames done never needed a later frame (exact). `kPromptEnd` ends anywhere and lets later
// frames follow: the frames done then never attend to them - `fast`'s prompt, encoded as if it
// stood alone so that all of it is cached per voice (docs/streaming.md §8.5).
enum class AdvanceEnd { kChunkBoundary, kPromptEnd, kFinal };

// Per request (or per voice, as the prompt cache): x of the frames done is final, and per ODE step
// a FlowStepCache holds what later frames attend to. Frames are absolute (prompt frame 0 first),
// the noise is taken from the same frames, and every call but the last (and the end of a prompt
// standing alone, AdvanceEnd::kPromptEnd) must end on an attention chunk boundary, so a finished
// chunk never needed a later frame (the streaming mask, spec-verification §(7)). Reproduces
// FlowMatching with streaming=true on the same frames (with a prompt standing alone: the
// reference's streaming.fast_offline_mel), and the Python reference streaming.IncrementalFlow.
class IncrementalFlow {
 public:
  IncrementalFlow(const FlowChunkGraph &graph, const NpyArray &noise, const FlowConfig &config,
                  StreamCachePrecision precision = StreamCachePrecision::kFloat32);

  // Starts empty: `spks` is the encoder's speaker projection [mel_bins].
  void Start(const std::vector<float> &spks, const FlowOptions &options);
  // Starts from another state (a voice's prompt cache made with the same options): from all its
  // `frames`, or from the first `frames` of them where it marked them (MarkFrames).
  void StartFrom(const IncrementalFlow &prompt, int64_t frames);
  // Remembers the frames so far (and each step's conv states there): StartFrom can start there.
  void MarkFrames();
  int64_t marked_frames() const { return marked_frames_; }

  // Integrates the next `frames` frames: mu and cond are [mel_bins, frames] channel-major (the
  // flow inputs of frames frames() .. frames()+frames-1). Returns their final x, [mel_bins,
  // frames]. `end`: kFinal and kPromptEnd may end mid-chunk (after kFinal nothing can follow).
  // Throws kCancelled.
  std::vector<float> Advance(const float *mu, const float *cond, int64_t frames, AdvanceEnd end,
                             const CancelToken &cancel);

  int64_t frames() const { return frames_; }
  bool closed() const { return closed_; }
  size_t cache_bytes() const;
  // The most frames whose cache fits in `bytes` (after Start: the ODE steps are known); and from
  // then on the cache grows geometrically up to that many frames only (ModelConfig::max_stream_cache_bytes).
  int64_t FramesWithin(size_t bytes) const;
  void LimitCapacity(int64_t frames) { capacity_limit_ = frames; }
  // Frees the cache (the segment goes on without it); Start/StartFrom allocate it again.
  void Release();
  const FlowOptions &options() const { return options_; }
  int64_t chunk() const { return config_.static_chunk_size; }

 private:
  const FlowChunkGraph &graph_;
  const NpyArray &noise_;
  const FlowConfig &config_;
  StreamCachePrecision precision_;
  FlowOptions options_;
  std::vector<float> spks2_;          // [2, mel_bins]: slot 1 zero
  std::vector<FlowStepCache> steps_;  // one per ODE step
  int64_t marked_frames_ = -1;        // MarkFrames: frames, and each step's conv states there
  std::vector<std::vector<float>> marked_conv_;
  FlowChunkGraph::RunState run_;
  int64_t frames_ = 0;
  bool closed_ = false;
  int64_t capacity_limit_ = INT64_MAX;
};

// Bytes a streaming cache holds per mel frame: every ODE step's keys/values (the CFG batch of 2),
// and for a float16 cache one step's float32 staging (docs/streaming.md §5).
size_t StreamCacheBytesPerFrame(const FlowChunkShape &shape, StreamCachePrecision precision, int n_timesteps);

// The x of `frames` frames after a prompt of `prompt_frames` frames, as IncrementalFlow gives them
// from the whole-prompt cache (the prompt advanced with AdvanceEnd::kPromptEnd, then the frames in
// one advance), keeping one ODE step's keys/values at a time: per step the prompt's frames, then
// the frames after them, through the chunk graph. `fast`'s per-chunk recomputation past
// ModelConfig::max_stream_cache_bytes (docs/streaming.md §5.2). prompt_mu, prompt_cond are
// [mel_bins, prompt_frames], mu and cond [mel_bins, frames]; `spks` [mel_bins]. Returns [mel_bins,
// frames]. The keys/values stay float32.
std::vector<float> SolveAfterWholePrompt(const FlowChunkGraph &graph, const NpyArray &noise,
                                         const FlowConfig &config, const FlowOptions &options,
                                         const std::vector<float> &spks, const float *prompt_mu,
                                         const float *prompt_cond, int64_t prompt_frames, const float *mu,
                                         const float *cond, int64_t frames, const CancelToken &cancel);

// Whole attention chunks of mel frames that depend on the voice only: mu at token t sees tokens up
// to t + pre_lookahead, so frames below ratio * (K - pre_lookahead) are prompt-only.
int64_t PromptCacheFrames(int64_t prompt_tokens, const FlowConfig &config);

}  // namespace cosyvoice
