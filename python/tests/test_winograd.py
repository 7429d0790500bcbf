"""The vocoder's fp32-winograd variant (cosyvoice_export.quant.winograd): which convolutions become
``org.cosyvoice_ort.WinogradConv1d`` and which five-node Snake activations ``org.cosyvoice_ort.Snake``,
the commands' refusal without the ops library, and - with the library `make build` writes (required:
`make test` builds it before pytest runs) - the operators against ONNX Runtime's Conv and Sin/Mul/Add
nodes and the rewritten tiny generator against its base graph.

Bounds: a direct float32 convolution is within γ(c_in k + 1)·(Σ|w||x| + |b|) of the exact one, the
operator within γ(fp32_bounds.winograd_conv_depth(c_in, k))·(Σ|w||x| + |b|): its F(4, r) tiles round
in their transforms too, on sums of |terms| up to the transforms' growth times larger. The generator
is held to its export check's bound with both graphs' depths (:func:`winograd.tol_generator_graph`).
A Snake differs from its five nodes only in the sine (:func:`_snake_bound`).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import fp32
from cosyvoice_export import fp32_bounds as FB
from cosyvoice_export import ort as O
from cosyvoice_export.quant import variants as QV
from cosyvoice_export.quant import winograd as QW

PY_DIR = Path(__file__).resolve().parents[1]


def _cli(*args, **env):
    e = dict(os.environ, PYTHONPATH=str(PY_DIR) + os.pathsep + os.environ.get("PYTHONPATH", ""), **env)
    return subprocess.run([sys.executable, "-m", "cosyvoice_export", *map(str, args)], cwd=str(PY_DIR), env=e,
                          capture_output=True, text=True)


# ---------------------------------------------------------------------------- the rewrite

def _conv(name, c_in, c_out, k, rng, bias=True, **attrs):
    """A Conv node reading "x" with its weight (and bias) initializers."""
    inits = [numpy_helper.from_array(rng.standard_normal((c_out, c_in // attrs.get("group", 1), k))
                                     .astype(np.float32), f"{name}.w")]
    inputs = ["x", f"{name}.w"]
    if bias:
        inits.append(numpy_helper.from_array(rng.standard_normal(c_out).astype(np.float32), f"{name}.b"))
        inputs.append(f"{name}.b")
    return helper.make_node("Conv", inputs, [f"{name}.y"], name=name, **attrs), inits


def _model(convs, c_in, length="L"):
    nodes = [n for n, _ in convs]
    inits = [t for _, ts in convs for t in ts]
    c_out = {t.name: t.dims[0] for t in inits}
    outs = [helper.make_tensor_value_info(n.output[0], TensorProto.FLOAT, ["N", c_out.get(n.input[1], "C"), None])
            for n in nodes]
    g = helper.make_graph(nodes, "convs", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", c_in, length])],
                          outs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def _mixed_model():
    """One convolution of each kind the rule tells apart, all reading the same 8-channel input."""
    rng = np.random.default_rng(1)
    return _model([
        _conv("eligible", 8, 8, 3, rng, dilations=[2], pads=[4, 1], kernel_shape=[3], strides=[1]),
        _conv("plain", 8, 16, 5, rng, bias=False),                       # every attribute defaulted
        _conv("strided", 8, 8, 3, rng, strides=[2], pads=[2, 0]),
        _conv("grouped", 8, 8, 3, rng, group=2, pads=[2, 0]),
        _conv("pointwise", 8, 8, 1, rng),
        _conv("off_phase", 8, 8, 3, rng, dilations=[2], pads=[3, 0]),    # left pad not a multiple of d
        _conv("narrow_out", 8, 4, 3, rng, pads=[2, 0]),
        _conv("same", 8, 8, 3, rng, auto_pad="SAME_UPPER"),
    ], 8)


def test_rewrite_picks_exactly_the_eligible_convolutions():
    m = _mixed_model()
    before = {t.name: t.SerializeToString() for t in m.graph.initializer}
    desc = QW.rewrite_generator(m)
    assert desc == {"operator": "org.cosyvoice_ort.WinogradConv1d", "convolutions": 2, "kept_conv": 6,
                    "snake_operator": "org.cosyvoice_ort.Snake", "snakes": 0}
    ops = {n.name: (n.domain, n.op_type) for n in m.graph.node}
    assert ops.pop("eligible") == ops.pop("plain") == ("org.cosyvoice_ort", "WinogradConv1d")
    assert set(ops.values()) == {("", "Conv")}
    eligible, plain = m.graph.node[0], m.graph.node[1]
    attrs = lambda n: {a.name: list(a.ints) for a in n.attribute}  # noqa: E731
    assert attrs(eligible) == {"dilations": [2], "pads": [4, 1], "kernel_shape": [3]}
    assert attrs(plain) == {"dilations": [1], "pads": [0, 0], "kernel_shape": [5]}
    assert list(eligible.input) == ["x", "eligible.w", "eligible.b"] and list(plain.input) == ["x", "plain.w"]
    assert {t.name: t.SerializeToString() for t in m.graph.initializer} == before
    assert [(o.domain, o.version) for o in m.opset_import] == [("", 17), ("org.cosyvoice_ort", 1)]
    onnx.checker.check_model(m)
    # nothing left to rewrite the second time; the domain is imported once
    assert QW.rewrite_generator(m)["convolutions"] == 0 and len(m.opset_import) == 2


def test_weights_that_are_not_initializers_stay_conv():
    rng = np.random.default_rng(2)
    node, inits = _conv("c", 8, 8, 3, rng, pads=[2, 0])
    m = _model([(node, inits[1:])], 8)          # the weight becomes a graph input
    m.graph.input.append(helper.make_tensor_value_info("c.w", TensorProto.FLOAT, [8, 8, 3]))
    assert QW.rewrite_generator(m) == {"operator": "org.cosyvoice_ort.WinogradConv1d", "convolutions": 0,
                                          "kept_conv": 1, "snake_operator": "org.cosyvoice_ort.Snake",
                                          "snakes": 0}
    assert [o.domain for o in m.opset_import] == [""]            # no operator, no domain


def test_tiny_generator_keeps_the_strided_and_narrow_convolutions(tiny_bundle):
    m = onnx.load(str(tiny_bundle / "hift" / "hift_generator.onnx"))
    convs = [n for n in m.graph.node if n.op_type == "Conv"]
    desc = QW.rewrite_generator(m)
    kept = {n.name for n in m.graph.node if n.op_type == "Conv"}
    assert desc["convolutions"] + desc["kept_conv"] == len(convs) and desc["convolutions"] > 0
    assert any(n.startswith("stft") for n in kept) and any(n.startswith("conv_post") for n in kept)
    assert not any(n.startswith("conv_pre") or n.startswith("ups.") for n in kept)


def test_tiny_generator_fuses_every_snake(tiny_bundle, tmp_path):
    """Every resblock activation becomes a Snake; the Sin left is the output's phase (no square of it
    feeds an Add). The Snakes count the FN_ULPS of the Sin nodes they replace: the depth is the base's."""
    path = tiny_bundle / "hift" / "hift_generator.onnx"
    m = onnx.load(str(path))
    sines = sum(n.op_type == "Sin" for n in m.graph.node)
    n = QW.fuse_snakes(m)
    snakes = [x for x in m.graph.node if x.op_type == "Snake"]
    left = [x for x in m.graph.node if x.op_type == "Sin"]
    assert n == len(snakes) == sines - len(left) > 0
    assert all(x.domain == "org.cosyvoice_ort" and x.name == x.output[0] for x in snakes)
    squares = {x.input[0] for x in m.graph.node if x.op_type == "Mul" and x.input[0] == x.input[1]}
    assert not [x for x in left if x.output[0] in squares]
    onnx.checker.check_model(m)
    onnx.save(m, str(tmp_path / "snakes.onnx"))
    assert QW.graph_depth(tmp_path / "snakes.onnx") == QW.graph_depth(path)
    assert QW.rewrite_generator(m)["snakes"] == 0                 # nothing left to fuse


