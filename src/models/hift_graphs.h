// src/models/hift_graphs.h - wrappers of hift/hift_f0.onnx and hift/hift_generator.onnx
// (docs/bundle.md §3.4, §3.5). Immutable; Run is safe from many threads at once.
#pragma once

#include <cstdint>
#include <vector>

#include "models/onnx_graph.h"

namespace cosyvoice {

class HiftF0Graph : public OnnxGraph {
 public:
  HiftF0Graph(const std::filesystem::path &path, int mel_bins, const RuntimeConfig &config);
  // mel [mel_bins, frames] channel-major -> f0 [frames] in Hz
  std::vector<float> Run(const float *mel, int64_t frames) const;

 private:
  int mel_bins_;
};

class HiftGeneratorGraph : public OnnxGraph {
 public:
  HiftGeneratorGraph(const std::filesystem::path &path, int mel_bins, int num_harmonics, int bins,
                     const RuntimeConfig &config);
  struct Spectrum {
    std::vector<float> real, imag;  // [bins, spec_frames]
    int64_t spec_frames = 0;
  };
  // mel [mel_bins, frames]; harmonics [frames * hop, num_harmonics]
  Spectrum Run(const float *mel, int64_t frames, const std::vector<float> &harmonics) const;

 private:
  int mel_bins_, num_harmonics_;
};

}  // namespace cosyvoice
