// src/models/flow_chunk_graph.cc
#include "models/flow_chunk_graph.h"

#include <algorithm>

#include "common/half.h"
#include "cosyvoice/error.h"
#include "models/tensor.h"

namespace cosyvoice {

FlowStepCache::FlowStepCache(const FlowChunkShape &shape, int batch, StreamCachePrecision precision)
    : shape_(shape), batch_(batch), precision_(precision), row_(static_cast<int64_t>(batch) * shape.dim) {
  if (precision == StreamCachePrecision::kFloat16) {
    kv_half_.resize(static_cast<size_t>(2 * shape.depth));
  } else {
    kv_.resize(static_cast<size_t>(2 * shape.depth));
  }
  conv_.assign(4, std::vector<float>(static_cast<size_t>(row_ * shape.conv_state), 0.f));
}

void FlowStepCache::Reset(int64_t capacity) {
  frames_ = 0;
  cur_ = 0;
  for (auto &c : conv_) std::fill(c.begin(), c.end(), 0.f);
  if (capacity > capacity_) {
    const auto n = static_cast<size_t>(capacity * row_);
    for (auto &b : kv_) {
      b.clear();  // nothing to keep
      b.resize(n);
    }
    for (auto &b : kv_half_) {
      b.clear();
      b.resize(n);
    }
    capacity_ = capacity;
  }
}

void FlowStepCache::Reserve(int64_t capacity, int64_t limit) {
  if (capacity <= capacity_) return;
  const int64_t grown = std::max(capacity, std::min(limit, capacity_ + capacity_ / 2));
  for (auto &b : kv_) b.resize(static_cast<size_t>(grown * row_));  // keeps the rows so far
  for (auto &b : kv_half_) b.resize(static_cast<size_t>(grown * row_));
  capacity_ = grown;
}

void FlowStepCache::CopyFrom(const FlowStepCache &other, int64_t capacity) {
  CopyRowsFrom(other, other.frames_, other.conv_[static_cast<size_t>(other.cur_ * 2)].data(),
               other.conv_[static_cast<size_t>(other.cur_ * 2 + 1)].data(), capacity);
}

std::vector<float> FlowStepCache::SaveConv() const {
  std::vector<float> out;
  for (int w = 0; w < 2; ++w) {
    const auto &c = conv_[static_cast<size_t>(cur_ * 2 + w)];
    out.insert(out.end(), c.begin(), c.end());
  }
  return out;
}

void FlowStepCache::CopyPrefixFrom(const FlowStepCache &other, int64_t frames, const std::vector<float> &conv,
                                   int64_t capacity) {
  const size_t state = conv_[0].size();
  if (frames > other.frames_ || conv.size() != 2 * state)
    throw Error(ErrorCode::kInvalidArgument, "flow cache: copying a prefix the cache does not hold");
  CopyRowsFrom(other, frames, conv.data(), conv.data() + state, capacity);
}

void FlowStepCache::CopyRowsFrom(const FlowStepCache &other, int64_t frames, const float *conv1,
                                 const float *conv2, int64_t capacity) {
  if (other.row_ != row_ || other.kv_.size() != kv_.size() || other.precision_ != precision_) {
    throw Error(ErrorCode::kInvalidArgument, "flow cache: copying a cache of another shape");
  }
  Reset(std::max(capacity, frames));
  const size_t n = static_cast<size_t>(frames * row_);
  // copy_n, not memcpy: a voice's prompt cache may hold no frames yet, and memcpy of an empty
  // vector's null data() is undefined behaviour even for 0 bytes (UBSan: nonnull argument)
  for (size_t i = 0; i < kv_.size(); ++i) std::copy_n(other.kv_[i].data(), n, kv_[i].data());
  for (size_t i = 0; i < kv_half_.size(); ++i) std::copy_n(other.kv_half_[i].data(), n, kv_half_[i].data());
  std::copy_n(conv1, conv_[0].size(), conv_[0].begin());
  std::copy_n(conv2, conv_[1].size(), conv_[1].begin());
  cur_ = 0;
  frames_ = frames;
}

void FlowStepCache::Commit(int64_t rows) {
  frames_ += rows;
  cur_ = 1 - cur_;
}

size_t FlowStepCache::bytes() const {
  size_t n = conv_bytes();
  for (const auto &b : kv_) n += b.capacity() * sizeof(float);
  for (const auto &b : kv_half_) n += b.capacity() * sizeof(uint16_t);
  return n;
}

size_t FlowStepCache::conv_bytes() const {
  size_t n = 0;
  for (const auto &c : conv_) n += c.size() * sizeof(float);
  return n;
}

GraphSignature FlowChunkGraph::Signature(const FlowChunkShape &s) {
  GraphSignature sig;
  const int64_t m = s.mel_bins, d = s.dim, cs = s.conv_state;
  sig.inputs = {{"x", DType::kFloat32, {-1, m, -1}},
                {"mu", DType::kFloat32, {-1, m, -1}},
                {"t", DType::kFloat32, {-1}},
                {"spks", DType::kFloat32, {-1, m}},
                {"cond", DType::kFloat32, {-1, m, -1}},
                {"attention_chunk", DType::kInt64, {}},
                {"conv_state_1", DType::kFloat32, {-1, d, cs}},
                {"conv_state_2", DType::kFloat32, {-1, d, cs}}};
  sig.outputs = {{"velocity", DType::kFloat32, {-1, m, -1}},
                 {"new_conv_state_1", DType::kFloat32, {-1, d, cs}},
                 {"new_conv_state_2", DType::kFloat32, {-1, d, cs}}};
  for (int i = 0; i < s.depth; ++i) {
    for (const char *kind : {"key", "value"}) {
      const std::string n = std::string(kind) + "_" + std::to_string(i);
      sig.inputs.push_back({"past_" + n, DType::kFloat32, {-1, -1, d}});
      sig.outputs.push_back({"new_" + n, DType::kFloat32, {-1, -1, d}});
    }
  }
  return sig;
}

FlowChunkGraph::FlowChunkGraph(const std::filesystem::path &path, const FlowChunkShape &shape,
                               const RuntimeConfig &config)
    : OnnxGraph(path, Signature(shape), config), shape_(shape) {
  for (int i = 0; i < shape.depth; ++i) {
    for (const char *kind : {"key", "value"}) {
      const std::string n = std::string(kind) + "_" + std::to_string(i);
      past_names_.push_back("past_" + n);
      new_names_.push_back("new_" + n);
    }
  }
}

FlowChunkGraph::RunState::RunState(const FlowChunkGraph &graph)
    : binding_(std::make_unique<Ort::IoBinding>(graph.session())) {}
FlowChunkGraph::RunState::~RunState() = default;

size_t FlowChunkGraph::RunState::bytes() const {
  size_t n = 0;
  for (const auto &s : staging_) n += s.capacity() * sizeof(float);
  return n;
}

void FlowChunkGraph::RunState::Release() {
  staging_.clear();
  staging_.shrink_to_fit();
}

void FlowChunkGraph::Run(RunState &state, int64_t frames, const float *x, const float *mu, const float *t,
                         const float *spks, const float *cond, int64_t attention_chunk, FlowStepCache &cache,
                         float *velocity) const {
  if (frames < 1) throw Error(ErrorCode::kInvalidArgument, "flow chunk: no frames to run");
  cache.Reserve(cache.frames() + frames);
  const int64_t b = cache.batch(), m = shape_.mel_bins, d = shape_.dim, cs = shape_.conv_state;
  const int64_t past = cache.frames();
  auto in = [](const float *p, const std::vector<int64_t> &dims) {
    return TensorView(const_cast<float *>(p), dims);
  };
  Ort::IoBinding &io = *state.binding_;
  io.ClearBoundInputs();
  io.ClearBoundOutputs();
  io.BindInput("x", in(x, {b, m, frames}));
  io.BindInput("mu", in(mu, {b, m, frames}));
  io.BindInput("t", in(t, {b}));
  io.BindInput("spks", in(spks, {b, m}));
  io.BindInput("cond", in(cond, {b, m, frames}));
  io.BindInput("attention_chunk", TensorView(&attention_chunk, {}));
  io.BindInput("conv_state_1", TensorView(cache.conv(0), {b, d, cs}));
  io.BindInput("conv_state_2", TensorView(cache.conv(1), {b, d, cs}));
  io.BindOutput("velocity", TensorView(velocity, {b, m, frames}));
  io.BindOutput("new_conv_state_1", TensorView(cache.next_conv(0), {b, d, cs}));
  io.BindOutput("new_conv_state_2", TensorView(cache.next_conv(1), {b, d, cs}));
  const bool half = cache.precision() == StreamCachePrecision::kFloat16;
  const auto past_values = static_cast<size_t>(past * b * d),
             new_values = static_cast<size_t>(frames * b * d);
  if (half) state.staging_.resize(past_names_.size());
  for (size_t k = 0; k < past_names_.size(); ++k) {
    float *buf = nullptr;
    if (half) {  // the past widened into float32 (one step's worth of staging, reused by every step)
      std::vector<float> &staging = state.staging_[k];
      if (staging.size() < past_values + new_values) {  // grown as the cache grows, not past it
        const size_t cache_values = static_cast<size_t>(cache.capacity() * b * d);
        staging.reserve(
            std::max(past_values + new_values, std::min(cache_values, staging.size() + staging.size() / 2)));
        staging.resize(past_values + new_values);
      }
      HalfToFloatN(cache.kv_half(k), staging.data(), past_values);
      buf = staging.data();
    } else {
      buf = cache.kv(k);
    }
    io.BindInput(past_names_[k].c_str(), TensorView(buf, {past, b, d}));
    io.BindOutput(new_names_[k].c_str(), TensorView(buf + past_values, {frames, b, d}));
  }
  OnnxGraph::Run(io);
  if (half) {
    for (size_t k = 0; k < past_names_.size(); ++k)
      FloatToHalfN(state.staging_[k].data() + past_values, cache.kv_half(k) + past_values, new_values);
  }
  cache.Commit(frames);
}

}  // namespace cosyvoice
