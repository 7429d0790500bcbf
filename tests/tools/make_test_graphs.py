#!/usr/bin/env python3
"""Writes the small ONNX graphs the C++ unit tests load (generated at test time, never committed).

usage: /usr/bin/python3 tests/tools/make_test_graphs.py OUT_DIR
"""
import os
import sys

import onnx
from onnx import TensorProto, helper

OPSET = 17


def save(graph, path, metadata=None):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="cosyvoice-tests")
    model.ir_version = 8  # readable by every ONNX Runtime >= 1.14
    for key, value in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, path)


def toy_llm(out_dir, layers=2, kv_heads=2, head_dim=4, vocab=5):
    """A stand-in with llm.onnx's exact I/O contract (docs/bundle.md §3.1) whose logits are easy to
    predict: new_key_i = (i+1)*x, new_value_i = -(i+1)*x (x reshaped to heads), and
    logits = concat_i(sum of all keys_i, sum of all values_i over positions and heads) @ W,
    so logits depend on every cached position: a cache bug changes them."""
    import numpy as np
    f32, i64 = TensorProto.FLOAT, TensorProto.INT64
    hidden = kv_heads * head_dim
    nodes, inputs, outputs, inits, feats = [], [], [], [], []
    inputs.append(helper.make_tensor_value_info("inputs_embeds", f32, [1, "S", hidden]))
    inits.append(helper.make_tensor("kv_shape", i64, [4], [1, -1, kv_heads, head_dim]))
    inits.append(helper.make_tensor("sum_axes", i64, [2], [1, 2]))
    for i in range(layers):
        for kind, scale in (("key", i + 1.0), ("value", -(i + 1.0))):
            inits.append(helper.make_tensor(f"scale_{kind}_{i}", f32, [], [scale]))
            nodes += [
                helper.make_node("Mul", ["inputs_embeds", f"scale_{kind}_{i}"], [f"scaled_{kind}_{i}"]),
                helper.make_node("Reshape", [f"scaled_{kind}_{i}", "kv_shape"], [f"new_{kind}_{i}"]),
                helper.make_node("Concat", [f"past_{kind}_{i}", f"new_{kind}_{i}"], [f"all_{kind}_{i}"], axis=1),
                helper.make_node("ReduceSum", [f"all_{kind}_{i}", "sum_axes"], [f"sum_{kind}_{i}"], keepdims=0),
            ]
            inputs.append(helper.make_tensor_value_info(f"past_{kind}_{i}", f32, [1, "P", kv_heads, head_dim]))
            outputs.append(helper.make_tensor_value_info(f"new_{kind}_{i}", f32, [1, "S", kv_heads, head_dim]))
            feats.append(f"sum_{kind}_{i}")
    w = (np.arange(len(feats) * head_dim * vocab, dtype=np.float32).reshape(-1, vocab) % 7 - 3) / 4
    inits.append(helper.make_tensor("W", f32, list(w.shape), w.flatten().tolist()))
    nodes += [helper.make_node("Concat", feats, ["feat"], axis=1),
              helper.make_node("MatMul", ["feat", "W"], ["logits"])]
    outputs.insert(0, helper.make_tensor_value_info("logits", f32, [1, vocab]))
    g = helper.make_graph(nodes, "toy_llm", inputs, outputs, initializer=inits)
    save(g, os.path.join(out_dir, "toy_llm.onnx"))
    np.save(os.path.join(out_dir, "toy_llm_W.npy"), w)


