// src/kernels/winograd_conv1d.h - a 1-D convolution computed with Winograd's minimal filtering, fused
// in one pass per block of output tiles (issue #16's vocoder goal, docs/quantization.md §4.2).
//
// y[o, t] = b[o] + sum_{i, j} w[o, i, j] x[i, t + j d - pad_left] (zero outside the input), the
// ONNX Conv of one group and stride 1. Each output phase t mod d is a dilation-1 convolution of the
// input's same phase; its outputs are cut into tiles of m = 4, the kernel into pieces of r = min(k, 4)
// taps, and each tile and piece is computed as F(4, r) (Lavin & Gray 2016,
// https://arxiv.org/abs/1509.09308): n = 4 + r - 1 products per piece instead of 4 r. Kernel pieces
// are 4 taps apart, one tile, so every piece reads the same transformed input shifted by one tile and
// the products of all pieces and input channels are one matrix product per evaluation point:
// 2x (k = 3, 7) to 2.1x (k = 11) fewer multiplications than the direct form. The transforms run on
// a block of tiles held in cache, between the matrix products, instead of as passes over memory
// (what made the same algorithm written as ONNX operators slower, §4.1).
//
// Thread-safe after construction: Run and RunUnits only read the object (scratch is per thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/kernel_isa.h"

namespace cosyvoice::kernels {

struct Conv1dShape {
  int in_channels = 0;
  int out_channels = 0;
  int kernel = 0;
  int dilation = 1;
  int pad_left = 0;  // a multiple of `dilation` (the phases of input and output then coincide)
  int pad_right = 0;
  // Empty when the shape is valid, else what is wrong, naming the field.
  std::string Problem() const;
  // Output samples for `input_length` input samples (may be <= 0: no output).
  int64_t OutputLength(int64_t input_length) const;
};

// The F(m, r) transforms of the Toom-Cook points 0, 1, -1, 2, -2, 1/2 and infinity (the first
// n - 1 finite ones), computed in double: y = AT [(G g) * (BT d)] for a tile d of n inputs, a kernel
// piece g of r taps and m outputs (the correlation form, the transpose of Toom-Cook's product).
struct WinogradMatrices {
  int m = 0, r = 0, n = 0;
  std::vector<double> at;  // m x n
  std::vector<double> bt;  // n x n
  std::vector<double> g;   // n x r
  static WinogradMatrices Make(int m, int r);
};

// The layout every tile kernel reads; built once per layer by WinogradConv1d.
struct WinogradLayout {
  Conv1dShape shape;
  int m = 4, r = 0, n = 0, pieces = 0;
  int mr = 0;                 // output channels per register block of the ISA's kernel
  std::vector<float> at, bt;  // AT (m x n) and BT (n x n) in float
  // The transformed kernel, [point][channel block][piece * in_channels + i][mr] (zero-padded rows).
  std::vector<float> weights;
  std::vector<float> bias;  // out_channels (zeros without a bias)
};

class WinogradConv1d {
 public:
  // `weight` is [out_channels, in_channels, kernel] row-major, `bias` [out_channels] or null.
  // Throws std::invalid_argument with Conv1dShape::Problem(), or when `isa` is not available.
  WinogradConv1d(const Conv1dShape &shape, const float *weight, const float *bias,
                 KernelIsa isa = KernelIsa::kBest);

  const Conv1dShape &shape() const { return layout_.shape; }
  KernelIsa isa() const { return isa_; }

  // Independent pieces of work for one input of `input_length` samples (blocks of tiles of one
  // phase), for a thread pool: RunUnits over disjoint ranges writes disjoint outputs.
  size_t WorkUnits(int64_t input_length) const;
  // x [in_channels, input_length] -> y [out_channels, OutputLength(input_length)], units
  // [begin, end) of WorkUnits(input_length).
  void RunUnits(const float *x, int64_t input_length, float *y, size_t begin, size_t end) const;
  void Run(const float *x, int64_t input_length, float *y) const {
    RunUnits(x, input_length, y, 0, WorkUnits(input_length));
  }

 private:
  WinogradLayout layout_;
  KernelIsa isa_;
};

// One phase's share of the work: `tiles` tiles of m outputs, in blocks of `block` tiles.
struct WinogradPhasePlan {
  int64_t input_samples = 0;  // of this phase
  int64_t output_samples = 0;
  int64_t tiles = 0;
};
// Tiles per block of work: the block's transformed input (n x in_channels x block floats) kept
// near 192 KiB, a multiple of `columns` (the kernel's register width in tiles).
int WinogradBlockTiles(const WinogradLayout &layout, int columns);

// The tile kernels, one per instruction set (winograd_tiles_*.cc); `units` as RunUnits.
void RunWinogradGeneric(const WinogradLayout &layout, const float *x, int64_t input_length, float *y,
                        size_t begin, size_t end);
void RunWinogradAvx2(const WinogradLayout &layout, const float *x, int64_t input_length, float *y,
                     size_t begin, size_t end);
void RunWinogradAvx512(const WinogradLayout &layout, const float *x, int64_t input_length, float *y,
                       size_t begin, size_t end);
// Register rows (output channels) and columns (tiles) of each instruction set's kernel.
int WinogradRows(KernelIsa isa);
int WinogradColumns(KernelIsa isa);

}  // namespace cosyvoice::kernels
