// tests/unit/test_snake.cc - the Snake kernel (src/kernels/snake.h): its vectorized sine against the
// float64 sine, the activation against the five float32 operations of the base graph, on every
// instruction set this CPU has, and the ONNX Runtime operator against ONNX Runtime's own nodes.
//
// Tolerances: the vector sine is within 2 u (u = 2^-24) of sin(t), absolute (Cephes' sinf
// polynomials on [-pi/4, pi/4], documented peak error ~1.2e-7 ≈ 2u, after an exact reduction).
// The activation differs from the reference only through the sine: with ds the two sines'
// distance, |dq| <= |inv| (2 ds (|s| + ds) + 2 u (|s| + ds)^2) (1 + u) for q = s^2 inv, and the
// final sums x + q round within u of each result.
#include <gmock/gmock.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "fp32_bounds.h"
#include "generic_graph.h"
#include "kernels/snake.h"
#include "models/onnx_graph.h"
#include "models/tensor.h"
#include "test_util.h"

namespace cosyvoice {
namespace {

using kernels::KernelIsa;
constexpr double kU = testing::kU;

std::vector<float> SineArguments() {
  std::vector<float> t;
  for (int i = -20000; i <= 20000; ++i) t.push_back(static_cast<float>(i) * 1e-3f);  // [-20, 20]
  for (int k = -5000; k <= 5000; k += 7)                                             // near k pi/2
    for (float e : {-1e-3f, -1e-6f, 0.0f, 1e-6f, 1e-3f}) t.push_back(static_cast<float>(k * M_PI / 2) + e);
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> wide(-kernels::kVectorSineLimit, kernels::kVectorSineLimit);
  for (int i = 0; i < 20000; ++i) t.push_back(wide(rng));
  for (float v : {kernels::kVectorSineLimit, -kernels::kVectorSineLimit, 1e-30f, -0.0f}) t.push_back(v);
  return t;
}

TEST(VectorSine, WithinTwoUnitsOfTheExactSineOnEveryInstructionSet) {
  const std::vector<float> t = SineArguments();
  for (KernelIsa isa : kernels::AvailableKernelIsas()) {
    std::vector<float> s(t.size());
    kernels::VectorSine(t.data(), s.data(), static_cast<int64_t>(t.size()), isa);
    double worst = 0.0;
    for (size_t i = 0; i < t.size(); ++i) {
      const double err = std::fabs(static_cast<double>(s[i]) - std::sin(static_cast<double>(t[i])));
      if (!(err <= worst)) worst = err;
    }
    EXPECT_LE(worst, 2 * kU) << kernels::KernelIsaName(isa) << ": largest error " << worst / kU << " u";
  }
}

// Beyond the reduction's range, and for infinities and NaN, each lane is std::sin's.
TEST(VectorSine, OutOfRangeLanesAreTheLibrarysSine) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> t = {1.0f, 8192.5f, -1e6f, 3e38f, inf, -inf, std::nanf(""), 0.5f, 2.0f};
  for (KernelIsa isa : kernels::AvailableKernelIsas()) {
    std::vector<float> s(t.size());
    kernels::VectorSine(t.data(), s.data(), static_cast<int64_t>(t.size()), isa);
    for (size_t i = 1; i < 7; ++i) {
      const float expected = std::sin(t[i]);
      if (std::isnan(expected)) {
        EXPECT_TRUE(std::isnan(s[i])) << i;
      } else {
        EXPECT_EQ(s[i], expected) << i;
      }
    }
    EXPECT_NEAR(s[0], std::sin(1.0), 2 * kU);
  }
}

double ActivationBound(double s, double inv, double y, double ds) {
  const double dq =
      std::fabs(inv) * (2 * ds * (std::fabs(s) + ds) + 2 * kU * std::pow(std::fabs(s) + ds, 2)) * (1 + kU);
  return dq + kU * (2 * std::fabs(y) + dq);
}

// The base graph's five float32 operations with a correctly rounded sine.
float ReferenceSnake(float x, float a, float inv, float *s_out) {
  const float t = x * a;
  const float s = static_cast<float>(std::sin(static_cast<double>(t)));
  const float s2 = s * s;
  const float q = s2 * inv;
  *s_out = s;
  return x + q;
}

TEST(Snake, RowsEqualTheBaseGraphsOperationsUpToTheSine) {
  std::mt19937 rng(6);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  const int channels = 3;
  const float alpha[channels] = {0.5f, 1.0f, 7.0f};
  float inv[channels];
  for (int c = 0; c < channels; ++c) inv[c] = 1.0f / (alpha[c] + 1e-9f);
  for (int64_t length : {1, 5, 16, 37, 1000}) {
    const int64_t rows = 2 * channels;
    std::vector<float> x(static_cast<size_t>(rows * length));
    for (float &v : x) v = normal(rng);
    for (KernelIsa isa : kernels::AvailableKernelIsas()) {
      std::vector<float> y(x.size(), NAN);
      kernels::SnakeRows(x.data(), y.data(), 0, rows, length, channels, alpha, inv, isa);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t i = 0; i < length; ++i) {
          const int c = static_cast<int>(r % channels);
          float s = 0.0f;
          const float expected = ReferenceSnake(x[r * length + i], alpha[c], inv[c], &s);
          ASSERT_LE(std::fabs(static_cast<double>(y[r * length + i]) - static_cast<double>(expected)),
                    ActivationBound(s, inv[c], expected, 2.5 * kU))
              << kernels::KernelIsaName(isa) << " row " << r << " sample " << i << " of " << length;
        }
    }
  }
}

