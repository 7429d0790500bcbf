// tests/unit/test_llm_loop.cc - KV cache plumbing, embedding tables and the decoding loop on a
// toy graph with llm.onnx's contract (tests/tools/make_test_graphs.py: toy_llm).
#include <gmock/gmock.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "common/half.h"
#include "common/npy.h"
#include "engine/embedding_table.h"
#include "engine/token_generator.h"
#include "fp32_bounds.h"
#include "models/llm_graph.h"
#include "models/tensor.h"
#include "test_util.h"

namespace cosyvoice {
namespace {

using testing::Chain;
using testing::TempDir;
using testing::TestData;
using testing::Vs64;

const LlmGraphShape kToy{8, 2, 2, 4, 5};

// What toy_llm computes from the sum of all embeddings fed so far (see make_test_graphs.py), in
// float64, and how far ONNX Runtime's float32 result may be from it. The graph sums 2 heads over
// every position (2 * positions terms; the scales 1, -1, 2, -2 are exact), then a 16-term MatMul:
// one chain of depth 2 * positions + 16 on the terms' magnitudes sum_j |w_j| * sum |x|, plus the
// final rounding (fp32_bounds.h).
struct Expected {
  std::vector<float> logits;
  std::vector<double> bound;
};
Expected ExpectedLogits(const std::vector<float> &all_embeds) {
  const NpyArray w = NpyArray::Load(TestData() / "graphs/toy_llm_W.npy");
  double e[4] = {0, 0, 0, 0}, e_abs[4] = {0, 0, 0, 0};
  for (size_t i = 0; i < all_embeds.size(); ++i) {
    e[i % 4] += static_cast<double>(all_embeds[i]);
    e_abs[i % 4] += std::fabs(static_cast<double>(all_embeds[i]));
  }
  std::vector<double> feat, feat_abs;
  for (double scale : {1.0, -1.0, 2.0, -2.0}) {
    for (int k = 0; k < 4; ++k) {
      feat.push_back(scale * e[k]);
      feat_abs.push_back(std::fabs(scale) * e_abs[k]);
    }
  }
  const double positions = static_cast<double>(all_embeds.size()) / 8;
  Expected out{std::vector<float>(5, 0.f), std::vector<double>(5, 0.0)};
  for (int v = 0; v < 5; ++v) {
    double acc = 0, terms = 0;
    for (size_t j = 0; j < feat.size(); ++j) {
      const double wj = static_cast<double>(w.data<float>()[j * 5 + v]);
      acc += feat[j] * wj;
      terms += feat_abs[j] * std::fabs(wj);
    }
    out.logits[static_cast<size_t>(v)] = static_cast<float>(acc);
    out.bound[static_cast<size_t>(v)] = Vs64(Chain({2 * positions, 16, 1}), terms);
  }
  return out;
}

void ExpectLogitsNear(const float *logits, const std::vector<float> &all_embeds) {
  const Expected want = ExpectedLogits(all_embeds);
  for (size_t v = 0; v < 5; ++v) {
    EXPECT_NEAR(logits[v], want.logits[v], want.bound[v]) << "logit " << v;
    EXPECT_GT(want.bound[v], 0.0);
  }
}

RuntimeConfig TestRuntime() {
  RuntimeConfig c;
  c.intra_op_threads = testing::TestThreads();
  return c;
}

std::vector<float> Ramp(size_t n, float start) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = start + 0.25f * static_cast<float>(i % 11) - 1.0f;
  return v;
}

TEST(LlmGraph, PrefillThenDecodeWritesTheCacheInPlace) {
  const LlmGraph llm(TestData() / "graphs/toy_llm.onnx", kToy, TestRuntime());
  LlmGraph::RunState run(llm);
  KvCache cache(kToy, 10);
  std::vector<float> all = Ramp(3 * 8, 0.5f);
  const float *logits = llm.Forward(run, all.data(), 3, cache);
  EXPECT_EQ(cache.length(), 3);
  ExpectLogitsNear(logits, all);
  for (int step = 0; step < 4; ++step) {
    std::vector<float> x = Ramp(8, static_cast<float>(step));
    all.insert(all.end(), x.begin(), x.end());
    logits = llm.Forward(run, x.data(), 1, cache);
    ExpectLogitsNear(logits, all);
  }
  EXPECT_EQ(cache.length(), 7);
  // rows hold (i+1)*x and -(i+1)*x for layer i, in order
  for (int64_t r = 0; r < 7; ++r) {
    for (int j = 0; j < 8; ++j) {
      const float x = all[static_cast<size_t>(r * 8 + j)];
      EXPECT_FLOAT_EQ(cache.key(0)[r * 8 + j], x);
      EXPECT_FLOAT_EQ(cache.value(1)[r * 8 + j], -2 * x);
    }
  }
}

// Reserve (text-in streaming grows its cache as text arrives) keeps every cached position in both
// layouts: BSNH rows stay put, BNSH heads move to the new head stride.
TEST(KvCache, ReserveKeepsTheCachedPositionsInBothLayouts) {
  for (KvLayout layout : {KvLayout::kBSNH, KvLayout::kBNSH}) {
    KvCache cache(kToy, 3, layout);
    auto value_of = [](int layer, int head, int64_t pos, int d) {
      return static_cast<float>(1000 * layer + 100 * head + 10 * pos + d);
    };
    auto offset = [&](int head, int64_t pos) {
      return layout == KvLayout::kBSNH ? pos * cache.row_size() + head * kToy.head_dim
                                       : (head * cache.capacity() + pos) * kToy.head_dim;
    };
    for (int layer = 0; layer < kToy.num_layers; ++layer)
      for (int head = 0; head < kToy.num_kv_heads; ++head)
        for (int64_t pos = 0; pos < 3; ++pos)
          for (int d = 0; d < kToy.head_dim; ++d)
            cache.key(layer)[offset(head, pos) + d] = value_of(layer, head, pos, d);
    cache.Advance(3);
    cache.Reserve(7);
    EXPECT_EQ(cache.capacity(), 7);
    EXPECT_EQ(cache.length(), 3);
    for (int layer = 0; layer < kToy.num_layers; ++layer)
      for (int head = 0; head < kToy.num_kv_heads; ++head)
        for (int64_t pos = 0; pos < 3; ++pos)
          for (int d = 0; d < kToy.head_dim; ++d)
            EXPECT_EQ(cache.KeyAt(layer, head, pos)[d], value_of(layer, head, pos, d))
                << (layout == KvLayout::kBSNH ? "BSNH" : "BNSH") << " layer " << layer << " head " << head
                << " position " << pos;
    cache.Reserve(5);  // never shrinks
    EXPECT_EQ(cache.capacity(), 7);
  }
}

// A device cache cannot grow without copying device memory through the host: refused, naming the
// way out (LlmGraph::NewHostCache). The session's CPU allocator stands in for a device's.
TEST(KvCache, ReserveRefusesADeviceCache) {
  const LlmGraph llm(TestData() / "graphs/toy_llm.onnx", kToy, TestRuntime());
  auto allocator = std::make_shared<Ort::Allocator>(llm.session(), CpuMemoryInfo());
  KvCache cache(kToy, 2, KvLayout::kBNSH, allocator);
  ASSERT_TRUE(cache.on_device());
  EXPECT_COSY_ERROR(cache.Reserve(4), ErrorCode::kInvalidArgument, "NewHostCache");
  const KvCache host = llm.NewHostCache(0);
  EXPECT_FALSE(host.on_device());
  EXPECT_EQ(host.layout(), llm.kv_layout());
}

TEST(LlmGraph, RejectsOverflowAndMismatchedShape) {
  const LlmGraph llm(TestData() / "graphs/toy_llm.onnx", kToy, TestRuntime());
  LlmGraph::RunState run(llm);
  KvCache cache(kToy, 2);
  std::vector<float> x = Ramp(3 * 8, 0.f);
  EXPECT_COSY_ERROR(llm.Forward(run, x.data(), 3, cache), ErrorCode::kRuntime, "KV cache full");
  LlmGraphShape wrong = kToy;
  wrong.num_layers = 3;
  EXPECT_COSY_ERROR(LlmGraph(TestData() / "graphs/toy_llm.onnx", wrong, TestRuntime()), ErrorCode::kBundle,
                    "missing input 'past_key_2'");
  wrong = kToy;
  wrong.vocab_size = 6;
  EXPECT_COSY_ERROR(LlmGraph(TestData() / "graphs/toy_llm.onnx", wrong, TestRuntime()), ErrorCode::kBundle,
                    "output 'logits' has shape [1, 5], expected [1, 6]");
}

TEST(EmbeddingTable, ChecksShapeAndIds) {
  TempDir dir;
  std::vector<float> t(4 * 8);
  std::iota(t.begin(), t.end(), 0.f);
  SaveNpy(dir / "e.npy", {4, 8}, t.data());
  EmbeddingTable e(dir / "e.npy", 4, 8);
  float row[8];
  e.CopyRow(2, row);
  EXPECT_EQ(row[0], 16.f);
  EXPECT_EQ(row[7], 23.f);
  std::vector<float> out;
  e.Gather({3, 0}, out);
  EXPECT_EQ(out.size(), 16u);
  EXPECT_EQ(out[0], 24.f);
  EXPECT_EQ(out[8], 0.f);
  EXPECT_COSY_ERROR(e.CopyRow(4, row), ErrorCode::kInvalidArgument, "token id 4 outside [0, 4)");
  EXPECT_COSY_ERROR(e.Gather({0, -1}, out), ErrorCode::kInvalidArgument, "token id -1 outside [0, 4)");
  EXPECT_EQ(out.size(), 16u);  // nothing appended by the failed gather
  EXPECT_COSY_ERROR(EmbeddingTable(dir / "e.npy", 5, 8), ErrorCode::kBundle,
                    "expected float32 or float16 [5, 8], found float32 [4, 8]");
}

TEST(EmbeddingTable, HalfToFloatKnownValues) {
  EXPECT_EQ(HalfToFloat(0x3C00), 1.0f);
  EXPECT_EQ(HalfToFloat(0xC000), -2.0f);
  EXPECT_EQ(HalfToFloat(0x7BFF), 65504.0f);               // largest normal
  EXPECT_EQ(HalfToFloat(0x0400), std::ldexp(1.0f, -14));  // smallest normal
  EXPECT_EQ(HalfToFloat(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(HalfToFloat(0x03FF), std::ldexp(1023.0f, -24));
  EXPECT_EQ(HalfToFloat(0x3555), 0.333251953125f);
  EXPECT_TRUE(std::isinf(HalfToFloat(0x7C00)) && HalfToFloat(0x7C00) > 0);
  EXPECT_TRUE(std::isnan(HalfToFloat(0x7E00)));
  EXPECT_TRUE(std::signbit(HalfToFloat(0x8000)) && HalfToFloat(0x8000) == 0.0f);
}

// float32 -> float16 rounds to nearest, ties to even (numpy's and torch's .half()), in both the
// scalar form and the F16C array form, which must give the same bits (the streaming cache's float16
// keys/values are compared with the reference's torch .half()).
TEST(Half, FloatToHalfRoundsToNearestEvenAndBothFormsAgree) {
  EXPECT_EQ(FloatToHalf(1.0f), 0x3C00);
  EXPECT_EQ(FloatToHalf(-2.0f), 0xC000);
  EXPECT_EQ(FloatToHalf(65504.0f), 0x7BFF);
  EXPECT_EQ(FloatToHalf(65519.0f), 0x7BFF);                          // below the tie: largest normal
  EXPECT_EQ(FloatToHalf(65520.0f), 0x7C00);                          // the tie goes to even: infinity
  EXPECT_EQ(FloatToHalf(1.0f + std::ldexp(1.0f, -11)), 0x3C00);      // tie between 1 and 1+2^-10: even
  EXPECT_EQ(FloatToHalf(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);  // tie, odd below: up
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0f, -24)), 0x0001);             // smallest subnormal
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0f, -25)), 0x0000);             // half of it ties to zero
  EXPECT_EQ(FloatToHalf(std::ldexp(1.5f, -25)), 0x0001);
  EXPECT_EQ(FloatToHalf(std::ldexp(3.0f, -25)), 0x0002);     // 1.5 units: tie to even 2
  EXPECT_EQ(FloatToHalf(std::ldexp(1023.5f, -24)), 0x0400);  // carries into the smallest normal
  EXPECT_EQ(FloatToHalf(-0.0f), 0x8000);
  EXPECT_EQ(FloatToHalf(std::numeric_limits<float>::infinity()), 0x7C00);
  EXPECT_EQ(FloatToHalf(1e-30f), 0x0000);
  const uint16_t nan = FloatToHalf(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7C00, 0x7C00);
  EXPECT_NE(nan & 0x03FF, 0);
  // every half survives half -> float -> half (NaNs as NaNs)
  std::vector<uint16_t> all(65536), back(65536);
  std::vector<float> as_float(65536);
  for (uint32_t h = 0; h < 65536; ++h) all[h] = static_cast<uint16_t>(h);
  HalfToFloatN(all.data(), as_float.data(), all.size());
  FloatToHalfN(as_float.data(), back.data(), all.size());
  for (uint32_t h = 0; h < 65536; ++h) {
    const bool is_nan = (h & 0x7C00) == 0x7C00 && (h & 0x03FF) != 0;
    if (is_nan) {
      ASSERT_TRUE(std::isnan(as_float[h]) && std::isnan(HalfToFloat(all[h]))) << h;
      continue;
    }
    ASSERT_EQ(HalfToFloat(all[h]), as_float[h]) << h;
    ASSERT_EQ(back[h], h) << h;
    ASSERT_EQ(FloatToHalf(as_float[h]), h) << h;
  }
  // random floats over the whole half range and beyond: scalar and array forms give the same bits
  std::vector<float> values;
  uint32_t x = 2463534242u;
  for (int i = 0; i < 200000; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    uint32_t bits = (x & 0x80000000u) | (0x30000000u + x % 0x18000000u);  // about 2^-31 .. 2^17
    float f;
    std::memcpy(&f, &bits, sizeof f);
    values.push_back(f);
  }
  std::vector<uint16_t> array(values.size());
  FloatToHalfN(values.data(), array.data(), values.size());
  for (size_t i = 0; i < values.size(); ++i) ASSERT_EQ(array[i], FloatToHalf(values[i])) << values[i];
}

