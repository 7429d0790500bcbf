"""Blockwise symmetric weight quantization for ONNX Runtime's ``com.microsoft.MatMulNBits``.

Written with numpy only (the ``onnxruntime`` Python package and its quantizer are not needed).
Layout (ONNX Runtime ``docs/ContribOperators.md``, MatMulNBits; confirmed against the kernel in
docs/shared toolchain research §4 and by ``python/tests/test_nbits.py``):

* ``Y = A @ W`` with ``W`` float ``[K, N]``; the op stores ``W`` transposed, cut along ``K`` into
  ``n_blocks = ceil(K / block_size)`` blocks of ``block_size`` values (the last one zero-padded);
* ``B``: uint8 ``[N, n_blocks, block_size * bits / 8]``; for 4 bits, value ``2j`` of a block is the
  **low** nibble of byte ``j`` and value ``2j + 1`` the high nibble;
* ``scales``: float32 ``[N * n_blocks]`` (row-major ``[N, n_blocks]``);
* no ``zero_points`` input: the zero point is ``2^(bits-1)`` (8 or 128), i.e. the codes are the
  signed values ``q`` in ``[-2^(bits-1), 2^(bits-1) - 1]`` stored offset by ``2^(bits-1)``, and
  ``W[k, n] = q[n, k] * scale[n, block(k)]``.

**Symmetric only.** ONNX Runtime issue #29853: with a zero-point input (asymmetric) and
``accuracy_level = 4`` the M = 1 kernel on AVX2 CPUs without AVX-512 returns wrong results, which is
exactly the LLM decode step.

Scale choice: the value of largest magnitude in a block, ``v``, maps to the most negative code,
``scale = v / -2^(bits-1)`` (the scale is negative when ``v`` is positive). All 2^bits codes are
used and ``v`` itself is exact; every other value rounds to the nearest code, error at most
``|scale| / 2``. (This is what ONNX Runtime's own symmetric blockwise quantizer does; the
alternative ``|v| / (2^(bits-1) - 1)`` wastes one code.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BITS = (4, 8)


@dataclass
class PackedWeight:
    """MatMulNBits inputs for one weight ``W [K, N]``."""
    b: np.ndarray          # uint8 [N, n_blocks, block_size * bits / 8]
    scales: np.ndarray     # float32 [N * n_blocks]
    k: int
    n: int
    bits: int
    block_size: int

    @property
    def n_blocks(self) -> int:
        return self.b.shape[1]

    def nbytes(self) -> int:
        return int(self.b.nbytes + self.scales.nbytes)


def _check(bits: int, block_size: int) -> None:
    if bits not in BITS:
        raise ValueError(f"bits must be one of {BITS}, got {bits}")
    if block_size < 16 or block_size & (block_size - 1):
        raise ValueError(f"block_size must be a power of two >= 16, got {block_size}")


def quantize_codes(w: np.ndarray, bits: int, block_size: int):
    """``W [K, N]`` -> (signed codes int8 ``[N, n_blocks, block_size]``, scales float32 ``[N, n_blocks]``).

    The padding past ``K`` is zero and gets code 0."""
    _check(bits, block_size)
    w = np.asarray(w)
    if w.ndim != 2:
        raise ValueError(f"weight must be 2-D [K, N], got shape {list(w.shape)}")
    k, n = w.shape
    n_blocks = -(-k // block_size)
    wt = np.zeros((n, n_blocks * block_size), np.float32)
    wt[:, :k] = w.T
    wt = wt.reshape(n, n_blocks, block_size)
    half = 1 << (bits - 1)
    idx = np.abs(wt).argmax(axis=2)
    v = np.take_along_axis(wt, idx[:, :, None], axis=2)[:, :, 0]          # signed extreme of each block
    scale = (v / np.float32(-half)).astype(np.float32)
    safe = np.where(scale == 0, np.float32(1), scale)
    q = np.clip(np.rint(wt.astype(np.float64) / safe[:, :, None].astype(np.float64)), -half, half - 1)
    q = np.where(scale[:, :, None] == 0, 0, q)
    return q.astype(np.int8), scale


def pack(w: np.ndarray, bits: int, block_size: int) -> PackedWeight:
    """Quantizes and packs ``W [K, N]`` into MatMulNBits' ``B`` and ``scales``."""
    codes, scale = quantize_codes(w, bits, block_size)
    k, n = w.shape
    u = (codes.astype(np.int16) + (1 << (bits - 1))).astype(np.uint8)     # offset by the zero point
    if bits == 8:
        b = u
    else:
        b = (u[:, :, 0::2] | (u[:, :, 1::2] << 4)).astype(np.uint8)      # value 2j low nibble, 2j+1 high
    return PackedWeight(np.ascontiguousarray(b), np.ascontiguousarray(scale.reshape(-1)), int(k), int(n), bits,
                        block_size)


def unpack_codes(p: PackedWeight) -> np.ndarray:
    """Signed codes int16 ``[N, n_blocks, block_size]`` from the packed bytes (inverse of :func:`pack`)."""
    if p.bits == 8:
        u = p.b.astype(np.int16)
    else:
        lo = (p.b & 0x0F).astype(np.int16)
        hi = (p.b >> 4).astype(np.int16)
        u = np.empty(p.b.shape[:2] + (p.b.shape[2] * 2,), np.int16)
        u[:, :, 0::2], u[:, :, 1::2] = lo, hi
    return u - (1 << (p.bits - 1))


def dequantize(p: PackedWeight, dtype=np.float64) -> np.ndarray:
    """The weight ``W [K, N]`` the packed form stands for (exact in float64)."""
    codes = unpack_codes(p).astype(dtype)
    w = codes * p.scales.reshape(p.n, p.n_blocks, 1).astype(dtype)
    return w.reshape(p.n, -1)[:, :p.k].T


def quantize_activations_int8(a: np.ndarray, block_size: int):
    """What ``accuracy_level = 4`` does to ``A [M, K]`` before the integer products: per row and per
    block of ``block_size`` along K, symmetric int8 with ``scale = max|a| / 127``.
    Returns (codes int32 [M, n_blocks, block_size], scales float64 [M, n_blocks])."""
    a = np.asarray(a, np.float32)
    m, k = a.shape
    n_blocks = -(-k // block_size)
    ap = np.zeros((m, n_blocks * block_size), np.float32)
    ap[:, :k] = a
    ap = ap.reshape(m, n_blocks, block_size)
    amax = np.abs(ap).max(axis=2).astype(np.float32)
    scale = (amax / np.float32(127)).astype(np.float32)
    inv = np.where(amax > 0, np.float32(127) / np.where(amax > 0, amax, 1), 0).astype(np.float32)
    q = np.clip(np.rint(ap * inv[:, :, None]), -127, 127).astype(np.int32)
    return q, scale.astype(np.float64)


def matmul_int8_activations(a: np.ndarray, p: PackedWeight) -> np.ndarray:
    """``A @ W`` the way accuracy level 4 computes it: int8 activations x weight codes, exact integer
    sums per block, scaled by ``a_scale * w_scale`` and summed over blocks (float64 here)."""
    qa, sa = quantize_activations_int8(a, p.block_size)                 # [M, nb, bs], [M, nb]
    qw = unpack_codes(p).astype(np.int64)                               # [N, nb, bs]
    ints = np.einsum("mbk,nbk->mnb", qa.astype(np.int64), qw)           # exact
    sw = p.scales.reshape(p.n, p.n_blocks).astype(np.float64)
    return np.einsum("mnb,mb,nb->mn", ints.astype(np.float64), sa, sw)
