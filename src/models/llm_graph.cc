// src/models/llm_graph.cc
#include "models/llm_graph.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string>

#include "common/log.h"
#include "cosyvoice/error.h"
#include "models/tensor.h"

namespace cosyvoice {

KvCache::KvCache(const LlmGraphShape &shape, int64_t capacity, KvLayout layout,
                 std::shared_ptr<Ort::Allocator> device)
    : capacity_(0),
      row_(static_cast<int64_t>(shape.num_kv_heads) * shape.head_dim),
      num_kv_heads_(shape.num_kv_heads),
      head_dim_(shape.head_dim),
      layout_(layout),
      device_(std::move(device)) {
  if (device_ && layout_ != KvLayout::kBNSH) {
    throw Error(ErrorCode::kInvalidArgument, "kv cache: a device cache needs the fused graph's BNSH layout");
  }
  keys_.resize(device_ ? 0 : static_cast<size_t>(shape.num_layers));
  values_.resize(device_ ? 0 : static_cast<size_t>(shape.num_layers));
  device_keys_.resize(device_ ? static_cast<size_t>(shape.num_layers) : 0);
  device_values_.resize(device_ ? static_cast<size_t>(shape.num_layers) : 0);
  Prepare(capacity);
}

void KvCache::Prepare(int64_t capacity) {
  length_ = 0;
  if (capacity <= capacity_) return;  // BNSH: the head stride stays the old capacity; still valid
  if (device_) {
    // Uninitialised device memory is fine: GroupQueryAttention reads only the first
    // total_sequence_length positions, all written before they are read.
    const std::vector<int64_t> shape = {1, num_kv_heads_, capacity, head_dim_};
    for (auto *layers : {&device_keys_, &device_values_}) {
      for (auto &tensor : *layers) {
        tensor = Ort::Value(nullptr);  // release the old buffer first
        tensor = Ort::Value::CreateTensor(*device_, shape.data(), shape.size(),
                                          ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT);
      }
    }
    capacity_ = capacity;
    return;
  }
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
  if (device_) {
    // Growing would copy device memory through the host; callers that grow a cache make it with
    // LlmGraph::NewHostCache instead.
    throw Error(ErrorCode::kInvalidArgument,
                "kv cache: Reserve needs a host cache; this cache is on the device (make it with "
                "LlmGraph::NewHostCache)");
  }
  const size_t n = static_cast<size_t>(capacity * row_);
  for (auto *layers : {&keys_, &values_}) {
    for (auto &buffer : *layers) {
      if (layout_ == KvLayout::kBSNH) {
        buffer.resize(n);  // rows are position-major: the cached prefix stays put
        continue;
      }
      // BNSH: one [capacity, head_dim] block per head, so the head stride changes with the
      // capacity; move each head's first length_ positions to its new block.
      std::vector<float> grown(n);
      const size_t keep = static_cast<size_t>(length_ * head_dim_);
      for (int64_t h = 0; h < num_kv_heads_; ++h) {
        const auto from = buffer.begin() + static_cast<std::ptrdiff_t>(h * capacity_ * head_dim_);
        std::copy(from, from + static_cast<std::ptrdiff_t>(keep),
                  grown.begin() + static_cast<std::ptrdiff_t>(h * capacity * head_dim_));
      }
      buffer.swap(grown);
    }
  }
  capacity_ = capacity;
}

void KvCache::Truncate(int64_t rows) {
  if (rows < 0 || rows > length_) throw Error(ErrorCode::kInvalidArgument, "kv cache: bad truncation length");
  length_ = rows;
}

const float *KvCache::KeyAt(int layer, int head, int64_t position) const {
  if (device_)
    throw Error(ErrorCode::kInvalidArgument,
                "kv cache: KeyAt reads host memory; this cache is on the device");
  const float *base = keys_[static_cast<size_t>(layer)].data();
  if (layout_ == KvLayout::kBSNH) return base + position * row_ + head * head_dim_;
  return base + (head * capacity_ + position) * head_dim_;
}

namespace {

constexpr const char *kRoleKey = "cosyvoice.graph";

// The device allocator of a GPU provider's session, or nullptr. WebGPU only for now: its buffers are
// what ONNX Runtime's WebGPU kernels bind directly ("WebGPU_Buffer", onnxruntime/core/framework/
// allocator.h). CUDA/DirectML would work the same way once their packages are testable here.
std::shared_ptr<Ort::Allocator> DeviceAllocator(const Ort::Session &session,
                                                const std::vector<std::string> &providers,
                                                const std::filesystem::path &path) {
  if (providers.empty() || providers.front() != "webgpu") return nullptr;
  try {
    Ort::MemoryInfo info("WebGPU_Buffer", OrtDeviceAllocator, 0, OrtMemTypeDefault);
    return std::make_shared<Ort::Allocator>(session, info);
  } catch (const Ort::Exception &e) {
    COSY_LOG(kWarning) << path.filename().string()
                       << ": KV cache stays in host memory (no device allocator: " << e.what() << ")";
    return nullptr;
  }
}

LlmGraph::Interface InterfaceOf(const std::optional<std::string> &role, const std::filesystem::path &path) {
  if (!role || *role == "llm") return LlmGraph::Interface::kTraced;
  if (*role == "llm_fused") return LlmGraph::Interface::kFused;
  throw Error(ErrorCode::kBundle, path.string() + ": metadata " + kRoleKey + " is \"" + *role +
                                      "\", expected \"llm\" or \"llm_fused\" (docs/bundle.md §3.1, §3.1b)");
}

std::optional<std::string> Role(const std::map<std::string, std::string> &metadata) {
  auto it = metadata.find(kRoleKey);
  return it == metadata.end() ? std::nullopt : std::optional<std::string>(it->second);
}

}  // namespace

GraphSignature LlmGraph::Signature(const LlmGraphShape &s, Interface interface) {
  GraphSignature sig;
  sig.inputs.push_back({"inputs_embeds", DType::kFloat32, {1, -1, s.hidden_size}});
  sig.outputs.push_back({"logits", DType::kFloat32, {1, s.vocab_size}});
  const bool fused = interface == Interface::kFused;
  if (fused) {
    sig.inputs.push_back({"seqlens_k", DType::kInt32, {1}});
    sig.inputs.push_back({"total_sequence_length", DType::kInt32, {}});
  }
  const std::vector<int64_t> kv = fused ? std::vector<int64_t>{1, s.num_kv_heads, -1, s.head_dim}
                                        : std::vector<int64_t>{1, -1, s.num_kv_heads, s.head_dim};
  for (int i = 0; i < s.num_layers; ++i) {
    const std::string n = std::to_string(i);
    sig.inputs.push_back({"past_key_" + n, DType::kFloat32, kv});
    sig.inputs.push_back({"past_value_" + n, DType::kFloat32, kv});
    sig.outputs.push_back({(fused ? "present_key_" : "new_key_") + n, DType::kFloat32, kv});
    sig.outputs.push_back({(fused ? "present_value_" : "new_value_") + n, DType::kFloat32, kv});
  }
  return sig;
}

LlmGraph::LlmGraph(const std::filesystem::path &path, const LlmGraphShape &shape, const RuntimeConfig &config)
    : OnnxGraph(
          path,
          [&](const std::map<std::string, std::string> &metadata) {
            return Signature(shape, InterfaceOf(Role(metadata), path));
          },
          config),
      shape_(shape),
      interface_(InterfaceOf(Metadata(kRoleKey), path)) {
  if (interface_ == Interface::kFused) device_allocator_ = DeviceAllocator(session(), providers(), path);
  const char *out = interface_ == Interface::kFused ? "present_" : "new_";
  for (int i = 0; i < shape.num_layers; ++i) {
    const std::string n = std::to_string(i);
    past_key_names_.push_back("past_key_" + n);
    past_value_names_.push_back("past_value_" + n);
    new_key_names_.push_back(std::string(out) + "key_" + n);
    new_value_names_.push_back(std::string(out) + "value_" + n);
  }
}

KvCache LlmGraph::NewCache(int64_t capacity) const {
  return KvCache(shape_, capacity, kv_layout(), device_allocator_);
}

KvCache LlmGraph::NewHostCache(int64_t capacity) const {
  return KvCache(shape_, capacity, kv_layout());
}

std::string LlmGraph::precision() const {
  return Metadata("cosyvoice.precision").value_or("fp32");
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
  if (cache.layout() != kv_layout()) {
    throw Error(ErrorCode::kRuntime, path().string() + ": KV cache has the wrong layout for this graph");
  }
  Ort::IoBinding &b = *state.binding_;
  b.ClearBoundInputs();
  b.ClearBoundOutputs();
  // Values only describe memory; binding keeps what it needs, so temporaries are fine here.
  b.BindInput("inputs_embeds",
              TensorView(const_cast<float *>(embeds), {1, num_positions, shape_.hidden_size}));
  if (interface_ == Interface::kFused) {
    BindFused(state, past, num_positions, cache);
  } else {
    BindTraced(b, past, num_positions, cache);
  }
  b.BindOutput("logits", TensorView(state.logits_.data(), {1, static_cast<int64_t>(shape_.vocab_size)}));
  Run(b);
  cache.Advance(num_positions);
  return state.logits_.data();
}

// §3.1: the past is a view of the first `past` rows; the new rows are written right after them.
void LlmGraph::BindTraced(Ort::IoBinding &b, int64_t past, int64_t num_positions, KvCache &cache) const {
  const int64_t nkv = shape_.num_kv_heads, hd = shape_.head_dim;
  const int64_t offset = past * cache.row_size();
  for (size_t i = 0; i < static_cast<size_t>(shape_.num_layers); ++i) {
    float *k = cache.key(static_cast<int>(i));
    float *v = cache.value(static_cast<int>(i));
    b.BindInput(past_key_names_[i].c_str(), TensorView(k, {1, past, nkv, hd}));
    b.BindInput(past_value_names_[i].c_str(), TensorView(v, {1, past, nkv, hd}));
    b.BindOutput(new_key_names_[i].c_str(), TensorView(k + offset, {1, num_positions, nkv, hd}));
    b.BindOutput(new_value_names_[i].c_str(), TensorView(v + offset, {1, num_positions, nkv, hd}));
  }
}

// §3.1b: past and present are the same whole buffer [1, nkv, capacity, hd]; GroupQueryAttention
// writes positions past .. past+n-1 in place and reads the first past+n
// (onnxruntime docs/ContribOperators.md, GroupQueryAttention, past_key).
void LlmGraph::BindFused(RunState &state, int64_t past, int64_t num_positions, KvCache &cache) const {
  Ort::IoBinding &b = *state.binding_;
  state.seqlens_k_ = static_cast<int32_t>(past + num_positions - 1);
  state.total_length_ = static_cast<int32_t>(past + num_positions);
  b.BindInput("seqlens_k", TensorView(&state.seqlens_k_, {1}));
  b.BindInput("total_sequence_length", TensorView(&state.total_length_, {}));
  const std::vector<int64_t> kv = {1, shape_.num_kv_heads, cache.capacity(), shape_.head_dim};
  if (cache.on_device()) {
    for (int i = 0; i < shape_.num_layers; ++i) {
      const size_t n = static_cast<size_t>(i);
      b.BindInput(past_key_names_[n].c_str(), cache.device_key(i));
      b.BindInput(past_value_names_[n].c_str(), cache.device_value(i));
      b.BindOutput(new_key_names_[n].c_str(), cache.device_key(i));
      b.BindOutput(new_value_names_[n].c_str(), cache.device_value(i));
    }
    return;
  }
  for (size_t i = 0; i < static_cast<size_t>(shape_.num_layers); ++i) {
    float *k = cache.key(static_cast<int>(i));
    float *v = cache.value(static_cast<int>(i));
    b.BindInput(past_key_names_[i].c_str(), TensorView(k, kv));
    b.BindInput(past_value_names_[i].c_str(), TensorView(v, kv));
    b.BindOutput(new_key_names_[i].c_str(), TensorView(k, kv));
    b.BindOutput(new_value_names_[i].c_str(), TensorView(v, kv));
  }
}

}  // namespace cosyvoice
