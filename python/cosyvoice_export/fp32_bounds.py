"""Float32 error bounds: the tolerances of the parity checks and tests are derived from these
(docs/parity.md, "How tolerances are derived"; the C++ tests use tests/unit/fp32_bounds.h).

The model (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., §2.2 and §3.1):

* float32 rounds to nearest with unit roundoff ``U = 2**-24`` (about 5.96e-8);
* a sum or dot product of ``n`` terms evaluated in **any** order (any SIMD width, blocking, or split
  over any number of threads) is within ``gamma(n) * sum|terms|`` of the exact value,
  ``gamma(n) = n U / (1 - n U)`` (Higham eq. 3.5). Two float32 evaluations that differ only in order
  or kernels (PyTorch vs ONNX Runtime, AVX2 vs AVX-512, 1 vs 4 threads, one length vs another)
  therefore differ by at most ``2 gamma(n) sum|terms|`` (:func:`pair`);
* float32 transcendental functions (exp, log, sin, cos, tanh, erf, sqrt, pow) of glibc, SLEEF, MLAS,
  Eigen and PocketFFT twiddles are accurate to ``FN_ULPS = 4`` ulp (their documented bounds are 1-3.5);
* a network is a chain of reductions. To first order the errors of the reductions on a chain add
  when each stage passes its input error on with gain <= 1 (normalised layers; activations with
  mean |f'| about 1). :func:`weight_depth` sums the fan-in of every weight layer of a module (all
  branches, so at least the longest chain) and ``FN_ULPS`` per nonlinear stage; attention adds
  the positions it sums over twice (softmax denominator and the weighted values). The magnitude is
  the largest |value| of the compared quantity, or 1 where layer norms make activations unit-RMS.

Nothing here depends on the CPU, the thread count or a library version, which is the point.
"""
from __future__ import annotations

import math

U = 2.0 ** -24          # float32 unit roundoff
U64 = 2.0 ** -53        # float64 unit roundoff
FN_ULPS = 4             # ulps of a float32 transcendental function


def gamma(n: float, u: float = U) -> float:
    """Relative error bound of an n-term sum or dot product in any order (Higham's gamma_n)."""
    n = float(n)
    if n * u >= 1.0:
        raise ValueError(f"gamma({n:g}) is undefined: n u >= 1")
    return n * u / (1.0 - n * u)


def chain(*lengths: float, transcendental: int = 0) -> float:
    """Accumulation depth of a chain of reductions, plus FN_ULPS per transcendental stage."""
    return float(sum(lengths)) + FN_ULPS * transcendental


def pair(depth: float, scale: float = 1.0) -> float:
    """Largest difference of two float32 evaluations of a chain of ``depth`` on terms of ``scale``."""
    return 2.0 * gamma(depth) * scale


def vs64(depth: float, scale: float = 1.0) -> float:
    """Largest difference between a float32 evaluation and a float64 one of the same chain."""
    return (gamma(depth) + gamma(depth, U64)) * scale


def fft_depth(n: int) -> float:
    """Accumulation depth of one bin of a mixed-radix (real) FFT of size n (kissfft, PocketFFT, MKL):
    one butterfly per prime factor p of n, summing p terms after a twiddle multiply (p + 2 roundings)
    with float32 twiddles (FN_ULPS per level), plus a real FFT's split step (4 roundings, a twiddle).
    The error of a bin is gamma(fft_depth(n)) times the frame's l1 norm sum |x|."""
    d, p = 4.0 + FN_ULPS, 2
    while n > 1:
        while n % p == 0:
            d += p + 2 + FN_ULPS
            n //= p
        p += 1
    return d


# ---- accumulation depth of a module ---------------------------------------------------------------

_NONLINEAR = ("SiLU", "GELU", "Mish", "Tanh", "ELU", "Sigmoid", "Softplus", "LeakyReLU", "ReLU", "Snake")


