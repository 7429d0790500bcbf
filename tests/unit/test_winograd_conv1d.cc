// tests/unit/test_winograd_conv1d.cc - the Winograd convolution kernel (src/kernels/winograd_conv1d.h)
// against a float64 direct convolution, on every instruction set this CPU has, and as the ONNX
// Runtime operator WinogradConv1d (src/kernels/custom_ops.h).
//
// Tolerance (fp32_bounds.h): every output is a sum of products computed in three float32 stages,
// the input transform (n terms), the product over pieces and channels (K = pieces * C_in terms) and
// the output transform (n terms and the bias), with the transform matrices and the transformed kernel
// rounded to float32 once each. In any order that is within gamma(2 n + K + 4) of the sum of the
// absolute values of the expanded terms, S = |b| + sum_p |AT[e][p]| sum_{j,i} |U[p][j][i]|
// sum_q |BT[p][q]| |x_i[window q]| (U = G g exact). The test computes S per output from the same
// tiles the kernel uses; a wrong tap, phase or tile gives errors of the size of the outputs.
#include <gmock/gmock.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/npy.h"
#include "fp32_bounds.h"
#include "generic_graph.h"
#include "kernels/winograd_conv1d.h"
#include "models/onnx_graph.h"
#include "models/ort_env.h"
#include "models/tensor.h"
#include "test_util.h"

namespace cosyvoice {
namespace {

using kernels::Conv1dShape;
using kernels::KernelIsa;
using kernels::WinogradConv1d;
using kernels::WinogradMatrices;

struct Layer {
  Conv1dShape shape;
  std::vector<float> w, b;
};

Layer RandomLayer(const Conv1dShape &shape, std::mt19937 &rng, bool bias = true) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Layer l{shape,
          std::vector<float>(static_cast<size_t>(shape.out_channels) * shape.in_channels * shape.kernel),
          {}};
  for (float &v : l.w) v = normal(rng);
  if (bias) {
    l.b.resize(shape.out_channels);
    for (float &v : l.b) v = normal(rng);
  }
  return l;
}

// x [C_in][L] -> the exact (float64) outputs and the bound of each (file comment).
struct Reference {
  std::vector<double> value, bound;
};

Reference Evaluate(const Layer &l, const std::vector<float> &x, int64_t length) {
  const Conv1dShape &s = l.shape;
  const int64_t out_length = std::max<int64_t>(0, s.OutputLength(length));
  const int r = std::min(s.kernel, 4), pieces = (s.kernel + r - 1) / r;
  const WinogradMatrices m = WinogradMatrices::Make(4, r);
  const int n = m.n;
  const double depth = 2.0 * n + static_cast<double>(pieces) * s.in_channels + 4.0;
  Reference ref{std::vector<double>(static_cast<size_t>(s.out_channels) * out_length),
                std::vector<double>(static_cast<size_t>(s.out_channels) * out_length)};
  auto input = [&](int i, int64_t phase, int64_t q) {  // phase sample q of channel i, zero outside
    const int64_t t = q * s.dilation + phase;
    return q < 0 || t >= length ? 0.0 : static_cast<double>(x[i * length + t]);
  };
  for (int o = 0; o < s.out_channels; ++o) {
    const float *wo = l.w.data() + static_cast<size_t>(o) * s.in_channels * s.kernel;
    for (int64_t t = 0; t < out_length; ++t) {
      const double bias = l.b.empty() ? 0.0 : static_cast<double>(l.b[o]);
      double sum = bias;
      for (int i = 0; i < s.in_channels; ++i)
        for (int j = 0; j < s.kernel; ++j) {
          const int64_t src = t + static_cast<int64_t>(j) * s.dilation - s.pad_left;
          if (src >= 0 && src < length)
            sum += static_cast<double>(wo[i * s.kernel + j]) * static_cast<double>(x[i * length + src]);
        }
      const int64_t phase = t % s.dilation, q = t / s.dilation, tile = q / 4, e = q % 4;
      double magnitude = std::fabs(bias);
      for (int p = 0; p < n; ++p) {
        double over_pieces = 0.0;
        for (int piece = 0; piece < pieces; ++piece)
          for (int i = 0; i < s.in_channels; ++i) {
            double u = 0.0, window = 0.0;
            for (int k = 0; k < r; ++k)
              if (piece * r + k < s.kernel)
                u += m.g[p * r + k] * static_cast<double>(wo[i * s.kernel + piece * r + k]);
            const int64_t start = 4 * (tile + piece) - s.pad_left / s.dilation;
            for (int k = 0; k < n; ++k)
              window += std::fabs(m.bt[p * n + k]) * std::fabs(input(i, phase, start + k));
            over_pieces += std::fabs(u) * window;
          }
        magnitude += std::fabs(m.at[e * n + p]) * over_pieces;
      }
      ref.value[o * out_length + t] = sum;
      ref.bound[o * out_length + t] = testing::Vs64(depth, magnitude);
    }
  }
  return ref;
}

std::vector<float> RandomInput(int channels, int64_t length, std::mt19937 &rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(channels) * length);
  for (float &v : x) v = normal(rng);
  return x;
}

