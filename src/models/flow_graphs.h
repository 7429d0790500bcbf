// src/models/flow_graphs.h - wrappers of flow/flow_encoder.onnx and flow/flow_estimator.onnx
// (docs/bundle.md §3.2, §3.3). Immutable; Run is safe from many threads at once.
#pragma once

#include <cstdint>
#include <vector>

#include "models/onnx_graph.h"

namespace cosyvoice {

class FlowEncoderGraph : public OnnxGraph {
 public:
  FlowEncoderGraph(const std::filesystem::path &path, int mel_bins, int spk_embed_dim,
                   const RuntimeConfig &config);
  struct Output {
    std::vector<float> mu;    // [mel_bins, 2L] channel-major
    std::vector<float> spks;  // [mel_bins]
    int64_t frames = 0;
  };
  // tokens: prompt speech tokens followed by generated ones; embedding: raw CAM++ output.
  Output Run(const std::vector<int64_t> &tokens, const std::vector<float> &embedding) const;

 private:
  int mel_bins_, spk_dim_;
};

class FlowEstimatorGraph : public OnnxGraph {
 public:
  FlowEstimatorGraph(const std::filesystem::path &path, int mel_bins, const RuntimeConfig &config);
  // All [batch, mel_bins, frames] except t [batch] and spks [batch, mel_bins]; returns the
  // velocity [batch, mel_bins, frames] into `velocity` (resized). attention_chunk >= frames gives
  // full attention.
  void Run(int64_t batch, int64_t frames, const float *x, const float *mu, const float *t, const float *spks,
           const float *cond, int64_t attention_chunk, std::vector<float> &velocity) const;

 private:
  int mel_bins_;
};

}  // namespace cosyvoice
