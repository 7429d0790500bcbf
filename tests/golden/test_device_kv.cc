// tests/golden/test_device_kv.cc - the KV cache held as ONNX Runtime tensors from a session
// allocator and bound as both past and present (the WebGPU path of docs/gpu.md, "State on the
// device"). On a machine without a GPU the allocator is the session's CPU allocator: the binding
// code is the same, so the logits must equal the host-buffer cache's bit for bit.
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <vector>

#include "engine/model_impl.h"
#include "goldens.h"
#include "models/tensor.h"

namespace cosyvoice {
namespace {

using testing::TinyDir;

// The tiny quantized bundle with its fused fp32 LLM graph (BNSH cache layout), one thread.
std::shared_ptr<const Model> LoadFusedTinyModel() {
  ModelConfig c;
  c.model_dir = (TinyDir() / "bundle-q").string();
  c.runtime.intra_op_threads = 1;
  c.precision = "llm=fp32-fused";
  return Model::Load(c);
}

TEST(DeviceKvCache, TensorCacheGivesTheHostCachesLogits) {
  const auto model = LoadFusedTinyModel();
  const LlmGraph &llm = *model->impl().llm;
  ASSERT_EQ(llm.interface(), LlmGraph::Interface::kFused);
  EXPECT_FALSE(llm.kv_on_device());  // cpu: no device allocator

  const int64_t capacity = 16, prefill = 5, steps = 4;
  const int h = llm.shape().hidden_size;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::vector<float> embeds(static_cast<size_t>((prefill + steps) * h));
  for (float &x : embeds) x = normal(rng);

  KvCache host = llm.NewCache(capacity);
  auto allocator = std::make_shared<Ort::Allocator>(llm.session(), CpuMemoryInfo());
  KvCache tensors(llm.shape(), capacity, KvLayout::kBNSH, allocator);
  ASSERT_TRUE(tensors.on_device());
  LlmGraph::RunState run_host(llm), run_tensors(llm);

  auto step = [&](int64_t offset, int64_t n) {
    const float *a = llm.Forward(run_host, embeds.data() + offset * h, n, host);
    const std::vector<float> want(a, a + llm.shape().vocab_size);
    const float *b = llm.Forward(run_tensors, embeds.data() + offset * h, n, tensors);
    const std::vector<float> got(b, b + llm.shape().vocab_size);
    // Same graph, same inputs, same kernels, same cache contents: identical results.
    EXPECT_EQ(got, want) << "positions " << offset << ".." << offset + n - 1;
  };
  step(0, prefill);
  for (int64_t i = 0; i < steps; ++i) step(prefill + i, 1);
  EXPECT_EQ(tensors.length(), prefill + steps);
  EXPECT_THROW(tensors.KeyAt(0, 0, 0), Error);  // device memory is not read from the host
}

// Text-in streaming grows its host cache as text arrives (KvCache::Reserve). On the fused graph's
// BNSH layout growing changes the head stride; the positions moved must be what the graph reads
// next: decoding after a Reserve gives the logits of a cache that was large enough from the start,
// bit for bit (same graph, inputs, kernels and cache contents).
TEST(DeviceKvCache, ReservedBnshCacheGivesTheLogitsOfALargeOne) {
  const auto model = LoadFusedTinyModel();
  const LlmGraph &llm = *model->impl().llm;
  ASSERT_EQ(llm.kv_layout(), KvLayout::kBNSH);
  const int64_t prefill = 5, steps = 4;
  const int h = llm.shape().hidden_size;
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::vector<float> embeds(static_cast<size_t>((prefill + steps) * h));
  for (float &x : embeds) x = normal(rng);

  KvCache large = llm.NewHostCache(prefill + steps);
  KvCache grown = llm.NewHostCache(prefill);  // full after the prefill
  LlmGraph::RunState run_large(llm), run_grown(llm);
  for (int64_t i = 0; i <= steps; ++i) {
    const int64_t offset = i == 0 ? 0 : prefill + i - 1, n = i == 0 ? prefill : 1;
    if (grown.length() + n > grown.capacity()) grown.Reserve(grown.capacity() + 1);  // one step at a time
    const float *a = llm.Forward(run_large, embeds.data() + offset * h, n, large);
    const std::vector<float> want(a, a + llm.shape().vocab_size);
    const float *b = llm.Forward(run_grown, embeds.data() + offset * h, n, grown);
    const std::vector<float> got(b, b + llm.shape().vocab_size);
    EXPECT_EQ(got, want) << "step " << i << " (capacity " << grown.capacity() << ")";
  }
  EXPECT_EQ(grown.capacity(), prefill + steps);
}

}  // namespace
}  // namespace cosyvoice
