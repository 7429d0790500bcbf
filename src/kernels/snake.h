// src/kernels/snake.h - HiFT's Snake activation, y = x + sin(a x)^2 / a' per channel, in one pass
// with a vectorized sine (issue #16's vocoder goal, docs/quantization.md §4.2).
//
// ONNX Runtime runs the base graph's form (Mul, Sin, Mul, Mul, Add; export/hift_builder.py) as five
// passes over the activation with a scalar sine: 0.4 s of the full-size vocoder's 1.2 s on one
// thread. The same float32 operations in the same order here, except the sine: VectorSine, within
// 2 units of 2^-24 of sin(t) (absolute; tests/unit/test_snake.cc).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/kernel_isa.h"

namespace cosyvoice::kernels {

// Arguments beyond this use std::sin: the three-part reduction by pi/2 below is exact while the
// quadrant index times the first part fits in a float's 24 bits.
inline constexpr float kVectorSineLimit = 8192.0f;

// y[c][i] = x[c][i] + sin(x[c][i] * alpha[c])^2 * inv_alpha[c] for rows [first, last) of `rows`
// rows of `length` samples; row r has channel r % channels. y may alias x.
void SnakeRows(const float *x, float *y, int64_t first, int64_t last, int64_t length, int channels,
               const float *alpha, const float *inv_alpha, KernelIsa isa = KernelIsa::kBest);

// sin of `count` values (for the tests): the kernel's sine alone.
void VectorSine(const float *t, float *out, int64_t count, KernelIsa isa = KernelIsa::kBest);

// The per-ISA bodies (snake_*.cc).
void SnakeRowsGeneric(const float *x, float *y, int64_t first, int64_t last, int64_t length, int channels,
                      const float *alpha, const float *inv_alpha);
void SnakeRowsAvx2(const float *x, float *y, int64_t first, int64_t last, int64_t length, int channels,
                   const float *alpha, const float *inv_alpha);
void SnakeRowsAvx512(const float *x, float *y, int64_t first, int64_t last, int64_t length, int channels,
                     const float *alpha, const float *inv_alpha);
void VectorSineGeneric(const float *t, float *out, int64_t count);
void VectorSineAvx2(const float *t, float *out, int64_t count);
void VectorSineAvx512(const float *t, float *out, int64_t count);

}  // namespace cosyvoice::kernels
