// src/engine/nsf_source.h - HiFT's neural-source-filter excitation, computed from F0 in C++.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <vector>

namespace cosyvoice {

struct NsfSourceParams {
  int sample_rate = 24000;
  int hop_length = 480;   // samples per F0 frame
  int num_harmonics = 9;  // fundamental + nb_harmonics overtones
  float sine_amp = 0.1f;
  float noise_std = 0.003f;       // noise amplitude where voiced
  float voiced_threshold = 10.f;  // Hz
  uint32_t noise_seed = 0;
  uint64_t noise_skip = 5052970;  // 32-bit outputs of MT19937 drawn before the noise buffer
};

// The fixed uniform noise that upstream draws once at construction (`sine_waves`, [1, 7.2M, 9]):
// the MT19937(seed) stream after `skip` outputs, value (u32 & 0xFFFFFF) * 2^-24, harmonic index
// fastest (docs/determinism.md). Indexed from sample 0 on every call, so it is a table, not
// per-request state: one instance belongs to the Model and all requests share it. Generated
// lazily (the full 300 s would be 259 MB) and thread-safe: Get returns an immutable snapshot;
// growing it builds a longer snapshot, and snapshots other threads still hold stay valid.
class SourceNoise {
 public:
  using Values = std::shared_ptr<const std::vector<float>>;
  SourceNoise(uint32_t seed, uint64_t skip, int num_harmonics);
  // At least num_samples x num_harmonics values, row-major [sample][harmonic].
  Values Get(int64_t num_samples) const;

 private:
  mutable std::mutex mutex_;
  mutable std::mt19937 engine_;  // positioned after the last value of values_
  int num_harmonics_;
  mutable Values values_;
};

// Excitation per harmonic before the learned merge (the merge Linear(9->1)+tanh is in the
// generator graph): [num_samples = F0 frames * hop][num_harmonics], matching upstream's
// SineGen2 (causal: nearest upsampling of the per-frame phase) in float32 with the
// double-accumulated cumulative sum of torch's CPU cumsum (spec-verification C.1).
std::vector<float> NsfHarmonics(const std::vector<float> &f0, const NsfSourceParams &params,
                                const SourceNoise &noise);

// The two halves of NsfHarmonics, for the streamed vocoder (docs/streaming.md): the phase is a
// running sum from frame 0, so it is carried across calls.
// Appends the phases of `frames` F0 frames: per frame and harmonic the float32 of the float64
// running sum `sum` [num_harmonics] of the normalized frequencies (continued sequentially, which
// is bit-identical to one pass). phases: [frames][num_harmonics].
void NsfAccumulatePhases(const float *f0, int64_t frames, const NsfSourceParams &params,
                         std::vector<double> &sum, float *phases);
// The excitation of `frames` frames starting at absolute frame `first_frame` (which indexes the
// fixed noise) from their F0 and phases: out [frames * hop][num_harmonics].
void NsfExcitation(const float *f0, const float *phases, int64_t frames, int64_t first_frame,
                   const NsfSourceParams &params, const SourceNoise &noise, float *out);

}  // namespace cosyvoice
