// src/engine/flow_matching.h - speech tokens -> mel: the flow encoder and the Euler ODE solver.
#pragma once

#include <cstdint>
#include <vector>

#include "common/npy.h"
#include "engine/bundle_config.h"
#include "engine/cancellation.h"
#include "models/flow_graphs.h"

namespace cosyvoice {

struct FlowOptions {
  int n_timesteps = 10;
  float cfg_rate = 0.7f;
};

struct FlowInput {
  std::vector<int32_t> prompt_tokens;  // K prompt speech tokens
  std::vector<int32_t> tokens;         // N generated tokens
  const float *prompt_mel = nullptr;   // [prompt_frames, mel_bins] row-major (the frontend's layout)
  int64_t prompt_frames = 0;
  const float *embedding = nullptr;  // raw CAM++ embedding [spk_embed_dim]
  bool finalize = true;              // false: drop the last pre_lookahead tokens' frames (streaming)
  bool streaming = false;            // chunk-causal attention (static_chunk_size frames)
};

struct FlowStats {
  double encoder_seconds = 0;
  double estimator_seconds = 0;
  int64_t frames = 0;  // total frames the estimator saw (prompt + generated)
  int steps = 0;
};

// Upstream's CausalMaskedDiffWithDiT.inference + CausalConditionalCFM (spec §6.2-6.3): cond holds
// the prompt mel, x starts from the bundle's fixed noise, and each of the n_timesteps Euler steps
// on the cosine grid is one batch-2 estimator call (slot 1: mu, spks and cond zero) combined as
// (1 + cfg) * v_cond - cfg * v_uncond. Immutable; Run keeps its buffers local, so any number of
// threads may run it at once.
class FlowMatching {
 public:
  FlowMatching(const FlowEncoderGraph &encoder, const FlowEstimatorGraph &estimator, const NpyArray &noise,
               const FlowConfig &config);

  // Returns the generated mel [mel_bins, frames] channel-major (frames = 2N, or 2(N - 3) when
  // not finalizing); `frames_out` receives the frame count. `cancel` is checked before every ODE
  // step (throws Error(kCancelled)).
  std::vector<float> Run(const FlowInput &input, const FlowOptions &options, int64_t *frames_out,
                         FlowStats *stats = nullptr, const CancelToken &cancel = CancelToken()) const;

  // The cosine time grid t_k = 1 - cos(pi/2 * k/n), k = 0..n, as float32.
  static std::vector<float> CosineGrid(int n_timesteps);

 private:
  const FlowEncoderGraph &encoder_;
  const FlowEstimatorGraph &estimator_;
  const NpyArray &noise_;
  const FlowConfig &config_;
};

}  // namespace cosyvoice
