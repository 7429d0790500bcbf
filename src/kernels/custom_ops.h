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
//   PanelMatMul (version 1): Y = X W for a float32 weight stored in the layout its kernel reads
//   (kernels/panel_matmul.h), so that ONNX Runtime has nothing to pack when the session is created.
//   X float [..., K] of rank >= 2; P float [ceil(N / 16), K, 16], a constant initializer (W's columns
//   in panels of 16, zero-padded), read in place at each call; B float [N], optional and constant,
//   added to each finished sum (as MatMul then Add); attribute n = N. Y float [..., N]. Each output a
//   K-term sum in order k = 0 .. K - 1: the same bits for any split of the work.
//
//   All three: CPU execution provider only.
#pragma once

#include <onnxruntime_cxx_api.h>  // NOLINT

namespace cosyvoice::kernels {

inline constexpr const char *kCustomOpDomain = "org.cosyvoice_ort";

// Adds the operators to `options`. The domain and its operators are created once per process and
// outlive every session (ONNX Runtime keeps pointers to them).
void AddCustomOps(OrtSessionOptions *options);

}  // namespace cosyvoice::kernels
