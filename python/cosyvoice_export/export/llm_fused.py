"""The fused LLM graph ``llm_fused`` (docs/bundle.md §3.1b), built with ``onnx.helper``.

torch 1.13 cannot export ONNX Runtime's contrib operators, so this graph is written node by node
from the same weights :class:`~.llm_graph.LlmStep` traces (the reference is still
``CosyVoice3LM``). Per decoder layer:

* ``h @ W_qkv + b`` (one MatMul, or ``MatMulNBits``) -> ``com.microsoft.GroupQueryAttention`` with
  the packed q/k/v, the rotary embedding inside the op (``do_rotary``, half-split like Qwen2, cos/sin
  tables built by :func:`~..models.llm.rope_cos_sin` so they are the reference's values bit for
  bit), causal masking from ``seqlens_k``/``total_sequence_length`` and a **BNSH** KV cache;
* ``com.microsoft.SkipSimplifiedLayerNormalization`` adds the residual and normalizes in one op
  (its ``input_skip_bias_sum`` output carries the residual stream on);
* gate/up as one MatMul, ``QuickGelu(alpha = 1)`` (= x * sigmoid(x), i.e. SiLU) on the gate, ``Mul``
  with up, down projection.

Past and present KV may share one preallocated buffer ``[1, num_kv_heads, C, head_dim]`` per tensor
(bind ``present_*`` to the memory of ``past_*``): GroupQueryAttention then writes the new rows in
place at positions ``P .. P+S-1`` and reads the first ``P+S`` rows (ONNX Runtime ContribOperators.md:
"When past_key uses same tensor as present_key (k-v cache), it is of length max_sequence_length").
``seqlens_k = P + S - 1`` and ``total_sequence_length = P + S``.

Weights go to one external-data file beside the graph (``<graph>.onnx.data``), each tensor aligned
to 64 KiB so ONNX Runtime can map them from the file instead of copying them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ..ort import import_ops_domain
from ..quant import panels as P
from . import nbits

ROLE = "llm_fused"
FORMAT_VERSION = "1.1"
MS = "com.microsoft"
OPSET = 17
PRECISIONS = ("fp32", "int8", "int4")
FP32_PRODUCTS = ("MatMul", "PanelMatMul")


@dataclass
class LlmWeights:
    """Everything the LLM graph needs, in ``y = x @ W`` orientation (``W [in, out]``)."""
    hidden: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    intermediate: int
    eps: float
    rope_theta: float
    max_positions: int
    layers: List[Dict[str, np.ndarray]]          # w_qkv, b_qkv, w_o, w_gu, w_down, ln_in, ln_post
    norm_w: np.ndarray
    w_dec: np.ndarray                            # [hidden, speech_vocab]

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    @property
    def vocab(self) -> int:
        return int(self.w_dec.shape[1])


LAYER_KEYS = ("w_qkv", "b_qkv", "w_o", "w_gu", "w_down", "ln_in", "ln_post")


def weights_from_lm(lm) -> LlmWeights:
    """From a loaded :class:`~..models.llm.CosyVoice3LM` (the same arrangement as ``LlmStep``)."""
    import torch

    q = lm.cfg.qwen
    layers = []
    with torch.no_grad():
        for layer in lm.qwen.layers:
            a, m = layer.self_attn, layer.mlp
            f = lambda t: t.detach().to(torch.float32).contiguous().numpy().copy()  # noqa: E731
            layers.append({
                "w_qkv": f(torch.cat([a.q_proj.weight, a.k_proj.weight, a.v_proj.weight], 0).t()),
                "b_qkv": f(torch.cat([a.q_proj.bias, a.k_proj.bias, a.v_proj.bias], 0)),
                "w_o": f(a.o_proj.weight.t()),
                "w_gu": f(torch.cat([m.gate_proj.weight, m.up_proj.weight], 0).t()),
                "w_down": f(m.down_proj.weight.t()),
                "ln_in": f(layer.input_layernorm.weight),
                "ln_post": f(layer.post_attention_layernorm.weight),
            })
        norm_w = lm.qwen.norm.weight.detach().to(torch.float32).numpy().copy()
        w_dec = lm.llm_decoder.weight.detach().to(torch.float32).t().contiguous().numpy().copy()
    return LlmWeights(hidden=q.hidden_size, num_heads=q.num_attention_heads, num_kv_heads=q.num_key_value_heads,
                      head_dim=q.head_dim, intermediate=q.intermediate_size, eps=float(q.rms_norm_eps),
                      rope_theta=float(q.rope_theta), max_positions=int(q.max_position_embeddings),
                      layers=layers, norm_w=norm_w, w_dec=w_dec)


def weights_from_bundle_graph(path: Path, llm_config: dict) -> LlmWeights:
    """From a bundle's traced ``llm/llm.onnx`` (docs/bundle.md §3.1): its initializers carry
    ``LlmStep``'s parameter names. Raises ValueError naming what is missing (an initializer the
    exporter deduplicated into another one cannot be told apart: export again from the checkpoint)."""
    model = onnx.load(str(path))
    inits = {i.name: i for i in model.graph.initializer}
    c = llm_config

    def get(name: str) -> np.ndarray:
        if name not in inits:
            raise ValueError(f"{path}: initializer {name!r} not found (was it merged with an identical one at "
                             f"export?); build the variant from the checkpoint instead (--checkpoint)")
        return numpy_helper.to_array(inits[name]).astype(np.float32, copy=True)

    layers = [{k: get(f"layers.{i}.{k}") for k in LAYER_KEYS} for i in range(int(c["num_layers"]))]
    w = LlmWeights(hidden=int(c["hidden_size"]), num_heads=int(c["num_attention_heads"]),
                   num_kv_heads=int(c["num_kv_heads"]), head_dim=int(c["head_dim"]),
                   intermediate=int(layers[0]["w_down"].shape[0]), eps=float(c["rms_norm_eps"]),
                   rope_theta=float(c["rope_theta"]), max_positions=int(c["max_positions"]), layers=layers,
                   norm_w=get("norm_w"), w_dec=get("w_dec"))
    del model, inits
    check_weights(w)
    return w


def check_weights(w: LlmWeights) -> None:
    h, nh, nkv, hd, inter = w.hidden, w.num_heads, w.num_kv_heads, w.head_dim, w.intermediate
    want = {"w_qkv": (h, (nh + 2 * nkv) * hd), "b_qkv": ((nh + 2 * nkv) * hd,), "w_o": (nh * hd, h),
            "w_gu": (h, 2 * inter), "w_down": (inter, h), "ln_in": (h,), "ln_post": (h,)}
    for i, layer in enumerate(w.layers):
        for k, shape in want.items():
            if tuple(layer[k].shape) != shape:
                raise ValueError(f"layer {i} {k}: shape {list(layer[k].shape)}, expected {list(shape)}")
    if w.norm_w.shape != (h,) or w.w_dec.shape[0] != h:
        raise ValueError(f"final norm {list(w.norm_w.shape)} / llm_decoder {list(w.w_dec.shape)} do not fit hidden {h}")
    if nh % nkv:
        raise ValueError(f"num_heads {nh} is not a multiple of num_kv_heads {nkv}")
    if hd % 16:
        raise ValueError(f"head_dim {hd}: GroupQueryAttention's rotary embedding needs a multiple of 16")


@dataclass
class FusedOptions:
    """What to build. ``precision``: fp32, int8 or int4 for the decoder layers' four weight
    products (MatMulNBits, symmetric); ``head``: fp32 or int8 for ``llm_decoder`` (never int4:
    an int4 LM head causes repetition, ORT PR #24384); ``accuracy_level``: MatMulNBits' compute
    type (4 = int8 activations, docs/quantization.md §LLM for the choice)."""
    precision: str = "fp32"
    block_size: int = 32
    accuracy_level: int = 4
    head: str = "fp32"
    # the float32 products: ONNX Runtime's MatMul, or this project's PanelMatMul (quant/panels.py:
    # nothing to pack at session creation; needs the ops library)
    fp32_products: str = "MatMul"

    def validate(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.fp32_products not in FP32_PRODUCTS:
            raise ValueError(f"fp32_products must be one of {FP32_PRODUCTS}, got {self.fp32_products!r}")
        if self.head not in ("fp32", "int8"):
            raise ValueError(f"head must be fp32 or int8, got {self.head!r}")
        if self.block_size not in (16, 32, 64, 128, 256):
            raise ValueError(f"block_size must be 16, 32, 64, 128 or 256, got {self.block_size}")
        if self.accuracy_level not in (0, 1, 2, 3, 4):
            raise ValueError(f"accuracy_level must be 0..4, got {self.accuracy_level}")

    def describe(self) -> dict:
        if self.precision == "fp32" and self.head == "fp32":
            if self.fp32_products == "PanelMatMul":
                return {"method": "none", "graph": ROLE, "products": f"{P.DOMAIN}.{P.OP_TYPE}"}
            return {"method": "none", "graph": ROLE}
        return {"method": "MatMulNBits", "bits": {"int8": 8, "int4": 4}.get(self.precision, 32),
                "block_size": self.block_size, "symmetric": True, "accuracy_level": self.accuracy_level,
                "llm_decoder": self.head, "kept_float": ["norms", "qkv bias", "rotary tables"]
                + (["llm_decoder"] if self.head == "fp32" else []), "graph": ROLE}


def rope_tables(head_dim: int, theta: float, max_positions: int):
    """cos/sin ``[max_positions, head_dim / 2]``: the reference's tables (models/llm.py rope_cos_sin)."""
    import torch

    from ..models.llm import rope_cos_sin

    cos, sin = rope_cos_sin(torch.arange(max_positions, dtype=torch.int64), head_dim, theta)
    half = head_dim // 2
    return cos[:, :half].contiguous().numpy().copy(), sin[:, :half].contiguous().numpy().copy()


EXTERNAL_MIN_BYTES = 1024      # smaller tensors stay inside the graph file
ALIGN = 1 << 16                # external tensors start at 64 KiB offsets (mappable on any OS)


class _DataFile:
    """Appends tensors to ``<graph>.onnx.data`` as they are made, so a full-size graph is never
    held in memory twice."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.f = open(self.path, "wb")
        self.offset = 0

    def put(self, name: str, a: np.ndarray) -> onnx.TensorProto:
        a = np.ascontiguousarray(a)
        pad = (-self.offset) % ALIGN
        self.f.write(b"\0" * pad)
        self.offset += pad
        t = onnx.TensorProto()
        t.name = name
        t.data_type = onnx.helper.np_dtype_to_tensor_dtype(a.dtype) if hasattr(onnx.helper, "np_dtype_to_tensor_dtype") \
            else onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[a.dtype]
        t.dims.extend(a.shape)
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", self.path.name), ("offset", str(self.offset)), ("length", str(a.nbytes))):
            e = t.external_data.add()
            e.key, e.value = k, v
        self.f.write(a.tobytes())
        self.offset += a.nbytes
        return t

    def close(self) -> None:
        self.f.close()


@dataclass
class _Builder:
    opts: FusedOptions
    data: Optional[_DataFile] = None
    nodes: List[onnx.NodeProto] = field(default_factory=list)
    inits: List[onnx.TensorProto] = field(default_factory=list)

    def init(self, name: str, a: np.ndarray) -> str:
        if self.data is not None and a.nbytes >= EXTERNAL_MIN_BYTES:
            self.inits.append(self.data.put(name, a))
        else:
            self.inits.append(numpy_helper.from_array(np.ascontiguousarray(a), name))
        return name

    def node(self, op: str, ins: Sequence[str], outs: Sequence[str], name: str, domain: str = "", **attrs) -> None:
        self.nodes.append(helper.make_node(op, list(ins), list(outs), name=name, domain=domain, **attrs))

    def matmul(self, x: str, w: np.ndarray, name: str, bits: int) -> str:
        """``x @ w``: float MatMul or PanelMatMul (bits 32) or symmetric MatMulNBits."""
        out = name + "/out"
        if bits == 32 and self.opts.fp32_products == "PanelMatMul":
            self.node(P.OP_TYPE, [x, self.init(name + ".panels", P.pack(w))], [out], name, domain=P.DOMAIN,
                      n=int(w.shape[1]))
            return out
        if bits == 32:
            self.node("MatMul", [x, self.init(name + ".weight", w.astype(np.float32))], [out], name)
            return out
        p = nbits.pack(w, bits, self.opts.block_size)
        self.node("MatMulNBits", [x, self.init(name + ".qweight", p.b), self.init(name + ".scales", p.scales)],
                  [out], name, domain=MS, K=p.k, N=p.n, bits=bits, block_size=p.block_size,
                  accuracy_level=self.opts.accuracy_level)
        return out


def write(w: LlmWeights, path: Path, opts: Optional[FusedOptions] = None) -> List[Path]:
    """Builds the fused graph for ``w`` into ``path`` with its weights in ``path.data``; returns
    the two files. Tensors are streamed to the data file as they are made."""
    path = Path(path)
    data = _DataFile(path.with_name(path.name + ".data"))
    try:
        model = build(w, opts, data)
    finally:
        data.close()
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    return [path, data.path]


def build(w: LlmWeights, opts: Optional[FusedOptions] = None, data: Optional[_DataFile] = None) -> onnx.ModelProto:
    """The fused graph for ``w`` (see the module docstring for its interface); with ``data``, the
    large tensors go to that external-data file (see :func:`write`), else they are inline."""
    opts = opts or FusedOptions()
    opts.validate()
    check_weights(w)
    bits = {"fp32": 32, "int8": 8, "int4": 4}[opts.precision]
    head_bits = {"fp32": 32, "int8": 8}[opts.head]
    b = _Builder(opts, data)
    h, nh, nkv, hd, inter = w.hidden, w.num_heads, w.num_kv_heads, w.head_dim, w.intermediate
    cos, sin = rope_tables(hd, w.rope_theta, w.max_positions)
    b.init("rope.cos", cos)
    b.init("rope.sin", sin)
    eps = float(w.eps)

    # residual stream r_0 = inputs_embeds; the first norm is a SkipSimplifiedLayerNormalization
    # with a zero skip so that every norm is the same fused op (no reliance on ORT's fusions)
    b.init("zero_skip", np.zeros((1, 1, h), np.float32))
    b.node("Shape", ["inputs_embeds"], ["embeds_shape"], "embeds_shape")
    b.node("Expand", ["zero_skip", "embeds_shape"], ["zero_skip_full"], "zero_skip_expand")
    normed, _ = _skip_norm(b, "inputs_embeds", "zero_skip_full", w.layers[0]["ln_in"], eps, "layers.0.input_norm")
    resid = "inputs_embeds"
    for i, L in enumerate(w.layers):
        p = f"layers.{i}"
        qkv_mm = b.matmul(normed, L["w_qkv"], f"{p}.qkv_proj", bits)
        b.node("Add", [qkv_mm, b.init(f"{p}.qkv_proj.bias", L["b_qkv"])], [f"{p}.qkv"], f"{p}.qkv_bias")
        b.node("GroupQueryAttention",
               [f"{p}.qkv", "", "", f"past_key_{i}", f"past_value_{i}", "seqlens_k", "total_sequence_length",
                "rope.cos", "rope.sin"],
               [f"{p}.attn", f"present_key_{i}", f"present_value_{i}"], f"{p}.attn", domain=MS,
               num_heads=nh, kv_num_heads=nkv, do_rotary=1, rotary_interleaved=0)
        o = b.matmul(f"{p}.attn", L["w_o"], f"{p}.o_proj", bits)
        normed, resid = _skip_norm(b, o, resid, L["ln_post"], eps, f"{p}.post_attention_norm")
        gu = b.matmul(normed, L["w_gu"], f"{p}.gate_up_proj", bits)
        b.node("Split", [gu, b.init(f"{p}.split", np.array([inter, inter], np.int64))], [f"{p}.gate", f"{p}.up"],
               f"{p}.split", axis=-1)
        b.node("QuickGelu", [f"{p}.gate"], [f"{p}.silu"], f"{p}.silu", domain=MS, alpha=1.0)
        b.node("Mul", [f"{p}.silu", f"{p}.up"], [f"{p}.act"], f"{p}.act")
        d = b.matmul(f"{p}.act", L["w_down"], f"{p}.down_proj", bits)
        gamma = w.layers[i + 1]["ln_in"] if i + 1 < w.num_layers else w.norm_w
        nxt = f"layers.{i + 1}.input_norm" if i + 1 < w.num_layers else "final_norm"
        normed, resid = _skip_norm(b, d, resid, gamma, eps, nxt)

    # only the last position goes through llm_decoder
    b.node("Slice", [normed, b.init("last.starts", np.array([-1], np.int64)),
                     b.init("last.ends", np.array([np.iinfo(np.int64).max], np.int64)),
                     b.init("last.axes", np.array([1], np.int64))], ["last_hidden"], "last_position")
    dec = b.matmul("last_hidden", w.w_dec, "llm_decoder", head_bits)
    b.node("Reshape", [dec, b.init("logits.shape", np.array([1, w.vocab], np.int64))], ["logits"], "logits")

    kv = lambda n: helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, nkv, "C", hd])  # noqa: E731
    inputs = [helper.make_tensor_value_info("inputs_embeds", TensorProto.FLOAT, [1, "S", h]),
              helper.make_tensor_value_info("seqlens_k", TensorProto.INT32, [1]),
              helper.make_tensor_value_info("total_sequence_length", TensorProto.INT32, [])]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, w.vocab])]
    for i in range(w.num_layers):
        inputs += [kv(f"past_key_{i}"), kv(f"past_value_{i}")]
        outputs += [kv(f"present_key_{i}"), kv(f"present_value_{i}")]
    graph = helper.make_graph(b.nodes, "cosyvoice3_llm_fused", inputs, outputs, b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(MS, 1)],
                              producer_name="cosyvoice_export")
    if any(n.domain == P.DOMAIN for n in b.nodes):
        import_ops_domain(model)
    model.ir_version = 8
    for k, v in (("cosyvoice.format_version", FORMAT_VERSION), ("cosyvoice.graph", ROLE),
                 ("cosyvoice.precision", opts.precision), ("cosyvoice.llm_decoder", opts.head)):
        model.metadata_props.add(key=k, value=v)
    if opts.fp32_products != "MatMul":
        model.metadata_props.add(key="cosyvoice.fp32_products", value=opts.fp32_products)
    return model


def _skip_norm(b: _Builder, x: str, skip: str, gamma: np.ndarray, eps: float, name: str):
    """RMSNorm(x + skip) * gamma -> (normalized, x + skip)."""
    out, total = name + "/out", name + "/sum"
    b.node("SkipSimplifiedLayerNormalization", [x, skip, b.init(name + ".weight", gamma)], [out, "", "", total],
           name, domain=MS, epsilon=eps)
    return out, total


def io_names(num_layers: int):
    """(input names, output names) of the fused graph, in order."""
    ins = ["inputs_embeds", "seqlens_k", "total_sequence_length"]
    outs = ["logits"]
    for i in range(num_layers):
        ins += [f"past_key_{i}", f"past_value_{i}"]
        outs += [f"present_key_{i}", f"present_value_{i}"]
    return ins, outs
