// src/engine/token_generator.cc
#include "engine/token_generator.h"

#include <algorithm>
#include <chrono>

#include "common/timer.h"
#include "cosyvoice/error.h"
#include "engine/finite_check.h"

namespace cosyvoice {
SpeechTokenGenerator::SpeechTokenGenerator(const LlmGraph &llm, const EmbeddingTable &speech_embedding,
                                           const LlmConfig &config)
    : llm_(llm),
      speech_embedding_(speech_embedding),
      config_(config),
      run_(llm),
      cache_(llm.NewCache(0)),
      embed_(static_cast<size_t>(llm.shape().hidden_size)) {}

std::vector<int> SpeechTokenGenerator::Generate(const std::vector<float> &lm_input, int min_len, int max_len,
                                                RasSampler &sampler, const TokenCallback &on_token,
                                                GenerationStats *stats) {
  const int64_t hidden = llm_.shape().hidden_size;
  const int64_t positions = static_cast<int64_t>(lm_input.size()) / hidden;
  if (positions < 1 || positions * hidden != static_cast<int64_t>(lm_input.size())) {
    throw Error(ErrorCode::kInvalidArgument, "llm input must be a non-empty [positions, hidden] matrix");
  }
  if (positions + max_len > config_.max_positions) {
    throw Error(ErrorCode::kInvalidArgument, "text too long: " + std::to_string(positions) +
                                                 " prompt positions + up to " + std::to_string(max_len) +
                                                 " speech tokens exceed the model's " +
                                                 std::to_string(config_.max_positions) + " positions");
  }
  cache_.Prepare(positions + std::max(max_len, 1));
  GenerationStats local;
  GenerationStats &st = stats ? *stats : local;

  auto t0 = SteadyClock::now();
  const float *logits = llm_.Forward(run_, lm_input.data(), positions, cache_);
  const auto vocab = static_cast<size_t>(llm_.shape().vocab_size);
  CheckFiniteOutput(logits, vocab, "llm (prefill logits)");
  st.prefill_positions = positions;
  st.prefill_seconds = SecondsSince(t0);

  std::vector<int> out;
  t0 = SteadyClock::now();
  for (int i = 0; i < max_len; ++i) {
    if (i > 0) {
      speech_embedding_.CopyRow(out.back(), embed_.data());
      logits = llm_.Forward(run_, embed_.data(), 1, cache_);
      CheckFiniteOutput(logits, vocab, "llm (decode logits)");
      ++st.decoded_tokens;
    }
    const int token = sampler.Sample(logits, llm_.shape().vocab_size, out, i < min_len);
    if (config_.IsStop(token)) break;
    out.push_back(token);
    if (on_token && !on_token(token))
      throw Error(ErrorCode::kCancelled, "generation cancelled by the callback");
    if (i + 1 == max_len) st.hit_max_len = true;
  }
  st.decode_seconds = SecondsSince(t0);
  return out;
}

std::vector<float> SpeechTokenGenerator::TeacherForcedLogits(const std::vector<float> &lm_input,
                                                             const std::vector<int> &tokens) {
  const int64_t hidden = llm_.shape().hidden_size;
  const int64_t vocab = llm_.shape().vocab_size;
  const int64_t positions = static_cast<int64_t>(lm_input.size()) / hidden;
  if (positions < 1 || positions * hidden != static_cast<int64_t>(lm_input.size()))
    throw Error(ErrorCode::kInvalidArgument, "llm input must be a non-empty [positions, hidden] matrix");
  const int64_t steps = static_cast<int64_t>(tokens.size()) + 1;
  if (positions + steps > config_.max_positions)
    throw Error(ErrorCode::kInvalidArgument,
                "teacher forcing: prompt and tokens exceed the model's positions");
  cache_.Prepare(positions + steps);
  std::vector<float> out(static_cast<size_t>(steps * vocab));
  const float *logits = llm_.Forward(run_, lm_input.data(), positions, cache_);
  for (int64_t i = 0; i < steps; ++i) {
    if (i > 0) {
      speech_embedding_.CopyRow(tokens[static_cast<size_t>(i - 1)], embed_.data());
      logits = llm_.Forward(run_, embed_.data(), 1, cache_);
    }
    std::copy(logits, logits + vocab, out.begin() + i * vocab);
  }
  return out;
}

LengthLimits ComputeLengthLimits(int tts_text_tokens, double min_ratio, double max_ratio) {
  // upstream: int(text_len * ratio), i.e. truncation toward zero
  return {static_cast<int>(tts_text_tokens * min_ratio), static_cast<int>(tts_text_tokens * max_ratio)};
}

}  // namespace cosyvoice
