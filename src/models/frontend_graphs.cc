// src/models/frontend_graphs.cc
#include "models/frontend_graphs.h"

#include "models/tensor.h"

namespace cosyvoice {

CampplusGraph::CampplusGraph(const std::filesystem::path &path, int num_mel_bins, int embedding_dim,
                             const RuntimeConfig &config)
    : OnnxGraph(path,
                {{{"input", DType::kFloat32, {1, -1, num_mel_bins}, {}}},
                 {{"output", DType::kFloat32, {1, embedding_dim}, {}}},
                 /*by_position=*/true},
                config),
      bins_(num_mel_bins),
      dim_(embedding_dim) {}

std::vector<float> CampplusGraph::Run(const std::vector<float> &fbank, int64_t frames) const {
  std::vector<Ort::Value> in;
  in.push_back(TensorView(const_cast<float *>(fbank.data()), {1, frames, static_cast<int64_t>(bins_)}));
  return ToVector<float>(OnnxGraph::Run(in)[0]);
}

SpeechTokenizerGraph::SpeechTokenizerGraph(const std::filesystem::path &path, int n_mels,
                                           const RuntimeConfig &config)
    : OnnxGraph(path,
                {{{"feats", DType::kFloat32, {1, n_mels, -1}, {}}, {"feats_length", DType::kInt32, {1}, {}}},
                 {{"indices", DType::kInt32, {1, -1}, {DType::kInt64}}},
                 /*by_position=*/true},
                config),
      n_mels_(n_mels) {}

std::vector<int32_t> SpeechTokenizerGraph::Run(const std::vector<float> &log_mel, int64_t frames) const {
  int32_t length = static_cast<int32_t>(frames);
  std::vector<Ort::Value> in;
  in.push_back(TensorView(const_cast<float *>(log_mel.data()), {1, static_cast<int64_t>(n_mels_), frames}));
  in.push_back(TensorView(&length, {1}));
  auto out = OnnxGraph::Run(in);
  // The v2-based ports read int32; accept int64 too (unverified for the v3 release).
  if (out[0].GetTensorTypeAndShapeInfo().GetElementType() == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64) {
    const auto wide = ToVector<int64_t>(out[0]);
    return std::vector<int32_t>(wide.begin(), wide.end());
  }
  return ToVector<int32_t>(out[0]);
}

}  // namespace cosyvoice
