// src/kernels/winograd_tiles_avx2.cc - the tile kernel of winograd_conv1d.h for avx2 (8 floats per
// vector, 6 x 16 outputs per register block); src/CMakeLists.txt sets this file's ISA flags.
#include "kernels/winograd_tiles.h"

namespace cosyvoice::kernels {

void RunWinogradAvx2(const WinogradLayout &layout, const float *x, int64_t input_length, float *y,
                     size_t begin, size_t end) {
  tiles::TileKernel<8, 6>::Run(layout, x, input_length, y, begin, end);
}

}  // namespace cosyvoice::kernels