# ---------------------------------------------------------------------------- the Snake fusion

SNAKE_C = 8


def _snake(name, x, rng, swap=False):
    """The base graph's five Snake nodes (export/hift_builder.py ``_snake``) on ``x``, named after
    ``name`` (the Add's output), and their a/inv initializers [1, C, 1]; ``swap`` reverses every
    operand order (a x, inv sq, Add(scaled, x)). Both signs of a, |a| 0.2 .. 2."""
    a = (rng.uniform(0.2, 2.0, (1, SNAKE_C, 1)) * rng.choice([-1.0, 1.0], (1, SNAKE_C, 1))).astype(np.float32)
    inv = (np.float32(1.0) / (a + np.float32(1e-9))).astype(np.float32)
    order = (lambda p, q: [q, p]) if swap else (lambda p, q: [p, q])  # noqa: E731
    t = {k: f"{name}.{k}" for k in ("a", "inv", "ax", "sin", "sq", "scaled")}
    nodes = [helper.make_node("Mul", order(x, t["a"]), [t["ax"]], name=t["ax"]),
             helper.make_node("Sin", [t["ax"]], [t["sin"]], name=t["sin"]),
             helper.make_node("Mul", [t["sin"], t["sin"]], [t["sq"]], name=t["sq"]),
             helper.make_node("Mul", order(t["sq"], t["inv"]), [t["scaled"]], name=t["scaled"]),
             helper.make_node("Add", order(x, t["scaled"]), [name], name=name)]
    return nodes, [numpy_helper.from_array(a, t["a"]), numpy_helper.from_array(inv, t["inv"])]


