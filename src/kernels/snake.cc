// src/kernels/snake.cc - the choice of Snake kernel (snake.h).
#include "kernels/snake.h"

namespace cosyvoice::kernels {

void SnakeRows(const float *x, float *y, int64_t first, int64_t last, int64_t length, int channels,
               const float *alpha, const float *inv_alpha, KernelIsa isa) {
  switch (CheckedKernelIsa(isa, "Snake")) {
#if defined(COSYVOICE_KERNELS_X86)
    case KernelIsa::kAvx512: return SnakeRowsAvx512(x, y, first, last, length, channels, alpha, inv_alpha);
    case KernelIsa::kAvx2: return SnakeRowsAvx2(x, y, first, last, length, channels, alpha, inv_alpha);
#endif
    default: return SnakeRowsGeneric(x, y, first, last, length, channels, alpha, inv_alpha);
  }
}

void VectorSine(const float *t, float *out, int64_t count, KernelIsa isa) {
  switch (CheckedKernelIsa(isa, "Snake")) {
#if defined(COSYVOICE_KERNELS_X86)
    case KernelIsa::kAvx512: return VectorSineAvx512(t, out, count);
    case KernelIsa::kAvx2: return VectorSineAvx2(t, out, count);
#endif
    default: return VectorSineGeneric(t, out, count);
  }
}

}  // namespace cosyvoice::kernels