// In place (y = x) and over a subrange of rows, as ONNX Runtime's thread pool calls it.
TEST(Snake, InPlaceOverARangeOfRowsTouchesOnlyThoseRows) {
  const float alpha[2] = {1.0f, 2.0f}, inv[2] = {1.0f, 0.5f};
  std::vector<float> x(4 * 9, 0.75f);
  kernels::SnakeRows(x.data(), x.data(), 1, 3, 9, 2, alpha, inv);
  for (int64_t r = 0; r < 4; ++r)
    for (int64_t i = 0; i < 9; ++i) {
      float s = 0.0f;
      const float changed = ReferenceSnake(0.75f, alpha[r % 2], inv[r % 2], &s);
      if (r == 0 || r == 3) {
        EXPECT_EQ(x[r * 9 + i], 0.75f);
      } else {
        EXPECT_NEAR(x[r * 9 + i], changed, ActivationBound(s, inv[r % 2], changed, 2.5 * kU));
      }
    }
}

using Generic = testing::GenericGraph;

// The operator in a session, next to ONNX Runtime's own five nodes on the same input (a batch of two,
// rows longer than one ParallelFor item): the two differ only in the sine.
TEST(SnakeOperator, EqualsOnnxRuntimesFiveNodesUpToTheSine) {
  RuntimeConfig config;
  config.intra_op_threads = testing::TestThreads();
  Generic graph(testing::TestData() / "graphs/snake.onnx",
                {{{"x", DType::kFloat32, {-1, 4, -1}}},
                 {{"y_fused", DType::kFloat32, {-1, 4, -1}}, {"y_nodes", DType::kFloat32, {-1, 4, -1}}}},
                config);
  const float alpha[4] = {0.25f, 1.0f, 3.0f, 8.0f};
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  const int64_t batch = 2, length = 50001;
  std::vector<float> x(static_cast<size_t>(batch * 4 * length));
  for (float &v : x) v = normal(rng);
  std::vector<Ort::Value> in;
  in.push_back(TensorView(x, {batch, 4, length}));
  const std::vector<Ort::Value> out = graph.Run(in);
  const std::vector<float> fused = ToVector<float>(out[0]), nodes = ToVector<float>(out[1]);
  ASSERT_EQ(fused.size(), x.size());
  for (size_t k = 0; k < x.size(); ++k) {
    const int c = static_cast<int>((k / length) % 4);
    const float inv = 1.0f / (alpha[c] + 1e-9f);
    float s = 0.0f;
    const float expected = ReferenceSnake(x[k], alpha[c], inv, &s);
    // each within its bound of the correctly rounded reference (ONNX Runtime's sine: kFnUlps ulps)
    ASSERT_LE(std::fabs(static_cast<double>(fused[k]) - static_cast<double>(nodes[k])),
              ActivationBound(s, inv, expected, 2.5 * kU) +
                  ActivationBound(s, inv, expected, (testing::kFnUlps + 0.5) * kU))
        << "element " << k;
  }
}

}  // namespace
}  // namespace cosyvoice
