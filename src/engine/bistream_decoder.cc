// src/engine/bistream_decoder.cc
#include "engine/bistream_decoder.h"

#include <algorithm>
#include <limits>

#include "common/timer.h"
#include "cosyvoice/error.h"

namespace cosyvoice {

BistreamDecoder::BistreamDecoder(const LlmGraph &llm, const EmbeddingTable &text_embedding,
                                 const EmbeddingTable &speech_embedding, const LlmConfig &llm_config,
                                 const Config &config, const std::vector<int32_t> &prompt_ids,
                                 int32_t endofprompt_id, const std::vector<int32_t> &prompt_speech,
                                 RasSampler &sampler)
    : llm_(llm),
      text_embedding_(text_embedding),
      speech_embedding_(speech_embedding),
      llm_config_(llm_config),
      config_(config),
      sampler_(sampler),
      hidden_(llm.shape().hidden_size),
      run_(llm),
      // host memory in the graph's layout: the cache grows as text arrives (KvCache::Reserve)
      cache_(llm.NewHostCache(0)),
      prompt_speech_(prompt_speech) {
  if (config_.mix_text < 1 || config_.mix_speech < 1) {
    throw Error(ErrorCode::kInvalidArgument, "text streaming: mix ratio must be >= 1:1");
  }
  const auto eop = std::find(prompt_ids.begin(), prompt_ids.end(), endofprompt_id);
  if (eop == prompt_ids.end()) {
    // upstream asserts it: the interleaved layout starts after the end-of-prompt marker
    throw Error(ErrorCode::kInvalidArgument, "text streaming: the prompt must contain <|endofprompt|>");
  }
  // lm_input = [sos] + E_t(prompt up to and including <|endofprompt|>); the rest (the zero-shot
  // transcript) starts the text cache
  speech_embedding_.Gather({llm_config_.sos}, input_);
  text_embedding_.Gather(std::vector<int32_t>(prompt_ids.begin(), eop + 1), input_);
  text_cache_.assign(eop + 1, prompt_ids.end());
  const int64_t k = static_cast<int64_t>(prompt_speech_.size());
  next_fill_ = (k / config_.mix_speech + 1) * config_.mix_speech - k;
  masked_.resize(static_cast<size_t>(llm.shape().vocab_size));
}

void BistreamDecoder::Push(const std::vector<int32_t> &ids, const TokenCallback &on_token) {
  if (finished_) throw Error(ErrorCode::kInvalidArgument, "text streaming: text pushed after the end");
  for (int32_t t : ids) {
    ++text_fed_;
    PushOne(t, on_token);
  }
}

void BistreamDecoder::AppendText(size_t count) {
  text_embedding_.Gather(
      std::vector<int32_t>(text_cache_.begin(), text_cache_.begin() + static_cast<long>(count)), input_);
  text_cache_.erase(text_cache_.begin(), text_cache_.begin() + static_cast<long>(count));
}

void BistreamDecoder::AppendSpeech(const std::vector<int32_t> &ids) {
  speech_embedding_.Gather(ids, input_);
}

void BistreamDecoder::PushOne(int32_t token, const TokenCallback &on_token) {
  const size_t m5 = static_cast<size_t>(config_.mix_text), m15 = static_cast<size_t>(config_.mix_speech);
  text_cache_.push_back(token);
  // prompt speech first: 5 text + 15 prompt speech tokens per group, as trained
  while (!prompt_speech_.empty() && text_cache_.size() >= m5) {
    AppendText(m5);
    const size_t n = std::min(m15, prompt_speech_.size());
    AppendSpeech(std::vector<int32_t>(prompt_speech_.begin(), prompt_speech_.begin() + static_cast<long>(n)));
    prompt_speech_.erase(prompt_speech_.begin(), prompt_speech_.begin() + static_cast<long>(n));
  }
  if (!prompt_speech_.empty()) return;
  const bool after_fill = !out_.empty() && out_.back() == llm_config_.fill;
  // upstream's CosyVoice2 condition (nothing decoded and the input is just [sos]); never true for
  // a CosyVoice3 prompt, kept for the same state machine
  if (after_fill || (out_.empty() && positions() == 1)) {
    if (text_cache_.size() < m5) return;  // wait for more text
    if (after_fill) input_.clear();       // the fill itself is never fed
    AppendText(m5);
  }
  DecodeUntilFill(on_token);
}

const float *BistreamDecoder::Step() {
  const int64_t n = positions();
  if (cache_.length() + n > llm_config_.max_positions) {
    throw Error(ErrorCode::kInvalidArgument, "text streaming: the text and speech exceed the model's " +
                                                 std::to_string(llm_config_.max_positions) + " positions");
  }
  if (cache_.length() + n > cache_.capacity())
    cache_.Reserve(std::max(2 * cache_.capacity(), cache_.length() + n + 256));
  const auto t0 = SteadyClock::now();
  const float *logits = llm_.Forward(run_, input_.data(), n, cache_);
  if (n > 1) {
    stats_.prefill_positions += n;
    stats_.prefill_seconds += SecondsSince(t0);
  } else {
    ++stats_.decoded_tokens;
    stats_.decode_seconds += SecondsSince(t0);
  }
  return logits;
}

void BistreamDecoder::Emit(int token, const TokenCallback &on_token) {
  ++emitted_;
  stats_.emitted_tokens = emitted_;
  if (on_token && !on_token(token))
    throw Error(ErrorCode::kCancelled, "generation cancelled by the callback");
  input_.clear();
  AppendSpeech({token});
}

void BistreamDecoder::DecodeUntilFill(const TokenCallback &on_token) {
  const int vocab = llm_.shape().vocab_size;
  const int fill = llm_config_.fill;
  const int speech_size = llm_config_.speech_token_size;
  while (true) {
    const float *logits = Step();
    int token;
    if (next_fill_ != -1 && static_cast<int64_t>(out_.size()) == next_fill_) {
      token = fill;  // forced: the layout puts a fill after every 15 speech tokens
      next_fill_ += config_.mix_speech + 1;
    } else {
      // deviation (bistream.py): every special id but fill masked; upstream masks sos and raises on the
      // others
      std::copy(logits, logits + vocab, masked_.begin());
      std::fill(masked_.begin() + speech_size, masked_.end(), -std::numeric_limits<float>::infinity());
      masked_[static_cast<size_t>(fill)] = logits[fill];
      token = sampler_.Sample(masked_.data(), vocab, out_, false);
    }
    if (token == fill) next_fill_ = static_cast<int64_t>(out_.size()) + config_.mix_speech + 1;
    out_.push_back(token);
    if (token >= speech_size) return;  // only fill gets here
    Emit(token, on_token);
  }
}

void BistreamDecoder::Finish(const TokenCallback &on_token) {
  if (finished_) return;
  finished_ = true;
  // upstream feeds lm_input again here: after a decode it is the last input already consumed
  // (a quirk kept for the same tokens); unused prompt speech is dropped
  AppendText(text_cache_.size());
  AppendSpeech({llm_config_.task_id});
  int64_t limit = static_cast<int64_t>(static_cast<double>(text_fed_) * config_.max_token_text_ratio);
  if (config_.max_tokens) limit = std::min<int64_t>(limit, *config_.max_tokens);
  while (emitted_ < limit) {
    const float *logits = Step();
    const int token = sampler_.Sample(logits, llm_.shape().vocab_size, out_, false);
    out_.push_back(token);
    if (llm_config_.IsStop(token)) break;
    Emit(token, on_token);
  }
}

}  // namespace cosyvoice
