// src/kernels/snake.cc - the choice of Snake kernel (snake.h).
#include "kernels/snake.h"

#include <stdexcept>
#include <string>

namespace cosyvoice::kernels {
namespace {

WinogradIsa Checked(WinogradIsa isa) {
  if (isa == WinogradIsa::kBest) return BestWinogradIsa();
  if (!WinogradIsaAvailable(isa))
    throw std::invalid_argument(std::string("Snake: this build or CPU has no ") + WinogradIsaName(isa) +
                                " kernel");
  return isa;
}

}  // namespace

void SnakeRows(const float *x, float *y, int64_t first, int64_t last, int64_t length, int channels,
               const float *alpha, const float *inv_alpha, WinogradIsa isa) {
  switch (Checked(isa)) {
#if defined(COSYVOICE_WINOGRAD_X86)
    case WinogradIsa::kAvx512: return SnakeRowsAvx512(x, y, first, last, length, channels, alpha, inv_alpha);
    case WinogradIsa::kAvx2: return SnakeRowsAvx2(x, y, first, last, length, channels, alpha, inv_alpha);
#endif
    default: return SnakeRowsGeneric(x, y, first, last, length, channels, alpha, inv_alpha);
  }
}

void VectorSine(const float *t, float *out, int64_t count, WinogradIsa isa) {
  switch (Checked(isa)) {
#if defined(COSYVOICE_WINOGRAD_X86)
    case WinogradIsa::kAvx512: return VectorSineAvx512(t, out, count);
    case WinogradIsa::kAvx2: return VectorSineAvx2(t, out, count);
#endif
    default: return VectorSineGeneric(t, out, count);
  }
}

}  // namespace cosyvoice::kernels
