// src/engine/incremental_flow.cc
#include "engine/incremental_flow.h"

#include <cstring>
#include <optional>
#include <utility>

#include "cosyvoice/error.h"
#include "engine/finite_check.h"

namespace cosyvoice {

namespace {

// The float32 (t, dt) of every Euler step, accumulated as FlowMatching::Run does (upstream: t += dt;
// dt = t_span[k + 1] - t), so every chunk sees the same values.
std::vector<std::pair<float, float>> EulerTimes(int n_timesteps) {
  const std::vector<float> grid = FlowMatching::CosineGrid(n_timesteps);
  std::vector<std::pair<float, float>> out;
  float t = grid[0], dt = grid[1] - grid[0];
  for (int step = 1; step <= n_timesteps; ++step) {
    out.emplace_back(t, dt);
    t = t + dt;
    if (step < n_timesteps) dt = grid[static_cast<size_t>(step + 1)] - t;
  }
  return out;
}

// A span of frames through the Euler/CFG solve (spec §6.3): the batch-2 inputs (slot 0
// conditional; slot 1 with mu, spks and cond zero), x from the noise at the span's absolute frames,
// and each ODE step's guided update.
class EulerSpan {
 public:
  // mu, cond: [mel_bins, frames] channel-major, the inputs of absolute frames first .. first+frames-1
  EulerSpan(const float *mu, const float *cond, int64_t first, int64_t frames, const NpyArray &noise,
            const FlowConfig &config)
      : frames_(frames), plane_(static_cast<size_t>(config.mel_bins * frames)) {
    mu2_.assign(2 * plane_, 0.f);
    cond2_.assign(2 * plane_, 0.f);
    std::memcpy(mu2_.data(), mu, plane_ * sizeof(float));
    std::memcpy(cond2_.data(), cond, plane_ * sizeof(float));
    x_.resize(plane_);
    x2_.resize(2 * plane_);
    v_.resize(2 * plane_);
    const float *z = noise.data<float>();
    for (int64_t c = 0; c < config.mel_bins; ++c)
      std::memcpy(&x_[static_cast<size_t>(c * frames)], z + c * config.max_frames + first,
                  sizeof(float) * static_cast<size_t>(frames));
  }

  // The DiT on the span's frames after `cache`'s past (appending their keys/values), then
  // x += dt * ((1 + cfg) v_cond - cfg v_uncond).
  void Step(const FlowChunkGraph &graph, FlowChunkGraph::RunState &run, std::pair<float, float> t_dt,
            const float *spks2, float cfg_rate, int64_t attention_chunk, FlowStepCache &cache) {
    std::memcpy(x2_.data(), x_.data(), sizeof(float) * plane_);
    std::memcpy(x2_.data() + plane_, x_.data(), sizeof(float) * plane_);
    const float t2[2] = {t_dt.first, t_dt.first};
    graph.Run(run, frames_, x2_.data(), mu2_.data(), t2, spks2, cond2_.data(), attention_chunk, cache,
              v_.data());
    const float dt = t_dt.second, w_cond = 1.0f + cfg_rate, w_uncond = cfg_rate;
    for (size_t i = 0; i < plane_; ++i) x_[i] = x_[i] + dt * (w_cond * v_[i] - w_uncond * v_[plane_ + i]);
  }

  std::vector<float> &x() { return x_; }

