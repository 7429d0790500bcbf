// src/models/hift_graphs.cc
#include "models/hift_graphs.h"

#include "models/tensor.h"

namespace cosyvoice {

HiftF0Graph::HiftF0Graph(const std::filesystem::path &path, int mel_bins, const RuntimeConfig &config)
    : OnnxGraph(path, {{{"mel", DType::kFloat32, {1, mel_bins, -1}}}, {{"f0", DType::kFloat32, {1, -1}}}},
                config),
      mel_bins_(mel_bins) {}

std::vector<float> HiftF0Graph::Run(const float *mel, int64_t frames) const {
  std::vector<Ort::Value> in;
  in.push_back(TensorView(const_cast<float *>(mel), {1, static_cast<int64_t>(mel_bins_), frames}));
  auto out = OnnxGraph::Run(in);
  return ToVector<float>(out[0]);
}

HiftGeneratorGraph::HiftGeneratorGraph(const std::filesystem::path &path, int mel_bins, int num_harmonics,
                                       int bins, const RuntimeConfig &config)
    : OnnxGraph(path,
                {{{"mel", DType::kFloat32, {1, mel_bins, -1}},
                  {"harmonics", DType::kFloat32, {1, -1, num_harmonics}}},
                 {{"real", DType::kFloat32, {1, bins, -1}}, {"imag", DType::kFloat32, {1, bins, -1}}}},
                config),
      mel_bins_(mel_bins),
      num_harmonics_(num_harmonics) {}

HiftGeneratorGraph::Spectrum HiftGeneratorGraph::Run(const float *mel, int64_t frames,
                                                     const std::vector<float> &harmonics) const {
  const int64_t samples = static_cast<int64_t>(harmonics.size()) / num_harmonics_;
  std::vector<Ort::Value> in;
  in.push_back(TensorView(const_cast<float *>(mel), {1, static_cast<int64_t>(mel_bins_), frames}));
  in.push_back(
      TensorView(const_cast<float *>(harmonics.data()), {1, samples, static_cast<int64_t>(num_harmonics_)}));
  auto out = OnnxGraph::Run(in);
  Spectrum s;
  s.real = ToVector<float>(out[0]);
  s.imag = ToVector<float>(out[1]);
  s.spec_frames = TensorShape(out[0])[2];
  return s;
}

}  // namespace cosyvoice
