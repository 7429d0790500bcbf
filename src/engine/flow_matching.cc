// src/engine/flow_matching.cc
#include "engine/flow_matching.h"

#include <chrono>
#include <cmath>
#include <cstring>

#include "common/timer.h"
#include "cosyvoice/error.h"
#include "engine/finite_check.h"

namespace cosyvoice {
FlowMatching::FlowMatching(const FlowEncoderGraph &encoder, const FlowEstimatorGraph &estimator,
                           const NpyArray &noise, const FlowConfig &config)
    : encoder_(encoder), estimator_(estimator), noise_(noise), config_(config) {
  if (noise_.dtype() != DType::kFloat32 || noise_.rank() != 2 || noise_.dim(0) != config.mel_bins ||
      noise_.dim(1) != config.max_frames) {
    throw Error(ErrorCode::kBundle, "flow noise: expected float32 [" + std::to_string(config.mel_bins) +
                                        ", " + std::to_string(config.max_frames) + "], found " +
                                        noise_.ShapeString());
  }
}

std::vector<float> FlowMatching::CosineGrid(int n) {
  std::vector<float> t(static_cast<size_t>(n + 1));
  for (int k = 0; k <= n; ++k) {
    // upstream: linspace(0, 1, n+1) then 1 - cos(t * pi / 2), in float32
    const float lin = static_cast<float>(k) / static_cast<float>(n);
    t[static_cast<size_t>(k)] = 1.0f - std::cos(lin * 0.5f * static_cast<float>(M_PI));
  }
  return t;
}

std::vector<float> FlowMatching::Run(const FlowInput &in, const FlowOptions &options, int64_t *frames_out,
                                     FlowStats *stats, const CancelToken &cancel) const {
  const int64_t C = config_.mel_bins;
  if (in.tokens.empty()) throw Error(ErrorCode::kInvalidArgument, "flow: no speech tokens to render");
  if (options.n_timesteps < 1) throw Error(ErrorCode::kInvalidArgument, "flow: n_timesteps must be >= 1");
  FlowStats local;
  FlowStats &st = stats ? *stats : local;

  // 1. encoder: tokens -> mu, spks
  auto t0 = SteadyClock::now();
  std::vector<int64_t> all;
  all.reserve(in.prompt_tokens.size() + in.tokens.size());
  for (int32_t t : in.prompt_tokens) all.push_back(t);
  for (int32_t t : in.tokens) all.push_back(t);
  std::vector<float> emb(in.embedding, in.embedding + config_.spk_embed_dim);
  FlowEncoderGraph::Output enc = encoder_.Run(all, emb);
  CheckFiniteOutput(enc.mu.data(), enc.mu.size(), "flow encoder (mu)");
  CheckFiniteOutput(enc.spks.data(), enc.spks.size(), "flow encoder (speaker projection)");
  st.encoder_seconds += SecondsSince(t0);

  int64_t T = enc.frames;  // 2L, the finalize form
  if (!in.finalize) T -= static_cast<int64_t>(config_.pre_lookahead) * config_.token_mel_ratio;
  const int64_t prompt = in.prompt_frames;
  if (T <= prompt) {
    throw Error(ErrorCode::kInvalidArgument, "flow: too few tokens after the prompt to produce a frame");
  }
  if (T > config_.max_frames) {
    throw Error(ErrorCode::kInvalidArgument, "flow: " + std::to_string(T) +
                                                 " mel frames (prompt + speech) exceed the " +
                                                 std::to_string(config_.max_frames) +
                                                 " the model supports; use a shorter prompt or text segment");
  }
  st.frames = T;

  // 2. batch-2 inputs: slot 0 conditional, slot 1 unconditional (mu, spks, cond zero)
  const size_t plane = static_cast<size_t>(C * T);
  std::vector<float> mu2(2 * plane, 0.f), cond2(2 * plane, 0.f), spks2(static_cast<size_t>(2 * C), 0.f);
  for (int64_t c = 0; c < C; ++c) {
    std::memcpy(&mu2[static_cast<size_t>(c * T)], &enc.mu[static_cast<size_t>(c * enc.frames)],
                sizeof(float) * T);
    for (int64_t f = 0; f < prompt; ++f) cond2[static_cast<size_t>(c * T + f)] = in.prompt_mel[f * C + c];
  }
  std::memcpy(spks2.data(), enc.spks.data(), sizeof(float) * static_cast<size_t>(C));

  // 3. x from the fixed noise, indexed from frame 0
  std::vector<float> x(plane);
  const float *z = noise_.data<float>();
  for (int64_t c = 0; c < C; ++c) {
    std::memcpy(&x[static_cast<size_t>(c * T)], z + c * config_.max_frames, sizeof(float) * T);
  }

  // 4. Euler on the cosine grid, dt = t_{k+1} - t accumulated in float32 as upstream does
  const std::vector<float> grid = CosineGrid(options.n_timesteps);
  const int64_t chunk = in.streaming ? config_.static_chunk_size : T;
  const float w_cond = 1.0f + options.cfg_rate, w_uncond = options.cfg_rate;
  std::vector<float> x2(2 * plane), v;
  float t = grid[0], dt = grid[1] - grid[0];
  t0 = SteadyClock::now();
  for (int step = 1; step <= options.n_timesteps; ++step) {
    cancel.Check();
    std::memcpy(x2.data(), x.data(), sizeof(float) * plane);
    std::memcpy(x2.data() + plane, x.data(), sizeof(float) * plane);
    const float t2[2] = {t, t};
    estimator_.Run(2, T, x2.data(), mu2.data(), t2, spks2.data(), cond2.data(), chunk, v);
    for (size_t i = 0; i < plane; ++i) {
      const float vel = w_cond * v[i] - w_uncond * v[plane + i];
      x[i] = x[i] + dt * vel;
    }
    t = t + dt;
    if (step < options.n_timesteps) dt = grid[static_cast<size_t>(step + 1)] - t;
    ++st.steps;
  }
  st.estimator_seconds += SecondsSince(t0);

  // 5. the generated part: frames after the prompt
  const int64_t out_frames = T - prompt;
  std::vector<float> mel(static_cast<size_t>(C * out_frames));
  for (int64_t c = 0; c < C; ++c) {
    std::memcpy(&mel[static_cast<size_t>(c * out_frames)], &x[static_cast<size_t>(c * T + prompt)],
                sizeof(float) * static_cast<size_t>(out_frames));
  }
  CheckFiniteOutput(mel.data(), mel.size(), "flow (mel)");
  *frames_out = out_frames;
  return mel;
}

}  // namespace cosyvoice
