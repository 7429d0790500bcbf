"""A numpy reference of what a fused LLM graph (docs/bundle.md §3.1b) computes, quantized weights
included, for the C++ parity tests of the int8/int4 variants (docs/parity.md, "Quantized LLM
variants").

The fp32 graphs are checked against PyTorch's ``CosyVoice3LM``. A quantized graph computes a
different function on purpose (its weights are rounded to 4 or 8 bits and, at ``accuracy_level``
4, its activations to int8 per block), so it needs its own reference: this module evaluates the
Qwen2 decoder of models/llm.py in numpy, with every weight product written the way
``MatMulNBits`` defines it (export/nbits.py: exact integer block sums of int8 activation codes and
weight codes, scaled by both scales) and every other weight read from the graph file itself
(``onnx.load``; the graph's metadata and attributes say which product is quantized and how).

It runs in float64 (the reference, ``ref64``) and in float32 (``ref32``, the same function with
float32 rounding). The C++ logits are checked per position (docs/parity.md, "Quantized LLM
variants"):

* ``tol = 4 * max(max|ref32 - ref64|, 64 u max|ref64|)``, the project's rule for a graph computing
  its reference's function in float32 ("Fused LLM graph");
* at accuracy level 4 an activation whose scaled value lies at a rounding tie within the float32
  error of the graph's arithmetic may get the neighbouring code (ONNX Runtime's activations differ
  from ours in the last bits; one flip changes a whole product row by ~1/127 of a block's scale
  and reaches every later position through the KV cache). A flip is one of the activation
  roundings the reference makes, moved by one code, so the flips together are of the order of the
  roundings' own effect, ``flip = max|ref64 - ref64 with float activations|``.

Every position must be within ``max(tol, flip)``. This is an argument, not a worst case: it
holds while a small fraction of the codes flip, i.e. while the graph's activations are
float32-close to the reference's; a wrong weight, layout, cache position or binding is off by
orders of magnitude more. Without int8 activations (accuracy level 0) ``flip`` is 0 and ``tol``
alone applies (python/tests/test_llm_qref.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import onnx
from onnx import numpy_helper

from . import nbits


@dataclass
class Linear:
    """``y = a @ W``: dense float32 ``w [K, N]`` or a symmetric MatMulNBits weight."""
    w: Optional[np.ndarray] = None
    packed: Optional[nbits.PackedWeight] = None
    accuracy_level: int = 0

    def __call__(self, a: np.ndarray, int8_activations: bool = True) -> np.ndarray:
        dt = a.dtype
        if self.packed is None:
            return a @ self.w.astype(dt)
        if self.accuracy_level == 4 and int8_activations:
            return int8_activation_matmul(a, self.packed)
        if self.accuracy_level in (0, 1, 4):   # float path: the dequantized weight
            return a @ nbits.dequantize(self.packed, dt)
        raise ValueError(f"accuracy_level {self.accuracy_level}: the reference knows 0, 1 and 4")


def int8_activation_matmul(a: np.ndarray, p: nbits.PackedWeight) -> np.ndarray:
    """MatMulNBits at accuracy level 4 in ``a``'s float type: per row and block of K, activation
    codes ``rint(a * 127 / max|a|)``; integer block sums (exact); scaled by ``max|a| / 127`` and
    the weight scale and summed over blocks (export/nbits.py ``matmul_int8_activations`` is the
    float64 form of the same)."""
    dt = a.dtype
    m, k = a.shape
    nb, bs = p.n_blocks, p.block_size
    ap = np.zeros((m, nb * bs), dt)
    ap[:, :k] = a
    ap = ap.reshape(m, nb, bs)
    amax = np.abs(ap).max(axis=2)
    inv = np.where(amax > 0, dt.type(127) / np.where(amax > 0, amax, 1), 0).astype(dt)
    qa = np.clip(np.rint(ap * inv[:, :, None]), -127, 127).astype(np.int64)
    sa = (amax / dt.type(127)).astype(dt)
    qw = nbits.unpack_codes(p).astype(np.int64)                       # [N, nb, bs]
    ints = np.einsum("mbk,nbk->mnb", qa, qw)                          # exact
    sw = p.scales.reshape(p.n, nb).astype(dt)
    return (ints.astype(dt) * sa[:, None, :] * sw[None, :, :]).sum(axis=2)


@dataclass
class LlmModel:
    """The weights of a fused LLM graph file, by role."""
    hidden: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    eps: float
    rope_theta: float
    precision: str
    layers: List[Dict[str, object]]      # qkv, o, gu, down: Linear; b_qkv, ln_in, ln_post: arrays
    norm_w: np.ndarray
    dec: Linear

    @property
    def num_layers(self) -> int:
        return len(self.layers)


def load_fused_graph(path: Path, rope_theta: float) -> LlmModel:
    """Reads the weights of ``path`` (a graph written by export/llm_fused.py) by node and
    initializer name. Raises ValueError naming what is missing or not understood."""
    model = onnx.load(str(path))                      # external data next to it is loaded too
    meta = {p.key: p.value for p in model.metadata_props}
    if meta.get("cosyvoice.graph") != "llm_fused":
        raise ValueError(f"{path}: metadata cosyvoice.graph is {meta.get('cosyvoice.graph')!r}, expected 'llm_fused'")
    inits = {i.name: i for i in model.graph.initializer}
    nodes = {n.name: n for n in model.graph.node}

    def get(name: str) -> np.ndarray:
        if name not in inits:
            raise ValueError(f"{path}: initializer {name!r} not found")
        return numpy_helper.to_array(inits[name])

    def attrs(node) -> dict:
        return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}

    def linear(name: str) -> Linear:
        if name not in nodes:
            raise ValueError(f"{path}: node {name!r} not found")
        n = nodes[name]
        if n.op_type == "MatMul":
            return Linear(w=get(name + ".weight").astype(np.float32))
        if n.op_type != "MatMulNBits":
            raise ValueError(f"{path}: node {name!r} is {n.op_type}, expected MatMul or MatMulNBits")
        a = attrs(n)
        if len(n.input) > 3 and n.input[3]:
            raise ValueError(f"{path}: node {name!r} has zero points; the variants are symmetric")
        b = get(name + ".qweight")
        p = nbits.PackedWeight(b=b, scales=get(name + ".scales").astype(np.float32), k=int(a["K"]), n=int(a["N"]),
                               bits=int(a["bits"]), block_size=int(a["block_size"]))
        return Linear(packed=p, accuracy_level=int(a.get("accuracy_level", 0)))

    gqa = [n for n in model.graph.node if n.op_type == "GroupQueryAttention"]
    norms = [n for n in model.graph.node if n.op_type == "SkipSimplifiedLayerNormalization"]
    if not gqa or not norms:
        raise ValueError(f"{path}: no GroupQueryAttention / SkipSimplifiedLayerNormalization node")
    ga = attrs(gqa[0])
    num_layers = len(gqa)
    layers = []
    for i in range(num_layers):
        p = f"layers.{i}"
        layers.append({"qkv": linear(f"{p}.qkv_proj"), "b_qkv": get(f"{p}.qkv_proj.bias").astype(np.float32),
                       "o": linear(f"{p}.o_proj"), "gu": linear(f"{p}.gate_up_proj"),
                       "down": linear(f"{p}.down_proj"), "ln_in": get(f"{p}.input_norm.weight").astype(np.float32),
                       "ln_post": get(f"{p}.post_attention_norm.weight").astype(np.float32)})
    hidden = int(layers[0]["ln_in"].shape[0])
    cos = get("rope.cos")
    return LlmModel(hidden=hidden, num_heads=int(ga["num_heads"]), num_kv_heads=int(ga["kv_num_heads"]),
                    head_dim=2 * int(cos.shape[1]), eps=float(attrs(norms[0])["epsilon"]), rope_theta=rope_theta,
                    precision=meta.get("cosyvoice.precision", "fp32"), layers=layers,
                    norm_w=get("final_norm.weight").astype(np.float32), dec=linear("llm_decoder"))


def _rms(x: np.ndarray, w: np.ndarray, eps: float) -> np.ndarray:
    var = np.mean(x * x, axis=-1, keepdims=True)
    return w.astype(x.dtype) * (x / np.sqrt(var + x.dtype.type(eps)))


def _rope(n: int, head_dim: int, theta: float, dt) -> tuple:
    """cos, sin [n, head_dim / 2]. The angles are the model's float32 products (models/llm.py
    rope_cos_sin; that rounding is part of the model's definition, upstream computes them in
    float32); their cos/sin are taken in ``dt``."""
    import torch

    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).to(torch.float32) / head_dim))
    ang = (torch.arange(n, dtype=torch.int64).to(torch.float32)[:, None] * inv[None, :]).numpy().astype(dt)
    return np.cos(ang), np.sin(ang)


def _rotate(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """Half-split rotary embedding of x [n, heads, head_dim]."""
    h = x.shape[-1] // 2
    x1, x2 = x[..., :h], x[..., h:]
    c, s = cos[:, None, :], sin[:, None, :]
    return np.concatenate([x1 * c - x2 * s, x2 * c + x1 * s], axis=-1)


def forward(m: LlmModel, x: np.ndarray, dtype=np.float64, int8_activations: bool = True) -> np.ndarray:
    """``x [n, hidden]`` (positions 0 .. n-1, causal) -> logits of every position ``[n, vocab]``.
    ``int8_activations`` False: accuracy-level-4 products take the float activations (the same
    quantized weights without the activation rounding; used to size a code flip's effect)."""
    dt = np.dtype(dtype)
    nh, nkv, hd = m.num_heads, m.num_kv_heads, m.head_dim
    n = x.shape[0]
    cos, sin = _rope(n, hd, m.rope_theta, dt)
    mask = np.triu(np.ones((n, n), bool), 1)
    r = x.astype(dt)
    h = _rms(r, m.layers[0]["ln_in"], m.eps)
    for i, L in enumerate(m.layers):
        qkv = L["qkv"](h, int8_activations) + L["b_qkv"].astype(dt)
        q = _rotate(qkv[:, :nh * hd].reshape(n, nh, hd), cos, sin)
        k = _rotate(qkv[:, nh * hd:(nh + nkv) * hd].reshape(n, nkv, hd), cos, sin)
        v = qkv[:, (nh + nkv) * hd:].reshape(n, nkv, hd)
        rep = nh // nkv                                            # query head j reads kv head j // rep
        kh = np.repeat(k.transpose(1, 0, 2), rep, axis=0)          # [nh, n, hd]
        vh = np.repeat(v.transpose(1, 0, 2), rep, axis=0)
        scores = q.transpose(1, 0, 2) @ kh.transpose(0, 2, 1) * dt.type(1.0 / np.sqrt(hd))
        scores = np.where(mask[None], -np.inf, scores)
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        attn = scores / scores.sum(axis=-1, keepdims=True)
        o = (attn @ vh).transpose(1, 0, 2).reshape(n, nh * hd)
        r = r + L["o"](o, int8_activations)
        h = _rms(r, L["ln_post"], m.eps)
        gu = L["gu"](h, int8_activations)
        g, u = np.split(gu, 2, axis=-1)
        r = r + L["down"]((g / (1 + np.exp(-g))) * u, int8_activations)
        h = _rms(r, m.layers[i + 1]["ln_in"] if i + 1 < m.num_layers else m.norm_w, m.eps)
    return m.dec(h, int8_activations)


def tolerance(ref64: np.ndarray, ref32: np.ndarray) -> float:
    """docs/parity.md: four times float32's own error on this function, at least 64 u of its scale."""
    u = 2.0 ** -24
    return 4.0 * max(float(np.max(np.abs(ref32.astype(np.float64) - ref64))), 64 * u * float(np.max(np.abs(ref64))))


def flip_bound(ref64: np.ndarray, ref64_float_activations: np.ndarray) -> float:
    """The whole effect of the int8 activation rounding on these logits (0 without it)."""
    return float(np.max(np.abs(ref64 - ref64_float_activations)))
