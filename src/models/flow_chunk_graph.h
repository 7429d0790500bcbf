// src/models/flow_chunk_graph.h - wrapper of flow/flow_estimator_chunk.onnx (docs/bundle.md §3.8):
// one DiT evaluation over new frames that attend to cached keys/values (docs/streaming.md).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/onnx_graph.h"

namespace cosyvoice {

struct FlowChunkShape {
  int mel_bins = 80;
  int dim = 0;         // DiT width (keys/values per frame per layer and batch slot)
  int depth = 0;       // DiT blocks
  int conv_state = 0;  // frames of the conv position embedding's left context (kernel - 1)
};

// The cache of one ODE step: per layer keys and values, time-major [capacity, batch, dim] so the
// first `frames` rows are the graph's past (a dense view) and the next rows receive the new
// frames' keys/values in place; and the conv position embedding's two states [batch, dim,
// conv_state], double-buffered (the graph reads one pair and writes the other). Per request.
class FlowStepCache {
 public:
  FlowStepCache(const FlowChunkShape &shape, int batch);
  // Empties it (zero conv states: the convs' left padding) and makes room for `capacity` frames.
  void Reset(int64_t capacity);
  // Makes room for `capacity` frames, keeping the contents (grows geometrically).
  void Reserve(int64_t capacity);
  // Becomes a copy of `other` (the prompt cache of a voice) with room for `capacity` frames.
  void CopyFrom(const FlowStepCache &other, int64_t capacity);
  int64_t frames() const { return frames_; }
  int64_t capacity() const { return capacity_; }
  int batch() const { return batch_; }
  float *key(int layer) { return kv_[static_cast<size_t>(2 * layer)].data(); }
  float *value(int layer) { return kv_[static_cast<size_t>(2 * layer + 1)].data(); }
  float *conv(int which) { return conv_[static_cast<size_t>(cur_ * 2 + which)].data(); }  // read
  float *next_conv(int which) {
    return conv_[static_cast<size_t>((1 - cur_) * 2 + which)].data();
  }  // written
  // After a run: `rows` new frames are in the cache and the written conv states become current.
  void Commit(int64_t rows);
  size_t bytes() const;  // memory held (capacity, not just the frames used)

 private:
  FlowChunkShape shape_;
  int batch_;
  int64_t row_;  // batch * dim floats per frame
  int64_t capacity_ = 0, frames_ = 0;
  int cur_ = 0;
  std::vector<std::vector<float>> kv_;    // 2 * depth buffers [capacity, batch, dim]
  std::vector<std::vector<float>> conv_;  // [2 halves][2 convs] of [batch, dim, conv_state]
};

// Immutable and shareable; each caller brings its RunState (IO binding) and caches.
class FlowChunkGraph : public OnnxGraph {
 public:
  FlowChunkGraph(const std::filesystem::path &path, const FlowChunkShape &shape, const RuntimeConfig &config);
  const FlowChunkShape &shape() const { return shape_; }

  class RunState {
   public:
    explicit RunState(const FlowChunkGraph &graph);
    ~RunState();
    RunState(const RunState &) = delete;
    RunState &operator=(const RunState &) = delete;

   private:
    friend class FlowChunkGraph;
    std::unique_ptr<Ort::IoBinding> binding_;
  };

  // `frames` new frames after the cache's past: x, mu, cond [batch, mel_bins, frames], t [batch],
  // spks [batch, mel_bins]; the chunk mask `attention_chunk` (>= past + frames: full attention).
  // Writes the velocity [batch, mel_bins, frames] and appends the frames to `cache`.
  void Run(RunState &state, int64_t frames, const float *x, const float *mu, const float *t,
           const float *spks, const float *cond, int64_t attention_chunk, FlowStepCache &cache,
           float *velocity) const;

 private:
  static GraphSignature Signature(const FlowChunkShape &shape);
  FlowChunkShape shape_;
  std::vector<std::string> past_names_, new_names_;  // [2 * layer + (0 key, 1 value)]
};

}  // namespace cosyvoice
