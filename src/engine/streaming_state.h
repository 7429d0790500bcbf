// src/engine/streaming_state.h - what streaming without recomputation keeps per Session.
#pragma once

#include <cstdint>
#include <memory>

#include "engine/incremental_flow.h"
#include "engine/incremental_vocoder.h"
#include "engine/model_impl.h"

namespace cosyvoice {

// What of a voice's prompt the per-voice cache holds (docs/streaming.md §2, §8.5):
//  * kVoiceOnlyChunks (exact): the whole attention chunks whose frames depend on the voice only;
//    the chunk holding the prompt's tail is computed with each request's first tokens, as the
//    model's chunk mask has it (the tail attends to them);
//  * kWholePrompt (fast): every prompt frame, the prompt encoded as if it stood alone (its mu
//    without the speech tokens' lookahead, its tail attending to prompt frames only), so the first
//    chunk runs only the new frames through the DiT.
enum class PromptCache { kVoiceOnlyChunks, kWholePrompt };
PromptCache PromptCacheOf(StreamMode mode);

// The flow state of the segment being streamed, the prompt cache of the last voice (its
// voice-only attention chunks per ODE step, docs/streaming.md §2: computed once, copied into the
// segment state at each segment start) and the vocoder window state. Their memory is reused by the
// Session's next segments and requests. Created on a Session's first incremental stream.
struct StreamingState {
  explicit StreamingState(const Model::Impl &model);

  // Starts `flow` for a segment in `voice` from the prompt cache, building the cache first when the
  // voice, the flow options or `kind` changed, and starts the vocoder. When the prompt cache and the
  // segment's copy of it would not fit in `max_cache_bytes` (0: no limit), nothing is cached (the
  // caches are freed, `flow` holds no frames) and it returns false: the segment recomputes its flow.
  bool StartSegment(const Voice &voice, const FlowOptions &options, PromptCache kind, int64_t max_cache_bytes,
                    const CancelToken &cancel);

  const Model::Impl &model;
  IncrementalFlow flow;
  IncrementalFlow prompt;
  uint64_t prompt_key = 0;  // identity of the voice + options + kind the prompt cache was made for; 0: none
  IncrementalVocoder vocoder;
};

// Identity of a voice's flow prompt, the flow options and the cache's kind (FNV-1a of tokens,
// embedding and mel).
uint64_t PromptCacheKey(const Voice &voice, const FlowOptions &options, PromptCache kind);

}  // namespace cosyvoice