def weight_depth(module) -> int:
    """Sum over the weight layers of ``module`` of their fan-in (Linear: in_features; Conv: in/groups x
    kernel; ConvTranspose: in/groups x ceil(kernel / stride)), plus 2 x dim + FN_ULPS per norm layer and
    FN_ULPS per nonlinear activation module. Conservative: parallel branches are all counted."""
    from torch import nn  # the exporter's environment always has torch; keep this module importable without

    depth = 0
    for m in module.modules():
        name = type(m).__name__
        if isinstance(m, nn.Linear):
            depth += m.in_features
        elif isinstance(m, nn.ConvTranspose1d):
            depth += m.in_channels // m.groups * math.ceil(m.kernel_size[0] / m.stride[0])
        elif isinstance(m, (nn.Conv1d, nn.Conv2d)):
            depth += m.in_channels // m.groups * math.prod(m.kernel_size)
        elif isinstance(m, nn.LayerNorm) or name.endswith("RMSNorm"):
            weight = getattr(m, "weight", None)
            depth += 2 * (weight.numel() if weight is not None else 1) + FN_ULPS
        elif name in _NONLINEAR:
            depth += FN_ULPS
    return depth


def attention_depth(layers: int, positions: int) -> float:
    """What ``layers`` attention layers over ``positions`` keys add: the softmax denominator and the
    weighted sum of the values (``positions`` terms each), exp and the rotary sin/cos."""
    return layers * chain(2 * positions, transcendental=3)


def llm_depth(llm, positions: int) -> float:
    """CosyVoice3LM (Qwen2 + llm_decoder) over ``positions`` cached positions: every weight layer,
    layer norms (counted as modules) and attention."""
    return weight_depth(llm) + attention_depth(llm.cfg.qwen.num_hidden_layers, positions)


def dit_depth(estimator, frames: int) -> float:
    """The DiT estimator on ``frames`` frames: weight layers, the functional layer norms of the
    AdaLN blocks (2 x dim each, two per block and the final one), attention and the sinusoidal
    time embedding (sin, cos, exp)."""
    cfg = estimator.cfg
    norms = (2 * cfg.depth + 1) * chain(2 * cfg.dim, transcendental=1)
    return weight_depth(estimator) + norms + attention_depth(cfg.depth, frames) + chain(transcendental=3)


def euler_cfg_gain(cfg_rate: float) -> float:
    """Gain of the Euler/CFG solver on per-step velocity errors: v = (1 + r) v_c - r v_u turns errors e
    of both calls into at most (1 + 2r) e, and x_N = x_0 + sum dt_k v_k with sum dt_k = 1 sums them
    with weights dt_k; with the solver's Lipschitz constant taken as 1 over the unit time interval
    the propagated error grows by at most e^1 (Gronwall)."""
    return math.e * (1.0 + 2.0 * float(cfg_rate))


_ONNX_FN = {"Exp", "Log", "Tanh", "Sigmoid", "Erf", "Sqrt", "Pow", "Sin", "Cos", "Softplus", "Gelu", "Reciprocal"}
_ONNX_REDUCE = {"ReduceMean", "ReduceSum", "GlobalAveragePool", "Softmax", "LogSoftmax", "ReduceL2"}


