// src/models/frontend_graphs.h - the release's speaker encoder and speech tokenizer graphs
// (docs/bundle.md §3.6), run as the official frontend runs them. Immutable; Run is safe from many
// threads at once.
#pragma once

#include <cstdint>
#include <vector>

#include "models/onnx_graph.h"

namespace cosyvoice {

// campplus.onnx: CMN'd Kaldi fbank [frames, num_mel_bins] -> speaker embedding [embedding_dim]
// (not normalized; the flow normalizes it).
class CampplusGraph : public OnnxGraph {
 public:
  CampplusGraph(const std::filesystem::path &path, int num_mel_bins, int embedding_dim,
                const RuntimeConfig &config);
  std::vector<float> Run(const std::vector<float> &fbank, int64_t frames) const;

 private:
  int bins_, dim_;
};

// speech_tokenizer_v3.onnx: Whisper log-mel [n_mels, frames] -> speech tokens (25 Hz).
class SpeechTokenizerGraph : public OnnxGraph {
 public:
  SpeechTokenizerGraph(const std::filesystem::path &path, int n_mels, const RuntimeConfig &config);
  std::vector<int32_t> Run(const std::vector<float> &log_mel, int64_t frames) const;

 private:
  int n_mels_;
};

}  // namespace cosyvoice
