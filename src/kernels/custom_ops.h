// src/kernels/custom_ops.h - this project's ONNX Runtime operators (domain org.cosyvoice_ort): the
// kernels of this folder as custom operators that bundle graphs may use (docs/bundle.md §7).
//
//   WinogradConv1d (version 1): Y = Conv(X, W, B) of one group and stride 1, computed by
//   kernels/winograd_conv1d.h. X float [N, C_in, L]; W float [C_out, C_in, k], a constant
//   initializer (transformed once, when the session is created); B float [C_out], optional and
//   constant. Attributes: dilations [d] (default 1), pads [left, right] (default 0, left a multiple
//   of d), kernel_shape [k] (optional, must match W). Y float [N, C_out, L + left + right - (k-1) d].
//
//   Snake (version 1): Y = X + sin(X A)^2 INV per channel (axis 1), HiFT's activation in one pass
//   (kernels/snake.h). X float [N, C, L]; A and INV float constant initializers of C elements each
//   (e.g. [1, C, 1]); Y float, X's shape. The products and the sum round as the base graph's Mul,
//   Mul, Mul and Add do; the sine is the kernel's own (within 2 units of 2^-24).
//
//   Both: CPU execution provider only.
#pragma once

#include <onnxruntime_cxx_api.h>  // NOLINT

namespace cosyvoice::kernels {

inline constexpr const char *kCustomOpDomain = "org.cosyvoice_ort";

// Adds the operators to `options`. The domain and its operators are created once per process and
// outlive every session (ONNX Runtime keeps pointers to them).
void AddCustomOps(OrtSessionOptions *options);

}  // namespace cosyvoice::kernels
