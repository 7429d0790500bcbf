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
  int64_t emitted_tokens = 0;  // speech tokens emitted (the stop id not counted)
};

// Called with each emitted speech token; return false to stop generation (cancellation).
using TokenCallback = std::function<bool(int token)>;

// Upstream's loop (spec §5.4): for i < max_len: forward; sample (stop ids blocked while
// i < min_len); a stop id ends generation and is not emitted; else emit the token and feed its
// speech embedding.
//
// One generator per request (Session): it owns what a run of the shared, immutable LlmGraph needs
// for itself - the IO binding, the logits buffer and the KV cache, whose memory is kept for the
// next segment. Not thread-safe; the graph and tables it reads are.
class SpeechTokenGenerator {
 public:
  SpeechTokenGenerator(const LlmGraph &llm, const EmbeddingTable &speech_embedding, const LlmConfig &config);

  // `lm_input` is [positions, hidden]. Throws Error(kCancelled) when the callback stops it (or
  // whatever the callback throws).
  std::vector<int> Generate(const std::vector<float> &lm_input, int min_len, int max_len, RasSampler &sampler,
                            const TokenCallback &on_token = nullptr, GenerationStats *stats = nullptr);

  // Teacher forcing (the A/B gate, docs/quantization.md): the logits the model gives at every step
  // when fed `tokens` instead of its own samples - row i is the distribution of token i given the
  // prompt and tokens[0..i), row tokens.size() that of what follows the last one (stop or not).
  // Returns (tokens.size() + 1) rows of vocab_size logits.
  std::vector<float> TeacherForcedLogits(const std::vector<float> &lm_input, const std::vector<int> &tokens);

 private:
  const LlmGraph &llm_;
  const EmbeddingTable &speech_embedding_;
  const LlmConfig &config_;
  LlmGraph::RunState run_;
  KvCache cache_;
  std::vector<float> embed_;  // the fed-back token's embedding
};

// The length limits of spec §5.3 from the number of tts-text tokens.
struct LengthLimits {
  int min_len = 0;
  int max_len = 0;
};
LengthLimits ComputeLengthLimits(int tts_text_tokens, double min_ratio, double max_ratio);

}  // namespace cosyvoice