def winograd_graphs(out_dir):
    """The project's WinogradConv1d operator (src/kernels/custom_ops.h) as a graph would use it: two
    layers, y = C1(x) and z = C2(y), both outputs, with C1 3 taps, dilation 2, pads [4, 0] and a bias; C2 7 taps, pads [6, 1],
    no bias. The weights are written beside it as .npy for the test's own evaluation. A third copy
    takes W as a graph input (not a constant): ONNX Runtime must refuse it when the session is made."""
    import numpy as np
    from onnx import numpy_helper

    rng = np.random.default_rng(7)
    w1 = rng.standard_normal((9, 6, 3)).astype(np.float32)
    b1 = rng.standard_normal(9).astype(np.float32)
    w2 = rng.standard_normal((5, 9, 7)).astype(np.float32)
    for name, value in (("w1", w1), ("b1", b1), ("w2", w2)):
        np.save(os.path.join(out_dir, f"winograd_{name}.npy"), value)
    f32 = TensorProto.FLOAT
    domain = "org.cosyvoice_ort"
    nodes = [helper.make_node("WinogradConv1d", ["x", "w1", "b1"], ["y"], domain=domain, dilations=[2],
                              pads=[4, 0], kernel_shape=[3]),
             helper.make_node("WinogradConv1d", ["y", "w2"], ["z"], domain=domain, pads=[6, 1])]
    inits = [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(b1, "b1"), numpy_helper.from_array(w2, "w2")]
    for name, constant in (("winograd_conv.onnx", True), ("winograd_conv_input_weight.onnx", False)):
        inputs = [helper.make_tensor_value_info("x", f32, ["n", 6, "L"])]
        if not constant:
            inputs.append(helper.make_tensor_value_info("w1", f32, [9, 6, 3]))
        outputs = [helper.make_tensor_value_info("y", f32, ["n", 9, "L"]),
                   helper.make_tensor_value_info("z", f32, ["n", 5, "M"])]
        g = helper.make_graph(nodes, "winograd", inputs, outputs,
                              initializer=inits if constant else inits[1:])
        model = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(domain, 1)],
                                  producer_name="cosyvoice-tests")
        model.ir_version = 8
        onnx.save(model, os.path.join(out_dir, name))


def snake_graph(out_dir):
    """HiFT's Snake activation twice on the same x [n, 4, L]: as the project's Snake operator (y_fused)
    and as the five standard nodes the base generator graph uses (y_nodes: Mul, Sin, Mul, Mul, Add,
    python/cosyvoice_export/export/hift_builder.py). alpha spans 0.25 to 8 so that alpha x reaches
    several periods of the sine."""
    import numpy as np
    from onnx import numpy_helper

    alpha = np.array([0.25, 1.0, 3.0, 8.0], np.float32).reshape(1, 4, 1)
    inv = (np.float32(1.0) / (alpha + np.float32(1e-9))).astype(np.float32)
    f32 = TensorProto.FLOAT
    nodes = [helper.make_node("Snake", ["x", "alpha", "inv"], ["y_fused"], domain="org.cosyvoice_ort"),
             helper.make_node("Mul", ["x", "alpha"], ["ax"]), helper.make_node("Sin", ["ax"], ["s"]),
             helper.make_node("Mul", ["s", "s"], ["s2"]), helper.make_node("Mul", ["s2", "inv"], ["q"]),
             helper.make_node("Add", ["x", "q"], ["y_nodes"])]
    g = helper.make_graph(nodes, "snake", [helper.make_tensor_value_info("x", f32, ["n", 4, "L"])],
                          [helper.make_tensor_value_info("y_fused", f32, ["n", 4, "L"]),
                           helper.make_tensor_value_info("y_nodes", f32, ["n", 4, "L"])],
                          initializer=[numpy_helper.from_array(alpha, "alpha"), numpy_helper.from_array(inv, "inv")])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("org.cosyvoice_ort", 1)],
                              producer_name="cosyvoice-tests")
    model.ir_version = 8
    onnx.save(model, os.path.join(out_dir, "snake.onnx"))