TEST(EmbeddingTable, Float16TableReadsAsFloat32) {
  TempDir dir;
  // 1.0, -2.0, 0.5, 65504, 2^-24, 1/3 rounded
  const std::vector<uint16_t> t = {0x3C00, 0xC000, 0x3800, 0x7BFF, 0x0001, 0x3555};
  SaveNpy(dir / "h.npy", DType::kFloat16, {3, 2}, t.data());
  EmbeddingTable e(dir / "h.npy", 3, 2);
  EXPECT_EQ(e.dtype(), DType::kFloat16);
  std::vector<float> out;
  e.Gather({2, 0, 1}, out);
  EXPECT_EQ(out, (std::vector<float>{std::ldexp(1.0f, -24), 0.333251953125f, 1.0f, -2.0f, 0.5f, 65504.0f}));
}

// A table with the right shape but damaged values must not feed NaN to the LLM (issue 14).
TEST(EmbeddingTable, ADamagedRowIsRefusedWhenUsed) {
  TempDir dir;
  std::vector<float> t(4 * 8, 0.5f);
  t[2 * 8 + 3] = std::numeric_limits<float>::quiet_NaN();
  SaveNpy(dir / "e.npy", {4, 8}, t.data());
  EmbeddingTable e(dir / "e.npy", 4, 8);
  float row[8];
  e.CopyRow(1, row);
  EXPECT_EQ(row[0], 0.5f);
  std::vector<float> out;
  EXPECT_COSY_ERROR(e.Gather({0, 2}, out), ErrorCode::kBundle,
                    "e.npy: row 2 (token 2) holds a non-finite value");
}

