"""``WinogradConv1d`` and ``Snake``: the HiFT generator's 1-D convolutions and Snake activations as
this project's custom operators.

The rewrite replaces each eligible ``Conv`` with ``org.cosyvoice_ort.WinogradConv1d`` (opset 1 of
that domain), whose kernel in ``libcosyvoice_ops.so`` (src/kernels/winograd_conv1d.h) runs the
Winograd transforms on blocks of tiles held in cache; graphs of standard operators could not
(docs/quantization.md §4.1: the transforms as separate nodes cost more than the multiplications
they save).

The operator's contract, which the C++ kernel implements exactly:

* inputs X float32 [N, C_in, L], W float32 [C_out, C_in, k] (an initializer: the kernel transforms
  it once), optional B float32 [C_out] (an initializer);
* attributes ``dilations`` [d] (default [1]), ``pads`` [left, right] (default [0, 0]),
  ``kernel_shape`` [k]; no strides, group or auto_pad;
* Y float32 [N, C_out, L + left + right - (k - 1) d]: the same arithmetic as ``Conv`` up to float32
  rounding.

Eligible are the convolutions the kernel is built for: 1-D, group 1, stride 1, explicit pads,
k >= 3 (k = 1 has nothing to save), a left pad that is a multiple of the dilation (then the phases
t mod d of input and output coincide, and each phase is a dilation-1 convolution for the tiles),
and at least 8 input and output channels (the contract's floor). The rest stay ``Conv``: the
source STFT (strided), the source down-samplings (strided or k = 1), the last stages' 4-channel
resblocks and ``conv_post``.

The same rewrite fuses each Snake activation, x + sin(a x)^2 / a, which the base graph writes as five
nodes (export/hift_builder.py ``_snake``: Mul, Sin, Mul, Mul, Add), into the library's second operator
``org.cosyvoice_ort.Snake``: ONNX Runtime runs the five as five passes over the activation and its Sin
kernel is scalar (profiled on the full-size generator, 1 thread, per 5 s of audio out of about 1.2 s:
Sin 250 ms, Mul 82 ms, Add 66 ms); the operator is one pass with a vectorized sine. Its contract:

* inputs X float32 [N, C, L], A and INV float32 initializers of C elements each (any shape);
* no attributes; Y float32 [N, C, L] = X + sin(X A)^2 INV per channel c of axis 1, computed as t = X A,
  s = sin(t), q = (s s) INV, Y = X + q; the sine to within 2·2^-24 absolute, ONNX Runtime's within
  ``fp32_bounds.FN_ULPS`` ulp.

:func:`fuse_snakes` says which five nodes qualify.

:func:`check_generator` runs the base generator graph and the rewritten one on the same seeded
inputs and holds them to the base graph's export bound, counted with both graphs' depths (the
variant's gate status is then ``parity``); it needs the ops library, as does every session of the
rewritten graph.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import onnx
from onnx import TensorProto, helper

from .. import fp32_bounds as FB
from ..export.parity import GraphCheck, ParityError, Tolerance, timed
from ..ort import OPS_DOMAIN, OPS_OPSET, import_ops_domain

DOMAIN = OPS_DOMAIN
OP_TYPE = "WinogradConv1d"
OPSET = OPS_OPSET
MIN_CHANNELS = 8
MIN_KERNEL = 3
SNAKE_OP_TYPE = "Snake"


def _attrs(node: onnx.NodeProto) -> Dict[str, object]:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _float_initializer(inits: Dict[str, onnx.TensorProto], name: str, rank: int) -> bool:
    t = inits.get(name)
    return t is not None and t.data_type == TensorProto.FLOAT and len(t.dims) == rank


def eligible(node: onnx.NodeProto, inits: Dict[str, onnx.TensorProto]) -> bool:
    """Whether ``node`` is a Conv the operator computes (see the module docstring)."""
    if node.op_type != "Conv" or node.domain not in ("", "ai.onnx") or len(node.input) < 2:
        return False
    if not _float_initializer(inits, node.input[1], 3):
        return False
    if len(node.input) > 2 and node.input[2] and not _float_initializer(inits, node.input[2], 1):
        return False
    c_out, c_in, k = inits[node.input[1]].dims
    a = _attrs(node)
    auto_pad = a.get("auto_pad", b"NOTSET")
    dilation = list(a.get("dilations", [1]))
    pads = list(a.get("pads", [0, 0]))
    return (a.get("group", 1) == 1 and all(s == 1 for s in a.get("strides", [1]))
            and auto_pad in (b"NOTSET", "NOTSET") and len(dilation) == 1 and len(pads) == 2
            and k >= MIN_KERNEL and pads[0] % dilation[0] == 0
            and c_in >= MIN_CHANNELS and c_out >= MIN_CHANNELS)


def _winograd_node(conv: onnx.NodeProto, k: int) -> onnx.NodeProto:
    """The operator node in place of ``conv``: same name, inputs and outputs; only the attributes
    the contract names."""
    a = _attrs(conv)
    return helper.make_node(OP_TYPE, list(conv.input), list(conv.output), name=conv.name, domain=DOMAIN,
                            dilations=list(a.get("dilations", [1])), pads=list(a.get("pads", [0, 0])),
                            kernel_shape=[k])


def rewrite_generator(model: onnx.ModelProto) -> Dict[str, object]:
    """The variant's rewrite: first :func:`fuse_snakes` (before any Conv becomes an operator ONNX's
    shape inference does not know, since the fusion needs the activations' channel counts), then
    replaces the eligible Conv nodes of the main graph in place, each at its position (the order
    stays topological; initializers untouched), and imports the operators' domain when a node was
    replaced. Returns the variant's description: the convolution operator, convolutions rewritten and
    kept, the Snake operator and the activations fused."""
    snakes = fuse_snakes(model)
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    rewritten = kept = 0
    for i, node in enumerate(g.node):
        if node.op_type != "Conv":
            continue
        if not eligible(node, inits):
            kept += 1
            continue
        g.node[i].CopyFrom(_winograd_node(node, int(inits[node.input[1]].dims[2])))
        rewritten += 1
    if rewritten:
        import_ops_domain(model)
    return {"operator": f"{DOMAIN}.{OP_TYPE}", "convolutions": rewritten, "kept_conv": kept,
            "snake_operator": f"{DOMAIN}.{SNAKE_OP_TYPE}", "snakes": snakes}


# ---------------------------------------------------------------------------- Snake

def _standard(node: onnx.NodeProto, op_type: str, n_inputs: int) -> bool:
    return (node.op_type == op_type and node.domain in ("", "ai.onnx") and len(node.input) == n_inputs
            and len(node.output) == 1)


def _per_channel(inits: Dict[str, onnx.TensorProto], name: str) -> Optional[int]:
    """C when ``name`` is a float32 initializer that multiplies an [N, C, L] tensor per channel of
    axis 1 ([1, C, 1] or [C, 1]: ONNX broadcasting aligns trailing axes, so a [C] would scale the
    samples instead), else None."""
    t = inits.get(name)
    if t is None or t.data_type != TensorProto.FLOAT or not 2 <= len(t.dims) <= 3:
        return None
    dims = [1] * (3 - len(t.dims)) + list(t.dims)
    return int(dims[1]) if dims[0] == 1 and dims[2] == 1 else None


def _known_channels(model: onnx.ModelProto) -> Dict[str, int]:
    """dim 1 of the rank-3 tensors whose shape is declared or inferred (onnx.shape_inference on a
    copy; Conv outputs get their channels from the weight). A Mul of [N, 1, L] by a [1, C, 1] would
    broadcast to [N, C, L], not the Snake's same-shape output, so a fusion needs C known."""
    try:
        g = onnx.shape_inference.infer_shapes(model).graph
    except (onnx.shape_inference.InferenceError, ValueError):   # ValueError: a model over 2 GB
        g = model.graph
    known = {}
    for vi in [*g.input, *g.value_info, *g.output]:
        dims = vi.type.tensor_type.shape.dim
        if vi.type.tensor_type.HasField("shape") and len(dims) == 3 and dims[1].HasField("dim_value"):
            known[vi.name] = int(dims[1].dim_value)
    return known


