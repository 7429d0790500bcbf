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
  const int hop = p.hop_length;
  const int nh = p.num_harmonics;
  const int64_t samples = frames * hop;
  std::vector<float> out(static_cast<size_t>(samples) * static_cast<size_t>(nh));
  const SourceNoise::Values noise_values = noise.Get(samples);  // held for the whole loop
  const float *buf = noise_values->data();

  const float two_pi_f = 2.0f;
  const float pi_f = static_cast<float>(M_PI);
  const float sr = static_cast<float>(p.sample_rate);
  const float hop_f = static_cast<float>(hop);
  std::vector<double> cum(static_cast<size_t>(nh), 0.0);  // torch CPU cumsum accumulates in double
  for (int64_t i = 0; i < frames; ++i) {
    const float f = f0[static_cast<size_t>(i)];
    const bool voiced = f > p.voiced_threshold;
    const float noise_amp = voiced ? p.noise_std : p.sine_amp / 3.0f;
    for (int h = 0; h < nh; ++h) {
      // per-frame normalized frequency (the linear /hop down-sampling of a constant block)
      float rad = (f * static_cast<float>(h + 1)) / sr;
      rad = rad - std::floor(rad);
      cum[static_cast<size_t>(h)] += static_cast<double>(rad);
      const float phase = static_cast<float>(cum[static_cast<size_t>(h)]) * two_pi_f * pi_f * hop_f;
      const float sine = voiced ? std::sin(phase) * p.sine_amp : 0.0f;
      for (int k = 0; k < hop; ++k) {
        const size_t idx = static_cast<size_t>((i * hop + k) * nh + h);
        out[idx] = sine + noise_amp * buf[idx];
      }
    }
  }
  return out;
}

}  // namespace cosyvoice