class GeneratorTest : public ::testing::Test {
 protected:
  GeneratorTest() : llm_(TestData() / "graphs/toy_llm.onnx", kToy, TestRuntime()) {
    std::vector<float> t(5 * 8);
    for (size_t i = 0; i < t.size(); ++i) t[i] = 0.1f * static_cast<float>((i * 7) % 5) - 0.2f;
    SaveNpy(dir_ / "speech.npy", {5, 8}, t.data());
    table_ = std::make_unique<EmbeddingTable>(dir_ / "speech.npy", 5, 8);
    config_.max_positions = 1000;
    config_.stop_begin = 3;  // ids 3 and 4 stop
    config_.stop_end = 5;
  }
  TempDir dir_;
  LlmGraph llm_;
  std::unique_ptr<EmbeddingTable> table_;
  LlmConfig config_;
};

TEST_F(GeneratorTest, RespectsMinAndMaxLengthAndIsDeterministic) {
  SpeechTokenGenerator gen(llm_, *table_, config_);
  const std::vector<float> prompt = Ramp(2 * 8, 0.3f);
  auto run = [&](uint64_t seed, int min_len, int max_len, GenerationStats *st) {
    RasSampler s({1.0, 25, 10, 0.1}, 3, 5, seed);
    return gen.Generate(prompt, min_len, max_len, s, nullptr, st);
  };
  GenerationStats st;
  const auto a = run(7, 6, 12, &st);
  EXPECT_EQ(a, run(7, 6, 12, nullptr));
  EXPECT_GE(a.size(), 6u);  // no stop id can be drawn before min_len
  EXPECT_LE(a.size(), 12u);
  for (int t : a) EXPECT_LT(t, 3);
  EXPECT_EQ(st.prefill_positions, 2);
  EXPECT_EQ(st.decoded_tokens, static_cast<int64_t>(a.size()) - (st.hit_max_len ? 1 : 0));
  EXPECT_EQ(run(7, 0, 0, nullptr).size(), 0u);
}

