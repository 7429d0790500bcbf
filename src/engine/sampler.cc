// src/engine/sampler.cc
#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "cosyvoice/error.h"

namespace cosyvoice {

RasSampler::RasSampler(RasParams params, int stop_begin, int stop_end, uint64_t seed)
    : params_(params), stop_begin_(stop_begin), stop_end_(stop_end), rng_(seed) {
  if (params_.top_k < 1) throw Error(ErrorCode::kInvalidArgument, "sampling: top_k must be >= 1");
  if (!(params_.top_p > 0.0 && params_.top_p <= 1.0))
    throw Error(ErrorCode::kInvalidArgument, "sampling: top_p must be in (0, 1]");
  if (params_.win_size < 0 || params_.tau_r < 0)
    throw Error(ErrorCode::kInvalidArgument, "sampling: win_size and tau_r must be >= 0");
}

int RasSampler::Sample(const float *logits, int vocab_size, const std::vector<int> &emitted,
                       bool block_stop) {
  const size_t n = static_cast<size_t>(vocab_size);
  probs_.resize(n);
  // softmax in float64; blocked ids are -inf logits, i.e. probability exactly 0
  double max_logit = -std::numeric_limits<double>::infinity();
  auto blocked = [&](size_t i) {
    return block_stop && static_cast<int>(i) >= stop_begin_ && static_cast<int>(i) < stop_end_;
  };
  bool has_nan = false;
  for (size_t i = 0; i < n; ++i) {
    has_nan |= std::isnan(logits[i]);
    if (!blocked(i)) max_logit = std::max(max_logit, static_cast<double>(logits[i]));
  }
  if (has_nan || !std::isfinite(max_logit)) {
    throw Error(ErrorCode::kRuntime, "sampling: the LLM produced no finite logit (NaN or all -inf)");
  }
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) {
    probs_[i] = blocked(i) ? 0.0 : std::exp(static_cast<double>(logits[i]) - max_logit);
    sum += probs_[i];
  }
  for (size_t i = 0; i < n; ++i) probs_[i] /= sum;

  // nucleus + top-k over the first top_k ids in (p desc, id asc) order
  const size_t k = std::min(n, static_cast<size_t>(params_.top_k));
  order_.resize(n);
  for (size_t i = 0; i < n; ++i) order_[i] = static_cast<int>(i);
  std::partial_sort(order_.begin(), order_.begin() + static_cast<std::ptrdiff_t>(k), order_.end(),
                    [&](int a, int b) { return probs_[a] > probs_[b] || (probs_[a] == probs_[b] && a < b); });
  kept_.clear();
  double cum = 0.0;
  for (size_t i = 0; i < k && cum < params_.top_p; ++i) {
    kept_.push_back(probs_[static_cast<size_t>(order_[i])]);
    cum += kept_.back();
  }
  const size_t pick = SampleCategorical(kept_.data(), kept_.size(), rng_);
  const int token = order_[pick < kept_.size() ? pick : 0];

  // repetition-aware fallback
  // Python's decoded_tokens[-win_size:]; note that [-0:] is the whole list.
  const size_t window = static_cast<size_t>(params_.win_size);
  const size_t begin = (window > 0 && emitted.size() > window) ? emitted.size() - window : 0;
  const int repeats = static_cast<int>(
      std::count(emitted.begin() + static_cast<std::ptrdiff_t>(begin), emitted.end(), token));
  if (static_cast<double>(repeats) >= static_cast<double>(params_.win_size) * params_.tau_r) {
    probs_[static_cast<size_t>(token)] = 0.0;
    const size_t full = SampleCategorical(probs_.data(), n, rng_);
    return full < n ? static_cast<int>(full) : token;
  }
  return token;
}

}  // namespace cosyvoice