def _match_snake(i: int, nodes: Sequence[onnx.NodeProto], producer: Dict[str, int],
                 consumers: Dict[str, List[int]], inits: Dict[str, onnx.TensorProto], channels: Dict[str, int],
                 outputs: set) -> Optional[Tuple[str, str, str, List[int]]]:
    """(x, a, inv, indices of the four nodes before the Add) when nodes[i] ends a Snake (see
    :func:`fuse_snakes`), else None."""
    add = nodes[i]
    if not _standard(add, "Add", 2):
        return None

    def only_into(name: str, op_type: str, n_inputs: int, consumer: int, uses: int = 1) -> Optional[int]:
        """The producer of ``name`` when it is a standard ``op_type`` whose output goes nowhere but
        ``uses`` inputs of nodes[consumer] (not a graph output, nor read by a subgraph)."""
        j = producer.get(name)
        if j is None or name in outputs or consumers.get(name) != [consumer] * uses:
            return None
        return j if _standard(nodes[j], op_type, n_inputs) else None

    for x, scaled in (tuple(add.input), tuple(reversed(add.input))):
        m_scale = only_into(scaled, "Mul", 2, i)
        if m_scale is None:
            continue
        for sq, inv in (tuple(nodes[m_scale].input), tuple(reversed(nodes[m_scale].input))):
            m_sq = only_into(sq, "Mul", 2, m_scale)
            if m_sq is None or _per_channel(inits, inv) is None:
                continue
            s = nodes[m_sq].input[0]
            sin = only_into(s, "Sin", 1, m_sq, uses=2) if nodes[m_sq].input[1] == s else None
            m_ax = only_into(nodes[sin].input[0], "Mul", 2, sin) if sin is not None else None
            if m_ax is None:
                continue
            for x_ax, a in (tuple(nodes[m_ax].input), tuple(reversed(nodes[m_ax].input))):
                c = _per_channel(inits, a)
                if x_ax == x and c is not None and _per_channel(inits, inv) == c == channels.get(x):
                    return x, a, inv, [m_ax, sin, m_sq, m_scale]
    return None


