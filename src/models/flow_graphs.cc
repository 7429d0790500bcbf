// src/models/flow_graphs.cc
#include "models/flow_graphs.h"

#include <algorithm>

#include "models/tensor.h"

namespace cosyvoice {

FlowEncoderGraph::FlowEncoderGraph(const std::filesystem::path &path, int mel_bins, int spk_embed_dim,
                                   const RuntimeConfig &config)
    : OnnxGraph(path,
                {{{"token", DType::kInt64, {1, -1}}, {"embedding", DType::kFloat32, {1, spk_embed_dim}}},
                 {{"mu", DType::kFloat32, {1, mel_bins, -1}}, {"spks", DType::kFloat32, {1, mel_bins}}}},
                config),
      mel_bins_(mel_bins),
      spk_dim_(spk_embed_dim) {}

FlowEncoderGraph::Output FlowEncoderGraph::Run(const std::vector<int64_t> &tokens,
                                               const std::vector<float> &embedding) const {
  std::vector<int64_t> tok = tokens;
  std::vector<float> emb = embedding;
  std::vector<Ort::Value> in;
  in.push_back(TensorView(tok, {1, static_cast<int64_t>(tok.size())}));
  in.push_back(TensorView(emb, {1, static_cast<int64_t>(spk_dim_)}));
  auto out = OnnxGraph::Run(in);
  Output o;
  o.mu = ToVector<float>(out[0]);
  o.spks = ToVector<float>(out[1]);
  o.frames = TensorShape(out[0])[2];
  return o;
}

FlowEstimatorGraph::FlowEstimatorGraph(const std::filesystem::path &path, int mel_bins,
                                       const RuntimeConfig &config)
    : OnnxGraph(path,
                {{{"x", DType::kFloat32, {-1, mel_bins, -1}},
                  {"mu", DType::kFloat32, {-1, mel_bins, -1}},
                  {"t", DType::kFloat32, {-1}},
                  {"spks", DType::kFloat32, {-1, mel_bins}},
                  {"cond", DType::kFloat32, {-1, mel_bins, -1}},
                  {"attention_chunk", DType::kInt64, {}}},
                 {{"velocity", DType::kFloat32, {-1, mel_bins, -1}}}},
                config),
      mel_bins_(mel_bins) {}

void FlowEstimatorGraph::Run(int64_t batch, int64_t frames, const float *x, const float *mu, const float *t,
                             const float *spks, const float *cond, int64_t attention_chunk,
                             std::vector<float> &velocity) const {
  const std::vector<int64_t> btc = {batch, mel_bins_, frames};
  int64_t chunk = attention_chunk;
  velocity.resize(static_cast<size_t>(batch * mel_bins_ * frames));
  Ort::IoBinding binding(session());  // per call: a binding is not shareable between threads
  binding.BindInput("x", TensorView(const_cast<float *>(x), btc));
  binding.BindInput("mu", TensorView(const_cast<float *>(mu), btc));
  binding.BindInput("t", TensorView(const_cast<float *>(t), {batch}));
  binding.BindInput("spks", TensorView(const_cast<float *>(spks), {batch, static_cast<int64_t>(mel_bins_)}));
  binding.BindInput("cond", TensorView(const_cast<float *>(cond), btc));
  binding.BindInput("attention_chunk", TensorView(&chunk, {}));
  binding.BindOutput("velocity", TensorView(velocity.data(), btc));
  OnnxGraph::Run(binding);
}

}  // namespace cosyvoice
