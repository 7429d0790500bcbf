"""``hift/hift_generator.onnx`` written node by node from the reference module's weights.

Why not trace: a trace of :class:`~.hift_graphs.HiftGenerator` gives ONNX Runtime a graph it runs
about as fast as PyTorch runs the module (docs/bundle.md §3.5, "Vocoder speed" in
docs/quantization.md has the profile).  Writing the graph directly lets it

* fold every causal zero padding into the ``pads`` attribute of its ``Conv`` (the trace emits a
  ``Pad`` node - a full copy of the activation - before each of the 80 convolutions);
* compute each nearest-upsample + convolution (``CausalConv1dUpsample``) in the polyphase form:
  upsampling by ``r`` and convolving with ``k`` taps equals, for each output phase ``p``, a
  convolution of the *un-upsampled* input with ``ceil((k-1)/r)+1`` taps whose weights are sums of
  the original taps.  All phases are one ``Conv`` with ``r * C_out`` output channels followed by
  an interleave (``Reshape``/``Transpose``/``Reshape``): ``k/(ceil((k-1)/r)+1)`` times fewer
  multiply-adds (16 taps -> 3 at r = 8) and no ``Resize``;
* write Snake as ``x + sin(a x)^2 / a'`` with ``1 / (a + 1e-9)`` precomputed (the trace evaluates
  ``Reciprocal`` and ``Pow`` per call).

The arithmetic is the reference's except for the summation order inside the polyphase taps
(float32 sums of at most ``ceil(k/r)`` weights) and the precomputed reciprocal; the exporter checks
the graph against ``CausalHiFTGenerator.decode`` like the traced one (rel 1e-4, docs/parity.md).
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ..models.hift import CausalConv1d, CausalConv1dDownSample, CausalConv1dUpsample, CausalHiFTGenerator
from .hift_graphs import stft_basis
from .onnx_io import OPSET

__all__ = ["build_generator", "polyphase_weights"]


def polyphase_weights(w: np.ndarray, r: int) -> Tuple[np.ndarray, int]:
    """Nearest-upsample by ``r`` then a causal conv (left pad k-1) with weight ``w [O, I, k]``
    equals a causal conv of the original input with ``D + 1`` taps per phase, D = ceil((k-1)/r):

        y[r q + p] = sum_{d=-D..0} V[p, d] . x[q + d],   V[p, d] = sum_{j: floor((p+j-k+1)/r) = d} w[j]

    Returns (V as one conv weight ``[r * O, I, D + 1]`` with output channel ``o * r + p`` for phase
    ``p`` of channel ``o`` and tap ``D + d`` for offset ``d``, D).  Sums in float64, then float32."""
    o, i, k = w.shape
    d_max = -((1 - k) // r)        # ceil((k - 1) / r)
    v = np.zeros((o, r, i, d_max + 1), np.float64)
    w64 = w.astype(np.float64)
    for p in range(r):
        for j in range(k):
            d = (p + j - k + 1) // r            # in [-D, 0]
            v[:, p, :, d_max + d] += w64[:, :, j]
    return v.reshape(o * r, i, d_max + 1).astype(np.float32), d_max


class _Builder:
    """Accumulates nodes and initializers; tensors are [1, C, L] (float32)."""

    def __init__(self) -> None:
        self.nodes: List[onnx.NodeProto] = []
        self.inits: List[onnx.TensorProto] = []
        self.count = 0

    def name(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def const(self, value: np.ndarray, hint: str) -> str:
        n = self.name(hint)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value), n))
        return n

    def op(self, op_type: str, inputs: Sequence[str], hint: str, **attrs) -> str:
        out = self.name(hint)
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=out, **attrs))
        return out

    def conv(self, x: str, w: np.ndarray, b: Optional[np.ndarray], hint: str, pads=(0, 0), dilation: int = 1,
             stride: int = 1) -> str:
        ins = [x, self.const(w.astype(np.float32), hint + ".w")]
        if b is not None:
            ins.append(self.const(b.astype(np.float32), hint + ".b"))
        return self.op("Conv", ins, hint, kernel_shape=[int(w.shape[2])], pads=[int(pads[0]), int(pads[1])],
                       dilations=[int(dilation)], strides=[int(stride)])


def _np(t) -> np.ndarray:
    return t.detach().cpu().to(dtype=__import__("torch").float32).numpy()


def _causal(b: _Builder, conv: CausalConv1d, x: str, hint: str) -> str:
    p = conv.causal_padding
    pads = (p, 0) if conv.causal_type == "left" else (0, p)
    return b.conv(x, _np(conv.weight), _np(conv.bias), hint, pads, conv.dilation[0])


def _downsample(b: _Builder, conv: CausalConv1dDownSample, x: str, hint: str) -> str:
    return b.conv(x, _np(conv.weight), _np(conv.bias), hint, (conv.causal_padding, 0), 1, conv.stride[0])


def _upsample(b: _Builder, conv: CausalConv1dUpsample, x: str, hint: str) -> str:
    """Polyphase form (module docstring): one conv to [1, O r, L], then channel o r + p -> time r q + p."""
    r = conv.up
    v, d = polyphase_weights(_np(conv.weight), r)
    bias = np.repeat(_np(conv.bias), r)
    y = b.conv(x, v, bias, hint, (d, 0))                                    # [1, O r, L]
    o = conv.weight.shape[0]
    y = b.op("Reshape", [y, b.const(np.array([1, o, r, -1], np.int64), hint + ".s4")], hint + ".r4")
    y = b.op("Transpose", [y], hint + ".t", perm=[0, 1, 3, 2])               # [1, O, L, r]
    return b.op("Reshape", [y, b.const(np.array([1, o, -1], np.int64), hint + ".s3")], hint + ".r3")


def _snake(b: _Builder, alpha, x: str, hint: str) -> str:
    a = _np(alpha).reshape(1, -1, 1)
    inv = (np.float32(1.0) / (a + np.float32(1e-9))).astype(np.float32)   # as torch: 1.0 / (alpha + 1e-9)
    s = b.op("Sin", [b.op("Mul", [x, b.const(a, hint + ".a")], hint + ".ax")], hint + ".sin")
    s2 = b.op("Mul", [s, s], hint + ".sq")
    return b.op("Add", [x, b.op("Mul", [s2, b.const(inv, hint + ".inv")], hint + ".scaled")], hint)


def _resblock(b: _Builder, rb, x: str, hint: str) -> str:
    for j, (c1, c2, a1, a2) in enumerate(zip(rb.convs1, rb.convs2, rb.activations1, rb.activations2)):
        y = _snake(b, a1.alpha, x, f"{hint}.a1.{j}")
        y = _causal(b, c1, y, f"{hint}.c1.{j}")
        y = _snake(b, a2.alpha, y, f"{hint}.a2.{j}")
        y = _causal(b, c2, y, f"{hint}.c2.{j}")
        x = b.op("Add", [y, x], f"{hint}.res.{j}")
    return x


def build_generator(hift: CausalHiFTGenerator) -> onnx.ModelProto:
    """forward(mel [1, 80, T], harmonics [1, 480 T, 9]) -> (real, imag) [1, 9, 120 T + 1], the
    quantity of :func:`~.hift_graphs.reference_spectrum`, as an opset-17 ModelProto (no metadata,
    shapes declared by the caller via onnx_io.postprocess)."""
    cfg = hift.cfg
    b = _Builder()
    n_fft, hop = cfg.istft_n_fft, cfg.istft_hop_len
    half = n_fft // 2 + 1

    # source: tanh(l_linear(harmonics)) [1, S, 1] -> [1, 1, S]; reflect pad; STFT as a strided conv
    lin = hift.m_source.l_linear
    s = b.op("MatMul", ["harmonics", b.const(_np(lin.weight).T.copy(), "l_linear.w")], "l_linear.mm")
    s = b.op("Tanh", [b.op("Add", [s, b.const(_np(lin.bias), "l_linear.b")], "l_linear")], "source")
    s = b.op("Reshape", [s, b.const(np.array([1, 1, -1], np.int64), "source.shape")], "source.ncl")
    s = b.op("Pad", [s, b.const(np.array([0, 0, n_fft // 2, 0, 0, n_fft // 2], np.int64), "stft.pads")],
             "stft.pad", mode="reflect")
    s_stft = b.conv(s, stft_basis(n_fft).numpy(), None, "stft", stride=hop)   # [1, n_fft + 2, S / hop + 1]

    x = _causal(b, hift.conv_pre, "mel", "conv_pre")
    n_k = len(cfg.resblock_kernel_sizes)
    for i, up in enumerate(hift.ups):
        x = b.op("LeakyRelu", [x], f"ups.{i}.lrelu", alpha=float(cfg.lrelu_slope))
        x = _upsample(b, up, x, f"ups.{i}")
        if i == len(hift.ups) - 1:   # ReflectionPad1d((1, 0))
            x = b.op("Pad", [x, b.const(np.array([0, 0, 1, 0, 0, 0], np.int64), "reflect1.pads")], "reflect1",
                     mode="reflect")
        down = hift.source_downs[i]
        si = (_downsample(b, down, s_stft, f"source_downs.{i}") if isinstance(down, CausalConv1dDownSample)
              else _causal(b, down, s_stft, f"source_downs.{i}"))
        si = _resblock(b, hift.source_resblocks[i], si, f"source_resblocks.{i}")
        x = b.op("Add", [x, si], f"stage.{i}.in")
        xs = None
        for j in range(n_k):
            y = _resblock(b, hift.resblocks[i * n_k + j], x, f"resblocks.{i * n_k + j}")
            xs = y if xs is None else b.op("Add", [xs, y], f"stage.{i}.sum.{j}")
        x = b.op("Div", [xs, b.const(np.array(n_k, np.float32), f"stage.{i}.n")], f"stage.{i}.mean")
    x = b.op("LeakyRelu", [x], "post.lrelu", alpha=0.01)
    x = _causal(b, hift.conv_post, x, "conv_post")
    mag_l, ph_l = (b.name("mag_logits"), b.name("phase_logits"))
    b.nodes.append(helper.make_node("Split", [x, b.const(np.array([half, half], np.int64), "split")],
                                    [mag_l, ph_l], name="split", axis=1))
    mag = b.op("Clip", [b.op("Exp", [mag_l], "mag_exp"), "", b.const(np.array(100.0, np.float32), "mag_max")],
               "magnitude")
    phase = b.op("Sin", [ph_l], "phase")
    b.nodes.append(helper.make_node("Mul", [mag, b.op("Cos", [phase], "cos")], ["real"], name="real"))
    b.nodes.append(helper.make_node("Mul", [mag, b.op("Sin", [phase], "sin")], ["imag"], name="imag"))

    f32 = TensorProto.FLOAT
    graph = helper.make_graph(
        b.nodes, "hift_generator",
        [helper.make_tensor_value_info("mel", f32, [1, cfg.in_channels, "T"]),
         helper.make_tensor_value_info("harmonics", f32, [1, "samples", cfg.n_harmonic_channels])],
        [helper.make_tensor_value_info("real", f32, [1, half, "frames"]),
         helper.make_tensor_value_info("imag", f32, [1, half, "frames"])],
        b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    return model