def _snake_input(name="x"):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", SNAKE_C, "L"])


def _snake_model(nodes, inits, outputs, inputs=None):
    g = helper.make_graph(nodes, "snakes", inputs or [_snake_input()], [_snake_input(o) for o in outputs], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def _two_snakes():
    """s1 on x in the base graph's order; x2 = LeakyRelu(x); s2 on x2 with every operand swapped."""
    rng = np.random.default_rng(3)
    n1, i1 = _snake("s1", "x", rng)
    n2, i2 = _snake("s2", "x2", rng, swap=True)
    lrelu = helper.make_node("LeakyRelu", ["x"], ["x2"], name="x2", alpha=0.1)
    return _snake_model(n1 + [lrelu] + n2, i1 + i2, ["s1", "x2", "s2"])


def test_snakes_fuse_in_place():
    m = _two_snakes()
    before = {t.name: t.SerializeToString() for t in m.graph.initializer}
    assert QW.fuse_snakes(m) == 2
    assert [(n.domain, n.op_type, n.name, list(n.input), list(n.output)) for n in m.graph.node] == [
        ("org.cosyvoice_ort", "Snake", "s1", ["x", "s1.a", "s1.inv"], ["s1"]),
        ("", "LeakyRelu", "x2", ["x"], ["x2"]),
        ("org.cosyvoice_ort", "Snake", "s2", ["x2", "s2.a", "s2.inv"], ["s2"])]
    assert all(not n.attribute for n in m.graph.node if n.op_type == "Snake")
    assert {t.name: t.SerializeToString() for t in m.graph.initializer} == before
    assert [(o.domain, o.version) for o in m.opset_import] == [("", 17), ("org.cosyvoice_ort", 1)]
    onnx.checker.check_model(m)
    assert QW.fuse_snakes(m) == 0 and len(m.opset_import) == 2


def _sine_read_twice(nodes, inits, graph_inputs, outputs):
    """The sine read by another node too."""
    nodes.append(helper.make_node("Neg", ["s.sin"], ["other"], name="other"))
    outputs.append("other")


def _a_not_initializer(nodes, inits, graph_inputs, outputs):
    """a a graph input."""
    a = inits.pop(0)
    graph_inputs.append(helper.make_tensor_value_info(a.name, TensorProto.FLOAT, list(a.dims)))


def _a_overridden(nodes, inits, graph_inputs, outputs):
    """An initializer that is also a graph input: a default the caller may replace."""
    graph_inputs.append(helper.make_tensor_value_info("s.a", TensorProto.FLOAT, [1, SNAKE_C, 1]))


def _inv_per_sample(nodes, inits, graph_inputs, outputs):
    """inv [C] scales the last axis (ONNX broadcasting), not the channels."""
    inits[1] = numpy_helper.from_array(numpy_helper.to_array(inits[1]).reshape(SNAKE_C), "s.inv")


def _intermediate_output(nodes, inits, graph_inputs, outputs):
    """The scaled square a graph output too."""
    outputs.append("s.scaled")


def _not_a_square(nodes, inits, graph_inputs, outputs):
    """sin x in place of sin sin."""
    nodes[2].input[1] = "x"


def _other_addend(nodes, inits, graph_inputs, outputs):
    """Add(x2, scaled) with x2 = Neg(x): not x + its own sine term."""
    nodes.insert(0, helper.make_node("Neg", ["x"], ["x2"], name="x2"))
    nodes[-1].input[0] = "x2"


def _channels_unknown(nodes, inits, graph_inputs, outputs):
    """x [N, C, L] with C not known: a single channel would broadcast to [N, 8, L]."""
    graph_inputs[0] = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "C", "L"])


