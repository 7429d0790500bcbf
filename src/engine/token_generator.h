// src/engine/token_generator.h - the LLM decoding loop: prefill, then one token at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "engine/bundle_config.h"
#include "engine/embedding_table.h"
#include "engine/sampler.h"
#include "models/llm_graph.h"

namespace cosyvoice {

struct GenerationStats {
  int64_t prefill_positions = 0;
  double prefill_seconds = 0;
  int64_t decoded_tokens = 0;  // forward steps after the prefill
  double decode_seconds = 0;
  bool hit_max_len = false;
};

// Called with each emitted speech token; return false to stop generation (cancellation).
using TokenCallback = std::function<bool(int token)>;

// Upstream's loop (spec §5.4): for i < max_len: forward; sample (stop ids blocked while
// i < min_len); a stop id ends generation and is not emitted; else emit the token and feed its
// speech embedding. Stateless between calls apart from the graph it drives.
class SpeechTokenGenerator {
 public:
  SpeechTokenGenerator(LlmGraph &llm, const EmbeddingTable &speech_embedding, const LlmConfig &config);

  // `lm_input` is [positions, hidden]. Throws Error(kCancelled) when the callback stops it.
  std::vector<int> Generate(const std::vector<float> &lm_input, int min_len, int max_len, RasSampler &sampler,
                            const TokenCallback &on_token = nullptr, GenerationStats *stats = nullptr);

 private:
  LlmGraph &llm_;
  const EmbeddingTable &speech_embedding_;
  const LlmConfig &config_;
};

// The length limits of spec §5.3 from the number of tts-text tokens.
struct LengthLimits {
  int min_len = 0;
  int max_len = 0;
};
LengthLimits ComputeLengthLimits(int tts_text_tokens, double min_ratio, double max_ratio);

// Drops speech tokens after more than `max_run` consecutive silent ones (upstream's llm_job):
// the LLM saw them, the flow does not.
std::vector<int> FilterSilentRuns(const std::vector<int> &tokens, const std::vector<int> &silent_tokens,
                                  int max_run);

}  // namespace cosyvoice
