// src/models/llm_graph.h - wrapper of llm/llm.onnx (docs/bundle.md §3.1).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "models/onnx_graph.h"

namespace cosyvoice {

struct LlmGraphShape {
  int hidden_size = 0;
  int num_layers = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  int vocab_size = 0;  // speech vocabulary (logits width)
};

// Preallocated per-layer key/value buffers in BSNH layout [capacity, num_kv_heads, head_dim].
// The graph reads the first `length` rows as its past (a zero-copy view) and writes the new rows
// straight after them through IO binding, so no cache is copied per token. Per request: a
// Session keeps one and reuses its memory for the next segment (Prepare).
class KvCache {
 public:
  KvCache(const LlmGraphShape &shape, int64_t capacity);
  // Empties the cache and makes room for `capacity` positions (grows, never shrinks).
  void Prepare(int64_t capacity);
  // Makes room for `capacity` positions keeping the cached ones (for inputs whose length is not
  // known in advance: text-in streaming). Never shrinks.
  void Reserve(int64_t capacity);
  int64_t length() const { return length_; }
  int64_t capacity() const { return capacity_; }
  int64_t row_size() const { return row_; }
  float *key(int layer) { return keys_[static_cast<size_t>(layer)].data(); }
  float *value(int layer) { return values_[static_cast<size_t>(layer)].data(); }
  void Advance(int64_t rows) { length_ += rows; }
  void Truncate(int64_t rows);  // keep the first `rows` positions (e.g. a reusable prompt prefix)
  void Reset() { length_ = 0; }

 private:
  int64_t capacity_, row_, length_ = 0;
  std::vector<std::vector<float>> keys_, values_;
};

// Immutable and shareable: any number of threads may run Forward at once, each with its own
// RunState and KvCache.
class LlmGraph : public OnnxGraph {
 public:
  LlmGraph(const std::filesystem::path &path, const LlmGraphShape &shape, const RuntimeConfig &config);
  const LlmGraphShape &shape() const { return shape_; }

  // What one caller's runs need that cannot be shared: the IO binding (an Ort::IoBinding belongs
  // to one thread) and the logits buffer. Cheap to create.
  class RunState {
   public:
    explicit RunState(const LlmGraph &graph);
    ~RunState();
    RunState(const RunState &) = delete;
    RunState &operator=(const RunState &) = delete;

   private:
    friend class LlmGraph;
    std::unique_ptr<Ort::IoBinding> binding_;
    std::vector<float> logits_;
  };

  // Feeds `num_positions` embeddings [num_positions, hidden] after the cached past, appends their
  // keys/values to `cache` and returns the logits of the last position [vocab_size] (in `state`,
  // valid until its next use). Throws Error(kRuntime) if the cache has no room.
  const float *Forward(RunState &state, const float *embeds, int64_t num_positions, KvCache &cache) const;

 private:
  static GraphSignature Signature(const LlmGraphShape &shape);
  LlmGraphShape shape_;
  std::vector<std::string> past_key_names_, past_value_names_, new_key_names_, new_value_names_;
};

}  // namespace cosyvoice