@pytest.mark.parametrize("change", [_sine_read_twice, _a_not_initializer, _a_overridden, _inv_per_sample,
                                    _intermediate_output, _not_a_square, _other_addend, _channels_unknown],
                         ids=lambda f: f.__name__.lstrip("_"))
def test_snakes_that_stay_nodes(change):
    control = _snake_model(*_snake("s", "x", np.random.default_rng(4)), ["s"])
    assert QW.fuse_snakes(control) == 1                      # unchanged, the same nodes fuse
    nodes, inits = _snake("s", "x", np.random.default_rng(4))
    graph_inputs, outputs = [_snake_input()], ["s"]
    change(nodes, inits, graph_inputs, outputs)
    m = _snake_model(nodes, inits, outputs, graph_inputs)
    onnx.checker.check_model(m)
    before = m.SerializeToString()
    assert QW.fuse_snakes(m) == 0
    assert m.SerializeToString() == before                     # no node, no domain


# ---------------------------------------------------------------------------- without the library

def test_ops_library_path(monkeypatch, tmp_path):
    missing = tmp_path / "nowhere" / "libcosyvoice_ops.so"
    monkeypatch.setenv("COSYVOICE_OPS_LIBRARY", str(missing))
    with pytest.raises(FileNotFoundError) as e:
        O.ops_library_path()
    assert str(missing) in str(e.value) and "`make build` (cmake target cosyvoice_ops)" in str(e.value)
    found = tmp_path / "libcosyvoice_ops.so"
    found.write_bytes(b"")
    monkeypatch.setenv("COSYVOICE_OPS_LIBRARY", str(found))
    assert O.ops_library_path() == found
    monkeypatch.delenv("COSYVOICE_OPS_LIBRARY")           # then the build tree's
    monkeypatch.setattr(O, "_repo_root", lambda: tmp_path)
    default = tmp_path / "build" / "lib" / "libcosyvoice_ops.so"
    with pytest.raises(FileNotFoundError, match=str(default)):
        O.ops_library_path()
    default.parent.mkdir(parents=True)
    default.write_bytes(b"")
    assert O.ops_library_path() == default


def test_commands_refuse_without_the_library(tiny_bundle, tmp_path):
    missing = tmp_path / "libcosyvoice_ops.so"
    r = _cli("quantize", tiny_bundle, "--out", tmp_path / "q", "--hift", "winograd", COSYVOICE_OPS_LIBRARY=str(missing))
    assert r.returncode == 1, r.stderr
    assert f"{missing} (from $COSYVOICE_OPS_LIBRARY)" in r.stderr and "cmake target cosyvoice_ops" in r.stderr
    assert not (tmp_path / "q").exists()
    r = _cli("export", "--checkpoint", tmp_path, "--out", tmp_path / "b", "--quantize", "hift=winograd",
             COSYVOICE_OPS_LIBRARY=str(missing))
    assert r.returncode == 1 and str(missing) in r.stderr and not (tmp_path / "b").exists()
    r = _cli("quantize", tiny_bundle, "--out", tmp_path / "p", "--llm", "panel", COSYVOICE_OPS_LIBRARY=str(missing))
    assert r.returncode == 1 and str(missing) in r.stderr and not (tmp_path / "p").exists()


def test_cli_names():
    from cosyvoice_export.quantize import graph_variant_list
    assert ("hift", "fp32-winograd") in QV.SPECS
    assert QV.variant_path("hift/hift_generator.onnx", QV.SPECS["hift", "fp32-winograd"].suffix) \
        == "hift/hift_generator.winograd.onnx"
    with pytest.raises(ValueError, match="available: fp16, winograd"):
        graph_variant_list({"hift": ["int8"]})


# ---------------------------------------------------------------------------- with the library

CASES = [  # c_in, c_out, k, dilation, pads, length, bias, batch
    (8, 8, 3, 1, [2, 0], 37, True, 1),
    (16, 12, 7, 3, [18, 0], 50, False, 1),
    (9, 10, 11, 5, [50, 0], 23, True, 2),
    (80, 32, 5, 1, [0, 4], 3, True, 1),            # conv_pre's shape: a right pad, 3 frames
    (32, 128, 3, 1, [2, 0], 1, True, 1),           # one sample
    (8, 8, 3, 2, [2, 3], 40, True, 1),
    (8, 8, 4, 1, [0, 0], 9, False, 1),             # even k, no padding
]