TEST_F(GeneratorTest, CallbackCanCancel) {
  SpeechTokenGenerator gen(llm_, *table_, config_);
  RasSampler s({1.0, 25, 10, 0.1}, 3, 5, 1);
  int seen = 0;
  EXPECT_COSY_ERROR(gen.Generate(Ramp(8, 0.f), 5, 10, s, [&](int) { return ++seen < 3; }),
                    ErrorCode::kCancelled, "cancelled");
  EXPECT_EQ(seen, 3);
}

TEST_F(GeneratorTest, TeacherForcedLogitsAreWhatTheModelSeesAfterEachToken) {
  SpeechTokenGenerator gen(llm_, *table_, config_);
  const std::vector<float> prompt = Ramp(2 * 8, 0.3f);
  const std::vector<int> forced = {2, 0, 1, 1};
  const std::vector<float> got = gen.TeacherForcedLogits(prompt, forced);
  ASSERT_EQ(got.size(), 5u * 5u);  // (tokens + 1) steps x vocab
  std::vector<float> fed = prompt;
  for (size_t i = 0; i <= forced.size(); ++i) {
    if (i > 0) {
      float row[8];
      table_->CopyRow(forced[i - 1], row);
      fed.insert(fed.end(), row, row + 8);
    }
    SCOPED_TRACE("step " + std::to_string(i));
    ExpectLogitsNear(got.data() + i * 5, fed);
  }
  // the generator is reusable afterwards, and an empty token list gives the prefill's logits only
  EXPECT_EQ(gen.TeacherForcedLogits(prompt, {}).size(), 5u);
  EXPECT_COSY_ERROR(gen.TeacherForcedLogits({}, forced), ErrorCode::kInvalidArgument, "non-empty");
}

TEST(LengthLimits, TruncateLikeUpstream) {
  const auto l = ComputeLengthLimits(7, 2.0, 20.0);
  EXPECT_EQ(l.min_len, 14);
  EXPECT_EQ(l.max_len, 140);
  EXPECT_EQ(ComputeLengthLimits(3, 2.5, 20.0).min_len, 7);
}

}  // namespace
}  // namespace cosyvoice
