// src/engine/streaming_state.h - what streaming without recomputation keeps per Session.
#pragma once

#include <cstdint>
#include <memory>

#include "engine/incremental_flow.h"
#include "engine/incremental_vocoder.h"
#include "engine/model_impl.h"

namespace cosyvoice {

// Where in the voice's prompt cache a segment starts (docs/streaming.md §2, §8.5). The cache holds
// every prompt frame, the whole attention chunks of voice-only frames first (marked) and then the
// prompt's tail encoded as if the prompt stood alone:
//  * kVoiceOnlyChunks (exact): after those chunks; the chunk holding the prompt's tail is computed
//    with each request's first tokens, as the model's chunk mask has it (the tail attends to them);
//  * kWholePrompt (fast): after the whole prompt (its mu without the speech tokens' lookahead, its
//    tail attending to prompt frames only), so the first chunk runs only new frames through the DiT.
enum class PromptCache { kVoiceOnlyChunks, kWholePrompt };
PromptCache PromptCacheOf(StreamMode mode);

// The flow state of the segment being streamed, the prompt cache of the last voice (its prompt
// frames per ODE step, docs/streaming.md §2, §8.5: computed once, copied into the segment state at
// each segment start) and the vocoder window state. Their memory is reused by the Session's next
// segments and requests. Created on a Session's first incremental stream.
struct StreamingState {
  explicit StreamingState(const Model::Impl &model);

  // Starts `flow` for a segment in `voice` from the prompt cache (`kind` of it), building the cache
  // first when the voice or the flow options changed, and starts the vocoder. When the prompt cache and the
  // segment's copy of it would not fit in `max_cache_bytes` (0: no limit), nothing is cached (the
  // caches are freed, `flow` holds no frames) and it returns false: the segment recomputes its flow.
  bool StartSegment(const Voice &voice, const FlowOptions &options, PromptCache kind, int64_t max_cache_bytes,
                    const CancelToken &cancel);

  const Model::Impl &model;
  IncrementalFlow flow;
  IncrementalFlow prompt;
  uint64_t prompt_key = 0;  // identity of the voice + options the prompt cache was made for; 0: none
  int prompt_builds = 0;    // prompt caches built so far (one per voice and options, whatever the kind)
  IncrementalVocoder vocoder;

 private:
  void BuildPromptCache(const Voice &voice, const FlowOptions &options, int64_t chunks,
                        const CancelToken &cancel);
};

// Identity of a voice's flow prompt and the flow options (FNV-1a of tokens, embedding and mel).
uint64_t PromptCacheKey(const Voice &voice, const FlowOptions &options);

}  // namespace cosyvoice
