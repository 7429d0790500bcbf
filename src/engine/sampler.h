// src/engine/sampler.h - CosyVoice's repetition-aware sampling (RAS), model-free.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/rng.h"

namespace cosyvoice {

struct RasParams {
  double top_p = 0.8;
  int top_k = 25;
  int win_size = 10;
  double tau_r = 0.1;
};

// One RAS step (spec §5.5, docs/determinism.md):
//  1. while `block_stop` (step < min_len) every id in [stop_begin, stop_end) gets probability 0
//     (upstream HEAD masks only the first one; we do what the guard intends);
//  2. p = softmax(logits) in float64;
//  3. nucleus: walk ids by descending p (ties: lower id first), keeping while cum < top_p and
//     count < top_k (the crossing id is kept); draw one of them in that order;
//  4. if it occurs >= win_size * tau_r times in the last win_size emitted tokens, set its p to 0
//     and draw again from the full distribution in id order.
// Each step consumes one or two doubles from the generator.
class RasSampler {
 public:
  RasSampler(RasParams params, int stop_begin, int stop_end, uint64_t seed);

  int Sample(const float *logits, int vocab_size, const std::vector<int> &emitted, bool block_stop);

  const RasParams &params() const { return params_; }

 private:
  RasParams params_;
  int stop_begin_, stop_end_;
  Xoshiro256 rng_;
  std::vector<double> probs_;
  std::vector<int> order_;
  std::vector<double> kept_;
};

}  // namespace cosyvoice