def onnx_graph_depth(path, reduce_len: int) -> float:
    """Accumulation depth of an ONNX graph (a file, or an ``onnx.ModelProto``; for graphs the reference
    does not hold as PyTorch modules: CAM++, the speech tokenizer): the fan-in of every MatMul/Gemm/Conv with a constant weight, ``reduce_len``
    per reduction over a dynamic axis (mean/sum pooling, softmax) and FN_ULPS per transcendental node.
    Conservative like weight_depth: every branch is counted."""
    import onnx
    from onnx import numpy_helper

    g = (path if isinstance(path, onnx.ModelProto) else onnx.load(str(path), load_external_data=False)).graph
    shapes = {i.name: list(i.dims) for i in g.initializer}
    for n in g.node:                                     # Constant nodes hold weights too
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    shapes[n.output[0]] = list(numpy_helper.to_array(a.t).shape)
    depth = 0.0
    for n in g.node:
        w = shapes.get(n.input[1]) if len(n.input) > 1 else None
        if n.op_type == "MatMul" and w and len(w) >= 2:
            depth += w[-2]
        elif n.op_type == "Gemm" and w and len(w) == 2:
            trans_b = any(a.name == "transB" and a.i for a in n.attribute)
            depth += w[1] if trans_b else w[0]
        elif n.op_type in ("Conv", "ConvTranspose") and w and len(w) >= 3:
            depth += w[1] * math.prod(w[2:])
        elif n.op_type in _ONNX_REDUCE:
            depth += reduce_len + (FN_ULPS if n.op_type in ("Softmax", "LogSoftmax") else 0)
        elif n.op_type in _ONNX_FN:
            depth += FN_ULPS
    return depth


def qwen2_depth(hidden: int, intermediate: int, layers: int, positions: int, q_dim: int = 0) -> float:
    """The Qwen2 decoder + llm_decoder from its dimensions (for graphs built from weights, not a
    module: the fused LLM graph): per layer an RMS norm (2 x hidden), the q/k/v projections and the
    output projection (hidden and q_dim terms), gate/up (hidden), SiLU, down (intermediate), the second
    RMS norm, attention over ``positions``; then the final norm and the decoder (hidden)."""
    q_dim = q_dim or hidden
    norm = chain(2 * hidden, transcendental=1)
    per_layer = 2 * norm + 3 * hidden + q_dim + 2 * hidden + chain(intermediate, transcendental=1)
    return layers * per_layer + attention_depth(layers, positions) + norm + hidden


# Toom-Cook points of the WinogradConv1d kernel (src/kernels/winograd_conv1d.cc kPoints), then infinity
WINOGRAD_POINTS = (0.0, 1.0, -1.0, 2.0, -2.0, 0.5)
WINOGRAD_TILE = 4


def _winograd_growth(r: int) -> float:
    """max over the tile's outputs e of sum_p |AT[e,p]| |G[p,:]|_1 |BT[p,:]|_1 / r: how much larger
    than a direct dot product's sum|terms| the expanded sum of |terms| of one F(4, r) output can be
    when the kernel taps and inputs have equal magnitudes (16 for r = 3, 18.4 for r = 4)."""
    import numpy as np

    m, n = WINOGRAD_TILE, WINOGRAD_TILE + r - 1

    def evaluation(cols):
        e = np.zeros((n, cols))
        for i in range(n - 1):
            e[i] = [WINOGRAD_POINTS[i] ** j for j in range(cols)]
        e[n - 1, cols - 1] = 1.0
        return e

    g, h, c = evaluation(r), evaluation(m), np.linalg.inv(evaluation(n))
    at, bt = h.T, c.T
    growth = [sum(abs(at[e, p]) * abs(g[p]).sum() * abs(bt[p]).sum() for p in range(n)) for e in range(m)]
    return max(growth) / r


def winograd_conv_depth(c_in: int, k: int) -> float:
    """Accumulation depth of one WinogradConv1d output in the units of :func:`weight_depth` (a direct
    convolution counts c_in k): F(4, r) with r = min(k, 4) on ceil(k / r) kernel pieces rounds through
    the input transform (n = 3 + r terms), the product over pieces and channels, the output transform
    and the bias (n + 1), plus once each for the float32 transform matrices and transformed kernel
    (2 n + pieces c_in + 4 in all), on a sum of |terms| up to :func:`_winograd_growth` times a direct
    product's (tests/unit/test_winograd_conv1d.cc checks the per-output form of this bound)."""
    r = min(k, WINOGRAD_TILE)
    n, pieces = WINOGRAD_TILE + r - 1, -(-k // r)
    return _winograd_growth(r) * (2 * n + pieces * c_in + 4)
