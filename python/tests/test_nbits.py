"""The MatMulNBits packer (export/nbits.py): codes and layout, and ONNX Runtime's kernel on the packed
weights against numpy, with error bounds derived from float32 arithmetic (no observed constants).

Bounds used (u = 2^-24, gamma_n = n u / (1 - n u), Higham, Accuracy and Stability of Numerical
Algorithms, 2nd ed., Lemma 3.1 / Eq. 3.5):

* accuracy level 0/1 (float32 path): ONNX Runtime dequantizes each weight to float32 (one rounding of
  ``q * scale``) and sums K products in some order with or without FMA, so
  ``|y - y64| <= gamma_{K+2} * sum_k |a_k| |w_k|`` with ``w`` the exact dequantized weight; this
  holds for any summation order, blocking or thread split.
* accuracy level 4 (int8 activations): per block the integer dot product is exact; ``A`` is quantized
  per row and block with ``scale_a = max|a| / 127``. The kernel's reciprocal may be computed
  differently per ISA; we allow it a relative error of 2^-12 (even an ``rcp`` approximation meets
  that after one Newton step), so an activation code may differ from ours by one exactly where
  ``a / scale_a`` lies within that error of a half-integer: those positions contribute
  ``scale_a |w_k|`` each to the bound. The integer sums are exact; converting and scaling them
  and summing in float32 takes at most K + 3 roundings whatever the kernel's granularity:
  ``gamma_{K+3} * sum_k |qa_k qw_k| scale_a |scale_w|``.
"""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from cosyvoice_export.export import nbits
from cosyvoice_export.ort import OrtGraph

U = 2.0 ** -24


def gamma(n):
    return n * U / (1 - n * U)


def _weights(rng, k, n):
    w = rng.standard_normal((k, n)).astype(np.float32) * 0.05
    w[rng.random((k, n)) < 0.01] *= 8          # some outliers, as trained weights have
    w[:, 0] = 0                                  # an all-zero column: scale 0 must work
    return w