def _abs_terms(x, w, b, d, pads):
    """Σ|w||x| + |b| of every output, the scale of its rounding error (module docstring), in float64."""
    xa = np.pad(np.abs(x.astype(np.float64)), ((0, 0), (0, 0), tuple(pads)))
    return _conv64(xa, np.abs(w.astype(np.float64)), d) + (np.abs(b)[:, None] if b is not None else 0.0)


def _conv64(xp, w, d):
    """Correlation of the padded input with the kernel, float64 (ONNX Conv's definition)."""
    k = w.shape[2]
    out_len = xp.shape[2] - (k - 1) * d
    cols = np.stack([xp[:, :, j * d:j * d + out_len] for j in range(k)], -1)      # [N, C_in, L, k]
    return np.einsum("nilk,oik->nol", cols, w)


@pytest.mark.parametrize("c_in,c_out,k,d,pads,length,bias,batch", CASES)
def test_operator_equals_conv(ops_library, tmp_path, c_in, c_out, k, d, pads, length, bias, batch):
    rng = np.random.default_rng(c_in * 100 + k * 10 + d)
    node, inits = _conv("c", c_in, c_out, k, rng, bias=bias, dilations=[d], pads=pads)
    base = _model([(node, inits)], c_in)
    onnx.save(base, str(tmp_path / "conv.onnx"))
    m = onnx.ModelProto()
    m.CopyFrom(base)
    assert QW.rewrite_generator(m)["convolutions"] == 1
    onnx.save(m, str(tmp_path / "winograd.onnx"))
    x = rng.standard_normal((batch, c_in, length)).astype(np.float32)
    got = O.OrtGraph(tmp_path / "winograd.onnx", threads=fp32.threads(), custom_ops_library=ops_library).run({"x": x})
    conv = O.OrtGraph(tmp_path / "conv.onnx", threads=fp32.threads()).run({"x": x})
    w = numpy_helper.to_array(inits[0])
    b = numpy_helper.to_array(inits[1]) if bias else None
    exact = _conv64(np.pad(x.astype(np.float64), ((0, 0), (0, 0), tuple(pads))), w.astype(np.float64), d)
    exact = exact + (b[:, None] if bias else 0.0)
    assert got["c.y"].shape == conv["c.y"].shape == exact.shape == (batch, c_out, length + sum(pads) - (k - 1) * d)
    terms = _abs_terms(x, w, b, d, pads)
    fp32.assert_within(got["c.y"], exact, FB.gamma(FB.winograd_conv_depth(c_in, k)) * terms,
                       "WinogradConv1d vs the exact convolution")
    fp32.assert_within(conv["c.y"], exact, fp32.gamma(c_in * k + 1) * terms, "Conv vs the exact convolution")


def _snake_bound(x, a, inv):
    """|Snake - its five nodes| elementwise, given the float32 input x. Both compute t = x a with the
    same float32 rounding; only the sines differ: the library's within e = 2·2^-24 absolute of sin(t),
    ONNX Runtime's within FN_ULPS ulp (<= FN_ULPS·2^-24 absolute, |s| <= 1). Each result is then within
    (2|s| e + e^2)|inv| (the square of s + e) plus its own roundings - the square and the scaling,
    γ(2) |q|, and the sum, 2^-24 (|x| + |q|) with |q| <= (|s| + e)^2 |inv| - of x + sin(t)^2 inv."""
    x64 = np.abs(x.astype(np.float64))
    s = np.abs(np.sin((x * a).astype(np.float64)))
    inv = np.abs(inv.astype(np.float64))
    bound = np.zeros_like(s)
    for e in (2 * FB.U, FB.FN_ULPS * FB.U):
        q = (s + e) ** 2 * inv
        bound += (2 * s * e + e * e) * inv + FB.gamma(2) * q + FB.U * (x64 + q)
    return bound


def test_snake_equals_its_nodes(ops_library, tmp_path):
    base = _two_snakes()
    onnx.save(base, str(tmp_path / "nodes.onnx"))
    m = onnx.ModelProto()
    m.CopyFrom(base)
    assert QW.fuse_snakes(m) == 2
    onnx.save(m, str(tmp_path / "snake.onnx"))
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((2, SNAKE_C, 300)) * 3.0).astype(np.float32)   # |a x| up to ~30: several periods
    x[0, 0, :4] = [0.0, -0.0, 1e-30, -1e-20]                                # sin(t) ~ t
    got = O.OrtGraph(tmp_path / "snake.onnx", threads=fp32.threads(), custom_ops_library=ops_library).run({"x": x})
    want = O.OrtGraph(tmp_path / "nodes.onnx", threads=fp32.threads()).run({"x": x})
    inits = {t.name: numpy_helper.to_array(t) for t in base.graph.initializer}
    assert np.array_equal(got["x2"], want["x2"])
    for name, inp in (("s1", x), ("s2", want["x2"])):
        assert got[name].shape == want[name].shape == x.shape
        fp32.assert_within(got[name], want[name], _snake_bound(inp, inits[f"{name}.a"], inits[f"{name}.inv"]),
                           f"Snake {name} vs its five nodes")