def fuse_snakes(model: onnx.ModelProto) -> int:
    """Replaces each Snake activation of the main graph, ``Add(x, Mul(Mul(s, s), inv))`` with
    ``s = Sin(Mul(x, a))``, by one ``org.cosyvoice_ort.Snake(x, a, inv)`` node in the Add's place,
    with the Add's name and output (its consumers unchanged; the order stays topological, since x
    comes before the chain's first node). Either operand order of each Mul and of the Add matches.
    Fused only when the operator computes the same values: the five nodes are standard ONNX, ``a``
    and ``inv`` float32 initializers (not overridden by a graph input) scaling x's C channels
    (:func:`_per_channel`, C known: :func:`_known_channels`), and every intermediate - a x, the sine,
    its square, the scaled square - feeds only the next node (the sine both inputs of its square)
    and is no graph output: another reader would lose its tensor. Initializers untouched (a and inv
    are the operator's); the operators' domain is imported when a node was replaced. Returns the
    number fused."""
    g = model.graph
    graph_inputs = {v.name for v in g.input}
    inits = {t.name: t for t in g.initializer if t.name not in graph_inputs}
    nodes = list(g.node)
    producer = {out: j for j, n in enumerate(nodes) for out in n.output}
    consumers: Dict[str, List[int]] = {}
    for j, n in enumerate(nodes):
        for name in n.input:
            consumers.setdefault(name, []).append(j)
        for sub in _subgraph_inputs(n):                 # outer-scope reads count as other consumers
            consumers.setdefault(sub, []).append(-1)
    outputs = {o.name for o in g.output}
    channels = _known_channels(model)
    fused: Dict[int, onnx.NodeProto] = {}
    removed: set = set()
    for i in range(len(nodes)):
        m = _match_snake(i, nodes, producer, consumers, inits, channels, outputs)
        if m is None:
            continue
        x, a, inv, chain = m                    # chains are disjoint: each intermediate has one consumer
        y = nodes[i].output[0]
        fused[i] = helper.make_node(SNAKE_OP_TYPE, [x, a, inv], [y], name=nodes[i].name or y + ".snake",
                                    domain=DOMAIN)
        removed.update(chain)
    if not fused:
        return 0
    gone = {nodes[j].output[0] for j in removed}
    kept_info = [v for v in g.value_info if v.name not in gone]
    del g.node[:]
    g.node.extend(fused.get(j, n) for j, n in enumerate(nodes) if j not in removed)
    del g.value_info[:]
    g.value_info.extend(kept_info)
    import_ops_domain(model)
    return len(fused)


def _subgraph_inputs(node: onnx.NodeProto) -> List[str]:
    """Every tensor name the node's subgraphs (If/Loop/Scan bodies) read, at any depth."""
    names: List[str] = []
    for attr in node.attribute:
        for sub in ([attr.g] if attr.type == onnx.AttributeProto.GRAPH else
                    list(attr.graphs) if attr.type == onnx.AttributeProto.GRAPHS else []):
            for n in sub.node:
                names.extend(n.input)
                names.extend(_subgraph_inputs(n))
    return names


# ---------------------------------------------------------------------------- parity with the base graph

# the frame counts of the base generator's own export check (export/bundle.py GENERATOR_FRAMES):
# one frame (shorter than most kernels' reach), a short and a long chunk
PARITY_FRAMES = (1, 10, 100)
PARITY_SEED = 20261206
LOG_MAGNITUDE_MAX = math.log(100.0)   # the generator's magnitude exp(x) is clipped at 100: x <= ln 100


