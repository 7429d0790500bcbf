// src/kernels/snake_generic.cc - the Snake kernel of snake.h for generic (4 floats per vector);
// src/CMakeLists.txt sets this file's ISA flags.
#include "kernels/snake_impl.h"

namespace cosyvoice::kernels {

void SnakeRowsGeneric(const float *x, float *y, int64_t first, int64_t last, int64_t length, int channels,
                      const float *alpha, const float *inv_alpha) {
  snake::SnakeKernel<4>::Rows(x, y, first, last, length, channels, alpha, inv_alpha);
}

void VectorSineGeneric(const float *t, float *out, int64_t count) {
  snake::SnakeKernel<4>::Sines(t, out, count);
}

}  // namespace cosyvoice::kernels