 private:
  int64_t frames_;
  size_t plane_;
  std::vector<float> mu2_, cond2_, x_, x2_, v_;
};

void CheckFrameRange(int64_t frames, const FlowConfig &config) {
  if (frames > config.max_frames) {
    throw Error(ErrorCode::kInvalidArgument, "flow: " + std::to_string(frames) +
                                                 " mel frames (prompt + speech) exceed the " +
                                                 std::to_string(config.max_frames) + " the model supports");
  }
}

std::vector<float> BatchOfTwoSpeakers(const std::vector<float> &spks, int64_t mel_bins) {
  std::vector<float> spks2(static_cast<size_t>(2 * mel_bins), 0.f);  // slot 1 zero
  std::copy(spks.begin(), spks.begin() + mel_bins, spks2.begin());
  return spks2;
}

}  // namespace

IncrementalFlow::IncrementalFlow(const FlowChunkGraph &graph, const NpyArray &noise, const FlowConfig &config,
                                 StreamCachePrecision precision)
    : graph_(graph), noise_(noise), config_(config), precision_(precision), run_(graph) {}

void IncrementalFlow::Start(const std::vector<float> &spks, const FlowOptions &options) {
  options_ = options;
  spks2_ = BatchOfTwoSpeakers(spks, config_.mel_bins);
  if (steps_.size() != static_cast<size_t>(options.n_timesteps)) {
    steps_.assign(static_cast<size_t>(options.n_timesteps), FlowStepCache(graph_.shape(), 2, precision_));
  }
  for (auto &s : steps_) s.Reset(0);
  frames_ = 0;
  closed_ = false;
  capacity_limit_ = INT64_MAX;
  marked_frames_ = -1;
  marked_conv_.clear();
}

void IncrementalFlow::MarkFrames() {
  marked_frames_ = frames_;
  marked_conv_.clear();
  for (const auto &s : steps_) marked_conv_.push_back(s.SaveConv());
}

void IncrementalFlow::StartFrom(const IncrementalFlow &prompt, int64_t frames) {
  const bool whole = frames == prompt.frames_;
  if (!whole && frames != prompt.marked_frames_)
    throw Error(ErrorCode::kInvalidArgument, "flow: starting from frames the prompt cache did not mark");
  options_ = prompt.options_;
  spks2_ = prompt.spks2_;
  if (steps_.size() != prompt.steps_.size())
    steps_.assign(prompt.steps_.size(), FlowStepCache(graph_.shape(), 2, precision_));
  for (size_t k = 0; k < steps_.size(); ++k) {
    if (whole)
      steps_[k].CopyFrom(prompt.steps_[k], frames);
    else
      steps_[k].CopyPrefixFrom(prompt.steps_[k], frames, prompt.marked_conv_[k], frames);
  }
  frames_ = frames;
  closed_ = whole && prompt.closed_;  // a mark is made where later frames may follow
  capacity_limit_ = INT64_MAX;
  marked_frames_ = -1;
  marked_conv_.clear();
}

size_t IncrementalFlow::cache_bytes() const {
  size_t n = 0;
  for (const auto &s : steps_) n += s.bytes();
  for (const auto &c : marked_conv_) n += c.size() * sizeof(float);
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
  marked_frames_ = -1;
  marked_conv_.clear();
  frames_ = 0;
  closed_ = true;  // nothing can be advanced until the next Start
}

std::vector<float> IncrementalFlow::Advance(const float *mu, const float *cond, int64_t s, AdvanceEnd end,
                                            const CancelToken &cancel) {
  const int64_t p = frames_;
  if (closed_) throw Error(ErrorCode::kInvalidArgument, "flow: frames after a call that ended mid-chunk");
  if (s < 1) throw Error(ErrorCode::kInvalidArgument, "flow: no frames to advance");
  CheckFrameRange(p + s, config_);
  if ((p + s) % chunk() != 0 && end == AdvanceEnd::kChunkBoundary) {
    throw Error(ErrorCode::kInvalidArgument,
                "flow: a non-final advance must end on an attention chunk boundary");
  }
  for (auto &step : steps_) step.Reserve(p + s, capacity_limit_);  // before the graph's own Reserve
  EulerSpan span(mu, cond, p, s, noise_, config_);
  const std::vector<std::pair<float, float>> times = EulerTimes(options_.n_timesteps);
  for (size_t k = 0; k < times.size(); ++k) {
    cancel.Check();
    span.Step(graph_, run_, times[k], spks2_.data(), options_.cfg_rate, chunk(), steps_[k]);
  }
  // FlowMatching::Run's stage check (flow_matching.cc), per advance: streaming writes no NaN either
  CheckFiniteOutput(span.x().data(), span.x().size(), "flow (mel)");
  frames_ = p + s;
  closed_ = end == AdvanceEnd::kFinal && frames_ % chunk() != 0;
  return std::move(span.x());
}

std::vector<float> SolveAfterWholePrompt(const FlowChunkGraph &graph, const NpyArray &noise,
                                         const FlowConfig &config, const FlowOptions &options,
                                         const std::vector<float> &spks, const float *prompt_mu,
                                         const float *prompt_cond, int64_t prompt_frames, const float *mu,
                                         const float *cond, int64_t frames, const CancelToken &cancel) {
  if (frames < 1) throw Error(ErrorCode::kInvalidArgument, "flow: no frames to solve");
  CheckFrameRange(prompt_frames + frames, config);
  const std::vector<float> spks2 = BatchOfTwoSpeakers(spks, config.mel_bins);
  std::optional<EulerSpan> prompt;
  if (prompt_frames > 0) prompt.emplace(prompt_mu, prompt_cond, 0, prompt_frames, noise, config);
  EulerSpan span(mu, cond, prompt_frames, frames, noise, config);
  FlowChunkGraph::RunState run(graph);
  FlowStepCache step_cache(graph.shape(), 2);  // one ODE step's keys/values at a time
  const std::vector<std::pair<float, float>> times = EulerTimes(options.n_timesteps);
  for (const auto &t_dt : times) {
    cancel.Check();
    step_cache.Reset(prompt_frames + frames);
    if (prompt)
      prompt->Step(graph, run, t_dt, spks2.data(), options.cfg_rate, config.static_chunk_size, step_cache);
    span.Step(graph, run, t_dt, spks2.data(), options.cfg_rate, config.static_chunk_size, step_cache);
  }
  CheckFiniteOutput(span.x().data(), span.x().size(), "flow (mel)");
  return std::move(span.x());
}

int64_t PromptCacheFrames(int64_t prompt_tokens, const FlowConfig &c) {
  const int64_t clean = static_cast<int64_t>(c.token_mel_ratio) * (prompt_tokens - c.pre_lookahead);
  return clean > 0 ? clean / c.static_chunk_size * c.static_chunk_size : 0;
}

}  // namespace cosyvoice