def graph_depth(path) -> float:
    """``fp32_bounds.onnx_graph_depth`` of a generator graph (a file or an ``onnx.ModelProto``), each WinogradConv1d counted as
    ``fp32_bounds.winograd_conv_depth`` (its tile's transforms and their growth) where a Conv counts
    its fan-in c_in k, and each Snake as ``FN_ULPS`` for its sine, as its Sin node counts in the base
    graph: an absolute error e <= 2·2^-24 of s = sin(a x) moves Y by 2 |s| e inv <= 4·2^-24 |x|
    (|s| <= |a x|, inv = 1 / (a + 1e-9)), FN_ULPS units of |x|."""
    model = path if isinstance(path, onnx.ModelProto) else onnx.load(str(path), load_external_data=False)
    depth = FB.onnx_graph_depth(model, 0)
    g = model.graph
    dims = {t.name: list(t.dims) for t in g.initializer}
    for n in g.node:
        if n.op_type == OP_TYPE and n.domain == DOMAIN:
            _, c_in, k = dims[n.input[1]]
            depth += FB.winograd_conv_depth(c_in, k)
        elif n.op_type == SNAKE_OP_TYPE and n.domain == DOMAIN:
            depth += FB.FN_ULPS
    return depth


def tol_generator_graph(base: Path, variant: Path) -> Dict[str, Tolerance]:
    """The base generator's export bound (export/bundle.py ``tol_generator``: 2γ(depth)·ln 100 relative,
    on both spectrum outputs) for two float32 evaluations of different depths: γ(base) + γ(variant),
    each counted from its graph (:func:`graph_depth`: every convolution including the source STFT's
    taps, FN_ULPS per Sin/Cos/Exp) since a bundle holds no PyTorch module."""
    return spectrum_tolerance(graph_depth(base), graph_depth(variant))


def spectrum_tolerance(depth_a: float, depth_b: float) -> Dict[str, Tolerance]:
    """Two float32 evaluations of the generator's chain, of depths ``depth_a`` and ``depth_b``: relative
    (γ(a) + γ(b))·ln 100 on both spectrum outputs (export/bundle.py ``tol_generator``: equal depths)."""
    t = Tolerance("rel", (FB.gamma(depth_a) + FB.gamma(depth_b)) * LOG_MAGNITUDE_MAX)
    return {"real": t, "imag": t}


def generator_inputs(t_len: int, samples_per_frame: int, mel_bins: int, harmonic_channels: int,
                     rng: np.random.Generator) -> Dict[str, np.ndarray]:
    """Log-mel-like values (about -11.5 .. 2, as the export check's) and an excitation at the NSF
    source's scale (sine_amp 0.1)."""
    mel = np.clip(rng.standard_normal((1, mel_bins, t_len)) * 2.0 - 5.0, -11.5, 2.0)
    harm = rng.standard_normal((1, t_len * samples_per_frame, harmonic_channels)) * 0.05
    return {"mel": mel.astype(np.float32), "harmonics": harm.astype(np.float32)}


def check_generator(base: Path, variant: Path, samples_per_frame: int, rel: str, threads: int = 2,
                    log: Callable[[str], None] = print) -> Dict[str, object]:
    """Runs the base generator graph (ONNX Runtime's Conv) and the rewritten one (the ops library's
    kernel) on the same seeded inputs and compares ``real``/``imag`` with the export check's metric
    (export/parity.py ``GraphCheck``). Returns {"max_rel", "bound", "cases"}; raises ParityError
    beyond the bound."""
    from ..ort import OrtGraph, ops_library_path

    tol = tol_generator_graph(base, variant)
    chk = GraphCheck(rel, "float32", tol, log)
    rng = np.random.default_rng(PARITY_SEED)
    with OrtGraph(base, threads=threads) as ref, \
            OrtGraph(variant, threads=threads, custom_ops_library=ops_library_path()) as got:
        shapes = {name: shape for name, _, shape in ref.inputs}
        for t_len in PARITY_FRAMES:
            feeds = generator_inputs(t_len, samples_per_frame, shapes["mel"][1], shapes["harmonics"][2], rng)
            out, dt = timed(got.run, feeds)
            chk.compare(f"T={t_len}", out, ref.run(feeds), dt)
    if chk.failures:
        raise ParityError(f"{rel}: the WinogradConv1d graph differs from the base generator graph beyond "
                          f"tolerance:\n  " + "\n  ".join(chk.failures))
    return {"max_rel": float(f"{chk.max_rel:.3g}"), "bound": float(f"{tol['real'].value:.3g}"),
            "cases": list(chk.cases)}