def panel_matmul_graphs(out_dir):
    """The project's PanelMatMul operator (src/kernels/custom_ops.h): y = x W and z = x W + b with
    W [37, 50] written in column panels of 16 (4 panels, the last one 2 columns and 14 of zeros),
    x [n, S, 37] (its width symbolic: the operator checks it). W ([K, N] row-major) and b are written
    beside it as .npy for the test's own product. More copies that ONNX Runtime must refuse when the
    session is made: P as a graph input, an attribute n that does not match P's panels, a bias of
    the wrong length."""
    import numpy as np
    from onnx import numpy_helper

    rng = np.random.default_rng(11)
    k, n = 37, 50
    w = rng.standard_normal((k, n)).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    np.save(os.path.join(out_dir, "panel_w.npy"), w)
    np.save(os.path.join(out_dir, "panel_b.npy"), b)
    panels = -(-n // 16)
    padded = np.zeros((k, panels * 16), np.float32)
    padded[:, :n] = w
    p = np.ascontiguousarray(padded.reshape(k, panels, 16).transpose(1, 0, 2))   # [panel][k][16]
    f32 = TensorProto.FLOAT
    domain = "org.cosyvoice_ort"
    for name, constant, n_attr, bias in (("panel_matmul.onnx", True, n, b),
                                         ("panel_matmul_input_weight.onnx", False, n, b),
                                         ("panel_matmul_wrong_n.onnx", True, 70, b),
                                         ("panel_matmul_wrong_bias.onnx", True, n, b[:-1])):
        inputs = [helper.make_tensor_value_info("x", f32, ["n", "S", "K"])]
        if not constant:
            inputs.append(helper.make_tensor_value_info("p", f32, list(p.shape)))
        nodes = [helper.make_node("PanelMatMul", ["x", "p"], ["y"], domain=domain, n=n_attr),
                 helper.make_node("PanelMatMul", ["x", "p", "b"], ["z"], domain=domain, n=n_attr)]
        outputs = [helper.make_tensor_value_info(o, f32, ["n", "S", n]) for o in ("y", "z")]
        inits = ([numpy_helper.from_array(p, "p")] if constant else []) + [numpy_helper.from_array(bias, "b")]
        g = helper.make_graph(nodes, "panel_matmul", inputs, outputs, initializer=inits)
        model = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(domain, 1)],
                                  producer_name="cosyvoice-tests")
        model.ir_version = 8
        onnx.save(model, os.path.join(out_dir, name))

def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    f32, f64, i64, b = TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.INT64, TensorProto.BOOL

    # z = x + y with a symbolic batch dimension and a fixed feature dimension of 3.
    g = helper.make_graph(
        [helper.make_node("Add", ["x", "y"], ["z"])], "add",
        [helper.make_tensor_value_info("x", f32, ["batch", 3]),
         helper.make_tensor_value_info("y", f32, ["batch", 3])],
        [helper.make_tensor_value_info("z", f32, ["batch", 3])])
    save(g, os.path.join(out_dir, "add.onnx"), {"purpose": "unit-test", "format_version": "1.0"})

    # out = Cast(ids, double) * Cast(mask, double); also echoes mask: exercises int64/bool/float64.
    g = helper.make_graph(
        [helper.make_node("Cast", ["ids"], ["ids_f"], to=f64),
         helper.make_node("Cast", ["mask"], ["mask_f"], to=f64),
         helper.make_node("Mul", ["ids_f", "mask_f"], ["out"]),
         helper.make_node("Not", ["mask"], ["inverted"])], "mixed",
        [helper.make_tensor_value_info("ids", i64, ["n"]),
         helper.make_tensor_value_info("mask", b, ["n"])],
        [helper.make_tensor_value_info("out", f64, ["n"]),
         helper.make_tensor_value_info("inverted", b, ["n"])])
    save(g, os.path.join(out_dir, "mixed.onnx"))

    # y = 2 * x, x [1, S, 4]: the IoBinding test binds y to a slice of a preallocated buffer.
    two = helper.make_tensor("two", f32, [], [2.0])
    g = helper.make_graph(
        [helper.make_node("Mul", ["x", "two"], ["y"])], "scale",
        [helper.make_tensor_value_info("x", f32, [1, "S", 4])],
        [helper.make_tensor_value_info("y", f32, [1, "S", 4])], initializer=[two])
    save(g, os.path.join(out_dir, "scale.onnx"))

    toy_llm(out_dir)
    winograd_graphs(out_dir)
    snake_graph(out_dir)
    panel_matmul_graphs(out_dir)

    # Not an ONNX file at all.
    with open(os.path.join(out_dir, "corrupt.onnx"), "wb") as f:
        f.write(b"\x08\x07garbage that is not a protobuf model" * 3)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
