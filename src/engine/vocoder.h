// src/engine/vocoder.h - mel -> waveform: F0 graph, NSF excitation, generator graph, ISTFT.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/bundle_config.h"
#include "engine/istft.h"
#include "engine/nsf_source.h"
#include "models/hift_graphs.h"

namespace cosyvoice {

struct VocoderStats {
  double f0_seconds = 0, source_seconds = 0, generator_seconds = 0, istft_seconds = 0;
};

// Immutable after construction and shared by all requests of a Model: Run keeps nothing between
// calls (the streaming design re-runs the vocoder over all mel so far, spec §8), and the NSF source
// noise is a lazily grown table every request reads (SourceNoise is thread-safe).
class Vocoder {
 public:
  Vocoder(const HiftF0Graph &f0, const HiftGeneratorGraph &generator, const HiftConfig &config);

  // mel [mel_bins, frames] channel-major. finalize: hop * frames samples; otherwise the first
  // hop * (frames - lookahead_frames), which equal upstream's finalize=False output.
  std::vector<float> Run(const float *mel, int64_t frames, bool finalize,
                         VocoderStats *stats = nullptr) const;

  const SourceNoise &source_noise() const { return noise_; }

 private:
  const HiftF0Graph &f0_graph_;
  const HiftGeneratorGraph &generator_;
  const HiftConfig &config_;
  NsfSourceParams source_params_;
  SourceNoise noise_;
  Istft istft_;
};

// The NSF source parameters a bundle's HiFT section defines.
NsfSourceParams SourceParamsFrom(const HiftConfig &config);

// Upstream's speed change: F.interpolate(mel, size=int(frames / speed), mode='linear',
// align_corners=False) along time, in float32. mel is [mel_bins, frames] channel-major.
std::vector<float> ResampleMelLinear(const std::vector<float> &mel, int mel_bins, int64_t frames,
                                     int64_t out_frames);

}  // namespace cosyvoice
