#!/usr/bin/env python3
"""Probe: could Winograd convolutions written as ONNX operators make HiFT's resblocks faster than
ONNX Runtime's direct ``Conv``?  (Issue #16's vocoder goal, docs/quantization.md §4.1.)

    PYTHONPATH=python /usr/bin/python3 bench/probe_winograd_conv.py [--m 4] [--threads 1] [--rounds 5]

For each resblock convolution shape of the full-size HiFT (channels x samples x kernel x dilation
at each of the three upsampling stages), one random layer is written two ways and timed in
alternating rounds on the same input:

* ``direct``: one causal ``Conv`` (left pad ``(k-1) d``, dilation ``d``), as export/hift_builder.py
  writes it;
* ``winograd``: the dilation taken out by a polyphase split (the ``d`` phases become the batch),
  the kernel cut into pieces of ``m`` taps, Winograd's minimal filtering F(m, min(k, m)) on tiles of
  ``m`` outputs (Lavin & Gray 2016, https://arxiv.org/abs/1509.09308; matrices from Toom-Cook
  points 0, 1, -1, 2, -2, 1/2 and infinity, computed exactly here): the input transform a strided
  ``Conv``, the channel mixing one grouped ``Conv`` (one group per evaluation point, the kernel's
  pieces as its taps), the output transform a ``MatMul``.  ``m + min(k, m) - 1`` multiplications
  per ``m`` outputs and kernel piece instead of ``k`` per output: 2.1x fewer for k = 11 at m = 4.

* ``operator``: the project's fused kernel, one ``org.cosyvoice_ort.WinogradConv1d`` node
  (src/kernels/winograd_conv1d.h; needs ``build/lib/libcosyvoice_ops.so``, or ``$COSYVOICE_OPS_LIBRARY``,
  from ``make build``): the transforms stay in cache between the matrix products (docs/quantization.md §4.2).

Prints per shape the median wall time of each, their ratio, the achieved rate of the direct form,
and each form's max error relative to a float64 evaluation (the Winograd transforms amplify
float32 rounding; the ratio of the two errors is what a parity bound would have to absorb).
"""
import argparse
import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

from cosyvoice_export.ort import OrtGraph, ops_library_path  # noqa: E402

# (channels, samples for 5 s of audio, kernel, dilation): stage 1 (256 ch), 2 (128), 3 (64)
SHAPES = [(256, 2000, 11, 5), (256, 2000, 3, 1), (128, 10000, 11, 5), (128, 10000, 7, 3),
          (64, 30000, 11, 5), (64, 30000, 7, 1), (64, 30000, 3, 1)]
# finite Toom-Cook points for n = m + r - 1 evaluation points (the n-th is infinity)
POINTS = [0, 1, -1, 2, -2, Fraction(1, 2), Fraction(-1, 2), 3]


def _invert(rows):
    """Exact inverse of a square matrix of Fractions (Gauss-Jordan)."""
    n = len(rows)
    a = [list(r) + [Fraction(int(i == j)) for j in range(n)] for i, r in enumerate(rows)]
    for c in range(n):
        p = next(i for i in range(c, n) if a[i][c] != 0)
        a[c], a[p] = a[p], a[c]
        a[c] = [x / a[c][c] for x in a[c]]
        for i in range(n):
            if i != c and a[i][c] != 0:
                f = a[i][c]
                a[i] = [x - f * y for x, y in zip(a[i], a[c])]
    return [r[n:] for r in a]


def winograd_matrices(m: int, r: int):
    """F(m, r) for y_i = sum_j g_j d_(i+j): y = AT [(G g) * (BT d)] (the transpose of Toom-Cook
    polynomial multiplication). Returns float64 AT [m, n], G [n, r], BT [n, n]."""
    n = m + r - 1
    pts = [Fraction(p) for p in POINTS[:n - 1]]

    def evaluation(k):   # a degree k-1 polynomial at each point, and its leading coefficient
        return [[p ** i for i in range(k)] for p in pts] + [[Fraction(0)] * (k - 1) + [Fraction(1)]]

    at = np.array(evaluation(m), dtype=object).T
    g = np.array(evaluation(r), dtype=object)
    bt = np.array(_invert(evaluation(n)), dtype=object).T
    return tuple(np.array(x, dtype=np.float64) for x in (at, g, bt))


class _Graph:
    def __init__(self):
        self.nodes, self.inits, self.count = [], [], 0

    def const(self, value):
        self.count += 1
        name = "c%d" % self.count
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, op_type, inputs, **attrs):
        self.count += 1
        out = "n%d" % self.count
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=out, **attrs))
        return out

    def model(self, out, channels):
        f32 = TensorProto.FLOAT
        g = helper.make_graph(self.nodes, "probe", [helper.make_tensor_value_info("x", f32, [1, channels, "T"])],
                              [helper.make_tensor_value_info(out, f32, None)], self.inits)
        model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        return model


def direct_conv(w, bias, d):
    g = _Graph()
    k = w.shape[2]
    y = g.op("Conv", ["x", g.const(w), g.const(bias)], kernel_shape=[k], pads=[(k - 1) * d, 0], dilations=[d])
    return g.model(y, w.shape[1])


def operator_conv(w, bias, d):
    g = _Graph()
    k = w.shape[2]
    g.count += 1
    out = "n%d" % g.count
    g.nodes.append(helper.make_node("WinogradConv1d", ["x", g.const(w), g.const(bias)], [out], name=out,
                                    domain="org.cosyvoice_ort", kernel_shape=[k], pads=[(k - 1) * d, 0],
                                    dilations=[d]))
    model = g.model(out, w.shape[1])
    model.opset_import.append(helper.make_opsetid("org.cosyvoice_ort", 1))
    return model


