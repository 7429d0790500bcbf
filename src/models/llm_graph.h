// src/models/llm_graph.h - wrapper of the LLM graph: llm/llm.onnx (docs/bundle.md §3.1) or a fused
// variant (§3.1b, GroupQueryAttention with a BNSH cache shared by past and present).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
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

// How a KV buffer is laid out: rows of [num_kv_heads, head_dim] (BSNH, the traced graph), or one
// [capacity, head_dim] block per head (BNSH, GroupQueryAttention).
enum class KvLayout { kBSNH, kBNSH };

// Preallocated per-layer key/value buffers of `capacity` positions. The graph reads the first
// `length` positions as its past (a zero-copy view) and writes the new ones in place through IO
// binding, so no cache is copied per token. Per request: a Session keeps one and reuses its memory
// for the next segment (Prepare).
//
// On a GPU provider (WebGPU) the fused graph's cache can live on the device instead: pass the
// session's device allocator and the buffers are device tensors that the graph reads and writes in
// place, so only the embeddings in and the logits out cross to the host per step (docs/gpu.md).
class KvCache {
 public:
  KvCache(const LlmGraphShape &shape, int64_t capacity, KvLayout layout = KvLayout::kBSNH,
          std::shared_ptr<Ort::Allocator> device = nullptr);
  // Empties the cache and makes room for `capacity` positions (grows, never shrinks).
  void Prepare(int64_t capacity);
  // Makes room for `capacity` positions keeping the cached ones, in either layout (for inputs whose
  // length is not known in advance: text-in streaming). Never shrinks. Host caches only: throws
  // Error(kInvalidArgument) on a device cache.
  void Reserve(int64_t capacity);
  int64_t length() const { return length_; }
  int64_t capacity() const { return capacity_; }
  KvLayout layout() const { return layout_; }
  int64_t row_size() const { return row_; }  // floats per position (all heads)
  bool on_device() const { return device_ != nullptr; }
  // Host buffers (not on_device()).
  float *key(int layer) { return keys_[static_cast<size_t>(layer)].data(); }
  float *value(int layer) { return values_[static_cast<size_t>(layer)].data(); }
  // Device tensors [1, num_kv_heads, capacity, head_dim] (on_device(); BNSH only).
  Ort::Value &device_key(int layer) { return device_keys_[static_cast<size_t>(layer)]; }
  Ort::Value &device_value(int layer) { return device_values_[static_cast<size_t>(layer)]; }
  // Key of `position` for head `head` (head_dim floats), whatever the layout.
  const float *KeyAt(int layer, int head, int64_t position) const;
  void Advance(int64_t rows) { length_ += rows; }
  void Truncate(int64_t rows);  // keep the first `rows` positions (e.g. a reusable prompt prefix)
  void Reset() { length_ = 0; }

 private:
  int64_t capacity_, row_, num_kv_heads_, head_dim_, length_ = 0;
  KvLayout layout_;
  std::vector<std::vector<float>> keys_, values_;
  std::shared_ptr<Ort::Allocator> device_;
  std::vector<Ort::Value> device_keys_, device_values_;
};

// Immutable and shareable: any number of threads may run Forward at once, each with its own
// RunState and KvCache. The graph's `cosyvoice.graph` metadata says which interface it has:
// "llm" (or none: bundles before format 1.1) or "llm_fused".
class LlmGraph : public OnnxGraph {
 public:
  enum class Interface { kTraced, kFused };

  LlmGraph(const std::filesystem::path &path, const LlmGraphShape &shape, const RuntimeConfig &config);
  const LlmGraphShape &shape() const { return shape_; }
  Interface interface() const { return interface_; }
  KvLayout kv_layout() const { return interface_ == Interface::kFused ? KvLayout::kBNSH : KvLayout::kBSNH; }
  // The graph's precision metadata ("fp32", "int8", "int4"; "fp32" when absent).
  std::string precision() const;
  // A KV cache for this graph: on the device when the graph is fused and runs on a GPU provider
  // whose allocator ONNX Runtime exposes (WebGPU), else in host memory.
  KvCache NewCache(int64_t capacity) const;
  // A KV cache in host memory with this graph's layout, whatever the provider: for a cache that
  // grows while decoding (KvCache::Reserve), which a device cache cannot. The graph binds it as it
  // did before device caches existed (ONNX Runtime copies it to the device per step).
  KvCache NewHostCache(int64_t capacity) const;
  bool kv_on_device() const { return device_allocator_ != nullptr; }

  // What one caller's runs need that cannot be shared: the IO binding (an Ort::IoBinding belongs
  // to one thread), the logits buffer and the fused graph's two length scalars. Cheap to create.
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
    int32_t seqlens_k_ = 0, total_length_ = 0;
  };

  // Feeds `num_positions` embeddings [num_positions, hidden] after the cached past, appends their
  // keys/values to `cache` and returns the logits of the last position [vocab_size] (in `state`,
  // valid until its next use). Throws Error(kRuntime) if the cache has no room or has the other
  // layout (make it with kv_layout()).
  const float *Forward(RunState &state, const float *embeds, int64_t num_positions, KvCache &cache) const;

 private:
  static GraphSignature Signature(const LlmGraphShape &shape, Interface interface);
  void BindTraced(Ort::IoBinding &b, int64_t past, int64_t num_positions, KvCache &cache) const;
  void BindFused(RunState &state, int64_t past, int64_t num_positions, KvCache &cache) const;
  LlmGraphShape shape_;
  Interface interface_;
  std::shared_ptr<Ort::Allocator> device_allocator_;  // set when the KV cache can live on the device
  std::vector<std::string> past_key_names_, past_value_names_, new_key_names_, new_value_names_;
};

}  // namespace cosyvoice
