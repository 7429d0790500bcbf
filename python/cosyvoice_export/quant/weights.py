"""The weight matrix products of a graph: ``MatMul(x, W)`` and ``Gemm(x, W, c)`` with ``W`` an
initializer, in the forms the exporter's graphs have (torch's ``nn.Linear`` traces to
``MatMul`` + ``Add(bias)`` for 3-D inputs and to ``Gemm(transB=1)`` for 2-D ones)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np
import onnx
from onnx import numpy_helper


@dataclass
class WeightProduct:
    """One ``y = x @ W (+ bias)``: ``weight`` is ``[K, N]`` float32 (transposed from Gemm's
    ``[N, K]`` when ``transB``); ``bias`` is ``[N]`` or None; ``bias_node`` is the ``Add`` that
    adds it after a MatMul (None for Gemm, whose bias is its input C)."""
    node: onnx.NodeProto
    weight_name: str
    weight: np.ndarray
    bias_name: Optional[str]
    bias: Optional[np.ndarray]
    bias_node: Optional[onnx.NodeProto]
    output: str               # the tensor that holds x @ W + bias


def _consumers(graph: onnx.GraphProto) -> Dict[str, List[onnx.NodeProto]]:
    out: Dict[str, List[onnx.NodeProto]] = {}
    for n in graph.node:
        for i in n.input:
            out.setdefault(i, []).append(n)
    return out


def _attr(node: onnx.NodeProto, name: str, default):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def find_weight_products(model: onnx.ModelProto, min_size: int = 0) -> List[WeightProduct]:
    """Every MatMul/Gemm whose second input is a 2-D float32 initializer with at least ``min_size``
    elements, with the bias folded in where the graph adds a [N] initializer right after."""
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    outputs = {o.name for o in graph.output}
    consumers = _consumers(graph)
    found: List[WeightProduct] = []
    for node in graph.node:
        if node.op_type not in ("MatMul", "Gemm") or node.domain not in ("", "ai.onnx") or len(node.input) < 2:
            continue
        w_init = inits.get(node.input[1])
        if w_init is None or len(w_init.dims) != 2 or w_init.data_type != onnx.TensorProto.FLOAT:
            continue
        if int(np.prod(w_init.dims)) < min_size:
            continue
        w = numpy_helper.to_array(w_init)
        bias_name = bias = bias_node = None
        out = node.output[0]
        if node.op_type == "Gemm":
            if _attr(node, "transA", 0) or _attr(node, "alpha", 1.0) != 1.0 or _attr(node, "beta", 1.0) != 1.0:
                continue
            if _attr(node, "transB", 0):
                w = w.T
            if len(node.input) > 2 and node.input[2]:
                c = inits.get(node.input[2])
                if c is None or c.data_type != onnx.TensorProto.FLOAT:
                    continue
                bias = numpy_helper.to_array(c).reshape(-1)
                if bias.shape[0] != w.shape[1]:
                    continue
                bias_name = node.input[2]
        else:
            users = consumers.get(out, [])
            if len(users) == 1 and users[0].op_type == "Add" and out not in outputs:
                add = users[0]
                other = add.input[1] if add.input[0] == out else add.input[0]
                b_init = inits.get(other)
                if b_init is not None and b_init.data_type == onnx.TensorProto.FLOAT and \
                        int(np.prod(b_init.dims)) == w.shape[1] and list(b_init.dims)[-1] == w.shape[1]:
                    bias_name, bias, bias_node = other, numpy_helper.to_array(b_init).reshape(-1), add
                    out = add.output[0]
        found.append(WeightProduct(node, node.input[1], np.ascontiguousarray(w, dtype=np.float32), bias_name, bias,
                                   bias_node, out))
    return found


def replace_product(graph: onnx.GraphProto, wp: WeightProduct, new_node: onnx.NodeProto) -> None:
    """Puts ``new_node`` (which writes ``wp.output``) in the place of ``wp.node`` and removes the bias
    ``Add`` it folds in, keeping the node order topological."""
    nodes = list(graph.node)
    idx = nodes.index(wp.node)
    nodes[idx] = new_node
    if wp.bias_node is not None:
        nodes.remove(wp.bias_node)
    del graph.node[:]
    graph.node.extend(nodes)


def drop_unused_initializers(model: onnx.ModelProto) -> int:
    """Remove initializers no node (or graph output) reads; returns how many were removed."""
    graph = model.graph
    used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
    for n in graph.node:                       # subgraphs (If/Loop) read outer names too
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                used |= {i for m in a.g.node for i in m.input}
    keep = [i for i in graph.initializer if i.name in used]
    dropped = len(graph.initializer) - len(keep)
    if dropped:
        del graph.initializer[:]
        graph.initializer.extend(keep)
    return dropped