def winograd_conv(w, bias, d, m, samples):
    """The same causal convolution for an input of `samples` (a multiple of m d) samples."""
    out_ch, in_ch, k = w.shape
    r = min(k, m)
    pieces = -(-k // m)
    n = m + r - 1
    at, gm, bt = winograd_matrices(m, r)
    wp = np.zeros((out_ch, in_ch, pieces * r), np.float64)
    wp[:, :, :k] = w
    # U[p, s, o, c] = sum_j G[p, j] w[o, c, s m + j]: piece s of the kernel at evaluation point p
    u = np.stack([np.einsum("pj,ocj->poc", gm, wp[:, :, s * m:s * m + r]) for s in range(pieces)], 1)
    q = samples // d
    tiles = q // m
    padded = (tiles + pieces) * m * d
    g = _Graph()
    x = g.op("Pad", ["x", g.const(np.array([0, 0, (k - 1) * d, 0, 0, padded - samples - (k - 1) * d], np.int64))])
    if d > 1:   # polyphase: sample t d + phase -> [phase, C, t]
        x = g.op("Reshape", [x, g.const(np.array([in_ch, padded // d, d], np.int64))])
        x = g.op("Transpose", [x], perm=[2, 0, 1])
    x = g.op("Reshape", [x, g.const(np.array([d * in_ch, 1, padded // d], np.int64))])
    v = g.op("Conv", [x, g.const(bt.reshape(n, 1, n).astype(np.float32))], kernel_shape=[n], strides=[m])
    v = g.op("Reshape", [v, g.const(np.array([d, in_ch, n, -1], np.int64))])
    v = g.op("Transpose", [v], perm=[0, 2, 1, 3])                        # [d, point, C, tile]
    v = g.op("Reshape", [v, g.const(np.array([d, n * in_ch, -1], np.int64))])
    mixing = u.transpose(0, 2, 3, 1).reshape(n * out_ch, in_ch, pieces).astype(np.float32)
    y = g.op("Conv", [v, g.const(mixing)], kernel_shape=[pieces], group=n)   # [d, point O, tiles]
    y = g.op("Reshape", [y, g.const(np.array([d, n, out_ch, tiles], np.int64))])
    y = g.op("Transpose", [y], perm=[0, 2, 3, 1])                        # [d, O, tile, point]
    y = g.op("MatMul", [y, g.const(at.T.astype(np.float32))])            # [d, O, tile, m]
    if d > 1:
        y = g.op("Reshape", [y, g.const(np.array([d, out_ch, q], np.int64))])
        y = g.op("Transpose", [y], perm=[1, 2, 0])
    y = g.op("Reshape", [y, g.const(np.array([1, out_ch, samples], np.int64))])
    y = g.op("Add", [y, g.const(bias.reshape(1, out_ch, 1))])
    return g.model(y, in_ch)


def reference(x, w, bias, d):
    out_ch, in_ch, k = w.shape
    samples = x.shape[2]
    xp = np.concatenate([np.zeros((in_ch, (k - 1) * d)), x[0].astype(np.float64)], 1)
    y = np.zeros((out_ch, samples))
    for j in range(k):
        y += w[:, :, j].astype(np.float64) @ xp[:, j * d:j * d + samples]
    return y + bias[:, None]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--m", type=int, default=4, help="outputs per Winograd tile (2-4)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    if not 2 <= args.m <= 4:
        ap.error("--m must be 2, 3 or 4 (more points than 0, +-1, +-2, 1/2, inf lose float32 accuracy)")
    rng = np.random.default_rng(0)
    print("m = %d, %d thread(s), %d alternating rounds, medians" % (args.m, args.threads, args.rounds))
    with tempfile.TemporaryDirectory() as tmp:
        for channels, samples, k, d in SHAPES:
            samples = -(-samples // (args.m * d)) * args.m * d
            w = (rng.standard_normal((channels, channels, k)) / np.sqrt(channels * k)).astype(np.float32)
            bias = (0.1 * rng.standard_normal(channels)).astype(np.float32)
            x = rng.standard_normal((1, channels, samples)).astype(np.float32)
            paths = [Path(tmp) / "direct.onnx", Path(tmp) / "winograd.onnx", Path(tmp) / "operator.onnx"]
            onnx.save(direct_conv(w, bias, d), paths[0])
            onnx.save(winograd_conv(w, bias, d, args.m, samples), paths[1])
            onnx.save(operator_conv(w, bias, d), paths[2])
            graphs = [OrtGraph(p, threads=args.threads) for p in paths[:2]]
            graphs.append(OrtGraph(paths[2], threads=args.threads, custom_ops_library=ops_library_path()))
            exact = reference(x, w, bias, d)
            scale = np.abs(exact).max()
            errors = [np.abs(next(iter(g.run({"x": x}).values()))[0] - exact).max() / scale for g in graphs]
            times = [[], [], []]
            for _ in range(args.rounds):
                for i, g in enumerate(graphs):
                    t0 = time.perf_counter()
                    g.run({"x": x})
                    times[i].append(time.perf_counter() - t0)
            td, tw, to = (statistics.median(t) for t in times)
            print("C %3d  samples %5d  k %2d  d %d: direct %6.1f ms (%3.0f GFLOP/s), winograd nodes %6.1f ms: %.2fx, "
                  "operator %6.1f ms: %.2fx;  max rel error %.1e / %.1e / %.1e"
                  % (channels, samples, k, d, td * 1e3, 2 * channels * channels * k * samples / td / 1e9,
                     tw * 1e3, td / tw, to * 1e3, td / to, errors[0], errors[1], errors[2]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
