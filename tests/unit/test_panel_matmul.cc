// tests/unit/test_panel_matmul.cc - the panel matrix product (src/kernels/panel_matmul.h) against a
// float64 product, on every instruction set this CPU has, and as the ONNX Runtime operator
// PanelMatMul (src/kernels/custom_ops.h).
//
// Tolerance (fp32_bounds.h): every output is a K-term dot product of float32 values, so in any order
// and with or without fused multiply-adds it is within gamma(K) of S = sum_k |x_k| |w_k|, and the
// float64 reference within gamma64(K) of it (Vs64). A wrong panel, column or row gives errors of
// the size of the outputs.
#include <gmock/gmock.h>

#include <cmath>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/npy.h"
#include "fp32_bounds.h"
#include "generic_graph.h"
#include "kernels/panel_matmul.h"
#include "models/tensor.h"
#include "test_util.h"

namespace cosyvoice {
namespace {

using kernels::KernelIsa;
using kernels::PanelMatMul;

std::vector<float> Random(size_t count, std::mt19937 &rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(count);
  for (float &x : v) x = normal(rng);
  return v;
}

// y = x w + b (x [rows, k], w [k, n], b [n] or empty) against float64, each output within its bound
// (the bias is one more term: depth k + 1).
void ExpectProductWithinBound(const std::vector<float> &y, const std::vector<float> &x,
                              const std::vector<float> &w, const std::vector<float> &b, int64_t rows,
                              int64_t k, int64_t n, const std::string &what) {
  ASSERT_EQ(y.size(), static_cast<size_t>(rows * n)) << what;
  int reported = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < n; ++j) {
      double exact = b.empty() ? 0.0 : static_cast<double>(b[j]), magnitude = std::fabs(exact);
      for (int64_t i = 0; i < k; ++i) {
        const double term = static_cast<double>(x[r * k + i]) * static_cast<double>(w[i * n + j]);
        exact += term;
        magnitude += std::fabs(term);
      }
      const double got = y[r * n + j];
      if (!(std::fabs(got - exact) <= testing::Vs64(static_cast<double>(k + 1), magnitude)) && reported++ < 5)
        ADD_FAILURE() << what << ": y[" << r << "][" << j << "] is " << got << ", exact " << exact;
    }
}

TEST(PanelMatMul, PackPanelsPutsColumnsInPanelsOf16ZeroPadded) {
  const int64_t k = 3, n = 18;  // two panels, the second with 2 columns
  std::vector<float> w(k * n);
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(i + 1);
  const std::vector<float> p = kernels::PackPanels(w.data(), k, n);
  ASSERT_EQ(p.size(), static_cast<size_t>(2 * k * 16));
  EXPECT_EQ(p[0], w[0 * n + 0]);                      // panel 0, row 0, column 0
  EXPECT_EQ(p[1 * 16 + 5], w[1 * n + 5]);             // panel 0, row 1, column 5
  EXPECT_EQ(p[(1 * k + 2) * 16 + 1], w[2 * n + 17]);  // panel 1, row 2, column 17
  EXPECT_EQ(p[(1 * k + 2) * 16 + 2], 0.0f);           // beyond column n: zero
}

// Shapes of every kind the blocks must get right: one row (the decode) and row counts below, at and
// above the register blocks and the work units; column counts below one panel, at it, not a multiple
// of it and an odd number of panels (AVX-512's blocks take two); K of 1 and long K; with and without
// a bias.
TEST(PanelMatMul, EveryOutputWithinTheFloat32BoundOnEveryInstructionSet) {
  const int64_t ks[] = {1, 7, 64, 300};
  const int64_t ns[] = {1, 15, 16, 17, 48, 50, 100};
  const int64_t row_counts[] = {1, 2, 5, 12, 13, 97, 200};
  std::mt19937 rng(5);
  for (int64_t k : ks)
    for (int64_t n : ns) {
      const std::vector<float> w = Random(static_cast<size_t>(k * n), rng);
      const std::vector<float> p = kernels::PackPanels(w.data(), k, n);
      const std::vector<float> bias = n % 2 ? Random(static_cast<size_t>(n), rng) : std::vector<float>();
      for (int64_t rows : row_counts) {
        const std::vector<float> x = Random(static_cast<size_t>(rows * k), rng);
        for (KernelIsa isa : kernels::AvailableKernelIsas()) {
          PanelMatMul product(k, n, isa);
          std::vector<float> y(static_cast<size_t>(rows * n), NAN);
          product.Run(x.data(), rows, p.data(), bias.empty() ? nullptr : bias.data(), y.data());
          ExpectProductWithinBound(y, x, w, bias, rows, k, n,
                                   std::string(kernels::KernelIsaName(isa)) + " k " + std::to_string(k) +
                                       " n " + std::to_string(n) + " rows " + std::to_string(rows) +
                                       (bias.empty() ? "" : " bias"));
        }
      }
    }
}

// Threads run disjoint ranges of units, and a row's outputs do not depend on the rows beside it:
// any split, and the one-row product of the decode, give the same bits as one call over all rows.
TEST(PanelMatMul, AnySplitAndAnyRowCountGiveTheSameBits) {
  std::mt19937 rng(6);
  const int64_t k = 130, n = 81, rows = 150;
  const std::vector<float> w = Random(static_cast<size_t>(k * n), rng);
  const std::vector<float> p = kernels::PackPanels(w.data(), k, n);
  const std::vector<float> x = Random(static_cast<size_t>(rows * k), rng);
  const std::vector<float> bias = Random(static_cast<size_t>(n), rng);
  for (KernelIsa isa : kernels::AvailableKernelIsas()) {
    const PanelMatMul product(k, n, isa);
    std::vector<float> whole(static_cast<size_t>(rows * n)), split(whole.size(), NAN), one(whole.size(), NAN);
    product.Run(x.data(), rows, p.data(), bias.data(), whole.data());
    const size_t units = product.WorkUnits(rows);
    ASSERT_GT(units, 3u) << kernels::KernelIsaName(isa);
    for (size_t u = units; u-- > 0;)
      product.RunUnits(x.data(), rows, p.data(), bias.data(), split.data(), u, u + 1);
    EXPECT_EQ(std::memcmp(whole.data(), split.data(), whole.size() * sizeof(float)), 0)
        << kernels::KernelIsaName(isa);
    for (int64_t r = 0; r < rows; ++r)
      product.Run(x.data() + r * k, 1, p.data(), bias.data(), one.data() + r * n);
    EXPECT_EQ(std::memcmp(whole.data(), one.data(), whole.size() * sizeof(float)), 0)
        << kernels::KernelIsaName(isa);
  }
}

TEST(PanelMatMul, RejectsEmptyShapesNamingTheField) {
  EXPECT_THAT([] { PanelMatMul(0, 4); }, ::testing::ThrowsMessage<std::invalid_argument>(::testing::HasSubstr(
                                             "k (rows of the weight) must be positive")));
  EXPECT_THAT([] { PanelMatMul(4, -1); },
              ::testing::ThrowsMessage<std::invalid_argument>(
                  ::testing::HasSubstr("n (columns of the weight) must be positive")));
  EXPECT_EQ(PanelMatMul(4, 4).WorkUnits(0), 0u);
}

using Generic = testing::GenericGraph;

// The operator as ONNX Runtime runs it (rank-3 input, its thread pool, without and with a bias):
// within the bound of the float64 product by the weight written beside the graph, which
// make_test_graphs.py put in panels on its own (numpy), so this also checks the layout's contract.
const GraphSignature kPanelSignature{
    {{"x", DType::kFloat32, {-1, -1, 37}}},
    {{"y", DType::kFloat32, {-1, -1, 50}}, {"z", DType::kFloat32, {-1, -1, 50}}}};

TEST(PanelMatMulOperator, RunsInOnnxRuntimeWithinTheFloat32Bound) {
  RuntimeConfig config;
  config.intra_op_threads = testing::TestThreads();
  Generic graph(testing::TestData() / "graphs/panel_matmul.onnx", kPanelSignature, config);
  const std::vector<float> w = NpyArray::Load(testing::TestData() / "graphs/panel_w.npy").ToVector<float>();
  const std::vector<float> b = NpyArray::Load(testing::TestData() / "graphs/panel_b.npy").ToVector<float>();
  std::mt19937 rng(8);
  for (int64_t s : {1, 3, 40}) {
    std::vector<float> x = Random(static_cast<size_t>(2 * s * 37), rng);
    std::vector<Ort::Value> in;
    in.push_back(TensorView(x, {2, s, 37}));
    const std::vector<Ort::Value> out = graph.Run(in);
    ASSERT_EQ(out[0].GetTensorTypeAndShapeInfo().GetShape(), (std::vector<int64_t>{2, s, 50}));
    ExpectProductWithinBound(ToVector<float>(out[0]), x, w, {}, 2 * s, 37, 50, "S " + std::to_string(s));
    ExpectProductWithinBound(ToVector<float>(out[1]), x, w, b, 2 * s, 37, 50, "bias, S " + std::to_string(s));
  }
}

std::string SessionError(const char *file) {
  try {
    Generic graph(testing::TestData() / "graphs" / file, kPanelSignature, RuntimeConfig{});
  } catch (const Error &e) {
    return e.what();
  }
  return "the session was created";
}

TEST(PanelMatMulOperator, RefusesAWeightThatIsNotAConstantOrDoesNotMatchN) {
  EXPECT_THAT(SessionError("panel_matmul_input_weight.onnx"),
              ::testing::HasSubstr("PanelMatMul: input P must be a constant initializer"));
  EXPECT_THAT(
      SessionError("panel_matmul_wrong_n.onnx"),
      ::testing::HasSubstr("PanelMatMul: P must be [ceil(n / 16), K, 16] for n = 70, got [4, 37, 16]"));
  EXPECT_THAT(SessionError("panel_matmul_wrong_bias.onnx"),
              ::testing::HasSubstr("PanelMatMul: B must have n = 50 elements"));
}

// The graph declares X's last dimension symbolic, so only the operator can catch a wrong width.
TEST(PanelMatMulOperator, AnInputOfTheWrongWidthIsAnErrorNamingIt) {
  Generic graph(testing::TestData() / "graphs/panel_matmul.onnx",
                {{{"x", DType::kFloat32, {-1, -1, -1}}},
                 {{"y", DType::kFloat32, {-1, -1, 50}}, {"z", DType::kFloat32, {-1, -1, 50}}}},
                RuntimeConfig{});
  std::vector<float> x(2 * 36, 1.0f);
  std::vector<Ort::Value> in;
  in.push_back(TensorView(x, {1, 2, 36}));
  EXPECT_THAT(
      [&] { graph.Run(in); },
      ::testing::ThrowsMessage<Error>(::testing::HasSubstr("PanelMatMul: X must be [..., 37] of rank >= 2")));
}

}  // namespace
}  // namespace cosyvoice
