"""float16 variants of the bundle's graphs, for GPU execution providers (docs/quantization.md).

The graph inputs and outputs stay float32 (the engine's tensors do not change); inside, weights and
activations are float16 except in *float32 islands* where half precision would lose the value:

* the operators in ``block_ops`` (by default the ones whose input or output range exceeds float16's
  65504 or whose argument needs more than 11 significant bits: ``Pow`` and ``ReduceMean`` of
  RMSNorm - ``x^2`` of a residual stream overflows -, ``Sqrt``, ``Exp``, ``Log``, ``Range``, and the
  trigonometric functions);
* cheap element-wise and shape operators all of whose non-constant float inputs already come from
  an island (``Add(mean, eps)`` after ``ReduceMean``);
* the *argument cone* of every ``Sin``/``Cos``: walking back from the argument through cheap
  operators to its sources, so that rotary tables (``position * inv_freq``, positions up to 32768,
  where float16 steps by 32) and the flow's time embedding (``1000 t * freq``) are built in float32.
  The walk stops at heavy operators (``Conv``, ``MatMul`` of two activations, normalizations), so in
  HiFT's Snake only ``alpha * x`` and the ``Sin`` are float32.

``Cast`` nodes are inserted where a tensor crosses between the two (one per tensor and direction).
ONNX Runtime's CPU provider runs float16 nodes that have no float16 kernel by inserting casts to
float32 around them, so the variant also runs (slowly) on CPU - that is how its numerics are checked
here; GPU providers compute some float16 products with float16 accumulation, which the A/B gate on the
GPU measures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Set

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .weights import drop_unused_initializers

F32, F16 = TensorProto.FLOAT, TensorProto.FLOAT16

DEFAULT_BLOCK_OPS = frozenset({"Pow", "ReduceMean", "Sqrt", "Exp", "Log", "Range", "Sin", "Cos"})
TRIG_OPS = frozenset({"Sin", "Cos"})
# operators that are cheap and value-preserving enough to run in float32 when fed from an island,
# and that the argument cone of Sin/Cos may walk through
CHEAP_OPS = frozenset({"Add", "Sub", "Mul", "Div", "Neg", "Abs", "Reshape", "Unsqueeze", "Squeeze", "Transpose",
                       "Concat", "Slice", "Gather", "Expand", "Identity", "Cast", "Split", "Tile", "Where", "Max",
                       "Min", "Clip", "Floor", "Ceil", "Round", "Reciprocal", "Flatten"})
# inputs that the ONNX spec types as float32 whatever the data type (Resize's roi/scales)
FIXED_FLOAT_INPUTS = {"Resize": {1, 2}, "Upsample": {1}}


@dataclass
class Fp16Options:
    block_ops: frozenset = DEFAULT_BLOCK_OPS
    trig_cones: bool = True
    extra_fp32_nodes: Set[str] = field(default_factory=set)   # node names kept float32

    def describe(self) -> Dict[str, object]:
        return {"dtype": "float16", "io": "float32", "float32_ops": sorted(self.block_ops),
                "trig_argument_cones": self.trig_cones}


def _elem_types(model: onnx.ModelProto) -> Dict[str, int]:
    inferred = onnx.shape_inference.infer_shapes(model, check_type=False, strict_mode=False)
    types: Dict[str, int] = {}
    g = inferred.graph
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        if vi.type.HasField("tensor_type"):
            types[vi.name] = vi.type.tensor_type.elem_type
    for init in g.initializer:
        types[init.name] = init.data_type
    for node in g.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    types[node.output[0]] = a.t.data_type
        elif node.op_type == "Cast":
            to = next(a.i for a in node.attribute if a.name == "to")
            types[node.output[0]] = to
    return types


class _Plan:
    """Which nodes run in float32, from the rules of the module docstring."""

    def __init__(self, model: onnx.ModelProto, types: Dict[str, int], opts: Fp16Options):
        g = model.graph
        self.types = types
        self.consts = {i.name for i in g.initializer} | {n.output[0] for n in g.node if n.op_type == "Constant"}
        self.producer = {o: n for n in g.node for o in n.output}
        self.fp32: Set[int] = set()      # ids of nodes that run in float32
        self.opts = opts
        self._mark(g.node)

    def is_float(self, name: str) -> bool:
        return self.types.get(name) == F32

    def _mark(self, nodes: Iterable[onnx.NodeProto]) -> None:
        island: Set[str] = set()        # float tensors produced in float32
        for node in nodes:
            if node.op_type == "Constant":
                continue
            float_ins = [i for i in node.input if i and self.is_float(i) and i not in self.consts]
            fp32 = (node.op_type in self.opts.block_ops or node.name in self.opts.extra_fp32_nodes
                    or (node.op_type == "Cast" and not any(self.is_float(i) for i in node.input if i))
                    or (node.op_type in CHEAP_OPS and float_ins and all(i in island for i in float_ins)))
            if fp32:
                self.fp32.add(id(node))
                island.update(o for o in node.output if self.is_float(o))
        if self.opts.trig_cones:
            for node in nodes:
                if node.op_type in TRIG_OPS:
                    self._cone(node)

    def _cone(self, node: onnx.NodeProto) -> None:
        stack = [i for i in node.input if i]
        seen: Set[str] = set()
        while stack:
            name = stack.pop()
            if name in seen or name in self.consts:
                continue
            seen.add(name)
            p = self.producer.get(name)
            if p is None or p.op_type not in CHEAP_OPS | {"Range"}:
                continue
            self.fp32.add(id(p))
            stack.extend(i for i in p.input if i)


def convert_fp16(model: onnx.ModelProto, opts: Optional[Fp16Options] = None) -> Dict[str, int]:
    """Rewrites ``model`` in place (see the module docstring); returns counts of what changed."""
    opts = opts or Fp16Options()
    g = model.graph
    types = _elem_types(model)
    plan = _Plan(model, types, opts)
    graph_inputs = {i.name for i in g.input}
    graph_outputs = {o.name for o in g.output}
    inits = {i.name: i for i in g.initializer}

    dtype: Dict[str, int] = {}       # current element type of each float tensor after the rewrite
    for name in graph_inputs:
        if types.get(name) == F32:
            dtype[name] = F32
    casts: Dict[tuple, str] = {}
    new_nodes: List[onnx.NodeProto] = []
    init16: Dict[str, str] = {}
    stats = {"nodes_fp16": 0, "nodes_fp32": 0, "casts": 0, "initializers_fp16": 0}

    def as_type(name: str, want: int) -> str:
        """``name`` as element type ``want`` (a float16 copy of an initializer, or a Cast)."""
        if name in inits and inits[name].data_type == F32:
            if want == F32:
                return name
            if name not in init16:
                a = numpy_helper.to_array(inits[name])
                if np.any(np.abs(a[np.isfinite(a)]) > 65504):
                    raise ValueError(f"initializer {name} exceeds float16's range")
                init16[name] = name + ".fp16"
                g.initializer.append(numpy_helper.from_array(a.astype(np.float16), init16[name]))
                stats["initializers_fp16"] += 1
            return init16[name]
        have = dtype.get(name)
        if have is None or have == want:
            return name
        key = (name, want)
        if key not in casts:
            casts[key] = f"{name}.to_{'fp16' if want == F16 else 'fp32'}"
            new_nodes.append(helper.make_node("Cast", [name], [casts[key]], name=casts[key], to=want))
            stats["casts"] += 1
        return casts[key]

    for node in list(g.node):
        if node.op_type == "Constant":
            # float constants are converted where used (the copy below keeps the float32 one)
            value = next((a for a in node.attribute if a.name == "value"), None)
            if value is not None and value.t.data_type == F32:
                arr = numpy_helper.to_array(value.t)
                inits[node.output[0]] = numpy_helper.from_array(arr, node.output[0])
                g.initializer.append(inits[node.output[0]])
                continue
            new_nodes.append(node)
            continue
        fp32 = id(node) in plan.fp32
        want = F32 if fp32 else F16
        fixed = FIXED_FLOAT_INPUTS.get(node.op_type, set())
        for k, name in enumerate(node.input):
            if name and types.get(name) == F32:       # other element types are left alone
                node.input[k] = as_type(name, F32 if k in fixed else want)
        if node.op_type == "Cast":
            to = next(a for a in node.attribute if a.name == "to")
            if to.i == F32 and not fp32:
                to.i = F16
        elif node.op_type == "ConstantOfShape" and not fp32:
            for a in node.attribute:
                if a.name == "value" and a.t.data_type == F32:
                    a.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(a.t).astype(np.float16)))
        for o in node.output:
            if types.get(o) == F32:
                dtype[o] = want
        stats["nodes_fp32" if fp32 else "nodes_fp16"] += 1
        new_nodes.append(node)

    # graph outputs keep float32: the last producer writes "<name>.fp16", a Cast restores the name
    for out in g.output:
        if dtype.get(out.name) == F16:
            inner = out.name + ".fp16"
            for n in new_nodes:
                for k, o in enumerate(n.output):
                    if o == out.name:
                        n.output[k] = inner
                for k, i in enumerate(n.input):
                    if i == out.name:
                        n.input[k] = inner
            new_nodes.append(helper.make_node("Cast", [inner], [out.name], name=out.name + ".to_fp32", to=F32))
            stats["casts"] += 1
    del g.node[:]
    g.node.extend(_toposort(new_nodes, graph_inputs | set(inits) | {i.name for i in g.initializer}))
    del g.value_info[:]
    drop_unused_initializers(model)
    return stats


def _toposort(nodes: List[onnx.NodeProto], available: Set[str]) -> List[onnx.NodeProto]:
    """Kahn's order, stable (the inserted Casts go right before their first user)."""
    have = set(available) | {""}
    pending = list(nodes)
    out: List[onnx.NodeProto] = []
    while pending:
        rest = []
        progressed = False
        for n in pending:
            if all(i in have for i in n.input):
                out.append(n)
                have.update(n.output)
                progressed = True
            else:
                rest.append(n)
        if not progressed:
            missing = sorted({i for n in rest for i in n.input if i not in have})[:5]
            raise ValueError(f"fp16 rewrite left a graph that cannot be ordered; unknown inputs {missing}")
        pending = rest
    return out
