// src/engine/vocoder.cc
#include "engine/vocoder.h"

#include <algorithm>
#include <chrono>

#include "common/timer.h"
#include "cosyvoice/error.h"
#include "engine/finite_check.h"

namespace cosyvoice {
NsfSourceParams SourceParamsFrom(const HiftConfig &c) {
  NsfSourceParams p;
  p.sample_rate = c.sample_rate;
  p.hop_length = c.hop_length;
  p.num_harmonics = c.nb_harmonics + 1;
  p.sine_amp = static_cast<float>(c.sine_amp);
  p.noise_std = static_cast<float>(c.noise_std);
  p.voiced_threshold = static_cast<float>(c.voiced_threshold);
  p.noise_seed = c.source_noise.seed;
  p.noise_skip = c.source_noise.skip;
  return p;
}

Vocoder::Vocoder(const HiftF0Graph &f0, const HiftGeneratorGraph &generator, const HiftConfig &config)
    : f0_graph_(f0),
      generator_(generator),
      config_(config),
      source_params_(SourceParamsFrom(config)),
      noise_(config.source_noise.seed, config.source_noise.skip, config.nb_harmonics + 1),
      istft_(config.istft_n_fft, config.istft_hop) {}

std::vector<float> Vocoder::Run(const float *mel, int64_t frames, bool finalize, VocoderStats *stats) const {
  VocoderStats local;
  VocoderStats &st = stats ? *stats : local;
  if (frames < 1) throw Error(ErrorCode::kInvalidArgument, "vocoder: no mel frames");

  auto t0 = SteadyClock::now();
  const std::vector<float> f0 = f0_graph_.Run(mel, frames);
  CheckFiniteOutput(f0.data(), f0.size(), "vocoder (F0)");
  st.f0_seconds += SecondsSince(t0);

  t0 = SteadyClock::now();
  const std::vector<float> harmonics = NsfHarmonics(f0, source_params_, noise_);
  st.source_seconds += SecondsSince(t0);

  t0 = SteadyClock::now();
  const HiftGeneratorGraph::Spectrum spec = generator_.Run(mel, frames, harmonics);
  CheckFiniteOutput(spec.real.data(), spec.real.size(), "vocoder (spectrum, real part)");
  CheckFiniteOutput(spec.imag.data(), spec.imag.size(), "vocoder (spectrum, imaginary part)");
  st.generator_seconds += SecondsSince(t0);

  t0 = SteadyClock::now();
  std::vector<float> wav = istft_.Run(spec.real.data(), spec.imag.data(), static_cast<int>(spec.spec_frames));
  CheckFiniteOutput(wav.data(), wav.size(), "vocoder (waveform)");  // before the clamp, which keeps NaN
  const float limit = static_cast<float>(config_.audio_limit);
  for (float &s : wav) s = std::clamp(s, -limit, limit);
  if (!finalize) {
    const int64_t keep = std::max<int64_t>(0, (frames - config_.lookahead_frames) * config_.hop_length);
    wav.resize(static_cast<size_t>(std::min<int64_t>(keep, static_cast<int64_t>(wav.size()))));
  }
  st.istft_seconds += SecondsSince(t0);
  return wav;
}

std::vector<float> ResampleMelLinear(const std::vector<float> &mel, int mel_bins, int64_t frames,
                                     int64_t out_frames) {
  std::vector<float> out(static_cast<size_t>(mel_bins * out_frames));
  const float scale = static_cast<float>(frames) / static_cast<float>(out_frames);
  for (int64_t j = 0; j < out_frames; ++j) {
    float src = scale * (static_cast<float>(j) + 0.5f) - 0.5f;
    if (src < 0) src = 0;
    const int64_t i0 = static_cast<int64_t>(src);
    const int64_t step = i0 < frames - 1 ? 1 : 0;
    const float l1 = src - static_cast<float>(i0);
    const float l0 = 1.0f - l1;
    for (int c = 0; c < mel_bins; ++c) {
      const float *row = &mel[static_cast<size_t>(c * frames)];
      out[static_cast<size_t>(c * out_frames + j)] = l0 * row[i0] + l1 * row[i0 + step];
    }
  }
  return out;
}

}  // namespace cosyvoice
