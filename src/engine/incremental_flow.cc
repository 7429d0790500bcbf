// src/engine/incremental_flow.cc
#include "engine/incremental_flow.h"

#include <cstring>

#include "cosyvoice/error.h"
#include "engine/finite_check.h"

namespace cosyvoice {

IncrementalFlow::IncrementalFlow(const FlowChunkGraph &graph, const NpyArray &noise, const FlowConfig &config,
                                 StreamCachePrecision precision)
    : graph_(graph), noise_(noise), config_(config), precision_(precision), run_(graph) {}

void IncrementalFlow::Start(const std::vector<float> &spks, const FlowOptions &options) {
  options_ = options;
  const size_t m = static_cast<size_t>(config_.mel_bins);
  spks2_.assign(2 * m, 0.f);
  std::copy(spks.begin(), spks.begin() + static_cast<std::ptrdiff_t>(m), spks2_.begin());
  if (steps_.size() != static_cast<size_t>(options.n_timesteps)) {
    steps_.assign(static_cast<size_t>(options.n_timesteps), FlowStepCache(graph_.shape(), 2, precision_));
  }
  for (auto &s : steps_) s.Reset(0);
  frames_ = 0;
  closed_ = false;
  capacity_limit_ = INT64_MAX;
}

void IncrementalFlow::StartFrom(const IncrementalFlow &prompt) {
  options_ = prompt.options_;
  spks2_ = prompt.spks2_;
  if (steps_.size() != prompt.steps_.size())
    steps_.assign(prompt.steps_.size(), FlowStepCache(graph_.shape(), 2, precision_));
  for (size_t k = 0; k < steps_.size(); ++k) steps_[k].CopyFrom(prompt.steps_[k], prompt.frames_);
  frames_ = prompt.frames_;
  closed_ = prompt.closed_;
  capacity_limit_ = INT64_MAX;
}

size_t IncrementalFlow::cache_bytes() const {
  size_t n = 0;
  for (const auto &s : steps_) n += s.bytes();
  return n + run_.bytes();
}

int64_t IncrementalFlow::FramesWithin(size_t bytes) const {
  if (steps_.empty()) return 0;
  size_t fixed = 0;
  for (const auto &s : steps_) fixed += s.conv_bytes();
  const size_t per_frame =
      StreamCacheBytesPerFrame(graph_.shape(), precision_, static_cast<int>(steps_.size()));
  return bytes > fixed ? static_cast<int64_t>((bytes - fixed) / per_frame) : 0;
}

size_t StreamCacheBytesPerFrame(const FlowChunkShape &shape, StreamCachePrecision precision,
                                int n_timesteps) {
  const size_t values =
      static_cast<size_t>(2 * shape.depth) * 2 * static_cast<size_t>(shape.dim);  // K, V x CFG 2
  const size_t element = precision == StreamCachePrecision::kFloat16 ? sizeof(uint16_t) : sizeof(float);
  const size_t staging = precision == StreamCachePrecision::kFloat16 ? values * sizeof(float) : 0;
  return static_cast<size_t>(n_timesteps) * values * element + staging;
}

void IncrementalFlow::Release() {
  steps_.clear();
  steps_.shrink_to_fit();
  run_.Release();
  frames_ = 0;
  closed_ = true;  // nothing can be advanced until the next Start
}

std::vector<float> IncrementalFlow::Advance(const float *mu, const float *cond, int64_t s, bool final_call,
                                            const CancelToken &cancel) {
  const int64_t m = config_.mel_bins, p = frames_;
  if (closed_) throw Error(ErrorCode::kInvalidArgument, "flow: frames after a call that ended mid-chunk");
  if (s < 1) throw Error(ErrorCode::kInvalidArgument, "flow: no frames to advance");
  if (p + s > config_.max_frames) {
    throw Error(ErrorCode::kInvalidArgument, "flow: " + std::to_string(p + s) +
                                                 " mel frames (prompt + speech) exceed the " +
                                                 std::to_string(config_.max_frames) + " the model supports");
  }
  if ((p + s) % chunk() != 0 && !final_call) {
    throw Error(ErrorCode::kInvalidArgument,
                "flow: a non-final advance must end on an attention chunk boundary");
  }
  for (auto &step : steps_) step.Reserve(p + s, capacity_limit_);  // before the graph's own Reserve
  // batch-2 inputs: slot 0 conditional, slot 1 with mu, spks and cond zero (spec §6.3)
  const size_t plane = static_cast<size_t>(m * s);
  std::vector<float> mu2(2 * plane, 0.f), cond2(2 * plane, 0.f), x(plane), x2(2 * plane), v(2 * plane);
  std::memcpy(mu2.data(), mu, plane * sizeof(float));
  std::memcpy(cond2.data(), cond, plane * sizeof(float));
  const float *z = noise_.data<float>();
  for (int64_t c = 0; c < m; ++c)
    std::memcpy(&x[static_cast<size_t>(c * s)], z + c * config_.max_frames + p, sizeof(float) * s);
  // the same float32 t/dt sequence as FlowMatching::Run (upstream accumulates t += dt)
  const std::vector<float> grid = FlowMatching::CosineGrid(options_.n_timesteps);
  const float w_cond = 1.0f + options_.cfg_rate, w_uncond = options_.cfg_rate;
  float t = grid[0], dt = grid[1] - grid[0];
  for (int step = 1; step <= options_.n_timesteps; ++step) {
    cancel.Check();
    std::memcpy(x2.data(), x.data(), sizeof(float) * plane);
    std::memcpy(x2.data() + plane, x.data(), sizeof(float) * plane);
    const float t2[2] = {t, t};
    graph_.Run(run_, s, x2.data(), mu2.data(), t2, spks2_.data(), cond2.data(), chunk(),
               steps_[static_cast<size_t>(step - 1)], v.data());
    for (size_t i = 0; i < plane; ++i) x[i] = x[i] + dt * (w_cond * v[i] - w_uncond * v[plane + i]);
    t = t + dt;
    if (step < options_.n_timesteps) dt = grid[static_cast<size_t>(step + 1)] - t;
  }
  // FlowMatching::Run's stage check (flow_matching.cc), per advance: streaming writes no NaN either
  CheckFiniteOutput(x.data(), x.size(), "flow (mel)");
  frames_ = p + s;
  closed_ = frames_ % chunk() != 0;
  return x;
}

int64_t PromptCacheFrames(int64_t prompt_tokens, const FlowConfig &c) {
  const int64_t clean = static_cast<int64_t>(c.token_mel_ratio) * (prompt_tokens - c.pre_lookahead);
  return clean > 0 ? clean / c.static_chunk_size * c.static_chunk_size : 0;
}

}  // namespace cosyvoice
