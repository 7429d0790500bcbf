// src/models/llm_graph.cc
#include "models/llm_graph.h"

#include <string>

#include "cosyvoice/error.h"
#include "models/tensor.h"

namespace cosyvoice {

KvCache::KvCache(const LlmGraphShape &shape, int64_t capacity)
    : capacity_(0), row_(static_cast<int64_t>(shape.num_kv_heads) * shape.head_dim) {
  keys_.resize(static_cast<size_t>(shape.num_layers));
  values_.resize(static_cast<size_t>(shape.num_layers));
  Prepare(capacity);
}

void KvCache::Prepare(int64_t capacity) {
  length_ = 0;
  if (capacity <= capacity_) return;
  const size_t n = static_cast<size_t>(capacity * row_);
  for (auto *layers : {&keys_, &values_}) {
    for (auto &buffer : *layers) {
      buffer.clear();  // nothing to keep: no reallocation copy
      buffer.resize(n);
    }
  }
  capacity_ = capacity;
}

void KvCache::Reserve(int64_t capacity) {
  if (capacity <= capacity_) return;
  const size_t n = static_cast<size_t>(capacity * row_);
  for (auto *layers : {&keys_, &values_}) {
    for (auto &buffer : *layers) buffer.resize(n);  // rows are position-major: the prefix stays put
  }
  capacity_ = capacity;
}

void KvCache::Truncate(int64_t rows) {
  if (rows < 0 || rows > length_) throw Error(ErrorCode::kInvalidArgument, "kv cache: bad truncation length");
  length_ = rows;
}

GraphSignature LlmGraph::Signature(const LlmGraphShape &s) {
  GraphSignature sig;
  sig.inputs.push_back({"inputs_embeds", DType::kFloat32, {1, -1, s.hidden_size}});
  sig.outputs.push_back({"logits", DType::kFloat32, {1, s.vocab_size}});
  for (int i = 0; i < s.num_layers; ++i) {
    const std::string n = std::to_string(i);
    sig.inputs.push_back({"past_key_" + n, DType::kFloat32, {1, -1, s.num_kv_heads, s.head_dim}});
    sig.inputs.push_back({"past_value_" + n, DType::kFloat32, {1, -1, s.num_kv_heads, s.head_dim}});
    sig.outputs.push_back({"new_key_" + n, DType::kFloat32, {1, -1, s.num_kv_heads, s.head_dim}});
    sig.outputs.push_back({"new_value_" + n, DType::kFloat32, {1, -1, s.num_kv_heads, s.head_dim}});
  }
  return sig;
}

LlmGraph::LlmGraph(const std::filesystem::path &path, const LlmGraphShape &shape, const RuntimeConfig &config)
    : OnnxGraph(path, Signature(shape), config), shape_(shape) {
  for (int i = 0; i < shape.num_layers; ++i) {
    const std::string n = std::to_string(i);
    past_key_names_.push_back("past_key_" + n);
    past_value_names_.push_back("past_value_" + n);
    new_key_names_.push_back("new_key_" + n);
    new_value_names_.push_back("new_value_" + n);
  }
}

LlmGraph::RunState::RunState(const LlmGraph &graph)
    : binding_(std::make_unique<Ort::IoBinding>(graph.session())),
      logits_(static_cast<size_t>(graph.shape().vocab_size)) {}
LlmGraph::RunState::~RunState() = default;

const float *LlmGraph::Forward(RunState &state, const float *embeds, int64_t num_positions,
                               KvCache &cache) const {
  const int64_t past = cache.length();
  if (num_positions < 1) throw Error(ErrorCode::kInvalidArgument, "llm: no positions to run");
  if (past + num_positions > cache.capacity()) {
    throw Error(ErrorCode::kRuntime, "llm: KV cache full (" + std::to_string(past) + " + " +
                                         std::to_string(num_positions) + " > capacity " +
                                         std::to_string(cache.capacity()) + ")");
  }
  const int64_t h = shape_.hidden_size, nkv = shape_.num_kv_heads, hd = shape_.head_dim;
  Ort::IoBinding &b = *state.binding_;
  b.ClearBoundInputs();
  b.ClearBoundOutputs();
  // Values only describe memory; binding keeps what it needs, so temporaries are fine here.
  b.BindInput("inputs_embeds", TensorView(const_cast<float *>(embeds), {1, num_positions, h}));
  for (int i = 0; i < shape_.num_layers; ++i) {
    float *k = cache.key(i);
    float *v = cache.value(i);
    const int64_t offset = past * cache.row_size();
    b.BindInput(past_key_names_[static_cast<size_t>(i)].c_str(), TensorView(k, {1, past, nkv, hd}));
    b.BindInput(past_value_names_[static_cast<size_t>(i)].c_str(), TensorView(v, {1, past, nkv, hd}));
    b.BindOutput(new_key_names_[static_cast<size_t>(i)].c_str(),
                 TensorView(k + offset, {1, num_positions, nkv, hd}));
    b.BindOutput(new_value_names_[static_cast<size_t>(i)].c_str(),
                 TensorView(v + offset, {1, num_positions, nkv, hd}));
  }
  b.BindOutput("logits", TensorView(state.logits_.data(), {1, static_cast<int64_t>(shape_.vocab_size)}));
  Run(b);
  cache.Advance(num_positions);
  return state.logits_.data();
}

}  // namespace cosyvoice
