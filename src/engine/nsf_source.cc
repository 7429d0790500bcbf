// src/engine/nsf_source.cc
#include "engine/nsf_source.h"

#include <algorithm>
#include <cmath>

namespace cosyvoice {

SourceNoise::SourceNoise(uint32_t seed, uint64_t skip, int num_harmonics)
    : engine_(seed), num_harmonics_(num_harmonics), values_(std::make_shared<const std::vector<float>>()) {
  engine_.discard(skip);
}

SourceNoise::Values SourceNoise::Get(int64_t num_samples) const {
  const size_t want = static_cast<size_t>(num_samples) * static_cast<size_t>(num_harmonics_);
  std::lock_guard<std::mutex> lock(mutex_);
  if (values_->size() >= want) return values_;
  // Grow by at least half of what exists, so a streamed request's growing chunks copy the table
  // O(log n) times, not once per chunk.
  const size_t target = std::max(want, values_->size() + values_->size() / 2);
  auto grown = std::make_shared<std::vector<float>>();
  grown->reserve(target);
  grown->assign(values_->begin(), values_->end());
  while (grown->size() < target) {
    // torch's CPU uniform_ for float32: 24 random bits scaled to [0, 1)
    grown->push_back(static_cast<float>(engine_() & 0xFFFFFFu) * (1.0f / 16777216.0f));
  }
  values_ = std::move(grown);
  return values_;
}

std::vector<float> NsfHarmonics(const std::vector<float> &f0, const NsfSourceParams &p,
                                const SourceNoise &noise) {
  const int64_t frames = static_cast<int64_t>(f0.size());
  const size_t nh = static_cast<size_t>(p.num_harmonics);
  std::vector<double> sum(nh, 0.0);
  std::vector<float> phases(static_cast<size_t>(frames) * nh);
  NsfAccumulatePhases(f0.data(), frames, p, sum, phases.data());
  std::vector<float> out(static_cast<size_t>(frames * p.hop_length) * nh);
  NsfExcitation(f0.data(), phases.data(), frames, 0, p, noise, out.data());
  return out;
}

void NsfAccumulatePhases(const float *f0, int64_t frames, const NsfSourceParams &p, std::vector<double> &sum,
                         float *phases) {
  const int nh = p.num_harmonics;
  const float sr = static_cast<float>(p.sample_rate);
  for (int64_t i = 0; i < frames; ++i) {
    const float f = f0[i];
    for (int h = 0; h < nh; ++h) {
      // per-frame normalized frequency (the linear /hop down-sampling of a constant block);
      // torch's CPU cumsum accumulates in double and rounds each prefix (spec-verification C.1)
      float rad = (f * static_cast<float>(h + 1)) / sr;
      rad = rad - std::floor(rad);
      sum[static_cast<size_t>(h)] += static_cast<double>(rad);
      phases[i * nh + h] = static_cast<float>(sum[static_cast<size_t>(h)]);
    }
  }
}

void NsfExcitation(const float *f0, const float *phases, int64_t frames, int64_t first_frame,
                   const NsfSourceParams &p, const SourceNoise &noise, float *out) {
  const int hop = p.hop_length;
  const int nh = p.num_harmonics;
  const SourceNoise::Values noise_values = noise.Get((first_frame + frames) * hop);  // held for the loop
  const float *buf = noise_values->data() + first_frame * hop * nh;
  const float two_pi_f = 2.0f;
  const float pi_f = static_cast<float>(M_PI);
  const float hop_f = static_cast<float>(hop);
  for (int64_t i = 0; i < frames; ++i) {
    const float f = f0[i];
    const bool voiced = f > p.voiced_threshold;
    const float noise_amp = voiced ? p.noise_std : p.sine_amp / 3.0f;
    for (int h = 0; h < nh; ++h) {
      const float phase = phases[i * nh + h] * two_pi_f * pi_f * hop_f;
      const float sine = voiced ? std::sin(phase) * p.sine_amp : 0.0f;
      for (int k = 0; k < hop; ++k) {
        const size_t idx = static_cast<size_t>((i * hop + k) * nh + h);
        out[idx] = sine + noise_amp * buf[idx];
      }
    }
  }
}

}  // namespace cosyvoice
