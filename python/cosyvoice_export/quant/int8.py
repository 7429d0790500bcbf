"""int8 weights for the weight matrix products of a graph (docs/quantization.md).

Two routes, both run by ONNX Runtime's CPU provider (``com.microsoft`` operators):

``dynamic``  ``DynamicQuantizeMatMul(x, Wq, w_scale, w_zero, bias)``: per call, ONNX Runtime
    quantizes ``x`` to uint8 with one asymmetric scale for the whole tensor (``DynamicQuantizeLinear``
    semantics), multiplies in integers (exact int32 sums) and scales back per output column.
    Weights are symmetric per output column.  ``weight_bits = 7`` (default) keeps them in
    ``[-63, 63]``: the AVX2 kernel without VNNI multiplies uint8 by int8 with ``VPMADDUBSW``, which
    adds two products into a *saturating* int16, and ``2 * 255 * 63 = 32130`` fits while
    ``2 * 255 * 127`` does not (docs/quantization.md, toolchain research §4) - full-range int8
    weights give wrong results on such CPUs.  ``weight_type = "uint8"`` (zero point 128, 8 bits)
    takes ONNX Runtime's u8u8 kernels instead, which do not saturate.

``nbits``  ``MatMulNBits(bits = 8)``: symmetric weights per block of ``block_size`` inputs per
    column (zero point 128), ``accuracy_level`` 4 quantizes the activations to int8 per block.

:func:`emulate_dynamic` computes what ``DynamicQuantizeMatMul`` must return, exactly up to the final
float32 scaling, for the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np
import onnx
from onnx import helper, numpy_helper

from .weights import drop_unused_initializers, find_weight_products, replace_product

MS_DOMAIN = "com.microsoft"


@dataclass
class Int8Options:
    route: str = "dynamic"          # "dynamic" or "nbits"
    weight_bits: int = 7            # dynamic route, int8 weights: 7 (AVX2-safe) or 8
    weight_type: str = "int8"       # dynamic route: "int8" (symmetric) or "uint8" (zero point 128)
    block_size: int = 32            # nbits route
    accuracy_level: int = 4         # nbits route: 4 = int8 activations
    min_size: int = 16384           # smaller weight matrices stay float32

    def validate(self) -> None:
        if self.route not in ("dynamic", "nbits"):
            raise ValueError(f"int8 route must be 'dynamic' or 'nbits', got {self.route!r}")
        if self.weight_type not in ("int8", "uint8"):
            raise ValueError(f"weight_type must be 'int8' or 'uint8', got {self.weight_type!r}")
        if self.weight_type == "int8" and self.weight_bits not in (7, 8):
            raise ValueError(f"weight_bits must be 7 or 8, got {self.weight_bits}")
        if self.block_size < 16 or self.block_size & (self.block_size - 1):
            raise ValueError(f"block_size must be a power of two >= 16, got {self.block_size}")
        if self.accuracy_level not in (0, 1, 2, 3, 4):
            raise ValueError(f"accuracy_level must be 0..4, got {self.accuracy_level}")

    def describe(self) -> Dict[str, object]:
        if self.route == "dynamic":
            return {"route": "DynamicQuantizeMatMul", "activations": "uint8 per tensor, per call",
                    "weights": (f"int8 symmetric per column, {self.weight_bits}-bit range" if self.weight_type == "int8"
                                else "uint8 per column, zero point 128"),
                    "min_size": self.min_size}
        return {"route": "MatMulNBits", "bits": 8, "block_size": self.block_size,
                "accuracy_level": self.accuracy_level, "weights": "symmetric per block, zero point 128",
                "min_size": self.min_size}


# ---- weight quantizers ----------------------------------------------------------------------------

def quantize_columns(w: np.ndarray, weight_type: str = "int8", weight_bits: int = 7):
    """W [K, N] -> (Wq [K, N], scale [N] float32, zero [N]) with W ~ (Wq - zero) * scale.

    int8: symmetric, |Wq| <= 2^(bits-1) - 1; uint8: zero point 128, Wq in [1, 255]."""
    qmax = (2 ** (weight_bits - 1) - 1) if weight_type == "int8" else 127
    amax = np.abs(w).max(axis=0).astype(np.float64)
    scale = np.where(amax > 0, amax / qmax, 1.0).astype(np.float32)
    q = np.clip(np.rint(w.astype(np.float64) / scale.astype(np.float64)), -qmax, qmax)
    if weight_type == "int8":
        return q.astype(np.int8), scale, np.zeros(w.shape[1], np.int8)
    return (q + 128).astype(np.uint8), scale, np.full(w.shape[1], 128, np.uint8)


def quantize_blocks(w: np.ndarray, block_size: int):
    """W [K, N] -> MatMulNBits(bits=8) inputs: packed uint8 [N, n_blocks, block_size], scales
    [N * n_blocks] float32; symmetric per block (zero point 128 implied), K padded with zeros."""
    k, n = w.shape
    n_blocks = -(-k // block_size)
    wt = np.zeros((n, n_blocks * block_size), np.float64)
    wt[:, :k] = w.T
    wt = wt.reshape(n, n_blocks, block_size)
    amax = np.abs(wt).max(axis=2)
    scale = np.where(amax > 0, amax / 127.0, 1.0)
    q = np.clip(np.rint(wt / scale[:, :, None]), -127, 127) + 128
    return q.astype(np.uint8), scale.astype(np.float32).reshape(-1)


def dequantize_blocks(packed: np.ndarray, scales: np.ndarray, k: int) -> np.ndarray:
    n, n_blocks, bs = packed.shape
    w = (packed.astype(np.float64) - 128) * scales.reshape(n, n_blocks, 1).astype(np.float64)
    return w.reshape(n, -1)[:, :k].T


# ---- reference arithmetic -----------------------------------------------------------------------------

def dynamic_quantize_linear(x: np.ndarray):
    """ONNX DynamicQuantizeLinear: uint8, scale = (max(x,0) - min(x,0)) / 255, zero point rounded
    half to even; returns (xq uint8, scale float32, zero uint8)."""
    x = np.asarray(x, np.float32)
    lo = np.float32(min(float(x.min()), 0.0))
    hi = np.float32(max(float(x.max()), 0.0))
    scale = np.float32((hi - lo) / np.float32(255.0))
    if scale == 0:
        return np.zeros(x.shape, np.uint8), np.float32(0.0), np.uint8(0)
    zero = np.uint8(np.clip(np.rint(-lo / scale), 0, 255))
    xq = np.clip(np.rint(x / scale) + zero, 0, 255).astype(np.uint8)
    return xq, scale, zero


def emulate_dynamic(x: np.ndarray, wq: np.ndarray, w_scale: np.ndarray, w_zero: np.ndarray,
                    bias: Optional[np.ndarray] = None) -> np.ndarray:
    """What DynamicQuantizeMatMul computes: exact integer products of the quantized operands,
    scaled by x_scale * w_scale[n] (float64 here; ORT rounds to float32 once more)."""
    xq, xs, xz = dynamic_quantize_linear(x)
    acc = (xq.astype(np.int64) - int(xz)) @ (wq.astype(np.int64) - w_zero.astype(np.int64))
    y = acc.astype(np.float64) * (np.float64(xs) * w_scale.astype(np.float64))
    if bias is not None:
        y = y + bias.astype(np.float64)
    return y


# ---- the rewrite --------------------------------------------------------------------------------------

def _ensure_ms_opset(model: onnx.ModelProto) -> None:
    if not any(o.domain == MS_DOMAIN for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(MS_DOMAIN, 1))


def quantize_int8(model: onnx.ModelProto, opts: Optional[Int8Options] = None,
                  only: Optional[List[str]] = None) -> List[Dict[str, object]]:
    """Rewrites ``model`` in place; returns one record per rewritten product (name, K, N).
    ``only``: restrict to nodes whose name contains one of these substrings."""
    opts = opts or Int8Options()
    opts.validate()
    products = find_weight_products(model, opts.min_size)
    if only:
        products = [p for p in products if any(s in p.node.name for s in only)]
    graph = model.graph
    new_inits: List[onnx.TensorProto] = []
    done: List[Dict[str, object]] = []
    for i, wp in enumerate(products):
        k, n = wp.weight.shape
        base = f"q8_{i}_{wp.node.name or wp.weight_name}".replace("/", "_")
        bias_input = ""
        if wp.bias is not None:
            bias_input = base + ".bias"
            new_inits.append(numpy_helper.from_array(wp.bias.astype(np.float32), bias_input))
        if opts.route == "dynamic":
            q, scale, zero = quantize_columns(wp.weight, opts.weight_type, opts.weight_bits)
            names = [base + ".w", base + ".scale", base + ".zero"]
            new_inits += [numpy_helper.from_array(q, names[0]), numpy_helper.from_array(scale, names[1]),
                          numpy_helper.from_array(zero, names[2])]
            node = helper.make_node("DynamicQuantizeMatMul", [wp.node.input[0]] + names + [bias_input],
                                    [wp.output], name=base, domain=MS_DOMAIN)
        else:
            packed, scales = quantize_blocks(wp.weight, opts.block_size)
            names = [base + ".w", base + ".scales"]
            new_inits += [numpy_helper.from_array(packed, names[0]), numpy_helper.from_array(scales, names[1])]
            inputs = [wp.node.input[0]] + names
            if bias_input:
                inputs += ["", "", bias_input]           # zero_points, g_idx, bias
            node = helper.make_node("MatMulNBits", inputs, [wp.output], name=base, domain=MS_DOMAIN,
                                    K=k, N=n, bits=8, block_size=opts.block_size,
                                    accuracy_level=opts.accuracy_level)
        replace_product(graph, wp, node)
        done.append({"node": wp.node.name, "K": int(k), "N": int(n)})
    graph.initializer.extend(new_inits)
    if done:
        _ensure_ms_opset(model)
    drop_unused_initializers(model)
    return done
