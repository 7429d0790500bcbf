// src/kernels/winograd_conv1d.cc - the transforms, the kernel's layout and the choice of tile
// kernel (winograd_conv1d.h).
#include "kernels/winograd_conv1d.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "kernels/winograd_tiles.h"

namespace cosyvoice::kernels {
namespace {

constexpr int kTileOutputs = 4;  // m: F(4, r) for r <= 4 keeps n <= 7 points (float32 error ~10x direct)
constexpr double kPoints[] = {0.0, 1.0, -1.0, 2.0, -2.0, 0.5};  // then infinity

// rows x cols: row i evaluates a polynomial of `cols` coefficients at point i (the last: infinity,
// which takes the leading coefficient).
std::vector<double> Evaluation(int rows, int cols) {
  std::vector<double> e(static_cast<size_t>(rows) * cols, 0.0);
  for (int i = 0; i + 1 < rows; ++i) {
    double power = 1.0;
    for (int j = 0; j < cols; ++j, power *= kPoints[i]) e[i * cols + j] = power;
  }
  e[(rows - 1) * cols + cols - 1] = 1.0;
  return e;
}

// Gauss-Jordan with partial pivoting; the matrices are at most 7 x 7 and well conditioned.
std::vector<double> Inverse(std::vector<double> a, int n) {
  std::vector<double> inv(static_cast<size_t>(n) * n, 0.0);
  for (int i = 0; i < n; ++i) inv[i * n + i] = 1.0;
  for (int c = 0; c < n; ++c) {
    int pivot = c;
    for (int i = c + 1; i < n; ++i)
      if (std::fabs(a[i * n + c]) > std::fabs(a[pivot * n + c])) pivot = i;
    for (int j = 0; j < n; ++j) {
      std::swap(a[c * n + j], a[pivot * n + j]);
      std::swap(inv[c * n + j], inv[pivot * n + j]);
    }
    const double scale = a[c * n + c];
    for (int j = 0; j < n; ++j) {
      a[c * n + j] /= scale;
      inv[c * n + j] /= scale;
    }
    for (int i = 0; i < n; ++i) {
      if (i == c) continue;
      const double f = a[i * n + c];
      for (int j = 0; j < n; ++j) {
        a[i * n + j] -= f * a[c * n + j];
        inv[i * n + j] -= f * inv[c * n + j];
      }
    }
  }
  return inv;
}

// [point][channel block][piece * in + i][rows]: G applied to each kernel piece, in double.
std::vector<float> TransformWeights(const Conv1dShape &sh, const WinogradMatrices &w, int pieces, int rows,
                                    const float *weight) {
  const int blocks = (sh.out_channels + rows - 1) / rows;
  const int64_t k = static_cast<int64_t>(pieces) * sh.in_channels;
  std::vector<float> out(static_cast<size_t>(w.n) * blocks * k * rows, 0.0f);
  for (int p = 0; p < w.n; ++p)
    for (int o = 0; o < sh.out_channels; ++o)
      for (int j = 0; j < pieces; ++j)
        for (int i = 0; i < sh.in_channels; ++i) {
          const float *taps = weight + (static_cast<int64_t>(o) * sh.in_channels + i) * sh.kernel;
          double sum = 0.0;
          for (int t = 0; t < w.r; ++t) {
            const int tap = j * w.r + t;
            if (tap < sh.kernel) sum += w.g[p * w.r + t] * static_cast<double>(taps[tap]);
          }
          const int64_t row = (static_cast<int64_t>(p) * blocks + o / rows) * k + j * sh.in_channels + i;
          out[row * rows + o % rows] = static_cast<float>(sum);
        }
  return out;
}

}  // namespace

std::string Conv1dShape::Problem() const {
  if (in_channels < 1) return "in_channels must be >= 1";
  if (out_channels < 1) return "out_channels must be >= 1";
  if (kernel < 1) return "kernel must be >= 1";
  if (dilation < 1) return "dilation must be >= 1";
  if (pad_left < 0 || pad_right < 0) return "pads must be >= 0";
  if (pad_left % dilation != 0) return "pads[0] must be a multiple of the dilation";
  return {};
}

int64_t Conv1dShape::OutputLength(int64_t input_length) const {
  return input_length + pad_left + pad_right - static_cast<int64_t>(kernel - 1) * dilation;
}

WinogradMatrices WinogradMatrices::Make(int m, int r) {
  WinogradMatrices w;
  w.m = m;
  w.r = r;
  w.n = m + r - 1;
  const int n = w.n;
  w.g = Evaluation(n, r);
  const std::vector<double> h = Evaluation(n, m);
  const std::vector<double> c = Inverse(Evaluation(n, n), n);
  w.at.assign(static_cast<size_t>(m) * n, 0.0);
  w.bt.assign(static_cast<size_t>(n) * n, 0.0);
  for (int i = 0; i < m; ++i)
    for (int k = 0; k < n; ++k) w.at[i * n + k] = h[k * m + i];
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < n; ++k) w.bt[i * n + k] = c[k * n + i];
  return w;
}