def _graph(tmp_path, p: nbits.PackedWeight, acc: int):
    a = helper.make_tensor_value_info("A", TensorProto.FLOAT, ["M", p.k])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["M", p.n])
    node = helper.make_node("MatMulNBits", ["A", "B", "S"], ["Y"], domain="com.microsoft", K=p.k, N=p.n, bits=p.bits,
                            block_size=p.block_size, accuracy_level=acc)
    g = helper.make_graph([node], "nbits", [a], [y], [numpy_helper.from_array(p.b, "B"),
                                                      numpy_helper.from_array(p.scales, "S")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
    m.ir_version = 8
    path = tmp_path / f"nbits_{p.bits}_{p.block_size}_{acc}.onnx"
    onnx.save(m, str(path))
    return path


@pytest.mark.parametrize("bits", [4, 8])
@pytest.mark.parametrize("block", [16, 32, 64, 128])
def test_codes_layout_and_rounding(bits, block):
    rng = np.random.default_rng(bits * 1000 + block)
    k, n = 200, 9                                 # K not a multiple of any block size
    w = _weights(rng, k, n)
    p = nbits.pack(w, bits, block)
    nb = -(-k // block)
    assert p.b.dtype == np.uint8 and p.b.shape == (n, nb, block * bits // 8)
    assert p.scales.dtype == np.float32 and p.scales.shape == (n * nb,)
    codes, scales = nbits.quantize_codes(w, bits, block)
    assert np.array_equal(nbits.unpack_codes(p), codes)                 # pack/unpack are inverse
    half = 1 << (bits - 1)
    assert codes.min() >= -half and codes.max() <= half - 1
    # nibble order: value 2j of a block is the low nibble of byte j
    if bits == 4:
        assert np.array_equal(p.b[:, :, 0] & 0x0F, (codes[:, :, 0] + 8).astype(np.uint8))
        assert np.array_equal(p.b[:, :, 0] >> 4, (codes[:, :, 1] + 8).astype(np.uint8))
    wd = nbits.dequantize(p)
    # every value within half a step of its code, except past the top code (the side opposite the
    # block's extreme reaches +2^(bits-1) steps, one more than the codes have): there the code is
    # the top one and the error at most one step; the largest magnitude of each block is exact
    wt = np.zeros((n, nb * block), np.float64)
    wt[:, :k] = w.T
    sc = scales.astype(np.float64).reshape(n, nb, 1).repeat(block, 2).reshape(n, -1)[:, :k].T
    step = np.abs(sc)
    ratio = w / np.where(sc == 0, 1, sc)
    inside = ratio <= half - 0.5
    assert np.all(np.abs(wd - w)[inside] <= step[inside] / 2 * (1 + 1e-6))
    assert np.all(codes.transpose(1, 2, 0).reshape(-1, n)[:k][~inside] == half - 1)
    assert np.all(np.abs(wd - w)[~inside] <= step[~inside] * (1 + 1e-6))
    blocks = wt.reshape(n, nb, block)
    idx = np.abs(blocks).argmax(2)
    ext = np.take_along_axis(blocks, idx[:, :, None], 2)[:, :, 0]
    ext_q = np.take_along_axis(codes.astype(np.float64) * scales[:, :, None], idx[:, :, None], 2)[:, :, 0]
    np.testing.assert_allclose(ext_q, ext, rtol=2 * U, atol=0)
    assert np.all(codes[:, :, :][np.broadcast_to(np.arange(nb * block).reshape(nb, block) >= k, codes.shape)] == 0)
    assert np.all(wd[:, 0] == 0)


def test_rejects_bad_options():
    w = np.zeros((32, 4), np.float32)
    with pytest.raises(ValueError, match="bits"):
        nbits.pack(w, 3, 32)
    with pytest.raises(ValueError, match="block_size"):
        nbits.pack(w, 4, 24)
    with pytest.raises(ValueError, match="2-D"):
        nbits.pack(np.zeros(32, np.float32), 4, 32)


@pytest.mark.parametrize("bits", [4, 8])
@pytest.mark.parametrize("block", [32, 128])
@pytest.mark.parametrize("threads", [1, 2])
def test_ort_float_path_equals_dequantized_matmul(tmp_path, bits, block, threads):
    rng = np.random.default_rng(7 + bits + block)
    k, n = 250, 70
    w = _weights(rng, k, n)
    p = nbits.pack(w, bits, block)
    wd = nbits.dequantize(p)                                   # exact (float64)
    with OrtGraph(_graph(tmp_path, p, 0), threads=threads) as g:
        for m in (1, 3, 17):
            a = rng.standard_normal((m, k)).astype(np.float32)
            y = g.run({"A": a})["Y"].astype(np.float64)
            ref = a.astype(np.float64) @ wd
            bound = gamma(k + 2) * (np.abs(a.astype(np.float64)) @ np.abs(wd))
            assert np.all(np.abs(y - ref) <= bound), (m, float(np.max(np.abs(y - ref) / np.maximum(bound, 1e-30))))


def _acc4_bound(a, p):
    """|y - emulation| bound for accuracy level 4 (module docstring)."""
    qa, sa = nbits.quantize_activations_int8(a, p.block_size)       # [M, nb, bs], [M, nb]
    m, k = a.shape
    nb, bs = p.n_blocks, p.block_size
    ap = np.zeros((m, nb * bs), np.float64)
    ap[:, :k] = a
    x = ap.reshape(m, nb, bs) / np.where(sa > 0, sa, 1)[:, :, None]
    frac = np.abs(x - np.floor(x) - 0.5)
    ambiguous = (frac <= np.abs(x) * 2.0 ** -12 + 1e-12).astype(np.float64)     # a code may be off by one
    qw = nbits.unpack_codes(p).astype(np.float64)                                # [N, nb, bs]
    sw = np.abs(p.scales.reshape(p.n, nb).astype(np.float64))
    # integer partial sums are exact; however finely the kernel turns them into floats, at most
    # K + 3 roundings (scale product, conversion, K-term sum) touch sum_k |qa_k qw_k| sa |sw|
    ints = np.einsum("mbk,nbk->mnb", np.abs(qa.astype(np.float64)), np.abs(qw))
    accum = gamma(k + 3) * np.einsum("mnb,mb,nb->mn", ints, sa, sw)
    flips = np.einsum("mbk,nbk,mb,nb->mn", ambiguous, np.abs(qw), sa, sw)
    return accum + flips


@pytest.mark.parametrize("bits", [4, 8])
@pytest.mark.parametrize("block", [32, 64, 128])
def test_ort_int8_activation_path_equals_emulation(tmp_path, bits, block):
    rng = np.random.default_rng(100 + bits + block)
    k, n = 256, 40
    w = _weights(rng, k, n)
    p = nbits.pack(w, bits, block)
    with OrtGraph(_graph(tmp_path, p, 4), threads=2) as g:
        for m in (1, 4):                                    # M = 1 is the decode step (ORT #29853)
            a = rng.standard_normal((m, k)).astype(np.float32)
            y = g.run({"A": a})["Y"].astype(np.float64)
            emu = nbits.matmul_int8_activations(a, p)
            assert np.all(np.abs(y - emu) <= _acc4_bound(a, p)), (bits, block, m)
            # and it is a quantized product, not garbage: close to the float result
            ref = a.astype(np.float64) @ nbits.dequantize(p)
            assert np.max(np.abs(y - ref)) < 0.05 * np.max(np.abs(ref))
