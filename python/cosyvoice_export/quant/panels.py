"""``PanelMatMul``: a float32 weight product whose weight is stored in the layout this project's
kernel reads as it is (src/kernels/panel_matmul.h), so that ONNX Runtime packs nothing when a
session is created.

ONNX Runtime's ``MatMul`` packs each constant weight at session creation, and 1.30 packs it again
even when an optimized graph carries the packed copy, to compute the key it finds that copy by
(onnxruntime/core/framework/session_state.cc, ``GenerateKeyForPrepackedWeightsMap``): about 2 s of
the full-size float32 LLM's load (docs/quantization.md §7.1, §7.2). The LLM variant ``fp32-panel``
writes its products as ``org.cosyvoice_ort.PanelMatMul`` instead.

The operator's contract, which the C++ kernel implements exactly:

* inputs X float32 [..., K] (rank >= 2), P float32 [ceil(N / 16), K, 16], an initializer: W [K, N]'s
  columns in panels of 16 (:func:`pack`), zero beyond column N; B float32 [N], optional, an
  initializer;
* attribute ``n`` = N;
* Y float32 [..., N] = X W (+ B), every output one K-term sum in the order k = 0 .. K - 1, the bias
  added to the finished sum: the same arithmetic as ``MatMul`` (then ``Add``) up to float32 rounding
  (a K-term dot product in any order is within gamma(K) of the exact value), so the fused LLM graph's
  float32 tolerance holds unchanged.

:func:`rewrite_products` makes the flow variant ``fp32-panel``: every weight product of the DiT
(``MatMul`` by a weight, with the ``Add`` of its bias, and ``Gemm``) as ``PanelMatMul``;
:func:`check_graph` holds it to the base graph.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Dict, List

import numpy as np
import onnx
from onnx import helper, numpy_helper

from .. import fp32_bounds as FB
from ..ort import OPS_DOMAIN, OPS_OPSET, import_ops_domain
from .weights import drop_unused_initializers, find_weight_products, replace_product

DOMAIN = OPS_DOMAIN
OP_TYPE = "PanelMatMul"
OPSET = OPS_OPSET
WIDTH = 16


def pack(w: np.ndarray) -> np.ndarray:
    """W [K, N] -> P [ceil(N / 16), K, 16] float32: P[p, k, j] = W[k, 16 p + j], zero past N."""
    w = np.asarray(w, np.float32)
    if w.ndim != 2:
        raise ValueError(f"PanelMatMul: the weight must be [K, N], got shape {list(w.shape)}")
    k, n = w.shape
    panels = -(-n // WIDTH)
    padded = np.zeros((k, panels * WIDTH), np.float32)
    padded[:, :n] = w
    return np.ascontiguousarray(padded.reshape(k, panels, WIDTH).transpose(1, 0, 2))


def unpack(p: np.ndarray, n: int) -> np.ndarray:
    """The inverse of :func:`pack`: P [panels, K, 16] -> W [K, n]."""
    panels, k, width = p.shape
    if width != WIDTH or panels != -(-n // WIDTH):
        raise ValueError(f"PanelMatMul: P must be [ceil({n} / 16), K, 16], got {list(p.shape)}")
    return np.ascontiguousarray(p.transpose(1, 0, 2).reshape(k, panels * WIDTH)[:, :n])


# ---------------------------------------------------------------------------- the graph rewrite

def rewrite_products(model: onnx.ModelProto) -> Dict[str, object]:
    """Replaces every weight product of the main graph (quant/weights.py ``find_weight_products``:
    ``MatMul`` by a 2-D float32 initializer, with the ``Add`` of a [N] bias initializer right after
    folded in, and ``Gemm`` with alpha = beta = 1, no transA) by ``PanelMatMul`` in place, same name
    and output; the weights go into panels (initializers replaced, the unused ones dropped).
    Returns the variant's description."""
    products = find_weight_products(model)
    g = model.graph
    new_inits: List[onnx.TensorProto] = []
    for i, wp in enumerate(products):
        base = f"panel_{i}_{wp.node.name or wp.weight_name}".replace("/", "_")
        inputs = [wp.node.input[0], base + ".panels"]
        new_inits.append(numpy_helper.from_array(pack(wp.weight), inputs[1]))
        if wp.bias is not None:
            inputs.append(base + ".bias")
            new_inits.append(numpy_helper.from_array(wp.bias.astype(np.float32), inputs[2]))
        node = helper.make_node(OP_TYPE, inputs, [wp.output], name=wp.node.name or base, domain=DOMAIN,
                                n=int(wp.weight.shape[1]))
        replace_product(g, wp, node)
    g.initializer.extend(new_inits)
    drop_unused_initializers(model)
    if products:
        import_ops_domain(model)
    # what stays MatMul: products of two activations (attention's), which have no weight to pack
    return {"operator": f"{DOMAIN}.{OP_TYPE}", "products": len(products),
            "activation_products": sum(n.op_type in ("MatMul", "Gemm") for n in g.node)}


