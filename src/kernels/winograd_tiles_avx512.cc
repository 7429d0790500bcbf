// src/kernels/winograd_tiles_avx512.cc - the tile kernel of winograd_conv1d.h for avx512 (16 floats per
// vector, 8 x 32 outputs per register block); src/CMakeLists.txt sets this file's ISA flags.
#include "kernels/winograd_tiles.h"

namespace cosyvoice::kernels {

void RunWinogradAvx512(const WinogradLayout &layout, const float *x, int64_t input_length, float *y,
                       size_t begin, size_t end) {
  tiles::TileKernel<16, 8>::Run(layout, x, input_length, y, begin, end);
}

}  // namespace cosyvoice::kernels
