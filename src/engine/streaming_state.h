// src/engine/streaming_state.h - what streaming without recomputation keeps per Session.
#pragma once

#include <cstdint>
#include <memory>

#include "engine/incremental_flow.h"
#include "engine/incremental_vocoder.h"
#include "engine/model_impl.h"

namespace cosyvoice {

// The flow state of the segment being streamed, the prompt cache of the last voice (its
// voice-only attention chunks per ODE step, docs/streaming.md §2: computed once, copied into the
// segment state at each segment start) and the vocoder window state. Their memory is reused by the
// Session's next segments and requests. Created on a Session's first incremental stream.
struct StreamingState {
  explicit StreamingState(const Model::Impl &model);

  // Starts `flow` for a segment in `voice` from the prompt cache, building the cache first when the
  // voice or the flow options changed, and starts the vocoder. When the prompt cache and the
  // segment's copy of it would not fit in `max_cache_bytes` (0: no limit), nothing is cached (the
  // caches are freed, `flow` holds no frames) and it returns false: the segment recomputes its flow.
  bool StartSegment(const Voice &voice, const FlowOptions &options, int64_t max_cache_bytes,
                    const CancelToken &cancel);

  const Model::Impl &model;
  IncrementalFlow flow;
  IncrementalFlow prompt;
  uint64_t prompt_key = 0;  // identity of the voice + options the prompt cache was made for; 0: none
  IncrementalVocoder vocoder;
};

// Identity of a voice's flow prompt and the flow options (FNV-1a of tokens, embedding and mel).
uint64_t PromptCacheKey(const Voice &voice, const FlowOptions &options);

}  // namespace cosyvoice