def graph_depth(model: onnx.ModelProto, reduce_len: int) -> float:
    """``fp32_bounds.onnx_graph_depth`` with each PanelMatMul counted as the K-term product it is
    (+ 1 for a bias), as a MatMul by its weight counts K."""
    depth = FB.onnx_graph_depth(model, reduce_len)
    dims = {t.name: list(t.dims) for t in model.graph.initializer}
    for n in model.graph.node:
        if n.op_type == OP_TYPE and n.domain == DOMAIN:
            depth += dims[n.input[1]][1] + (len(n.input) > 2 and bool(n.input[2]))
    return depth


# (frames, cached frames of the chunk graph) of the check; batch 2 as the engine's CFG pair
CHECK_SHAPES = ((4, 0), (57, 20), (300, 0))
CHECK_SEED = 20261206


def _feeds(inputs, frames: int, past: int, chunk: int, rng: np.random.Generator) -> Dict[str, np.ndarray]:
    """Seeded inputs for any of the DiT graphs from their declared inputs: symbolic B = 2, T = S =
    ``frames``, P = ``past``; float inputs standard normal (t uniform in [0, 1)), ``attention_chunk``
    = ``chunk``."""
    sizes = {"B": 2, "T": frames, "S": frames, "P": past}
    feeds = {}
    for name, dtype, shape in inputs:
        dims = [sizes[d] if isinstance(d, str) else int(d) for d in shape]
        if name == "attention_chunk":
            feeds[name] = np.array(chunk, dtype=np.int64)
        elif name == "t":
            feeds[name] = rng.random(dims).astype(np.float32)
        else:
            feeds[name] = rng.standard_normal(dims).astype(np.float32)
    return feeds


def check_graph(base: Path, variant: Path, rel: str, threads: int = 2,
                log: Callable[[str], None] = print) -> Dict[str, object]:
    """Runs the base DiT graph (ONNX Runtime's MatMul) and the rewritten one on the same seeded
    inputs (:data:`CHECK_SHAPES`, full and chunked attention) and compares every output with the
    export check's metric: relative to the output's largest magnitude, gamma(base) + gamma(variant)
    for two float32 evaluations of the graph's depth (:func:`graph_depth` over the frames attended).
    Returns {"max_rel", "bound", "cases"}; raises ParityError beyond it."""
    from ..export.parity import GraphCheck, ParityError, Tolerance, timed
    from ..ort import OrtGraph, ops_library_path

    m_base = onnx.load(str(base), load_external_data=False)
    m_var = onnx.load(str(variant), load_external_data=False)
    longest = max(f + p for f, p in CHECK_SHAPES)
    bound = FB.gamma(graph_depth(m_base, longest)) + FB.gamma(graph_depth(m_var, longest))
    del m_base, m_var
    tol = Tolerance("rel", bound)
    rng = np.random.default_rng(CHECK_SEED)
    with OrtGraph(base, threads=threads) as ref, \
            OrtGraph(variant, threads=threads, custom_ops_library=ops_library_path()) as got:
        chk = GraphCheck(rel, "float32", {name: tol for name in ref.output_names}, log)
        for frames, past in CHECK_SHAPES:
            if past and not any(name.startswith("past_") for name in ref.input_names):
                past = 0
            for chunk in sorted({frames, max(1, math.ceil(frames / 3))}):
                feeds = _feeds(ref.inputs, frames, past, chunk, rng)
                out, dt = timed(got.run, feeds)
                chk.compare(f"T={frames} P={past} chunk={chunk}", out, ref.run(feeds), dt)
    if chk.failures:
        raise ParityError(f"{rel}: the PanelMatMul graph differs from the base graph beyond tolerance:\n  "
                          + "\n  ".join(chk.failures))
    return {"max_rel": float(f"{chk.max_rel:.3g}"), "bound": float(f"{bound:.3g}"), "cases": list(chk.cases)}