int WinogradBlockTiles(const WinogradLayout &layout, int columns) {
  const int64_t budget = 192 * 1024 / (4 * layout.n * static_cast<int64_t>(layout.shape.in_channels));
  return static_cast<int>(std::max<int64_t>(columns, budget / columns * columns));
}

int WinogradRows(KernelIsa isa) {
  switch (ResolvedKernelIsa(isa)) {
    case KernelIsa::kAvx512: return 8;
    case KernelIsa::kAvx2: return 6;
    default: return 6;
  }
}

int WinogradColumns(KernelIsa isa) {
  switch (ResolvedKernelIsa(isa)) {
    case KernelIsa::kAvx512: return 32;
    case KernelIsa::kAvx2: return 16;
    default: return 8;
  }
}

WinogradConv1d::WinogradConv1d(const Conv1dShape &shape, const float *weight, const float *bias,
                               KernelIsa isa)
    : isa_(CheckedKernelIsa(isa, "WinogradConv1d")) {
  if (const std::string problem = shape.Problem(); !problem.empty())
    throw std::invalid_argument("WinogradConv1d: " + problem);
  WinogradLayout &l = layout_;
  l.shape = shape;
  l.m = kTileOutputs;
  l.r = std::min(shape.kernel, kTileOutputs);
  const WinogradMatrices w = WinogradMatrices::Make(l.m, l.r);
  l.n = w.n;
  l.pieces = (shape.kernel + l.r - 1) / l.r;
  l.mr = WinogradRows(isa_);
  l.at.assign(w.at.begin(), w.at.end());
  l.bt.assign(w.bt.begin(), w.bt.end());
  l.weights = TransformWeights(shape, w, l.pieces, l.mr, weight);
  l.bias.assign(static_cast<size_t>(shape.out_channels), 0.0f);
  if (bias != nullptr) std::copy(bias, bias + shape.out_channels, l.bias.begin());
}

size_t WinogradConv1d::WorkUnits(int64_t input_length) const {
  const int block = WinogradBlockTiles(layout_, WinogradColumns(isa_));
  size_t units = 0;
  for (int phase = 0; phase < layout_.shape.dilation; ++phase)
    units += static_cast<size_t>(tiles::CeilDiv(tiles::PhasePlan(layout_, input_length, phase).tiles, block));
  return units;
}

void WinogradConv1d::RunUnits(const float *x, int64_t input_length, float *y, size_t begin,
                              size_t end) const {
#if defined(COSYVOICE_KERNELS_X86)
  if (isa_ == KernelIsa::kAvx512) return RunWinogradAvx512(layout_, x, input_length, y, begin, end);
  if (isa_ == KernelIsa::kAvx2) return RunWinogradAvx2(layout_, x, input_length, y, begin, end);
#endif
  RunWinogradGeneric(layout_, x, input_length, y, begin, end);
}

}  // namespace cosyvoice::kernels