void ExpectWithinBound(const std::vector<float> &got, const Reference &ref, const std::string &what) {
  ASSERT_EQ(got.size(), ref.value.size()) << what;
  int reported = 0;
  for (size_t k = 0; k < got.size(); ++k) {
    const double err = std::fabs(static_cast<double>(got[k]) - ref.value[k]);
    if (!(err <= ref.bound[k]) && reported++ < 5)
      ADD_FAILURE() << what << ": output " << k << " is " << got[k] << ", exact " << ref.value[k]
                    << ", bound " << ref.bound[k];
  }
}

TEST(WinogradMatrices, ReproduceTheCorrelationInExactArithmetic) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  for (int r = 1; r <= 4; ++r) {
    const WinogradMatrices m = WinogradMatrices::Make(4, r);
    ASSERT_EQ(m.n, 3 + r);
    std::vector<double> g(r), d(m.n);
    for (double &v : g) v = uniform(rng);
    for (double &v : d) v = uniform(rng);
    for (int e = 0; e < 4; ++e) {
      double direct = 0.0, winograd = 0.0;
      for (int k = 0; k < r; ++k) direct += g[k] * d[e + k];
      for (int p = 0; p < m.n; ++p) {
        double gp = 0.0, dp = 0.0;
        for (int k = 0; k < r; ++k) gp += m.g[p * r + k] * g[k];
        for (int k = 0; k < m.n; ++k) dp += m.bt[p * m.n + k] * d[k];
        winograd += m.at[e * m.n + p] * gp * dp;
      }
      EXPECT_NEAR(winograd, direct, 1e-12) << "r " << r << " output " << e;
    }
  }
}

// Shapes of every kind the tiles must get right: lengths below one tile and not a multiple of 4,
// channel counts below and not a multiple of the register blocks, kernels of 1 to 16 taps (one to
// four pieces), dilations with their phases, left and right pads, outputs longer and shorter than
// the input, and the vocoder's resblock shapes at a small scale.
TEST(WinogradConv1d, EveryOutputWithinTheFloat32BoundOnEveryInstructionSet) {
  const Conv1dShape shapes[] = {{5, 7, 3, 1, 2, 0},     {9, 13, 11, 5, 50, 0}, {16, 3, 7, 3, 18, 0},
                                {8, 8, 4, 2, 0, 0},     {8, 9, 5, 1, 2, 2},    {3, 4, 1, 1, 0, 0},
                                {12, 20, 16, 1, 15, 0}, {7, 7, 3, 2, 0, 4},    {33, 70, 11, 5, 50, 0},
                                {64, 64, 3, 1, 2, 0},   {1, 1, 2, 3, 3, 0}};
  const int64_t lengths[] = {1, 3, 13, 40, 97, 130};
  std::mt19937 rng(2);
  for (const Conv1dShape &shape : shapes) {
    const Layer layer = RandomLayer(shape, rng, shape.kernel != 4);
    for (int64_t length : lengths) {
      const std::vector<float> x = RandomInput(shape.in_channels, length, rng);
      const Reference ref = Evaluate(layer, x, length);
      for (KernelIsa isa : kernels::AvailableKernelIsas()) {
        WinogradConv1d conv(shape, layer.w.data(), layer.b.empty() ? nullptr : layer.b.data(), isa);
        std::vector<float> y(ref.value.size(), NAN);
        if (!y.empty()) conv.Run(x.data(), length, y.data());
        ExpectWithinBound(y, ref,
                          std::string(kernels::KernelIsaName(isa)) + " C_in " +
                              std::to_string(shape.in_channels) + " k " + std::to_string(shape.kernel) +
                              " d " + std::to_string(shape.dilation) + " L " + std::to_string(length));
      }
    }
  }
}

