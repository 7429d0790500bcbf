"""The PanelMatMul rewrite of the flow variant fp32-panel (quant/panels.py, docs/quantization.md §7.2):
which products it takes, that their weights and biases survive the layout, and that its check holds
the rewritten graph to the base graph - and fails a graph that computes something else."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from cosyvoice_export.export.parity import ParityError
from cosyvoice_export.quant import panels as P


def _graph(rng):
    """x [B, T, 24] -> h = x W1 + b1 (MatMul + Add, as a 3-D nn.Linear traces), s = h h^T (a product
    of two activations: stays MatMul), g = Gemm(x[:, 0], W2, c2, transB = 1) (a 2-D nn.Linear);
    outputs h, s, g."""
    w1 = rng.standard_normal((24, 40)).astype(np.float32)
    b1 = rng.standard_normal(40).astype(np.float32)
    w2 = rng.standard_normal((17, 24)).astype(np.float32)      # Gemm transB: [N, K]
    c2 = rng.standard_normal(17).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["xw"], name="/proj/MatMul"),
             helper.make_node("Add", ["xw", "b1"], ["h"], name="/proj/Add"),
             helper.make_node("Transpose", ["h"], ["ht"], perm=[0, 2, 1]),
             helper.make_node("MatMul", ["h", "ht"], ["s"], name="/attn/MatMul"),
             helper.make_node("Gather", ["x", "zero"], ["x0"], axis=1),
             helper.make_node("Gemm", ["x0", "w2", "c2"], ["g"], name="/time/Gemm", transB=1)]
    inits = [numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (b1, "b1"), (w2, "w2"), (c2, "c2"))]
    inits.append(numpy_helper.from_array(np.array(0, np.int64), "zero"))
    f = TensorProto.FLOAT
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", f, ["B", "T", 24])],
                          [helper.make_tensor_value_info("h", f, ["B", "T", 40]),
                           helper.make_tensor_value_info("s", f, ["B", "T", "T"]),
                           helper.make_tensor_value_info("g", f, ["B", 17])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m, {"w1": w1, "b1": b1, "w2": w2, "c2": c2}


def test_rewrite_takes_weight_products_and_keeps_activation_products():
    m, w = _graph(np.random.default_rng(0))
    desc = P.rewrite_products(m)
    assert desc == {"operator": "org.cosyvoice_ort.PanelMatMul", "products": 2, "activation_products": 1}
    ops = [n.op_type for n in m.graph.node]
    assert ops.count(P.OP_TYPE) == 2 and ops.count("MatMul") == 1 and "Add" not in ops and "Gemm" not in ops
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    assert not {"w1", "b1", "w2", "c2"} & set(inits)                     # the originals are dropped
    by_out = {n.output[0]: n for n in m.graph.node if n.op_type == P.OP_TYPE}
    proj, gemm = by_out["h"], by_out["g"]                              # each writes the old output
    assert proj.name == "/proj/MatMul" and proj.domain == P.DOMAIN
    assert np.array_equal(P.unpack(inits[proj.input[1]], 40), w["w1"]) and np.array_equal(inits[proj.input[2]], w["b1"])
    assert np.array_equal(P.unpack(inits[gemm.input[1]], 17), w["w2"].T) and np.array_equal(inits[gemm.input[2]], w["c2"])
    assert (P.DOMAIN, P.OPSET) in {(o.domain, o.version) for o in m.opset_import}


def _dit_like(tmp_path, rng, scale=1.0):
    """A graph with the DiT's input names (x, mu, t, spks, cond, attention_chunk) and one weight
    product, for the check; ``scale`` multiplies the weight (1.0: the same function)."""
    w = rng.standard_normal((80, 80)).astype(np.float32)
    f = TensorProto.FLOAT
    ins = [helper.make_tensor_value_info(n, f, ["B", 80, "T"]) for n in ("x", "mu", "cond")]
    ins += [helper.make_tensor_value_info("t", f, ["B"]), helper.make_tensor_value_info("spks", f, ["B", 80]),
            helper.make_tensor_value_info("attention_chunk", TensorProto.INT64, [])]
    nodes = [helper.make_node("Add", ["x", "mu"], ["a"]), helper.make_node("Transpose", ["a"], ["at"], perm=[0, 2, 1]),
             helper.make_node("MatMul", ["at", "w"], ["v"], name="/proj/MatMul"),
             helper.make_node("Transpose", ["v"], ["velocity"], perm=[0, 2, 1])]
    out = [helper.make_tensor_value_info("velocity", f, ["B", 80, "T"])]
    paths = []
    for name, s in (("base.onnx", 1.0), ("variant.onnx", scale)):
        g = helper.make_graph(nodes, "dit", ins, out, [numpy_helper.from_array(w * np.float32(s), "w")])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
        m.ir_version = 8
        if name == "variant.onnx":
            P.rewrite_products(m)
        onnx.save(m, str(tmp_path / name))
        paths.append(tmp_path / name)
    return paths


def test_check_passes_the_rewrite_and_fails_another_function(ops_library, tmp_path):
    base, variant = _dit_like(tmp_path, np.random.default_rng(1))
    got = P.check_graph(base, variant, "flow/test.onnx", threads=1, log=lambda s: None)
    assert 0.0 <= got["max_rel"] <= got["bound"] and len(got["cases"]) == 6
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    base, variant = _dit_like(wrong, np.random.default_rng(1), scale=1.0001)   # one weight off by 1e-4
    with pytest.raises(ParityError, match="PanelMatMul graph differs"):
        P.check_graph(base, variant, "flow/test.onnx", threads=1, log=lambda s: None)