def test_tiny_generator_parity(ops_library, tiny_bundle, tmp_path):
    """The rewritten tiny generator against its base graph, on the check's own cases."""
    m = onnx.load(str(tiny_bundle / "hift" / "hift_generator.onnx"))
    QW.rewrite_generator(m)
    onnx.save(m, str(tmp_path / "gen.onnx"))
    rec = QW.check_generator(tiny_bundle / "hift" / "hift_generator.onnx", tmp_path / "gen.onnx", 480,
                             "hift/hift_generator.winograd.onnx", threads=fp32.threads(), log=lambda s: None)
    assert rec["cases"] == ["T=1", "T=10", "T=100"]
    assert 0 < rec["max_rel"] <= rec["bound"]       # not 0: the kernel ran, not ORT's Conv
    # the export check's bound (docs/parity.md), the rewritten graph the deeper one; recorded to 3 digits
    base = QW.graph_depth(tiny_bundle / "hift" / "hift_generator.onnx")
    assert QW.graph_depth(tmp_path / "gen.onnx") > base == FB.onnx_graph_depth(tiny_bundle / "hift" /
                                                                                  "hift_generator.onnx", 0)
    want = (fp32.gamma(base) + fp32.gamma(QW.graph_depth(tmp_path / "gen.onnx"))) * QW.LOG_MAGNITUDE_MAX
    assert rec["bound"] == pytest.approx(want, rel=5e-3)


def test_quantize_writes_the_variant(ops_library, tiny_bundle, tmp_path):
    out = tmp_path / "q"
    r = _cli("quantize", tiny_bundle, "--out", out, "--hift", "winograd,fp16", "--quiet")
    assert r.returncode == 0, r.stderr
    cfg = json.loads((out / "config.json").read_text(encoding="utf-8"))
    hift = {v["name"]: v for v in cfg["variants"]["hift"]}
    v = hift["fp32-winograd"]
    assert v["gate"] == {"status": "parity"} and v["providers"] == ["cpu"] and v["precision"] == "fp32"
    assert hift["fp16"]["gate"]["status"] == "untested"
    rel = v["files"]["generator"]
    assert rel == "hift/hift_generator.winograd.onnx" and (out / rel).stat().st_size == cfg["files"][rel]["bytes"]
    q = v["quantization"]
    assert q["operator"] == "org.cosyvoice_ort.WinogradConv1d" and q["convolutions"] > 0
    assert q["snake_operator"] == "org.cosyvoice_ort.Snake" and q["snakes"] > 0
    assert 0 < q["parity"]["max_rel"] <= q["parity"]["bound"]
    assert not list(out.rglob("*.tmp"))
    # an existing variant of the same name is refused as any other
    r = _cli("quantize", out, "--hift", "winograd", "--quiet")
    assert r.returncode == 1 and "already has variant(s) hift/fp32-winograd" in r.stderr


def test_parity_failure_leaves_nothing(ops_library, tiny_bundle, tmp_path, monkeypatch):
    """A rewrite that changes the arithmetic (here: a weight scaled by 2) fails the check; the
    variant's file is not left behind."""
    from cosyvoice_export.export.parity import ParityError

    def corrupt(model):
        desc = QW.rewrite_generator(model)
        node = next(n for n in model.graph.node if n.op_type == "WinogradConv1d")
        t = next(t for t in model.graph.initializer if t.name == node.input[1])
        t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t) * 2, t.name))
        return desc

    spec = QV.SPECS["hift", "fp32-winograd"]
    monkeypatch.setattr(spec, "make", corrupt)
    config = json.loads((tiny_bundle / "config.json").read_text(encoding="utf-8"))
    with pytest.raises(ParityError, match="differs from the base generator graph"):
        QV.make_variant(tiny_bundle, config, "hift", "fp32-winograd", out_root=tmp_path, log=lambda s: None)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]