// Threads run disjoint ranges of units: any split writes the same outputs, bit for bit, as one call.
TEST(WinogradConv1d, AnySplitOfTheWorkUnitsGivesTheSameBits) {
  std::mt19937 rng(3);
  const Conv1dShape shape{64, 40, 11, 3, 30, 0};
  const Layer layer = RandomLayer(shape, rng);
  const int64_t length = 6000;
  const std::vector<float> x = RandomInput(shape.in_channels, length, rng);
  WinogradConv1d conv(shape, layer.w.data(), layer.b.data());
  std::vector<float> whole(static_cast<size_t>(shape.out_channels) * length), split(whole.size(), NAN);
  conv.Run(x.data(), length, whole.data());
  const size_t units = conv.WorkUnits(length);
  ASSERT_GT(units, 3u);
  for (size_t u = units; u-- > 0;) conv.RunUnits(x.data(), length, split.data(), u, u + 1);
  EXPECT_EQ(std::memcmp(whole.data(), split.data(), whole.size() * sizeof(float)), 0);
}

TEST(WinogradConv1d, RejectsShapesItCannotComputeNamingTheField) {
  const std::vector<float> w(64, 1.0f);
  auto message = [&](const Conv1dShape &shape) {
    try {
      WinogradConv1d conv(shape, w.data(), nullptr);
    } catch (const std::invalid_argument &e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_THAT(message({2, 2, 3, 2, 3, 0}),
              ::testing::HasSubstr("pads[0] must be a multiple of the dilation"));
  EXPECT_THAT(message({0, 2, 3, 1, 0, 0}), ::testing::HasSubstr("in_channels must be >= 1"));
  EXPECT_THAT(message({2, 2, 3, 0, 0, 0}), ::testing::HasSubstr("dilation must be >= 1"));
  EXPECT_THAT(message({2, 2, 3, 1, -1, 0}), ::testing::HasSubstr("pads must be >= 0"));
}

// COSYVOICE_KERNEL_ISA picks the kernel of every operator (to compare them on one machine); a value
// that names no kernel this CPU can run is an error naming the variable, not a silent fallback.
TEST(WinogradConv1d, TheEnvironmentCanPickTheKernelAndABadValueIsAnError) {
  const char *saved = std::getenv("COSYVOICE_KERNEL_ISA");
  const std::string restore = saved == nullptr ? "" : saved;
  setenv("COSYVOICE_KERNEL_ISA", "generic", 1);
  EXPECT_EQ(kernels::BestKernelIsa(), KernelIsa::kGeneric);
  const std::vector<float> w(3 * 2 * 2, 1.0f);
  EXPECT_EQ(WinogradConv1d({2, 2, 3, 1, 2, 0}, w.data(), nullptr).isa(), KernelIsa::kGeneric);
  setenv("COSYVOICE_KERNEL_ISA", "sse9", 1);
  try {
    kernels::BestKernelIsa();
    ADD_FAILURE() << "accepted COSYVOICE_KERNEL_ISA=sse9";
  } catch (const std::invalid_argument &e) {
    EXPECT_THAT(e.what(),
                ::testing::HasSubstr("COSYVOICE_KERNEL_ISA=sse9: expected generic, avx2 or avx512"));
  }
  if (saved == nullptr) {
    unsetenv("COSYVOICE_KERNEL_ISA");
  } else {
    setenv("COSYVOICE_KERNEL_ISA", restore.c_str(), 1);
  }
}

using Generic = testing::GenericGraph;

Layer LayerFromFiles(const Conv1dShape &shape, const char *w, const char *b) {
  Layer l{shape, NpyArray::Load(testing::TestData() / "graphs" / w).ToVector<float>(), {}};
  if (b != nullptr) l.b = NpyArray::Load(testing::TestData() / "graphs" / b).ToVector<float>();
  return l;
}

// The operator as ONNX Runtime runs it (attributes, optional bias, a batch of two, its thread pool):
// each layer's outputs within the bound of the float64 convolution of that layer's actual input.
TEST(WinogradConv1dOperator, RunsInOnnxRuntimeWithinTheFloat32Bound) {
  RuntimeConfig config;
  config.intra_op_threads = testing::TestThreads();
  Generic graph(testing::TestData() / "graphs/winograd_conv.onnx",
                {{{"x", DType::kFloat32, {-1, 6, -1}}},
                 {{"y", DType::kFloat32, {-1, 9, -1}}, {"z", DType::kFloat32, {-1, 5, -1}}}},
                config);
  const Layer c1 = LayerFromFiles({6, 9, 3, 2, 4, 0}, "winograd_w1.npy", "winograd_b1.npy");
  const Layer c2 = LayerFromFiles({9, 5, 7, 1, 6, 1}, "winograd_w2.npy", nullptr);
  std::mt19937 rng(4);
  const int64_t batch = 2, length = 37;
  std::vector<float> x = RandomInput(6, batch * length, rng);
  std::vector<Ort::Value> in;
  in.push_back(TensorView(x, {batch, 6, length}));
  std::vector<Ort::Value> out = graph.Run(in);
  ASSERT_EQ(out[0].GetTensorTypeAndShapeInfo().GetShape(), (std::vector<int64_t>{batch, 9, length}));
  ASSERT_EQ(out[1].GetTensorTypeAndShapeInfo().GetShape(), (std::vector<int64_t>{batch, 5, length + 1}));
  const std::vector<float> y = ToVector<float>(out[0]), z = ToVector<float>(out[1]);
  for (int64_t item = 0; item < batch; ++item) {
    const std::vector<float> xi(x.begin() + item * 6 * length, x.begin() + (item + 1) * 6 * length);
    const std::vector<float> yi(y.begin() + item * 9 * length, y.begin() + (item + 1) * 9 * length);
    const std::vector<float> zi(z.begin() + item * 5 * (length + 1),
                                z.begin() + (item + 1) * 5 * (length + 1));
    ExpectWithinBound(yi, Evaluate(c1, xi, length), "layer 1, item " + std::to_string(item));
    ExpectWithinBound(zi, Evaluate(c2, yi, length), "layer 2, item " + std::to_string(item));
  }
}

TEST(WinogradConv1dOperator, RefusesAWeightThatIsNotAConstant) {
  try {
    Generic graph(testing::TestData() / "graphs/winograd_conv_input_weight.onnx",
                  {{{"x", DType::kFloat32, {-1, 6, -1}}, {"w1", DType::kFloat32, {9, 6, 3}}},
                   {{"y", DType::kFloat32, {-1, 9, -1}}, {"z", DType::kFloat32, {-1, 5, -1}}}},
                  RuntimeConfig{});
    ADD_FAILURE() << "the session was created";
  } catch (const Error &e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("WinogradConv1d: input W must be a constant initializer"));
  }
}

// The first sessions of a process that use the project's operators, created at once: ONNX Runtime
// adds the operators' domain to ONNX's process-wide domain map on a domain's first session, with an
// unguarded check-then-add (CreateCustomRegistry, onnxruntime/core/session/custom_ops.cc), and the
// loser of that race failed ("the domain is already exist"): a model's LLM and flow sessions made in
// parallel fell back to the plain graph, two models loaded at once could fail. Each round runs in a
// child process (the race exists only before the first such session) with 8 threads released
// together; every session must be created. The children are forks ("fast" death tests: re-executing
// the binary, gtest's other style, fails under qemu-user), so this process must not have created a
// session or any thread yet: CTest runs each test in a process of its own; in a process that
// already has threads the test is skipped.
TEST(WinogradConv1dOperator, FirstSessionsOfAProcessMayBeCreatedAtOnce) {
  const auto threads_now = std::distance(std::filesystem::directory_iterator("/proc/self/task"),
                                         std::filesystem::directory_iterator{});
  if (threads_now > 1)
    GTEST_SKIP() << "this process has " << threads_now << " threads: run the test alone (as CTest does)";
  GTEST_FLAG_SET(death_test_style, "fast");
  const std::filesystem::path file = testing::TestData() / "graphs/winograd_conv.onnx";
  const GraphSignature signature{{{"x", DType::kFloat32, {-1, 6, -1}}},
                                 {{"y", DType::kFloat32, {-1, 9, -1}}, {"z", DType::kFloat32, {-1, 5, -1}}}};
  auto create_at_once = [&] {
    OrtEnvironment();  // made before the threads start, so that they reach the session at once
    constexpr int kThreads = 8;
    std::atomic<int> waiting{kThreads}, failed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        for (--waiting; waiting.load() > 0;) {
        }
        try {
          Generic graph(file, signature, RuntimeConfig{});
        } catch (const std::exception &e) {
          std::fprintf(stderr, "%s\n", e.what());
          ++failed;
        }
      });
    }
    for (auto &t : threads) t.join();
    std::fprintf(stderr, "sessions that failed: %d\n", failed.load());
    std::exit(failed.load() == 0 ? 0 : 1);
  };
  for (int round = 0; round < 40; ++round)
    EXPECT_EXIT(create_at_once(), ::testing::ExitedWithCode(0), "sessions that failed: 0")
        << "round " << round;
}

}  // namespace
}  // namespace cosyvoice
