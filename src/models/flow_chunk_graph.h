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

// How the streaming cache keeps keys/values (ModelConfig::stream_cache, docs/streaming.md §5):
// float32 (the graph reads and writes the cache in place), or float16 - half the memory; each run
// widens the past into a float32 staging buffer of the caller's RunState and rounds the new frames
// back (the reference's streaming.IncrementalFlow(kv_dtype=torch.float16)).
enum class StreamCachePrecision { kFloat32, kFloat16 };

// The cache of one ODE step: per layer keys and values, time-major [capacity, batch, dim] so the
// first `frames` rows are the graph's past (a dense view) and the next rows receive the new
// frames' keys/values in place; and the conv position embedding's two states [batch, dim,
// conv_state], double-buffered (the graph reads one pair and writes the other). Per request.
class FlowStepCache {
 public:
  FlowStepCache(const FlowChunkShape &shape, int batch,
                StreamCachePrecision precision = StreamCachePrecision::kFloat32);
  // Empties it (zero conv states: the convs' left padding) and makes room for `capacity` frames.
  void Reset(int64_t capacity);
  // Makes room for `capacity` frames, keeping the contents (grows geometrically, but not past
  // `limit` frames unless `capacity` itself is larger).
  void Reserve(int64_t capacity, int64_t limit = INT64_MAX);
  // Becomes a copy of `other` (the prompt cache of a voice) with room for `capacity` frames.
  void CopyFrom(const FlowStepCache &other, int64_t capacity);
  // The conv states now (after the last run), to start a copy of the frames so far later.
  std::vector<float> SaveConv() const;
  // Becomes a copy of the first `frames` frames of `other`, with the conv states `conv` that
  // other.SaveConv() returned when it held exactly those frames.
  void CopyPrefixFrom(const FlowStepCache &other, int64_t frames, const std::vector<float> &conv,
                      int64_t capacity);
  int64_t frames() const { return frames_; }
  int64_t capacity() const { return capacity_; }
  int batch() const { return batch_; }
  StreamCachePrecision precision() const { return precision_; }
  // Buffer k = 2 * layer + (0 key, 1 value): float32 caches
  float *kv(size_t k) { return kv_[k].data(); }
  // ... and float16 ones (binary16 bits)
  uint16_t *kv_half(size_t k) { return kv_half_[k].data(); }
  float *conv(int which) { return conv_[static_cast<size_t>(cur_ * 2 + which)].data(); }  // read
  float *next_conv(int which) {
    return conv_[static_cast<size_t>((1 - cur_) * 2 + which)].data();
  }  // written
  // After a run: `rows` new frames are in the cache and the written conv states become current.
  void Commit(int64_t rows);
  size_t bytes() const;       // memory held (capacity, not just the frames used)
  size_t conv_bytes() const;  // the conv states (independent of the frames)

 private:
  FlowChunkShape shape_;
  int batch_;
  StreamCachePrecision precision_;
  int64_t row_;  // batch * dim values per frame
  int64_t capacity_ = 0, frames_ = 0;
  int cur_ = 0;
  // CopyFrom and CopyPrefixFrom: the first `frames` rows of `other` and the two conv states given
  void CopyRowsFrom(const FlowStepCache &other, int64_t frames, const float *conv1, const float *conv2,
                    int64_t capacity);
  std::vector<std::vector<float>> kv_;          // float32: 2 * depth buffers [capacity, batch, dim]
  std::vector<std::vector<uint16_t>> kv_half_;  // float16: the same
  std::vector<std::vector<float>> conv_;        // [2 halves][2 convs] of [batch, dim, conv_state]
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

    size_t bytes() const;  // the float16 staging held
    void Release();        // frees the staging (the next run allocates it again)

   private:
    friend class FlowChunkGraph;
    std::unique_ptr<Ort::IoBinding> binding_;
    std::vector<std::vector<float>> staging_;  // float16 caches: one step's keys/values in float32
  };

  // `frames` new frames after the cache's past: x, mu, cond [batch, mel_bins, frames], t [batch],
  // spks [batch, mel_bins]; the chunk mask `attention_chunk` (>= past + frames: full attention).
  // Writes the velocity [batch, mel_bins, frames] and appends the frames to `cache` (rounded to
  // float16 for a float16 cache; the run itself attends to them in float32, as the reference).
  void Run(RunState &state, int64_t frames, const float *x, const float *mu, const float *t,
           const float *spks, const float *cond, int64_t attention_chunk, FlowStepCache &cache,
           float *velocity) const;

 private:
  static GraphSignature Signature(const FlowChunkShape &shape);
  FlowChunkShape shape_;
  std::vector<std::string> past_names_, new_names_;  // [2 * layer + (0 key, 1 value)]
};

}  // namespace cosyvoice
