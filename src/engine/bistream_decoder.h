// src/engine/bistream_decoder.h - text-in streaming: upstream's interleaved text/speech decode loop.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "engine/bundle_config.h"
#include "engine/embedding_table.h"
#include "engine/sampler.h"
#include "engine/token_generator.h"
#include "models/llm_graph.h"

namespace cosyvoice {

// Upstream's Qwen2LM.inference_bistream for CosyVoice3 as a state machine fed text tokens as they
// arrive (docs/streaming.md §6; reference: python/cosyvoice_export/bistream.py, whose docstring
// lists the upstream quirks reproduced and the deviations). Upstream:
// https://github.com/FunAudioLLM/CosyVoice/blob/main/cosyvoice/llm/llm.py (inference_bistream).
//
// The LLM input interleaves `mix_text` text tokens with `mix_speech` speech tokens; the model
// ends each speech group with `fill` ("more text now"). Prompt speech tokens are interleaved first;
// once they are used up, every 5 text tokens let the model decode up to the next fill. When the
// text ends, the rest of the text and task_id are fed and decoding runs to a stop id.
//
// One per request, on the decoding thread; it owns the KV cache it grows as positions arrive (in
// host memory and the graph's layout, also where the graph keeps its own caches on the device).
class BistreamDecoder {
 public:
  struct Config {
    int mix_text = 5, mix_speech = 15;  // upstream's mix_ratio (bundle llm.mix_ratio)
    double max_token_text_ratio = 20;   // final-phase cap: emitted tokens <= ratio x text tokens fed
    std::optional<int> max_tokens;      // and <= this when set
  };

  // `prompt_ids`: the tokenized prompt, containing `endofprompt_id` (throws kInvalidArgument
  // otherwise); `prompt_speech`: the voice's speech tokens (zero-shot) or empty (instruct2).
  BistreamDecoder(const LlmGraph &llm, const EmbeddingTable &text_embedding,
                  const EmbeddingTable &speech_embedding, const LlmConfig &llm_config, const Config &config,
                  const std::vector<int32_t> &prompt_ids, int32_t endofprompt_id,
                  const std::vector<int32_t> &prompt_speech, RasSampler &sampler);

  // Feeds one text piece's token ids; `on_token` gets each emitted speech token (false stops:
  // Error(kCancelled)).
  void Push(const std::vector<int32_t> &ids, const TokenCallback &on_token);
  // The text ended: decodes the rest. Further Push calls throw.
  void Finish(const TokenCallback &on_token);

  int64_t text_fed() const { return text_fed_; }
  int64_t emitted() const { return emitted_; }
  // Every id sampled or forced, fill included (the repetition window sees them).
  const std::vector<int> &sampled() const { return out_; }
  const GenerationStats &stats() const { return stats_; }

 private:
  void PushOne(int32_t token, const TokenCallback &on_token);
  void DecodeUntilFill(const TokenCallback &on_token);
  const float *Step();  // feeds `input_` (all of it) after the cached past
  void AppendText(size_t count);
  void AppendSpeech(const std::vector<int32_t> &ids);
  void Emit(int token, const TokenCallback &on_token);
  int64_t positions() const { return static_cast<int64_t>(input_.size()) / hidden_; }

  const LlmGraph &llm_;
  const EmbeddingTable &text_embedding_, &speech_embedding_;
  const LlmConfig &llm_config_;
  Config config_;
  RasSampler &sampler_;
  int64_t hidden_;
  LlmGraph::RunState run_;
  KvCache cache_;
  // upstream's `lm_input`: what the next forward feeds or, after a decode, the last input fed
  std::vector<float> input_;
  std::vector<int32_t> text_cache_, prompt_speech_;
  std::vector<float> masked_;  // logits with every special id but fill masked
  std::vector<int> out_;
  int64_t next_fill_ = 0, text_fed_ = 0, emitted_ = 0;
  bool finished_ = false;
  GenerationStats stats_;
};

}  // namespace cosyvoice
