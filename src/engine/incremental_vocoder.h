// src/engine/incremental_vocoder.h - HiFT over growing mel without re-running it over everything
// (docs/streaming.md §2): a window of left context + new frames per call.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "engine/bundle_config.h"
#include "engine/vocoder.h"

namespace cosyvoice {

// Per request. Every HiFT part is causal with a finite receptive field except the NSF phase, a
// running sum from sample 0: it is carried (float64, continued sequentially, which is bit-identical
// to one pass), and the fixed source noise is indexed by absolute sample. Push runs the F0 graph,
// the NSF excitation, the generator graph and the ISTFT on the new frames plus `left_context_frames`
// (bundle: hift.left_context_frames) of left context, and keeps only the samples the window's left
// edge cannot influence. The result equals what Vocoder::Run over all the mel so far adds (same
// graphs, same float32 inputs; docs/streaming.md).
class IncrementalVocoder {
 public:
  IncrementalVocoder(const HiftF0Graph &f0, const HiftGeneratorGraph &generator, const Vocoder &vocoder,
                     const HiftConfig &config, int mel_bins);

  void Start();
  // Appends mel [mel_bins, frames] channel-major; returns the new samples: while streaming up to
  // hop * (total - lookahead_frames), with `final` all hop * total. Clamped to the audio limit.
  std::vector<float> Push(const float *mel, int64_t frames, bool final, VocoderStats *stats = nullptr);

  int64_t frames() const { return total_; }
  int64_t generator_frames() const { return generator_frames_; }  // work done, in mel frames

 private:
  std::vector<float> WindowMel(int64_t from, int64_t to) const;  // [mel_bins, to - from]

  const HiftF0Graph &f0_graph_;
  const HiftGeneratorGraph &generator_;
  const Vocoder &vocoder_;  // its source-noise table
  const HiftConfig &config_;
  const int mel_bins_;
  NsfSourceParams params_;
  Istft istft_;
  std::vector<float> mel_;  // [total, mel_bins] frame-major, everything so far (320 B per frame)
  int64_t total_ = 0;
  std::vector<float> f0_;      // F0 of the frames whose lookahead was real ("committed")
  std::vector<float> phases_;  // [committed frames][harmonics]
  std::vector<double> phase_sum_;
  int64_t emitted_ = 0, generator_frames_ = 0;
  bool finished_ = false;
};

// All `frames` of mel [mel_bins, frames] (channel-major) through `vocoder` (restarted first) in
// windows of `window` frames: `sink` gets each window's samples as they are made, the last with
// `final` true. The concatenation equals one Vocoder::Run over all frames up to float32 summation
// order, and the vocoder's working set is a window's, not the whole mel's (docs/memory.md).
void VocodeInWindows(IncrementalVocoder &vocoder, const float *mel, int64_t mel_bins, int64_t frames,
                     int64_t window, const std::function<void(const std::vector<float> &, bool)> &sink);

}  // namespace cosyvoice
